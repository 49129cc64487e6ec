//! `hubmix cache ls | rm | prune`: the cache shared with Python's `huggingface_hub`, listed and cleaned
//! as `hf cache` does it (`verify` is in [`crate::cache_verify`]), with the same figures (decimal sizes like `3.0K`, ages like
//! `2 hours ago`) and the same JSON keys.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use hubmix_hub::cache_scan::{CacheInfo, CachedRepo, CachedRevision, scan_cache};
use serde_json::{Value, json};

use crate::args::{settings, target};
use crate::error::CliError;
use crate::output::{Mode, Output};

/// `hubmix cache …`.
#[derive(Debug, Subcommand)]
pub(crate) enum CacheCommand {
    /// List the cached repositories (or revisions), their sizes and last use.
    #[command(
        visible_alias = "list",
        after_help = "Examples:
  hubmix cache ls
  hubmix cache ls --revisions
  hubmix cache ls --filter \"size>1GB\" --limit 20
  hubmix cache ls --sort size --format json"
    )]
    Ls(LsArgs),
    /// Remove cached repositories or revisions.
    #[command(
        arg_required_else_help = true,
        after_help = "Examples:
  hubmix cache rm model/gpt2
  hubmix cache rm hf://models/openai-community/gpt2
  hubmix cache rm <revision_hash>
  hubmix cache rm model/gpt2 --dry-run
  hubmix cache rm model/gpt2 --yes"
    )]
    Rm(RmArgs),
    /// Remove detached revisions (no ref names them) and interrupted downloads.
    #[command(after_help = "Examples:
  hubmix cache prune
  hubmix cache prune --dry-run")]
    Prune(PruneArgs),
    /// Check files against their hashes: one revision against the Hub, or the whole cache offline.
    #[command(after_help = crate::cache_verify::AFTER_HELP)]
    Verify(crate::cache_verify::VerifyArgs),
}

/// `hubmix cache ls` options.
#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    /// Cache directory to scan (defaults to HF_HUB_CACHE).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// One row per revision instead of per repository.
    #[arg(long, overrides_with = "no_revisions")]
    revisions: bool,
    /// One row per repository (the default).
    #[arg(long, hide = true)]
    no_revisions: bool,
    /// Keep the rows matching `key op value` (AND-ed): keys size, accessed, modified, type,
    /// refs; e.g. `size>1GB`, `accessed>7d`, `type=dataset`, `refs=main`.
    #[arg(short, long = "filter")]
    filter: Vec<String>,
    /// Sort by accessed, modified, name or size (`:asc` / `:desc`; default desc, name asc).
    #[arg(long)]
    sort: Option<String>,
    /// Show at most this many rows.
    #[arg(long, allow_negative_numbers = true)]
    limit: Option<i64>,
    /// Print each cache inconsistency instead of their count.
    #[arg(long, overrides_with = "no_show_warnings")]
    show_warnings: bool,
    /// Print only the count of cache inconsistencies (the default).
    #[arg(long, hide = true)]
    no_show_warnings: bool,
}

/// `hubmix cache rm` options.
#[derive(Debug, Args)]
pub(crate) struct RmArgs {
    /// Repositories (`model/gpt2`, `dataset/org/ds`, `hf://datasets/org/ds`) or revision hashes.
    #[arg(required = true)]
    targets: Vec<String>,
    #[command(flatten)]
    delete: DeleteArgs,
}

/// `hubmix cache prune` options.
#[derive(Debug, Args)]
pub(crate) struct PruneArgs {
    #[command(flatten)]
    delete: DeleteArgs,
}

/// What `rm` and `prune` share: where the cache is, and how to confirm.
#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    /// Cache directory to scan (defaults to HF_HUB_CACHE).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Skip the confirmation prompt.
    #[arg(short, long)]
    yes: bool,
    /// Show what would be deleted, delete nothing.
    #[arg(long, overrides_with = "no_dry_run")]
    dry_run: bool,
    /// Delete (the default).
    #[arg(long, hide = true)]
    no_dry_run: bool,
}

