//! The content of a file an upload adds: a path, bytes in memory, or a spooled reader; opened
//! again for each retry, hashed, and sent whole or by parts.

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
    /// A reader's content, spooled to a temporary file (deleted with the last operation).
    Spooled(Arc<tempfile::NamedTempFile>),
}

impl fmt::Debug for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Content::Path(p) => write!(f, "Path({})", p.display()),
            Content::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Content::Spooled(t) => write!(f, "Spooled({})", t.path().display()),
        }
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
            Content::Bytes(_) => None,
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
