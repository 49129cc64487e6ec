//! Tree listings (`GET /api/{type}/{repo}/tree/{rev}[/{folder}]`, `hub-protocol.md` §3.2) and
//! paths-info (`POST /api/{type}/{repo}/paths-info/{rev}`, §3.3): both answer a JSON array of
//! [`TreeEntry`].

use serde::{Deserialize, Serialize};

/// A file or a folder of a revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TreeEntry {
    /// File or folder.
    #[serde(rename = "type")]
    pub kind: EntryKind,
    /// The git object id: of the blob for a file (of the pointer for an LFS file), of the tree
    /// for a folder.
    pub oid: String,
    /// Size in bytes: the real size for LFS files, 0 for folders.
    #[serde(default)]
    pub size: u64,
    /// Path in the repository.
    pub path: String,
    /// For LFS files: the content's SHA-256 and size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lfs: Option<LfsInfo>,
    /// The last commit that changed the entry (huggingface.co, with `expand=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_commit: Option<LastCommit>,
}

impl TreeEntry {
    /// Whether this is a file (not a folder).
    pub fn is_file(&self) -> bool {
        self.kind == EntryKind::File
    }

    /// The ETag a download of this file carries: the SHA-256 for LFS files, the git blob id
    /// otherwise.
    pub fn etag(&self) -> &str {
        self.lfs.as_ref().map_or(&self.oid, |l| &l.oid)
    }
}

/// The `type` of a [`TreeEntry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// `file`.
    File,
    /// `directory`.
    Directory,
}

/// The LFS details of a file in a tree listing. Note `oid` here where repository info says
/// `sha256` ([`super::SiblingLfs`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LfsInfo {
    /// SHA-256 of the content: the file's ETag.
    pub oid: String,
    /// Size of the content in bytes.
    pub size: u64,
    /// Size of the LFS pointer file git stores in its place.
    #[serde(default)]
    pub pointer_size: u64,
}

/// The last commit that changed a [`TreeEntry`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastCommit {
    /// The commit id.
    pub id: String,
    /// Its title.
    #[serde(default)]
    pub title: String,
    /// When it was made.
    #[serde(default)]
    pub date: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn serializes_the_documented_entries() {
        let entries = vec![
            TreeEntry {
                kind: EntryKind::Directory,
                oid: "aa536c4ea18073388b5b0bc791057a7296a00398".into(),
                size: 0,
                path: "sub".into(),
                lfs: None,
                last_commit: None,
            },
            TreeEntry {
                kind: EntryKind::File,
                oid: "36efa855d27afe5e1681a618bdb20b488d6a472a".into(),
                size: 5120,
                path: "w.bin".into(),
                lfs: Some(LfsInfo {
                    oid: "4345361085c730756d843f13849c50a996fe2f1fac3a7ac05fb063bb743a423e".into(),
                    size: 5120,
                    pointer_size: 129,
                }),
                last_commit: None,
            },
        ];
        assert_eq!(
            serde_json::to_value(&entries).unwrap(),
            json!([
                {"type": "directory", "oid": "aa536c4ea18073388b5b0bc791057a7296a00398", "size": 0, "path": "sub"},
                {"type": "file", "oid": "36efa855d27afe5e1681a618bdb20b488d6a472a", "size": 5120, "path": "w.bin",
                 "lfs": {"oid": "4345361085c730756d843f13849c50a996fe2f1fac3a7ac05fb063bb743a423e", "size": 5120, "pointerSize": 129}}
            ])
        );
    }

    #[test]
    fn parses_an_expanded_huggingface_co_entry() {
        let entry: TreeEntry = serde_json::from_value(json!({
            "type": "file", "oid": "ce013625030ba8dba906f756967f9e9ca394464a", "size": 6, "path": "a.txt",
            "lastCommit": {"id": "ad8ff434b5dd6dd391aca6d062e351157331f00f", "title": "init", "date": "2024-05-01T12:34:56.000Z"},
            "securityFileStatus": {"status": "safe"}, "xetHash": "abc"
        }))
        .unwrap();
        assert_eq!(entry.kind, EntryKind::File);
        assert_eq!(entry.lfs, None);
        assert_eq!(entry.last_commit.unwrap().title, "init");
        let folder: TreeEntry =
            serde_json::from_value(json!({"type": "directory", "oid": "aa53", "path": "sub"})).unwrap();
        assert_eq!((folder.kind, folder.size), (EntryKind::Directory, 0));
        assert!(
            serde_json::from_value::<TreeEntry>(json!({"type": "symlink", "oid": "x", "path": "p"})).is_err()
        );
    }

    #[test]
    fn files_and_their_etags() {
        let read = |v| serde_json::from_value::<TreeEntry>(v).unwrap();
        let lfs = read(json!({"type": "file", "oid": "36ef", "size": 5, "path": "w.bin",
                              "lfs": {"oid": "4345", "size": 5, "pointerSize": 129}}));
        assert!(lfs.is_file());
        assert_eq!(lfs.etag(), "4345");
        let small = read(json!({"type": "file", "oid": "ce01", "size": 6, "path": "a.txt"}));
        assert_eq!(small.etag(), "ce01");
        assert!(!read(json!({"type": "directory", "oid": "aa53", "path": "sub"})).is_file());
    }
}
