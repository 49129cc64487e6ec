//! Repository management (`hub-protocol.md` §4): create, delete, move, settings.

use serde::{Deserialize, Serialize};

use super::Gated;
use crate::RepoType;

/// A repository as the create and delete bodies name it; the body of
/// `DELETE /api/repos/delete`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoName {
    /// The name without the namespace (`huggingface_hub` 0.20 may send `namespace/name`).
    pub name: String,
    /// The namespace; `null`: the token's user.
    #[serde(default)]
    pub organization: Option<String>,
    /// The type; absent (or `null`) for a model.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<RepoType>,
}

/// The body of `POST /api/repos/create`. Clients up to 1.0 send `private`, later ones
/// `visibility`, and only when the caller chose.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRepoRequest {
    /// The repository to create.
    #[serde(flatten)]
    pub repo: RepoName,
    /// Whether it is private (older clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
    /// Who can see it (newer clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
}

/// Who can see a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Everyone.
    Public,
    /// The members of its namespace.
    Private,
    /// Everyone can see it, only members can download (huggingface.co Enterprise).
    Protected,
}

impl Visibility {
    /// `Private` for `true`, `Public` for `false`.
    pub fn private(private: bool) -> Self {
        if private {
            Visibility::Private
        } else {
            Visibility::Public
        }
    }

    /// Whether outsiders cannot see (`Private`) or download (`Protected`) the files.
    pub fn is_private(self) -> bool {
        self != Visibility::Public
    }
}

/// Where a repository is: the answer of `POST /api/repos/create` (with `name` and `id`) and of
/// `POST /api/repos/move` (`url` only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoLocation {
    /// `{endpoint}/{prefix}{namespace}/{name}` on the client's host; clients read only this.
    pub url: String,
    /// `namespace/name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The Hub's internal object id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// The body of `POST /api/repos/move`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoveRepoRequest {
    /// `namespace/name` now.
    pub from_repo: String,
    /// `namespace/name` after the move.
    pub to_repo: String,
    /// The type of both; absent: a model.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<RepoType>,
}

/// The body of `PUT /api/{type}/{repo}/settings`; absent fields are left as they are.
/// `huggingface_hub` 2.x sends `visibility`, older clients `private`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoSettings {
    /// Private or public (older clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
    /// Who can see the repository (newer clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
    /// Whether users must ask for access.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gated: Option<Gated>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn create_bodies_of_every_client_version() {
        let new = CreateRepoRequest {
            repo: RepoName {
                name: "ds".into(),
                organization: Some("alice".into()),
                kind: Some(RepoType::Dataset),
            },
            private: None,
            visibility: Some(Visibility::Private),
        };
        let json = json!({"name": "ds", "organization": "alice", "type": "dataset", "visibility": "private"});
        assert_eq!(serde_json::to_value(&new).unwrap(), json);
        assert_eq!(serde_json::from_value::<CreateRepoRequest>(json).unwrap(), new);

        let model = CreateRepoRequest {
            repo: RepoName {
                name: "demo".into(),
                ..RepoName::default()
            },
            ..CreateRepoRequest::default()
        };
        assert_eq!(
            serde_json::to_value(&model).unwrap(),
            json!({"name": "demo", "organization": null})
        );
        // 0.20.3: `private` always, `type` null for models.
        let old: CreateRepoRequest = serde_json::from_value(
            json!({"name": "demo", "organization": null, "private": false, "type": null, "exist_ok": true}),
        )
        .unwrap();
        assert_eq!(
            (old.repo.kind, old.private, old.visibility),
            (None, Some(false), None)
        );
        assert!(serde_json::from_value::<CreateRepoRequest>(json!({"name": "x", "type": "kernel"})).is_err());
        assert!(
            serde_json::from_value::<CreateRepoRequest>(json!({"name": "x", "visibility": "secret"}))
                .is_err()
        );
        assert!(serde_json::from_value::<CreateRepoRequest>(json!({"private": true})).is_err());
    }

    #[test]
    fn delete_move_and_answers() {
        let delete = RepoName {
            name: "ds".into(),
            organization: Some("alice".into()),
            kind: Some(RepoType::Dataset),
        };
        assert_eq!(
            serde_json::to_value(&delete).unwrap(),
            json!({"name": "ds", "organization": "alice", "type": "dataset"})
        );
        let moved = MoveRepoRequest {
            from_repo: "alice/a".into(),
            to_repo: "alice/b".into(),
            kind: Some(RepoType::Model),
        };
        assert_eq!(
            serde_json::to_value(&moved).unwrap(),
            json!({"fromRepo": "alice/a", "toRepo": "alice/b", "type": "model"})
        );
        let created = RepoLocation {
            url: "http://127.0.0.1:35421/datasets/alice/ds".into(),
            name: Some("alice/ds".into()),
            id: Some("66a0f0c1e2d3b4a5c6d7e8f9".into()),
        };
        assert_eq!(
            serde_json::to_value(&created).unwrap(),
            json!({"url": "http://127.0.0.1:35421/datasets/alice/ds", "name": "alice/ds", "id": "66a0f0c1e2d3b4a5c6d7e8f9"})
        );
        let only_url: RepoLocation =
            serde_json::from_value(json!({"url": "https://huggingface.co/a/b"})).unwrap();
        assert_eq!((only_url.name, only_url.id), (None, None));
    }

    #[test]
    fn settings_of_every_client_version() {
        let read = |v| serde_json::from_value::<RepoSettings>(v).unwrap();
        assert_eq!(
            read(json!({"visibility": "private"})).visibility,
            Some(Visibility::Private)
        );
        assert_eq!(read(json!({"private": true})).private, Some(true));
        assert_eq!(
            read(json!({"gated": "auto"})).gated,
            Some(Gated::Mode("auto".into()))
        );
        assert_eq!(
            read(json!({"private": true, "gated": false, "xetEnabled": true})).gated,
            Some(Gated::Flag(false))
        );
        let public = RepoSettings {
            visibility: Some(Visibility::private(false)),
            ..RepoSettings::default()
        };
        assert_eq!(
            serde_json::to_value(&public).unwrap(),
            json!({"visibility": "public"})
        );
        assert!(Visibility::Protected.is_private() && !Visibility::Public.is_private());
    }
}
