//! The multi-pattern search over one buffer window.
//!
//! Every pattern of every needle goes into one leftmost-first searcher (the
//! packed SIMD "Teddy" searcher that ripgrep uses for literal alternations,
//! or an Aho-Corasick automaton where Teddy is not available). Each match
//! start is only a candidate: every pattern is then compared at that
//! position, so two patterns starting at the same byte are both reported,
//! and the search resumes one byte later, so overlapping copies are found
//! too. `MatchKind::Standard` would also report overlaps, but it cannot use
//! the SIMD prefilter and is several times slower on this pattern set.
//!
//! **Across line breaks.** Base64 is usually wrapped (`base64` and MIME at
//! 76 columns, PEM and `openssl base64` at 64, `xxd -p` hex at 60), so the
//! text forms of a key are often cut by a line break at any position. One
//! pattern per break position would put about a thousand patterns into the
//! searcher and lose Teddy, so the window is searched a second time, only
//! where wrapped text can be: at each `\n` (found with `memchr`) whose
//! neighbours on both sides are base64/hex characters, the run of such
//! characters is followed across line breaks into a *region*, and a
//! line-break-stripped copy of each region long enough to hold a pattern
//! is searched with a second searcher holding the text patterns only
//! (base64, hex, base64-embedded, base64-double). Only matches that cross
//! a line break are reported from there (the others are the plain search's),
//! at the file offset of their first character. A line break is `\n` or
//! `\r\n` with at most [`WRAP_BLANKS`] spaces or tabs around it (trailing
//! blanks, a YAML block's indentation); lines may have any length, and need
//! not all have the same. Every match of the second search spans at most
//! `wrap_span` bytes of the window, which the window overlap covers.

use aho_corasick::packed;
use aho_corasick::{AhoCorasick, Input, MatchKind};

use super::needle::{decode_base64_any, fingerprint, Encoding, Needle, Pattern, PatternKind};

/// Base64 of 32 bytes without its one `=` of padding.
const B64_LEN: usize = 43;
/// Whitespace allowed between `kek` and `=` (oslo.config option dumps align
/// the `=` with many spaces) and after the `=`.
const KEK_WS_BEFORE: usize = 48;
const KEK_WS_AFTER: usize = 8;
/// The longest `kek = '<44 chars>'` form looked at, plus the byte after it.
const KEK_MAX: usize = 3 + 1 + KEK_WS_BEFORE + 1 + KEK_WS_AFTER + 1 + (B64_LEN + 1) + 1;
/// Spaces and tabs one line break of wrapped text may carry in all (the
/// blanks before it and the next line's indentation).
pub(crate) const WRAP_BLANKS: usize = 16;
/// The longest line break: the blanks and `\r\n`.
const BREAK_MAX: usize = WRAP_BLANKS + 2;

enum Searcher {
    Packed(packed::Searcher),
    Automaton(AhoCorasick),
}

impl Searcher {
    /// A leftmost-first searcher for `patterns`. A pattern that starts with
    /// another pattern is found through that one (`judge` compares every
    /// pattern at each start), so it is left out: the plain base64 forms
    /// start with their aligned embedded form. Fewer patterns keep Teddy's
    /// buckets sparse (19 instead of 17 cost 12% on the bench tree).
    fn new(patterns: &[Pattern]) -> Result<Searcher, String> {
        let bytes: Vec<&[u8]> = patterns
            .iter()
            .map(|p| p.bytes.as_slice())
            .filter(|b| {
                !patterns
                    .iter()
                    .any(|q| q.bytes.len() < b.len() && b.starts_with(&q.bytes))
            })
            .collect();
        let mut pb = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .builder();
        pb.extend(&bytes);
        Ok(match pb.build() {
            Some(s) => Searcher::Packed(s),
            None => Searcher::Automaton(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(&bytes)
                    .map_err(|e| format!("cannot build the pattern automaton: {e}"))?,
            ),
        })
    }

    fn find(&self, hay: &[u8], at: usize) -> Option<usize> {
        match self {
            Searcher::Packed(s) => s
                .find_in(hay, aho_corasick::Span::from(at..hay.len()))
                .map(|m| m.start()),
            Searcher::Automaton(a) => a
                .find(Input::new(hay).span(at..hay.len()))
                .map(|m| m.start()),
        }
    }
}

/// Whose fingerprint a match carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fp {
    /// The needle with this index.
    Needle(usize),
    /// A `kek = ` value that is none of the needles.
    Other(String),
}

