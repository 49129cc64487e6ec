//! The content-addressed blob store: every file content once, named by its SHA-256.
//!
//! Contents are streamed into a temporary file under `tmp/`, hashed on the way, flushed with
//! `fsync`, then renamed into `blobs/sha256/<2 hex>/<64 hex>` and the folder is synced. A blob
//! is therefore either complete under its name or absent; a crash leaves at most temporary files,
//! which the next start removes.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::failpoint;

/// The blob folder and its temporary area.
#[derive(Debug)]
pub struct BlobStore {
    blobs: PathBuf,
    tmp: PathBuf,
}

/// A file written to the temporary area, hashed, not yet in the store.
#[derive(Debug)]
pub struct TempBlob {
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
}

impl Drop for TempBlob {
    fn drop(&mut self) {
        // Gone already once renamed into the store; otherwise an abandoned upload.
        let _ = fs::remove_file(&self.path);
    }
}

/// Size of the write buffer of a streamed blob.
const WRITE_BUFFER: usize = 1 << 20;

impl BlobStore {
    /// Opens (creating) the store under `root`, and removes what a crash left in `tmp/`.
    pub fn open(root: &Path) -> io::Result<Self> {
        let blobs = root.join("blobs").join("sha256");
        let tmp = root.join("tmp");
        fs::create_dir_all(&blobs)?;
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        fs::create_dir_all(&tmp)?;
        Ok(BlobStore { blobs, tmp })
    }

    /// Where the blob with this SHA-256 lives (whether or not it exists).
    pub fn path(&self, sha256: &str) -> PathBuf {
        self.blobs.join(&sha256[..2]).join(sha256)
    }

    pub fn exists(&self, sha256: &str) -> bool {
        self.path(sha256).is_file()
    }

    /// A new, uniquely named file in the temporary area.
    pub fn temp_path(&self, hint: &str) -> PathBuf {
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).expect("the operating system's random source failed");
        self.tmp.join(format!("{hint}.{}", hex::encode(nonce)))
    }

    /// Streams `reader` into a temporary blob, hashing as it goes. `expected_size` (when known)
    /// is used only for the crash-injection point halfway through.
    pub fn write_temp(&self, reader: &mut dyn Read, expected_size: Option<u64>) -> io::Result<TempBlob> {
        let path = self.temp_path("upload");
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, File::create(&path)?);
        // The guard removes the file if anything below fails.
        let mut blob = TempBlob {
            path,
            sha256: String::new(),
            size: 0,
        };
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; WRITE_BUFFER];
        let mut size = 0u64;
        let halfway = expected_size.filter(|s| *s > 1).map(|s| s / 2);
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])?;
            let before = size;
            size += n as u64;
            if halfway.is_some_and(|h| before < h && size >= h) {
                out.flush()?;
                failpoint::hit(failpoint::Point::LfsUploadHalfway);
            }
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        blob.sha256 = hex::encode(hasher.finalize());
        blob.size = size;
        Ok(blob)
    }

    /// Writes a small content (held in memory already) into the store; returns its SHA-256.
    pub fn put_bytes(&self, content: &[u8]) -> io::Result<String> {
        let temp = self.write_temp(&mut &content[..], None)?;
        let sha = temp.sha256.clone();
        self.commit(temp)?;
        Ok(sha)
    }

    /// Moves a verified temporary blob into the store under its hash.
    pub fn commit(&self, temp: TempBlob) -> io::Result<()> {
        let dest = self.path(&temp.sha256);
        if dest.is_file() {
            return Ok(()); // same content already stored; `temp` is removed on drop
        }
        let dir = dest.parent().expect("blob paths have a parent");
        if !dir.is_dir() {
            // A new fan-out folder must itself survive a power cut, or the blob renamed into it
            // would vanish with it while the database names it.
            fs::create_dir_all(dir)?;
            File::open(&self.blobs)?.sync_all()?;
        }
        failpoint::hit(failpoint::Point::LfsBeforeRename);
        fs::rename(&temp.path, &dest)?;
        File::open(dir)?.sync_all()?;
        Ok(())
    }

    /// Concatenates part files, in order, into one temporary blob.
    pub fn concat_temp(&self, parts: &[PathBuf]) -> io::Result<TempBlob> {
        let files: io::Result<Vec<File>> = parts.iter().map(File::open).collect();
        let mut chain: Box<dyn Read> = Box::new(io::empty());
        for f in files? {
            chain = Box::new(chain.chain(f));
        }
        self.write_temp(&mut chain, None)
    }

    /// The folder that holds the parts of multipart uploads.
    pub fn parts_dir(&self) -> PathBuf {
        self.tmp.join("parts")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_by_hash_and_cleans_temp() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let sha = store.put_bytes(b"hello\n").unwrap();
        assert_eq!(
            sha,
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        );
        assert_eq!(fs::read(store.path(&sha)).unwrap(), b"hello\n");
        // The same content again is a no-op, and no temporary file is left behind.
        store.put_bytes(b"hello\n").unwrap();
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
        // A leftover temporary file disappears on the next open.
        fs::write(store.temp_path("crash"), b"partial").unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
        assert!(store.exists(&sha));
    }
}
