//! Multipart LFS uploads, written once: each part goes straight to its offset in the object's
//! file, and the object is hashed in part order as the parts land; the completion hashes what is
//! left and renames the file into the blob store. No part is stored on its own and nothing is
//! concatenated: the object's bytes are written once and read once.
//!
//! Hashing in order ([`Hashing`]): once part N has landed and parts 1..N-1 are hashed, the part
//! that lands it reads it back (from the page cache) into the upload's hash, then any later parts
//! that landed meanwhile. So the hashing overlaps the receiving, and a completion after the last
//! part has little left to hash. A part is hashed only while no request is writing it, and a
//! request that starts writing a part already hashed spoils the upload's hash: the completion then
//! hashes the whole file in one pass, as it does for an upload this process has no hash of (the
//! server restarted, or too many uploads at once). So the hash is always of the bytes the file
//! holds.
//!
//! An upload lives in a folder of its own under [`BlobStore::parts_dir`]: the object's file
//! ([`object_file`]), which grows as parts land and never past the end of the last part the
//! batch answer announced, and an empty mark per part that has landed whole, named by its number.
//! The part number, offset and length come from the signed transfer URL, so a request cannot
//! choose where it writes.
//!
//! Concurrency, through advisory locks (`flock`) on the object's file: a part holds a shared lock
//! while it writes (the parts of one upload write side by side), and the completion takes the
//! exclusive lock to check the marks and move the file out of the folder, to a name of its own;
//! it then hashes it there, where no part can reach it. So the bytes it hashes are the bytes it
//! stores. A part that finds, once it holds its lock, that the object's file is no longer the one
//! it opened (the completion took it, or garbage collection removed the folder) opens it again: a
//! new upload. A part that arrives twice is written twice at the same place, and one that fails
//! half-way leaves its mark as it was: if the bytes differ from the object's, the completion's
//! hash does not match and the upload is refused whole.
//!
//! Crash safety: nothing reaches the blob store but through [`BlobStore::commit`] of a file that
//! was hashed and flushed; the temporary area, uploads in progress included, is cleared when the
//! server starts, so a restart discards the uploads it interrupted (the client uploads again).
//! Garbage collection removes the folders of uploads given up while the server runs
//! ([`BlobStore::abandoned_parts`]).

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use sha2::{Digest, Sha256};

use super::blobs::{BlobStore, FLUSH_STEP, Flusher, READ_BUFFER, Sink, TempBlob};
use crate::failpoint;

/// Times a part or a completion opens the object's file again after finding it replaced, before
/// it gives up: each time, another completion or a garbage collection came in between.
const MAX_REOPENS: usize = 8;

/// Uploads whose hash in part order this process keeps at most: beyond, new uploads are hashed
/// in one pass at completion (a few hundred bytes each; the entries of uploads given up are
/// dropped when the table is full).
const MAX_HASHED_UPLOADS: usize = 4096;

/// The hashes in part order of the multipart uploads in progress, by upload name.
#[derive(Debug, Default)]
pub(crate) struct Hashing(Mutex<HashMap<String, Arc<Mutex<Progress>>>>);

/// How far an upload is hashed.
#[derive(Debug, Clone)]
struct Progress {
    /// The object's file hashed (device and inode).
    object: (u64, u64),
    hasher: Sha256,
    /// The next part to hash: parts `1..next` are hashed.
    next: u64,
    /// Requests writing each part now.
    writing: HashMap<u64, usize>,
    /// A part was written again after it was hashed: only a whole pass can be trusted.
    spoiled: bool,
}

