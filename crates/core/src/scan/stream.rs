//! Scanning one byte stream: a file, a gzip stream, a tar member, nested.
//!
//! Each stream is read in windows of `chunk_size` bytes into a buffer owned
//! by the worker (one buffer per nesting level, reused from file to file), so
//! memory does not depend on file sizes. Consecutive windows overlap by
//! `Matcher::overlap() - 1` bytes and each match start is judged in exactly
//! one window, so a copy across a window border is found once.
//!
//! The first bytes of every stream decide how it is read: gzip, xz, zstd or
//! bzip2 magic → the decompressed stream is scanned (not the compressed
//! bytes), `ustar` magic →
//! each regular member is scanned as its own stream, named in the member
//! chain; anything else is scanned as it is. Decompression is bounded per
//! file (total bytes and ratio to the compressed input) and nesting by
//! `max_archive_depth`.
//!
//! Errors: every reader layer is wrapped in [`Tagged`], which notes the level
//! where a read error first appeared. Levels above it pass the error up; the
//! level it came from records it (with its member chain) and lets its parent
//! go on, e.g. with the next tar member.

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::gz::{GzReader, Inflater};
use super::matcher::Matcher;
use super::tarball::TarReader;
use super::{Hit, ScanError, ScanErrorKind};

/// Decompressed bytes always allowed before the ratio limit applies, so that
/// small, very compressible files (a few KiB of zeros) are not refused.
pub(crate) const RATIO_SLACK: u64 = 1 << 20;

/// Limits for one file, from `ScanOptions`.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub chunk_size: usize,
    pub max_archive_depth: usize,
    pub max_decompressed_bytes: u64,
    pub max_ratio: u64,
    pub max_hits_per_file: usize,
    pub max_errors_per_file: usize,
}

/// Where a read error first appeared.
#[derive(Debug, Clone)]
struct Origin {
    level: usize,
    kind: ScanErrorKind,
    message: String,
}

/// State shared by the reader layers of one file (single thread).
struct Env<'a> {
    matcher: &'a Matcher,
    limits: &'a Limits,
    file_size: u64,
    origin: RefCell<Option<Origin>>,
    /// Set by a decompression limit: the whole file stops.
    fatal: RefCell<Option<(ScanErrorKind, String, Option<String>)>>,
    decompressed: Cell<u64>,
}

/// Per-worker buffers and the findings of the current file.
#[derive(Default)]
pub(crate) struct Out {
    bufs: Vec<Vec<u8>>,
    inflaters: Vec<Option<Inflater>>,
    pub hits: Vec<Hit>,
    pub errors: Vec<ScanError>,
    /// What the scan cache will remember (see `cache.rs`).
    pub known: super::cache::Entries,
    file_hits: usize,
    file_errors: usize,
    dropped_hits: usize,
    dropped_errors: usize,
    max_errors: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// Go on.
    Continue,
    /// A read error from an outer level: that level records it.
    Up,
    /// A limit was hit: stop the whole file (already recorded).
    Stop,
}

/// A reader layer that notes the level of the first error it sees.
struct Tagged<'e, R> {
    inner: R,
    level: usize,
    origin: &'e RefCell<Option<Origin>>,
}

impl<R: Read> Read for Tagged<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Err(e) if e.kind() != io::ErrorKind::Interrupted => {
                let mut o = self.origin.borrow_mut();
                if o.is_none() {
                    *o = Some(Origin {
                        level: self.level,
                        kind: classify(&e),
                        message: e.to_string(),
                    });
                }
                Err(e)
            }
            r => r,
        }
    }
}

/// Counts the bytes a decoder takes from its input.
struct Counting<'c, R> {
    inner: R,
    count: &'c Cell<u64>,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Enforces the decompression limits on what a decoder produces.
struct Limited<'e, 'a, R> {
    inner: R,
    env: &'e Env<'a>,
    /// Compressed bytes consumed by the decoder.
    consumed: &'e Cell<u64>,
    produced: u64,
    chain: Option<String>,
}