/// Runs a `cache` command.
pub(crate) fn run(command: CacheCommand, out: &Output) -> Result<(), CliError> {
    match command {
        CacheCommand::Ls(args) => ls(&args, out),
        CacheCommand::Rm(args) => rm(&args, out),
        CacheCommand::Prune(args) => prune(&args, out),
        CacheCommand::Verify(args) => crate::cache_verify::run(&args, out),
    }
}

/// `--cache-dir` or `HF_HUB_CACHE`, which must be a folder.
pub(crate) fn cache_dir(given: Option<&Path>) -> Result<PathBuf, CliError> {
    let dir = match given {
        Some(dir) => dir.to_path_buf(),
        None => settings()?.cache_dir,
    };
    if !dir.is_dir() {
        return Err(CliError::failed(
            format!("Cache directory not found: {}", dir.display()),
            "Download something first, or pass --cache-dir (or set HF_HUB_CACHE).",
        ));
    }
    Ok(dir)
}

/// Scans `--cache-dir` or `HF_HUB_CACHE`.
fn scan(given: Option<&Path>) -> Result<CacheInfo, CliError> {
    Ok(scan_cache(&cache_dir(given)?)?)
}

/// Seconds since the epoch, as Python's `time.time()`.
fn seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// `huggingface_hub`'s `_format_size`: decimal units, one decimal (`3.0K`, `1.5M`).
pub(crate) fn format_size(bytes: u64) -> String {
    // Sizes stay far below 2^53 bytes, where the conversion would round.
    #[allow(clippy::cast_precision_loss)]
    let mut n = bytes as f64;
    for unit in ["", "K", "M", "G", "T", "P", "E", "Z"] {
        if n.abs() < 1000.0 {
            return format!("{n:3.1}{unit}");
        }
        n /= 1000.0;
    }
    format!("{n:.1}Y")
}

/// `huggingface_hub`'s `format_timesince`: `a few seconds ago`, `3 days ago`.
fn format_timesince(t: SystemTime, now: f64) -> String {
    let delta = now - seconds(t);
    if delta < 20.0 {
        return "a few seconds ago".into();
    }
    let chunks: [(&str, f64, Option<f64>); 7] = [
        ("second", 1.0, Some(59.0)),
        ("minute", 60.0, Some(59.0)),
        ("hour", 3600.0, Some(23.0)),
        ("day", 86_400.0, Some(6.0)),
        ("week", 604_800.0, Some(6.0)),
        ("month", 2_592_000.0, Some(11.0)),
        ("year", 31_536_000.0, None),
    ];
    let mut shown = ("year", 0.0);
    for (label, divider, max) in chunks {
        let value = (delta / divider).round_ties_even();
        shown = (label, value);
        if max.is_some_and(|max| value <= max) {
            break;
        }
    }
    let (label, value) = shown;
    format!("{value:.0} {label}{} ago", if value > 1.0 { "s" } else { "" })
}

/// A row of `cache ls`: a repository, and one of its revisions in `--revisions` mode.
type Entry<'a> = (&'a CachedRepo, Option<&'a CachedRevision>);