/// One match in a window: `pos` is where the encoded key starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    pub pos: usize,
    pub encoding: Encoding,
    pub fp: Fp,
}

/// Holds the patterns (derived from the key): deliberately not `Debug`.
pub(crate) struct Matcher {
    searcher: Searcher,
    patterns: Vec<Pattern>,
    /// The text patterns, searched again across line breaks.
    wrapped: Searcher,
    text: Vec<Pattern>,
    /// The shortest text pattern: shorter regions are not searched.
    text_min: usize,
    /// The most bytes of a window one match across line breaks spans,
    /// with the byte after it.
    wrap_span: usize,
    raws: Vec<[u8; 32]>,
    fingerprints: Vec<String>,
    overlap: usize,
}

impl Matcher {
    pub(crate) fn new(needles: &[Needle]) -> Result<Matcher, String> {
        let patterns = super::needle::patterns(needles);
        let searcher = Searcher::new(&patterns)?;
        let text: Vec<Pattern> = patterns
            .iter()
            .filter(|p| p.kind.is_text())
            .cloned()
            .collect();
        let wrapped = Searcher::new(&text)?;
        let longest = patterns.iter().map(|p| p.bytes.len()).max().unwrap_or(0);
        let text_max = text.iter().map(|p| p.bytes.len()).max().unwrap_or(0);
        let text_min = text.iter().map(|p| p.bytes.len()).min().unwrap_or(0);
        // a text match of n characters (and the one after it, for the
        // padding) has at most n line breaks inside
        let wrap_span = (text_max + 1) + text_max * BREAK_MAX;
        Ok(Matcher {
            searcher,
            wrapped,
            text,
            text_min,
            wrap_span,
            raws: needles.iter().map(|n| n.raw).collect(),
            fingerprints: needles.iter().map(|n| n.fingerprint.clone()).collect(),
            patterns,
            // a base64 match needs one byte more to see its padding
            overlap: (longest + 1).max(KEK_MAX).max(wrap_span),
        })
    }

    /// Bytes after a match start needed to decide it: windows overlap by
    /// `overlap() - 1` bytes.
    pub(crate) fn overlap(&self) -> usize {
        self.overlap
    }

    /// Shortest input that can hold any match (the raw key).
    pub(crate) fn min_len(&self) -> usize {
        32
    }

    pub(crate) fn fingerprint_of(&self, fp: &Fp) -> String {
        match fp {
            Fp::Needle(i) => self.fingerprints[*i].clone(),
            Fp::Other(s) => s.clone(),
        }
    }

    /// Reports every match starting in `hay[..limit]`. Unless `hay` ends the
    /// stream, `limit + overlap() - 1 <= hay.len()` must hold so that each
    /// reported match could be judged completely.
    pub(crate) fn scan(&self, hay: &[u8], limit: usize, mut on: impl FnMut(Event)) {
        self.scan_spans(hay, limit, |ev, _| on(ev));
    }

    /// [`Self::scan`], with the end of each match in `hay` (past its last
    /// byte; the padding of a base64 form is not counted).
    fn scan_spans(&self, hay: &[u8], limit: usize, mut on: impl FnMut(Event, usize)) {
        let mut wrapped: Vec<(Event, usize)> = Vec::new();
        self.scan_wrapped(hay, limit, &mut |ev, end| wrapped.push((ev, end)));
        let mut at = 0;
        while at < limit {
            let Some(s) = self.searcher.find(hay, at) else {
                break;
            };
            if s >= limit {
                break;
            }
            self.judge(&self.patterns, hay, s, &mut |ev: Event, end: usize| {
                // The same copy read across the line break is the better
                // reading: the aligned embedded form filling a line whose
                // plain form goes on in the next, or the unpadded form
                // whose `=` starts the next line.
                if !wrapped
                    .iter()
                    .any(|(w, _)| w.pos == ev.pos && w.fp == ev.fp)
                {
                    on(ev, end);
                }
            });
            at = s + 1;
        }
        for (ev, end) in wrapped {
            on(ev, end);
        }
    }

