//! `hubmix cache verify`: with a repository, one revision against the Hub's list of files, with
//! `hf cache verify`'s flags, output and exit codes; without one (beyond `hf`), the whole cache
//! offline, every blob hashed again against its name.

use std::path::PathBuf;

use hubmix_hub::cache_verify::{
    CacheProblem, CacheVerification, ProblemKind, RepoVerification, VerifiedRepo, VerifyOptions, verify_cache,
};
use serde_json::{Value, json};

use crate::args::{RepoKind, Target, client, target};
use crate::cache::{cache_dir, format_size};
use crate::error::{CliError, InRepo, type_flag};
use crate::output::{Mode, Output, python_json};

/// The examples and the two modes, under `--help`.
pub(crate) const AFTER_HELP: &str = "Examples:
  hubmix cache verify alice/mlp
  hubmix cache verify alice/mlp --revision refs/pr/1
  hubmix cache verify alice/data --repo-type dataset
  hubmix cache verify alice/mlp --local-dir ./mlp --fail-on-missing-files
  hubmix cache verify
  hubmix cache rm $(hubmix cache verify -q) --yes

With REPO_ID, as `hf cache verify`: the files of one revision (in the cache, or in --local-dir)
are compared with the Hub's list of its files, by SHA-256 for LFS files and by git blob id for
the others. Files missing locally or absent from the Hub are warnings unless
--fail-on-missing-files / --fail-on-extra-files.

Without REPO_ID (hubmix only), the whole cache is verified offline: every blob is hashed again
and compared with the hash it is stored under, and every snapshot link is followed (a link to a
blob that is gone is a missing file). Corrupt and missing files are listed by repository and
revision; interrupted downloads are not checked. --format json prints every problem; -q prints
the damaged repositories, one per line, as `cache rm` takes them.

Exit code: 0 when everything matches, 1 when something does not.";

/// `hubmix cache verify` options.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The repository (`namespace/name`, `datasets/namespace/name`). Without it, the whole cache
    /// is verified, offline.
    repo_id: Option<String>,
    /// The repository's type.
    #[arg(long = "repo-type", visible_alias = "type", value_enum, requires = "repo_id")]
    repo_type: Option<RepoKind>,
    /// A branch, tag or commit (default: the cached `main`; for --local-dir, `main`).
    #[arg(long, requires = "repo_id")]
    revision: Option<String>,
    /// Cache directory to verify (defaults to HF_HUB_CACHE).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Verify the files of this folder instead of the cache.
    #[arg(long, requires = "repo_id")]
    local_dir: Option<PathBuf>,
    /// Fail if some files exist on the remote but are missing locally.
    #[arg(long, requires = "repo_id")]
    fail_on_missing_files: bool,
    /// Fail if some files exist locally but are not present on the remote revision.
    #[arg(long, requires = "repo_id")]
    fail_on_extra_files: bool,
    /// A token instead of the stored one (prefer `hubmix auth login` or HF_TOKEN).
    #[arg(long, requires = "repo_id")]
    token: Option<String>,
}

/// What `hf` prints before a list of failures (`[FAIL]` where the output cannot show it; hubmix
/// writes UTF-8).
const FAILED: &str = "❌";

/// Runs `cache verify`.
pub(crate) fn run(args: &VerifyArgs, out: &Output) -> Result<(), CliError> {
    match &args.repo_id {
        Some(id) => verify_repo(args, id, out),
        None => verify_all(args, out),
    }
}