/// Locks a mutex; a panic elsewhere while it was held leaves a state that is still consistent
/// (at worst spoiled), so a poisoned lock is taken as it is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Hashing {
    /// The progress of upload `name`, whose object's file is `object` (device and inode), made
    /// if needed: an entry left by an earlier upload of the same name (removed without a
    /// completion: discarded, or collected by another process) is of another file, and replaced.
    /// `None` when the table is full.
    fn progress(&self, name: &str, object: (u64, u64), parts_dir: &Path) -> Option<Arc<Mutex<Progress>>> {
        let mut table = lock(&self.0);
        if !table.contains_key(name) && table.len() >= MAX_HASHED_UPLOADS {
            table.retain(|upload, _| parts_dir.join(upload).is_dir());
            if table.len() >= MAX_HASHED_UPLOADS {
                return None;
            }
        }
        let fresh = || {
            Arc::new(Mutex::new(Progress {
                object,
                hasher: Sha256::new(),
                next: 1,
                writing: HashMap::new(),
                spoiled: false,
            }))
        };
        let progress = table.entry(name.to_owned()).or_insert_with(fresh);
        if lock(progress).object != object {
            *progress = fresh();
        }
        Some(Arc::clone(progress))
    }

    /// Forgets upload `name`, returning its progress.
    fn take(&self, name: &str) -> Option<Arc<Mutex<Progress>>> {
        lock(&self.0).remove(name)
    }
}

/// The shape of an upload: its size and part size, hence each part's place.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    pub size: u64,
    pub part_size: u64,
}

impl Layout {
    /// The number of parts.
    pub(crate) fn parts(&self) -> u64 {
        self.size.div_ceil(self.part_size)
    }

    /// Where part `number` (1-based, at most [`parts`](Self::parts)) lies: offset and length.
    pub(crate) fn part(&self, number: u64) -> (u64, u64) {
        let offset = (number - 1) * self.part_size;
        (offset, self.part_size.min(self.size - offset))
    }
}

/// Reads `len` bytes of `file` at `offset` into `hasher`.
fn hash_range(file: &File, hasher: &mut Sha256, offset: u64, len: u64) -> io::Result<()> {
    let mut buf = vec![0u8; READ_BUFFER.min(len as usize).max(1)];
    let mut done = 0;
    while done < len {
        let want = buf.len().min((len - done) as usize);
        match file.read_at(&mut buf[..want], offset + done) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                hasher.update(&buf[..n]);
                done += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The object's file in the folder of an upload.
pub(super) fn object_file(upload: &Path) -> PathBuf {
    upload.join("object")
}

/// Why a multipart upload could not be completed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CompleteError {
    /// A part has not landed whole (never sent, or its upload failed).
    #[error("part {0} was not uploaded: upload it, then complete the upload again")]
    MissingPart(u64),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// One multipart upload in progress: its folder under [`BlobStore::parts_dir`].
#[derive(Debug)]
pub(crate) struct MultipartUpload<'a> {
    name: String,
    dir: PathBuf,
    store: &'a BlobStore,
}

impl BlobStore {
    /// The multipart upload named `name` (a single path segment that names one object of one
    /// repository), whether or not a part has landed yet.
    pub(crate) fn multipart(&self, name: &str) -> MultipartUpload<'_> {
        MultipartUpload {
            name: name.to_owned(),
            dir: self.parts_dir().join(name),
            store: self,
        }
    }
}

