//! Multipart LFS uploads, written once: each part goes straight to its offset in the object's
//! file, and the completion hashes that file in one sequential pass and renames it into the blob
//! store. No part is stored on its own and nothing is concatenated: the object's bytes are
//! written once and read once.
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

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::blobs::{BlobStore, FLUSH_STEP, Flusher, READ_BUFFER, Sink, TempBlob};
use crate::failpoint;

/// Times a part or a completion opens the object's file again after finding it replaced, before
/// it gives up: each time, another completion or a garbage collection came in between.
const MAX_REOPENS: usize = 8;

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
pub(crate) struct MultipartUpload {
    dir: PathBuf,
}

impl BlobStore {
    /// The multipart upload named `name` (a single path segment that names one object of one
    /// repository), whether or not a part has landed yet.
    pub(crate) fn multipart(&self, name: &str) -> MultipartUpload {
        MultipartUpload {
            dir: self.parts_dir().join(name),
        }
    }
}

impl MultipartUpload {
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

    /// Starts part `number`: `len` bytes at `offset` of the object, which the caller computed
    /// from the signed part number, the object's size and the part size it announced.
    pub(crate) fn part(&self, number: u64, offset: u64, len: u64) -> io::Result<PartWriter> {
        let file = self
            .open_locked(true, false)?
            .ok_or_else(|| io::Error::other("the object's file vanished while it was created"))?;
        Ok(PartWriter {
            file,
            mark: self.dir.join(number.to_string()),
            number,
            offset,
            len,
            written: 0,
            flusher: None,
        })
    }

    /// Completes an upload of `parts` parts: once every part has landed, moves the object's file
    /// out of the upload (whose folder goes), then hashes and flushes it. The caller checks the
    /// size and hash against the object's and commits it ([`BlobStore::commit`]); dropped, the
    /// blob is removed.
    pub(crate) fn complete(&self, store: &BlobStore, parts: u64) -> Result<TempBlob, CompleteError> {
        let file = self
            .open_locked(false, true)?
            .ok_or(CompleteError::MissingPart(1))?;
        if let Some(missing) = (1..=parts).find(|n| !self.dir.join(n.to_string()).is_file()) {
            return Err(CompleteError::MissingPart(missing));
        }
        let mut blob = TempBlob {
            path: store.temp_path("multipart"),
            sha256: String::new(),
            size: 0,
        };
        fs::rename(object_file(&self.dir), &blob.path)?;
        // The parts still waiting for the lock find the file gone; the marks go with the folder.
        self.discard()?;
        file.unlock()?;

        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; READ_BUFFER];
        loop {
            let n = match file.read_at(&mut buf, blob.size) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            hasher.update(&buf[..n]);
            blob.size += n as u64;
        }
        file.sync_all()?;
        blob.sha256 = hex::encode(hasher.finalize());
        Ok(blob)
    }

    /// Removes the upload: its folder and what is in it.
    pub(crate) fn discard(&self) -> io::Result<()> {
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
    number: u64,
    offset: u64,
    len: u64,
    written: u64,
    flusher: Option<Flusher>,
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

    /// Checks that the whole part came, waits for the flusher and marks the part as landed.
    fn finish(self) -> io::Result<()> {
        Flusher::join(self.flusher)?;
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
        Ok(())
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

    /// Writes `bytes` as part `number` at `offset`.
    fn land(upload: &MultipartUpload, number: u64, offset: u64, bytes: &[u8]) -> io::Result<()> {
        let mut part = upload.part(number, offset, bytes.len() as u64)?;
        part.write(bytes)?;
        part.finish()
    }

    #[test]
    fn parts_land_at_their_offsets_and_complete_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let upload = store.multipart("demo");
        land(&upload, 2, 4, b"efg").unwrap();
        assert!(matches!(
            upload.complete(&store, 2),
            Err(CompleteError::MissingPart(1))
        ));
        land(&upload, 1, 0, b"abcd").unwrap();
        let blob = upload.complete(&store, 2).unwrap();
        assert_eq!((blob.size, blob.sha256.as_str()), (7, sha(b"abcdefg").as_str()));
        assert_eq!(fs::read(&blob.path).unwrap(), b"abcdefg");
        assert!(
            !upload.dir.exists(),
            "the upload's folder goes with the completion"
        );
        assert!(matches!(
            upload.complete(&store, 2),
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
        let mut part = upload.part(1, 0, 4).unwrap();
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
            upload.complete(&store, 1),
            Err(CompleteError::MissingPart(1))
        ));
    }

    #[test]
    fn a_completion_waits_for_the_parts_being_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let upload = store.multipart("demo");
        land(&upload, 1, 0, b"abcd").unwrap();
        // The same part again, still being written when the completion comes.
        let mut again = upload.part(1, 0, 4).unwrap();
        thread::scope(|s| {
            let completion = s.spawn(|| upload.complete(&store, 1));
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
        land(&upload, 1, 0, b"abcd").unwrap();
        let path = object_file(&upload.dir);
        // A completion holds the file, then takes it away.
        let held = File::open(&path).unwrap();
        held.lock().unwrap();
        thread::scope(|s| {
            let late = s.spawn(|| land(&upload, 1, 0, b"wxyz"));
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
}
