//! The content of a file an upload adds: a path, bytes in memory, shared buffers
//! ([`MemoryFile`]), or a spooled reader; opened again for each retry, hashed, and sent whole or
//! by parts.

use std::fmt;
use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::HubError;
use crate::transport::http::{OpenBody, Payload};

/// Read buffer for hashing.
const HASH_CHUNK: usize = 1 << 20;

/// Where an added file's content comes from.
#[derive(Clone)]
pub(crate) enum Content {
    /// A file on disk, read when needed.
    Path(PathBuf),
    /// Bytes in memory.
    Bytes(Arc<[u8]>),
    /// Buffers in memory, one after the other.
    Memory(MemoryFile),
    /// A reader's content, spooled to a temporary file (deleted with the last operation).
    Spooled(Arc<tempfile::NamedTempFile>),
}

impl fmt::Debug for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Content::Path(p) => write!(f, "Path({})", p.display()),
            Content::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Content::Memory(m) => write!(f, "Memory({} bytes in {} buffers)", m.len, m.parts.len()),
            Content::Spooled(t) => write!(f, "Spooled({})", t.path().display()),
        }
    }
}

/// A buffer of a [`MemoryFile`].
pub type SharedBuffer = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// A file's content as buffers in memory, one after the other, shared rather than copied: what
/// a push uploads for a weight file it never writes (the header, then each tensor's own
/// buffer), through [`hold`](crate::files::hold) or
/// [`CommitOperation::add_memory`](crate::CommitOperation::add_memory).
///
/// ```
/// use std::sync::Arc;
/// use hubmix_hub::upload::MemoryFile;
/// let file = MemoryFile::new(vec![Arc::new(b"head".to_vec()), Arc::new(*b"er")]);
/// assert_eq!(file.len(), 6);
/// ```
#[derive(Clone)]
pub struct MemoryFile {
    parts: Arc<[SharedBuffer]>,
    len: u64,
}

impl MemoryFile {
    /// The content made of `parts`, in order.
    pub fn new(parts: Vec<SharedBuffer>) -> Self {
        let len = parts.iter().map(|p| (**p).as_ref().len() as u64).sum();
        MemoryFile {
            parts: parts.into(),
            len,
        }
    }

    /// Its size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A reader of the content from `offset` on.
    fn reader(&self, offset: u64) -> MemoryReader {
        MemoryReader {
            file: self.clone(),
            part: 0,
            at: 0,
            skip: offset,
        }
    }
}

impl fmt::Debug for MemoryFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MemoryFile({} bytes in {} buffers)",
            self.len,
            self.parts.len()
        )
    }
}

/// Reads a [`MemoryFile`] part after part.
struct MemoryReader {
    file: MemoryFile,
    /// The current part, and the position in it.
    part: usize,
    at: usize,
    /// Bytes still to skip before the first read.
    skip: u64,
}

impl Read for MemoryReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(part) = self.file.parts.get(self.part) {
            let part = (**part).as_ref();
            let rest = &part[self.at.min(part.len())..];
            if self.skip >= rest.len() as u64 {
                self.skip -= rest.len() as u64;
                self.part += 1;
                self.at = 0;
                continue;
            }
            let skip = self.skip as usize;
            self.skip = 0;
            let n = buf.len().min(rest.len() - skip);
            buf[..n].copy_from_slice(&rest[skip..skip + n]);
            self.at += skip + n;
            return Ok(n);
        }
        Ok(0)
    }
}

