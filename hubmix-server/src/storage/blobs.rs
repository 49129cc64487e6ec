//! The content-addressed blob store: every file content once, named by its SHA-256.
//!
//! Contents are streamed into a temporary file under `tmp/`, hashed on the way, flushed with
//! `fsync`, then renamed into `blobs/sha256/<2 hex>/<64 hex>` and the folder is synced. A blob
//! is therefore either complete under its name or absent; a crash leaves at most temporary files,
//! which the next start removes. Storing a content that is there already touches the blob's
//! modification time, which garbage collection ([`super::gc`]) reads as "in use lately".

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, SyncSender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::multipart;
use crate::failpoint;

/// The blob folder and its temporary area.
#[derive(Debug)]
pub(crate) struct BlobStore {
    blobs: PathBuf,
    tmp: PathBuf,
}

/// A file written to the temporary area, hashed, not yet in the store.
#[derive(Debug)]
pub(crate) struct TempBlob {
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

/// Size of the reads of [`BlobStore::write_temp`] and of a multipart upload's hashing pass.
pub(super) const READ_BUFFER: usize = 1 << 20;

/// Bytes written to a [`BlobWriter`] (or a multipart upload's part) between two wake-ups of its
/// flusher thread.
pub(super) const FLUSH_STEP: u64 = 32 << 20;

/// Where an upload's bytes are streamed as they come: a whole blob ([`BlobWriter`]), or a part of
/// a multipart upload ([`super::multipart::PartWriter`]).
pub(crate) trait Sink {
    /// What the finished sink gives.
    type Done;
    /// Writes the next bytes.
    fn write(&mut self, chunk: &[u8]) -> io::Result<()>;
    /// Ends the bytes; the sink checks they are whole, if it knows how many to expect.
    fn finish(self) -> io::Result<Self::Done>;
}

/// A blob being streamed into the temporary area, hashed as it is written.
///
/// Chunks are written as they come, without a copy into a buffer of its own. Once the blob passes
/// [`FLUSH_STEP`] bytes, a helper thread flushes the file to disk (`fdatasync`) as it grows, so
/// that the disk writes overlap with receiving and hashing, and the `fsync` of
/// [`finish`](Self::finish) has little left to do. (The kernel alone would start writing only once
/// gigabytes are dirty, and the final `fsync` would then wait for the whole file.)
#[derive(Debug)]
pub(crate) struct BlobWriter {
    file: File,
    hasher: Sha256,
    blob: TempBlob,
    /// Where the crash-injection point is, if the size is known.
    halfway: Option<u64>,
    flusher: Option<Flusher>,
}

/// The thread that flushes a file as it is written (a [`BlobWriter`]'s, or a multipart upload's),
/// woken every [`FLUSH_STEP`] bytes.
#[derive(Debug)]
pub(super) struct Flusher {
    wake: SyncSender<()>,
    thread: JoinHandle<io::Result<()>>,
}

impl Flusher {
    /// Wakes the flusher of `file` in `slot` (started on first use) to write what the file has
    /// so far.
    pub(super) fn wake(slot: &mut Option<Flusher>, file: &File) -> io::Result<()> {
        let flusher = match slot {
            Some(f) => f,
            None => {
                let file = file.try_clone()?;
                let (wake, woken) = mpsc::sync_channel::<()>(1);
                let thread = thread::Builder::new()
                    .name("blob-flusher".into())
                    .spawn(move || woken.iter().try_for_each(|()| file.sync_data()))?;
                slot.insert(Flusher { wake, thread })
            }
        };
        // Full: a flush is pending already, and it will write these bytes too.
        let _ = flusher.wake.try_send(());
        Ok(())
    }

    /// Waits for the flusher in `slot`, if it was started, and returns its error: the file
    /// descriptor is shared, so a later `fsync` would not report it again.
    pub(super) fn join(slot: Option<Flusher>) -> io::Result<()> {
        let Some(Flusher { wake, thread }) = slot else {
            return Ok(());
        };
        drop(wake);
        thread
            .join()
            .map_err(|_| io::Error::other("the flusher thread panicked"))?
    }
}

impl Sink for BlobWriter {
    type Done = TempBlob;

    /// Hashes and writes the next bytes.
    fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.hasher.update(chunk);
        self.file.write_all(chunk)?;
        let before = self.blob.size;
        self.blob.size += chunk.len() as u64;
        if self.halfway.is_some_and(|h| before < h && self.blob.size >= h) {
            failpoint::hit(failpoint::Point::LfsUploadHalfway);
        }
        if before / FLUSH_STEP < self.blob.size / FLUSH_STEP {
            Flusher::wake(&mut self.flusher, &self.file)?;
        }
        Ok(())
    }

    /// Waits for the flusher (its errors are this blob's), syncs the file and returns the blob.
    fn finish(self) -> io::Result<TempBlob> {
        let BlobWriter {
            file,
            hasher,
            mut blob,
            flusher,
            ..
        } = self;
        Flusher::join(flusher)?;
        file.sync_all()?;
        blob.sha256 = hex::encode(hasher.finalize());
        Ok(blob)
    }
}

