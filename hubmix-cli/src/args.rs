//! What several commands share: the repository argument (`namespace/name`,
//! `datasets/namespace/name`, `hf://…` URIs, `--repo-type`, `--revision`) and the client the
//! options configure (`--token`, progress bars).

use hubmix_hub::repo::{parse_hf_uri, revision_of};
use hubmix_hub::{HubClient, RepoId, RepoRef, RepoType, Settings};

use crate::error::CliError;
use crate::output::Output;

/// The `--repo-type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum RepoKind {
    /// A model repository.
    Model,
    /// A dataset repository.
    Dataset,
    /// A Space.
    Space,
}

impl From<RepoKind> for RepoType {
    fn from(kind: RepoKind) -> Self {
        match kind {
            RepoKind::Model => RepoType::Model,
            RepoKind::Dataset => RepoType::Dataset,
            RepoKind::Space => RepoType::Space,
        }
    }
}

/// A repository argument, resolved.
#[derive(Debug)]
pub(crate) struct Target {
    /// The repository and its revision (from `@rev` in a URI, or `--revision`).
    pub(crate) repo: RepoRef,
    /// The path an `hf://` URI names inside the repository (a trailing `/` kept).
    pub(crate) path: Option<String>,
}

impl Target {
    /// The repository.
    pub(crate) fn id(&self) -> &RepoId {
        &self.repo.id
    }

    /// Its type.
    pub(crate) fn repo_type(&self) -> RepoType {
        self.repo.id.repo_type
    }
}

/// Reads a repository argument as `hf` does: `namespace/name` (of `--repo-type`, default model),
/// `datasets/namespace/name` (the prefix gives the type; together with `--repo-type` it is
/// ambiguous), or `hf://[datasets/]namespace/name[@rev][/path]` (not with `--repo-type` or
/// `--revision`).
pub(crate) fn target(id: &str, kind: Option<RepoKind>, revision: Option<&str>) -> Result<Target, CliError> {
    if id.starts_with("hf://") {
        if kind.is_some() {
            return Err(CliError::Usage(format!(
                "'--repo-type' cannot be used with an 'hf://' URI ('{id}')."
            )));
        }
        if revision.is_some() {
            return Err(CliError::Usage(format!(
                "'--revision' cannot be used with an 'hf://' URI ('{id}')."
            )));
        }
        let (repo, path) = parse_hf_uri(id).map_err(hubmix_hub::HubError::from)?;
        let path = path.map(|p| {
            if id.ends_with('/') && !p.ends_with('/') {
                format!("{p}/")
            } else {
                p
            }
        });
        return Ok(Target { repo, path });
    }
    let prefixed = ["models/", "datasets/", "spaces/"]
        .iter()
        .find(|p| id.starts_with(*p) && id[p.len()..].contains('/'));
    let repo_type = match (prefixed, kind) {
        (Some(prefix), Some(_)) => {
            return Err(CliError::Usage(format!(
                "Ambiguous repo type: got prefix '{prefix}' in repo ID and explicit --repo-type. Use one or the other."
            )));
        }
        (Some(prefix), None) => RepoType::from_api_segment(prefix.trim_end_matches('/')).unwrap_or_default(),
        (None, kind) => kind.map(RepoType::from).unwrap_or_default(),
    };
    let bare = prefixed.map_or(id, |p| &id[p.len()..]);
    let repo = RepoRef::from(RepoId::with_type(bare, repo_type).map_err(hubmix_hub::HubError::from)?);
    let revision = revision_of(&repo, revision)?;
    Ok(Target {
        repo: RepoRef { revision, ..repo },
        path: None,
    })
}

/// Where a checkpoint is: a local file or folder, or a repository (with the path an `hf://` URI
/// names in it).
#[derive(Debug)]
pub(crate) enum CheckpointSource {
    /// A local `.safetensors` file, an index file, or a folder.
    Local(std::path::PathBuf),
    /// A repository.
    Repo(Target),
}

/// Where a checkpoint argument that names a repository is read (`inspect`, `convert`).
#[derive(Debug, clap::Args)]
pub(crate) struct CheckpointRepoArgs {
    /// The repository's type.
    #[arg(long = "repo-type", visible_alias = "type", value_enum)]
    pub(crate) repo_type: Option<RepoKind>,
    /// A branch, tag, commit id or refs/pr/N (default: main).
    #[arg(long)]
    pub(crate) revision: Option<String>,
    /// Another cache folder than HF_HUB_CACHE (a cached file is read from there).
    #[arg(long)]
    pub(crate) cache_dir: Option<std::path::PathBuf>,
    /// A token instead of the stored one (prefer `hubmix auth login` or HF_TOKEN).
    #[arg(long)]
    pub(crate) token: Option<String>,
}

