//! Object ids as git and Git LFS compute them.

use sha1::{Digest, Sha1};

/// The git blob id of `content`: `sha1("blob <len>\0" + content)`.
pub(crate) fn git_blob_sha1(content: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", content.len()).as_bytes());
    h.update(content);
    hex::encode(h.finalize())
}

/// The Git LFS pointer file that stands in the git tree for an LFS object.
pub(crate) fn lfs_pointer(sha256: &str, size: u64) -> String {
    format!("version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n")
}

/// The git id of an LFS file: the blob id of its pointer.
pub(crate) fn lfs_git_oid(sha256: &str, size: u64) -> String {
    git_blob_sha1(lfs_pointer(sha256, size).as_bytes())
}

/// One entry of a git tree: a file (mode `100644`) or a folder (mode `40000`), its name, and the
/// 40-hex git id of its blob or tree.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TreeEntry<'a> {
    pub folder: bool,
    pub name: &'a str,
    pub oid: &'a str,
}

/// The git tree id of a folder: `sha1("tree <len>\0" + entries)`, each entry `<mode> <name>\0`
/// and its id's 20 bytes, in git's order (by name, a folder's name compared as `name/`), which
/// the caller gives them in. `Err` names an id that is not 40 hex digits.
pub(crate) fn git_tree_sha1<'a>(entries: impl IntoIterator<Item = TreeEntry<'a>>) -> Result<String, String> {
    let mut body = Vec::new();
    for e in entries {
        let mut raw = [0u8; 20];
        hex::decode_to_slice(e.oid, &mut raw).map_err(|_| format!("{:?} is not a git object id", e.oid))?;
        body.extend_from_slice(if e.folder { b"40000 " } else { b"100644 " });
        body.extend_from_slice(e.name.as_bytes());
        body.push(0);
        body.extend_from_slice(&raw);
    }
    let mut h = Sha1::new();
    h.update(format!("tree {}\0", body.len()).as_bytes());
    h.update(&body);
    Ok(hex::encode(h.finalize()))
}

/// A 40-hex id from arbitrary parts (commit ids).
pub(crate) fn sha1_hex(parts: &[&[u8]]) -> String {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p);
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_git() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            git_blob_sha1(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        assert_eq!(git_blob_sha1(b""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    }

    #[test]
    fn tree_ids_match_git() {
        // `git hash-object -t tree /dev/null`
        assert_eq!(
            git_tree_sha1([]).unwrap(),
            "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
        );
        // `git write-tree` of a.txt ("hello\n"), a/x ("c"), a0 ("x"): a folder sorts as "a/".
        let file = |name, oid| TreeEntry {
            folder: false,
            name,
            oid,
        };
        let a = [file("x", "3410062ba67c5ed59b854387a8bc0ec012479368")];
        let a_oid = git_tree_sha1(a).unwrap();
        assert_eq!(a_oid, "329975e10186a4e38265b7ecc9c1d924722e3883");
        let root = [
            file("a.txt", "ce013625030ba8dba906f756967f9e9ca394464a"),
            TreeEntry {
                folder: true,
                name: "a",
                oid: &a_oid,
            },
            file("a0", "c1b0730e0133447badcfd47fd144e254807b06e1"),
        ];
        assert_eq!(
            git_tree_sha1(root).unwrap(),
            "ac16cc0edfff843a153090799e12857947b0e6df"
        );
        assert!(git_tree_sha1([file("x", "zz")]).is_err());
    }

    #[test]
    fn pointer_size_matches_hub() {
        let sha = "72bfe19438a3a097d1a1dd1296639fc9b2b6cec8e5d3940ebd18d6dd8840875c";
        assert_eq!(lfs_pointer(sha, 5000).len(), 129);
    }
}
