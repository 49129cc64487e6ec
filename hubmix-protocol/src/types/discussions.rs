//! Discussions and pull requests, as far as the clients' pull-request flows need them
//! (`hub-protocol.md` §5.6, §3.7).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::RepoType;

/// A discussion or pull request, as listings show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Discussion {
    /// Its number in the repository (pull request `N` is `refs/pr/N`).
    pub num: u64,
    /// Its title.
    pub title: String,
    /// `open`, `closed`, `merged` or `draft`.
    pub status: String,
    /// Whether it is a pull request.
    #[serde(default)]
    pub is_pull_request: bool,
    /// When it was opened.
    #[serde(default)]
    pub created_at: String,
    /// Who opened it (absent: a deleted user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<DiscussionAuthor>,
    /// The repository it belongs to.
    pub repo: DiscussionRepo,
    /// How many comments it has.
    #[serde(default)]
    pub num_comments: u64,
    /// Whether it is pinned.
    #[serde(default)]
    pub pinned: bool,
    /// The most used reactions, as the Hub describes them.
    #[serde(default)]
    pub top_reactions: Vec<Value>,
}

/// The author of a [`Discussion`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscussionAuthor {
    /// The user name.
    pub name: String,
}

/// The repository of a [`Discussion`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscussionRepo {
    /// `namespace/name`.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: RepoType,
}

/// The answer of `GET /api/{type}/{repo}/discussions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscussionList {
    /// The discussions of this page.
    pub discussions: Vec<Discussion>,
    /// How many there are.
    #[serde(default)]
    pub count: u64,
    /// The index of the page's first.
    #[serde(default)]
    pub start: u64,
    /// How many are closed.
    #[serde(default)]
    pub num_closed_discussions: u64,
}

/// The answer of `GET /api/{type}/{repo}/discussions/{num}`: the summary, its events, and for
/// a pull request its changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscussionDetails {
    /// What listings show.
    #[serde(flatten)]
    pub discussion: Discussion,
    /// Comments, status changes, commits, oldest first.
    #[serde(default)]
    pub events: Vec<DiscussionEvent>,
    /// For a pull request: what it changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<PrChanges>,
    /// For a pull request: the files that conflict with its base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_with_conflicts: Option<Vec<String>>,
    /// For a pull request: the diff to its base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// An event of a discussion. The Hub sends more (`author`, `data`), not read here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscussionEvent {
    /// Its id.
    pub id: String,
    /// `comment`, `status-change`, `commit`, `title-change`...
    #[serde(rename = "type")]
    pub kind: String,
    /// When it happened.
    pub created_at: String,
}

/// What a pull request changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrChanges {
    /// The ref it merges into (`refs/heads/main`).
    pub base: String,
    /// The merge commit, once merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_commit_id: Option<String>,
}

/// The body of `POST /api/{type}/{repo}/discussions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateDiscussionRequest {
    /// Its title.
    pub title: String,
    /// Its first comment.
    #[serde(default)]
    pub description: String,
    /// Whether to open a pull request (its `refs/pr/N` starts at the head of `main`).
    #[serde(default)]
    pub pull_request: bool,
}

/// The answer to [`CreateDiscussionRequest`]: clients read `num`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateDiscussionAnswer {
    /// The new discussion's number.
    pub num: u64,
    /// Its web URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pr() -> Discussion {
        Discussion {
            num: 1,
            title: "Upload folder using huggingface_hub".into(),
            status: "draft".into(),
            is_pull_request: true,
            created_at: "2024-05-01T12:34:56.000Z".into(),
            author: Some(DiscussionAuthor { name: "alice".into() }),
            repo: DiscussionRepo {
                name: "alice/folder".into(),
                kind: RepoType::Model,
            },
            num_comments: 0,
            pinned: false,
            top_reactions: vec![],
        }
    }

    #[test]
    fn details_of_a_pull_request_as_documented() {
        let details = DiscussionDetails {
            discussion: pr(),
            events: vec![],
            changes: Some(PrChanges {
                base: "refs/heads/main".into(),
                merge_commit_id: None,
            }),
            files_with_conflicts: Some(vec![]),
            diff: Some(String::new()),
        };
        let json = json!({
            "num": 1, "title": "Upload folder using huggingface_hub", "status": "draft", "isPullRequest": true,
            "createdAt": "2024-05-01T12:34:56.000Z", "author": {"name": "alice"},
            "repo": {"name": "alice/folder", "type": "model"}, "numComments": 0, "pinned": false,
            "topReactions": [], "events": [], "changes": {"base": "refs/heads/main"},
            "filesWithConflicts": [], "diff": ""
        });
        assert_eq!(serde_json::to_value(&details).unwrap(), json);
        assert_eq!(
            serde_json::from_value::<DiscussionDetails>(json).unwrap(),
            details
        );
        let discussion = DiscussionDetails {
            discussion: Discussion {
                is_pull_request: false,
                ..pr()
            },
            events: vec![],
            changes: None,
            files_with_conflicts: None,
            diff: None,
        };
        let json = serde_json::to_value(&discussion).unwrap();
        assert!(
            json.get("changes").is_none() && json.get("diff").is_none(),
            "{json}"
        );
    }

    #[test]
    fn parses_a_huggingface_co_listing() {
        let list: DiscussionList = serde_json::from_value(json!({
            "discussions": [{
                "num": 7, "title": "Adding `safetensors` variant of this model", "status": "open",
                "isPullRequest": true, "createdAt": "2023-01-01T00:00:00.000Z",
                "author": {"name": "SFconvertbot", "avatarUrl": "/a.png", "type": "user", "isPro": false},
                "repo": {"name": "alice/m", "type": "model"}, "numComments": 1, "pinned": false,
                "topReactions": [{"reaction": "🤗", "count": 2}], "numReactionUsers": 2
            }],
            "count": 1, "start": 0, "numClosedDiscussions": 3
        }))
        .unwrap();
        assert_eq!(list.discussions[0].author.as_ref().unwrap().name, "SFconvertbot");
        assert_eq!(list.num_closed_discussions, 3);
        let deleted: Discussion = serde_json::from_value(json!({
            "num": 2, "title": "t", "status": "closed", "repo": {"name": "a/b", "type": "dataset"}
        }))
        .unwrap();
        assert_eq!((deleted.author, deleted.repo.kind), (None, RepoType::Dataset));
    }

    #[test]
    fn create_request_and_answer() {
        let request: CreateDiscussionRequest = serde_json::from_value(json!({
            "title": "Upload folder using huggingface_hub",
            "description": "Pull Request opened with the huggingface_hub Python library",
            "pullRequest": true
        }))
        .unwrap();
        assert!(request.pull_request);
        let minimal: CreateDiscussionRequest = serde_json::from_value(json!({"title": "t"})).unwrap();
        assert_eq!((minimal.description.as_str(), minimal.pull_request), ("", false));
        let answer = CreateDiscussionAnswer {
            num: 1,
            url: Some("http://h/alice/folder/discussions/1".into()),
        };
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            json!({"num": 1, "url": "http://h/alice/folder/discussions/1"})
        );
        assert_eq!(
            serde_json::from_value::<CreateDiscussionAnswer>(json!({"num": 3}))
                .unwrap()
                .num,
            3
        );
    }
}
