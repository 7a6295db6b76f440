/*!
The disk scan behind BAR-013: finds copies of the master KEK anywhere on a
host and reports them by fingerprint, never by value.

Data flow: [`walk`] lists the regular files of each root (one filesystem,
no `/proc`, `/sys`, `/dev`, `/run`, no symlinks followed) into a bounded
channel; `threads` workers open each file (`O_NOATIME`, `O_NONBLOCK`),
and [`stream`] reads it in fixed-size windows through one multi-pattern
[`matcher`] holding every encoding of every needle (raw, base64
std/urlsafe padded or not, hex lower/upper) plus the `kek =` assignment
words, descending into gzip, xz, zstd and bzip2 streams and tar members
with bounded decompression. Problems with a single file (vanished,
unreadable, truncated gzip, zip bomb, archive nested too deep) become
[`ScanError`] entries and the scan goes on. With a [`cache`], files known
from an earlier scan and unchanged since are not read at all.

Memory is bounded by `threads × levels × (chunk_size + overlap)` plus the
decoder states (gzip 64 KiB; an xz or zstd layer at most 72 or 128 MiB,
as the stream declares), whatever the file sizes; findings are capped per
file; the scan cache takes 32 bytes per remembered file.
*/

mod cache;
pub mod gentle;
mod gz;
mod matcher;
mod needle;
mod stream;
mod tarball;
mod walk;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;

pub use needle::{fingerprint, Encoding, Needle, NeedleError};

use matcher::Matcher;
use stream::{Limits, Out};
use walk::{Filter, Opened};

/// One copy of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The file, as found under the root.
    pub path: PathBuf,
    /// The archive member chain, outermost first, joined by `!`:
    /// `etc/barbican/barbican.conf`, or `backup.tar.gz!etc/barbican/barbican.conf`
    /// for a tar.gz inside a tar. Gzip layers add no name.
    pub member: Option<String>,
    /// How the key was written there.
    pub encoding: Encoding,
    /// Byte offset of the encoded key in the file, or in the innermost
    /// member / decompressed stream.
    pub offset: u64,
    /// Fingerprint of the key found (for `KekAssignment`, of the value found).
    pub fingerprint: String,
    /// `offset` counts bytes of gzip-decompressed data.
    pub decompressed: bool,
}

/// Why part of the host could not be judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScanErrorKind {
    /// A read or open failed for another reason.
    Io,
    /// The file or directory disappeared during the scan.
    Vanished,
    /// The file shrank while it was read.
    Changed,
    /// EACCES/EPERM.
    PermissionDenied,
    /// A gzip or tar stream is truncated or malformed.
    Corrupt,
    /// Archives nested deeper than `max_archive_depth`.
    TooDeep,
    /// Decompressed size or ratio limit hit (zip bomb); the rest of the file is skipped.
    DecompressionLimit,
    /// More matches than `max_hits_per_file`; the rest are not listed.
    TooManyMatches,
    /// The directory walk failed here.
    Walk,
    /// A scan option was refused (such as a bad glob).
    Config,
    /// A bug: the engine failed on this file; the scan went on.
    Internal,
}

impl ScanErrorKind {
    /// Lowercase name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ScanErrorKind::Io => "io",
            ScanErrorKind::Vanished => "vanished",
            ScanErrorKind::Changed => "changed",
            ScanErrorKind::PermissionDenied => "permission-denied",
            ScanErrorKind::Corrupt => "corrupt",
            ScanErrorKind::TooDeep => "too-deep",
            ScanErrorKind::DecompressionLimit => "decompression-limit",
            ScanErrorKind::TooManyMatches => "too-many-matches",
            ScanErrorKind::Walk => "walk",
            ScanErrorKind::Config => "config",
            ScanErrorKind::Internal => "internal",
        }
    }
}

/// A path (and member) that could not be scanned completely. The message
/// never holds key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanError {
    /// The file (as found under the scanned root).
    pub path: PathBuf,
    /// Archive member chain, if inside an archive.
    pub member: Option<String>,
    /// What kind of problem.
    pub kind: ScanErrorKind,
    /// What happened (never contains the key).
    pub message: String,
}

/// Running totals, passed to the progress callback about ten times a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Files read so far.
    pub files: u64,
    /// Bytes read so far.
    pub bytes: u64,
}