    /// Compares every one of `patterns` at `hay[s..]`; `on` gets each
    /// match and its end.
    fn judge(&self, patterns: &[Pattern], hay: &[u8], s: usize, on: &mut impl FnMut(Event, usize)) {
        let rest = &hay[s..];
        // needles whose plain base64 form matched here: their aligned
        // embedded form (a prefix of it) is the same copy
        let mut plain: Vec<usize> = Vec::new();
        for p in patterns {
            if !rest.starts_with(&p.bytes) {
                continue;
            }
            if matches!(
                p.kind,
                PatternKind::Base64Std | PatternKind::Base64Url | PatternKind::Base64Both
            ) {
                plain.push(p.needle);
            }
            let padded = rest.get(B64_LEN) == Some(&b'=');
            let encoding = match p.kind {
                PatternKind::Raw => Encoding::Raw,
                PatternKind::HexLower => Encoding::HexLower,
                PatternKind::HexUpper => Encoding::HexUpper,
                PatternKind::Base64Both => Encoding::Base64,
                PatternKind::Base64Std if padded => Encoding::Base64Std,
                PatternKind::Base64Std => Encoding::Base64StdNoPad,
                PatternKind::Base64Url if padded => Encoding::Base64Url,
                PatternKind::Base64Url => Encoding::Base64UrlNoPad,
                PatternKind::KekWord => {
                    if let Some(ev) = self.assignment(hay, s) {
                        let end = ev.pos + B64_LEN + 1;
                        on(ev, end);
                    }
                    continue;
                }
                PatternKind::Base64Embedded if plain.contains(&p.needle) => continue,
                PatternKind::Base64Embedded => Encoding::Base64Embedded,
                PatternKind::Base64Double => Encoding::Base64Double,
            };
            on(
                Event {
                    pos: s,
                    encoding,
                    fp: Fp::Needle(p.needle),
                },
                s + p.bytes.len(),
            );
        }
    }

    /// The search across line breaks (see the module doc): reports the
    /// matches that start in `hay[..limit]` and cross a line break, with
    /// `pos` and the end in `hay`.
    fn scan_wrapped(&self, hay: &[u8], limit: usize, on: &mut impl FnMut(Event, usize)) {
        // the pieces of one region in `hay`, one per line
        let mut segs: Vec<(usize, usize)> = Vec::new();
        // the region without its line breaks
        let mut strip: Vec<u8> = Vec::new();
        // no match starting before `limit` reaches this far
        let stop = limit.saturating_add(self.wrap_span);
        let mut from = 0;
        while let Some(nl) = memchr::memchr(b'\n', &hay[from..]).map(|i| from + i) {
            let Some((left, right)) = line_break(hay, nl) else {
                from = nl + 1;
                continue;
            };
            let start = token_start(hay, left);
            if start >= limit {
                break;
            }
            segs.clear();
            segs.push((start, left));
            let mut len = left - start;
            let mut i = right;
            let end = loop {
                let e = token_end(hay, i);
                segs.push((i, e));
                len += e - i;
                if e >= stop {
                    break e;
                }
                match break_after(hay, e) {
                    Some(next) => i = next,
                    None => break e,
                }
            };
            if len >= self.text_min {
                strip.clear();
                for &(a, b) in &segs {
                    strip.extend_from_slice(&hay[a..b]);
                }
                self.search_region(&strip, &segs, limit, on);
            }
            if end >= stop {
                // a later region starting before `limit` would begin with
                // a line longer than any match
                break;
            }
            from = end;
        }
    }

    /// Searches one stripped region; `segs` are its lines in the window.
    fn search_region(
        &self,
        strip: &[u8],
        segs: &[(usize, usize)],
        limit: usize,
        on: &mut impl FnMut(Event, usize),
    ) {
        // where each line starts in `strip`
        let mut starts = Vec::with_capacity(segs.len());
        let mut n = 0;
        for &(a, b) in segs {
            starts.push(n);
            n += b - a;
        }
        let line_of = |k: usize| starts.partition_point(|&s| s <= k) - 1;
        let at_file = |k: usize| {
            let l = line_of(k);
            (l, segs[l].0 + (k - starts[l]))
        };
        let mut at = 0;
        while let Some(s) = self.wrapped.find(strip, at) {
            let (line, pos) = at_file(s);
            if pos >= limit {
                break;
            }
            self.judge(&self.text, strip, s, &mut |mut ev: Event, end: usize| {
                let (_, last) = at_file(end - 1);
                // the padding counts when it is on the next line
                let padding = matches!(
                    ev.encoding,
                    Encoding::Base64Std | Encoding::Base64Url | Encoding::Base64
                ) && strip.get(s + B64_LEN) == Some(&b'=');
                let (last_line, _) = at_file(if padding { s + B64_LEN } else { end - 1 });
                // within one line: the plain search reports it
                if last_line != line {
                    ev.pos = pos;
                    on(ev, last + 1);
                }
            });
            at = s + 1;
        }
    }

