//! Which files the scan reads, and how it opens them.
//!
//! The walk is our own, shared by every scan thread: a stack of work (a
//! directory to list, or a batch of files to read) that every worker pops
//! from and pushes to, so directory listing and reading run on all threads
//! at once, as in ripgrep's parallel walker. It never follows symlinks (a
//! link's target is scanned where it lives if it is in scope, and never if
//! it is not), stays on one filesystem per root when asked,
//! never enters `<root>/{proc,sys,dev,run}`, and hands only regular files
//! to the readers: FIFOs, sockets and device nodes are never opened. A file
//! is opened with `O_NOFOLLOW | O_NONBLOCK` (a FIFO swapped in after the
//! walk cannot block the scan) and `O_NOATIME` where the kernel allows it,
//! and `fstat` must still say "regular file" before a byte is read.
//!
//! Why not `walkdir`: with `same_file_system(true)`, walkdir does not
//! descend into a directory on another filesystem, yet still yields it; a
//! `filter_entry` that then rejects that entry makes walkdir call
//! `skip_current_dir()`, which pops the *parent* directory off its stack
//! (walkdir issue #166, open). On a real root, where `/proc`, `/sys`, `/dev`
//! and `/run` are mounts, the walk of `/` therefore ended at the first of
//! them in readdir order, and a scan of a live host read /etc and /boot
//! and nothing else. An `--exclude` that matched a mount point did the same.
//! Here a directory is judged once, before it is pushed, and skipping it
//! can never skip anything else.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::{Condvar, Mutex};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use nix::fcntl::OFlag;

use super::stream::classify;
use super::{ScanError, ScanErrorKind};

/// Directories under every root that are never entered.
pub(crate) const PSEUDO_DIRS: [&str; 4] = ["proc", "sys", "dev", "run"];

/// Files handed out at once (one hand-off per file would cost a lock each).
const BATCH: usize = 32;

/// A regular file found by the walk.
pub(crate) struct Job {
    pub path: PathBuf,
    /// Device of the root it was found under, when staying on one filesystem.
    pub dev: Option<u64>,
    /// Its `lstat`, taken while listing its directory (`fstatat` on the
    /// directory: no path lookup) when the scan cache may know it.
    pub meta: Option<std::fs::Metadata>,
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

/// One piece of work on the shared stack.
enum Work {
    /// A directory to list; `depth` 0 is a root.
    Dir {
        path: PathBuf,
        depth: usize,
        dev: Option<u64>,
    },
    /// Regular files to read.
    Files(Vec<Job>),
}

/// What the walk learnt besides the files.
#[derive(Debug, Default)]
pub(crate) struct WalkOut {
    /// Entries not read because of their type: symlinks, FIFOs, sockets,
    /// device nodes.
    pub skipped: u64,
    /// Directories not entered because another filesystem is mounted there
    /// (`<root>/{proc,sys,dev,run}` not included: they are never scanned).
    pub other_filesystems: Vec<PathBuf>,
    /// Directories that could not be listed, and the like.
    pub errors: Vec<ScanError>,
}

struct State {
    stack: Vec<Work>,
    /// Threads holding a piece of work (which may push more).
    busy: usize,
    stopped: bool,
}

/// The walk shared by the scan threads.
pub(crate) struct Walk<'a> {
    filter: &'a Filter,
    /// Give each file its `lstat` (see [`Job::meta`]).
    want_meta: bool,
    state: Mutex<State>,
    more: Condvar,
}

