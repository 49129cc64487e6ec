//! Uploads (`hub-protocol.md` §5): preupload, which says how each file goes, and the lines of
//! the NDJSON commit body.

use serde::{Deserialize, Serialize};

/// The body of `POST /api/{type}/{repo}/preupload/{rev}` (at most 256 files per call).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreuploadRequest {
    /// The files about to be committed.
    pub files: Vec<PreuploadFile>,
    /// The content of the `.gitignore` being uploaded with them, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_ignore: Option<String>,
}

/// A file of a [`PreuploadRequest`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreuploadFile {
    /// Path in the repository.
    pub path: String,
    /// The first 512 bytes, base64-encoded.
    #[serde(default)]
    pub sample: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content (`huggingface_hub` 0.20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
}

/// The answer to a preupload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreuploadAnswer {
    /// One per requested file.
    pub files: Vec<PreuploadResult>,
    /// The revision's head commit (clients ignore it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_oid: Option<String>,
}

/// How one file of a preupload goes. `path`, `uploadMode` and `shouldIgnore` are sent for every
/// requested file (`huggingface_hub` indexes them by path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreuploadResult {
    /// Path in the repository.
    pub path: String,
    /// Through LFS, or inline in the commit.
    pub upload_mode: UploadMode,
    /// Whether the repository's `.gitignore` excludes the file: it is then neither uploaded
    /// nor committed.
    #[serde(default)]
    pub should_ignore: bool,
    /// The object now at that path, in the form of the chosen mode (SHA-256 for `lfs`, git
    /// blob SHA-1 for `regular`; `null`: none). Equal to the local one: the file is unchanged.
    #[serde(default)]
    pub oid: Option<String>,
}

/// How a file is uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadMode {
    /// Through the LFS batch API, then an `lfsFile` line.
    Lfs,
    /// Base64 in a `file` line of the commit.
    Regular,
}

/// One line of the NDJSON body of `POST /api/{type}/{repo}/commit/{rev}`:
/// `{"key": "<kind>", "value": {...}}`. The first line is the header; lines apply in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "key", content = "value", rename_all = "camelCase")]
pub enum CommitLine {
    /// The commit's message and parent.
    Header(CommitHeader),
    /// A file with its content inline.
    File(CommitFile),
    /// A file whose content was uploaded through LFS.
    LfsFile(CommitLfsFile),
    /// A file to delete.
    DeletedFile(DeletedPath),
    /// A folder to delete, with everything below it.
    DeletedFolder(DeletedPath),
}

/// The `header` line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitHeader {
    /// The title (non-empty).
    pub summary: String,
    /// The rest of the message (always sent, maybe empty).
    #[serde(default)]
    pub description: String,
    /// The commit the branch must still be at (5 to 40 hex digits); with a pull request, the
    /// commit it starts from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_commit: Option<String>,
}

/// A `file` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitFile {
    /// The whole content, encoded.
    pub content: String,
    /// Path in the repository.
    pub path: String,
    /// How `content` is encoded (absent: base64).
    #[serde(default)]
    pub encoding: FileEncoding,
}

/// The encoding of a [`CommitFile`]'s content.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FileEncoding {
    /// `base64` (`huggingface_hub`, hubmix).
    #[default]
    #[serde(rename = "base64")]
    Base64,
    /// `utf-8` text as is (huggingface.js).
    #[serde(rename = "utf-8", alias = "utf8")]
    Utf8,
}

/// An `lfsFile` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitLfsFile {
    /// Path in the repository.
    pub path: String,
    /// `sha256`.
    #[serde(default = "sha256")]
    pub algo: String,
    /// SHA-256 of the content, uploaded before.
    pub oid: String,
    /// Size in bytes (absent for a copy of a file already in the repository).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

fn sha256() -> String {
    "sha256".into()
}

