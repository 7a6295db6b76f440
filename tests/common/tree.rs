//! The project's own test tree: a deterministic, host-like directory tree
//! with copies of a KEK planted in every encoding and container the disk scan
//! looks into, decoys that the scan must report as other keys (or not at
//! all), filler shaped like a Debian root (many small files, many
//! directories, many `.gz`), symlink aliases, and a [`Manifest`] of every
//! plant (path, archive member, encoding, offset, fingerprint) that the
//! tests compare the scan with.
//!
//! Used as a module by the scan tests (`#[path = "common/tree.rs"] mod
//! tree;`) and by `examples/make_tree.rs` (for `benches/scan.sh`). Nothing
//! outside the repository is read: all content comes from fixed text and a
//! fixed-seed PRNG, and every entry gets the same mtime, so the same options
//! give the same tree: integer arithmetic only, compressed bytes from the
//! locked flate2, zstd, bzip2 and liblzma crates (liblzma-sys builds its
//! bundled source unless pkg-config finds a system liblzma, whose xz bytes
//! could differ; decompressed contents, and so every manifest offset, never
//! depend on the machine).
//!
//! Encoding names are the scan's (`Encoding::as_str`). Offsets follow the
//! scan's rules: in the file, or in the innermost archive member or
//! decompressed stream; for a key inside a longer base64 text, the first
//! character that depends on the key alone.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::engine::GeneralPurpose;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// mtime of every entry: 2024-01-01T00:00:00Z.
pub const MTIME: i64 = 1_704_067_200;
/// Barbican's published sample KEK (`barbican.conf.sample`, commented out).
pub const UPSTREAM_SAMPLE_KEK: &str = "dGhpcnR5X3R3b19ieXRlX2tleWJsYWhibGFoYmxhaGg=";
/// The scan reads files in windows of this size (its default `chunk_size`):
/// one plant straddles a window border.
const WINDOW: usize = 256 << 10;

/// What a manifest row stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// The KEK in `etc/barbican/barbican.conf`: the config itself (BAR-006's
    /// finding; the `scan` command leaves it out, the library finds it).
    Config,
    /// A copy of the KEK.
    Plant,
    /// `kek = <another key>`: reported as `kek-assignment` with the
    /// fingerprint of that key, never as the KEK.
    Decoy,
    /// Looks like the KEK but is not (one character off, truncated, another
    /// key without `kek =`): nothing may be reported in this file.
    NearMiss,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Config => "config",
            Kind::Plant => "plant",
            Kind::Decoy => "decoy",
            Kind::NearMiss => "near-miss",
        }
    }

    fn prefix(self) -> char {
        match self {
            Kind::Config => 'C',
            Kind::Plant => 'P',
            Kind::Decoy => 'D',
            Kind::NearMiss => 'N',
        }
    }
}

/// One row of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Plant {
    pub id: String,
    /// Relative to the tree, `/`-separated.
    pub path: String,
    /// Archive member chain as the scan names it (`a.tar.gz!etc/x.conf`).
    pub member: Option<String>,
    /// The scan's encoding name; [`WRAPPED`]; `-` for near misses.
    pub encoding: String,
    pub offset: u64,
    /// The offset counts decompressed bytes.
    pub decompressed: bool,
    pub kind: Kind,
    /// Of the key written there (`-` for near misses).
    pub fingerprint: String,
    pub note: String,
}

impl Plant {
    /// The top-level directory of the tree that holds it.
    pub fn top(&self) -> &str {
        self.path.split('/').next().unwrap_or_default()
    }

    /// The finding's subject as reports show it: `/path` or `/path!member`.
    pub fn subject(&self) -> String {
        match &self.member {
            Some(m) => format!("/{}!{m}", self.path),
            None => format!("/{}", self.path),
        }
    }

    /// A copy of the KEK (the config included).
    pub fn is_copy(&self) -> bool {
        matches!(self.kind, Kind::Config | Kind::Plant)
    }

    /// Whether a scan must report it: copies (wrapped base64 included)
    /// and decoys; never a near miss.
    pub fn expected(&self) -> bool {
        self.kind != Kind::NearMiss
    }
}

/// A symlink in the tree (the scan never follows them).
#[derive(Debug, Clone)]
pub struct Link {
    pub path: String,
    pub target: String,
    pub note: &'static str,
}

/// What the finished tree holds.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub files: u64,
    pub bytes: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub fifos: u64,
    pub gz_files: u64,
    pub hidden_files: u64,
    /// SHA-256 over the sorted (type, size, path) list.
    pub layout_digest: String,
    /// SHA-256 over the sorted paths and every file's bytes.
    pub content_digest: String,
}

/// Every plant, decoy, near miss and link of a tree.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub scale: f64,
    pub kek_fingerprint: String,
    pub rows: Vec<Plant>,
    pub links: Vec<Link>,
    pub stats: Stats,
}

impl Manifest {
    /// The copies of the KEK (the config included).
    pub fn copies(&self) -> impl Iterator<Item = &Plant> {
        self.rows.iter().filter(|r| r.is_copy())
    }

    /// The top-level directories holding a copy that a scan must find.
    pub fn top_dirs(&self) -> BTreeSet<&str> {
        self.copies()
            .filter(|r| r.expected())
            .map(Plant::top)
            .collect()
    }

    /// The manifest as TSV: `#` header lines, then one row per plant and link.
    pub fn to_tsv(&self) -> String {
        let s = &self.stats;
        let mut out = String::new();
        let _ = writeln!(out, "# barbican-audit test tree v1 (tests/common/tree.rs)");
        let _ = writeln!(out, "# scale\t{}", self.scale);
        let _ = writeln!(out, "# kek_fingerprint\t{}", self.kek_fingerprint);
        for (k, v) in [
            ("files", s.files),
            ("bytes", s.bytes),
            ("dirs", s.dirs),
            ("symlinks", s.symlinks),
            ("fifos", s.fifos),
            ("gz_files", s.gz_files),
            ("hidden_files", s.hidden_files),
        ] {
            let _ = writeln!(out, "# {k}\t{v}");
        }
        let _ = writeln!(out, "# layout_digest\t{}", s.layout_digest);
        let _ = writeln!(out, "# content_digest\t{}", s.content_digest);
        out.push_str(
            "id\ttop\tpath\tmember\tencoding\toffset\tdecompressed\tkind\tfingerprint\tnote\n",
        );
        for r in &self.rows {
            let _ = writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                r.id,
                r.top(),
                r.path,
                r.member.as_deref().unwrap_or("-"),
                r.encoding,
                r.offset,
                if r.decompressed { "yes" } else { "no" },
                r.kind.as_str(),
                r.fingerprint,
                r.note
            );
        }
        for (i, l) in self.links.iter().enumerate() {
            let top = l.path.split('/').next().unwrap_or_default();
            let _ = writeln!(
                out,
                "L{:02}\t{top}\t{}\t-\t-\t-\t-\tlink\t-\t-> {}: {}",
                i + 1,
                l.path,
                l.target,
                l.note
            );
        }
        out
    }
}

/// What to build.
#[derive(Debug, Clone)]
pub struct Options {
    /// Size multiplier: 1 is about 840 MB in 18,300 files (6,000 of them
    /// `.gz`); 0.05 about 40 MB for tests.
    pub scale: f64,
    /// The KEK planted.
    pub kek: [u8; 32],
    /// Also a FIFO (a scan that opens it blocks).
    pub fifo: bool,
}

impl Options {
    pub fn new(scale: f64) -> Options {
        Options {
            scale,
            kek: default_kek(),
            fifo: false,
        }
    }
}

/// The fixture KEK: the first SHA-256 of "barbican-audit test tree KEK <n>"
/// whose bytes hold a 0x0a (like 12% of random keys: a line-based reader
/// would split it) and whose standard base64 has both `+` and `/` (so that
/// the standard and urlsafe forms differ).
pub fn default_kek() -> [u8; 32] {
    let mut n = 0u32;
    loop {
        let k: [u8; 32] = Sha256::digest(format!("barbican-audit test tree KEK {n}")).into();
        let std = STANDARD.encode(k);
        if k.contains(&0x0a) && std.contains('+') && std.contains('/') {
            return k;
        }
        n += 1;
    }
}

/// `sha256:` + the first 12 hex digits of SHA-256(raw), as reports show keys.
pub fn fingerprint(raw: &[u8]) -> String {
    let d = Sha256::digest(raw);
    let hex: String = d.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Builds the tree in `dir` (absent or empty) with [`default_kek`] or `kek`.
pub fn make_tree(dir: &Path, scale: f64, kek: &[u8; 32]) -> io::Result<Manifest> {
    make_tree_with(
        dir,
        &Options {
            scale,
            kek: *kek,
            fifo: false,
        },
    )
}

/// Builds the tree in `dir`, which must not exist or be empty.
pub fn make_tree_with(dir: &Path, opts: &Options) -> io::Result<Manifest> {
    if !(opts.scale > 0.0 && opts.scale.is_finite()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("scale must be a positive number, got {}", opts.scale),
        ));
    }
    fs::create_dir_all(dir)?;
    if fs::read_dir(dir)?.next().is_some() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not empty", dir.display()),
        ));
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
    let mut g = Gen {
        root: dir.to_path_buf(),
        k: Forms::new(opts.kek),
        scale: opts.scale,
        rows: Vec::new(),
        links: Vec::new(),
        counters: [0; 4],
    };
    g.host_files()?;
    g.plants()?;
    g.big_files()?;
    g.filler()?;
    g.links()?;
    if opts.fifo {
        nix::unistd::mkfifo(
            &dir.join("var/lib/barbican/worker.fifo"),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .map_err(io::Error::from)?;
    }
    let stats = finish(dir)?;
    Ok(Manifest {
        scale: opts.scale,
        kek_fingerprint: g.k.fp.clone(),
        rows: g.rows,
        links: g.links,
        stats,
    })
}