impl<R: Read> Read for Limited<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let l = self.env.limits;
        self.produced += n as u64;
        let total = self.env.decompressed.get() + n as u64;
        self.env.decompressed.set(total);
        let ratio_cap = |input: u64| {
            input
                .saturating_mul(l.max_ratio)
                .saturating_add(RATIO_SLACK)
        };
        let refused = if total > l.max_decompressed_bytes {
            Some(format!(
                "decompressed data exceeds the limit of {} bytes; rest of the file not scanned",
                l.max_decompressed_bytes
            ))
        } else if self.produced > ratio_cap(self.consumed.get())
            || total > ratio_cap(self.env.file_size)
        {
            Some(format!(
                "decompression ratio exceeds {}:1 (zip bomb?); rest of the file not scanned",
                l.max_ratio
            ))
        } else {
            None
        };
        match refused {
            Some(msg) => {
                let mut f = self.env.fatal.borrow_mut();
                if f.is_none() {
                    *f = Some((ScanErrorKind::DecompressionLimit, msg, self.chain.clone()));
                }
                Err(io::Error::other("decompression limit"))
            }
            None => Ok(n),
        }
    }
}

/// The top-level file: reads at most the size it had when opened (a growing
/// log does not keep the scan going) and reports a file that shrank.
struct FileReader<'f> {
    file: &'f File,
    size: u64,
    read: u64,
}

impl Read for FileReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.size - self.read;
        if left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = (&*self.file).read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                ShrankError {
                    size: self.size,
                    read: self.read,
                },
            ));
        }
        self.read += n as u64;
        Ok(n)
    }
}

#[derive(Debug)]
struct ShrankError {
    size: u64,
    read: u64,
}

impl std::fmt::Display for ShrankError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "file shrank during the scan: {} bytes read of {} when it was opened",
            self.read, self.size
        )
    }
}

impl std::error::Error for ShrankError {}

pub(crate) fn classify(e: &io::Error) -> ScanErrorKind {
    if e.get_ref().is_some_and(|r| r.is::<ShrankError>()) {
        return ScanErrorKind::Changed;
    }
    match e.kind() {
        io::ErrorKind::NotFound => ScanErrorKind::Vanished,
        io::ErrorKind::PermissionDenied => ScanErrorKind::PermissionDenied,
        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::UnexpectedEof => {
            ScanErrorKind::Corrupt
        }
        _ => ScanErrorKind::Io,
    }
}

impl Out {
    fn take_buf(&mut self, level: usize, len: usize) -> Vec<u8> {
        if self.bufs.len() <= level {
            self.bufs.resize_with(level + 1, Vec::new);
        }
        let mut b = std::mem::take(&mut self.bufs[level]);
        if b.len() != len {
            b = vec![0; len];
        }
        b
    }

    fn put_buf(&mut self, level: usize, b: Vec<u8>) {
        self.bufs[level] = b;
    }

    fn take_inflater(&mut self, level: usize) -> Inflater {
        if self.inflaters.len() <= level {
            self.inflaters.resize_with(level + 1, || None);
        }
        self.inflaters[level].take().unwrap_or_default()
    }

    fn put_inflater(&mut self, level: usize, i: Inflater) {
        self.inflaters[level] = Some(i);
    }

    fn error(&mut self, path: &Path, member: Option<&str>, kind: ScanErrorKind, message: String) {
        if self.file_errors >= self.max_errors {
            self.dropped_errors += 1;
            return;
        }
        self.file_errors += 1;
        self.errors.push(ScanError {
            path: path.to_path_buf(),
            member: member.map(str::to_owned),
            kind,
            message,
        });
    }

    fn begin_file(&mut self, max_errors: usize) {
        self.file_hits = 0;
        self.file_errors = 0;
        self.dropped_hits = 0;
        self.dropped_errors = 0;
        self.max_errors = max_errors;
    }
}

/// Scans an open regular file of `size` bytes (as `fstat` said when it was
/// opened) and appends its hits and errors to `out`; returns the bytes read.
pub(crate) fn scan_file(
    matcher: &Matcher,
    limits: &Limits,
    out: &mut Out,
    path: &Path,
    file: &File,
    size: u64,
) -> u64 {
    let mut fr = FileReader {
        file,
        size,
        read: 0,
    };
    scan_reader(matcher, limits, out, path, &mut fr, size);
    fr.read
}