/// What to scan and how gently.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Directories (or files) to scan; `<root>/{proc,sys,dev,run}` are never entered.
    pub roots: Vec<PathBuf>,
    /// Globs matched against the whole path (`*` stops at `/`, `**` does not).
    pub exclude_globs: Vec<String>,
    /// Files or directories left out, compared as found under the root
    /// (the config files that BAR-006 already reports).
    pub exclude_paths: Vec<PathBuf>,
    /// Worker threads; 0 means the number of cores.
    pub threads: usize,
    /// Stay on the filesystem of each root.
    pub one_file_system: bool,
    /// Decompressed bytes allowed per file, all nesting levels together.
    pub max_decompressed_bytes: u64,
    /// Allowed decompressed : compressed ratio, per gzip stream and per file
    /// (after a 1 MiB allowance).
    pub max_ratio: u64,
    /// Nested archive layers allowed (a gzip or a tar is one layer each: a
    /// tar.gz is 2).
    pub max_archive_depth: usize,
    /// Bytes read and searched at a time (per nesting level and thread).
    pub chunk_size: usize,
    /// Hits listed per file before the rest is summarised in one error.
    pub max_hits_per_file: usize,
    /// Errors listed per file before the rest is summarised in one error.
    pub max_errors_per_file: usize,
    /// The scan cache: files read by an earlier scan with the same KEKs and
    /// unchanged since are not read again; their copies, if any, are
    /// reported from it (see `cache.rs`).
    pub cache: Option<PathBuf>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            roots: vec![PathBuf::from("/")],
            exclude_globs: Vec::new(),
            exclude_paths: Vec::new(),
            threads: default_threads(),
            one_file_system: true,
            max_decompressed_bytes: 1 << 30,
            max_ratio: 200,
            max_archive_depth: 8,
            chunk_size: 256 << 10,
            max_hits_per_file: 1000,
            max_errors_per_file: 100,
            cache: None,
        }
    }
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The outcome of a scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanReport {
    /// Sorted by path, member, offset.
    pub hits: Vec<Hit>,
    /// Sorted by path, member.
    pub errors: Vec<ScanError>,
    /// Regular files examined (read, or known from the scan cache).
    pub files: u64,
    /// Bytes read from disk.
    pub bytes: u64,
    /// Files not read because the scan cache knows them and they are
    /// unchanged (their copies, if any, are in `hits`).
    pub unchanged_files: u64,
    /// Their size.
    pub unchanged_bytes: u64,
    /// Problems with the scan cache (the scan itself is complete).
    pub warnings: Vec<String>,
    /// Entries not read because of their type: symlinks, FIFOs, sockets,
    /// device nodes (also files that became one during the scan).
    pub skipped: u64,
    /// Directories not entered because another filesystem is mounted there
    /// (one filesystem per root: scan them as roots of their own). The
    /// pseudo-filesystems at `<root>/{proc,sys,dev,run}` are not listed.
    pub other_filesystems: Vec<PathBuf>,
}

struct Counters {
    files: AtomicU64,
    bytes: AtomicU64,
    unchanged_files: AtomicU64,
    unchanged_bytes: AtomicU64,
    skipped: AtomicU64,
    last_ms: AtomicU64,
    start: Instant,
}

impl Counters {
    fn progress(&self) -> Progress {
        Progress {
            files: self.files.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }

    fn maybe_report(&self, progress: &(dyn Fn(Progress) + Sync)) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.last_ms.load(Ordering::Relaxed);
        if now >= last + 100
            && self
                .last_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            progress(self.progress());
        }
    }
}

