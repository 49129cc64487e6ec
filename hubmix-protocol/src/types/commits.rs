//! Commits: the history (`GET /api/{type}/{repo}/commits/{rev}`, `hub-protocol.md` §3.5) and
//! the answer to a commit (`POST /api/{type}/{repo}/commit/{rev}`, §5.5).

use serde::{Deserialize, Serialize};

/// One commit of a history (newest first, paged with `Link`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitCommit {
    /// The commit id.
    pub id: String,
    /// The first line of the message.
    #[serde(default)]
    pub title: String,
    /// The rest of the message.
    #[serde(default)]
    pub message: String,
    /// Who made it.
    #[serde(default)]
    pub authors: Vec<CommitAuthor>,
    /// When (`2024-05-01T12:34:56.000Z`).
    #[serde(default)]
    pub date: String,
    /// The ids of its parents (hubmix-server; huggingface.co does not send them).
    #[serde(default)]
    pub parents: Vec<String>,
}

/// An author of a [`GitCommit`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitAuthor {
    /// The user name.
    pub user: String,
    /// The URL of the user's avatar (`null` when unknown).
    #[serde(default)]
    pub avatar: Option<String>,
}

/// The answer to a commit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitInfo {
    /// `true`.
    #[serde(default)]
    pub success: bool,
    /// The new commit's id.
    pub commit_oid: String,
    /// `{endpoint}/{prefix}{repo}/commit/{oid}`, on the client's host.
    pub commit_url: String,
    /// Output of the Hub's hooks (empty).
    #[serde(default)]
    pub hook_output: String,
    /// `{endpoint}/{prefix}{repo}/discussions/{N}` when the commit opened pull request `N`
    /// (`create_pr=1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SHA: &str = "8a58a95ae195949cce749e87752bee06f3ee332f";

    #[test]
    fn history_entry_round_trip() {
        let commit = GitCommit {
            id: SHA.into(),
            title: "Upload README.md with huggingface_hub".into(),
            message: String::new(),
            authors: vec![CommitAuthor {
                user: "alice".into(),
                avatar: None,
            }],
            date: "2024-05-01T12:34:56.000Z".into(),
            parents: vec![],
        };
        let json = serde_json::to_value(&commit).unwrap();
        assert_eq!(
            json,
            json!({"id": SHA, "title": "Upload README.md with huggingface_hub", "message": "",
                   "authors": [{"user": "alice", "avatar": null}], "date": "2024-05-01T12:34:56.000Z",
                   "parents": []})
        );
        assert_eq!(serde_json::from_value::<GitCommit>(json).unwrap(), commit);
    }

    #[test]
    fn parses_a_huggingface_co_history_entry() {
        let commit: GitCommit = serde_json::from_value(json!({
            "id": SHA, "title": "Update README.md", "message": "\n",
            "authors": [{"user": "julien-c", "avatar": "https://cdn-avatars.huggingface.co/x.png"}],
            "date": "2023-06-30T02:19:43.000Z",
            "formatted": {"title": "Update <code>README.md</code>"}
        }))
        .unwrap();
        assert_eq!(commit.authors[0].user, "julien-c");
        assert!(commit.parents.is_empty());
    }

    #[test]
    fn commit_answer_with_and_without_pull_request() {
        let url = format!("http://127.0.0.1:37173/alice/folder/commit/{SHA}");
        let info = CommitInfo {
            success: true,
            commit_oid: SHA.into(),
            commit_url: url.clone(),
            hook_output: String::new(),
            pull_request_url: None,
        };
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            json!({"success": true, "commitOid": SHA, "commitUrl": url, "hookOutput": ""})
        );
        let pr = CommitInfo {
            pull_request_url: Some("http://127.0.0.1:37173/alice/folder/discussions/2".into()),
            ..info
        };
        let json = serde_json::to_value(&pr).unwrap();
        assert_eq!(
            json["pullRequestUrl"],
            "http://127.0.0.1:37173/alice/folder/discussions/2"
        );
        assert_eq!(serde_json::from_value::<CommitInfo>(json).unwrap(), pr);
    }
}
