//! The scan cache (`scan --cache FILE`): files that an earlier scan read in
//! full and found clean, so that an hourly scan reads only what changed.
//!
//! A file is "known clean" when its *key* is in the cache. The key is the
//! first 16 bytes of SHA-256 over an epoch and what `fstat` says of the
//! opened file: path, device, inode, size, mtime and ctime (both to the
//! nanosecond). Any write, truncation, rename over it, `chmod`/`chown` or
//! `touch` moves ctime, which user space cannot set back, so a changed file
//! gets a new key and is read again. The epoch is SHA-256 over the cache
//! format, this program's version and the raw KEKs searched for: another
//! KEK, or a version that may read more encodings, shares no key with the
//! old cache and everything is read again.
//!
//! What is never recorded: a file with a hit or an error, a file not read to
//! its end, and a "racy" file whose mtime or ctime is within two seconds of
//! the scan's start (a write in the same timestamp tick as our `fstat`
//! would not move them; git's index has the same rule).
//!
//! The file holds keys only: no paths, no fingerprints. A key cannot be
//! forged without the full SHA-256 of a KEK (reports show 48 bits of it), so
//! a tampered cache can only make the scan read more. It is still refused
//! (with a warning, and a full scan) unless it is owned by the user running
//! the scan and writable by nobody else.
//!
//! Format: `BASCACH1`, the key count (u64 little-endian), the keys sorted
//! ascending without repeats, then SHA-256 of everything before it. A
//! truncated or corrupt file is refused whole. The new cache holds exactly
//! the files known clean in this run (entries of files not seen again drop
//! out), written to a temporary file beside it, fsynced and renamed.
//!
//! Memory: 16 bytes per file, twice (the old set and the new one).

use std::fs::Metadata;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::Needle;

/// One file's identity in the cache.
pub(crate) type Key = [u8; 16];

const MAGIC: &[u8; 8] = b"BASCACH1";
/// Bump when the matcher learns to find something it did not before.
const FORMAT: &str = "barbican-audit scan cache, matcher 1";
/// A cache larger than this is refused (16 M files).
const MAX_KEYS: u64 = 16 << 20;
/// Files changed this close to the scan's start are not recorded (ns).
const RACY_NS: i128 = 2_000_000_000;

/// What the scan needs to use the cache.
pub(crate) struct Cache {
    epoch: [u8; 32],
    known: Vec<Key>,
    /// Scan start minus the racy margin, in ns since the epoch.
    racy_from: i128,
}

impl Cache {
    pub(crate) fn new(needles: &[Needle], known: Vec<Key>, start: std::time::SystemTime) -> Self {
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
        !self.known.is_empty()
    }

    pub(crate) fn is_known(&self, k: &Key) -> bool {
        self.known.binary_search(k).is_ok()
    }
}

/// Reads the cache at `path`: no file is an empty cache; anything wrong
/// with it is an `Err` with the reason (the caller warns and reads everything).
pub(crate) fn load(path: &Path) -> Result<Vec<Key>, String> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot open: {e}")),
    };
    let m = f.metadata().map_err(|e| format!("cannot stat: {e}"))?;
    if !m.is_file() {
        return Err("not a regular file".into());
    }
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
    let max = 16 + MAX_KEYS * 16 + 32;
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

fn parse(data: &[u8]) -> Result<Vec<Key>, String> {
    let corrupt = |why: &str| Err(format!("not a scan cache or damaged ({why})"));
    if data.len() < 16 + 32 || &data[..8] != MAGIC {
        return corrupt("bad header");
    }
    let (body, sum) = data.split_at(data.len() - 32);
    if Sha256::digest(body).as_slice() != sum {
        return corrupt("checksum mismatch");
    }
    let mut n = [0u8; 8];
    n.copy_from_slice(&body[8..16]);
    let n = u64::from_le_bytes(n);
    let keys = &body[16..];
    if n > MAX_KEYS || keys.len() as u64 != n * 16 {
        return corrupt("length does not match the key count");
    }
    let out: Vec<Key> = keys
        .chunks_exact(16)
        .map(|c| {
            let mut k = [0u8; 16];
            k.copy_from_slice(c);
            k
        })
        .collect();
    if out.windows(2).any(|w| w[0] >= w[1]) {
        return corrupt("keys out of order");
    }
    Ok(out)
}

fn serialize(keys: &[Key]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + keys.len() * 16 + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(keys.len() as u64).to_le_bytes());
    for k in keys {
        out.extend_from_slice(k);
    }
    let sum = Sha256::digest(&out);
    out.extend_from_slice(&sum);
    out
}

/// Writes `keys` as the new cache at `path` (atomically, mode 0600).
pub(crate) fn save(path: &Path, mut keys: Vec<Key>) -> Result<(), String> {
    keys.sort_unstable();
    keys.dedup();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".scan-cache.")
        .tempfile_in(dir)
        .map_err(|e| format!("cannot create a file in {}: {e}", dir.display()))?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot chmod: {e}"))?;
    tmp.write_all(&serialize(&keys))
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| format!("cannot write: {e}"))?;
    tmp.persist(path)
        .map_err(|e| format!("cannot rename into place: {}", e.error))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: u8) -> Vec<Key> {
        (0..n).map(|i| [i; 16]).collect()
    }

    #[test]
    fn round_trip_and_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c");
        assert_eq!(load(&p).unwrap(), Vec::<Key>::new(), "no file: empty cache");
        let mut k = keys(5);
        k.reverse();
        k.push([2; 16]);
        save(&p, k).unwrap();
        assert_eq!(load(&p).unwrap(), keys(5), "sorted, without repeats");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let good = std::fs::read(&p).unwrap();
        for cut in [0, 7, 16, good.len() - 1] {
            assert!(parse(&good[..cut]).is_err(), "truncated at {cut}");
        }
        let mut bad = good.clone();
        bad[20] ^= 1;
        assert!(parse(&bad).unwrap_err().contains("checksum"));
        // keys out of order with a valid checksum: refused too
        let mut unsorted = keys(3);
        unsorted.swap(0, 2);
        assert!(parse(&serialize(&unsorted)).unwrap_err().contains("order"));
    }

    #[test]
    fn writable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c");
        save(&p, keys(2)).unwrap();
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
        let a = Cache::new(&[Needle::from_raw([1; 32])], Vec::new(), now);
        let a2 = Cache::new(&[Needle::from_raw([1; 32])], Vec::new(), now);
        let b = Cache::new(&[Needle::from_raw([2; 32])], Vec::new(), now);
        assert_eq!(a.key(&f, &m), a2.key(&f, &m));
        assert_ne!(a.key(&f, &m), b.key(&f, &m));
        assert_ne!(a.key(&f, &m), a.key(&dir.path().join("g"), &m));
        // just written: too fresh to remember
        assert!(!a.settled(&m));
        let later = now + std::time::Duration::from_secs(3);
        assert!(Cache::new(&[], Vec::new(), later).settled(&m));
    }
}
