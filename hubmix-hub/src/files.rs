//! Local file helpers the layers above share: atomic writes ([`AtomicFile`], [`write_atomic`])
//! at page-cache speed or durable, and positional I/O that is correct on Unix and on Windows.
//!
//! A push hashes the files it stages while they are written: on a thread where a push saves its
//! model into its temporary folder (`stage`), [`AtomicFile`] notes the SHA-256 of every file
//! it finishes (and never `fsync`s it), and the commit takes those hashes instead of reading
//! the files again. A writer whose content already lies in memory can [`hold`] it there
//! instead of writing it: the push uploads it from those buffers.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, IoSlice, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::error::HubError;
use crate::upload::MemoryFile;

/// Writes at least this large are hashed on a second thread while they are written.
const PARALLEL_HASH_BYTES: usize = 4 << 20;

/// Eight random hex digits, for the names of temporary files.
pub fn random_suffix() -> String {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).expect("the operating system's random source failed");
    hex::encode(b)
}

/// How far a finished [`AtomicFile`] is made to last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Written into the page cache and renamed into place, as torch, safetensors and
    /// transformers save: readers see all of the file or none of it, and it survives the
    /// process; a crash of the machine before the kernel writes it back may lose it.
    #[default]
    PageCache,
    /// Also `fsync`ed before the rename, and its folder after: on disk when the call returns,
    /// whatever happens to the machine next (costs the disk's write time, 0.1–0.5 s per 200 MB
    /// on a typical SSD).
    Durable,
}

/// The SHA-256 of a file's content, known from when it was written, with the size (and
/// modification time, when known) of that version of the file: what
/// [`CommitOperation::add_file_hashed`](crate::CommitOperation::add_file_hashed) gives a commit
/// so that it does not read the file to hash it. A file whose size or modification time no
/// longer match is hashed again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHash {
    sha256: [u8; 32],
    size: u64,
    modified: Option<SystemTime>,
}

impl FileHash {
    /// The hash of a file of `size` bytes whose SHA-256 is `sha256`.
    pub fn new(sha256: [u8; 32], size: u64) -> Self {
        FileHash {
            sha256,
            size,
            modified: None,
        }
    }

    /// The SHA-256, in lowercase hex (the Git LFS object id).
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256)
    }

    /// The size of the file hashed.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether `metadata` is of the version of the file this hash was taken of.
    pub(crate) fn matches(&self, metadata: &fs::Metadata) -> bool {
        metadata.len() == self.size
            && self
                .modified
                .is_none_or(|m| metadata.modified().is_ok_and(|now| now == m))
    }
}

/// What a push's save staged (`stage`), by path.
#[derive(Debug, Default)]
pub(crate) struct Staged {
    /// The hashes of the files [`AtomicFile`] finished.
    pub hashes: HashMap<PathBuf, FileHash>,
    /// The files [`hold`] kept in memory instead of writing them.
    pub held: HashMap<PathBuf, MemoryFile>,
}

thread_local! {
    /// While a push stages files on this thread: what it staged so far.
    static STAGED: RefCell<Option<Staged>> = const { RefCell::new(None) };
}

/// Runs `f`, which writes files for an upload into a temporary folder, and returns with its
/// result what it staged on this thread meanwhile: the hashes of the files [`AtomicFile`]
/// finished and the files [`hold`] kept in memory (by path, as given to them). Staged files are
/// temporary: they are never `fsync`ed, whatever durability they are finished with. Outside `f`,
/// files are not hashed and nothing is held: a plain save costs nothing more.
pub(crate) fn stage<T>(f: impl FnOnce() -> T) -> (T, Staged) {
    let outer = STAGED.with(|r| r.replace(Some(Staged::default())));
    let result = f();
    let staged = STAGED.with(|r| r.replace(outer)).unwrap_or_default();
    (result, staged)
}

/// Keeps the content of `path` in memory instead of writing it, when a push is staging files on
/// this thread: then `content` is called, its buffers are what the push uploads as that file
/// (no copy, no write, no second read), and `true` is returned. Otherwise nothing is called and
/// `false` says the caller must write the file itself.
///
/// Hold only content that is in memory already (a model's own tensor buffers): holding a copy
/// would keep a second copy of the model alive until the upload ends.
pub fn hold(path: &Path, content: impl FnOnce() -> MemoryFile) -> bool {
    STAGED.with(|r| match r.borrow_mut().as_mut() {
        Some(staged) => {
            staged.held.insert(path.to_owned(), content());
            true
        }
        None => false,
    })
}

