//! The rpm database (rpm >= 4.16: SQLite at /var/lib/rpm/rpmdb.sqlite), read
//! without rpm: which version of a package is installed (RDO, TripleO).
//!
//! Table `Packages(hnum INTEGER PRIMARY KEY, blob BLOB)`; each blob is an rpm
//! header without its 8-byte magic: big-endian `u32 il` (index entries),
//! `u32 dl` (data bytes), `il` x 16-byte entries (`tag, type, offset,
//! count`), then `dl` bytes of data. Tags 1000 NAME, 1001 VERSION, 1002
//! RELEASE are NUL-terminated strings (type 6) at `offset`. Every length and
//! offset is checked against the blob before it is used: a damaged
//! database gives "unreadable", never a guessed version.
//!
//! SQLite is read through rusqlite (bundled), already the collector's
//! engine: package headers larger than a page live in overflow pages, and a
//! hand-written B-tree reader for them would be more code to get wrong than
//! the real engine opened read-only. The file is opened `immutable=1` (no
//! lock, no -wal/-shm written or needed: the root may be read-only).
use std::path::Path;

use crate::host::Host;

/// Where rpm >= 4.16 keeps its database (`%_dbpath` /var/lib/rpm).
pub const RPMDB: &str = "/var/lib/rpm/rpmdb.sqlite";

/// A database larger than this is not read (a big server's is ~100 MiB).
const MAX_DB: u64 = 1 << 30;
/// Headers larger than this are damaged (rpm's own limit is 256 MiB; real
/// ones are a few hundred KiB).
const MAX_HEADER: usize = 64 << 20;
/// Rows read at most (tens of thousands of packages is a big host).
const MAX_ROWS: usize = 200_000;

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TYPE_STRING: u32 = 6;

/// One package's name, version and release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// `openstack-barbican-common`.
    pub name: String,
    /// Upstream version (`20.0.0`).
    pub version: String,
    /// Release (`1.el9s`).
    pub release: String,
}

/// Whether the root has an rpm database at all.
pub fn present(host: &Host) -> bool {
    host.exists(Path::new(RPMDB))
}

/// Whether the rpm database lists `name` (false when absent or unreadable).
pub fn has_package(host: &Host, name: &str) -> bool {
    present(host)
        && read(host)
            .map(|pkgs| pkgs.iter().any(|p| p.name == name))
            .unwrap_or(false)
}

/// Every package in the root's rpm database. Err is the reason it could not
/// be read (the caller says it, and does not guess).
pub fn read(host: &Host) -> Result<Vec<Package>, String> {
    let r = host.resolve(Path::new(RPMDB)).map_err(|e| e.to_string())?;
    let real = host.real(&r.target);
    let meta = std::fs::symlink_metadata(&real).map_err(|e| e.to_string())?;
    if !meta.file_type().is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_DB {
        return Err(format!("larger than {} MiB", MAX_DB >> 20));
    }
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
        | rusqlite::OpenFlags::SQLITE_OPEN_URI
        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut uri = String::from("file:");
    for b in real.to_string_lossy().bytes() {
        // Percent-encode everything but unreserved characters and '/'.
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    let conn = rusqlite::Connection::open_with_flags(&uri, flags).map_err(|e| e.to_string())?;
    let mut stmt = conn
        .prepare("SELECT blob FROM Packages")
        .map_err(|e| e.to_string())?;
    let mut rows = stmt.query([]).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut n = 0usize;
    while let Some(row) = rows.next().map_err(|e| e.to_string())? {
        n += 1;
        if n > MAX_ROWS {
            return Err(format!("more than {MAX_ROWS} packages"));
        }
        let blob: Vec<u8> = row.get(0).map_err(|e| e.to_string())?;
        out.push(parse_header(&blob).map_err(|e| format!("package header {n}: {e}"))?);
    }
    Ok(out)
}

fn be32(b: &[u8], at: usize) -> Result<u32, String> {
    b.get(at..at + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| "truncated".to_string())
}

/// Name, version and release from one header blob (without its magic).
pub fn parse_header(blob: &[u8]) -> Result<Package, String> {
    if blob.len() > MAX_HEADER {
        return Err("header too large".into());
    }
    let il = be32(blob, 0)? as usize;
    let dl = be32(blob, 4)? as usize;
    let index_end = il
        .checked_mul(16)
        .and_then(|x| x.checked_add(8))
        .ok_or("index size overflows")?;
    let data_end = index_end.checked_add(dl).ok_or("data size overflows")?;
    if data_end > blob.len() {
        return Err(format!(
            "{il} index entries and {dl} data bytes do not fit {} bytes",
            blob.len()
        ));
    }
    let data = &blob[index_end..data_end];
    let string = |want: u32| -> Result<Option<String>, String> {
        for i in 0..il {
            let e = 8 + i * 16;
            if be32(blob, e)? != want {
                continue;
            }
            if be32(blob, e + 4)? != TYPE_STRING {
                return Err(format!("tag {want} is not a string"));
            }
            let off = be32(blob, e + 8)? as usize;
            let rest = data.get(off..).filter(|r| !r.is_empty()).ok_or(format!(
                "tag {want} offset {off} is outside {dl} data bytes"
            ))?;
            let nul = rest
                .iter()
                .position(|&c| c == 0)
                .ok_or(format!("tag {want} has no NUL before the end"))?;
            return Ok(Some(String::from_utf8_lossy(&rest[..nul]).into_owned()));
        }
        Ok(None)
    };
    Ok(Package {
        name: string(TAG_NAME)?.ok_or("no NAME")?,
        version: string(TAG_VERSION)?.ok_or("no VERSION")?,
        release: string(TAG_RELEASE)?.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(entries: &[(u32, u32, u32)], data: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend((entries.len() as u32).to_be_bytes());
        b.extend((data.len() as u32).to_be_bytes());
        for (tag, ty, off) in entries {
            b.extend(tag.to_be_bytes());
            b.extend(ty.to_be_bytes());
            b.extend(off.to_be_bytes());
            b.extend(1u32.to_be_bytes());
        }
        b.extend(data);
        b
    }

    #[test]
    fn a_header_gives_name_version_release() {
        let data = b"openstack-barbican-common\x0020.0.0\x001.el9s\x00";
        let h = header(&[(1000, 6, 0), (1001, 6, 26), (1002, 6, 33)], data);
        assert_eq!(
            parse_header(&h),
            Ok(Package {
                name: "openstack-barbican-common".into(),
                version: "20.0.0".into(),
                release: "1.el9s".into()
            })
        );
    }

    #[test]
    fn damaged_headers_are_refused_not_guessed() {
        let data = b"barbican\x0020.0.0";
        // VERSION without its NUL.
        let h = header(&[(1000, 6, 0), (1001, 6, 9)], data);
        assert!(parse_header(&h).unwrap_err().contains("no NUL"));
        // Offset past the data.
        let h = header(&[(1000, 6, 0), (1001, 6, 400)], data);
        assert!(parse_header(&h).unwrap_err().contains("outside"));
        // il and dl larger than the blob.
        let mut h = header(&[(1000, 6, 0)], b"x\x00");
        h[3] = 200;
        assert!(parse_header(&h).unwrap_err().contains("do not fit"));
        assert!(parse_header(&[0, 0]).is_err());
        // VERSION with a non-string type.
        let h = header(&[(1000, 6, 0), (1001, 4, 0)], b"x\x00");
        assert!(parse_header(&h).unwrap_err().contains("not a string"));
    }
}