// ---------------------------------------------------------------- the key

/// Every written form of one key.
struct Forms {
    raw: [u8; 32],
    std: String,
    url: String,
    hex: String,
    fp: String,
}

impl Forms {
    fn new(raw: [u8; 32]) -> Forms {
        Forms {
            raw,
            std: STANDARD.encode(raw),
            url: URL_SAFE.encode(raw),
            hex: raw.iter().map(|b| format!("{b:02x}")).collect(),
            fp: fingerprint(&raw),
        }
    }

    /// The base64 text (urlsafe or standard, padded or not) and the
    /// encoding name the scan gives it.
    fn b64(&self, url: bool, pad: bool) -> (String, &'static str) {
        let full = if url { &self.url } else { &self.std };
        let text = if pad {
            full.clone()
        } else {
            full.trim_end_matches('=').to_string()
        };
        let name = if self.std == self.url {
            "base64"
        } else {
            match (url, pad) {
                (false, true) => "base64-std",
                (false, false) => "base64-std-nopad",
                (true, true) => "base64-url",
                (true, false) => "base64-url-nopad",
            }
        };
        (text, name)
    }

    fn hex(&self, upper: bool) -> (String, &'static str) {
        if !upper {
            return (self.hex.clone(), "hex-lower");
        }
        let up = self.hex.to_uppercase();
        // all digits: the two forms are one pattern, reported as lower
        let name = if up == self.hex {
            "hex-lower"
        } else {
            "hex-upper"
        };
        (up, name)
    }
}

// ---------------------------------------------------------------- PRNG

/// SplitMix64, seeded from a label: the same stream everywhere.
struct Rng(u64);

impl Rng {
    fn new(label: &str) -> Rng {
        let h = Sha256::digest(label.as_bytes());
        Rng(h[..8].iter().fold(0u64, |a, &b| (a << 8) | u64::from(b)))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    /// About log-uniform in `lo..hi` (many small, a few large): uniform in
    /// 1/256-octave steps, linear within a step. Integer arithmetic only, so
    /// no libm difference can change a size.
    fn size(&mut self, lo: usize, hi: usize) -> usize {
        let at = |u: usize| (lo << (u / 256)) * (256 + u % 256) / 256;
        let octaves = (usize::BITS - 1 - (hi / lo).leading_zeros()) as usize;
        let base = lo << octaves;
        let steps = 256 * octaves + (hi - base) * 256 / base;
        at(self.below(steps.max(1)))
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn bytes(&mut self, n: usize, out: &mut Vec<u8>) {
        let mut left = n;
        while left > 0 {
            let v = self.next().to_le_bytes();
            let k = left.min(8);
            out.extend_from_slice(&v[..k]);
            left -= k;
        }
    }

    fn alnum(&mut self, n: usize) -> String {
        const AN: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..n).map(|_| AN[self.below(AN.len())] as char).collect()
    }

    fn hexstr(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| b"0123456789abcdef"[self.below(16)] as char)
            .collect()
    }
}

// ---------------------------------------------------------------- filler text

/// Words of the filler text. None holds "kek" (a `kek` word starts the
/// scan's assignment check).
#[rustfmt::skip]
const WORDS: [&str; 128] = [
    "the", "of", "and", "to", "in", "is", "for", "that", "with", "as", "on", "be", "by", "this",
    "are", "or", "from", "it", "an", "not", "which", "file", "package", "version", "debian",
    "license", "software", "copyright", "free", "under", "terms", "see", "upload", "new",
    "release", "fix", "bug", "closes", "update", "upstream", "changes", "build", "depends",
    "source", "binary", "manual", "page", "option", "command", "default", "value", "system",
    "user", "service", "configuration", "directory", "path", "support", "library", "module",
    "python", "server", "client", "network", "security", "patch", "policy", "standards",
    "maintainer", "team", "control", "rules", "install", "remove", "test", "tests", "suite",
    "documentation", "example", "examples", "program", "distributed", "warranty", "without",
    "implied", "merchantability", "fitness", "particular", "purpose", "general", "public",
    "permission", "granted", "person", "obtaining", "copy", "deal", "restriction", "including",
    "limitation", "rights", "use", "modify", "merge", "publish", "sublicense", "sell", "notice",
    "shall", "included", "all", "copies", "substantial", "portions", "provided", "express",
    "authors", "holders", "liable", "claim", "damages", "other", "liability", "whether",
    "contract", "tort", "otherwise", "arising",
];

/// Appends text lines until `out` grew by at least `n` bytes.
fn text(rng: &mut Rng, n: usize, out: &mut Vec<u8>) {
    let end = out.len() + n;
    while out.len() < end {
        let r = rng.next();
        let words = 5 + (r & 7) as usize + ((r >> 3) & 3) as usize;
        let mut bits = r >> 8;
        for i in 0..words {
            if i > 0 {
                out.push(b' ');
            }
            if bits == 0 {
                bits = rng.next();
            }
            let idx = (bits & 127) as usize;
            bits >>= 7;
            if idx == 0 {
                // a number now and then, as in changelogs and man pages
                let _ = write!(VecWriter(out), "{}", rng.next() % 100_000);
            } else {
                out.extend_from_slice(WORDS[idx].as_bytes());
            }
        }
        out.extend_from_slice(b".\n");
    }
}

/// Appends binary-looking bytes (random runs, zero runs, string tables).
fn binary(rng: &mut Rng, n: usize, out: &mut Vec<u8>) {
    let end = out.len() + n;
    while out.len() < end {
        let left = end - out.len();
        let run = rng.size(256, 64 << 10).min(left);
        match rng.below(10) {
            0..=3 => rng.bytes(run, out),
            4..=6 => out.resize(out.len() + run, 0),
            _ => {
                let start = out.len();
                text(rng, run, out);
                // string tables: NUL-terminated
                for b in &mut out[start..] {
                    if *b == b'\n' {
                        *b = 0;
                    }
                }
            }
        }
    }
    out.truncate(end);
}

/// `write!` into a `Vec<u8>` without `io::Write`'s `Result` noise.
struct VecWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

// ---------------------------------------------------------------- documents

/// A file's content with the places of the keys in it.
#[derive(Default, Clone)]
struct Doc {
    buf: Vec<u8>,
    marks: Vec<Mark>,
}

#[derive(Clone)]
struct Mark {
    at: usize,
    encoding: String,
    kind: Kind,
    fp: String,
    note: String,
}

impl Doc {
    fn s(&mut self, t: &str) -> &mut Doc {
        self.buf.extend_from_slice(t.as_bytes());
        self
    }

    fn b(&mut self, t: &[u8]) -> &mut Doc {
        self.buf.extend_from_slice(t);
        self
    }

    fn mark(&mut self, bytes: &[u8], encoding: &str, kind: Kind, fp: &str, note: &str) -> &mut Doc {
        self.marks.push(Mark {
            at: self.buf.len(),
            encoding: encoding.to_string(),
            kind,
            fp: fp.to_string(),
            note: note.to_string(),
        });
        self.buf.extend_from_slice(bytes);
        self
    }

    fn text(&mut self, rng: &mut Rng, n: usize) -> &mut Doc {
        text(rng, n, &mut self.buf);
        self
    }
}

/// A key inside a longer base64 text: the offset, in the text, of the first
/// character that depends on the bytes from `at` on alone.
fn inner_offset(at: usize) -> usize {
    at.div_ceil(3) * 4
}

/// Characters of that run: whole 3-byte groups of the `len` bytes.
fn inner_len(at: usize, len: usize) -> usize {
    let skip = at.div_ceil(3) * 3 - at;
    (len - skip) / 3 * 4
}

/// `text` in lines of `width` characters, and where offset `at` of `text` lands.
fn wrap(text: &str, width: usize, at: usize) -> (String, usize) {
    let mut out = String::with_capacity(text.len() + text.len() / width + 1);
    for (i, c) in text.chars().enumerate() {
        if i > 0 && i % width == 0 {
            out.push('\n');
        }
        out.push(c);
    }
    out.push('\n');
    (out, at + at / width)
}

/// Whether a run of `len` characters at `at` crosses a line end when wrapped.
fn straddles(at: usize, len: usize, width: usize) -> bool {
    at / width != (at + len - 1) / width
}

// ---------------------------------------------------------------- archives

fn tar(entries: &[(&str, &[u8])]) -> io::Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o640);
        h.set_mtime(MTIME as u64);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, *data)?;
    }
    b.into_inner()
}

fn gz(data: &[u8]) -> io::Result<Vec<u8>> {
    // no name, mtime 0: the same bytes every time
    let mut e = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::new(6));
    e.write_all(data)?;
    e.finish()
}

fn xz(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
    e.write_all(data)?;
    e.finish()
}

fn zst(data: &[u8]) -> io::Result<Vec<u8>> {
    zstd::encode_all(data, 3)
}