    /// `kek` at `s`: is it `kek = <Fernet-shaped value>` (also `kek: v`,
    /// quoted key or value) of a key that is none of the needles?
    fn assignment(&self, hay: &[u8], s: usize) -> Option<Event> {
        // A commented line (`#kek = ...`, `; kek = ...`: a sample, an old
        // value kept for reference) sets no key: not "another key" (issue
        // 17). The needles themselves are still found there as copies.
        if commented(hay, s) {
            return None;
        }
        let mut i = s + 3;
        if matches!(hay.get(i), Some(b'"' | b'\'')) {
            i += 1;
        }
        i = skip_blanks(hay, i, KEK_WS_BEFORE);
        if !matches!(hay.get(i), Some(b'=' | b':')) {
            return None;
        }
        i = skip_blanks(hay, i + 1, KEK_WS_AFTER);
        if matches!(hay.get(i), Some(b'"' | b'\'')) {
            i += 1;
        }
        let value = hay.get(i..i + B64_LEN + 1)?;
        if !value[..B64_LEN].iter().all(|&b| is_b64(b)) || value[B64_LEN] != b'=' {
            return None;
        }
        if hay
            .get(i + B64_LEN + 1)
            .is_some_and(|&b| is_b64(b) || b == b'=')
        {
            return None;
        }
        let raw = decode_base64_any(value)?;
        if raw.len() != 32 || self.raws.iter().any(|r| r[..] == raw[..]) {
            return None;
        }
        // A published KEK is no secret, so a copy of it leaks nothing (BAR-007
        // judges whether one is in use). Debian's barbican-common ships one in
        // /usr/share/barbican-common/barbican.conf: without this every Debian
        // node had a finding it cannot act on.
        if crate::barbican::kek::is_published(&raw) {
            return None;
        }
        Some(Event {
            pos: i,
            encoding: Encoding::KekAssignment,
            fp: Fp::Other(fingerprint(&raw)),
        })
    }

    /// `text` with every encoding of every needle replaced, for strings that
    /// come from the scanned data (archive member names, error messages).
    pub(crate) fn redact(&self, text: &str) -> String {
        let hay = text.as_bytes();
        let mut cut: Vec<(usize, usize)> = Vec::new();
        self.scan_spans(hay, hay.len(), |ev, end| {
            if ev.encoding != Encoding::KekAssignment {
                cut.push((ev.pos, end));
            }
        });
        if cut.is_empty() {
            return text.to_owned();
        }
        cut.sort_unstable();
        let mut out = Vec::with_capacity(hay.len());
        let mut at = 0;
        for (a, b) in cut {
            if a >= at {
                out.extend_from_slice(&hay[at..a]);
                out.extend_from_slice(b"<redacted>");
            }
            at = at.max(b);
        }
        out.extend_from_slice(&hay[at.min(hay.len())..]);
        String::from_utf8_lossy(&out).into_owned()
    }
}

fn skip_blanks(hay: &[u8], mut i: usize, max: usize) -> usize {
    let end = i + max;
    while i < end && matches!(hay.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    i
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_')
}

/// The characters wrapped text is made of: both base64 alphabets, the
/// padding, and so hex too.
static WRAP_CHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_' | b'=');
        b += 1;
    }
    t
};

