//! A streaming gzip reader (RFC 1952, multi-member) over a reusable raw
//! inflater.
//!
//! `flate2::read::MultiGzDecoder` allocates and initialises a new inflate
//! state and buffer for every stream; a host has thousands of small `.gz`
//! files (man pages, changelogs, rotated logs), so each worker keeps one
//! [`Inflater`] per nesting level and resets it instead. The CRC-32 of the
//! trailer is not verified (the scan needs the bytes, not their integrity);
//! the length in the trailer is, and a stream that ends early is an error.
//! Bytes after the last member that are not another member (tape padding,
//! garbage) are ignored, as `gzip -d` does with a warning.

use std::io::{self, Read};

use flate2::{Decompress, FlushDecompress, Status};

const IN_BUF: usize = 64 << 10;
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;

/// Inflate state and input buffer, reused from stream to stream.
pub(crate) struct Inflater {
    dec: Decompress,
    inbuf: Vec<u8>,
}

impl Default for Inflater {
    fn default() -> Self {
        Inflater {
            dec: Decompress::new(false),
            inbuf: vec![0; IN_BUF],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    Body,
    Trailer,
    Done,
}

/// Reads the decompressed bytes of the gzip stream in `src`.
pub(crate) struct GzReader<'i, R> {
    src: R,
    inf: &'i mut Inflater,
    pos: usize,
    len: usize,
    eof: bool,
    state: State,
    /// Output of the current member (for the trailer's length check).
    member_out: u64,
    members: u64,
}

fn truncated() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "truncated gzip stream")
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("corrupt gzip stream: {what}"),
    )
}

impl<'i, R: Read> GzReader<'i, R> {
    pub(crate) fn new(src: R, inf: &'i mut Inflater) -> Self {
        inf.dec.reset(false);
        GzReader {
            src,
            inf,
            pos: 0,
            len: 0,
            eof: false,
            state: State::Header,
            member_out: 0,
            members: 0,
        }
    }