/// A compiled `--filter`.
type Filter = Box<dyn Fn(&Entry<'_>, f64) -> bool>;

/// `<int>[k|kb|m|mb|g|gb|t|tb|p|pb]`, decimal, as `huggingface_hub`'s `parse_size`.
fn parse_size(value: &str) -> Result<f64, String> {
    parse_unit(
        value,
        &[
            ("kb", 1e3),
            ("k", 1e3),
            ("mb", 1e6),
            ("m", 1e6),
            ("gb", 1e9),
            ("g", 1e9),
            ("tb", 1e12),
            ("t", 1e12),
            ("pb", 1e15),
            ("p", 1e15),
            ("", 1.0),
        ],
    )
    .ok_or_else(|| format!("Invalid size: '{value}'. Use a number with an optional unit: 10, 10k, 10MB, 1G."))
}

/// `<int>[s|m|h|d|w|mo|y]`, in seconds, as `huggingface_hub`'s `parse_duration`.
fn parse_duration(value: &str) -> Result<f64, String> {
    parse_unit(
        value,
        &[
            ("mo", 2_592_000.0),
            ("s", 1.0),
            ("m", 60.0),
            ("h", 3600.0),
            ("d", 86_400.0),
            ("w", 604_800.0),
            ("y", 31_536_000.0),
        ],
    )
    .ok_or_else(|| {
        format!("Invalid duration: '{value}'. Use a number and a unit: 30s, 10m, 2h, 7d, 4w, 6mo, 1y.")
    })
}

/// A number followed by one of `units` (case-insensitive).
fn parse_unit(value: &str, units: &[(&str, f64)]) -> Option<f64> {
    let lower = value.trim().to_ascii_lowercase();
    units.iter().find_map(|(unit, factor)| {
        let number = lower.strip_suffix(unit)?.trim();
        (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()))
            .then(|| number.parse::<f64>().ok().map(|n| n * factor))?
    })
}

/// Compiles `key op value`, as `hf`'s `compile_cache_filter`.
fn compile_filter(expr: &str) -> Result<Filter, String> {
    let trimmed = expr.trim();
    let key_end = trimmed
        .find(|c: char| !(c.is_ascii_alphabetic() || c == '_'))
        .ok_or_else(|| format!("Invalid filter expression: '{expr}'."))?;
    let key = trimmed[..key_end].to_ascii_lowercase();
    let rest = trimmed[key_end..].trim_start();
    let op = ["==", "!=", ">=", "<=", ">", "<", "="]
        .into_iter()
        .find(|op| rest.starts_with(op))
        .ok_or_else(|| format!("Invalid filter expression: '{expr}'."))?;
    let value = rest[op.len()..].trim().to_owned();
    if key.is_empty() || value.is_empty() {
        return Err(format!("Invalid filter expression: '{expr}'."));
    }
    let op = if op == "==" { "=" } else { op };
    let compare = move |left: f64, right: f64| match op {
        "=" => (left - right).abs() < f64::EPSILON,
        "!=" => (left - right).abs() >= f64::EPSILON,
        ">" => left > right,
        "<" => left < right,
        ">=" => left >= right,
        _ => left <= right,
    };
    #[allow(clippy::cast_precision_loss)]
    let filter: Filter = match key.as_str() {
        "size" => {
            let threshold = parse_size(&value)?;
            Box::new(move |(repo, rev): &Entry<'_>, _| {
                compare(
                    rev.map_or(repo.size_on_disk, |r| r.size_on_disk) as f64,
                    threshold,
                )
            })
        }
        "accessed" | "modified" => {
            let threshold = parse_duration(&value)?;
            let accessed = key == "accessed";
            Box::new(move |(repo, rev): &Entry<'_>, now| {
                let t = if accessed {
                    repo.last_accessed
                } else {
                    rev.map_or(repo.last_modified, |r| r.last_modified)
                };
                compare(now - seconds(t), threshold)
            })
        }
        "type" | "refs" if op != "=" => {
            let got = if key == "type" {
                format!("'{op}'")
            } else {
                op.to_owned()
            };
            return Err(format!("Only '=' is supported for '{key}' filters. Got {got}."));
        }
        "type" => {
            let expected = value.to_lowercase();
            Box::new(move |(repo, _): &Entry<'_>, _| repo.repo_type.as_str() == expected)
        }
        "refs" => {
            let expected = value.to_lowercase();
            Box::new(move |(repo, rev): &Entry<'_>, _| {
                let refs = rev.map_or_else(|| repo.refs(), |r| r.refs.clone());
                refs.iter().any(|r| r.to_lowercase() == expected)
            })
        }
        _ => {
            return Err(format!(
                "Unsupported filter key '{key}' in '{expr}'. Must be one of ['accessed', 'modified', 'refs', 'size', 'type']."
            ));
        }
    };
    Ok(filter)
}

