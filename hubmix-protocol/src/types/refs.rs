//! Refs (`GET /api/{type}/{repo}/refs[?include_prs=1]`, `hub-protocol.md` §3.4) and the bodies
//! that create branches and tags (§4.3, §4.4).

use serde::{Deserialize, Serialize};

/// A branch, tag, conversion or pull-request ref.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitRef {
    /// `main`, `v1.0`, or the pull request's number (`1`).
    pub name: String,
    /// The full name: `refs/heads/main`, `refs/tags/v1.0`, `refs/pr/1`.
    #[serde(rename = "ref")]
    pub full_name: String,
    /// The commit it points at.
    pub target_commit: String,
}

/// The refs of a repository. `branches`, `converts` and `tags` are always sent (maybe empty);
/// `pullRequests` when asked for with `include_prs=1`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refs {
    /// Branches.
    #[serde(default)]
    pub branches: Vec<GitRef>,
    /// `refs/convert/*` refs (the Hub's automatic conversions).
    #[serde(default)]
    pub converts: Vec<GitRef>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<GitRef>,
    /// Pull requests (`refs/pr/N`), when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_requests: Option<Vec<GitRef>>,
}

/// The body of `POST /api/{type}/{repo}/branch/{branch}`: where the branch starts (absent:
/// at the head of `main`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBranchRequest {
    /// The revision the branch starts at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starting_point: Option<String>,
}

/// The body of `POST /api/{type}/{repo}/tag/{rev}`: the revision to tag is in the path, the
/// tag's name here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTagRequest {
    /// The tag's name.
    pub tag: String,
    /// The message of an annotated tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SHA: &str = "ad8ff434b5dd6dd391aca6d062e351157331f00f";

    fn git_ref(name: &str, full_name: &str) -> GitRef {
        GitRef {
            name: name.into(),
            full_name: full_name.into(),
            target_commit: SHA.into(),
        }
    }

    #[test]
    fn serializes_the_documented_refs() {
        let refs = Refs {
            branches: vec![git_ref("main", "refs/heads/main")],
            tags: vec![git_ref("v1.0", "refs/tags/v1.0")],
            ..Refs::default()
        };
        let expected = json!({
            "branches": [{"name": "main", "ref": "refs/heads/main", "targetCommit": SHA}],
            "converts": [],
            "tags": [{"name": "v1.0", "ref": "refs/tags/v1.0", "targetCommit": SHA}]
        });
        assert_eq!(serde_json::to_value(&refs).unwrap(), expected);
        let with_prs = Refs {
            pull_requests: Some(vec![git_ref("1", "refs/pr/1")]),
            ..refs
        };
        assert_eq!(
            serde_json::to_value(&with_prs).unwrap()["pullRequests"],
            json!([{"name": "1", "ref": "refs/pr/1", "targetCommit": SHA}])
        );
    }

    #[test]
    fn parses_refs_with_missing_lists_and_extra_fields() {
        let refs: Refs = serde_json::from_value(json!({
            "branches": [{"name": "main", "ref": "refs/heads/main", "targetCommit": SHA, "protected": true}],
            "tags": []
        }))
        .unwrap();
        assert_eq!(refs.branches, [git_ref("main", "refs/heads/main")]);
        assert!(refs.converts.is_empty());
        assert_eq!(refs.pull_requests, None);
    }

    #[test]
    fn branch_and_tag_bodies() {
        assert_eq!(
            serde_json::to_value(CreateBranchRequest::default()).unwrap(),
            json!({})
        );
        let from = CreateBranchRequest {
            starting_point: Some("v1".into()),
        };
        assert_eq!(
            serde_json::to_value(&from).unwrap(),
            json!({"startingPoint": "v1"})
        );
        assert_eq!(
            serde_json::from_value::<CreateBranchRequest>(json!({"startingPoint": "v1"})).unwrap(),
            from
        );
        let tag = CreateTagRequest {
            tag: "v1.0".into(),
            message: None,
        };
        assert_eq!(serde_json::to_value(&tag).unwrap(), json!({"tag": "v1.0"}));
        let read: CreateTagRequest =
            serde_json::from_value(json!({"tag": "v1.0", "message": "first"})).unwrap();
        assert_eq!(read.message.as_deref(), Some("first"));
    }
}