impl MultipartUpload<'_> {
    /// Opens the object's file (creating the upload when `create`), locked shared or
    /// exclusive, and makes sure it is still the upload's once locked. `None`: there is no
    /// such file (and `create` was not asked).
    fn open_locked(&self, create: bool, exclusive: bool) -> io::Result<Option<File>> {
        let path = object_file(&self.dir);
        for _ in 0..MAX_REOPENS {
            if create {
                fs::create_dir_all(&self.dir)?;
            }
            let file = match OpenOptions::new()
                .read(true)
                .write(true)
                .create(create)
                .truncate(false)
                .open(&path)
            {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::NotFound && !create => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if exclusive {
                file.lock()?;
            } else {
                file.lock_shared()?;
            }
            let opened = file.metadata()?;
            match fs::metadata(&path) {
                Ok(now) if now.dev() == opened.dev() && now.ino() == opened.ino() => return Ok(Some(file)),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound && !create => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other(format!(
            "the multipart upload {} was completed or removed {MAX_REOPENS} times while a part was opening it",
            self.dir.display()
        )))
    }

    /// Starts part `number` (at most `layout.parts()`) of an upload shaped `layout`, which the
    /// caller took from the signed URL.
    pub(crate) fn part(&self, number: u64, layout: Layout) -> io::Result<PartWriter> {
        let (offset, len) = layout.part(number);
        let file = self
            .open_locked(true, false)?
            .ok_or_else(|| io::Error::other("the object's file vanished while it was created"))?;
        // Registered under the shared lock, so for the file this part writes into.
        let meta = file.metadata()?;
        let progress =
            self.store
                .hashing
                .progress(&self.name, (meta.dev(), meta.ino()), &self.store.parts_dir());
        if let Some(progress) = &progress {
            let mut p = lock(progress);
            if number < p.next {
                p.spoiled = true;
            }
            *p.writing.entry(number).or_default() += 1;
        }
        Ok(PartWriter {
            file,
            mark: self.dir.join(number.to_string()),
            dir: self.dir.clone(),
            number,
            layout,
            offset,
            len,
            written: 0,
            flusher: None,
            progress,
        })
    }

    /// Completes an upload shaped `layout`: once every part has landed, moves the object's file
    /// out of the upload (whose folder goes), hashes what the parts have not hashed yet (all of
    /// it when this process has no trustworthy hash of the upload) and flushes it. The caller
    /// checks the size and hash against the object's and commits it ([`BlobStore::commit`]);
    /// dropped, the blob is removed.
    pub(crate) fn complete(&self, layout: Layout) -> Result<TempBlob, CompleteError> {
        let file = self
            .open_locked(false, true)?
            .ok_or(CompleteError::MissingPart(1))?;
        let parts = layout.parts();
        if let Some(missing) = (1..=parts).find(|n| !self.dir.join(n.to_string()).is_file()) {
            return Err(CompleteError::MissingPart(missing));
        }
        let mut blob = TempBlob {
            path: self.store.temp_path("multipart"),
            sha256: String::new(),
            size: 0,
        };
        let meta = file.metadata()?;
        if meta.len() != layout.size {
            return Err(CompleteError::Io(io::Error::other(format!(
                "the object's file has {} bytes where its parts make {}",
                meta.len(),
                layout.size
            ))));
        }
        // No part writes now (this lock is exclusive): the hash so far is of the file's bytes
        // unless a hashed part was written again.
        let progress = self
            .store
            .hashing
            .take(&self.name)
            .map(|p| lock(&p).clone())
            .filter(|p| !p.spoiled && p.object == (meta.dev(), meta.ino()));
        fs::rename(object_file(&self.dir), &blob.path)?;
        // The parts still waiting for the lock find the file gone; the marks go with the folder.
        self.discard()?;
        file.unlock()?;

        let (mut hasher, next) = match progress {
            Some(p) => (p.hasher, p.next),
            None => (Sha256::new(), 1),
        };
        for number in next..=parts {
            let (offset, len) = layout.part(number);
            hash_range(&file, &mut hasher, offset, len)?;
        }
        blob.size = layout.size;
        file.sync_all()?;
        blob.sha256 = hex::encode(hasher.finalize());
        Ok(blob)
    }

    /// Removes the upload: its folder and what is in it, and its hash.
    pub(crate) fn discard(&self) -> io::Result<()> {
        self.store.hashing.take(&self.name);
        match fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// One part being written at its offset in the object's file, under the upload's shared lock
/// (released when it is dropped).
#[derive(Debug)]
pub(crate) struct PartWriter {
    file: File,
    /// The part's mark, made once the part has landed whole.
    mark: PathBuf,
    /// The upload's folder (where the other parts' marks are).
    dir: PathBuf,
    number: u64,
    layout: Layout,
    offset: u64,
    len: u64,
    written: u64,
    flusher: Option<Flusher>,
    /// The upload's hash, where this part is counted among those being written until it is
    /// finished or dropped.
    progress: Option<Arc<Mutex<Progress>>>,
}

impl PartWriter {
    /// Counts this part as no longer being written, and, when `landed`, hashes the parts that
    /// are next in order and landed, this one among them.
    fn leave(&mut self, landed: bool) -> io::Result<()> {
        let Some(progress) = self.progress.take() else {
            return Ok(());
        };
        let mut p = lock(&progress);
        if let Some(count) = p.writing.get_mut(&self.number) {
            *count -= 1;
            if *count == 0 {
                p.writing.remove(&self.number);
            }
        }
        if !landed || p.spoiled {
            return Ok(());
        }
        let parts = self.layout.parts();
        while p.next <= parts
            && !p.writing.contains_key(&p.next)
            && self.dir.join(p.next.to_string()).is_file()
        {
            let (offset, len) = self.layout.part(p.next);
            let progress = &mut *p;
            if let Err(e) = hash_range(&self.file, &mut progress.hasher, offset, len) {
                // The completion hashes the whole file instead.
                p.spoiled = true;
                return Err(e);
            }
            p.next += 1;
        }
        Ok(())
    }
}

impl Drop for PartWriter {
    fn drop(&mut self) {
        let _ = self.leave(false);
    }
}

impl Sink for PartWriter {
    type Done = ();

    /// Writes the part's next bytes; more than its length is refused, before anything is
    /// written.
    fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        let before = self.written;
        let after = before
            .checked_add(chunk.len() as u64)
            .filter(|end| *end <= self.len)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("part {} has more than its {} bytes", self.number, self.len),
                )
            })?;
        self.file.write_all_at(chunk, self.offset + before)?;
        self.written = after;
        let half = self.len / 2;
        if self.len > 1 && before < half && after >= half {
            failpoint::hit(failpoint::Point::LfsUploadHalfway);
        }
        if before / FLUSH_STEP < after / FLUSH_STEP {
            Flusher::wake(&mut self.flusher, &self.file)?;
        }
        Ok(())
    }

    /// Checks that the whole part came, waits for the flusher, marks the part as landed and
    /// hashes it if it is next in order (with the landed parts after it).
    fn finish(mut self) -> io::Result<()> {
        Flusher::join(self.flusher.take())?;
        if self.written != self.len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "part {} has {} bytes: expected {}",
                    self.number, self.written, self.len
                ),
            ));
        }
        File::create(&self.mark)?;
        self.leave(true)
    }
}

