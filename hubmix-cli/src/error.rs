//! Errors as `hf` reports them: `Error: <one line>` on stderr, then a `Hint: <what to do>`, and
//! exit code 1 (2 for usage errors). Never a backtrace.

use std::process::ExitCode;

use hubmix_hub::{HubError, RepoType};

use crate::output::Output;

/// What can make a command fail.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// A Hub or cache error, with the type of the repository it is about when known.
    #[error("{source}")]
    Hub {
        /// The library's error.
        source: HubError,
        /// The repository's type, to name it as `hf` does (`Model 'x/y' not found.`).
        repo_type: Option<RepoType>,
    },
    /// Arguments that do not fit together (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Any other failure, with what to do about it.
    #[error("{message}")]
    Failed {
        /// What went wrong.
        message: String,
        /// What to do.
        hint: Option<String>,
    },
    /// The user said no, or closed the input, at a prompt.
    #[error("Aborted!")]
    Aborted,
}

impl From<HubError> for CliError {
    fn from(source: HubError) -> Self {
        CliError::Hub {
            source,
            repo_type: None,
        }
    }
}

impl CliError {
    /// A failure with a hint.
    pub(crate) fn failed(message: impl Into<String>, hint: impl Into<String>) -> Self {
        CliError::Failed {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}

/// Names the repository type of a Hub error (`.in_repo(repo_type)?`).
pub(crate) trait InRepo<T> {
    /// The result, its error knowing the repository's type.
    fn in_repo(self, repo_type: RepoType) -> Result<T, CliError>;
}

impl<T> InRepo<T> for Result<T, HubError> {
    fn in_repo(self, repo_type: RepoType) -> Result<T, CliError> {
        self.map_err(|source| CliError::Hub {
            source,
            repo_type: Some(repo_type),
        })
    }
}

/// Prints `e` and returns the exit code.
pub(crate) fn report(out: &Output, e: &CliError) -> ExitCode {
    let (message, hint) = describe(e);
    out.error(&one_line(&message));
    if let Some(hint) = hint {
        out.hint(&one_line(&hint));
    }
    ExitCode::from(if matches!(e, CliError::Usage(_)) { 2 } else { 1 })
}

/// The one-line message of a Hub error about a repository of type `repo_type`, without its
/// hint: for an error that does not end the command.
pub(crate) fn hub_message(e: &HubError, repo_type: RepoType) -> String {
    one_line(&describe_hub(e, Some(repo_type)).0)
}

/// Line breaks (a server's message may have some) become spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `Model`, `Dataset`, `Space`, or `Repository` when the type is unknown.
fn label(repo_type: Option<RepoType>) -> String {
    match repo_type {
        None => "Repository".into(),
        Some(t) => {
            let s = t.as_str();
            format!("{}{}", s[..1].to_uppercase(), &s[1..])
        }
    }
}

/// `--repo-type dataset` for a dataset, nothing for a model.
pub(crate) fn type_flag(repo_type: Option<RepoType>) -> String {
    match repo_type {
        Some(t) if t != RepoType::Model => format!(" --repo-type {}", t.as_str()),
        _ => String::new(),
    }
}

/// The message and hint of an error.
fn describe(e: &CliError) -> (String, Option<String>) {
    match e {
        CliError::Hub { source, repo_type } => describe_hub(source, *repo_type),
        CliError::Usage(message) => (
            message.clone(),
            Some("Run the command with --help for its usage.".into()),
        ),
        CliError::Failed { message, hint } => (message.clone(), hint.clone()),
        CliError::Aborted => ("Aborted!".into(), None),
    }
}

fn describe_hub(e: &HubError, repo_type: Option<RepoType>) -> (String, Option<String>) {
    let kind = label(repo_type);
    let login = "Log in with `hubmix auth login` (or set HF_TOKEN) with a token that has access.";
    match e {
        HubError::InvalidRepoId { id, reason } => (
            format!("Invalid repository id '{id}': {reason}."),
            Some("A repository id is 'name' or 'namespace/name'; give its type with --repo-type.".into()),
        ),
        HubError::InvalidRevision { revision, reason } => (
            format!("Invalid revision '{revision}': {reason}."),
            Some("Give a branch, a tag, a 40-hex commit id or refs/pr/N.".into()),
        ),
        HubError::InvalidPath { path, reason } => (
            format!("Invalid path '{path}': {reason}."),
            Some("Paths in a repository are relative, with '/' between folders.".into()),
        ),
        HubError::RepoNotFound { repo } => (
            format!("{kind} '{repo}' not found."),
            Some(format!(
                "If the repo is private, make sure you are logged in (`hubmix auth login`) with a token that can read it. If it does not exist, create it with: hubmix repos create {repo}{}",
                type_flag(repo_type)
            )),
        ),
        HubError::RevisionNotFound { repo, revision } => (
            format!(
                "Revision '{revision}' not found in {} '{repo}'.",
                kind.to_lowercase()
            ),
            Some("Check the branch, tag or commit id (--revision).".into()),
        ),
        HubError::EntryNotFound { repo, revision, path } => (
            format!(
                "File '{path}' not found in {} '{repo}' at revision '{revision}'.",
                kind.to_lowercase()
            ),
            Some("Check the file's path in the repository, and the revision.".into()),
        ),
        HubError::Gated { repo } => (
            format!("Access denied. {kind} '{repo}' requires approval."),
            Some(format!("Request access on the Hub, then: {login}")),
        ),
        HubError::Unauthorized { message } => (format!("Unauthorized: {message}."), Some(login.into())),
        HubError::Forbidden { message } => (
            format!("Forbidden: {message}."),
            Some("The token lacks this permission: log in with a write token (`hubmix auth login`).".into()),
        ),
        HubError::NotLoggedIn { action } => (
            format!("Not logged in: {action} needs a token."),
            Some("Run `hubmix auth login` first, or set HF_TOKEN.".into()),
        ),
        HubError::NotCached {
            repo,
            revision,
            what,
            why,
        } => (
            format!(
                "Local entry not found: {what} of {} '{repo}' at revision '{revision}' is not in the cache, and downloads are disabled ({why}).",
                kind.to_lowercase()
            ),
            Some("Run the command once online, or unset HF_HUB_OFFLINE.".into()),
        ),
        HubError::NotInCache { repo, what, path } => (
            format!(
                "{kind} '{repo}': {what} is not in the cache ({} not found).",
                path.display()
            ),
            Some(format!(
                "Download it first (`hubmix download {repo}{}`), pass --cache-dir or --revision, or verify a folder with --local-dir.",
                type_flag(repo_type)
            )),
        ),
        HubError::Offline { url } => (
            format!("Cannot reach {url}: offline mode is enabled."),
            Some("Unset the HF_HUB_OFFLINE environment variable to reach the Hub.".into()),
        ),
        HubError::Network { url, source } => (
            format!("Cannot reach {url}: {source}."),
            Some("Check HF_ENDPOINT and the network, or set HF_HUB_OFFLINE=1 to use the cache.".into()),
        ),
        other => {
            let hint = match other {
                HubError::Conflict { .. } => {
                    "The name is taken or the branch moved: pick another name, pass --exist-ok where the command has it, or run the command again."
                }
                HubError::Integrity { .. } => "Run the command again: nothing corrupt was kept.",
                HubError::Io { .. } | HubError::UploadSource { .. } => "Check the path and its permissions.",
                HubError::InvalidResponse { .. } | HubError::Pagination { .. } => {
                    "The server does not answer as the Hub does: check HF_ENDPOINT."
                }
                HubError::InvalidModelCard { .. } => "Fix the YAML front matter of README.md.",
                HubError::InvalidSafetensors { .. } => {
                    "The file is not a safetensors file, or it is cut short: check the path, or download it again."
                }
                HubError::InvalidCheckpoint { .. } => {
                    "Give a .safetensors file, a *.safetensors.index.json with its shards, or a folder or repository holding model.safetensors or model.safetensors.index.json."
                }
                HubError::InvalidArgument { .. } | HubError::InvalidSetting { .. } => {
                    "Check the value given (`--help` lists the options)."
                }
                _ => "The message above is the server's; `hubmix auth whoami` checks the login.",
            };
            let text = other.to_string();
            let mut chars = text.chars();
            let capitalised = match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => text,
            };
            (capitalised, Some(hint.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_errors_read_as_hf_writes_them() {
        let (message, hint) = describe_hub(
            &HubError::RepoNotFound {
                repo: "alice/nope".into(),
            },
            Some(RepoType::Dataset),
        );
        assert_eq!(message, "Dataset 'alice/nope' not found.");
        assert!(
            hint.unwrap()
                .ends_with("hubmix repos create alice/nope --repo-type dataset")
        );
        let (message, _) = describe_hub(
            &HubError::Http {
                status: 409,
                url: "http://h/api".into(),
                message: "taken\nreally".into(),
            },
            None,
        );
        assert_eq!(one_line(&message), "HTTP 409 from http://h/api: taken really");
    }
}
