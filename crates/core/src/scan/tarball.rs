//! A streaming tar reader with bounded memory.
//!
//! The `tar` crate reads GNU long-name and PAX header members into memory
//! whole (`read_all`), so one 10 GB `L` member in a user's home would make a
//! root scan allocate 10 GB. This reader keeps at most [`MAX_NAME`] bytes of
//! a long name and [`MAX_PAX`] bytes of a PAX header (larger ones are skipped
//! and ignored), and hands out member data as a stream.
//!
//! Formats: v7, ustar (name prefix), GNU (long names `L`, base-256 sizes, old
//! sparse `S` with its extension blocks), PAX (`path`, `size`). Sparse members
//! are read as their stored bytes: holes are zeros and hold no key, and
//! offsets then count stored bytes.

use std::io::{self, Read};

/// Longest member name kept (the rest is dropped).
pub(crate) const MAX_NAME: usize = 64 << 10;
/// Largest PAX extended header parsed.
pub(crate) const MAX_PAX: u64 = 1 << 20;
const BLOCK: usize = 512;

/// A member header, after long names and PAX records were applied.
pub(crate) struct Member {
    pub name: Vec<u8>,
    /// Regular file data (also contiguous and sparse files).
    pub is_file: bool,
}

pub(crate) struct TarReader<'r> {
    r: &'r mut dyn Read,
    /// Data bytes of the current member not yet read.
    left: u64,
    /// Padding after the current member's data.
    pad: u64,
    /// The stream ended inside a member's data.
    short: bool,
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("corrupt tar archive: {what}"),
    )
}

fn truncated() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "truncated tar archive")
}

fn padding(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

/// Octal (space or NUL terminated) or GNU base-256 number.
fn number(field: &[u8]) -> io::Result<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let mut v: u64 = u64::from(field[0] & 0x7f);
        for &b in &field[1..] {
            v = v
                .checked_mul(256)
                .and_then(|v| v.checked_add(u64::from(b)))
                .ok_or_else(|| corrupt("size too large"))?;
        }
        return Ok(v);
    }
    let mut v: u64 = 0;
    let mut seen = false;
    for &b in field {
        match b {
            b'0'..=b'7' => {
                v = v
                    .checked_mul(8)
                    .and_then(|v| v.checked_add(u64::from(b - b'0')))
                    .ok_or_else(|| corrupt("number too large"))?;
                seen = true;
            }
            b' ' if !seen => {}
            b' ' | 0 => break,
            _ => return Err(corrupt("bad number field")),
        }
    }
    Ok(v)
}

fn cstr(field: &[u8]) -> &[u8] {
    match memchr::memchr(0, field) {
        Some(i) => &field[..i],
        None => field,
    }
}

fn checksum_ok(h: &[u8; BLOCK]) -> bool {
    let Ok(want) = number(&h[148..156]) else {
        return false;
    };
    let sum: u64 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(b)
            }
        })
        .sum();
    // some old writers summed signed bytes
    let signed: i64 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                i64::from(b as i8)
            }
        })
        .sum();
    want == sum || i64::try_from(want).is_ok_and(|w| w == signed)
}

/// Applies the `path` and `size` records of a PAX header.
fn pax(data: &[u8], name: &mut Option<Vec<u8>>, size: &mut Option<u64>) {
    let mut rest = data;
    while !rest.is_empty() {
        let Some(sp) = memchr::memchr(b' ', rest) else {
            return;
        };
        let Some(len) = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            return;
        };
        if len <= sp || len > rest.len() {
            return;
        }
        let rec = &rest[sp + 1..len];
        let rec = rec.strip_suffix(b"\n").unwrap_or(rec);
        if let Some(eq) = memchr::memchr(b'=', rec) {
            let (k, v) = (&rec[..eq], &rec[eq + 1..]);
            match k {
                b"path" => *name = Some(v[..v.len().min(MAX_NAME)].to_vec()),
                b"size" => *size = std::str::from_utf8(v).ok().and_then(|s| s.parse().ok()),
                _ => {}
            }
        }
        rest = &rest[len..];
    }
}