#[cfg(test)]
mod tests {
    use std::thread;
    use std::time::Duration;

    use super::*;

    fn sha(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    /// Seven bytes in parts of four.
    const SEVEN: Layout = Layout {
        size: 7,
        part_size: 4,
    };
    /// Four bytes in one part.
    const FOUR: Layout = Layout {
        size: 4,
        part_size: 4,
    };

    /// Writes `bytes` as part `number` of an upload shaped `layout`.
    fn land(upload: &MultipartUpload, number: u64, layout: Layout, bytes: &[u8]) -> io::Result<()> {
        let mut part = upload.part(number, layout)?;
        part.write(bytes)?;
        part.finish()
    }

    #[test]
    fn parts_land_at_their_offsets_and_complete_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let upload = store.multipart("demo");
        land(&upload, 2, SEVEN, b"efg").unwrap();
        assert!(matches!(
            upload.complete(SEVEN),
            Err(CompleteError::MissingPart(1))
        ));
        land(&upload, 1, SEVEN, b"abcd").unwrap();
        let blob = upload.complete(SEVEN).unwrap();
        assert_eq!((blob.size, blob.sha256.as_str()), (7, sha(b"abcdefg").as_str()));
        assert_eq!(fs::read(&blob.path).unwrap(), b"abcdefg");
        assert!(
            !upload.dir.exists(),
            "the upload's folder goes with the completion"
        );
        assert!(matches!(
            upload.complete(SEVEN),
            Err(CompleteError::MissingPart(1))
        ));
        drop(blob);
        assert_eq!(fs::read_dir(dir.path().join("tmp/parts")).unwrap().count(), 0);
    }

