//! Reading a file whose path somebody gave us (a command-line argument, a
//! config option, a file inside the audited root) without hanging on it and
//! without unbounded memory.
//!
//! `std::fs::read` would block forever on a FIFO with no writer, and read
//! `/dev/zero` until memory runs out. [`read_user_file`] opens with
//! `O_NONBLOCK | O_NOCTTY | O_CLOEXEC` (a FIFO open does not wait for a
//! writer, a terminal does not become ours), `fstat`s the descriptor it
//! opened (no race with a rename between a `stat` and the `open`), refuses
//! anything but a regular file, and reads at most `cap + 1` bytes (a file
//! that grows while we read is still refused, never truncated silently).
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;

/// Why a user-given file could not be read. The message names the path.
#[derive(Debug)]
pub struct UserFileError {
    /// The path as given.
    pub path: PathBuf,
    /// What went wrong.
    pub kind: UserFileErrorKind,
}

/// What went wrong with a user-given file.
#[derive(Debug)]
pub enum UserFileErrorKind {
    /// `open`, `fstat` or `read` failed.
    Io(io::Error),
    /// Not a regular file (the kind it is instead).
    NotRegular(&'static str),
    /// Larger than the cap (bytes seen, cap).
    TooLarge(u64, u64),
    /// Not valid UTF-8 (only from [`read_user_text`]).
    NotUtf8,
}

impl UserFileError {
    /// The underlying I/O error kind, when there is one.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match &self.kind {
            UserFileErrorKind::Io(e) => Some(e.kind()),
            _ => None,
        }
    }

    /// The reason without the path (for messages that name the path already).
    pub fn reason(&self) -> String {
        match &self.kind {
            UserFileErrorKind::Io(e) => e.to_string(),
            UserFileErrorKind::NotRegular(what) => format!("not a regular file (a {what})"),
            UserFileErrorKind::TooLarge(n, cap) => {
                format!(
                    "{n} bytes or more, larger than the {} the auditor reads",
                    size(*cap)
                )
            }
            UserFileErrorKind::NotUtf8 => "not valid UTF-8".to_string(),
        }
    }

    /// As an `io::Error` carrying the reason (the path is the caller's to add).
    pub fn into_io(self) -> io::Error {
        match self.kind {
            UserFileErrorKind::Io(e) => e,
            _ => io::Error::other(self.reason()),
        }
    }
}

impl std::fmt::Display for UserFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason())
    }
}

impl std::error::Error for UserFileError {}

/// `1 MiB`, `16 MiB`, or bytes below one MiB.
fn size(n: u64) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else {
        format!("{n} bytes")
    }
}

/// What a non-regular file is, for the message.
pub fn kind_name(ft: std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "directory"
    } else if ft.is_fifo() {
        "FIFO"
    } else if ft.is_char_device() {
        "character device"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_symlink() {
        "symbolic link"
    } else {
        "special file"
    }
}

/// Opens `path` for reading without blocking and checks, on the opened
/// descriptor, that it is a regular file. Symlinks are followed (a user may
/// well point `--waivers` at a symlink), but what they lead to is checked.
pub fn open_regular(path: &Path) -> Result<(File, std::fs::Metadata), UserFileError> {
    let err = |kind| UserFileError {
        path: path.to_path_buf(),
        kind,
    };
    let flags = OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits())
        .open(path)
        .map_err(|e| err(UserFileErrorKind::Io(e)))?;
    let meta = file.metadata().map_err(|e| err(UserFileErrorKind::Io(e)))?;
    if !meta.is_file() {
        return Err(err(UserFileErrorKind::NotRegular(kind_name(
            meta.file_type(),
        ))));
    }
    Ok((file, meta))
}

/// Reads a whole regular file of at most `cap` bytes (see the module doc).
pub fn read_user_file(path: &Path, cap: u64) -> Result<Vec<u8>, UserFileError> {
    let err = |kind| UserFileError {
        path: path.to_path_buf(),
        kind,
    };
    let (file, meta) = open_regular(path)?;
    if meta.len() > cap {
        return Err(err(UserFileErrorKind::TooLarge(meta.len(), cap)));
    }
    let mut buf = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(cap.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| err(UserFileErrorKind::Io(e)))?;
    if buf.len() as u64 > cap {
        return Err(err(UserFileErrorKind::TooLarge(buf.len() as u64, cap)));
    }
    Ok(buf)
}

/// [`read_user_file`] as UTF-8 text.
pub fn read_user_text(path: &Path, cap: u64) -> Result<String, UserFileError> {
    let bytes = read_user_file(path, cap)?;
    String::from_utf8(bytes).map_err(|_| UserFileError {
        path: path.to_path_buf(),
        kind: UserFileErrorKind::NotUtf8,
    })
}

/// Checks that an output path may be replaced by a regular file: it does
/// not exist yet, or it is (or a symlink leads to) a regular file. Renaming
/// a temp file over `/dev/null`, a FIFO or a socket would replace that
/// special file with ours (as root, `--output /dev/null` would delete the
/// device node), so those are refused with a message naming the path.
pub fn check_output_target(path: &Path) -> Result<(), UserFileError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(m) => Err(UserFileError {
            path: path.to_path_buf(),
            kind: UserFileErrorKind::NotRegular(kind_name(m.file_type())),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(UserFileError {
            path: path.to_path_buf(),
            kind: UserFileErrorKind::Io(e),
        }),
    }
}

/// For a file the program both reads and rewrites (`--cache`): refuses up
/// front, naming the flag and path, one that exists but is not a regular
/// file. A missing file is fine (it will be created).
pub fn check_optional_regular(flag: &str, path: &Path) -> Result<(), String> {
    check_output_target(path).map_err(|e| format!("{flag} {}: {}", path.display(), e.reason()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn fifo_is_refused_without_blocking() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("fifo");
        nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let t = Instant::now();
        let e = read_user_file(&p, 1024).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(5));
        assert_eq!(
            e.to_string(),
            format!("{}: not a regular file (a FIFO)", p.display())
        );
    }

    #[test]
    fn devices_directories_and_links_to_them_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let link = d.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        for (p, what) in [
            (Path::new("/dev/zero"), "character device"),
            (link.as_path(), "character device"),
            (d.path(), "directory"),
        ] {
            let e = read_user_file(p, 1024).unwrap_err();
            assert!(e.to_string().ends_with(&format!("(a {what})")), "{e}");
            assert!(e.to_string().starts_with(&p.display().to_string()));
        }
    }

    #[test]
    fn cap_is_enforced_and_exact_size_is_fine() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, vec![b'a'; 100]).unwrap();
        assert_eq!(read_user_file(&p, 100).unwrap().len(), 100);
        let e = read_user_file(&p, 99).unwrap_err();
        assert!(matches!(e.kind, UserFileErrorKind::TooLarge(100, 99)));
        std::fs::write(&p, b"\xff").unwrap();
        assert!(matches!(
            read_user_text(&p, 10).unwrap_err().kind,
            UserFileErrorKind::NotUtf8
        ));
    }

    #[test]
    fn output_target_refuses_special_files() {
        assert!(check_output_target(Path::new("/dev/null")).is_err());
        let d = tempfile::tempdir().unwrap();
        assert!(check_output_target(d.path()).is_err());
        assert!(check_output_target(&d.path().join("new")).is_ok());
        std::fs::write(d.path().join("old"), "x").unwrap();
        assert!(check_output_target(&d.path().join("old")).is_ok());
    }
}