/// The path of a `deletedFile` or `deletedFolder` line (a folder's ends with `/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedPath {
    /// Path in the repository.
    pub path: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const PARENT: &str = "ad8ff434b5dd6dd391aca6d062e351157331f00f";
    const OID: &str = "da00082d9236990883af370ba33e5c1f0dede48f28726dcb9dcb8ccfffd3bbae";

    #[test]
    fn preupload_request_of_2_4_and_0_20() {
        let request = PreuploadRequest {
            files: vec![PreuploadFile {
                path: "config.json".into(),
                sample: "eyJhIjogMX0K".into(),
                size: 9,
                sha: None,
            }],
            git_ignore: Some("*.tmp\n".into()),
        };
        let json = json!({"files": [{"path": "config.json", "sample": "eyJhIjogMX0K", "size": 9}],
                          "gitIgnore": "*.tmp\n"});
        assert_eq!(serde_json::to_value(&request).unwrap(), json);
        assert_eq!(serde_json::from_value::<PreuploadRequest>(json).unwrap(), request);
        let old: PreuploadRequest = serde_json::from_value(
            json!({"files": [{"path": "a.bin", "sample": "AA==", "size": 1, "sha": "ab"}]}),
        )
        .unwrap();
        assert_eq!((old.files[0].sha.as_deref(), old.git_ignore), (Some("ab"), None));
    }

    #[test]
    fn preupload_answer_as_documented() {
        let answer = PreuploadAnswer {
            files: vec![
                PreuploadResult {
                    path: "weights/big.bin".into(),
                    upload_mode: UploadMode::Lfs,
                    should_ignore: false,
                    oid: None,
                },
                PreuploadResult {
                    path: "config.json".into(),
                    upload_mode: UploadMode::Regular,
                    should_ignore: false,
                    oid: Some("e8c628edc9968ef0c668f54e0ba2636b35503357".into()),
                },
            ],
            commit_oid: Some(PARENT.into()),
        };
        let json = json!({"files": [
            {"path": "weights/big.bin", "uploadMode": "lfs", "shouldIgnore": false, "oid": null},
            {"path": "config.json", "uploadMode": "regular", "shouldIgnore": false,
             "oid": "e8c628edc9968ef0c668f54e0ba2636b35503357"}
        ], "commitOid": PARENT});
        assert_eq!(serde_json::to_value(&answer).unwrap(), json);
        assert_eq!(serde_json::from_value::<PreuploadAnswer>(json).unwrap(), answer);
        // huggingface.co may leave `oid` out.
        let hub: PreuploadAnswer = serde_json::from_value(
            json!({"files": [{"path": "a", "uploadMode": "lfs", "shouldIgnore": true, "isXet": false}]}),
        )
        .unwrap();
        assert_eq!(
            (hub.files[0].oid.clone(), hub.files[0].should_ignore),
            (None, true)
        );
    }

    #[test]
    fn commit_lines_as_observed() {
        let lines = [
            (
                CommitLine::Header(CommitHeader {
                    summary: "Upload folder using huggingface_hub".into(),
                    description: String::new(),
                    parent_commit: Some(PARENT.into()),
                }),
                json!({"key": "header", "value": {"summary": "Upload folder using huggingface_hub",
                       "description": "", "parentCommit": PARENT}}),
            ),
            (
                CommitLine::File(CommitFile {
                    content: "eyJhIjogMX0K".into(),
                    path: "config.json".into(),
                    encoding: FileEncoding::Base64,
                }),
                json!({"key": "file", "value": {"content": "eyJhIjogMX0K", "path": "config.json", "encoding": "base64"}}),
            ),
            (
                CommitLine::LfsFile(CommitLfsFile {
                    path: "weights/big.bin".into(),
                    algo: "sha256".into(),
                    oid: OID.into(),
                    size: Some(300000),
                }),
                json!({"key": "lfsFile", "value": {"path": "weights/big.bin", "algo": "sha256", "oid": OID, "size": 300000}}),
            ),
            (
                CommitLine::DeletedFile(DeletedPath {
                    path: "data/x.txt".into(),
                }),
                json!({"key": "deletedFile", "value": {"path": "data/x.txt"}}),
            ),
            (
                CommitLine::DeletedFolder(DeletedPath {
                    path: "old/checkpoints/".into(),
                }),
                json!({"key": "deletedFolder", "value": {"path": "old/checkpoints/"}}),
            ),
        ];
        for (line, json) in lines {
            assert_eq!(serde_json::to_value(&line).unwrap(), json);
            assert_eq!(serde_json::from_value::<CommitLine>(json).unwrap(), line);
        }
    }

    #[test]
    fn commit_lines_other_clients_send() {
        // huggingface.js: utf-8 content; a copy: no size, no algo; the value before the key.
        let line: CommitLine = serde_json::from_str(
            r#"{"value": {"path": "a.txt", "content": "hé", "encoding": "utf-8"}, "key": "file"}"#,
        )
        .unwrap();
        assert!(matches!(
            line,
            CommitLine::File(CommitFile {
                encoding: FileEncoding::Utf8,
                ..
            })
        ));
        let line: CommitLine =
            serde_json::from_value(json!({"key": "file", "value": {"path": "a", "content": ""}})).unwrap();
        assert!(matches!(
            line,
            CommitLine::File(CommitFile {
                encoding: FileEncoding::Base64,
                ..
            })
        ));
        let copy: CommitLine =
            serde_json::from_value(json!({"key": "lfsFile", "value": {"path": "b", "oid": OID}})).unwrap();
        assert_eq!(
            copy,
            CommitLine::LfsFile(CommitLfsFile {
                path: "b".into(),
                algo: "sha256".into(),
                oid: OID.into(),
                size: None
            })
        );
        let header: CommitLine =
            serde_json::from_value(json!({"key": "header", "value": {"summary": "s"}})).unwrap();
        assert_eq!(
            header,
            CommitLine::Header(CommitHeader {
                summary: "s".into(),
                ..CommitHeader::default()
            })
        );
        for bad in [
            json!({"key": "copy", "value": {"path": "a"}}),
            json!({"key": "file", "value": {"path": "a"}}),
            json!({"key": "file", "value": {"path": "a", "content": "x", "encoding": "rot13"}}),
        ] {
            assert!(
                serde_json::from_value::<CommitLine>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }
}