    /// Moves the unread input to the front and reads more after it.
    fn refill(&mut self) -> io::Result<()> {
        if self.pos > 0 {
            self.inf.inbuf.copy_within(self.pos..self.len, 0);
            self.len -= self.pos;
            self.pos = 0;
        }
        while self.len < self.inf.inbuf.len() {
            match self.src.read(&mut self.inf.inbuf[self.len..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => {
                    self.len += n;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Makes at least `n` unread input bytes available; false at end of input.
    fn need(&mut self, n: usize) -> io::Result<bool> {
        while self.len - self.pos < n {
            if self.eof {
                return Ok(false);
            }
            self.refill()?;
        }
        Ok(true)
    }

    fn avail(&self) -> &[u8] {
        &self.inf.inbuf[self.pos..self.len]
    }

    /// Skips a zero-terminated header field of any length.
    fn skip_cstr(&mut self) -> io::Result<()> {
        loop {
            if let Some(i) = memchr::memchr(0, self.avail()) {
                self.pos += i + 1;
                return Ok(());
            }
            self.pos = self.len;
            if self.eof {
                return Err(truncated());
            }
            self.refill()?;
        }
    }

    /// Parses a member header. False: no further member (end or trailing bytes).
    fn header(&mut self) -> io::Result<bool> {
        if !self.need(10)? {
            if self.members > 0 {
                return Ok(false);
            }
            return Err(truncated());
        }
        let h = &self.avail()[..10];
        if h[..3] != [0x1f, 0x8b, 0x08] {
            if self.members > 0 {
                return Ok(false);
            }
            return Err(corrupt("bad header"));
        }
        let flags = h[3];
        if flags & 0xe0 != 0 {
            return Err(corrupt("reserved header flags set"));
        }
        self.pos += 10;
        if flags & FEXTRA != 0 {
            if !self.need(2)? {
                return Err(truncated());
            }
            let xlen = usize::from(u16::from_le_bytes([self.avail()[0], self.avail()[1]]));
            self.pos += 2;
            let mut left = xlen;
            while left > 0 {
                if self.pos == self.len {
                    if self.eof {
                        return Err(truncated());
                    }
                    self.refill()?;
                    continue;
                }
                let step = left.min(self.len - self.pos);
                self.pos += step;
                left -= step;
            }
        }
        if flags & FNAME != 0 {
            self.skip_cstr()?;
        }
        if flags & FCOMMENT != 0 {
            self.skip_cstr()?;
        }
        if flags & FHCRC != 0 {
            if !self.need(2)? {
                return Err(truncated());
            }
            self.pos += 2;
        }
        self.inf.dec.reset(false);
        self.member_out = 0;
        self.members += 1;
        Ok(true)
    }

    fn trailer(&mut self) -> io::Result<()> {
        if !self.need(8)? {
            return Err(truncated());
        }
        let t = self.avail();
        let isize = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
        // ISIZE is the length modulo 2^32
        if u64::from(isize) != self.member_out & 0xffff_ffff {
            return Err(corrupt("length check failed"));
        }
        self.pos += 8;
        Ok(())
    }
}

impl<R: Read> Read for GzReader<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            match self.state {
                State::Done => return Ok(0),
                State::Header => {
                    self.state = if self.header()? {
                        State::Body
                    } else {
                        State::Done
                    };
                }
                State::Trailer => {
                    self.trailer()?;
                    self.state = State::Header;
                }
                State::Body => {
                    if self.pos == self.len && !self.eof {
                        self.refill()?;
                    }
                    let (in0, out0) = (self.inf.dec.total_in(), self.inf.dec.total_out());
                    let status = self
                        .inf
                        .dec
                        .decompress(
                            &self.inf.inbuf[self.pos..self.len],
                            out,
                            FlushDecompress::None,
                        )
                        .map_err(|e| corrupt(&e.to_string()))?;
                    let used = usize::try_from(self.inf.dec.total_in() - in0).unwrap_or(usize::MAX);
                    let made =
                        usize::try_from(self.inf.dec.total_out() - out0).unwrap_or(usize::MAX);
                    self.pos += used;
                    self.member_out += made as u64;
                    if status == Status::StreamEnd {
                        self.state = State::Trailer;
                    } else if used == 0 && made == 0 {
                        // the inflater needs more input than is buffered
                        if self.eof {
                            return Err(truncated());
                        }
                        let before = self.len - self.pos;
                        self.refill()?;
                        if !self.eof && self.len - self.pos == before {
                            return Err(corrupt("inflate made no progress"));
                        }
                    }
                    if made > 0 {
                        return Ok(made);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::{Compression, GzBuilder};
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn gunzip(data: &[u8]) -> io::Result<Vec<u8>> {
        let mut inf = Inflater::default();
        let mut r = GzReader::new(data, &mut inf);
        let mut out = Vec::new();
        // small reads exercise the state machine
        let mut buf = [0u8; 7];
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    fn sample() -> Vec<u8> {
        (0..300_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    #[test]
    fn roundtrip_single_and_multi_member() {
        let data = sample();
        assert_eq!(gunzip(&gz(&data)).unwrap(), data);
        let mut two = gz(b"first member\n");
        two.extend(gz(b"second member\n"));
        assert_eq!(gunzip(&two).unwrap(), b"first member\nsecond member\n");
        let mut padded = gz(b"x");
        padded.extend([0u8; 512]);
        assert_eq!(gunzip(&padded).unwrap(), b"x");
    }

    #[test]
    fn header_fields_are_skipped() {
        let mut e = GzBuilder::new()
            .filename("a-very-long-name.conf".repeat(5000))
            .comment("c".repeat(70_000))
            .extra(vec![7u8; 60_000])
            .write(Vec::new(), Compression::fast());
        e.write_all(b"payload").unwrap();
        assert_eq!(gunzip(&e.finish().unwrap()).unwrap(), b"payload");
    }

    #[test]
    fn truncated_and_corrupt_streams_fail() {
        let full = gz(&sample());
        for cut in [5, 11, full.len() / 2, full.len() - 4, full.len() - 1] {
            assert!(gunzip(&full[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = full.clone();
        let n = bad.len();
        bad[n - 2] ^= 0xff; // length field
        assert!(gunzip(&bad).is_err());
        let mut bad = full;
        bad[20] ^= 0x55;
        bad[21] ^= 0xaa;
        assert!(gunzip(&bad).is_err() || gunzip(&bad).map(|v| v != sample()).unwrap_or(true));
    }
}