fn bz2(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::new(9));
    e.write_all(data)?;
    e.finish()
}

// ---------------------------------------------------------------- the generator

struct Gen {
    root: PathBuf,
    k: Forms,
    scale: f64,
    rows: Vec<Plant>,
    links: Vec<Link>,
    counters: [u32; 4],
}

/// A file being written with its current offset.
struct Sink {
    w: BufWriter<File>,
    pos: usize,
}

impl Sink {
    fn put(&mut self, b: &[u8]) -> io::Result<usize> {
        let at = self.pos;
        self.w.write_all(b)?;
        self.pos += b.len();
        Ok(at)
    }
}

impl Gen {
    fn scaled(&self, base: f64, min: usize) -> usize {
        ((base * self.scale).round() as usize).max(min)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn mkdir(&self, rel: &str) -> io::Result<()> {
        fs::create_dir_all(self.path(rel))
    }

    fn put(&self, rel: &str, data: &[u8], mode: u32) -> io::Result<()> {
        let p = self.path(rel);
        if let Some(d) = p.parent() {
            fs::create_dir_all(d)?;
        }
        fs::write(&p, data)?;
        fs::set_permissions(&p, fs::Permissions::from_mode(mode))
    }

    fn create(&self, rel: &str) -> io::Result<Sink> {
        let p = self.path(rel);
        if let Some(d) = p.parent() {
            fs::create_dir_all(d)?;
        }
        let f = File::create(&p)?;
        f.set_permissions(fs::Permissions::from_mode(0o640))?;
        Ok(Sink {
            w: BufWriter::with_capacity(1 << 20, f),
            pos: 0,
        })
    }

    fn row(&mut self, path: &str, member: Option<&str>, decompressed: bool, m: &Mark, base: usize) {
        let i = m.kind as usize;
        self.counters[i] += 1;
        self.rows.push(Plant {
            id: format!("{}{:02}", m.kind.prefix(), self.counters[i]),
            path: path.to_string(),
            member: member.map(str::to_string),
            encoding: m.encoding.clone(),
            offset: (base + m.at) as u64,
            decompressed,
            kind: m.kind,
            fingerprint: m.fp.clone(),
            note: m.note.clone(),
        });
    }

    /// Records the marks of `doc` as found at `path` (member, decompressed).
    fn rows_of(&mut self, path: &str, member: Option<&str>, decompressed: bool, doc: &Doc) {
        for m in &doc.marks {
            self.row(path, member, decompressed, m, 0);
        }
    }

    /// Writes `doc` to `rel` and records its marks.
    fn file(&mut self, rel: &str, doc: &Doc, mode: u32) -> io::Result<()> {
        self.put(rel, &doc.buf, mode)?;
        self.rows_of(rel, None, false, doc);
        Ok(())
    }

    /// A copy of the KEK in `form`, as a mark.
    fn kek(&self, d: &mut Doc, form: (String, &'static str), note: &str) {
        d.mark(form.0.as_bytes(), form.1, Kind::Plant, &self.k.fp, note);
    }

    // ------------------------------------------------------------ host files

    fn host_files(&mut self) -> io::Result<()> {
        self.put(
            "etc/passwd",
            b"root:x:0:0:root:/root:/bin/bash\n\
              barbican:x:102:105::/var/lib/barbican:/usr/sbin/nologin\n\
              stack:x:1000:1000::/home/stack:/bin/bash\n\
              alice:x:1001:1001::/home/alice:/bin/bash\n",
            0o644,
        )?;
        self.put(
            "etc/group",
            b"root:x:0:\nbarbican:x:105:\nstack:x:1000:\nalice:x:1001:\n",
            0o644,
        )?;
        self.put("etc/hostname", b"barbican-test-node\n", 0o644)?;
        for d in [
            "boot/grub",
            "mnt/usb",
            "media/backup",
            "tmp",
            "usr/bin",
            "usr/sbin",
            "var/lib/barbican",
        ] {
            self.mkdir(d)?;
        }
        let mut rng = Rng::new("host-files");
        let mut boot = Vec::new();
        binary(&mut rng, 64 << 10, &mut boot);
        self.put("boot/grub/grubenv.bin", &boot, 0o644)?;
        fs::set_permissions(self.path("tmp"), fs::Permissions::from_mode(0o1777))?;
        Ok(())
    }

    /// barbican.conf as Barbican reads it, with `kek = '<key>'` (the mark)
    /// written by `kek_line`.
    fn barbican_conf(&self, rng: &mut Rng, kek_line: impl FnOnce(&mut Doc)) -> Doc {
        let mut d = Doc::default();
        d.s("[DEFAULT]\nhost_href = http://controller:9311\ndebug = False\n");
        d.s(&format!(
            "sql_connection = mysql+pymysql://barbican:{}@controller/barbican\n",
            rng.hexstr(30)
        ));
        d.s(&format!(
            "transport_url = rabbit://openstack:{}@controller\n\n",
            rng.hexstr(24)
        ));
        d.s("[keystone_authtoken]\nwww_authenticate_uri = http://controller:5000\n");
        d.s("auth_url = http://controller:5000\nmemcached_servers = controller:11211\n");
        d.s("auth_type = password\nproject_domain_name = Default\nuser_domain_name = Default\n");
        d.s(&format!(
            "project_name = service\nusername = barbican\npassword = {}\n\n",
            rng.alnum(20)
        ));
        d.s("[secretstore]\nnamespace = barbican.secretstore.plugin\n");
        d.s("enabled_secretstore_plugins = store_crypto\n\n");
        d.s("[crypto]\nenabled_crypto_plugins = simple_crypto\n\n");
        d.s(
            "[simple_crypto_plugin]\n# the kek should be a 32-byte value which is base64 encoded\n",
        );
        kek_line(&mut d);
        d.s("\n[oslo_policy]\nenforce_scope = true\n");
        d
    }

    /// Base64 text of `inner` (whose KEK mark must be its only one) in the
    /// Kubernetes-Secret style: the key's base64 text inside base64 text.
    /// Pads `inner` at `pad_at` with `#` until the key text starts at an
    /// offset `align` modulo 3.
    fn doubled(inner: &Doc, pad_at: usize, align: usize) -> (String, usize) {
        let mut buf = inner.buf.clone();
        let mut at = inner.marks[0].at;
        while at % 3 != align {
            buf.insert(pad_at, b'#');
            at += 1;
        }
        let text = STANDARD.encode(&buf);
        (text, inner_offset(at))
    }

    // ------------------------------------------------------------ plants

    fn plants(&mut self) -> io::Result<()> {
        let mut rng = Rng::new("plants");
        let k_std = self.k.b64(false, true);
        let fp = self.k.fp.clone();
        let other = |label: &str| -> [u8; 32] { Sha256::digest(label.as_bytes()).into() };
        let old_kek = other("old rotated kek");
        let old = Forms::new(old_kek);

        // etc: the config itself, and its rotated-out predecessor (decoy)
        let conf = self.barbican_conf(&mut rng, |d| {
            d.s("kek = '");
            d.mark(
                k_std.0.as_bytes(),
                k_std.1,
                Kind::Config,
                &fp,
                "the config itself: kek = '<b64>' in [simple_crypto_plugin]",
            );
            d.s("'\n");
        });
        self.file("etc/barbican/barbican.conf", &conf, 0o640)?;
        let mut rng_old = Rng::new("plants");
        let dpkg_old = self.barbican_conf(&mut rng_old, |d| {
            d.s("kek = '");
            d.mark(
                old.std.as_bytes(),
                "kek-assignment",
                Kind::Decoy,
                &old.fp,
                "rotated-out old KEK: kek = '<other key>'",
            );
            d.s("'\n");
        });
        self.file("etc/barbican/barbican.conf.dpkg-old", &dpkg_old, 0o640)?;
        self.put(
            "etc/barbican/barbican-api-paste.ini",
            b"[composite:main]\nuse = egg:Paste#urlmap\n/: barbican_version\n/v1: barbican-api-keystone\n",
            0o640,
        )?;
        let mut d = Doc::default();
        d.s("---\n");
        for k in [
            "aodh_database_password",
            "barbican_database_password",
            "barbican_keystone_password",
            "cinder_database_password",
            "database_password",
            "glance_keystone_password",
            "horizon_secret_key",
            "keystone_admin_password",
            "memcache_secret_key",
            "nova_database_password",
            "rabbitmq_password",
        ] {
            d.s(&format!("{k}: {}\n", rng.alnum(40)));
        }
        d.s(&format!("barbican_p11_password: {}\n", rng.hexstr(32)));
        d.s("barbican_crypto_key_hex: ");
        self.kek(
            &mut d,
            self.k.hex(false),
            "yaml: barbican_crypto_key_hex: <hex>",
        );
        d.s("\nbarbican_library_path: /usr/lib/libCryptoki2_64.so\n");
        self.file("etc/kolla/passwords.yml", &d, 0o640)?;
        let mut d = Doc::default();
        d.s("OS_DEFAULT__DEBUG=false\nOS_SIMPLE_CRYPTO_PLUGIN__KEK=");
        self.kek(
            &mut d,
            self.k.b64(true, true),
            "environment file: OS_SIMPLE_CRYPTO_PLUGIN__KEK=<urlsafe b64>",
        );
        d.s("\n");
        self.file("etc/kolla/barbican-api/barbican.env", &d, 0o600)?;

        // var/backups: the config in every archive and compressor
        let paste =
            b"[composite:main]\nuse = egg:Paste#urlmap\n/v1: barbican-api-keystone\n".to_vec();
        let mut policy = Vec::new();
        let mut prng = Rng::new("policy");
        let mut noise = Vec::new();
        prng.bytes(4500, &mut noise);
        for line in STANDARD.encode(&noise).as_bytes().chunks(76) {
            policy.extend_from_slice(b"# ");
            policy.extend_from_slice(line);
            policy.push(b'\n');
        }
        let etc_tar = tar(&[
            ("etc/barbican/barbican-api-paste.ini", &paste),
            ("etc/barbican/barbican.conf", &conf.buf),
            ("etc/barbican/barbican.conf.dpkg-old", &dpkg_old.buf),
            ("etc/barbican/policy.yaml", &policy),
        ])?;
        let as_plant = |d: &Doc, note: &str| {
            let mut d = d.clone();
            for m in &mut d.marks {
                if m.kind == Kind::Config {
                    m.kind = Kind::Plant;
                }
                m.note = format!("{note}; {}", m.note);
            }
            d
        };
        let p = "var/backups/etc-barbican-20240101.tar.gz";
        self.put(p, &gz(&etc_tar)?, 0o600)?;
        let c = as_plant(&conf, "tar.gz backup of /etc/barbican");
        let o = as_plant(&dpkg_old, "tar.gz backup of /etc/barbican");
        self.rows_of(p, Some("etc/barbican/barbican.conf"), true, &c);
        self.rows_of(p, Some("etc/barbican/barbican.conf.dpkg-old"), true, &o);
        let p = "var/backups/etc-snapshot-20231201.tar";
        self.put(p, &etc_tar, 0o600)?;
        let c = as_plant(&conf, "plain tar of /etc/barbican");
        let o = as_plant(&dpkg_old, "plain tar of /etc/barbican");
        self.rows_of(p, Some("etc/barbican/barbican.conf"), false, &c);
        self.rows_of(p, Some("etc/barbican/barbican.conf.dpkg-old"), false, &o);
        type Codec = fn(&[u8]) -> io::Result<Vec<u8>>;
        let codecs: [(&str, Codec); 4] = [("gz", gz), ("xz", xz), ("zst", zst), ("bz2", bz2)];
        let conf_tar = tar(&[("etc/barbican/barbican.conf", &conf.buf)])?;
        for (ext, codec) in codecs {
            let p = format!("var/backups/barbican.conf.{ext}");
            self.put(&p, &codec(&conf.buf)?, 0o600)?;
            let c = as_plant(&conf, &format!("{ext}-compressed copy of barbican.conf"));
            self.rows_of(&p, None, true, &c);
            if ext != "gz" {
                let p = format!("var/backups/etc-barbican.tar.{ext}");
                self.put(&p, &codec(&conf_tar)?, 0o600)?;
                let c = as_plant(&conf, &format!("tar.{ext} of /etc/barbican"));
                self.rows_of(&p, Some("etc/barbican/barbican.conf"), true, &c);
            }
        }

        // var: a raw key file, a container layer, a rotated log, a window border, mail
        let mut d = Doc::default();
        self.kek_raw(&mut d, "standalone 32-byte raw key file");
        self.file("var/lib/barbican/master.kek", &d, 0o600)?;
        let layer = rng.hexstr(64);
        let mut d = Doc::default();
        d.s("[DEFAULT]\ndebug = True\n\n[crypto]\nenabled_crypto_plugins = simple_crypto\n\n");
        d.s("[simple_crypto_plugin]\nkek = \"");
        self.kek(
            &mut d,
            k_std.clone(),
            "container image layer: kek = \"<b64>\"",
        );
        d.s("\"\n");
        self.file(
            &format!("var/lib/docker/overlay2/{layer}/diff/etc/barbican/barbican.conf"),
            &d,
            0o644,
        )?;
        let mut d = Doc::default();
        let mut lrng = Rng::new("rotated-log");
        log_lines(&mut lrng, 0, 40_000, &mut d.buf);
        d.s("2024-01-14 09:12:44.101 2003 DEBUG oslo_service.service [-] simple_crypto_plugin.kek                         = ");
        self.kek(
            &mut d,
            k_std.clone(),
            "rotated service log (gzip): oslo.config option dump line",
        );
        d.s("\n");
        log_lines(&mut lrng, 900_000, 40_000, &mut d.buf);
        let p = "var/log/barbican/barbican-api.log.2.gz";
        self.put(p, &gz(&d.buf)?, 0o640)?;
        self.rows_of(p, None, true, &d);
        // the scan reads windows of 256 KiB: copies across the first two borders
        let mut d = Doc::default();
        let mut wrng = Rng::new("window");
        binary(&mut wrng, WINDOW - 13, &mut d.buf);
        self.kek_raw(
            &mut d,
            "raw key across the scan's first 256 KiB window border",
        );
        binary(&mut wrng, 2 * WINDOW - 21 - d.buf.len(), &mut d.buf);
        d.s("=");
        let k_std_nopad = self.k.b64(false, false);
        self.kek(
            &mut d,
            k_std_nopad.clone(),
            "unpadded b64 across the second window border",
        );
        d.s("\n");
        binary(&mut wrng, 100_000, &mut d.buf);
        self.file("var/tmp/kek-window.bin", &d, 0o600)?;
        self.mail()?;

        // root
        let mut d = Doc::default();
        let mut hrng = Rng::new("history");
        history(&mut hrng, 1400, &mut d.buf);
        d.s("sudo crudini --set /etc/barbican/barbican.conf simple_crypto_plugin kek ");
        self.kek(
            &mut d,
            self.k.b64(true, true),
            "shell history: crudini --set ... kek <urlsafe b64>",
        );
        d.s("\n");
        history(&mut hrng, 700, &mut d.buf);
        self.file("root/.bash_history", &d, 0o600)?;
        self.k8s_secret("root/backup/barbican-secret.yaml", false, 0)?;
        self.pem()?;
        let mut d = Doc::default();
        d.s("notes on the key rotation\n\n");
        let mut typo = self.k.std.clone().into_bytes();
        typo[0] = if typo[0] == b'A' { b'B' } else { b'A' };
        d.s("secret = ");
        d.mark(
            &typo,
            "-",
            Kind::NearMiss,
            "-",
            "the KEK's b64 with its first character changed",
        );
        d.s("\nhex prefix: ");
        d.mark(
            &self.k.hex.as_bytes()[..62],
            "-",
            Kind::NearMiss,
            "-",
            "the KEK's hex without its last byte",
        );
        d.s("\n");
        let mut flipped = self.k.hex.clone().into_bytes();
        flipped[31] = if flipped[31] == b'0' { b'1' } else { b'0' };
        d.s("hex, one digit off: ");
        d.mark(
            &flipped,
            "-",
            Kind::NearMiss,
            "-",
            "the KEK's hex with one digit changed",
        );
        d.s("\n");
        self.file("root/notes.txt", &d, 0o600)?;

        // home
        let mut d = Doc::default();
        d.s("[[local|localrc]]\nADMIN_PASSWORD=");
        d.s(&rng.alnum(12));
        d.s("\nenable_plugin barbican https://opendev.org/openstack/barbican\n\n");
        d.s("[[post-config|$BARBICAN_CONF]]\n[simple_crypto_plugin]\nkek = ");
        self.kek(
            &mut d,
            k_std_nopad,
            "gitignored devstack local.conf: kek = <b64 unpadded>",
        );
        d.s("\n");
        self.file("home/stack/devstack/local.conf", &d, 0o644)?;
        self.put(
            "home/stack/devstack/.gitignore",
            b"*.pyc\nlocal.conf\n",
            0o644,
        )?;
        self.put(
            "home/stack/devstack/.git/HEAD",
            b"ref: refs/heads/master\n",
            0o644,
        )?;
        self.put(
            "home/stack/devstack/.git/config",
            b"[core]\n\trepositoryformatversion = 0\n\tbare = false\n",
            0o644,
        )?;
        let mut d = Doc::default();
        d.s("{\n  \"region\": \"RegionOne\",\n  \"kek\": \"");
        self.kek(
            &mut d,
            self.k.b64(true, false),
            "json: \"kek\": \"<urlsafe b64 unpadded>\"",
        );
        d.s("\",\n  \"debug\": false\n}\n");
        self.file("home/stack/.config/openstack/barbican.json", &d, 0o600)?;
        self.k8s_secret("home/alice/Downloads/barbican-conf.yaml", true, 1)?;
        self.k8s_secret("home/stack/helm/values-secret.yaml", false, 2)?;
        let other_cloud = Forms::new(other("another cloud's kek"));
        let mut d = Doc::default();
        d.s("[simple_crypto_plugin]\nkek = \"");
        d.mark(
            other_cloud.url.as_bytes(),
            "kek-assignment",
            Kind::Decoy,
            &other_cloud.fp,
            "another cloud's KEK: kek = \"<other key>\"",
        );
        d.s("\"\n");
        self.file("home/stack/other-cloud/barbican.conf", &d, 0o600)?;

        // srv: the raw key inside base64'd blobs, nested archives, decoys
        for url in [false, true] {
            for align in 0..3 {
                self.blob(url, align)?;
            }
        }
        self.release_tarball(&conf)?;
        self.tar_b64(&conf)?;
        let vault = Forms::new(other("vault transit key"));
        let mut d = Doc::default();
        d.s("server:\n  dev:\n    enabled: false\nbarbican:\n  KEK: \"");
        d.mark(
            vault.std.as_bytes(),
            "kek-assignment",
            Kind::Decoy,
            &vault.fp,
            "yaml KEK: \"<other key>\"",
        );
        d.s("\"\n");
        self.file("srv/deploy/vault-values.yaml", &d, 0o640)?;
        let near = Forms::new(other("near miss key"));
        let mut d = Doc::default();
        d.s("[fernet]\nfernet_key = ");
        d.mark(
            near.url.as_bytes(),
            "-",
            Kind::NearMiss,
            "-",
            "another key, not after `kek`",
        );
        d.s("\n[simple_crypto_plugin]\nkek = ");
        d.mark(
            near.url.trim_end_matches('=').as_bytes(),
            "-",
            Kind::NearMiss,
            "-",
            "kek = <another key unpadded> (not Fernet-shaped)",
        );
        d.s("\nprefix = ");
        d.mark(
            &self.k.std.as_bytes()[..39],
            "-",
            Kind::NearMiss,
            "-",
            "the first 39 characters of the KEK's b64",
        );
        d.s("\n");
        self.file("srv/near-miss/keys.txt", &d, 0o644)?;
        let mut d = Doc::default();
        let mut nrng = Rng::new("near-miss-bin");
        binary(&mut nrng, 3000, &mut d.buf);
        let mut raw = self.k.raw;
        raw[16] ^= 0x01;
        d.mark(
            &raw,
            "-",
            Kind::NearMiss,
            "-",
            "the raw KEK with one bit flipped",
        );
        binary(&mut nrng, 3000, &mut d.buf);
        d.mark(
            &self.k.raw[..31],
            "-",
            Kind::NearMiss,
            "-",
            "the raw KEK without its last byte",
        );
        d.b(&[self.k.raw[31] ^ 0xff]);
        binary(&mut nrng, 3000, &mut d.buf);
        self.file("srv/near-miss/almost.bin", &d, 0o644)?;

        // opt: a plain tar holding a tar.gz, a bz2 file and a hex file
        let mut d = Doc::default();
        d.s("[simple_crypto_plugin]\nkek=");
        self.kek(&mut d, k_std.clone(), "kek=<b64> without spaces");
        d.s("\n");
        self.file("opt/stack/barbican/etc/barbican/barbican.conf", &d, 0o644)?;
        let mut hexdoc = Doc::default();
        hexdoc.s("# master key, hex\n");
        self.kek(
            &mut hexdoc,
            self.k.hex(false),
            "hex file inside a plain tar",
        );
        hexdoc.s("\n");
        let inner = gz(&conf_tar)?;
        let bz = bz2(&conf.buf)?;
        let p = "opt/backups/full-20240101.tar";
        self.put(
            p,
            &tar(&[
                ("etc-barbican.tar.gz", &inner),
                ("barbican.conf.bz2", &bz),
                ("notes/kek.hex", &hexdoc.buf),
            ])?,
            0o600,
        )?;
        let c = as_plant(&conf, "tar.gz inside a plain tar");
        self.rows_of(
            p,
            Some("etc-barbican.tar.gz!etc/barbican/barbican.conf"),
            true,
            &c,
        );
        let c = as_plant(&conf, "bz2 file inside a plain tar");
        self.rows_of(p, Some("barbican.conf.bz2"), true, &c);
        self.rows_of(p, Some("notes/kek.hex"), false, &hexdoc);

        // usr
        let mut d = Doc::default();
        d.s("barbican:\n  simple_crypto_plugin:\n    kek: '");
        self.kek(&mut d, k_std.clone(), "yaml: kek: '<b64>'");
        d.s("'\n");
        self.file("usr/local/etc/barbican/barbican.yaml", &d, 0o640)?;
        let mut d = Doc::default();
        d.s("# Sample configuration\n[simple_crypto_plugin]\n# kek = '");
        // A published key is no secret: no finding (Debian ships this very
        // line in /usr/share/barbican-common/barbican.conf).
        d.mark(
            UPSTREAM_SAMPLE_KEK.as_bytes(),
            "-",
            Kind::NearMiss,
            "-",
            "upstream sample KEK, commented out: published, so not reported",
        );
        d.s("'\n#plugin_name = Software Only Crypto\n");
        self.file(
            "usr/share/doc/barbican-common/barbican.conf.sample",
            &d,
            0o644,
        )?;
        let mut d = Doc::default();
        d.s("\"\"\"Test fixtures.\"\"\"\n\nKEK_HEX = \"");
        self.kek(&mut d, self.k.hex(true), "python constant: upper-case hex");
        d.s("\"\n");
        self.file(
            "usr/lib/python3/dist-packages/barbican_fixture/keys.py",
            &d,
            0o644,
        )?;

        // tmp, boot, mnt, media
        let mut d = Doc::default();
        self.kek(&mut d, self.k.hex(false), "hex dump in /tmp");
        d.s("\n");
        self.file("tmp/kek.hex", &d, 0o600)?;
        let p = "tmp/tmp.Zk3x9q/barbican.conf.gz";
        self.put(p, &gz(&conf.buf)?, 0o600)?;
        let c = as_plant(&conf, "gzip copy in a temp dir");
        self.rows_of(p, None, true, &c);
        let mut d = Doc::default();
        self.kek_raw(&mut d, "raw key file in /boot");
        self.file("boot/barbican-kek.bin", &d, 0o600)?;
        let mut d = Doc::default();
        let mut brng = Rng::new("initrd");
        d.s("070701");
        binary(&mut brng, 70_000, &mut d.buf);
        self.kek_raw(&mut d, "raw key inside a zstd-compressed initrd-like image");
        binary(&mut brng, 30_000, &mut d.buf);
        let p = "boot/initrd-backup.img.zst";
        self.put(p, &zst(&d.buf)?, 0o600)?;
        self.rows_of(p, None, true, &d);
        let p = "mnt/usb/barbican-backup.tar.bz2";
        self.put(p, &bz2(&conf_tar)?, 0o600)?;
        let c = as_plant(&conf, "tar.bz2 on a mounted stick");
        self.rows_of(p, Some("etc/barbican/barbican.conf"), true, &c);
        let mut d = Doc::default();
        self.kek(
            &mut d,
            self.k.hex(true),
            "upper-case hex on a backup medium",
        );
        d.s("\r\n");
        self.file("media/backup/KEK.TXT", &d, 0o600)?;
        Ok(())
    }

    fn kek_raw(&self, d: &mut Doc, note: &str) {
        d.mark(&self.k.raw, "raw", Kind::Plant, &self.k.fp, note);
    }

    /// The raw key inside a base64'd binary blob, at offset `align` mod 3.
    fn blob(&mut self, url: bool, align: usize) -> io::Result<()> {
        let engine: &GeneralPurpose = if url { &URL_SAFE } else { &STANDARD };
        let mut rng = Rng::new(&format!("blob-{url}-{align}"));
        let mut blob = Vec::new();
        binary(&mut rng, 3000 + align, &mut blob);
        let at = blob.len();
        blob.extend_from_slice(&self.k.raw);
        // a byte >= 0x40 next: the plain base64 form of the key cannot match
        blob.push(0xff);
        binary(&mut rng, 2000, &mut blob);
        let mut d = Doc::default();
        let text = engine.encode(&blob);
        let off = inner_offset(at);
        d.b(&text.as_bytes()[..off]);
        d.mark(
            &text.as_bytes()[off..],
            "base64-embedded",
            Kind::Plant,
            &self.k.fp,
            &format!(
                "raw key at byte {at} (= {align} mod 3) of a {} base64'd blob",
                if url { "urlsafe" } else { "standard" }
            ),
        );
        d.s("\n");
        let name = if url { "url" } else { "std" };
        self.file(&format!("srv/backup/blob-{name}-{align}.b64"), &d, 0o644)
    }

    /// A Kubernetes Secret holding barbican.conf: the key's base64 text
    /// inside base64 text, at offset `align` mod 3 of the inner text.
    fn k8s_secret(&mut self, rel: &str, url: bool, align: usize) -> io::Result<()> {
        let mut inner = Doc::default();
        inner.s("[DEFAULT]\ndebug = false\n#\n[simple_crypto_plugin]\nkek = ");
        inner.mark(self.k.b64(url, true).0.as_bytes(), "", Kind::Plant, "", "");
        inner.s("\n");
        let (text, off) = Self::doubled(&inner, 25, align);
        let mut d = Doc::default();
        d.s("apiVersion: v1\nkind: Secret\nmetadata:\n  name: barbican-config\ntype: Opaque\ndata:\n  barbican.conf: ");
        d.b(&text.as_bytes()[..off]);
        d.mark(
            &text.as_bytes()[off..],
            "base64-double",
            Kind::Plant,
            &self.k.fp,
            &format!(
                "Kubernetes Secret: base64 of barbican.conf with a {} key at {align} mod 3",
                if url { "urlsafe" } else { "standard" }
            ),
        );
        d.s("\n");
        self.file(rel, &d, 0o600)
    }

    /// A PEM-style file: a base64'd blob holding the raw key, wrapped at 64
    /// columns so that the key's characters cross a line end.
    fn pem(&mut self) -> io::Result<()> {
        let mut rng = Rng::new("pem");
        let mut head = Vec::new();
        binary(&mut rng, 700, &mut head);
        let mut tail = Vec::new();
        binary(&mut rng, 900, &mut tail);
        for pad in 0..64 {
            let at = head.len() + pad;
            let off = inner_offset(at);
            if !straddles(off, inner_len(at, 32), 64) {
                continue;
            }
            let mut blob = head.clone();
            blob.resize(at, 0x5a);
            blob.extend_from_slice(&self.k.raw);
            blob.push(0xff);
            blob.extend_from_slice(&tail);
            let (body, woff) = wrap(&STANDARD.encode(&blob), 64, off);
            let mut d = Doc::default();
            d.s("-----BEGIN BARBICAN KEK BACKUP-----\n");
            d.b(&body.as_bytes()[..woff]);
            d.mark(
                &body.as_bytes()[woff..],
                "base64-embedded",
                Kind::Plant,
                &self.k.fp,
                "PEM-style base64 (64 columns) of a blob with the raw key, across a line end",
            );
            d.s("-----END BARBICAN KEK BACKUP-----\n");
            return self.file("root/backup/kek-backup.pem", &d, 0o600);
        }
        Err(io::Error::other(
            "pem: no padding puts the key across a line end",
        ))
    }

    /// A mail with barbican.conf attached (MIME base64, 76 columns), the
    /// key's text across a line end.
    fn mail(&mut self) -> io::Result<()> {
        let mut rng = Rng::new("mail");
        for pad in 0..64 {
            let mut conf = Doc::default();
            conf.s("[simple_crypto_plugin]\n# ");
            conf.s(&"-".repeat(pad));
            conf.s("\nkek = ");
            conf.mark(self.k.std.as_bytes(), "", Kind::Plant, "", "");
            conf.s("\n");
            let at = conf.marks[0].at;
            let off = inner_offset(at);
            if !straddles(off, inner_len(at, 43), 76) {
                continue;
            }
            let (body, woff) = wrap(&STANDARD.encode(&conf.buf), 76, off);
            let mut d = Doc::default();
            d.s("From: stack@controller\nTo: root@controller\nSubject: barbican config\n");
            d.s("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\n");
            d.s("Content-Type: text/plain\n\n");
            d.text(&mut rng, 600);
            d.s("\n--b1\nContent-Type: application/octet-stream; name=\"barbican.conf\"\n");
            d.s("Content-Transfer-Encoding: base64\n\n");
            d.b(&body.as_bytes()[..woff]);
            d.mark(
                &body.as_bytes()[woff..],
                "base64-double",
                Kind::Plant,
                &self.k.fp,
                "mail attachment: MIME base64 (76 columns) of barbican.conf, key across a line end",
            );
            d.s("--b1--\n");
            return self.file("var/mail/root", &d, 0o600);
        }
        Err(io::Error::other(
            "mail: no padding puts the key across a line end",
        ))
    }

    /// `tar cf - barbican.conf | base64`: 76 columns, key across a line end.
    fn tar_b64(&mut self, conf: &Doc) -> io::Result<()> {
        let at_conf = conf
            .marks
            .first()
            .map(|m| m.at)
            .ok_or_else(|| io::Error::other("conf without its key"))?;
        for pad in 0..64 {
            // tar data starts after the 512-byte header; a comment line first
            let mut body = format!("# {}\n", "-".repeat(pad)).into_bytes();
            let shift = body.len();
            body.extend_from_slice(&conf.buf);
            let at = 512 + shift + at_conf;
            let off = inner_offset(at);
            if !straddles(off, inner_len(at, 43), 76) {
                continue;
            }
            let t = tar(&[("barbican.conf", &body)])?;
            let (text, woff) = wrap(&STANDARD.encode(&t), 76, off);
            let mut d = Doc::default();
            d.b(&text.as_bytes()[..woff]);
            d.mark(
                &text.as_bytes()[woff..],
                "base64-double",
                Kind::Plant,
                &self.k.fp,
                "`tar cf - barbican.conf | base64` (76 columns), key across a line end",
            );
            return self.file("srv/deploy/barbican-conf.tar.b64", &d, 0o600);
        }
        Err(io::Error::other(
            "tar|base64: no padding puts the key across a line end",
        ))
    }

    /// zstd(tar(config.tar.gz(tar(barbican.conf)), README)): nested archives.
    fn release_tarball(&mut self, conf: &Doc) -> io::Result<()> {
        let inner = gz(&tar(&[("etc/barbican/barbican.conf", &conf.buf)])?)?;
        let mut rng = Rng::new("release");
        let mut readme = Vec::new();
        text(&mut rng, 4000, &mut readme);
        let outer = tar(&[("README", &readme), ("config.tar.gz", &inner)])?;
        let p = "srv/deploy/release-2024.01.tar.zst";
        self.put(p, &zst(&outer)?, 0o640)?;
        let mut c = conf.clone();
        for m in &mut c.marks {
            m.kind = Kind::Plant;
            m.note = format!("tar.gz inside a tar.zst release; {}", m.note);
        }
        self.rows_of(
            p,
            Some("config.tar.gz!etc/barbican/barbican.conf"),
            true,
            &c,
        );
        Ok(())
    }

    // ------------------------------------------------------------ big files

    fn big_size(&self, mib: f64) -> usize {
        ((mib * self.scale * 1_048_576.0) as usize).max(1 << 20)
    }

    fn big_files(&mut self) -> io::Result<()> {
        let k_std = self.k.b64(false, true);
        // a VM disk image: binary with an embedded config fragment at 61%
        let size = self.big_size(160.0);
        let mut rng = Rng::new("image");
        let p = "var/lib/libvirt/images/instance-0001.img";
        let mut s = self.create(p)?;
        fill_binary(&mut rng, &mut s, size * 61 / 100)?;
        s.put(b"\n[simple_crypto_plugin]\n# the kek should be a 32-byte value which is base64 encoded\nkek = '")?;
        let off = s.put(k_std.0.as_bytes())?;
        s.put(b"'\n\n")?;
        fill_binary(&mut rng, &mut s, size)?;
        s.w.flush()?;
        self.big_row(
            p,
            k_std.1,
            off,
            "disk image (binary) with an embedded barbican.conf fragment",
        );
        // a core dump: random heap and code, the raw key 16-byte aligned at 37%
        let size = self.big_size(48.0);
        let mut rng = Rng::new("core");
        let p = "var/crash/barbican-worker.core";
        let mut s = self.create(p)?;
        s.put(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x04\0")?;
        let o = (size * 37 / 100) / 16 * 16;
        let mut heap = Vec::new();
        rng.bytes(o - 18 - 16, &mut heap);
        s.put(&heap)?;
        s.put(b"AES-KEY-MATERIAL")?;
        let off = s.put(&self.k.raw)?;
        fill_binary(&mut rng, &mut s, size)?;
        s.w.flush()?;
        self.big_row(p, "raw", off, "core dump: raw key in the heap");
        // a mysqldump with --hex-blob: upper-case hex at 83%
        let size = self.big_size(96.0);
        let mut rng = Rng::new("sql");
        let p = "var/backups/mysql/barbican-full.sql";
        let mut s = self.create(p)?;
        s.put(b"-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n--\n-- Host: controller    Database: barbican\n\n")?;
        s.put(b"DROP TABLE IF EXISTS `encrypted_data`;\nCREATE TABLE `encrypted_data` (`id` int, `secret_id` varchar(36), `cypher_text` text);\n\n")?;
        sql_rows(&mut rng, &mut s, size * 83 / 100, "encrypted_data")?;
        s.put(b"\nCREATE TABLE `kek_data` (`id` int, `project_id` varchar(36), `plugin_name` varchar(255), `key_material` blob);\n")?;
        s.put(b"INSERT INTO `kek_data` VALUES (1,'6f2c1d4e-0b8a-4c55-9d3e-ab12cd34ef56','barbican.plugin.crypto.simple_crypto.SimpleCryptoPlugin',0x")?;
        let hex_up = self.k.hex(true);
        let off = s.put(hex_up.0.as_bytes())?;
        s.put(b");\n\n")?;
        sql_rows(&mut rng, &mut s, size, "secret_store_metadata")?;
        s.put(b"-- Dump completed on 2024-01-01  0:00:00\n")?;
        s.w.flush()?;
        self.big_row(p, hex_up.1, off, "mysqldump --hex-blob: 0x<HEX>");
        // the service log: the option dump line at 50%
        let size = self.big_size(64.0);
        let mut rng = Rng::new("log");
        let p = "var/log/barbican/barbican-api.log";
        let mut s = self.create(p)?;
        let mut buf = Vec::new();
        log_lines(&mut rng, 0, size / 2, &mut buf);
        s.put(&buf)?;
        s.put(b"2024-01-15 09:12:44.101 2003 DEBUG oslo_service.service [-] simple_crypto_plugin.kek                         = ")?;
        let off = s.put(k_std.0.as_bytes())?;
        s.put(b"\n")?;
        buf.clear();
        log_lines(&mut rng, 5_000_000, size - s.pos, &mut buf);
        s.put(&buf)?;
        s.w.flush()?;
        self.big_row(p, k_std.1, off, "service log: oslo.config option dump line");
        Ok(())
    }

    fn big_row(&mut self, path: &str, encoding: &str, off: usize, note: &str) {
        let m = Mark {
            at: off,
            encoding: encoding.to_string(),
            kind: Kind::Plant,
            fp: self.k.fp.clone(),
            note: note.to_string(),
        };
        self.row(path, None, false, &m, 0);
    }

    // ------------------------------------------------------------ filler

    fn filler(&mut self) -> io::Result<()> {
        let mut rng = Rng::new("filler");
        // /usr/share/doc: copyright, changelog.Debian.gz, some NEWS and README
        let pkgs: Vec<String> = (0..self.scaled(1500.0, 30))
            .map(|i| pkg_name(&mut rng, i))
            .collect();
        let mut buf = Vec::new();
        for p in &pkgs {
            let d = format!("usr/share/doc/{p}");
            buf.clear();
            buf.extend_from_slice(
                b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n",
            );
            let n = rng.size(1 << 10, 24 << 10);
            text(&mut rng, n, &mut buf);
            self.put(&format!("{d}/copyright"), &buf, 0o644)?;
            buf.clear();
            let n = rng.size(2 << 10, 80 << 10);
            text(&mut rng, n, &mut buf);
            self.put(&format!("{d}/changelog.Debian.gz"), &gz(&buf)?, 0o644)?;
            if rng.chance(30) {
                buf.clear();
                let n = rng.size(1 << 10, 20 << 10);
                text(&mut rng, n, &mut buf);
                self.put(&format!("{d}/NEWS.Debian.gz"), &gz(&buf)?, 0o644)?;
            }
            if rng.chance(20) {
                buf.clear();
                let n = rng.size(512, 6 << 10);
                text(&mut rng, n, &mut buf);
                self.put(&format!("{d}/README.Debian"), &buf, 0o644)?;
            }
        }
        // man pages
        for i in 0..self.scaled(4000.0, 40) {
            let sec = ["1", "1", "1", "5", "7", "8", "8", "3"][rng.below(8)];
            let name = format!(
                "{}{}",
                pkg_name(&mut rng, i),
                if i % 3 == 0 { "-ctl" } else { "" }
            );
            buf.clear();
            let _ = write!(
                VecWriter(&mut buf),
                ".TH {} {sec} \"2023\" \"Debian\"\n.SH NAME\n{name} \\- ",
                name.to_uppercase()
            );
            let n = rng.size(1 << 10, 30 << 10);
            text(&mut rng, n, &mut buf);
            self.put(
                &format!("usr/share/man/man{sec}/{name}.{sec}.gz"),
                &gz(&buf)?,
                0o644,
            )?;
        }
        // message catalogues (binary)
        #[rustfmt::skip]
        const LANGS: [&str; 24] = [
            "de", "fr", "es", "it", "ja", "ko", "nl", "pl", "pt", "pt_BR", "ru", "sv", "tr",
            "uk", "zh_CN", "zh_TW", "cs", "da", "fi", "hu", "nb", "ro", "sk", "vi",
        ];
        for i in 0..self.scaled(1200.0, 10) {
            let lang = LANGS[rng.below(LANGS.len())];
            let p = &pkgs[i % pkgs.len()];
            buf.clear();
            buf.extend_from_slice(b"\xde\x12\x04\x95\0\0\0\0");
            let n = rng.size(4 << 10, 120 << 10);
            binary(&mut rng, n, &mut buf);
            self.put(
                &format!("usr/share/locale/{lang}/LC_MESSAGES/{p}.mo"),
                &buf,
                0o644,
            )?;
        }
        // shared libraries (binary, the bulk of the bytes)
        for i in 0..self.scaled(800.0, 8) {
            let p = &pkgs[(i * 7) % pkgs.len()];
            buf.clear();
            buf.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0\x3e\0");
            let n = rng.size(8 << 10, 2 << 20);
            binary(&mut rng, n, &mut buf);
            self.put(
                &format!("usr/lib/x86_64-linux-gnu/lib{p}.so.{}", 1 + i % 5),
                &buf,
                0o644,
            )?;
        }
        // python modules in package directories
        let npy = self.scaled(300.0, 6);
        for i in 0..self.scaled(4000.0, 40) {
            let pk = pkgs[(i % npy * 13) % pkgs.len()].replace('-', "_");
            let sub = ["", "tests/", "common/", "api/", "db/migrations/"][rng.below(5)];
            let m = pkg_name(&mut rng, i + 7).replace('-', "_");
            buf.clear();
            buf.extend_from_slice(b"# SPDX-License-Identifier: Apache-2.0\nimport os\nimport sys\n\n\ndef main():\n    \"\"\"");
            let n = rng.size(512, 40 << 10);
            text(&mut rng, n, &mut buf);
            buf.extend_from_slice(b"\"\"\"\n    return 0\n");
            self.put(
                &format!("usr/lib/python3/dist-packages/{pk}/{sub}{m}.py"),
                &buf,
                0o644,
            )?;
        }
        // package data
        for i in 0..self.scaled(1500.0, 15) {
            let p = &pkgs[(i * 3) % pkgs.len()];
            let ext = ["json", "xml", "txt", "html", "csv"][rng.below(5)];
            buf.clear();
            let n = rng.size(1 << 10, 100 << 10);
            text(&mut rng, n, &mut buf);
            self.put(&format!("usr/share/{p}/data-{i}.{ext}"), &buf, 0o644)?;
        }
        self.configs(&mut rng)?;
        Ok(())
    }

    /// Service configs all over the tree (no `kek` in them).
    fn configs(&mut self, rng: &mut Rng) -> io::Result<()> {
        #[rustfmt::skip]
        const SVC: [&str; 22] = [
            "nova", "neutron", "keystone", "glance", "cinder", "octavia", "placement", "heat",
            "swift", "designate", "manila", "ironic", "magnum", "horizon", "aodh", "gnocchi",
            "ceilometer", "haproxy", "nginx", "rabbitmq", "mysql", "memcached",
        ];
        const USERS: [&str; 4] = ["stack", "ubuntu", "admin", "deploy"];
        #[rustfmt::skip]
        const EXT: [&str; 10] = [
            ".conf", ".ini", ".yaml", ".yml", ".json", ".env", ".cfg", ".conf", ".conf", ".ini",
        ];
        #[rustfmt::skip]
        const KEYS: [&str; 28] = [
            "host", "port", "debug", "verbose", "password", "connection", "transport_url",
            "auth_url", "username", "project_name", "region_name", "memcached_servers",
            "rabbit_password", "admin_token", "secret_key", "backend", "workers", "bind_host",
            "log_dir", "lock_path", "policy_file", "ssl_cert_file", "signing_key",
            "encryption_key", "fernet_key", "db_password", "timeout", "heartbeat_timeout",
        ];
        let layers: Vec<String> = (0..40).map(|_| rng.hexstr(64)).collect();
        let mut used = BTreeSet::new();
        for i in 0..self.scaled(3000.0, 60) {
            let s = rng.pick(&SVC);
            let u = rng.pick(&USERS);
            let t = rng.below(100);
            let dir = if t < 30 {
                format!("etc/{s}{}", if rng.below(3) == 0 { "/conf.d" } else { "" })
            } else if t < 45 {
                format!("opt/stack/{s}/etc/{s}")
            } else if t < 65 {
                format!(
                    "var/lib/docker/overlay2/{}/diff/etc/{s}",
                    layers[rng.below(40)]
                )
            } else if t < 75 {
                format!("home/{u}/.config/{s}")
            } else if t < 85 {
                format!("home/{u}/projects/{s}-deploy/config/env{}", rng.below(4))
            } else if t < 93 {
                format!("srv/{s}/releases/{}/config", 20230100 + rng.below(30))
            } else {
                format!("usr/local/etc/{s}")
            };
            let ext = rng.pick(&EXT);
            let base = if rng.below(3) == 0 {
                s.to_string()
            } else {
                format!("{s}-{}", rng.hexstr(4))
            };
            let mut p = format!("{dir}/{base}{ext}");
            if !used.insert(p.clone()) {
                p = format!("{dir}/{base}-{i}{ext}");
                used.insert(p.clone());
            }
            let target = 200 * (1usize << rng.below(7)) + rng.below(200);
            let mut out = String::new();
            let value = |rng: &mut Rng| -> String {
                match rng.below(10) {
                    0 => rng.below(65535).to_string(),
                    1 => (if rng.below(2) == 0 { "true" } else { "false" }).into(),
                    2 => format!("controller-{}.cloud.example.internal", rng.below(9)),
                    3 => format!(
                        "mysql+pymysql://{s}:{}@db{}.internal/{s}",
                        rng.alnum(24),
                        rng.below(3)
                    ),
                    4 => format!(
                        "rabbit://openstack:{}@mq{}:5672//",
                        rng.alnum(32),
                        rng.below(3)
                    ),
                    5 => {
                        let n = 16 + rng.below(48);
                        rng.alnum(n)
                    }
                    6 => format!(
                        "{}-{}-{}-{}-{}",
                        rng.hexstr(8),
                        rng.hexstr(4),
                        rng.hexstr(4),
                        rng.hexstr(4),
                        rng.hexstr(12)
                    ),
                    7 => format!("/var/lib/{s}/{}", rng.alnum(8)),
                    8 => format!(
                        "http://10.{}.{}.{}:{}/v3",
                        rng.below(256),
                        rng.below(256),
                        rng.below(256),
                        5000 + rng.below(5000)
                    ),
                    _ => {
                        let n = 32 + 32 * rng.below(2);
                        rng.hexstr(n)
                    }
                }
            };
            if ext == ".json" {
                out.push_str("{\n");
                while out.len() < target {
                    let v = value(rng);
                    let _ = writeln!(out, "  \"{}_{}\": \"{v}\",", rng.pick(&KEYS), rng.below(50));
                }
                out.push_str("  \"_comment\": \"generated\"\n}\n");
            } else if ext.starts_with(".y") {
                out.push_str("---\n");
                while out.len() < target {
                    let _ = writeln!(out, "{}_{}:", rng.pick(&KEYS), rng.below(50));
                    for _ in 0..=rng.below(5) {
                        let v = value(rng);
                        let _ = writeln!(out, "  {}: \"{v}\"", rng.pick(&KEYS));
                    }
                }
            } else if ext == ".env" {
                while out.len() < target {
                    let v = value(rng);
                    let _ = writeln!(
                        out,
                        "{}_{}={v}",
                        rng.pick(&KEYS).to_uppercase(),
                        rng.below(50)
                    );
                }
            } else {
                while out.len() < target {
                    let sec = if rng.below(4) == 0 {
                        rng.pick(&KEYS)
                    } else {
                        "DEFAULT"
                    };
                    let _ = writeln!(out, "\n[{sec}]");
                    for _ in 0..=rng.below(8) {
                        if rng.below(3) == 0 {
                            let mut t = Vec::new();
                            text(rng, 40, &mut t);
                            let _ = write!(out, "# {}", String::from_utf8_lossy(&t));
                        }
                        let v = value(rng);
                        let _ = writeln!(out, "{} = {v}", rng.pick(&KEYS));
                    }
                }
            }
            self.put(&p, out.as_bytes(), 0o640)?;
        }
        Ok(())
    }

    // ------------------------------------------------------------ links

    fn links(&mut self) -> io::Result<()> {
        self.mkdir("etc/alternatives")?;
        self.mkdir("srv/loop/a/b")?;
        let links: [(&str, &str, &str); 8] = [
            (
                "etc/alternatives/barbican.conf",
                "../barbican/barbican.conf",
                "the config, seen twice if links are followed",
            ),
            (
                "var/lib/backups-current",
                "../backups",
                "the backups, seen twice if links are followed",
            ),
            ("lib", "usr/lib", "merged /usr"),
            ("bin", "usr/bin", "merged /usr"),
            ("sbin", "usr/sbin", "merged /usr"),
            ("srv/loop/a/b/up", "../..", "a directory cycle"),
            ("srv/loop/selfref", "selfref", "ELOOP on open"),
            (
                "home/stack/dangling.conf",
                "/nonexistent/etc/barbican/barbican.conf",
                "dangling, outside the tree",
            ),
        ];
        for (path, target, note) in links {
            symlink(target, self.path(path))?;
            self.links.push(Link {
                path: path.to_string(),
                target: target.to_string(),
                note,
            });
        }
        Ok(())
    }
}

/// Binary filler written to `s` until it is `upto` bytes long.
fn fill_binary(rng: &mut Rng, s: &mut Sink, upto: usize) -> io::Result<()> {
    let mut buf = Vec::with_capacity(1 << 20);
    while s.pos < upto {
        buf.clear();
        binary(rng, (upto - s.pos).min(1 << 20), &mut buf);
        s.put(&buf)?;
    }
    Ok(())
}

/// mysqldump INSERT lines (base64 of random bytes) until `s` is `upto` long.
fn sql_rows(rng: &mut Rng, s: &mut Sink, upto: usize, table: &str) -> io::Result<()> {
    let mut line = Vec::new();
    let mut raw = Vec::new();
    let mut n = 0u64;
    while s.pos < upto {
        n += 1;
        raw.clear();
        rng.bytes(81, &mut raw);
        line.clear();
        let _ = writeln!(
            VecWriter(&mut line),
            "INSERT INTO `{table}` VALUES ({n},'{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}','{}','ACTIVE');",
            n.wrapping_mul(2_654_435_761) % (1 << 32),
            n % 65536,
            n % 4096,
            (n * 7) % 4096,
            n * 40503,
            STANDARD.encode(&raw)
        );
        let take = line.len().min(upto - s.pos);
        s.put(&line[..take])?;
    }
    Ok(())
}

/// Service log lines (numbered from `start`), about `n` bytes.
fn log_lines(rng: &mut Rng, start: u64, n: usize, out: &mut Vec<u8>) {
    const LV: [&str; 6] = ["INFO", "DEBUG", "DEBUG", "INFO", "WARNING", "INFO"];
    const MOD: [&str; 6] = [
        "barbican.api.app",
        "barbican.api.controllers.secrets",
        "barbican.model.repositories",
        "oslo_service.service",
        "keystonemiddleware.auth_token",
        "oslo_messaging._drivers.impl_rabbit",
    ];
    let end = out.len() + n;
    let mut i = start;
    while out.len() < end {
        let s = i % 86400;
        let _ = write!(
            VecWriter(out),
            "2024-01-{:02} {:02}:{:02}:{:02}.{:03} {} {} {} [req-{:08x} - - - - -] ",
            (i / 86400) % 28 + 1,
            s / 3600,
            (s / 60) % 60,
            s % 60,
            i % 1000,
            2000 + i % 7,
            LV[(i % 6) as usize],
            MOD[((i * 7) % 6) as usize],
            i.wrapping_mul(2_654_435_761) % (1 << 32)
        );
        let words = 40 + rng.below(80);
        text(rng, words, out);
        i += 1;
    }
}

/// Shell history lines.
fn history(rng: &mut Rng, lines: usize, out: &mut Vec<u8>) {
    const CMDS: [&str; 16] = [
        "ls -la",
        "cd /opt/stack/barbican",
        "git pull --rebase",
        "sudo systemctl restart barbican-api",
        "openstack secret list",
        "openstack server list --all-projects",
        "tail -n 200 /var/log/barbican/barbican-api.log",
        "sudo journalctl -u barbican-api -n 100",
        "vim /etc/barbican/barbican.conf",
        "grep -i crypto /etc/barbican/barbican.conf",
        "source ~/devstack/openrc admin admin",
        "docker ps",
        "df -h",
        "free -m",
        "sudo -i",
        "openstack token issue",
    ];
    for _ in 0..lines {
        out.extend_from_slice(CMDS[rng.below(CMDS.len())].as_bytes());
        out.push(b'\n');
    }
}

/// A Debian-like package name (unique per `i`).
fn pkg_name(rng: &mut Rng, i: usize) -> String {
    #[rustfmt::skip]
    const SYL: [&str; 24] = [
        "ac", "bel", "cor", "dan", "el", "fio", "gar", "hu", "ix", "jo", "lan", "mor", "nu",
        "ob", "pra", "qu", "res", "sul", "tor", "ul", "vex", "wen", "yo", "zed",
    ];
    let pre = ["lib", "python3-", "", "", "golang-", "node-"][rng.below(6)];
    format!("{pre}{}{}{}", SYL[rng.below(24)], SYL[rng.below(24)], i)
}

/// Sets every mtime (post-order, links not followed), counts and digests.
fn finish(root: &Path) -> io::Result<Stats> {
    let mut st = Stats::default();
    let mut layout = Sha256::new();
    let mut content = Sha256::new();
    visit(root, root, &mut st, &mut layout, &mut content)?;
    st.layout_digest = hex16(&layout.finalize());
    st.content_digest = hex16(&content.finalize());
    Ok(st)
}

fn hex16(d: &[u8]) -> String {
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn visit(
    root: &Path,
    dir: &Path,
    st: &mut Stats,
    layout: &mut Sha256,
    content: &mut Sha256,
) -> io::Result<()> {
    let mut names: Vec<_> = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<io::Result<_>>()?;
    names.sort();
    let mut buf = vec![0u8; 1 << 16];
    for name in names {
        let p = dir.join(&name);
        let rel = p
            .strip_prefix(root)
            .unwrap_or(&p)
            .to_string_lossy()
            .into_owned();
        let m = fs::symlink_metadata(&p)?;
        let ft = m.file_type();
        if ft.is_dir() {
            st.dirs += 1;
            layout.update(format!("d {rel}\n"));
            visit(root, &p, st, layout, content)?;
        } else if ft.is_symlink() {
            st.symlinks += 1;
            let t = fs::read_link(&p)?;
            layout.update(format!("l {} {rel}\n", t.display()));
        } else if ft.is_file() {
            st.files += 1;
            st.bytes += m.len();
            if rel.ends_with(".gz") {
                st.gz_files += 1;
            }
            if rel.split('/').any(|c| c.starts_with('.')) {
                st.hidden_files += 1;
            }
            layout.update(format!("f {} {rel}\n", m.len()));
            content.update(format!("{rel}\0"));
            let mut f = File::open(&p)?;
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                content.update(&buf[..n]);
            }
        } else {
            st.fifos += 1;
            layout.update(format!("p {rel}\n"));
        }
        set_mtime(&p)?;
    }
    set_mtime(dir)
}

fn set_mtime(p: &Path) -> io::Result<()> {
    let t = nix::sys::time::TimeSpec::new(MTIME, 0);
    nix::sys::stat::utimensat(
        None,
        p,
        &t,
        &t,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .map_err(io::Error::from)
}