/// Sorts rows by `--sort`, as `hf`'s `compile_cache_sort`.
fn sort_entries(entries: &mut [Entry<'_>], expr: &str) -> Result<(), String> {
    let lower = expr.trim().to_ascii_lowercase();
    let (key, order) = lower
        .split_once(':')
        .map_or((lower.as_str(), None), |(k, o)| (k, Some(o)));
    let descending = match (key, order) {
        ("accessed" | "modified" | "size", None) | (_, Some("desc")) => true,
        ("name", None) | (_, Some("asc")) => false,
        _ => {
            return Err(format!(
                "Invalid sort expression: '{expr}'. Expected format: 'key' or 'key:asc' or 'key:desc'."
            ));
        }
    };
    #[allow(clippy::cast_precision_loss)]
    let number = |(repo, rev): &Entry<'_>| -> f64 {
        match key {
            "size" => rev.map_or(repo.size_on_disk, |r| r.size_on_disk) as f64,
            "accessed" => seconds(repo.last_accessed),
            _ => seconds(rev.map_or(repo.last_modified, |r| r.last_modified)),
        }
    };
    // Stable in both directions, as Python's `sort(reverse=True)`: equal rows keep their order.
    let name = |(repo, _): &Entry<'_>| repo.cache_id().to_lowercase();
    match key {
        "name" if descending => entries.sort_by_key(|e| std::cmp::Reverse(name(e))),
        "name" => entries.sort_by_key(name),
        "size" | "accessed" | "modified" if descending => {
            entries.sort_by(|a, b| number(b).total_cmp(&number(a)));
        }
        "size" | "accessed" | "modified" => entries.sort_by(|a, b| number(a).total_cmp(&number(b))),
        _ => {
            return Err(format!(
                "Unsupported sort key '{key}' in '{expr}'. Must be one of ['accessed', 'modified', 'name', 'size']."
            ));
        }
    }
    Ok(())
}

/// A list of strings as a JSON value.
fn strings<'a>(items: impl IntoIterator<Item = &'a String>) -> Value {
    Value::Array(items.into_iter().map(|s| Value::String(s.clone())).collect())
}