/// A file written through a temporary sibling and renamed into place by
/// [`finish`](Self::finish), so that readers see all of it or none of it; dropped unfinished, it
/// leaves nothing behind. Writes go straight to the file (no buffer in between: give it large
/// writes, or several at once with [`write_vectored_all`](Self::write_vectored_all)).
///
/// ```
/// use hubmix_hub::files::{AtomicFile, Durability};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("weights.bin");
/// let mut file = AtomicFile::create(&path)?;
/// file.write_vectored_all(&[b"head", b"er", b" and body"])?;
/// assert!(!path.exists(), "not in place before it is finished");
/// file.finish(Durability::PageCache)?;
/// assert_eq!(std::fs::read(&path)?, b"header and body");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    temp: PathBuf,
    file: File,
    /// The SHA-256 of what was written, when the file is staged for a push (`stage`).
    hasher: Option<Sha256>,
    len: u64,
    finished: bool,
}

impl AtomicFile {
    /// Starts writing `path` (its folder is created if needed).
    pub fn create(path: &Path) -> Result<Self, HubError> {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        fs::create_dir_all(parent).map_err(HubError::io("creating", parent))?;
        let temp = parent.join(format!(
            ".{}.{}.tmp",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
            random_suffix()
        ));
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(HubError::io("creating", &temp))?;
        let staged = STAGED.with(|r| r.borrow().is_some());
        Ok(AtomicFile {
            path: path.to_owned(),
            temp,
            file,
            hasher: staged.then(Sha256::new),
            len: 0,
            finished: false,
        })
    }

    /// Appends `buf`.
    pub fn write_all(&mut self, buf: &[u8]) -> Result<(), HubError> {
        self.write_vectored_all(&[buf])
    }

    /// Appends `bufs`, in order, with as few system calls as the OS allows (`writev`).
    pub fn write_vectored_all(&mut self, bufs: &[&[u8]]) -> Result<(), HubError> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        let (file, hasher) = (&mut self.file, &mut self.hasher);
        let written = match hasher {
            // A large write is hashed on a second core while it goes to the page cache.
            Some(hasher) if total >= PARALLEL_HASH_BYTES => std::thread::scope(|s| {
                let hashing = s.spawn(move || bufs.iter().for_each(|b| hasher.update(b)));
                let written = write_all_vectored(file, bufs);
                hashing.join().expect("hashing does not panic");
                written
            }),
            Some(hasher) => {
                bufs.iter().for_each(|b| hasher.update(b));
                write_all_vectored(file, bufs)
            }
            None => write_all_vectored(file, bufs),
        };
        written.map_err(HubError::io("writing", &self.path))?;
        self.len += total as u64;
        Ok(())
    }

    /// Moves the file into place, as durable as `durability` says (a file staged for a push is
    /// temporary, and never `fsync`ed).
    pub fn finish(mut self, durability: Durability) -> Result<(), HubError> {
        let durable = durability == Durability::Durable && self.hasher.is_none();
        if durable {
            self.file
                .sync_all()
                .map_err(HubError::io("writing", &self.path))?;
        }
        let modified = self.file.metadata().and_then(|m| m.modified()).ok();
        fs::rename(&self.temp, &self.path).map_err(HubError::io("moving into place", &self.path))?;
        self.finished = true;
        if durable {
            sync_folder(&self.path).map_err(HubError::io("writing the folder of", &self.path))?;
        }
        if let Some(hasher) = self.hasher.take() {
            let hash = FileHash {
                sha256: hasher.finalize().into(),
                size: self.len,
                modified,
            };
            STAGED.with(|r| {
                if let Some(staged) = r.borrow_mut().as_mut() {
                    staged.hashes.insert(self.path.clone(), hash);
                }
            });
        }
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.finished {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Writes all of `bufs` with `writev` calls (`Write::write_all_vectored` is not stable yet).
fn write_all_vectored(file: &mut File, bufs: &[&[u8]]) -> io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = bufs
        .iter()
        .filter(|b| !b.is_empty())
        .map(|b| IoSlice::new(b))
        .collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `fsync`s the folder of `path`, so that a rename into it is on disk (Unix; elsewhere the
/// rename's durability is the file system's).
fn sync_folder(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(parent)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Writes a file through a temporary sibling, `fsync` and a rename, so readers see all of it or
/// none of it, even after a crash: [`write_atomic_with`] and [`Durability::Durable`].
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("sub/config.json");
/// hubmix_hub::files::write_atomic(&path, b"{}")?;
/// assert_eq!(std::fs::read(&path)?, b"{}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_atomic(path: &Path, content: &[u8]) -> Result<(), HubError> {
    write_atomic_with(path, content, Durability::Durable)
}

/// Writes a file through a temporary sibling and a rename ([`AtomicFile`]), as durable as
/// `durability` says.
pub fn write_atomic_with(path: &Path, content: &[u8], durability: Durability) -> Result<(), HubError> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(content)?;
    file.finish(durability)
}

/// Opens `path` with `options`, refusing a symbolic link at `path` itself: where hubmix writes
/// into the cache (a download's `.incomplete` file, a lock, a marker), a link planted by someone
/// else is an error, never a way to write elsewhere. Folders above `path` are followed as usual.
///
/// On Unix the refusal is atomic (`O_NOFOLLOW`). Elsewhere (Windows) the standard library has no
/// such flag: `path` is checked just before it is opened, which leaves a short race.
pub(crate) fn open_no_follow(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
    let refused =
        || io::Error::other("it is a symbolic link, which hubmix does not write through: remove it");
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(path)
            .map_err(|e| {
                if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
                    refused()
                } else {
                    e
                }
            })
    }
    #[cfg(not(unix))]
    {
        if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(refused());
        }
        options.open(path)
    }
}