impl BlobStore {
    /// Opens (creating) the store under `root`.
    pub(crate) fn open(root: &Path) -> io::Result<Self> {
        let blobs = root.join("blobs").join("sha256");
        let tmp = root.join("tmp");
        fs::create_dir_all(&blobs)?;
        fs::create_dir_all(&tmp)?;
        Ok(BlobStore { blobs, tmp })
    }

    /// Removes everything in `tmp/`: what a crash left (call it before serving, never beside a
    /// server that uses the store).
    pub(crate) fn clear_temp(&self) -> io::Result<()> {
        fs::remove_dir_all(&self.tmp)?;
        fs::create_dir_all(&self.tmp)
    }

    /// Where the blob with this SHA-256 lives (whether or not it exists).
    pub(crate) fn path(&self, sha256: &str) -> PathBuf {
        self.blobs.join(&sha256[..2]).join(sha256)
    }

    pub(crate) fn exists(&self, sha256: &str) -> bool {
        self.path(sha256).is_file()
    }

    /// A new, uniquely named file in the temporary area.
    pub(crate) fn temp_path(&self, hint: &str) -> PathBuf {
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).expect("the operating system's random source failed");
        self.tmp.join(format!("{hint}.{}", hex::encode(nonce)))
    }

    /// Starts a blob in the temporary area, to be written chunk by chunk. `expected_size` (when
    /// known) is used only for the crash-injection point halfway through.
    pub(crate) fn writer(&self, expected_size: Option<u64>) -> io::Result<BlobWriter> {
        let path = self.temp_path("upload");
        let file = File::create(&path)?;
        Ok(BlobWriter {
            file,
            hasher: Sha256::new(),
            // The guard removes the file unless the blob is finished and committed.
            blob: TempBlob {
                path,
                sha256: String::new(),
                size: 0,
            },
            halfway: expected_size.filter(|s| *s > 1).map(|s| s / 2),
            flusher: None,
        })
    }

    /// Streams `reader` into a temporary blob, hashing as it goes (see [`Self::writer`]).
    fn write_temp(&self, reader: &mut dyn Read, expected_size: Option<u64>) -> io::Result<TempBlob> {
        let mut writer = self.writer(expected_size)?;
        let mut buf = vec![0u8; READ_BUFFER];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => writer.write(&buf[..n])?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        writer.finish()
    }

    /// Writes a small content (held in memory already) into the store; returns its SHA-256.
    pub(crate) fn put_bytes(&self, content: &[u8]) -> io::Result<String> {
        let temp = self.write_temp(&mut &content[..], None)?;
        let sha = temp.sha256.clone();
        self.commit(temp)?;
        Ok(sha)
    }

    /// Moves a verified temporary blob into the store under its hash.
    pub(crate) fn commit(&self, temp: TempBlob) -> io::Result<()> {
        let dest = self.path(&temp.sha256);
        if dest.is_file() {
            // Same content already stored (`temp` is removed on drop): it is in use again.
            return File::open(&dest)?.set_modified(SystemTime::now());
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

    /// The folder that holds the multipart uploads in progress, a folder each
    /// ([`super::multipart`]).
    pub(crate) fn parts_dir(&self) -> PathBuf {
        self.tmp.join("parts")
    }

    /// The folders of multipart uploads that no part has landed in, and no byte been written
    /// to, for `age`: uploads that were given up (a completed one removes its folder).
    pub(crate) fn abandoned_parts(&self, age: Duration) -> io::Result<Vec<PathBuf>> {
        let entries = match fs::read_dir(self.parts_dir()) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut abandoned = Vec::new();
        for entry in entries {
            let entry = entry?;
            // A part that lands adds its mark to the folder; one being written changes the
            // object's file.
            let written = match fs::metadata(multipart::object_file(&entry.path())) {
                Ok(meta) => idle_for(&meta),
                Err(e) if e.kind() == io::ErrorKind::NotFound => age,
                Err(e) => return Err(e),
            };
            if idle_for(&entry.metadata()?).min(written) >= age {
                abandoned.push(entry.path());
            }
        }
        Ok(abandoned)
    }

    /// The names (SHA-256) of the blobs in the store, in order. The names are read one fan-out
    /// folder at a time, so a walk over millions of blobs holds a 256th of them.
    pub(crate) fn names(&self) -> io::Result<BlobNames> {
        let mut folders: Vec<PathBuf> = fs::read_dir(&self.blobs)?
            .map(|e| e.map(|e| e.path()))
            .collect::<io::Result<_>>()?;
        folders.retain(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(is_fanout));
        folders.sort();
        Ok(BlobNames {
            folders: folders.into_iter(),
            names: Vec::new().into_iter(),
        })
    }
}

/// How long ago a file was last modified (zero if it is in the future).
pub(crate) fn idle_for(meta: &fs::Metadata) -> Duration {
    meta.modified()
        .ok()
        .and_then(|m| m.elapsed().ok())
        .unwrap_or_default()
}

/// Whether `name` is a fan-out folder's: two lowercase hex digits.
fn is_fanout(name: &str) -> bool {
    name.len() == 2 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The names of the blobs in the store, in order ([`BlobStore::names`]). Files that are not
/// blobs (not 64 lowercase hex under their fan-out folder) are left out.
#[derive(Debug)]
pub(crate) struct BlobNames {
    folders: std::vec::IntoIter<PathBuf>,
    names: std::vec::IntoIter<String>,
}

impl Iterator for BlobNames {
    type Item = io::Result<String>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(name) = self.names.next() {
                return Some(Ok(name));
            }
            let folder = self.folders.next()?;
            let prefix = folder.file_name()?.to_str()?.to_owned();
            let entries = match fs::read_dir(&folder) {
                Ok(entries) => entries,
                Err(e) => return Some(Err(e)),
            };
            let mut names = Vec::new();
            for entry in entries {
                let name = match entry {
                    Ok(entry) => entry.file_name(),
                    Err(e) => return Some(Err(e)),
                };
                if let Some(name) = name.to_str()
                    && name.len() == 64
                    && name.starts_with(&prefix)
                    && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                {
                    names.push(name.to_owned());
                }
            }
            names.sort();
            self.names = names.into_iter();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

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
        // A leftover temporary file stays when the store is opened (beside a server, maybe), and
        // goes when the temporary area is cleared (before serving).
        fs::write(store.temp_path("crash"), b"partial").unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 1);
        store.clear_temp().unwrap();
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
        assert!(store.exists(&sha));
    }

    #[test]
    fn abandoned_multipart_parts_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let day = Duration::from_secs(24 * 3600);
        assert!(
            store.abandoned_parts(day).unwrap().is_empty(),
            "no parts folder yet"
        );
        let old = store.parts_dir().join("1-old");
        let fresh = store.parts_dir().join("1-fresh");
        for folder in [&old, &fresh] {
            fs::create_dir_all(folder).unwrap();
            fs::write(folder.join("1"), b"part").unwrap();
        }
        let two_days_ago = SystemTime::now() - 2 * day;
        File::open(&old).unwrap().set_modified(two_days_ago).unwrap();
        assert_eq!(store.abandoned_parts(day).unwrap(), std::slice::from_ref(&old));
        assert_eq!(store.abandoned_parts(Duration::ZERO).unwrap().len(), 2);
        // No part landed for two days, but one is being written: not abandoned.
        fs::write(multipart::object_file(&old), b"part being written").unwrap();
        File::open(&old).unwrap().set_modified(two_days_ago).unwrap();
        assert!(store.abandoned_parts(day).unwrap().is_empty());
        File::open(multipart::object_file(&old))
            .unwrap()
            .set_modified(two_days_ago)
            .unwrap();
        assert_eq!(store.abandoned_parts(day).unwrap(), [old]);
    }

    #[test]
    fn names_are_listed_in_order_and_reuse_touches_the_blob() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let mut stored: Vec<(String, u8)> = (0..40u8).map(|i| (store.put_bytes(&[i]).unwrap(), i)).collect();
        stored.sort();
        // Not blobs: left out.
        fs::write(dir.path().join("blobs/sha256/README"), b"x").unwrap();
        fs::write(store.path(&stored[0].0).with_file_name("partial"), b"x").unwrap();
        let names: Vec<String> = store.names().unwrap().collect::<io::Result<_>>().unwrap();
        let shas: Vec<String> = stored.iter().map(|(sha, _)| sha.clone()).collect();
        assert_eq!(names, shas);

        let (sha, byte) = &stored[1];
        let long_ago = SystemTime::now() - Duration::from_secs(3600);
        File::open(store.path(sha))
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        let meta = || fs::metadata(store.path(sha)).unwrap();
        assert!(idle_for(&meta()) >= Duration::from_secs(3600));
        store.put_bytes(&[*byte]).unwrap();
        assert!(
            idle_for(&meta()) < Duration::from_secs(60),
            "stored again: touched"
        );
    }

    #[test]
    fn large_blob_is_flushed_as_it_grows() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let total = 2 * FLUSH_STEP + 1;
        let chunk: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
        let mut writer = store.writer(Some(total)).unwrap();
        let mut expected = Sha256::new();
        let mut written = 0;
        while written < total {
            let n = (total - written).min(chunk.len() as u64) as usize;
            writer.write(&chunk[..n]).unwrap();
            expected.update(&chunk[..n]);
            written += n as u64;
        }
        assert!(writer.flusher.is_some());
        let temp = writer.finish().unwrap();
        assert_eq!(
            (temp.size, temp.sha256.as_str()),
            (total, hex::encode(expected.finalize()).as_str())
        );
        assert_eq!(fs::metadata(&temp.path).unwrap().len(), total);
    }
}
