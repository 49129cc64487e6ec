//! `hubmix upload REPO [LOCAL] [PATH_IN_REPO]`: a file or a folder in one commit (the repository
//! created when missing), with `hf upload`'s path rules. Prints the commit's URL. With `--every
//! N`, commits what changed every N minutes until Ctrl-C or SIGTERM ([`CommitScheduler`]).

use std::path::Path;
use std::time::Duration;

use hubmix_hub::manage::CreateRepoOptions;
use hubmix_hub::upload::{CommitScheduler, SchedulerRound};
use hubmix_hub::{CommitOptions, HubClient, HubError, UploadFolderOptions};
use serde_json::Value;

use crate::args::{RepoKind, Target, client, target};
use crate::error::{CliError, InRepo, hub_message};
use crate::interrupt::on_interrupt;
use crate::output::{Mode, Output};

/// `hubmix upload` options.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  hubmix upload alice/mlp ./checkpoints
  hubmix upload alice/mlp ./model.safetensors
  hubmix upload alice/mlp ./logs logs/run-3 --exclude '*.tmp'
  hubmix upload alice/mlp . --include '*.json' --delete '*.json' --commit-message 'New configs'
  hubmix upload datasets/alice/data ./data --create-pr
  hubmix upload alice/mlp '*.safetensors'
  hubmix upload alice/run ./logs --every 5 --exclude '*.tmp'")]
pub(crate) struct UploadArgs {
    /// The repository: `namespace/name`, `datasets/namespace/name`, or an `hf://` URI.
    repo_id: String,
    /// The local file or folder, or a glob of files (default: the folder or file named like the
    /// repository, in the current folder).
    local_path: Option<String>,
    /// Where in the repository (default: the file's name, or the root for a folder).
    path_in_repo: Option<String>,
    /// The repository's type.
    #[arg(long = "repo-type", visible_alias = "type", value_enum)]
    repo_type: Option<RepoKind>,
    /// The branch to commit to (created when missing; default: main).
    #[arg(long)]
    revision: Option<String>,
    /// Create the repository private (when it does not exist).
    #[arg(long, overrides_with = "no_private")]
    private: bool,
    /// Create the repository public (when it does not exist).
    #[arg(long)]
    no_private: bool,
    /// Only files matching this pattern (repeatable; `*` also matches `/`).
    #[arg(long)]
    include: Vec<String>,
    /// Not files matching this pattern (repeatable).
    #[arg(long)]
    exclude: Vec<String>,
    /// Delete the remote files matching this pattern in the same commit (repeatable).
    #[arg(long)]
    delete: Vec<String>,
    /// The commit's title.
    #[arg(long)]
    commit_message: Option<String>,
    /// The rest of the commit message.
    #[arg(long)]
    commit_description: Option<String>,
    /// Open a pull request instead of committing to the branch.
    #[arg(long, overrides_with = "no_create_pr")]
    create_pr: bool,
    /// Opposite of --create-pr (the default).
    #[arg(long, hide = true)]
    no_create_pr: bool,
    /// Commit every N minutes (a decimal number) until Ctrl-C or SIGTERM: only the files new or
    /// changed since the last commit (by size and time), no commit when nothing changed, a last
    /// commit of what is pending before exiting.
    #[arg(long, value_name = "N", value_parser = minutes, allow_hyphen_values = true)]
    every: Option<f64>,
    /// A token instead of the stored one (prefer `hubmix auth login` or HF_TOKEN).
    #[arg(long)]
    token: Option<String>,
}

/// `--every`'s value: a positive, finite number of minutes.
fn minutes(text: &str) -> Result<f64, String> {
    let n: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number of minutes"))?;
    if !(n.is_finite() && n > 0.0) {
        return Err("--every must be a positive value".into());
    }
    Duration::try_from_secs_f64(n * 60.0).map_err(|_| format!("{text} minutes is too long a wait"))?;
    Ok(n)
}

/// What to upload, resolved.
#[derive(Debug, PartialEq, Eq)]
struct Source {
    local: String,
    path_in_repo: String,
    include: Vec<String>,
}