/// Scans the stream `r` (the content of `path`, `size` bytes long as far as
/// the ratio limit is concerned).
pub(crate) fn scan_reader(
    matcher: &Matcher,
    limits: &Limits,
    out: &mut Out,
    path: &Path,
    r: &mut dyn Read,
    size: u64,
) {
    out.begin_file(limits.max_errors_per_file);
    let env = Env {
        matcher,
        limits,
        file_size: size,
        origin: RefCell::new(None),
        fatal: RefCell::new(None),
        decompressed: Cell::new(0),
    };
    {
        let mut top = Tagged {
            inner: r,
            level: 0,
            origin: &env.origin,
        };
        let ctx = Ctx { env: &env, path };
        let _ = ctx.stream(out, &mut top, 0, None, false);
    }
    if out.dropped_hits > 0 {
        let msg = format!(
            "more than {} matches in this file; {} further matches not listed",
            limits.max_hits_per_file, out.dropped_hits
        );
        out.file_errors = 0; // always room for the summary
        out.error(path, None, ScanErrorKind::TooManyMatches, msg);
    }
    if out.dropped_errors > 0 {
        let msg = format!(
            "{} further errors in this file not listed",
            out.dropped_errors
        );
        out.file_errors = 0;
        out.error(path, None, ScanErrorKind::Io, msg);
    }
}

struct Ctx<'e, 'a> {
    env: &'e Env<'a>,
    path: &'e Path,
}

impl Ctx<'_, '_> {
    fn hit(
        &self,
        out: &mut Out,
        chain: Option<&str>,
        ev: super::matcher::Event,
        base: u64,
        decompressed: bool,
    ) {
        if out.file_hits >= self.env.limits.max_hits_per_file {
            out.dropped_hits += 1;
            return;
        }
        out.file_hits += 1;
        out.hits.push(Hit {
            path: self.path.to_path_buf(),
            member: chain.map(str::to_owned),
            encoding: ev.encoding,
            offset: base + ev.pos as u64,
            fingerprint: self.env.matcher.fingerprint_of(&ev.fp),
            decompressed,
        });
    }

    /// A read at `level` failed with `e`: record it here if it came from
    /// this level, else pass it up.
    fn read_failed(&self, out: &mut Out, level: usize, chain: Option<&str>, e: &io::Error) -> Flow {
        if let Some((kind, msg, at)) = self.env.fatal.borrow_mut().take() {
            out.error(self.path, at.as_deref().or(chain), kind, msg);
            return Flow::Stop;
        }
        let origin = self.env.origin.borrow().clone();
        match origin {
            Some(o) if o.level < level => Flow::Up,
            Some(o) => {
                *self.env.origin.borrow_mut() = None;
                out.error(
                    self.path,
                    chain,
                    o.kind,
                    self.env.matcher.redact(&o.message),
                );
                Flow::Continue
            }
            // no reader layer failed: the archive parser itself refused the data
            None => {
                out.error(
                    self.path,
                    chain,
                    ScanErrorKind::Corrupt,
                    self.env.matcher.redact(&e.to_string()),
                );
                Flow::Continue
            }
        }
    }

    /// A child stream of `level` ended with `flow`.
    fn after_child(&self, out: &mut Out, level: usize, chain: Option<&str>, flow: Flow) -> Flow {
        match flow {
            Flow::Up => {
                let e = io::Error::other("read error");
                self.read_failed(out, level, chain, &e)
            }
            f => f,
        }
    }

    fn stream(
        &self,
        out: &mut Out,
        r: &mut dyn Read,
        level: usize,
        chain: Option<&str>,
        decompressed: bool,
    ) -> Flow {
        let len = self.env.limits.chunk_size + self.env.matcher.overlap();
        let mut buf = out.take_buf(level, len);
        let flow = self.stream_in(out, r, &mut buf, level, chain, decompressed);
        out.put_buf(level, buf);
        flow
    }