impl<'r> TarReader<'r> {
    pub(crate) fn new(r: &'r mut dyn Read) -> Self {
        TarReader {
            r,
            left: 0,
            pad: 0,
            short: false,
        }
    }

    /// Reads exactly `buf.len()` bytes; false if the stream ends first.
    fn exact(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        let mut have = 0;
        super::stream::fill(self.r, buf, &mut have)?;
        Ok(have == buf.len())
    }

    fn skip(&mut self, mut n: u64) -> io::Result<()> {
        let mut scratch = [0u8; 8192];
        while n > 0 {
            let step = usize::try_from(n.min(scratch.len() as u64)).unwrap_or(scratch.len());
            match self.r.read(&mut scratch[..step]) {
                Ok(0) => return Err(truncated()),
                Ok(k) => n -= k as u64,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads a header member's data, keeping at most `keep` bytes.
    fn small_data(&mut self, size: u64, keep: usize) -> io::Result<Vec<u8>> {
        let kept = usize::try_from(size.min(keep as u64)).unwrap_or(keep);
        let mut v = vec![0u8; kept];
        if !self.exact(&mut v)? {
            return Err(truncated());
        }
        self.skip(size - kept as u64 + padding(size))?;
        Ok(v)
    }

    /// The next member; the rest of the previous one is skipped.
    pub(crate) fn next_member(&mut self) -> io::Result<Option<Member>> {
        if self.short {
            return Err(truncated());
        }
        self.skip(self.left + self.pad)?;
        self.left = 0;
        self.pad = 0;
        let mut long_name: Option<Vec<u8>> = None;
        let mut pax_name: Option<Vec<u8>> = None;
        let mut pax_size: Option<u64> = None;
        loop {
            let mut h = [0u8; BLOCK];
            if !self.exact(&mut h)? {
                return Err(truncated());
            }
            if h.iter().all(|&b| b == 0) {
                return Ok(None); // end-of-archive marker
            }
            if !checksum_ok(&h) {
                return Err(corrupt("header checksum mismatch"));
            }
            let typ = h[156];
            let mut size = number(&h[124..136])?;
            match typ {
                b'L' => {
                    let mut v = self.small_data(size, MAX_NAME)?;
                    v.truncate(cstr(&v).len());
                    long_name = Some(v);
                    continue;
                }
                b'x' if size <= MAX_PAX => {
                    let d = self.small_data(size, MAX_PAX as usize)?;
                    pax(&d, &mut pax_name, &mut pax_size);
                    continue;
                }
                // long link names, global or oversized PAX headers: not needed
                b'K' | b'x' | b'g' => {
                    self.skip(size + padding(size))?;
                    continue;
                }
                _ => {}
            }
            if typ == b'S' && h[482] != 0 {
                // old GNU sparse: extension blocks of the sparse map follow
                loop {
                    let mut ext = [0u8; BLOCK];
                    if !self.exact(&mut ext)? {
                        return Err(truncated());
                    }
                    if ext[504] == 0 {
                        break;
                    }
                }
            }
            if let Some(s) = pax_size {
                size = s;
            }
            let name = match (pax_name, long_name) {
                (Some(n), _) | (None, Some(n)) => n,
                (None, None) => {
                    let base = cstr(&h[..100]);
                    let prefix = if &h[257..262] == b"ustar" && h[262] == 0 {
                        cstr(&h[345..500])
                    } else {
                        &[][..]
                    };
                    if prefix.is_empty() {
                        base.to_vec()
                    } else {
                        [prefix, b"/", base].concat()
                    }
                }
            };
            self.left = size;
            self.pad = padding(size);
            let is_file = matches!(typ, 0 | b'0' | b'7' | b'S');
            return Ok(Some(Member { name, is_file }));
        }
    }

    /// The data of the current member.
    pub(crate) fn data(&mut self) -> MemberData<'_, 'r> {
        MemberData { t: self }
    }
}

/// Reads the current member's data; ends where the member (or the stream) ends.
pub(crate) struct MemberData<'t, 'r> {
    t: &'t mut TarReader<'r>,
}

impl Read for MemberData<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.t.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = usize::try_from(self.t.left.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = self.t.r.read(&mut buf[..want])?;
        if n == 0 {
            // reported once, by the archive (`next_member`), not per member
            self.t.short = true;
            self.t.left = 0;
            self.t.pad = 0;
        }
        self.t.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(data: &[u8]) -> io::Result<Vec<(String, bool, Vec<u8>)>> {
        let mut r = data;
        let mut t = TarReader::new(&mut r);
        let mut out = Vec::new();
        while let Some(m) = t.next_member()? {
            let mut body = Vec::new();
            if m.is_file {
                t.data().read_to_end(&mut body)?;
            }
            out.push((
                String::from_utf8_lossy(&m.name).into_owned(),
                m.is_file,
                body,
            ));
        }
        Ok(out)
    }

    fn header(name: &str, typ: tar::EntryType, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_path(name).unwrap();
        h.set_entry_type(typ);
        h.set_size(size);
        h.set_mode(0o644);
        h.set_cksum();
        h
    }

    #[test]
    fn reads_what_the_tar_crate_writes() {
        let mut b = tar::Builder::new(Vec::new());
        let long = format!("{}/file.conf", "d".repeat(300));
        for (name, body) in [
            ("a.txt", &b"hello"[..]),
            (long.as_str(), b"long name"),
            ("empty", b""),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, body).unwrap();
        }
        let h = header("dir/", tar::EntryType::Directory, 0);
        b.append(&h, &b""[..]).unwrap();
        b.append_pax_extensions([("path", &b"pax/named.conf"[..])])
            .unwrap();
        let h = header("ignored", tar::EntryType::Regular, 3);
        b.append(&h, &b"pax"[..]).unwrap();
        let got = members(&b.into_inner().unwrap()).unwrap();
        let want = vec![
            ("a.txt".to_string(), true, b"hello".to_vec()),
            (long, true, b"long name".to_vec()),
            ("empty".into(), true, vec![]),
            ("dir/".into(), false, vec![]),
            ("pax/named.conf".into(), true, b"pax".to_vec()),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn ustar_prefix_and_huge_long_name_are_bounded() {
        let mut h = tar::Header::new_ustar();
        h.set_path(format!("{}/{}", "p".repeat(120), "n.conf"))
            .unwrap();
        h.set_size(2);
        h.set_cksum();
        let mut b = tar::Builder::new(Vec::new());
        b.append(&h, &b"ok"[..]).unwrap();
        // a 5 MB GNU long name: only MAX_NAME bytes are kept
        let big = vec![b'a'; 5 << 20];
        let l = header(
            "././@LongLink",
            tar::EntryType::GNULongName,
            big.len() as u64,
        );
        b.append(&l, &big[..]).unwrap();
        let f = header("short", tar::EntryType::Regular, 4);
        b.append(&f, &b"body"[..]).unwrap();
        let got = members(&b.into_inner().unwrap()).unwrap();
        assert_eq!(got[0].0, format!("{}/n.conf", "p".repeat(120)));
        assert_eq!(got[1].0.len(), MAX_NAME);
        assert_eq!(got[1].2, b"body");
    }

    #[test]
    fn truncated_and_corrupt_archives_fail() {
        let mut b = tar::Builder::new(Vec::new());
        let h = header("a", tar::EntryType::Regular, 2000);
        b.append(&h, &vec![1u8; 2000][..]).unwrap();
        let t = b.into_inner().unwrap();
        assert!(members(&t[..1000]).is_err());
        assert!(members(&t[..300]).is_err());
        let mut bad = t.clone();
        bad[10] ^= 1;
        assert!(members(&bad).is_err());
        assert_eq!(members(&t).unwrap().len(), 1);
        assert_eq!(
            number(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]).unwrap(),
            256
        );
    }
}