/// Shared bytes as a `Cursor` target.
struct SharedBytes(Arc<[u8]>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Content {
    /// The file that holds the content, if any.
    pub(crate) fn file(&self) -> Option<&Path> {
        match self {
            Content::Path(p) => Some(p),
            Content::Spooled(t) => Some(t.path()),
            Content::Bytes(_) | Content::Memory(_) => None,
        }
    }

    /// What to name in error messages.
    pub(crate) fn describe(&self) -> PathBuf {
        self.file()
            .map_or_else(|| PathBuf::from("<bytes>"), Path::to_owned)
    }

    /// The content's size, checking that a path names a regular file.
    pub(crate) fn size(&self) -> Result<u64, HubError> {
        let path = match self {
            Content::Bytes(b) => return Ok(b.len() as u64),
            Content::Memory(m) => return Ok(m.len),
            Content::Path(p) => p.as_path(),
            Content::Spooled(t) => t.path(),
        };
        let bad = |reason: &str| HubError::UploadSource {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => Ok(m.len()),
            Ok(m) if m.is_dir() => Err(bad("it is a folder, not a file: use upload_folder")),
            Ok(_) => Err(bad("it is not a regular file")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(bad("no such file")),
            Err(e) => Err(HubError::io("cannot read", path)(e)),
        }
    }

    /// A stream of `len` bytes from `offset`.
    pub(crate) fn open_at(&self, offset: u64, len: u64) -> io::Result<Box<dyn Read + Send>> {
        let path = match self {
            Content::Bytes(b) => {
                let mut cursor = Cursor::new(SharedBytes(Arc::clone(b)));
                cursor.set_position(offset);
                return Ok(Box::new(cursor.take(len)));
            }
            Content::Memory(m) => return Ok(Box::new(m.reader(offset).take(len))),
            Content::Path(p) => p.as_path(),
            Content::Spooled(t) => t.path(),
        };
        let mut file = File::open(path)?;
        file.seek(SeekFrom::Start(offset))?;
        Ok(Box::new(file.take(len)))
    }

    /// The body of a request sending `len` bytes from `offset`, re-readable for retries.
    pub(crate) fn payload(&self, offset: u64, len: u64) -> Payload {
        match self.file() {
            Some(path) => Payload::File {
                path: path.to_owned(),
                offset,
                len,
            },
            None => {
                let source = self.clone();
                let open: OpenBody = Arc::new(move || source.open_at(offset, len));
                Payload::Stream {
                    open,
                    len,
                    content_type: None,
                }
            }
        }
    }

    /// Reads exactly `len` bytes into `sink`, in chunks; fails if the content got shorter.
    pub(crate) fn read_all(&self, len: u64, mut sink: impl FnMut(&[u8])) -> Result<(), HubError> {
        let fail = |e: io::Error| HubError::io("cannot read", self.describe())(e);
        let mut reader = self.open_at(0, len).map_err(fail)?;
        let mut buf = vec![0u8; HASH_CHUNK.min(len as usize).max(1)];
        let mut left = len;
        while left > 0 {
            let n = reader.read(&mut buf).map_err(fail)?;
            if n == 0 {
                return Err(changed(&self.describe()));
            }
            sink(&buf[..n]);
            left -= n as u64;
        }
        Ok(())
    }
}

pub(crate) fn changed(path: &Path) -> HubError {
    HubError::UploadSource {
        path: path.to_owned(),
        reason: "the file changed while it was being uploaded: run the upload again".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_files_read_across_their_buffers_from_any_offset() {
        let parts: Vec<SharedBuffer> = vec![
            Arc::new(b"ab".to_vec()),
            Arc::new(Vec::<u8>::new()),
            Arc::new(b"cdef".to_vec()),
            Arc::new(*b"g"),
        ];
        let content = Content::Memory(MemoryFile::new(parts));
        assert_eq!(content.size().unwrap(), 7);
        for offset in 0..=7u64 {
            for len in 0..=(7 - offset) {
                let mut got = Vec::new();
                // A one-byte buffer too, so that reads stop inside a part.
                let mut reader = content.open_at(offset, len).unwrap();
                let mut byte = [0u8; 1];
                while reader.read(&mut byte).unwrap() == 1 {
                    got.push(byte[0]);
                }
                let start = offset as usize;
                assert_eq!(got, &b"abcdefg"[start..start + len as usize], "{offset}+{len}");
            }
        }
        let mut all = Vec::new();
        content.read_all(7, |b| all.extend_from_slice(b)).unwrap();
        assert_eq!(all, b"abcdefg");
    }
}