/// `hf upload`'s path rules: a local path that does not exist and holds `*`, `?` or `[` is a
/// glob of the current folder; no local path is the file or folder named like the repository;
/// the path in the repository defaults to a file's name, or the root for a folder.
fn source(
    local: Option<&str>,
    path_in_repo: Option<&str>,
    include: &[String],
    repo_name: &str,
) -> Result<Source, CliError> {
    let mut include = include.to_vec();
    let local = match local {
        Some(glob) if !Path::new(glob).exists() && glob.contains(['*', '?', '[']) => {
            if !include.is_empty() || path_in_repo.is_some_and(|p| p != ".") {
                return Err(CliError::failed(
                    "Cannot set `--include` or `path_in_repo` when passing a glob pattern as local_path.",
                    "Upload the folder with --include instead.",
                ));
            }
            include = vec![glob.to_owned()];
            return Ok(Source {
                local: ".".into(),
                path_in_repo: ".".into(),
                include,
            });
        }
        Some(local) => local.to_owned(),
        None if Path::new(repo_name).exists() => repo_name.to_owned(),
        None => {
            return Err(CliError::failed(
                format!("'{repo_name}' is not a local file or folder."),
                "Give the local path explicitly: hubmix upload REPO LOCAL_PATH",
            ));
        }
    };
    let path = Path::new(&local);
    let path_in_repo = match (path_in_repo, path.is_file()) {
        (Some(p), _) => p.to_owned(),
        (None, true) => path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| local.clone()),
        (None, false) => ".".into(),
    };
    if !path.exists() {
        return Err(CliError::failed(
            format!("No such file or directory: '{local}'."),
            "Check the local path.",
        ));
    }
    Ok(Source {
        local,
        path_in_repo,
        include,
    })
}

/// Runs `hubmix upload`.
pub(crate) fn run(args: UploadArgs, out: &Output) -> Result<(), CliError> {
    let target = target(&args.repo_id, args.repo_type, args.revision.as_deref())?;
    let kind = target.repo_type();
    let path_in_repo = match (&target.path, &args.path_in_repo) {
        (Some(_), Some(_)) => {
            return Err(CliError::Usage(
                "Cannot combine a path in the hf:// URI with a PATH_IN_REPO argument.".into(),
            ));
        }
        (uri, given) => uri.as_ref().or(given.as_ref()).cloned(),
    };
    if args.every.is_some() && args.create_pr {
        return Err(CliError::Usage(
            "--create-pr cannot be used with --every: scheduled commits go to a branch (--revision).".into(),
        ));
    }
    let source = source(
        args.local_path.as_deref(),
        path_in_repo.as_deref(),
        &args.include,
        &target.id().name,
    )?;
    let hub = client(out, args.token.as_deref(), None)?;
    let repo = hubmix_hub::RepoRef::from(target.id().clone());
    let mut create = CreateRepoOptions::default().exist_ok(true);
    if args.private || args.no_private {
        create = create.private(args.private);
    }
    match hub.create_repo(&repo, &create) {
        Ok(_) => {}
        // A token that may write to the repository but not create one: it is enough when the
        // repository exists.
        Err(HubError::Forbidden { .. } | HubError::Unauthorized { .. })
            if hub.repo_exists(&repo).unwrap_or(false) => {}
        Err(e) => return Err(e).in_repo(kind),
    }
    let mut commit = CommitOptions::default().create_pr(args.create_pr);
    if let Some(message) = args.commit_message {
        commit = commit.message(message);
    }
    if let Some(description) = args.commit_description {
        commit = commit.description(description);
    }
    let local = Path::new(&source.local);
    if local.is_file() {
        for (given, what) in [
            (&source.include, "--include"),
            (&args.exclude, "--exclude"),
            (&args.delete, "--delete"),
        ] {
            if !given.is_empty() {
                out.warning(&format!("Ignoring {what} since a single file is uploaded."));
            }
        }
    }
    if let Some(minutes) = args.every {
        let options = UploadFolderOptions::default()
            .allow(source.include.clone())
            .ignore(args.exclude)
            .delete_patterns(args.delete)
            .commit(commit);
        return scheduled(&hub, &target, &source, options, minutes, out);
    }
    let info = if local.is_file() {
        hub.upload_file(&target.repo, local, &source.path_in_repo, &commit)
    } else {
        let mut options = UploadFolderOptions::default()
            .allow(source.include)
            .ignore(args.exclude)
            .delete_patterns(args.delete)
            .commit(commit);
        let prefix = source.path_in_repo.trim_matches('/');
        if !prefix.is_empty() && prefix != "." {
            options = options.path_in_repo(prefix);
        }
        hub.upload_folder(&target.repo, local, &options)
    }
    .in_repo(kind)?;
    out.result("Uploaded", &[("url", Value::String(info.url))]);
    Ok(())
}