/// Fills `buf` from `file` at `offset`, without moving a shared cursor on Unix (`pread`), so
/// several threads may read one file at once. On Windows the handle's cursor moves; callers
/// there give each thread its own handle, as they do for any `File`.
pub fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < buf.len() {
            match std::os::windows::fs::FileExt::seek_read(file, &mut buf[done..], offset + done as u64) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Writes all of `buf` into `file` at `offset` (`pwrite` on Unix, `seek_write` on Windows).
pub fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < buf.len() {
            match std::os::windows::fs::FileExt::seek_write(file, &buf[done..], offset + done as u64) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positional_reads_and_writes_meet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = File::options()
            .create_new(true)
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        write_all_at(&file, b"world", 6).unwrap();
        write_all_at(&file, b"hello ", 0).unwrap();
        let mut buf = [0u8; 5];
        read_exact_at(&file, &mut buf, 6).unwrap();
        assert_eq!(&buf, b"world");
        let err = read_exact_at(&file, &mut buf, 8).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(fs::read(&path).unwrap(), b"hello world");
    }

    #[cfg(unix)]
    #[test]
    fn no_write_goes_through_a_planted_link() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let link = dir.path().join("x.incomplete");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let err = open_no_follow(File::options().create(true).append(true), &link).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        let err = open_no_follow(File::options().create(true).write(true).truncate(true), &link).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        // A plain file opens as usual.
        let plain = dir.path().join("plain");
        open_no_follow(File::options().create(true).append(true), &plain).unwrap();
        assert!(plain.is_file());
    }

    #[test]
    fn atomic_writes_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write_atomic(&path, b"1").unwrap();
        write_atomic(&path, b"22").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"22");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        write_atomic_with(&path, b"333", Durability::PageCache).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"333");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn an_unfinished_file_leaves_nothing_and_replaces_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        fs::write(&path, b"old").unwrap();
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"half of the new").unwrap();
        drop(file);
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn staged_files_are_hashed_as_they_are_written_and_others_not() {
        let dir = tempfile::tempdir().unwrap();
        // Small writes hashed inline, a large one on a second thread, in order.
        let big: Vec<u8> = (0..PARALLEL_HASH_BYTES + 5).map(|i| (i % 251) as u8).collect();
        let pieces: [&[u8]; 4] = [b"", b"head", &big, b"tail"];
        let content = pieces.concat();
        let (a, b) = (dir.path().join("a.bin"), dir.path().join("b.json"));
        let (result, staged) = stage(|| {
            let mut file = AtomicFile::create(&a)?;
            file.write_vectored_all(&pieces[..2])?;
            file.write_vectored_all(&pieces[2..])?;
            file.finish(Durability::Durable)?;
            write_atomic(&b, b"{}")
        });
        result.unwrap();
        assert_eq!(fs::read(&a).unwrap(), content);
        let hash = &staged.hashes[&a];
        assert_eq!(hash.sha256_hex(), hex::encode(Sha256::digest(&content)));
        assert_eq!(hash.size(), content.len() as u64);
        assert!(hash.matches(&fs::metadata(&a).unwrap()));
        assert_eq!(staged.hashes[&b].sha256_hex(), hex::encode(Sha256::digest(b"{}")));
        assert_eq!(staged.hashes.len(), 2);
        assert!(staged.held.is_empty());

        // Changed since: the hash no longer matches the file.
        fs::write(&a, b"other").unwrap();
        assert!(!hash.matches(&fs::metadata(&a).unwrap()));

        // Outside a push's staging nothing is noted (nor hashed).
        let (_, inner) = stage(|| ());
        assert!(inner.hashes.is_empty() && inner.held.is_empty());
        let file = AtomicFile::create(&a).unwrap();
        assert!(file.hasher.is_none());
    }

    #[test]
    fn held_content_is_kept_only_while_a_push_stages() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let content = || MemoryFile::new(vec![std::sync::Arc::new(b"abc".to_vec())]);
        assert!(!hold(&path, content), "outside a push the caller writes the file");
        let (held, staged) = stage(|| hold(&path, content));
        assert!(held);
        assert_eq!(staged.held[&path].len(), 3);
        assert!(!path.exists(), "held content is never written");
    }
}
