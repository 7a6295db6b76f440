//! The scan cache (`scan --cache FILE`): files that an earlier scan read in
//! full, and what it found in them, so that an hourly scan reads only what
//! changed.
//!
//! A file is known when its *key* is in the cache: either clean, or with the
//! copies found in it (member, encoding, offset, fingerprint), which are
//! reported again without reading it (a 20 GB disk image holding a copy is
//! not read every hour until somebody deals with it). The key is the
//! first 16 bytes of SHA-256 over an epoch and what `fstat` says of the
//! opened file: path, device, inode, size, mtime and ctime (both to the
//! nanosecond). Any write, truncation, rename over it, `chmod`/`chown` or
//! `touch` moves ctime, which user space cannot set back, so a changed file
//! gets a new key and is read again. The epoch is SHA-256 over the cache
//! format, this program's version and the raw KEKs searched for: another
//! KEK, or a version that may read more encodings, shares no key with the
//! old cache and everything is read again.
//!
//! What is never recorded: a file with an error (it may read fine next
//! time), a file not read to its end, and a "racy" file whose mtime or ctime is within two seconds of
//! the scan's start (a write in the same timestamp tick as our `fstat`
//! would not move them; git's index has the same rule).
//!
//! The file holds keys, and for files with copies what a report shows of
//! them (member names, fingerprints, offsets); no paths and never a key. A
//! key cannot be forged without the full SHA-256 of a KEK (reports show 48
//! bits of it), so nobody can attach a record to a file of their choosing.
//! The cache is still refused (with a warning, and a full scan) unless it
//! is owned by the user running the scan and writable by nobody else.
//!
//! Format (integers little-endian): `BASCACH2`; the count of clean keys
//! (u64) and the keys, sorted ascending without repeats; the count of files
//! with copies (u64) and for each, in key order, the key, the hit count
//! (u32) and per hit the encoding index (u8), decompressed (u8), the offset
//! (u64), the fingerprint and the member (u32 length and bytes; length
//! `u32::MAX` for no member); then SHA-256 of everything before it. A
//! truncated or corrupt file is refused whole. The new cache holds exactly
//! the files known in this run (entries of files not seen again drop out),
//! written to a temporary file beside it, fsynced and renamed.
//!
//! Memory: 16 bytes per clean file, twice (the old set and the new one),
//! plus the records of files with copies.

use std::fs::Metadata;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{Encoding, Hit, Needle};

/// One file's identity in the cache.
pub(crate) type Key = [u8; 16];

/// A copy found in a file, as remembered (the path is the file's own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub member: Option<String>,
    pub encoding: Encoding,
    pub offset: u64,
    pub fingerprint: String,
    pub decompressed: bool,
}

impl Found {
    /// What is remembered of `h` (its path is the key's).
    pub(crate) fn of(h: &Hit) -> Found {
        Found {
            member: h.member.clone(),
            encoding: h.encoding,
            offset: h.offset,
            fingerprint: h.fingerprint.clone(),
            decompressed: h.decompressed,
        }
    }

    /// The hit again, in the file at `path`.
    pub(crate) fn to_hit(&self, path: &Path) -> Hit {
        Hit {
            path: path.to_path_buf(),
            member: self.member.clone(),
            encoding: self.encoding,
            offset: self.offset,
            fingerprint: self.fingerprint.clone(),
            decompressed: self.decompressed,
        }
    }
}

/// What the cache knows: clean files, and files with copies.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Entries {
    /// Sorted, without repeats.
    pub clean: Vec<Key>,
    /// Sorted by key, without repeats.
    pub found: Vec<(Key, Vec<Found>)>,
}

const MAGIC: &[u8; 8] = b"BASCACH2";
/// Hits remembered per file at most (the scan lists at most 1,000 by default).
const MAX_FOUND_PER_FILE: u32 = 100_000;
/// Bump when the matcher learns to find something it did not before.
const FORMAT: &str =
    "barbican-audit scan cache, matcher 4 (gzip xz zstd bzip2 tar, base64 inside base64, text forms across line breaks)";