/// `--every`: commits `source` every `minutes` until Ctrl-C or SIGTERM, then what is pending.
/// A file is watched as `hf` watches it: its folder, with its name as the only pattern, under
/// the folder part of the path in the repository (a file cannot be renamed on the way).
fn scheduled(
    hub: &HubClient,
    target: &Target,
    source: &Source,
    options: UploadFolderOptions,
    minutes: f64,
    out: &Output,
) -> Result<(), CliError> {
    let kind = target.repo_type();
    let local = Path::new(&source.local);
    let path_in_repo = source.path_in_repo.trim_matches('/');
    let (folder, options) = match local.file_name().filter(|_| local.is_file()) {
        Some(name) => {
            let name = name.to_string_lossy();
            let (dir, dest) = path_in_repo.rsplit_once('/').unwrap_or(("", path_in_repo));
            if !["", ".", &*name].contains(&dest) {
                let kept = if dir.is_empty() {
                    name.to_string()
                } else {
                    format!("{dir}/{name}")
                };
                out.warning(&format!(
                    "Scheduled uploads keep the local file name, so the file will be uploaded as '{kept}' rather than '{path_in_repo}'. Rename the local file to upload it under a different name."
                ));
            }
            let folder = local.parent().filter(|p| !p.as_os_str().is_empty());
            let options = UploadFolderOptions::default()
                .allow([glob_literal(&name)])
                .path_in_repo(dir)
                .commit(options.commit);
            (folder.unwrap_or(Path::new(".")), options)
        }
        None if path_in_repo == "." => (local, options),
        None => (local, options.path_in_repo(path_in_repo)),
    };
    let stop = on_interrupt()?;
    let mut scheduler = CommitScheduler::new(hub, &target.repo, folder, &options).in_repo(kind)?;
    out.text(&format!(
        "Scheduling commits every {minutes:?} minutes to {}.",
        target.id()
    ));
    let every = Duration::from_secs_f64(minutes * 60.0);
    let last = scheduler
        .run(every, &stop, |round| match round {
            Ok(round) => report_round(out, round),
            Err(e) => out.warning(&format!(
                "{} The changes go with the next commit.",
                hub_message(e, kind)
            )),
        })
        .in_repo(kind)?;
    report_round(out, &last);
    out.text("Stopped scheduled commits.");
    Ok(())
}

/// Prints a round's commit, if it made one, and the files it left for the next one.
fn report_round(out: &Output, round: &SchedulerRound) {
    if !round.deferred.is_empty() {
        out.info(&format!(
            "Being written, left for the next commit: {}.",
            round.deferred.join(", ")
        ));
    }
    let Some(commit) = &round.commit else { return };
    // Lists for scripts, counts for people.
    let files = |paths: &[String]| match out.mode() {
        Mode::Json => Value::from(paths.to_vec()),
        _ => Value::from(paths.len()),
    };
    out.result(
        "Committed",
        &[
            ("url", Value::String(commit.url.clone())),
            ("added", files(&round.added)),
            ("deleted", files(&round.deleted)),
        ],
    );
}

/// A pattern that matches `name` alone: `*`, `?`, `[`, `{` and `}` between brackets.
fn glob_literal(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '*' | '?' | '[' | '{' | '}' => format!("[{c}]"),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watched_file_name_matches_itself_only() {
        let name = "run[1]*?{a,b}.log";
        let filter = hubmix_hub::patterns::PathFilter::new(&[glob_literal(name)], &[]).unwrap();
        assert!(filter.matches(name));
        for other in [
            "run1xy.log",
            "run[1]ab.log",
            "run[1]*?a.log",
            "sub/run[1]*?{a,b}.log",
        ] {
            assert!(!filter.matches(other), "{other}");
        }
    }

    #[test]
    fn intervals_are_positive_finite_minutes() {
        assert_eq!(minutes("0.01"), Ok(0.01));
        assert_eq!(minutes(" 5 "), Ok(5.0));
        for bad in ["0", "-1", "nan", "inf", "1e300", "five", ""] {
            assert!(minutes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_resolve_as_hf_upload_resolves_them() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("model.bin");
        std::fs::write(&file, b"x").unwrap();
        let file = file.to_str().unwrap();
        let folder = dir.path().to_str().unwrap();
        let s = source(Some(file), None, &[], "mlp").unwrap();
        assert_eq!((s.local.as_str(), s.path_in_repo.as_str()), (file, "model.bin"));
        let s = source(Some(folder), None, &[], "mlp").unwrap();
        assert_eq!(s.path_in_repo, ".");
        let s = source(Some(folder), Some("sub"), &[], "mlp").unwrap();
        assert_eq!(s.path_in_repo, "sub");
        let glob = source(Some("*.nothing-here"), None, &[], "mlp").unwrap();
        assert_eq!(
            glob,
            Source {
                local: ".".into(),
                path_in_repo: ".".into(),
                include: vec!["*.nothing-here".into()]
            }
        );
        assert!(source(Some("*.x"), None, &["a".into()], "mlp").is_err());
        assert!(source(Some("/no/such/path"), None, &[], "mlp").is_err());
        assert!(source(None, None, &[], "no-such-local-folder-xyz").is_err());
    }
}