impl<'a> Walk<'a> {
    /// A walk of `roots`; a root that cannot be examined is an error in `out`.
    pub(crate) fn new(
        roots: &[PathBuf],
        one_file_system: bool,
        want_meta: bool,
        filter: &'a Filter,
        out: &mut WalkOut,
    ) -> Walk<'a> {
        let mut stack = Vec::new();
        let mut files = Vec::new();
        for root in roots {
            if filter.excluded(root) {
                continue;
            }
            // A root given as a symlink is examined where it points (the
            // caller resolved it inside the scanned tree); below it, no
            // symlink is followed.
            match std::fs::metadata(root) {
                Ok(m) if m.is_dir() => stack.push(Work::Dir {
                    path: root.clone(),
                    depth: 0,
                    dev: one_file_system.then(|| m.dev()),
                }),
                Ok(m) if m.is_file() => files.push(Job {
                    path: root.clone(),
                    dev: None,
                    meta: None,
                }),
                Ok(_) => out.skipped += 1,
                Err(e) => out.errors.push(ScanError {
                    path: root.clone(),
                    member: None,
                    kind: classify(&e),
                    message: format!("cannot scan this root: {e}"),
                }),
            }
        }
        if !files.is_empty() {
            stack.push(Work::Files(files));
        }
        // the first root is walked first
        stack.reverse();
        Walk {
            filter,
            want_meta,
            state: Mutex::new(State {
                stack,
                busy: 0,
                stopped: false,
            }),
            more: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ends the walk early: every thread's next `run` returns.
    pub(crate) fn stop(&self) {
        self.lock().stopped = true;
        self.more.notify_all();
    }

    /// Takes work until the walk is done, reading each file with `read`.
    /// Every scan thread calls this; it returns when no thread holds or can
    /// produce more work.
    pub(crate) fn run(&self, out: &mut WalkOut, mut read: impl FnMut(&Job)) {
        loop {
            let work = {
                let mut st = self.lock();
                loop {
                    if st.stopped {
                        return;
                    }
                    if let Some(w) = st.stack.pop() {
                        st.busy += 1;
                        break w;
                    }
                    if st.busy == 0 {
                        // nothing left and nobody can add more
                        self.more.notify_all();
                        return;
                    }
                    st = self.more.wait(st).unwrap_or_else(|p| p.into_inner());
                }
            };
            // `busy` goes down even if this thread panics: the others must
            // not wait for work it will never finish
            let mut done = Done {
                walk: self,
                pushed: Vec::new(),
            };
            match work {
                Work::Files(jobs) => {
                    for job in &jobs {
                        read(job);
                    }
                }
                Work::Dir { path, depth, dev } => done.pushed = self.list(&path, depth, dev, out),
            }
        }
    }

    /// Lists one directory: its subdirectories and batches of its files,
    /// in that order on the stack (files first out: they are read while
    /// the subdirectories wait).
    fn list(&self, dir: &Path, depth: usize, dev: Option<u64>, out: &mut WalkOut) -> Vec<Work> {
        let rd = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) => {
                out.errors.push(walk_error(dir, &e));
                return Vec::new();
            }
        };
        let mut dirs = Vec::new();
        let mut files = Vec::new();
        let mut batches = Vec::new();
        for entry in rd {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    out.errors.push(walk_error(dir, &e));
                    break;
                }
            };
            let path = entry.path();
            let ft = match entry.file_type() {
                Ok(t) => t,
                Err(e) => {
                    out.errors.push(walk_error(&path, &e));
                    continue;
                }
            };
            if ft.is_dir() {
                if depth == 0
                    && PSEUDO_DIRS
                        .iter()
                        .any(|d| entry.file_name() == OsStr::new(d))
                {
                    continue;
                }
                if self.filter.excluded(&path) {
                    continue;
                }
                let sub_dev = if let Some(d) = dev {
                    // the directory's own device: a mount point shows the
                    // mounted filesystem's
                    match entry.metadata() {
                        Ok(m) if m.dev() != d => {
                            out.other_filesystems.push(path);
                            continue;
                        }
                        Ok(_) => Some(d),
                        Err(e) => {
                            out.errors.push(walk_error(&path, &e));
                            continue;
                        }
                    }
                } else {
                    None
                };
                dirs.push(Work::Dir {
                    path,
                    depth: depth + 1,
                    dev: sub_dev,
                });
            } else if ft.is_file() {
                if self.filter.excluded(&path) {
                    continue;
                }
                let meta = if self.want_meta {
                    entry.metadata().ok()
                } else {
                    None
                };
                files.push(Job { path, dev, meta });
                if files.len() == BATCH {
                    batches.push(Work::Files(std::mem::take(&mut files)));
                }
            } else {
                out.skipped += 1;
            }
        }
        if !files.is_empty() {
            batches.push(Work::Files(files));
        }
        // subdirectories in readdir order once popped, after the files
        dirs.reverse();
        dirs.extend(batches);
        dirs
    }
}

/// Hands back a piece of work: pushes what it produced and wakes the
/// waiting threads.
struct Done<'w, 'a> {
    walk: &'w Walk<'a>,
    pushed: Vec<Work>,
}

impl Drop for Done<'_, '_> {
    fn drop(&mut self) {
        let mut st = self.walk.lock();
        st.busy -= 1;
        let woke = !self.pushed.is_empty();
        st.stack.append(&mut self.pushed);
        if woke || st.busy == 0 {
            self.walk.more.notify_all();
        }
    }
}

fn walk_error(path: &Path, e: &io::Error) -> ScanError {
    let kind = match classify(e) {
        ScanErrorKind::Io | ScanErrorKind::Corrupt => ScanErrorKind::Walk,
        k => k,
    };
    ScanError {
        path: path.to_path_buf(),
        member: None,
        kind,
        message: format!("cannot read directory: {e}"),
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