    fn stream_in(
        &self,
        out: &mut Out,
        r: &mut dyn Read,
        buf: &mut [u8],
        level: usize,
        chain: Option<&str>,
        decompressed: bool,
    ) -> Flow {
        let mut have = 0;
        let (mut eof, mut err) = match fill(r, buf, &mut have) {
            Ok(eof) => (eof, None),
            Err(e) => (true, Some(e)),
        };
        if err.is_none() {
            if have >= 3 && buf[..3] == [0x1f, 0x8b, 0x08] {
                let mut rest = (&buf[..have]).chain(r);
                return self.gzip(out, &mut rest, level, chain);
            }
            if let Some(codec) = Codec::sniff(&buf[..have]) {
                let mut rest = (&buf[..have]).chain(r);
                return self.decompress(out, &mut rest, level, chain, codec);
            }
            if have >= 262 && &buf[257..262] == b"ustar" {
                let mut rest = (&buf[..have]).chain(r);
                return self.tar(out, &mut rest, level, chain, decompressed);
            }
        }
        let ov = self.env.matcher.overlap();
        let mut base = 0u64;
        loop {
            let limit = if eof { have } else { have + 1 - ov };
            self.env.matcher.scan(&buf[..have], limit, |ev| {
                self.hit(out, chain, ev, base, decompressed)
            });
            if eof {
                break;
            }
            buf.copy_within(limit..have, 0);
            have -= limit;
            base += limit as u64;
            match fill(r, buf, &mut have) {
                Ok(e) => eof = e,
                Err(e) => {
                    eof = true;
                    err = Some(e);
                }
            }
        }
        match err {
            Some(e) => self.read_failed(out, level, chain, &e),
            None => Flow::Continue,
        }
    }

    fn too_deep(&self, out: &mut Out, level: usize, chain: Option<&str>) -> bool {
        if level < self.env.limits.max_archive_depth {
            return false;
        }
        let msg = format!(
            "archive nested deeper than {} levels; inner content not scanned",
            self.env.limits.max_archive_depth
        );
        out.error(self.path, chain, ScanErrorKind::TooDeep, msg);
        true
    }

    fn gzip(&self, out: &mut Out, r: &mut dyn Read, level: usize, chain: Option<&str>) -> Flow {
        if self.too_deep(out, level, chain) {
            return Flow::Continue;
        }
        let consumed = Cell::new(0u64);
        let mut inflater = out.take_inflater(level);
        let flow = {
            let dec = GzReader::new(
                Counting {
                    inner: r,
                    count: &consumed,
                },
                &mut inflater,
            );
            self.decoded(out, dec, &consumed, level, chain)
        };
        out.put_inflater(level, inflater);
        self.after_child(out, level, chain, flow)
    }

    /// Scans what decoder `dec` of a `level` stream produces, as the stream
    /// of `level + 1`, under the decompression limits (`consumed` counts the
    /// compressed bytes `dec` has taken).
    fn decoded(
        &self,
        out: &mut Out,
        dec: impl Read,
        consumed: &Cell<u64>,
        level: usize,
        chain: Option<&str>,
    ) -> Flow {
        let limited = Limited {
            inner: dec,
            env: self.env,
            consumed,
            produced: 0,
            chain: chain.map(str::to_owned),
        };
        let mut child = Tagged {
            inner: limited,
            level: level + 1,
            origin: &self.env.origin,
        };
        self.stream(out, &mut child, level + 1, chain, true)
    }

    /// An xz, zstd or bzip2 layer: like [`Self::gzip`], with the codec's
    /// own decoder (state allocated per stream: these are rare next to gzip).
    fn decompress(
        &self,
        out: &mut Out,
        r: &mut dyn Read,
        level: usize,
        chain: Option<&str>,
        codec: Codec,
    ) -> Flow {
        if self.too_deep(out, level, chain) {
            return Flow::Continue;
        }
        let consumed = Cell::new(0u64);
        let src = Counting {
            inner: r,
            count: &consumed,
        };
        let dec: Box<dyn Read + '_> = match codec.decoder(src) {
            Ok(d) => d,
            Err(e) => {
                out.error(self.path, chain, ScanErrorKind::Io, codec.failed(&e));
                return Flow::Continue;
            }
        };
        let dec = CodecErrors {
            inner: dec,
            codec,
            env: self.env,
            chain,
        };
        let flow = self.decoded(out, dec, &consumed, level, chain);
        self.after_child(out, level, chain, flow)
    }

    fn tar(
        &self,
        out: &mut Out,
        r: &mut dyn Read,
        level: usize,
        chain: Option<&str>,
        decompressed: bool,
    ) -> Flow {
        if self.too_deep(out, level, chain) {
            return Flow::Continue;
        }
        let mut archive = TarReader::new(r);
        loop {
            let m = match archive.next_member() {
                Ok(Some(m)) => m,
                Ok(None) => return Flow::Continue,
                Err(e) => return self.read_failed(out, level, chain, &e),
            };
            if !m.is_file {
                continue;
            }
            let name = self.env.matcher.redact(&String::from_utf8_lossy(&m.name));
            let member = match chain {
                Some(c) => format!("{c}!{name}"),
                None => name,
            };
            let mut child = Tagged {
                inner: archive.data(),
                level: level + 1,
                origin: &self.env.origin,
            };
            match self.stream(out, &mut child, level + 1, Some(&member), decompressed) {
                Flow::Continue => {}
                Flow::Stop => return Flow::Stop,
                // this archive's own stream failed: record it here (or pass
                // it further up) and stop reading the archive
                Flow::Up => return self.after_child(out, level, chain, Flow::Up),
            }
        }
    }
}

