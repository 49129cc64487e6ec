//! Repository information (`GET /api/{models,datasets,spaces}/{repo}[/revision/{rev}]`,
//! `hub-protocol.md` §3.1) and the listings (`GET /api/models?...`), whose items have the
//! same shape.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A repository at one revision, or one item of a listing.
///
/// huggingface.co sends many more fields (`downloadsAllTime`, `safetensors`, `config`,
/// `spaces`, `sdk`, ...) depending on the type and the `expand` parameters; they are ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoInfo {
    /// The Hub's internal object id (`66a0f0c1e2d3b4a5c6d7e8f9`).
    #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// `namespace/name`.
    pub id: String,
    /// The namespace (user or organisation) that owns the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The commit the revision resolved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    /// When that commit was made (`2024-05-01T12:34:56.000Z`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// When the repository was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Whether only its namespace's members can see it.
    #[serde(default)]
    pub private: bool,
    /// Whether users must ask for access.
    #[serde(default)]
    pub gated: Gated,
    /// Whether the Hub disabled it.
    #[serde(default)]
    pub disabled: bool,
    /// Downloads over the last 30 days.
    #[serde(default)]
    pub downloads: u64,
    /// Likes.
    #[serde(default)]
    pub likes: u64,
    /// The tags the Hub derives from the card: its `tags`, library, pipeline tag, languages,
    /// `dataset:<id>`, `base_model:<id>`, `license:<id>`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The card's metadata (the YAML front matter of its `README.md`) as JSON. In listings
    /// only when asked for (`cardData=true` or `full=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_data: Option<Map<String, Value>>,
    /// The repository id again, under its legacy name: models only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// The card's `library_name` (`burn` for the models hubmix pushes): models only.
    #[serde(rename = "library_name", default, skip_serializing_if = "Option::is_none")]
    pub library_name: Option<String>,
    /// The card's `pipeline_tag`: models only.
    #[serde(rename = "pipeline_tag", default, skip_serializing_if = "Option::is_none")]
    pub pipeline_tag: Option<String>,
    /// Bytes taken by the files at the revision (repository info only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_storage: Option<u64>,
    /// The files at the revision: always in the repository info (`huggingface_hub` 0.20's
    /// `snapshot_download` needs the key even for an empty repository), in listings only with
    /// `full=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub siblings: Option<Vec<Sibling>>,
}

/// Whether a repository is gated: `false`, `"auto"` or `"manual"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Gated {
    /// `false`: anyone who can see it can download (`true` is not used by the Hub).
    Flag(bool),
    /// How access requests are granted: `"auto"` or `"manual"`.
    Mode(String),
}

impl Default for Gated {
    fn default() -> Self {
        Gated::Flag(false)
    }
}

/// A file listed in [`RepoInfo::siblings`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sibling {
    /// Path in the repository.
    pub rfilename: String,
    /// Size in bytes (the real size for LFS files); with `blobs=true` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The git object id (for LFS files, of the pointer); with `blobs=true` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob_id: Option<String>,
    /// For LFS files, with `blobs=true`: the content's SHA-256 and size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lfs: Option<SiblingLfs>,
}