/// A cache larger than this is refused (16 M files).
const MAX_KEYS: u64 = 16 << 20;
/// Files changed this close to the scan's start are not recorded (ns).
const RACY_NS: i128 = 2_000_000_000;

/// What the scan needs to use the cache.
pub(crate) struct Cache {
    epoch: [u8; 32],
    known: Entries,
    /// Scan start minus the racy margin, in ns since the epoch.
    racy_from: i128,
}

impl Cache {
    pub(crate) fn new(needles: &[Needle], known: Entries, start: std::time::SystemTime) -> Self {
        let mut h = Sha256::new();
        h.update(FORMAT.as_bytes());
        h.update([0]);
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        let mut raws: Vec<&[u8; 32]> = needles.iter().map(|n| &n.raw).collect();
        raws.sort();
        for r in raws {
            h.update([1]);
            h.update(r);
        }
        let start_ns = start
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        Cache {
            epoch: h.finalize().into(),
            known,
            racy_from: start_ns - RACY_NS,
        }
    }

    /// The key of the file at `path` as its `fstat` describes it.
    pub(crate) fn key(&self, path: &Path, m: &Metadata) -> Key {
        let mut h = Sha256::new();
        h.update(self.epoch);
        for v in [m.dev(), m.ino(), m.size()] {
            h.update(v.to_le_bytes());
        }
        for v in [m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec()] {
            h.update(v.to_le_bytes());
        }
        h.update(path.as_os_str().as_bytes());
        let d = h.finalize();
        let mut k = [0u8; 16];
        k.copy_from_slice(&d[..16]);
        k
    }

    /// Whether a clean scan of this file may be remembered.
    pub(crate) fn settled(&self, m: &Metadata) -> bool {
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        ns(m.mtime(), m.mtime_nsec()) < self.racy_from
            && ns(m.ctime(), m.ctime_nsec()) < self.racy_from
    }

    pub(crate) fn knows_any(&self) -> bool {
        !self.known.clean.is_empty() || !self.known.found.is_empty()
    }

    /// `Some(&[])` for a known clean file, `Some(hits)` for a known file
    /// with copies, `None` for a file to read.
    pub(crate) fn lookup(&self, k: &Key) -> Option<&[Found]> {
        if self.known.clean.binary_search(k).is_ok() {
            return Some(&[]);
        }
        self.known
            .found
            .binary_search_by(|(x, _)| x.cmp(k))
            .ok()
            .map(|i| self.known.found[i].1.as_slice())
    }
}

/// Reads the cache at `path`: no file is an empty cache; anything wrong
/// with it is an `Err` with the reason (the caller warns and reads everything).
pub(crate) fn load(path: &Path) -> Result<Entries, String> {
    // Opened without blocking and checked on the descriptor: a FIFO as
    // --cache hung the scan.
    let (mut f, m) = match crate::userfile::open_regular(path) {
        Ok(x) => x,
        Err(e) if e.io_kind() == Some(io::ErrorKind::NotFound) => return Ok(Entries::default()),
        Err(e) if e.io_kind().is_some() => return Err(format!("cannot open: {}", e.reason())),
        Err(e) => return Err(e.reason()),
    };
    let euid = rustix::process::geteuid().as_raw();
    if m.uid() != euid {
        return Err(format!(
            "owned by uid {}, not by the user running the scan (uid {euid})",
            m.uid()
        ));
    }
    if m.permissions().mode() & 0o022 != 0 {
        return Err(format!(
            "mode {:04o}: group or others may write it (chmod 0600)",
            m.permissions().mode() & 0o7777
        ));
    }
    let max = 1 << 30;
    if m.len() > max {
        return Err(format!(
            "{} bytes: larger than any cache this program writes",
            m.len()
        ));
    }
    let mut data = Vec::with_capacity(usize::try_from(m.len()).unwrap_or(0));
    (&mut f)
        .take(max + 1)
        .read_to_end(&mut data)
        .map_err(|e| format!("cannot read: {e}"))?;
    parse(&data)
}