fn ls(args: &LsArgs, out: &Output) -> Result<(), CliError> {
    let info = scan(args.cache_dir.as_deref())?;
    let filters = args
        .filter
        .iter()
        .map(|f| compile_filter(f))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::Usage(format!("Invalid value: {e}")))?;
    let mut entries: Vec<Entry<'_>> = Vec::new();
    for repo in &info.repos {
        if args.revisions {
            entries.extend(repo.revisions.iter().map(|r| (repo, Some(r))));
        } else {
            entries.push((repo, None));
        }
    }
    let now = seconds(SystemTime::now());
    for filter in &filters {
        entries.retain(|e| filter(e, now));
    }
    if let Some(sort) = &args.sort {
        sort_entries(&mut entries, sort).map_err(|e| CliError::Usage(format!("Invalid value: {e}")))?;
    }
    if let Some(limit) = args.limit {
        let limit = usize::try_from(limit).map_err(|_| {
            CliError::Usage(format!(
                "Invalid value: Limit must be a positive integer, got {limit}."
            ))
        })?;
        entries.truncate(limit);
    }

    let base = |repo: &CachedRepo| {
        vec![
            ("id", Value::String(repo.cache_id())),
            ("repo_id", Value::String(repo.repo_id.clone())),
            ("repo_type", Value::String(repo.repo_type.as_str().into())),
        ]
    };
    let items: Vec<Vec<(&str, Value)>> = entries
        .iter()
        .map(|(repo, rev)| {
            let mut item = base(repo);
            match rev {
                Some(rev) => item.extend([
                    ("revision", Value::String(rev.commit_hash.clone())),
                    (
                        "snapshot_path",
                        Value::String(rev.snapshot_path.to_string_lossy().into_owned()),
                    ),
                    ("size", Value::String(format_size(rev.size_on_disk))),
                    (
                        "last_modified",
                        Value::String(format_timesince(rev.last_modified, now)),
                    ),
                    ("refs", strings(&rev.refs)),
                ]),
                None => item.extend([
                    ("size", Value::String(format_size(repo.size_on_disk))),
                    (
                        "last_accessed",
                        Value::String(format_timesince(repo.last_accessed, now)),
                    ),
                    (
                        "last_modified",
                        Value::String(format_timesince(repo.last_modified, now)),
                    ),
                    ("refs", strings(&repo.refs())),
                ]),
            }
            item
        })
        .collect();
    let headers: &[&str] = if args.revisions {
        &["id", "revision", "size", "last_modified", "refs"]
    } else {
        &["id", "size", "last_accessed", "last_modified", "refs"]
    };
    // JSON items carry every key; the table shows the columns.
    let all_keys: Vec<&str> = items
        .first()
        .map_or_else(Vec::new, |i| i.iter().map(|(k, _)| *k).collect());
    let columns: &[&str] = if out.mode() == Mode::Json {
        &all_keys
    } else {
        headers
    };
    let rows: Vec<Vec<Value>> = items
        .iter()
        .map(|item| {
            columns
                .iter()
                .map(|c| {
                    item.iter()
                        .find(|(k, _)| k == c)
                        .map_or(Value::Null, |(_, v)| v.clone())
                })
                .collect()
        })
        .collect();
    out.table_aligned(columns, &rows, &["size"]);

    if !entries.is_empty() {
        let mut repos: Vec<&CachedRepo> = entries.iter().map(|(repo, _)| *repo).collect();
        repos.sort_by(|a, b| a.repo_path.cmp(&b.repo_path));
        repos.dedup_by(|a, b| a.repo_path == b.repo_path);
        let (revisions, size) = if args.revisions {
            (
                entries.len(),
                entries
                    .iter()
                    .filter_map(|(_, r)| r.map(|r| r.size_on_disk))
                    .sum(),
            )
        } else if !args.filter.is_empty() || args.limit.is_some() {
            (
                repos.iter().map(|r| r.revisions.len()).sum(),
                repos.iter().map(|r| r.size_on_disk).sum(),
            )
        } else {
            (repos.iter().map(|r| r.revisions.len()).sum(), info.size_on_disk)
        };
        out.bold_text(&format!(
            "\nFound {} repo(s) for a total of {revisions} revision(s) and {} on disk.",
            repos.len(),
            format_size(size)
        ));
    }
    if !info.warnings.is_empty() {
        if args.show_warnings {
            for warning in &info.warnings {
                out.warning(&format!(
                    "{}. Repo ignored.",
                    warning.message.trim_end_matches('.')
                ));
            }
        } else {
            out.warning(&format!(
                "Found {} cache inconsistencies. Re-run with `--show-warnings` to display them.",
                info.warnings.len()
            ));
        }
    }
    if !info.incomplete_files.is_empty() {
        out.hint(&format!(
            "Found {} incomplete download(s) totalling {}. Remove them with 'hf cache prune'.",
            info.incomplete_files.len(),
            format_size(info.incomplete_size_on_disk())
        ));
    }
    Ok(())
}

/// `namespace/name` (or `name`) of an `hf://` repository argument, as `cache_id` names it.
fn uri_cache_id(uri: &str) -> Result<String, CliError> {
    let t = target(uri, None, None)?;
    if t.path.is_some() {
        return Err(CliError::failed(
            format!("File targets are not supported by hubmix cache rm yet: {uri}"),
            "Remove the whole repository or a revision instead.",
        ));
    }
    let id = t.id();
    let name = match &id.namespace {
        Some(ns) => format!("{ns}/{}", id.name),
        None => id.name.clone(),
    };
    Ok(format!("{}/{name}", id.repo_type.as_str()))
}

/// Selected revisions, by repository index then revision index.
type Selection = BTreeMap<usize, BTreeSet<usize>>;

/// The repositories whose every revision is selected.
fn full_repos(info: &CacheInfo, selected: &Selection) -> Vec<usize> {
    selected
        .iter()
        .filter(|(i, revs)| revs.len() == info.repos[**i].revisions.len())
        .map(|(i, _)| *i)
        .collect()
}