/// The LFS details of a [`Sibling`]. Note `sha256` here where tree entries say `oid`
/// ([`super::LfsInfo`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiblingLfs {
    /// SHA-256 of the content.
    pub sha256: String,
    /// Size of the content in bytes.
    pub size: u64,
    /// Size of the LFS pointer file git stores in its place.
    #[serde(default)]
    pub pointer_size: u64,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SHA: &str = "ad8ff434b5dd6dd391aca6d062e351157331f00f";

    #[test]
    fn serializes_the_documented_repo_info() {
        let info = RepoInfo {
            object_id: Some("66a0f0c1e2d3b4a5c6d7e8f9".into()),
            id: "alice/demo".into(),
            author: Some("alice".into()),
            sha: Some(SHA.into()),
            last_modified: Some("2024-05-01T12:34:56.000Z".into()),
            created_at: Some("2024-05-01T12:00:00.000Z".into()),
            model_id: Some("alice/demo".into()),
            used_storage: Some(5240),
            siblings: Some(vec![
                Sibling {
                    rfilename: ".gitattributes".into(),
                    ..Sibling::default()
                },
                Sibling {
                    rfilename: "model.bin".into(),
                    size: Some(5000),
                    blob_id: Some("1cfe0e29e09107ee02ddb2095b873e9e4fea2dbc".into()),
                    lfs: Some(SiblingLfs {
                        sha256: "72bfe19438a3a097d1a1dd1296639fc9b2b6cec8e5d3940ebd18d6dd8840875c".into(),
                        size: 5000,
                        pointer_size: 129,
                    }),
                },
            ]),
            ..RepoInfo::default()
        };
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            json!({
                "_id": "66a0f0c1e2d3b4a5c6d7e8f9", "id": "alice/demo", "author": "alice", "sha": SHA,
                "lastModified": "2024-05-01T12:34:56.000Z", "createdAt": "2024-05-01T12:00:00.000Z",
                "private": false, "gated": false, "disabled": false, "downloads": 0, "likes": 0,
                "tags": [], "modelId": "alice/demo", "usedStorage": 5240,
                "siblings": [
                    {"rfilename": ".gitattributes"},
                    {"rfilename": "model.bin", "size": 5000, "blobId": "1cfe0e29e09107ee02ddb2095b873e9e4fea2dbc",
                     "lfs": {"sha256": "72bfe19438a3a097d1a1dd1296639fc9b2b6cec8e5d3940ebd18d6dd8840875c",
                             "size": 5000, "pointerSize": 129}}
                ]
            })
        );
    }

    #[test]
    fn a_listing_item_without_files_has_no_siblings_key() {
        let item = RepoInfo {
            id: "alice/ds".into(),
            ..RepoInfo::default()
        };
        let json = serde_json::to_value(&item).unwrap();
        assert!(json.get("siblings").is_none(), "{json}");
        assert!(json.get("modelId").is_none(), "{json}");
        let empty = RepoInfo {
            siblings: Some(Vec::new()),
            ..item
        };
        assert_eq!(serde_json::to_value(&empty).unwrap()["siblings"], json!([]));
    }

    #[test]
    fn parses_a_huggingface_co_model_answer() {
        let answer = json!({
            "_id": "621ffdc036468d709f174338", "id": "openai-community/gpt2",
            "modelId": "openai-community/gpt2", "author": "openai-community", "sha": SHA,
            "lastModified": "2024-02-19T10:57:45.000Z", "createdAt": "2022-03-02T23:29:04.000Z",
            "private": false, "disabled": false, "gated": "manual", "downloads": 11_000_000,
            "downloadsAllTime": 900_000_000u64, "likes": 2500, "library_name": "transformers",
            "pipeline_tag": "text-generation", "tags": ["transformers", "pytorch", "license:mit"],
            "cardData": {"language": "en", "license": "mit"},
            "config": {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"},
            "transformersInfo": {"auto_model": "AutoModelForCausalLM"},
            "safetensors": {"parameters": {"F32": 137022720}, "total": 137022720},
            "siblings": [{"rfilename": "config.json"}, {"rfilename": "model.safetensors"}],
            "spaces": ["a/b"], "inference": "warm", "usedStorage": 16_000_000_000u64
        });
        let info: RepoInfo = serde_json::from_value(answer).unwrap();
        assert_eq!(info.id, "openai-community/gpt2");
        assert_eq!(info.gated, Gated::Mode("manual".into()));
        assert_eq!(info.library_name.as_deref(), Some("transformers"));
        assert_eq!(info.pipeline_tag.as_deref(), Some("text-generation"));
        assert_eq!(info.card_data.unwrap()["license"], "mit");
        assert_eq!(info.siblings.unwrap()[1].rfilename, "model.safetensors");
        assert_eq!(info.used_storage, Some(16_000_000_000));
    }

    #[test]
    fn parses_a_minimal_answer_with_only_an_id() {
        let info: RepoInfo = serde_json::from_value(json!({"id": "gpt2"})).unwrap();
        assert_eq!(
            (info.sha, info.siblings, info.gated),
            (None, None, Gated::Flag(false))
        );
        assert!(serde_json::from_value::<RepoInfo>(json!({"sha": SHA})).is_err());
    }
}