/// Reads the fields of a cache body in order; every read is bounds-checked.
struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.rest.len() < n {
            return Err("not a scan cache or damaged (record runs past the end)".into());
        }
        let (a, b) = self.rest.split_at(n);
        self.rest = b;
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> Result<u64, String> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }

    fn key(&mut self) -> Result<Key, String> {
        let mut k = [0u8; 16];
        k.copy_from_slice(self.take(16)?);
        Ok(k)
    }

    fn string(&mut self) -> Result<Option<String>, String> {
        let n = self.u32()?;
        if n == u32::MAX {
            return Ok(None);
        }
        let b = self.take(n as usize)?;
        String::from_utf8(b.to_vec())
            .map(Some)
            .map_err(|_| "not a scan cache or damaged (a name is not UTF-8)".into())
    }
}

fn parse(data: &[u8]) -> Result<Entries, String> {
    let corrupt = |why: &str| Err(format!("not a scan cache or damaged ({why})"));
    if data.len() < 8 + 32 || &data[..8] != MAGIC {
        return corrupt("bad header");
    }
    let (body, sum) = data.split_at(data.len() - 32);
    if Sha256::digest(body).as_slice() != sum {
        return corrupt("checksum mismatch");
    }
    let mut f = Fields { rest: &body[8..] };
    let n = f.u64()?;
    if n > MAX_KEYS || (f.rest.len() as u64) < n * 16 {
        return corrupt("length does not match the key count");
    }
    let mut e = Entries::default();
    for _ in 0..n {
        e.clean.push(f.key()?);
    }
    let n = f.u64()?;
    if n > MAX_KEYS {
        return corrupt("too many records");
    }
    for _ in 0..n {
        let key = f.key()?;
        let hits = f.u32()?;
        if hits == 0 || hits > MAX_FOUND_PER_FILE {
            return corrupt("bad hit count");
        }
        let mut v = Vec::new();
        for _ in 0..hits {
            let Some(&encoding) = Encoding::ALL.get(usize::from(f.u8()?)) else {
                return corrupt("unknown encoding");
            };
            let decompressed = f.u8()? != 0;
            let offset = f.u64()?;
            let Some(fingerprint) = f.string()? else {
                return corrupt("hit without a fingerprint");
            };
            let member = f.string()?;
            v.push(Found {
                member,
                encoding,
                offset,
                fingerprint,
                decompressed,
            });
        }
        e.found.push((key, v));
    }
    if !f.rest.is_empty() {
        return corrupt("bytes after the last record");
    }
    if e.clean.windows(2).any(|w| w[0] >= w[1]) || e.found.windows(2).any(|w| w[0].0 >= w[1].0) {
        return corrupt("keys out of order");
    }
    Ok(e)
}

fn serialize(e: &Entries) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: Option<&str>) {
        match s {
            // longer names do not occur (tar names are bounded); refuse to
            // write one rather than write a length we cannot read back
            Some(s) if s.len() < u32::MAX as usize => {
                out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            _ => out.extend_from_slice(&u32::MAX.to_le_bytes()),
        }
    }
    let mut out = Vec::with_capacity(24 + e.clean.len() * 16 + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(e.clean.len() as u64).to_le_bytes());
    for k in &e.clean {
        out.extend_from_slice(k);
    }
    out.extend_from_slice(&(e.found.len() as u64).to_le_bytes());
    for (k, hits) in &e.found {
        out.extend_from_slice(k);
        out.extend_from_slice(&(hits.len() as u32).to_le_bytes());
        for h in hits {
            let idx = Encoding::ALL
                .iter()
                .position(|x| *x == h.encoding)
                .unwrap_or(0);
            out.push(idx as u8);
            out.push(u8::from(h.decompressed));
            out.extend_from_slice(&h.offset.to_le_bytes());
            string(&mut out, Some(&h.fingerprint));
            string(&mut out, h.member.as_deref());
        }
    }
    let sum = Sha256::digest(&out);
    out.extend_from_slice(&sum);
    out
}