/// `  - model/gpt2 (entire repo)`, or `  - model/gpt2:` and a line per revision, as `hf` prints
/// a selection.
fn print_selected(info: &CacheInfo, selected: &Selection, full: &[usize], out: &Output) {
    let mut order: Vec<usize> = selected.keys().copied().collect();
    order.sort_by_key(|i| {
        let repo = &info.repos[*i];
        (repo.repo_type.as_str(), repo.repo_id.to_lowercase())
    });
    for i in order {
        let repo = &info.repos[i];
        if full.contains(&i) {
            out.text(&format!("  - {} (entire repo)", repo.cache_id()));
            continue;
        }
        out.text(&format!("  - {}:", repo.cache_id()));
        for j in &selected[&i] {
            let rev = &repo.revisions[*j];
            let refs = rev.refs.iter().cloned().collect::<Vec<_>>().join(" ");
            let refs = if refs.is_empty() {
                "(detached)".into()
            } else {
                refs
            };
            out.text(&format!(
                "      {} [{refs}] {}",
                rev.commit_hash,
                format_size(rev.size_on_disk)
            ));
        }
    }
}

fn rm(args: &RmArgs, out: &Output) -> Result<(), CliError> {
    let info = scan(args.delete.cache_dir.as_deref())?;
    // Selected revisions by repository index.
    let mut selected = Selection::new();
    let mut missing = Vec::new();
    for target in args.targets.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        let lowered = target.to_ascii_lowercase();
        if lowered.len() == 40 && lowered.bytes().all(|b| b.is_ascii_hexdigit()) {
            let found = info.repos.iter().enumerate().find_map(|(i, repo)| {
                let j = repo.revisions.iter().position(|r| r.commit_hash == lowered)?;
                Some((i, j))
            });
            match found {
                Some((i, j)) => {
                    selected.entry(i).or_default().insert(j);
                }
                None => missing.push(target),
            }
            continue;
        }
        let cache_id = if target.starts_with("hf://") {
            uri_cache_id(target)?.to_lowercase()
        } else {
            lowered
        };
        match info
            .repos
            .iter()
            .position(|r| r.cache_id().to_lowercase() == cache_id)
        {
            Some(i) => selected
                .entry(i)
                .or_default()
                .extend(0..info.repos[i].revisions.len()),
            None => missing.push(target),
        }
    }
    if !missing.is_empty() {
        let details: Vec<String> = missing.iter().map(|m| format!("  - {m}")).collect();
        out.warning(&format!("Could not find in cache:\n{}", details.join("\n")));
    }
    selected.retain(|_, revs| !revs.is_empty());
    if selected.is_empty() {
        out.text("Nothing to delete.");
        return Ok(());
    }
    let hashes: Vec<&str> = selected
        .iter()
        .flat_map(|(i, revs)| {
            revs.iter()
                .map(|j| info.repos[*i].revisions[*j].commit_hash.as_str())
        })
        .collect();
    let (plan, _) = info.delete_revisions(&hashes);
    let total = hashes.len();
    let full = full_repos(&info, &selected);
    let in_full: usize = full.iter().map(|i| info.repos[*i].revisions.len()).sum();
    let mut parts = Vec::new();
    if !full.is_empty() {
        parts.push(format!("{} repo(s)", full.len()));
    }
    if total > in_full {
        parts.push(format!("{} revision(s)", total - in_full));
    }
    let freed = format_size(plan.expected_freed_size);
    out.text(&format!(
        "About to delete {} totalling {freed}.",
        parts.join(" and ")
    ));
    print_selected(&info, &selected, &full, out);
    if args.delete.dry_run {
        out.result(
            "Dry run: no files were deleted.",
            &[
                ("dry_run", json!(true)),
                ("repos", json!(full.len())),
                ("revisions", json!(total)),
                ("size", json!(freed)),
            ],
        );
        return Ok(());
    }
    out.confirm("Proceed with deletion?", args.delete.yes)?;
    plan.execute()?;
    out.result(
        &format!(
            "Deleted {} repo(s) and {total} revision(s); freed {freed}.",
            full.len()
        ),
        &[
            ("repos_deleted", json!(full.len())),
            ("revisions_deleted", json!(total)),
            ("freed", json!(freed)),
        ],
    );
    Ok(())
}

