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

/// A 40-hex id from arbitrary parts (commit ids, folder ids).
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
    fn pointer_size_matches_hub() {
        let sha = "72bfe19438a3a097d1a1dd1296639fc9b2b6cec8e5d3940ebd18d6dd8840875c";
        assert_eq!(lfs_pointer(sha, 5000).len(), 129);
    }
}