/// Writes `e` as the new cache at `path` (atomically, mode 0600).
pub(crate) fn save(path: &Path, mut e: Entries) -> Result<(), String> {
    e.clean.sort_unstable();
    e.clean.dedup();
    e.found.sort_by_key(|a| a.0);
    e.found.dedup_by(|a, b| a.0 == b.0);
    e.found
        .retain(|(_, hits)| !hits.is_empty() && hits.len() <= MAX_FOUND_PER_FILE as usize);
    // the report writer's atomic write: temp file (0600 from its start),
    // fsync, rename, fsync of the directory
    barbican_audit_support::atomic::write_atomic_mode(path, &serialize(&e), 0o600)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: u8) -> Vec<Key> {
        (0..n).map(|i| [i; 16]).collect()
    }

    fn found(member: Option<&str>) -> Found {
        Found {
            member: member.map(str::to_owned),
            encoding: Encoding::HexUpper,
            offset: 1 << 40,
            fingerprint: "sha256:0123456789ab".into(),
            decompressed: true,
        }
    }

    fn entries() -> Entries {
        let mut clean = keys(5);
        clean.reverse();
        clean.push([2; 16]);
        Entries {
            clean,
            found: vec![
                ([9; 16], vec![found(Some("a.tar!b.conf")), found(None)]),
                ([8; 16], vec![found(None)]),
            ],
        }
    }

    #[test]
    fn round_trip_and_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c");
        assert_eq!(
            load(&p).unwrap(),
            Entries::default(),
            "no file: empty cache"
        );
        save(&p, entries()).unwrap();
        let back = load(&p).unwrap();
        assert_eq!(back.clean, keys(5), "sorted, without repeats");
        assert_eq!(back.found[0].0, [8; 16]);
        assert_eq!(
            back.found[1].1,
            vec![found(Some("a.tar!b.conf")), found(None)]
        );
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let good = std::fs::read(&p).unwrap();
        for cut in 0..good.len() {
            assert!(parse(&good[..cut]).is_err(), "truncated at {cut}");
        }
        let mut bad = good.clone();
        bad[20] ^= 1;
        assert!(parse(&bad).unwrap_err().contains("checksum"));
        // keys out of order with a valid checksum: refused too
        let mut unsorted = Entries {
            clean: keys(3),
            found: Vec::new(),
        };
        unsorted.clean.swap(0, 2);
        assert!(parse(&serialize(&unsorted)).unwrap_err().contains("order"));
        // a record whose lengths lie, with a valid checksum: refused, no panic
        let mut lying = serialize(&entries());
        lying.truncate(lying.len() - 32);
        let n = lying.len();
        lying[n - 4..].copy_from_slice(&1000u32.to_le_bytes());
        let sum = Sha256::digest(&lying);
        lying.extend_from_slice(&sum);
        assert!(parse(&lying).is_err());
    }

    #[test]
    fn writable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c");
        save(&p, entries()).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o622)).unwrap();
        assert!(load(&p).unwrap_err().contains("chmod 0600"));
    }

    #[test]
    fn epoch_depends_on_the_keks() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"x").unwrap();
        let m = std::fs::metadata(&f).unwrap();
        let now = std::time::SystemTime::now();
        let new = |k: u8, t| Cache::new(&[Needle::from_raw([k; 32])], Entries::default(), t);
        let (a, a2, b) = (new(1, now), new(1, now), new(2, now));
        assert_eq!(a.key(&f, &m), a2.key(&f, &m));
        assert_ne!(a.key(&f, &m), b.key(&f, &m));
        assert_ne!(a.key(&f, &m), a.key(&dir.path().join("g"), &m));
        // just written: too fresh to remember
        assert!(!a.settled(&m));
        assert!(new(1, now + std::time::Duration::from_secs(3)).settled(&m));
    }
}