fn prune(args: &PruneArgs, out: &Output) -> Result<(), CliError> {
    let info = scan(args.delete.cache_dir.as_deref())?;
    let mut selected = Selection::new();
    for (i, repo) in info.repos.iter().enumerate() {
        let detached: BTreeSet<usize> = (0..repo.revisions.len())
            .filter(|j| repo.revisions[*j].refs.is_empty())
            .collect();
        if !detached.is_empty() {
            selected.insert(i, detached);
        }
    }
    let revisions: usize = selected.values().map(BTreeSet::len).sum();
    let incomplete = info.incomplete_files.len();
    if revisions == 0 && incomplete == 0 {
        out.text("No unreferenced revisions, incomplete downloads or shared blobs found. Nothing to prune.");
        return Ok(());
    }
    let plan = info.prune();
    let mut parts = Vec::new();
    if revisions > 0 {
        parts.push(format!("{revisions} unreferenced revision(s)"));
    }
    if incomplete > 0 {
        parts.push(format!("{incomplete} incomplete download(s)"));
    }
    let summary = parts.join(" and ");
    let freed = format_size(plan.expected_freed_size);
    out.text(&format!("About to delete {summary} ({freed} total)."));
    print_selected(&info, &selected, &full_repos(&info, &selected), out);
    if args.delete.dry_run {
        out.result(
            "Dry run: no files were deleted.",
            &[
                ("dry_run", json!(true)),
                ("revisions", json!(revisions)),
                ("incomplete", json!(incomplete)),
                ("shared_blobs", json!(0)),
                ("size", json!(freed)),
            ],
        );
        return Ok(());
    }
    out.confirm("Proceed?", args.delete.yes)?;
    plan.execute()?;
    out.result(
        &format!("Deleted {summary}; freed {freed}."),
        &[
            ("revisions_deleted", json!(revisions)),
            ("incomplete_deleted", json!(incomplete)),
            ("shared_blobs_deleted", json!(0)),
            ("freed", json!(freed)),
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ages_read_as_python_writes_them() {
        assert_eq!(format_size(5), "5.0");
        assert_eq!(format_size(3014), "3.0K");
        assert_eq!(format_size(1_500_000), "1.5M");
        assert_eq!(format_size(999), "999.0");
        let now = 1_000_000_000.0;
        let ago = |s: u64| {
            format_timesince(
                UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000 - s),
                now,
            )
        };
        assert_eq!(ago(5), "a few seconds ago");
        assert_eq!(ago(29), "29 seconds ago");
        assert_eq!(ago(60), "1 minute ago");
        assert_eq!(ago(90), "2 minutes ago", "banker's rounding: 1.5 -> 2");
        assert_eq!(ago(150), "2 minutes ago", "banker's rounding: 2.5 -> 2");
        assert_eq!(ago(7200), "2 hours ago");
        assert_eq!(ago(3 * 86_400), "3 days ago");
        assert_eq!(ago(400 * 86_400), "1 year ago");
    }

    #[test]
    fn filters_parse_as_hf_parses_them() {
        assert_eq!(parse_size("10MB"), Ok(10e6));
        assert_eq!(parse_size("3k"), Ok(3e3));
        assert_eq!(parse_duration("6mo"), Ok(6.0 * 2_592_000.0));
        assert_eq!(parse_duration("2h"), Ok(7200.0));
        assert!(parse_duration("2").is_err());
        assert!(parse_size("1.5G").is_err());
        assert!(compile_filter("size>1GB").is_ok());
        assert!(compile_filter("type=model").is_ok());
        let e = compile_filter("bogus>1").err().unwrap();
        assert!(
            e.starts_with("Unsupported filter key 'bogus' in 'bogus>1'"),
            "{e}"
        );
        assert!(compile_filter("type!=model").is_err());
        assert!(compile_filter("size").is_err());
    }
}