fn is_wrap(b: u8) -> bool {
    WRAP_CHAR[usize::from(b)]
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Is the `\n` at `nl` a line break inside wrapped text: a wrapped-text
/// character, at most [`WRAP_BLANKS`] blanks and an optional `\r` before
/// it, blanks (the rest of the allowance) and a wrapped-text character
/// after it? Returns the end of the text before and the start after.
fn line_break(hay: &[u8], nl: usize) -> Option<(usize, usize)> {
    let mut l = nl;
    if l > 0 && hay[l - 1] == b'\r' {
        l -= 1;
    }
    let mut blanks = 0;
    while l > 0 && blanks < WRAP_BLANKS && is_blank(hay[l - 1]) {
        l -= 1;
        blanks += 1;
    }
    if l == 0 || !is_wrap(hay[l - 1]) {
        return None;
    }
    let mut r = nl + 1;
    while r < hay.len() && blanks < WRAP_BLANKS && is_blank(hay[r]) {
        r += 1;
        blanks += 1;
    }
    match hay.get(r) {
        Some(&b) if is_wrap(b) => Some((l, r)),
        _ => None,
    }
}

/// Where the text after a line break starting at `e` (just past a run of
/// wrapped-text characters) goes on, if there is such a line break.
fn break_after(hay: &[u8], e: usize) -> Option<usize> {
    let mut k = e;
    while k < hay.len() && k - e < WRAP_BLANKS && is_blank(hay[k]) {
        k += 1;
    }
    if hay.get(k) == Some(&b'\r') {
        k += 1;
    }
    if hay.get(k) != Some(&b'\n') {
        return None;
    }
    line_break(hay, k).map(|(_, r)| r)
}

/// Start of the run of wrapped-text characters that ends at `end`.
fn token_start(hay: &[u8], mut end: usize) -> usize {
    while end > 0 && is_wrap(hay[end - 1]) {
        end -= 1;
    }
    end
}

/// End of the run of wrapped-text characters that starts at `start`.
fn token_end(hay: &[u8], mut start: usize) -> usize {
    while start < hay.len() && is_wrap(hay[start]) {
        start += 1;
    }
    start
}

/// Whether the line holding `hay[s]` is a comment: its first non-blank
/// byte is `#` or `;` (oslo.config, INI, YAML, shell). The line start is
/// looked for in `hay` only: a window of a stream starts without the bytes
/// before it, so a comment sign in the previous window is not seen and the
/// assignment is reported (the cautious side).
fn commented(hay: &[u8], s: usize) -> bool {
    let start = memchr::memrchr(b'\n', &hay[..s]).map_or(0, |i| i + 1);
    hay[start..s]
        .iter()
        .find(|&&b| b != b' ' && b != b'\t')
        .is_some_and(|&b| b == b'#' || b == b';')
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    use base64::Engine as _;

    pub(crate) fn key() -> [u8; 32] {
        // contains 0x0a, and '+'/'/' in its standard base64 form
        let mut k: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(97).wrapping_add(13));
        k[5] = 0x0a;
        k[0] = 0xfb;
        k[1] = 0xff;
        k
    }

    fn all(m: &Matcher, hay: &[u8]) -> Vec<Event> {
        let mut v = Vec::new();
        m.scan(hay, hay.len(), |e| v.push(e));
        v
    }

    #[test]
    fn every_encoding() {
        let k = key();
        let m = Matcher::new(&[Needle::from_raw(k)]).unwrap();
        let std = STANDARD.encode(k);
        let url = URL_SAFE.encode(k);
        assert_ne!(std, url);
        let hex: String = k.iter().map(|b| format!("{b:02x}")).collect();
        let cases: Vec<(Vec<u8>, Encoding)> = vec![
            (k.to_vec(), Encoding::Raw),
            (std.clone().into_bytes(), Encoding::Base64Std),
            (
                std.trim_end_matches('=').as_bytes().to_vec(),
                Encoding::Base64StdNoPad,
            ),
            (url.clone().into_bytes(), Encoding::Base64Url),
            (
                url.trim_end_matches('=').as_bytes().to_vec(),
                Encoding::Base64UrlNoPad,
            ),
            (hex.clone().into_bytes(), Encoding::HexLower),
            (hex.to_uppercase().into_bytes(), Encoding::HexUpper),
        ];
        for (enc, want) in cases {
            for tail in [&b""[..], b"\n", b" x"] {
                let mut hay = b"xx ".to_vec();
                hay.extend_from_slice(&enc);
                hay.extend_from_slice(tail);
                assert_eq!(
                    all(&m, &hay),
                    vec![Event {
                        pos: 3,
                        encoding: want,
                        fp: Fp::Needle(0)
                    }],
                    "{want:?}"
                );
            }
        }
    }

    #[test]
    fn identical_alphabets_give_base64() {
        // all-zero key: "AAAA…A=" in both alphabets
        let m = Matcher::new(&[Needle::from_raw([0u8; 32])]).unwrap();
        let hay = format!("k: {}", STANDARD.encode([0u8; 32]));
        let ev = all(&m, hay.as_bytes());
        assert!(
            ev.iter()
                .any(|e| e.encoding == Encoding::Base64 && e.pos == 3),
            "{ev:?}"
        );
    }

    #[test]
    fn kek_assignment_of_another_key() {
        let m = Matcher::new(&[Needle::from_raw(key())]).unwrap();
        let other = [0x42u8; 32];
        let v = URL_SAFE.encode(other);
        for text in [
            format!("kek = '{v}'\n"),
            format!("kek={v}"),
            format!("x = 1 # kek = \"{v}\""), // not a comment line
            format!("simple_crypto_plugin.kek                         = {v}\n"),
            format!("\"kek\": \"{v}\","),
            format!("OS_SIMPLE_CRYPTO_PLUGIN__KEK={v}"),
        ] {
            let ev = all(&m, text.as_bytes());
            assert_eq!(ev.len(), 1, "{text}");
            assert_eq!(ev[0].encoding, Encoding::KekAssignment);
            assert_eq!(ev[0].fp, Fp::Other(fingerprint(&other)));
            assert_eq!(&text.as_bytes()[ev[0].pos..ev[0].pos + 44], v.as_bytes());
        }
        // the published code default (Debian ships it commented out in
        // /usr/share/barbican-common/barbican.conf): no secret, no finding
        let published = "dGhpcnR5X3R3b19ieXRlX2tleWJsYWhibGFoYmxhaGg=";
        assert!(crate::barbican::kek::is_published(
            &URL_SAFE.decode(published).unwrap()
        ));
        for text in [
            // commented lines set no key (issue 17)
            format!("  # kek = \"{v}\""),
            format!("#kek = {v}\n"),
            format!("[simple_crypto_plugin]\n\t; kek = {v}\n"),
            format!("#kek = {published}\n"),
            format!("kek = '{published}'"),
            format!("kek = {}", &v[..43]), // unpadded: not Fernet-shaped
            format!("kek = {v}A"),         // longer value
            format!("kekx = {v}"),
            "kek = short=".to_string(),
        ] {
            assert!(all(&m, text.as_bytes()).is_empty(), "{text}");
        }
        // the needle itself in an assignment: reported once, as the needle
        let text = format!("kek = '{}'", URL_SAFE.encode(key()));
        let ev = all(&m, text.as_bytes());
        assert_eq!(
            ev,
            vec![Event {
                pos: 7,
                encoding: Encoding::Base64Url,
                fp: Fp::Needle(0)
            }]
        );
    }

    #[test]
    fn overlapping_and_adjacent_copies() {
        let k = key();
        let m = Matcher::new(&[Needle::from_raw(k)]).unwrap();
        let mut hay = k.to_vec();
        hay.extend_from_slice(&k);
        let ev = all(&m, &hay);
        assert_eq!(ev.iter().map(|e| e.pos).collect::<Vec<_>>(), vec![0, 32]);
    }

    #[test]
    fn redact_hides_every_encoding() {
        let k = key();
        let m = Matcher::new(&[Needle::from_raw(k)]).unwrap();
        let s = format!("a {} b {} c", STANDARD.encode(k), URL_SAFE.encode(k));
        let r = m.redact(&s);
        assert_eq!(r, "a <redacted>= b <redacted>= c");
        assert_eq!(m.redact("plain"), "plain");
    }

    /// Bytes that look like a binary file: no run of the key in them.
    fn filler(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(151).wrapping_add(seed) ^ 0x5a)
            .collect()
    }

    #[test]
    fn key_inside_a_base64_blob_at_every_alignment() {
        let k = key();
        let m = Matcher::new(&[Needle::from_raw(k)]).unwrap();
        for engine in [&STANDARD, &URL_SAFE] {
            for before in [30usize, 31, 32] {
                for after in [1usize, 2, 3, 40] {
                    let mut blob = filler(before, 1);
                    blob.extend_from_slice(&k);
                    blob.extend(filler(after, 9));
                    let text = engine.encode(&blob);
                    let ev = all(&m, text.as_bytes());
                    assert_eq!(ev.len(), 1, "before {before} after {after}: {ev:?}");
                    assert_eq!(ev[0].encoding, Encoding::Base64Embedded);
                    assert_eq!(ev[0].fp, Fp::Needle(0));
                    // the match starts at the first character that depends
                    // on the key alone
                    assert_eq!(ev[0].pos, before.div_ceil(3) * 4);
                }
            }
        }
    }

    #[test]
    fn standalone_base64_is_one_plain_finding() {
        let k = key();
        let m = Matcher::new(&[Needle::from_raw(k)]).unwrap();
        let text = format!("x {} y", STANDARD.encode(k));
        let ev = all(&m, text.as_bytes());
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert_eq!(ev[0].encoding, Encoding::Base64Std);
    }

    #[test]
    fn base64_text_of_the_key_inside_base64_as_in_a_kubernetes_secret() {
        let k = key();
        let m = Matcher::new(&[Needle::from_raw(k)]).unwrap();
        for inner in [STANDARD.encode(k), URL_SAFE.encode(k)] {
            for prefix in ["", "[simple_crypto_plugin]\nkek = ", "kek=", "x\nkek = '"] {
                let conf = format!("{prefix}{inner}\n[DEFAULT]\n");
                let secret = format!("data:\n  barbican.conf: {}\n", STANDARD.encode(&conf));
                let ev = all(&m, secret.as_bytes());
                assert_eq!(ev.len(), 1, "{prefix:?}: {ev:?}");
                assert_eq!(ev[0].encoding, Encoding::Base64Double);
            }
        }
        // and nothing in the base64 of text without the key
        let other = STANDARD.encode("[simple_crypto_plugin]\nkek = nothing to see here\n");
        assert!(all(&m, other.as_bytes()).is_empty());
    }

    /// `text` with `nl` inserted before index `first` and every `width`
    /// characters after it, and where index `k` of `text` ends up.
    fn wrap(text: &[u8], first: usize, width: usize, nl: &[u8]) -> (Vec<u8>, Vec<usize>) {
        let mut out = Vec::new();
        let mut at = Vec::with_capacity(text.len());
        for (k, &b) in text.iter().enumerate() {
            if k >= first && (k - first).is_multiple_of(width) {
                out.extend_from_slice(nl);
            }
            at.push(out.len());
            out.push(b);
        }
        (out, at)
    }

    /// The text forms of the key in the layouts they come in, each with
    /// the one event the unwrapped text gives.
    fn unwrapped_cases(m: &Matcher) -> Vec<(String, Vec<u8>, Event)> {
        let k = key();
        let mut texts: Vec<(String, Vec<u8>)> = Vec::new();
        for (name, engine) in [("std", &STANDARD), ("url", &URL_SAFE)] {
            for before in [30usize, 31, 32] {
                let mut blob = filler(before, 3);
                blob.extend_from_slice(&k);
                blob.extend(filler(41, 5));
                texts.push((
                    format!("embedded {name} +{before}"),
                    engine.encode(&blob).into(),
                ));
            }
            let inner = engine.encode(k);
            for prefix in ["kek = ", "kek=", "kek = '"] {
                let conf = format!("[simple_crypto_plugin]\n{prefix}{inner}\n[DEFAULT]\n");
                texts.push((
                    format!("double {name} {prefix:?}"),
                    STANDARD.encode(conf).into(),
                ));
            }
            texts.push((format!("plain {name}"), engine.encode(k).into()));
        }
        let mut blob = filler(10, 7);
        blob.extend_from_slice(&k);
        blob.extend(filler(10, 8));
        let hex: String = blob.iter().map(|b| format!("{b:02x}")).collect();
        texts.push(("hex (xxd -p)".into(), hex.into_bytes()));
        texts
            .into_iter()
            .map(|(name, text)| {
                let ev = all(m, &text);
                assert_eq!(ev.len(), 1, "{name} unwrapped: {ev:?}");
                (name, text, ev[0].clone())
            })
            .collect()
    }

    #[test]
    fn wrapped_text_forms_at_every_width_and_break_position() {
        let m = Matcher::new(&[Needle::from_raw(key())]).unwrap();
        let cases = unwrapped_cases(&m);
        let encodings: Vec<Encoding> = cases.iter().map(|c| c.2.encoding).collect();
        for want in [
            Encoding::Base64Embedded,
            Encoding::Base64Double,
            Encoding::Base64Std,
            Encoding::Base64Url,
            Encoding::HexLower,
        ] {
            assert!(encodings.contains(&want), "{want:?} not covered");
        }
        let mut spanning = 0;
        for (name, text, ev) in &cases {
            // the common wrap widths, and narrow ones: any width works
            for width in [60usize, 64, 72, 76, 1, 2, 3, 5, 17, 43] {
                for nl in [&b"\n"[..], b"\r\n"] {
                    // `first` moves the breaks across every position of the
                    // pattern (every residue modulo the width)
                    for first in 1..=width {
                        let (wrapped, at) = wrap(text, first, width, nl);
                        let got = all(&m, &wrapped);
                        let want = Event {
                            pos: at[ev.pos],
                            ..ev.clone()
                        };
                        assert_eq!(
                            got,
                            vec![want],
                            "{name}, width {width}, first line {first}, {nl:?}"
                        );
                        spanning += usize::from(at[ev.pos + 40] - at[ev.pos] != 40);
                    }
                }
            }
        }
        assert!(spanning > 5000, "{spanning}");
    }

    #[test]
    fn wrapped_blob_indented_as_a_yaml_block_and_with_trailing_blanks() {
        let k = key();
        let m = Matcher::new(&[Needle::from_raw(k)]).unwrap();
        let conf = format!("[simple_crypto_plugin]\nkek = {}\n", URL_SAFE.encode(k));
        let b64 = STANDARD.encode(conf);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(16)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let found = |sep: &str, indent: usize| {
            let mut text = String::from("data:\n  barbican.conf: |\n");
            for l in &lines {
                text.push_str(&" ".repeat(indent));
                text.push_str(l);
                text.push_str(sep);
            }
            all(&m, text.as_bytes())
        };
        for (sep, indent) in [("\n", 4), ("\r\n", 8), (" \t\n", 4), ("\n", 16)] {
            let ev = found(sep, indent);
            assert_eq!(ev.len(), 1, "{sep:?} {indent}: {ev:?}");
            assert_eq!(ev[0].encoding, Encoding::Base64Double);
        }
        // the stated limit: at most 16 blanks around one line break
        assert!(found("  \n", 15).is_empty());
        assert!(found("\n", 17).is_empty());
        // lines that are not wrapped text join nothing
        assert!(found("\n\n", 4).is_empty());
        assert!(found("\n# ", 0).is_empty());
    }

    #[test]
    fn wrapped_copy_across_a_line_border_is_reported_once_with_its_padding() {
        let k = key();
        let m = Matcher::new(&[Needle::from_raw(k)]).unwrap();
        let std = STANDARD.encode(k);
        // the `=` alone on the next line: still the padded form, reported once
        let text = format!("x\n{}\n=\n", &std[..43]);
        assert_eq!(
            all(&m, text.as_bytes()),
            vec![Event {
                pos: 2,
                encoding: Encoding::Base64Std,
                fp: Fp::Needle(0)
            }]
        );
        // cut after 40 characters: the aligned embedded form fills the first
        // line, but the copy is the plain one
        let text = format!("{}\n{}\n", &std[..40], &std[40..]);
        let ev = all(&m, text.as_bytes());
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert_eq!(ev[0].encoding, Encoding::Base64Std);
    }

    #[test]
    fn wrapped_decoy_and_text_with_line_breaks_give_nothing() {
        let k = key();
        let m = Matcher::new(&[Needle::from_raw(k)]).unwrap();
        // another key, wrapped as `tar cf - barbican.conf | base64` would
        let other = [0x42u8; 32];
        let conf = format!("[simple_crypto_plugin]\nkek = {}\n", URL_SAFE.encode(other));
        let (wrapped, _) = wrap(STANDARD.encode(conf).as_bytes(), 76, 76, b"\n");
        assert!(all(&m, &wrapped).is_empty());
        // the key's base64 in two pieces that are not one wrapped text: a
        // blank line, a line in between, punctuation, a comment or quote
        // marker, more than 16 blanks
        let std = STANDARD.encode(k);
        let (a, b) = std.split_at(21);
        for sep in [
            "\n\n",
            "\nnothing here\n",
            ".\n",
            "\n# ",
            "\n> ",
            "\n                 ",
            ",\n",
            "\n\"",
        ] {
            let text = format!("see {a}{sep}{b} end\n");
            assert!(all(&m, text.as_bytes()).is_empty(), "{sep:?}");
        }
        // prose and identifiers, one per line: every line break joins
        // base64 letters, and no key comes out of them
        let mut text = String::new();
        for i in 0..2000u32 {
            let w = format!("{:x}", i.wrapping_mul(2_654_435_761));
            text.push_str(["line", "Token", w.as_str(), "ABCDEFGH", "kek", "x0"][i as usize % 6]);
            text.push_str(if i % 7 == 0 { "\r\n" } else { "\n" });
        }
        assert!(all(&m, text.as_bytes()).is_empty());
    }

    #[test]
    fn redact_removes_a_wrapped_copy_whole() {
        let k = key();
        let m = Matcher::new(&[Needle::from_raw(k)]).unwrap();
        let std = STANDARD.encode(k);
        let text = format!("a {}\n{}\n{} b", &std[..10], &std[10..30], &std[30..]);
        let r = m.redact(&text);
        assert_eq!(r, "a <redacted>= b");
    }
}
