//! Which files the scan reads, and how it opens them.
//!
//! One `walkdir` walk per root, never following symlinks (a link's target is
//! scanned where it lives if it is in scope, and never if it is not), one
//! filesystem per root when asked, `<root>/{proc,sys,dev,run}` pruned, and
//! only regular files handed to the workers: FIFOs, sockets and device nodes
//! are never opened. A file is opened with `O_NOFOLLOW | O_NONBLOCK` (a FIFO
//! swapped in after the walk cannot block the scan) and `O_NOATIME` where the
//! kernel allows it, and `fstat` must still say "regular file" before a byte
//! is read.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use nix::fcntl::OFlag;
use walkdir::WalkDir;

use super::stream::classify;
use super::{ScanError, ScanErrorKind};

/// Directories under every root that are never entered.
pub(crate) const PSEUDO_DIRS: [&str; 4] = ["proc", "sys", "dev", "run"];

/// A regular file found by the walk.
pub(crate) struct Job {
    pub path: PathBuf,
    /// Device of the root it was found under, when staying on one filesystem.
    pub dev: Option<u64>,
}

/// What to leave out.
pub(crate) struct Filter {
    paths: HashSet<PathBuf>,
    globs: GlobSet,
}

impl Filter {
    pub(crate) fn new(paths: &[PathBuf], globs: &[String], errors: &mut Vec<ScanError>) -> Filter {
        let mut b = GlobSetBuilder::new();
        for g in globs {
            match GlobBuilder::new(g).literal_separator(true).build() {
                Ok(g) => {
                    b.add(g);
                }
                Err(e) => errors.push(ScanError {
                    path: PathBuf::new(),
                    member: None,
                    kind: ScanErrorKind::Config,
                    message: format!("exclude glob ignored: {e}"),
                }),
            }
        }
        let globs = b.build().unwrap_or_else(|_| GlobSet::empty());
        Filter {
            paths: paths.iter().map(|p| normalize(p)).collect(),
            globs,
        }
    }

    fn excluded(&self, path: &Path) -> bool {
        (!self.paths.is_empty() && self.paths.contains(&normalize(path)))
            || self.globs.is_match(path)
    }
}

/// Lexical normalisation (`.` and repeated separators dropped; `..` kept:
/// resolving it would need the file system).
fn normalize(p: &Path) -> PathBuf {
    p.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// Walks `root`, sending each regular file to `send`; returns the number of
/// entries skipped because of their type (symlinks, FIFOs, sockets, devices).
pub(crate) fn walk(
    root: &Path,
    one_file_system: bool,
    filter: &Filter,
    errors: &mut Vec<ScanError>,
    mut send: impl FnMut(Job) -> bool,
) -> u64 {
    let dev = if one_file_system {
        match std::fs::metadata(root) {
            Ok(m) => Some(m.dev()),
            Err(e) => {
                errors.push(ScanError {
                    path: root.to_path_buf(),
                    member: None,
                    kind: classify(&e),
                    message: format!("cannot scan this root: {e}"),
                });
                return 0;
            }
        }
    } else {
        None
    };
    let mut skipped = 0;
    let it = WalkDir::new(root)
        .follow_links(false)
        .same_file_system(one_file_system)
        .into_iter();
    let it = it.filter_entry(|e| {
        if e.depth() == 1
            && e.file_type().is_dir()
            && PSEUDO_DIRS.iter().any(|d| e.file_name() == *d)
        {
            return false;
        }
        !filter.excluded(e.path())
    });
    for entry in it {
        match entry {
            Ok(e) => {
                let ft = e.file_type();
                if ft.is_file() {
                    if !send(Job {
                        path: e.into_path(),
                        dev,
                    }) {
                        break;
                    }
                } else if !ft.is_dir() {
                    skipped += 1;
                }
            }
            Err(e) => {
                let path = e
                    .path()
                    .map_or_else(|| root.to_path_buf(), Path::to_path_buf);
                let (kind, message) = match e.io_error() {
                    Some(io) => (walk_kind(io), format!("cannot read directory: {io}")),
                    None => (ScanErrorKind::Walk, e.to_string()),
                };
                errors.push(ScanError {
                    path,
                    member: None,
                    kind,
                    message,
                });
            }
        }
    }
    skipped
}

fn walk_kind(e: &io::Error) -> ScanErrorKind {
    match classify(e) {
        ScanErrorKind::Io | ScanErrorKind::Corrupt => ScanErrorKind::Walk,
        k => k,
    }
}

/// What opening a walked path gave.
pub(crate) enum Opened {
    /// The file and what `fstat` said of it when it was opened.
    File(File, std::fs::Metadata),
    /// Not a regular file any more, or on another filesystem: skip silently.
    Skip,
    Failed(ScanError),
}

pub(crate) fn open(job: &Job) -> Opened {
    let base = OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    let try_open = |flags: OFlag| {
        OpenOptions::new()
            .read(true)
            .custom_flags(flags.bits())
            .open(&job.path)
    };
    let file = match try_open(base | OFlag::O_NOATIME) {
        // O_NOATIME needs ownership or CAP_FOWNER
        Err(e) if e.raw_os_error() == Some(nix::libc::EPERM) => try_open(base),
        r => r,
    };
    let file = match file {
        Ok(f) => f,
        // replaced by a symlink since the walk: not followed
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => return Opened::Skip,
        Err(e) => {
            let kind = classify(&e);
            let message = match kind {
                ScanErrorKind::Vanished => format!("vanished before it could be read: {e}"),
                _ => format!("cannot open: {e}"),
            };
            return Opened::Failed(ScanError {
                path: job.path.clone(),
                member: None,
                kind,
                message,
            });
        }
    };
    match file.metadata() {
        Ok(m) if !m.file_type().is_file() => Opened::Skip,
        Ok(m) if job.dev.is_some_and(|d| d != m.dev()) => Opened::Skip,
        Ok(m) => Opened::File(file, m),
        Err(e) => Opened::Failed(ScanError {
            path: job.path.clone(),
            member: None,
            kind: classify(&e),
            message: format!("cannot stat: {e}"),
        }),
    }
}