    #[test]
    fn a_part_never_writes_past_its_length() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let upload = store.multipart("demo");
        let mut part = upload.part(1, FOUR).unwrap();
        part.write(b"abc").unwrap();
        let error = part.write(b"de").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        let error = part.finish().unwrap_err();
        assert!(
            error.to_string().contains("part 1 has 3 bytes: expected 4"),
            "{error}"
        );
        assert_eq!(fs::read(object_file(&upload.dir)).unwrap(), b"abc");
        assert!(matches!(
            upload.complete(FOUR),
            Err(CompleteError::MissingPart(1))
        ));
    }

    #[test]
    fn a_completion_waits_for_the_parts_being_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let upload = store.multipart("demo");
        land(&upload, 1, FOUR, b"abcd").unwrap();
        // The same part again, still being written when the completion comes.
        let mut again = upload.part(1, FOUR).unwrap();
        thread::scope(|s| {
            let completion = s.spawn(|| upload.complete(FOUR));
            thread::sleep(Duration::from_millis(200));
            assert!(!completion.is_finished(), "the completion did not wait");
            again.write(b"wxyz").unwrap();
            again.finish().unwrap();
            let blob = completion.join().unwrap().unwrap();
            assert_eq!(blob.sha256, sha(b"wxyz"));
            assert_eq!(fs::read(&blob.path).unwrap(), b"wxyz");
        });
    }

    #[test]
    fn a_part_that_waited_for_a_completion_starts_a_new_upload() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let upload = store.multipart("demo");
        land(&upload, 1, FOUR, b"abcd").unwrap();
        let path = object_file(&upload.dir);
        // A completion holds the file, then takes it away.
        let held = File::open(&path).unwrap();
        held.lock().unwrap();
        thread::scope(|s| {
            let late = s.spawn(|| land(&upload, 1, FOUR, b"wxyz"));
            thread::sleep(Duration::from_millis(200));
            let taken = dir.path().join("taken");
            fs::rename(&path, &taken).unwrap();
            // And another part starts the next upload before the late one has its lock.
            File::create(&path).unwrap();
            held.unlock().unwrap();
            late.join().unwrap().unwrap();
            assert_eq!(
                fs::read(&taken).unwrap(),
                b"abcd",
                "the late part wrote into the taken file"
            );
        });
        assert_eq!(fs::read(&path).unwrap(), b"wxyz");
    }

    /// The next part the upload's hash waits for, if this process hashes it.
    fn next_to_hash(store: &BlobStore, name: &str) -> Option<u64> {
        lock(&store.hashing.0).get(name).map(|p| lock(p).next)
    }

    #[test]
    fn parts_are_hashed_in_order_as_they_land() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let upload = store.multipart("demo");
        land(&upload, 2, SEVEN, b"efg").unwrap();
        assert_eq!(next_to_hash(&store, "demo"), Some(1), "part 2 waits for part 1");
        land(&upload, 1, SEVEN, b"abcd").unwrap();
        assert_eq!(next_to_hash(&store, "demo"), Some(3), "part 1 then part 2 hashed");
        let blob = upload.complete(SEVEN).unwrap();
        assert_eq!(blob.sha256, sha(b"abcdefg"));
        assert_eq!(next_to_hash(&store, "demo"), None, "the completion forgets the upload");
    }

    #[test]
    fn a_hashed_part_written_again_makes_the_completion_hash_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let upload = store.multipart("demo");
        land(&upload, 1, SEVEN, b"abcd").unwrap();
        assert_eq!(next_to_hash(&store, "demo"), Some(2));
        // Sent again with other bytes (a client's retry gone wrong, or a crafted request).
        land(&upload, 1, SEVEN, b"wxyz").unwrap();
        land(&upload, 2, SEVEN, b"efg").unwrap();
        let blob = upload.complete(SEVEN).unwrap();
        assert_eq!(fs::read(&blob.path).unwrap(), b"wxyzefg");
        assert_eq!(blob.sha256, sha(b"wxyzefg"), "the hash must be of the bytes stored");
    }

    #[test]
    fn a_hash_left_by_an_upload_removed_elsewhere_is_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let upload = store.multipart("demo");
        land(&upload, 1, SEVEN, b"abcd").unwrap();
        // Garbage collection in another process removes the folder; this process still has
        // the upload's hash.
        fs::remove_dir_all(&upload.dir).unwrap();
        land(&upload, 2, SEVEN, b"efg").unwrap();
        land(&upload, 1, SEVEN, b"ABCD").unwrap();
        let blob = upload.complete(SEVEN).unwrap();
        assert_eq!(blob.sha256, sha(b"ABCDefg"));
    }
}