/// Memory an xz stream may ask for: every `xz -0`..`-9e` preset fits (the
/// decoder of `-9` needs 65 MiB); a file that asks for more is an error.
const XZ_MEMLIMIT: u64 = 72 << 20;
/// Largest zstd window accepted (128 MiB): what `zstd -d` accepts without
/// `--memory`, so `--ultra -22` and `--long` files are read.
const ZSTD_WINDOW_LOG_MAX: u32 = 27;

/// The compressed formats besides gzip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    Xz,
    Zstd,
    Bzip2,
}

impl Codec {
    /// The format whose magic `head` starts with, if any.
    pub(crate) fn sniff(head: &[u8]) -> Option<Codec> {
        const BZ_BLOCK: [u8; 6] = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
        const BZ_END: [u8; 6] = [0x17, 0x72, 0x45, 0x38, 0x50, 0x90];
        if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Some(Codec::Xz)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Codec::Zstd)
        } else if head.len() >= 10
            && head.starts_with(b"BZh")
            && (b'1'..=b'9').contains(&head[3])
            && (head[4..10] == BZ_BLOCK || head[4..10] == BZ_END)
        {
            Some(Codec::Bzip2)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Codec::Xz => "xz",
            Codec::Zstd => "zstd",
            Codec::Bzip2 => "bzip2",
        }
    }

    fn decoder<'r, R: Read + 'r>(self, src: R) -> io::Result<Box<dyn Read + 'r>> {
        Ok(match self {
            Codec::Xz => {
                let s = liblzma::stream::Stream::new_stream_decoder(
                    XZ_MEMLIMIT,
                    liblzma::stream::CONCATENATED,
                )?;
                Box::new(liblzma::read::XzDecoder::new_stream(src, s))
            }
            Codec::Zstd => {
                let mut d = zstd::stream::read::Decoder::new(src)?;
                d.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
                Box::new(d)
            }
            Codec::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(src)),
        })
    }

    fn failed(self, e: &io::Error) -> String {
        format!("cannot start the {} decoder: {e}", self.name())
    }

    /// Whether `e` from this decoder means "needs more memory than allowed".
    fn over_memory(self, e: &io::Error) -> bool {
        match self {
            Codec::Xz => e
                .get_ref()
                .and_then(|r| r.downcast_ref::<liblzma::stream::Error>())
                .is_some_and(|x| matches!(x, liblzma::stream::Error::MemLimit)),
            // ZSTD_error_frameParameter_windowTooLarge
            Codec::Zstd => e.to_string().contains("too much memory"),
            Codec::Bzip2 => false,
        }
    }
}

/// Gives a codec's errors the kind and wording of the scan's: a decoder
/// that needs too much memory stops the file as a decompression limit, bad
/// data is `InvalidData` ("corrupt xz stream: ..."). Errors of the source
/// below were already recorded at their own level, so rewording them here
/// changes nothing.
struct CodecErrors<'e, 'a, 'c, R> {
    inner: R,
    codec: Codec,
    env: &'e Env<'a>,
    chain: Option<&'c str>,
}