/// Scans `opts.roots` for copies of `needles`.
pub fn scan(
    needles: &[Needle],
    opts: &ScanOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> ScanReport {
    scan_at(needles, opts, progress, std::time::SystemTime::now())
}

/// [`scan`] as if it started at `start` (the scan cache's racy margin counts
/// from it; tests move it forward instead of sleeping).
pub(crate) fn scan_at(
    needles: &[Needle],
    opts: &ScanOptions,
    progress: &(dyn Fn(Progress) + Sync),
    start: std::time::SystemTime,
) -> ScanReport {
    let mut report = ScanReport::default();
    let matcher = match Matcher::new(needles) {
        Ok(m) => m,
        Err(message) => {
            report.errors.push(ScanError {
                path: PathBuf::new(),
                member: None,
                kind: ScanErrorKind::Internal,
                message,
            });
            return report;
        }
    };
    let limits = Limits {
        chunk_size: opts.chunk_size.clamp(4096, MAX_CHUNK),
        max_archive_depth: opts.max_archive_depth,
        max_decompressed_bytes: opts.max_decompressed_bytes,
        max_ratio: opts.max_ratio.max(1),
        max_hits_per_file: opts.max_hits_per_file.max(1),
        max_errors_per_file: opts.max_errors_per_file.max(1),
    };
    let filter = Filter::new(&opts.exclude_paths, &opts.exclude_globs, &mut report.errors);
    let cache = opts.cache.as_ref().map(|p| {
        let known = cache::load(p).unwrap_or_else(|why| {
            report.warnings.push(format!(
                "scan cache {} not used, every file is read: {why}",
                p.display()
            ));
            cache::Entries::default()
        });
        cache::Cache::new(needles, known, start)
    });
    let cache = cache.as_ref();
    let threads = if opts.threads == 0 {
        default_threads()
    } else {
        opts.threads.min(MAX_THREADS)
    };
    let counters = Counters {
        files: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        unchanged_files: AtomicU64::new(0),
        unchanged_bytes: AtomicU64::new(0),
        skipped: AtomicU64::new(0),
        last_ms: AtomicU64::new(0),
        start: Instant::now(),
    };
    // Every thread walks and reads: it pops a directory to list or a batch
    // of files to read from the shared stack (see `walk.rs`).
    let mut walked = walk::WalkOut::default();
    let walk = walk::Walk::new(
        &opts.roots,
        opts.one_file_system,
        cache.is_some_and(|c| c.knows_any()),
        &filter,
        &mut walked,
    );
    let mut walk_errors = std::mem::take(&mut walked.errors);
    let mut outs: Vec<(Out, walk::WalkOut)> = Vec::new();
    let run = |out: &mut Out, w: &mut walk::WalkOut| {
        walk.run(w, |job| {
            scan_job(job, out, &matcher, &limits, cache, &counters);
            counters.maybe_report(progress);
        });
    };
    std::thread::scope(|s| {
        let mut workers = Vec::new();
        for _ in 0..threads {
            let spawned = std::thread::Builder::new()
                .name("kek-scan".into())
                .spawn_scoped(s, || {
                    let mut out = Out::default();
                    let mut w = walk::WalkOut::default();
                    run(&mut out, &mut w);
                    (out, w)
                });
            match spawned {
                Ok(w) => workers.push(w),
                Err(e) => {
                    walk_errors.push(ScanError {
                        path: PathBuf::new(),
                        member: None,
                        kind: ScanErrorKind::Internal,
                        message: format!("cannot start a scan thread ({e}); going on with fewer"),
                    });
                    break;
                }
            }
        }
        // without any worker thread, this thread does the whole scan
        if workers.is_empty() {
            let mut out = Out::default();
            let mut w = walk::WalkOut::default();
            run(&mut out, &mut w);
            outs.push((out, w));
        }
        for w in workers {
            match w.join() {
                Ok(o) => outs.push(o),
                Err(_) => {
                    // the others must not wait for work it will never finish
                    walk.stop();
                    walk_errors.push(ScanError {
                        path: PathBuf::new(),
                        member: None,
                        kind: ScanErrorKind::Internal,
                        message: "a scan worker failed; its findings are lost".into(),
                    });
                }
            }
        }
    });
    report.errors.append(&mut walk_errors);
    let mut known = cache::Entries::default();
    for (mut out, mut w) in outs {
        walked.skipped += w.skipped;
        walked.other_filesystems.append(&mut w.other_filesystems);
        report.errors.append(&mut w.errors);
        report.hits.append(&mut out.hits);
        report.errors.append(&mut out.errors);
        known.clean.append(&mut out.known.clean);
        known.found.append(&mut out.known.found);
    }
    if let Some(p) = &opts.cache {
        if let Err(why) = cache::save(p, known) {
            report.warnings.push(format!(
                "scan cache {} not written, the next scan reads every file: {why}",
                p.display()
            ));
        }
    }
    report.hits.sort_by(|a, b| {
        (&a.path, &a.member, a.offset, a.encoding, &a.fingerprint).cmp(&(
            &b.path,
            &b.member,
            b.offset,
            b.encoding,
            &b.fingerprint,
        ))
    });
    // overlapping roots scan a file twice
    report.hits.dedup();
    report.errors.sort_by(|a, b| {
        (&a.path, &a.member, a.kind, &a.message).cmp(&(&b.path, &b.member, b.kind, &b.message))
    });
    report.errors.dedup();
    report.files = counters.files.load(Ordering::Relaxed);
    report.bytes = counters.bytes.load(Ordering::Relaxed);
    report.unchanged_files = counters.unchanged_files.load(Ordering::Relaxed);
    report.unchanged_bytes = counters.unchanged_bytes.load(Ordering::Relaxed);
    report.skipped = counters.skipped.load(Ordering::Relaxed) + walked.skipped;
    walked.other_filesystems.sort();
    walked.other_filesystems.dedup();
    report.other_filesystems = walked.other_filesystems;
    progress(counters.progress());
    report
}

/// Largest window read at once.
const MAX_CHUNK: usize = 64 << 20;
/// More scan threads than this cannot help a disk.
const MAX_THREADS: usize = 256;

fn scan_job(
    job: &walk::Job,
    out: &mut Out,
    matcher: &Matcher,
    limits: &Limits,
    cache: Option<&cache::Cache>,
    counters: &Counters,
) {
    // A known file is recognised by `lstat` alone: no open, no read.
    // (Only when the cache knows something: a first scan would pay the
    // extra call for every file.)
    if let Some(c) = cache.filter(|c| c.knows_any()) {
        let meta = match &job.meta {
            Some(m) => Ok(m.clone()),
            None => std::fs::symlink_metadata(&job.path),
        };
        if let Ok(m) = meta {
            let k = c.key(&job.path, &m);
            let same_fs = job.dev.is_none_or(|d| d == m.dev());
            if let Some(found) = c.lookup(&k).filter(|_| m.file_type().is_file() && same_fs) {
                counters.files.fetch_add(1, Ordering::Relaxed);
                counters.unchanged_files.fetch_add(1, Ordering::Relaxed);
                counters
                    .unchanged_bytes
                    .fetch_add(m.len(), Ordering::Relaxed);
                if found.is_empty() {
                    out.known.clean.push(k);
                } else {
                    out.hits.extend(found.iter().map(|f| f.to_hit(&job.path)));
                    out.known.found.push((k, found.to_vec()));
                }
                return;
            }
        }
    }
    match walk::open(job) {
        Opened::File(file, meta) => {
            let size = meta.len();
            counters.files.fetch_add(1, Ordering::Relaxed);
            if size < matcher.min_len() as u64 {
                return;
            }
            let key = cache.map(|c| (c, c.key(&job.path, &meta)));
            if size > limits.chunk_size as u64 {
                let _ = nix::fcntl::posix_fadvise(
                    file.as_raw_fd(),
                    0,
                    0,
                    nix::fcntl::PosixFadviseAdvice::POSIX_FADV_SEQUENTIAL,
                );
            }
            let (hits, errors) = (out.hits.len(), out.errors.len());
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                stream::scan_file(matcher, limits, out, &job.path, &file, size)
            }));
            match r {
                Ok(bytes) => {
                    counters.bytes.fetch_add(bytes, Ordering::Relaxed);
                    // remembered only when read to the end without an error
                    let whole = bytes == size && out.errors.len() == errors;
                    if let Some((_, k)) = key.filter(|(c, _)| whole && c.settled(&meta)) {
                        if out.hits.len() == hits {
                            out.known.clean.push(k);
                        } else {
                            let found = out.hits[hits..].iter().map(cache::Found::of).collect();
                            out.known.found.push((k, found));
                        }
                    }
                }
                Err(_) => {
                    // the hits found before the failure are real: keep them
                    out.errors.push(ScanError {
                        path: job.path.clone(),
                        member: None,
                        kind: ScanErrorKind::Internal,
                        message: "internal error while scanning this file".into(),
                    });
                }
            }
        }
        Opened::Skip => {
            counters.skipped.fetch_add(1, Ordering::Relaxed);
        }
        Opened::Failed(e) => out.errors.push(e),
    }
}

#[cfg(test)]
mod tests;