impl CheckpointRepoArgs {
    /// The checkpoint `arg` names (see [`checkpoint_source`]).
    pub(crate) fn source(&self, arg: &str) -> Result<CheckpointSource, CliError> {
        checkpoint_source(arg, self.repo_type, self.revision.as_deref())
    }

    /// The download options: the cache folder.
    pub(crate) fn download_options(&self) -> hubmix_hub::DownloadOptions {
        let options = hubmix_hub::DownloadOptions::default();
        match &self.cache_dir {
            Some(dir) => options.cache_dir(dir),
            None => options,
        }
    }

    /// A client with the token, if given.
    pub(crate) fn client(&self, out: &Output) -> Result<HubClient, CliError> {
        client(out, self.token.as_deref(), None)
    }
}

/// Reads a checkpoint argument: an existing local path; else an `hf://` URI; else a repository
/// id, with its revision after `@` (`alice/mlp@v1`) or in `--revision` (not both). A path that
/// does not exist and cannot be a repository id (`./x`, `x.safetensors`) is reported missing.
fn checkpoint_source(
    arg: &str,
    kind: Option<RepoKind>,
    revision: Option<&str>,
) -> Result<CheckpointSource, CliError> {
    let path = std::path::Path::new(arg);
    if !arg.starts_with("hf://") && path.exists() {
        if kind.is_some() || revision.is_some() {
            return Err(CliError::Usage(format!(
                "'--repo-type' and '--revision' are for a repository, and '{arg}' is a local path."
            )));
        }
        return Ok(CheckpointSource::Local(path.to_owned()));
    }
    let local_looking = arg.starts_with(['.', '/', '~'])
        || arg.contains('\\')
        || arg.ends_with(".safetensors")
        || arg.ends_with(".json");
    if local_looking && !arg.starts_with("hf://") {
        return Err(CliError::failed(
            format!("No such file or folder: '{arg}'."),
            "Check the path; a repository is named 'namespace/name' (or an hf:// URI).",
        ));
    }
    if arg.starts_with("hf://") {
        return Ok(CheckpointSource::Repo(target(arg, kind, revision)?));
    }
    let (id, at) = match arg.split_once('@') {
        Some((id, rev)) => (id, Some(rev)),
        None => (arg, None),
    };
    if at.is_some() && revision.is_some() {
        return Err(CliError::Usage(format!(
            "'--revision' cannot be used with a revision after '@' ('{arg}')."
        )));
    }
    Ok(CheckpointSource::Repo(target(id, kind, at.or(revision))?))
}

/// A client from the environment, with `--token` when given (and the warning `hf` prints about
/// it), and progress bars as the output mode allows.
pub(crate) fn client(
    out: &Output,
    token: Option<&str>,
    max_workers: Option<usize>,
) -> Result<HubClient, CliError> {
    let from_env = settings()?.progress_bars;
    let mut builder = HubClient::builder()
        .progress_bars(out.progress_bars(from_env))
        .user_agent("hubmix-cli", env!("CARGO_PKG_VERSION"));
    if let Some(token) = token {
        out.warning(
            "`--token <value>` leaves your token in your shell history and in process listings. Run `hubmix auth login` once, or export HF_TOKEN, and drop the flag.",
        );
        builder = builder.token(token);
    }
    if let Some(workers) = max_workers {
        builder = builder.max_workers(workers);
    }
    Ok(builder.build()?)
}

/// The settings from the environment.
pub(crate) fn settings() -> Result<Settings, CliError> {
    Ok(Settings::from_env()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_arguments() {
        let t = target("datasets/alice/data", None, Some("v1")).unwrap();
        assert_eq!(t.repo_type(), RepoType::Dataset);
        assert_eq!(t.repo.revision.as_deref(), Some("v1"));
        let t = target("alice/data", Some(RepoKind::Space), None).unwrap();
        assert_eq!(t.repo_type(), RepoType::Space);
        assert!(matches!(
            target("datasets/alice/data", Some(RepoKind::Dataset), None),
            Err(CliError::Usage(_))
        ));
        let t = target("hf://datasets/alice/data@v1/train/", None, None).unwrap();
        assert_eq!(t.repo.to_string(), "datasets/alice/data@v1");
        assert_eq!(t.path.as_deref(), Some("train/"));
        assert!(matches!(
            target("hf://alice/data", None, Some("v1")),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(target("bad//id", None, None), Err(CliError::Hub { .. })));
        // A one-segment id keeps its meaning.
        assert_eq!(target("gpt2", None, None).unwrap().id().to_string(), "gpt2");
    }
}