impl<R: Read> Read for CodecErrors<'_, '_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::Interrupted {
                return e;
            }
            if self.codec.over_memory(&e) {
                let limit = match self.codec {
                    Codec::Xz => format!("{} MiB", XZ_MEMLIMIT >> 20),
                    _ => format!("a window of {} MiB", (1u64 << ZSTD_WINDOW_LOG_MAX) >> 20),
                };
                let mut f = self.env.fatal.borrow_mut();
                if f.is_none() {
                    *f = Some((
                        ScanErrorKind::DecompressionLimit,
                        format!(
                            "the {} stream needs more memory to decompress than {limit}; not scanned",
                            self.codec.name()
                        ),
                        self.chain.map(str::to_owned),
                    ));
                }
                return io::Error::other("decompression limit");
            }
            let kind = match e.kind() {
                io::ErrorKind::UnexpectedEof => io::ErrorKind::UnexpectedEof,
                _ => io::ErrorKind::InvalidData,
            };
            io::Error::new(kind, format!("corrupt {} stream: {e}", self.codec.name()))
        })
    }
}

/// Reads until `buf` is full (`Ok(false)`) or the stream ends (`Ok(true)`).
pub(crate) fn fill(r: &mut dyn Read, buf: &mut [u8], have: &mut usize) -> io::Result<bool> {
    while *have < buf.len() {
        match r.read(&mut buf[*have..]) {
            Ok(0) => return Ok(true),
            Ok(n) => *have += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{Encoding, Needle};
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use std::io::Write;

    fn key() -> [u8; 32] {
        let mut k: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(151).wrapping_add(7));
        k[3] = b'\n';
        k
    }

    fn limits(chunk: usize) -> Limits {
        Limits {
            chunk_size: chunk,
            max_archive_depth: 8,
            max_decompressed_bytes: 1 << 30,
            max_ratio: 200,
            max_hits_per_file: 1000,
            max_errors_per_file: 100,
        }
    }

    /// Returns at most `step` bytes per read, then fails if `fail` is set.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
        fail: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.data.is_empty() && self.fail {
                return Err(io::Error::other("device error"));
            }
            let n = buf.len().min(self.step).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn run(data: &[u8], chunk: usize, step: usize, fail: bool) -> Out {
        let m = Matcher::new(&[Needle::from_raw(key())]).unwrap();
        let mut out = Out::default();
        let mut r = Trickle { data, step, fail };
        scan_reader(
            &m,
            &limits(chunk),
            &mut out,
            Path::new("f"),
            &mut r,
            data.len() as u64,
        );
        out
    }

    #[test]
    fn match_across_every_window_border_position() {
        let chunk = 4096;
        let m = Matcher::new(&[Needle::from_raw(key())]).unwrap();
        let ov = m.overlap();
        let enc = STANDARD.encode(key());
        for needle in [key().to_vec(), enc.clone().into_bytes()] {
            // first window holds chunk + ov bytes, later ones advance by chunk + 1
            for at in
                (chunk + 1 - needle.len()..chunk + ov + 2).chain(2 * chunk - 60..2 * chunk + 60)
            {
                let mut data = vec![b'.'; 3 * chunk + 500];
                data[at..at + needle.len()].copy_from_slice(&needle);
                for step in [usize::MAX, 1000, 1] {
                    let out = run(&data, chunk, step, false);
                    let offs: Vec<u64> = out.hits.iter().map(|h| h.offset).collect();
                    assert_eq!(offs, vec![at as u64], "at {at} step {step}");
                }
            }
        }
        let _ = enc;
    }

    #[test]
    fn read_error_keeps_earlier_hits_and_is_recorded() {
        let mut data = vec![b' '; 10_000];
        data[100..132].copy_from_slice(&key());
        let out = run(&data, 4096, 3000, true);
        assert_eq!(out.hits.len(), 1);
        assert_eq!(out.errors.len(), 1);
        assert_eq!(out.errors[0].kind, ScanErrorKind::Io);
        assert_eq!(out.errors[0].member, None);
    }

    #[test]
    fn shrinking_file_is_an_error() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&[b'x'; 5000]).unwrap();
        f.write_all(&key()).unwrap();
        let m = Matcher::new(&[Needle::from_raw(key())]).unwrap();
        let mut out = Out::default();
        // fstat said 9000 bytes, only 5032 are there now
        let mut fr = FileReader {
            file: &f,
            size: 9000,
            read: 0,
        };
        use std::io::Seek;
        (&f).rewind().unwrap();
        scan_reader(&m, &limits(4096), &mut out, Path::new("f"), &mut fr, 9000);
        assert_eq!(out.hits.len(), 1, "hit before the end still reported");
        assert_eq!(out.hits[0].encoding, Encoding::Raw);
        assert_eq!(out.errors.len(), 1);
        assert_eq!(out.errors[0].kind, ScanErrorKind::Changed);
        assert!(
            out.errors[0].message.contains("shrank"),
            "{}",
            out.errors[0].message
        );
    }

    #[test]
    fn failing_member_source_is_reported_once_at_its_level() {
        // a tar whose underlying stream fails in the middle of a member
        let mut b = tar::Builder::new(Vec::new());
        let mut body = vec![b'-'; 20_000];
        body[10..42].copy_from_slice(&key());
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "etc/a.conf", &body[..]).unwrap();
        let t = b.into_inner().unwrap();
        let out = run(&t[..6000], 4096, usize::MAX, true);
        assert_eq!(out.hits.len(), 1);
        assert_eq!(out.hits[0].member.as_deref(), Some("etc/a.conf"));
        assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
        assert_eq!(out.errors[0].member, None, "the file's own read failed");
    }

    /// `text` cut into lines of `width` characters ending in `nl`.
    fn wrapped(text: &str, width: usize, nl: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for line in text.as_bytes().chunks(width) {
            out.extend_from_slice(line);
            out.extend_from_slice(nl.as_bytes());
        }
        out
    }

    #[test]
    fn wrapped_copies_across_every_window_border_position() {
        let m = Matcher::new(&[Needle::from_raw(key())]).unwrap();
        let ov = m.overlap();
        let mut blob = vec![0x11u8; 100];
        blob.extend_from_slice(&key());
        blob.extend_from_slice(&[0x22; 100]);
        let conf = format!("[simple_crypto_plugin]\nkek = {}\n", STANDARD.encode(key()));
        let hex: String = blob.iter().map(|b| format!("{b:02x}")).collect();
        let cases = [
            // base64 | MIME: 76 columns, CRLF
            (
                wrapped(&STANDARD.encode(&blob), 76, "\r\n"),
                Encoding::Base64Embedded,
                40,
            ),
            // PEM / openssl base64: 64 columns
            (
                wrapped(&STANDARD.encode(&conf), 64, "\n"),
                Encoding::Base64Double,
                52,
            ),
            // xxd -p: 60 columns
            (wrapped(&hex, 60, "\n"), Encoding::HexLower, 64),
            // and lines of 7 characters, indented
            (
                wrapped(&STANDARD.encode(&blob), 7, "\n   "),
                Encoding::Base64Embedded,
                40,
            ),
            // the worst case the overlap must cover: one character per
            // line, CRLF and 16 blanks after every line break
            (
                wrapped(&hex, 1, &format!("\r\n{}", " ".repeat(16))),
                Encoding::HexLower,
                64,
            ),
        ];
        for (text, encoding, len) in &cases {
            // the reference: one window, the key across a line break
            let whole = run(text, 1 << 20, usize::MAX, false);
            assert_eq!(whole.hits.len(), 1, "{encoding:?}");
            assert_eq!(whole.hits[0].encoding, *encoding);
            let off = whole.hits[0].offset as usize;
            let span = text[off..].iter().position(|&b| b == b'\n').unwrap();
            assert!(span < *len, "{encoding:?}: the copy crosses a line break");
            // The first window holds chunk + overlap bytes and judges
            // starts before chunk + 1, later ones advance by chunk: every
            // position of the copy against the borders, and against the
            // end of the first window.
            for chunk in [64usize, 1000] {
                let leads = (0..2 * chunk).chain(chunk + ov - 200..chunk + ov + 20);
                for lead in leads {
                    let mut data = vec![b'.'; lead];
                    data.push(b'\n');
                    data.extend_from_slice(text);
                    data.extend_from_slice(b"tail\n");
                    for step in [usize::MAX, 13] {
                        let out = run(&data, chunk, step, false);
                        let got: Vec<(u64, Encoding)> =
                            out.hits.iter().map(|h| (h.offset, h.encoding)).collect();
                        assert_eq!(
                            got,
                            vec![((lead + 1 + off) as u64, *encoding)],
                            "chunk {chunk} lead {lead} step {step}"
                        );
                    }
                }
            }
        }
    }
}