/// `  - a\n  - b`.
fn bullets(lines: impl IntoIterator<Item = String>) -> String {
    lines
        .into_iter()
        .map(|l| format!("  - {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn verify_repo(args: &VerifyArgs, id: &str, out: &Output) -> Result<(), CliError> {
    if args.local_dir.is_some() && args.cache_dir.is_some() {
        return Err(CliError::Usage(
            "Cannot pass both --local-dir and --cache-dir. Use one or the other.".into(),
        ));
    }
    let t = target(id, args.repo_type, args.revision.as_deref())?;
    let hub = client(out, args.token.as_deref(), None)?;
    let mut options = VerifyOptions::default();
    if let Some(dir) = &args.cache_dir {
        options = options.cache_dir(dir);
    }
    if let Some(dir) = &args.local_dir {
        options = options.local_dir(dir);
    }
    let result = hub.verify_repo(&t.repo, &options).in_repo(t.repo_type())?;
    let mut failed = false;
    if !result.mismatches.is_empty() {
        let details = bullets(result.mismatches.iter().map(|m| {
            format!(
                "{}: expected {} ({}), got {}",
                m.path, m.expected, m.algorithm, m.actual
            )
        }));
        out.text(&format!(
            "{FAILED} Checksum verification failed for the following file(s):\n{details}"
        ));
        failed = true;
    }
    if !result.unverified.is_empty() {
        let details = bullets(
            result
                .unverified
                .iter()
                .map(|u| format!("{}: {}", u.path, u.reason)),
        );
        out.text(&format!("{FAILED} Files that could not be verified:\n{details}"));
        failed = true;
    }
    for (paths, fail, title, warning, flag) in [
        (
            &result.missing_paths,
            args.fail_on_missing_files,
            "Missing files (present remotely, absent locally)",
            "remote file(s) are missing locally",
            "--fail-on-missing-files",
        ),
        (
            &result.extra_paths,
            args.fail_on_extra_files,
            "Extra files (present locally, absent remotely)",
            "local file(s) do not exist on the remote repo",
            "--fail-on-extra-files",
        ),
    ] {
        if paths.is_empty() {
            continue;
        }
        if fail {
            out.text(&format!("{FAILED} {title}:\n{}", bullets(paths.iter().cloned())));
            failed = true;
        } else {
            out.warning(&format!("{} {warning}. Use {flag} for details.", paths.len()));
        }
    }
    let kind = t.repo_type().as_str();
    let repo_id = t.id().to_string();
    let path = result.verified_path.display().to_string();
    if failed {
        return Err(CliError::failed(
            format!(
                "Verification failed for '{repo_id}' ({kind}) in {path}. Revision: {}",
                result.revision
            ),
            repair_hint(&t, &result, args),
        ));
    }
    out.result(
        &format!(
            "Verified {} file(s) for {kind} '{repo_id}'. All checksums match.",
            result.checked_count
        ),
        &[
            ("repo_id", json!(repo_id)),
            ("repo_type", json!(kind)),
            ("checked", json!(result.checked_count)),
            ("path", json!(path)),
        ],
    );
    Ok(())
}

/// The command that downloads again what a failed verification of one revision found wrong.
fn repair_hint(t: &Target, result: &RepoVerification, args: &VerifyArgs) -> String {
    let damaged = !result.mismatches.is_empty() || !result.unverified.is_empty();
    let missing = args.fail_on_missing_files && !result.missing_paths.is_empty();
    if !damaged && !missing {
        return "Delete the files the Hub does not have, or upload them with `hubmix upload`.".into();
    }
    let folder = args
        .local_dir
        .as_ref()
        .map(|d| format!(" --local-dir {}", d.display()))
        .unwrap_or_default();
    let force = if damaged { " --force-download" } else { "" };
    format!(
        "Download the files again: hubmix download {}{} --revision {}{folder}{force}",
        t.id(),
        type_flag(Some(t.repo_type())),
        result.revision
    )
}

/// The kinds of failure, in the order they are listed, with their titles and JSON names.
const SECTIONS: [(&str, &str); 4] = [
    (
        "corrupt",
        "Corrupt files (their content does not match the hash they are stored under)",
    ),
    (
        "missing",
        "Missing files (the snapshot links to a blob that is gone)",
    ),
    ("unreadable", "Files that could not be read"),
    ("outside_cache", "Links out of the cache (not followed)"),
];

/// The JSON name of a problem's kind.
fn kind_name(kind: &ProblemKind) -> &'static str {
    match kind {
        ProblemKind::Corrupt { .. } => "corrupt",
        ProblemKind::Missing { .. } => "missing",
        ProblemKind::Unreadable { .. } => "unreadable",
        ProblemKind::OutsideCache { .. } => "outside_cache",
        ProblemKind::Unverifiable { .. } => "unverifiable",
    }
}

/// `model/alice/mlp@<commit> (main): config.json`, or for a blob no snapshot links to,
/// `model/alice/mlp: blobs/<name>`.
fn place(repo: &VerifiedRepo, problem: &CacheProblem) -> String {
    match (&problem.revision, &problem.path_in_repo) {
        (Some(revision), Some(path)) => {
            let refs = repo
                .revisions
                .iter()
                .find(|r| &r.commit_hash == revision)
                .map(|r| r.refs.iter().cloned().collect::<Vec<_>>().join(", "))
                .filter(|refs| !refs.is_empty())
                .map(|refs| format!(" ({refs})"))
                .unwrap_or_default();
            format!("{}@{revision}{refs}: {path}", repo.cache_id())
        }
        _ => {
            let name = problem
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            format!("{}: blobs/{name} (no snapshot links to it)", repo.cache_id())
        }
    }
}

/// What is wrong, after the place.
fn detail(kind: &ProblemKind) -> String {
    match kind {
        ProblemKind::Corrupt {
            expected,
            actual,
            algorithm,
        } => format!("expected {expected} ({algorithm}), got {actual}"),
        ProblemKind::Missing { blob } => format!("{} is gone", blob.display()),
        ProblemKind::Unreadable { reason } | ProblemKind::Unverifiable { reason } => reason.clone(),
        ProblemKind::OutsideCache { target } => format!("-> {}", target.display()),
    }
}

/// A problem as a JSON object.
fn problem_json(repo: &VerifiedRepo, problem: &CacheProblem) -> Value {
    let mut item = json!({
        "repo": repo.cache_id(),
        "revision": problem.revision,
        "path_in_repo": problem.path_in_repo,
        "path": problem.path.display().to_string(),
        "problem": kind_name(&problem.kind),
        "detail": detail(&problem.kind),
    });
    if let ProblemKind::Corrupt {
        expected,
        actual,
        algorithm,
    } = &problem.kind
    {
        item["expected"] = json!(expected);
        item["actual"] = json!(actual);
        item["algorithm"] = json!(algorithm.as_str());
    }
    item
}

fn verify_all(args: &VerifyArgs, out: &Output) -> Result<(), CliError> {
    let dir = cache_dir(args.cache_dir.as_deref())?;
    let report = verify_cache(&dir)?;
    let revisions: usize = report.repos.iter().map(|r| r.revisions.len()).sum();
    let files: usize = report
        .repos
        .iter()
        .flat_map(|r| &r.revisions)
        .map(|r| r.files)
        .sum();
    let blobs: usize = report.repos.iter().map(|r| r.blobs_checked).sum();
    let size = format_size(report.repos.iter().map(|r| r.bytes_checked).sum());
    let cache = report.cache_dir.display().to_string();
    let summary = [
        ("cache_dir", json!(cache)),
        ("repos", json!(report.repos.len())),
        ("revisions", json!(revisions)),
        ("files", json!(files)),
        ("blobs", json!(blobs)),
        ("size", json!(size)),
    ];
    match out.mode() {
        Mode::Json => {
            let mut object = serde_json::Map::new();
            for (key, value) in &summary {
                object.insert((*key).to_owned(), value.clone());
            }
            let problems: Vec<Value> = report.problems().map(|(r, p)| problem_json(r, p)).collect();
            object.insert("problems".into(), Value::Array(problems));
            out.raw(&python_json(&Value::Object(object)));
        }
        Mode::Quiet => {
            for repo in report
                .repos
                .iter()
                .filter(|r| r.problems.iter().any(|p| p.kind.is_failure()))
            {
                out.raw(&repo.cache_id());
            }
        }
        Mode::Human | Mode::Agent => print_problems(&report, out),
    }
    for warning in &report.warnings {
        out.warning(&format!(
            "{}. Not verified.",
            warning.message.trim_end_matches('.')
        ));
    }
    let unverifiable = report.problems().filter(|(_, p)| !p.kind.is_failure()).count();
    if unverifiable > 0 {
        out.warning(&format!(
            "{unverifiable} file(s) cannot be checked offline (not a link to a blob named by its hash). `hubmix cache verify REPO_ID` checks them against the Hub."
        ));
    }
    if !report.incomplete_files.is_empty() {
        let bytes = report.incomplete_files.iter().map(|f| f.size_on_disk).sum();
        out.hint(&format!(
            "Found {} incomplete download(s) totalling {} (not verified). Remove them with 'hubmix cache prune'.",
            report.incomplete_files.len(),
            format_size(bytes)
        ));
    }
    if report.failed() {
        return Err(failure(&report));
    }
    // JSON has printed the summary already; quiet mode names only damaged repositories.
    if matches!(out.mode(), Mode::Human | Mode::Agent) {
        out.result(
            &format!(
                "Verified {files} file(s) in {revisions} revision(s) of {} repo(s): {blobs} blob(s), {size}. All match their hashes.",
                report.repos.len()
            ),
            &summary,
        );
    }
    Ok(())
}

/// The failures, a section per kind, as `hf` lists a failed verification.
fn print_problems(report: &CacheVerification, out: &Output) {
    for (name, title) in SECTIONS {
        let lines: Vec<String> = report
            .problems()
            .filter(|(_, p)| kind_name(&p.kind) == name)
            .map(|(repo, p)| format!("{}: {}", place(repo, p), detail(&p.kind)))
            .collect();
        if !lines.is_empty() {
            out.text(&format!("{FAILED} {title}:\n{}", bullets(lines)));
        }
    }
}

/// The error of a failed verification of the cache, and how to repair it.
fn failure(report: &CacheVerification) -> CliError {
    let counts: Vec<String> = SECTIONS
        .iter()
        .filter_map(|(name, _)| {
            let n = report
                .problems()
                .filter(|(_, p)| kind_name(&p.kind) == *name)
                .count();
            (n > 0).then(|| format!("{n} {}", name.replace('_', " ")))
        })
        .collect();
    let damaged: Vec<&VerifiedRepo> = report
        .repos
        .iter()
        .filter(|r| r.problems.iter().any(|p| p.kind.is_failure()))
        .collect();
    let ids: Vec<String> = damaged.iter().map(|r| r.cache_id()).collect();
    let mut hint = format!(
        "Delete what is damaged and download it again: hubmix cache rm {}",
        ids.join(" ")
    );
    let first = damaged.iter().find_map(|repo| {
        let problem = repo
            .problems
            .iter()
            .find(|p| p.kind.is_failure() && p.revision.is_some())?;
        Some((repo, problem.revision.as_deref()?))
    });
    if let Some((repo, revision)) = first {
        hint.push_str(&format!(
            "; or fetch the files again in place: hubmix download {}{} --revision {revision} --force-download",
            repo.repo_id,
            type_flag(Some(repo.repo_type))
        ));
    }
    CliError::failed(
        format!(
            "Verification failed: {} file(s) in {} repo(s) of the cache {}.",
            counts.join(", "),
            damaged.len(),
            report.cache_dir.display()
        ),
        hint,
    )
}
