//! Local file helpers the layers above share: atomic writes and positional I/O that is correct
//! on Unix and on Windows.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use crate::error::HubError;

/// Eight random hex digits, for the names of temporary files.
pub fn random_suffix() -> String {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).expect("the operating system's random source failed");
    hex::encode(b)
}

/// Writes a file through a temporary sibling, `fsync` and a rename, so readers see all of it or
/// none of it, even after a crash.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("sub/config.json");
/// hubmix_hub::files::write_atomic(&path, b"{}")?;
/// assert_eq!(std::fs::read(&path)?, b"{}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_atomic(path: &Path, content: &[u8]) -> Result<(), HubError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(HubError::io("creating", parent))?;
    let temp = parent.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        random_suffix()
    ));
    let result = (|| {
        let mut f = File::create(&temp)?;
        f.write_all(content)?;
        f.sync_all()?;
        fs::rename(&temp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&temp);
        HubError::io("writing", path)(e)
    })
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
    }
}
