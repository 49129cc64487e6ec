//! `hubmix download REPO [FILES…]`: into the cache shared with Python (default), or into a plain
//! folder (`--local-dir`, with the bookkeeping `hf` keeps there, so each tool skips the other's
//! files). Prints the path.

use std::path::PathBuf;

use hubmix_hub::{DownloadOptions, SnapshotOptions};
use serde_json::Value;

use crate::args::{RepoKind, client, target};
use crate::error::{CliError, InRepo};
use crate::output::Output;

/// `hubmix download` options.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  hubmix download alice/mlp
  hubmix download alice/mlp config.json
  hubmix download alice/mlp --include '*.safetensors' --exclude 'old/*'
  hubmix download datasets/alice/data train/ --local-dir ./data
  hubmix download hf://alice/mlp@v1/config.json --quiet
  hubmix download alice/mlp --dry-run")]
pub(crate) struct DownloadArgs {
    /// The repository: `namespace/name`, `datasets/namespace/name`, or an
    /// `hf://[datasets/]namespace/name[@revision][/path]` URI.
    repo_id: String,
    /// Files to download (default: all of them); a name ending in `/` is a folder.
    filenames: Vec<String>,
    /// The repository's type.
    #[arg(long = "repo-type", visible_alias = "type", value_enum)]
    repo_type: Option<RepoKind>,
    /// A branch, tag, commit id or refs/pr/N (default: main).
    #[arg(long)]
    revision: Option<String>,
    /// Only files matching this pattern (repeatable; `*` also matches `/`).
    #[arg(long)]
    include: Vec<String>,
    /// Not files matching this pattern (repeatable).
    #[arg(long)]
    exclude: Vec<String>,
    /// Another cache folder than HF_HUB_CACHE.
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Download into this folder: real files at their repository paths, no symlinks.
    #[arg(long)]
    local_dir: Option<PathBuf>,
    /// Download even the files already there.
    #[arg(long, overrides_with = "no_force_download")]
    force_download: bool,
    /// Opposite of --force-download (the default).
    #[arg(long, hide = true)]
    no_force_download: bool,
    /// Show what would be downloaded, download nothing.
    #[arg(long, overrides_with = "no_dry_run")]
    dry_run: bool,
    /// Opposite of --dry-run (the default).
    #[arg(long, hide = true)]
    no_dry_run: bool,
    /// A token instead of the stored one (prefer `hubmix auth login` or HF_TOKEN).
    #[arg(long)]
    token: Option<String>,
    /// Files downloaded at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    max_workers: u16,
}

/// Runs `hubmix download`.
pub(crate) fn run(args: DownloadArgs, out: &Output) -> Result<(), CliError> {
    if args.local_dir.is_some() && args.cache_dir.is_some() {
        return Err(CliError::failed(
            "Cannot use both `--local-dir` and `--cache-dir` at the same time.",
            "Use `--cache-dir` (or set the HF_HOME environment variable) for shared caching, or `--local-dir` for a one-off download to a specific directory.",
        ));
    }
    let target = target(&args.repo_id, args.repo_type, args.revision.as_deref())?;
    let mut filenames = args.filenames;
    if let Some(path) = &target.path {
        if !filenames.is_empty() {
            return Err(CliError::Usage(format!(
                "Cannot combine a file path in the hf:// URI ('{path}') with positional filenames."
            )));
        }
        filenames.push(path.clone());
    }
    let (folders, files): (Vec<String>, Vec<String>) = filenames.into_iter().partition(|f| f.ends_with('/'));
    if let Some(folder) = folders.first() {
        for (given, what) in [(&args.include, "--include"), (&args.exclude, "--exclude")] {
            if !given.is_empty() {
                return Err(CliError::failed(
                    format!("Cannot combine subfolder argument ('{folder}') with `{what}`."),
                    format!("Use `--include \"{folder}*\"` instead."),
                ));
            }
        }
    }
    if !files.is_empty() {
        for (given, what) in [(&args.include, "--include"), (&args.exclude, "--exclude")] {
            if !given.is_empty() {
                out.warning(&format!(
                    "Ignoring {what} since filenames have been explicitly set."
                ));
            }
        }
    }
    let hub = client(out, args.token.as_deref(), Some(usize::from(args.max_workers)))?;
    let kind = target.repo_type();
    let mut download = DownloadOptions::default().force_download(args.force_download);
    if let Some(dir) = &args.cache_dir {
        download = download.cache_dir(dir);
    }
    let single = files.len() == 1 && folders.is_empty();
    let snapshot = if files.is_empty() && folders.is_empty() {
        SnapshotOptions::default()
            .allow(args.include)
            .ignore(args.exclude)
    } else {
        let folders = folders.iter().map(|f| format!("{}/**", f.trim_end_matches('/')));
        SnapshotOptions::default().allow(files.iter().cloned().chain(folders))
    }
    .download(download.clone());
    let repo = &target.repo;
    if args.dry_run {
        let plan = hub
            .plan_snapshot(repo, &snapshot, args.local_dir.as_deref())
            .in_repo(kind)?;
        let fetched: Vec<_> = plan.files.iter().filter(|f| f.will_download).collect();
        let total: u64 = fetched.iter().map(|f| f.size).sum();
        out.text(&format!(
            "[dry-run] Will download {} files (out of {}) totalling {}.",
            fetched.len(),
            plan.files.len(),
            format_size(total)
        ));
        let rows: Vec<Vec<Value>> = plan
            .files
            .iter()
            .map(|f| {
                let size = if f.will_download {
                    format_size(f.size)
                } else {
                    "-".into()
                };
                vec![Value::String(f.path.clone()), Value::String(size)]
            })
            .collect();
        out.table(&["file", "size"], &rows);
        return Ok(());
    }
    let path = match (&args.local_dir, single) {
        (Some(dir), true) => hub.hub_download_to_local_dir(repo, &files[0], dir, &download),
        (Some(dir), false) => hub.snapshot_to_local_dir(repo, dir, &snapshot),
        (None, true) => hub.hub_download(repo, &files[0], &download),
        (None, false) => hub.snapshot_download(repo, &snapshot),
    }
    .in_repo(kind)?;
    out.result(
        "Downloaded",
        &[("path", Value::String(path.display().to_string()))],
    );
    Ok(())
}

/// Sizes as `hf` writes them (decimal units, one decimal): `5.0`, `3.0K`, `1.5M`.
pub(crate) fn format_size(bytes: u64) -> String {
    let mut n = bytes as f64;
    for unit in ["", "K", "M", "G", "T", "P", "E", "Z"] {
        if n.abs() < 1000.0 {
            return format!("{n:.1}{unit}");
        }
        n /= 1000.0;
    }
    format!("{n:.1}Y")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_hf_writes_them() {
        assert_eq!(format_size(5), "5.0");
        assert_eq!(format_size(3014), "3.0K");
        assert_eq!(format_size(1_500_000), "1.5M");
        assert_eq!(format_size(999), "999.0");
    }
}
