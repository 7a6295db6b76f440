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

enum Searcher {
    Packed(packed::Searcher),
    Automaton(AhoCorasick),
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
    raws: Vec<[u8; 32]>,
    fingerprints: Vec<String>,
    overlap: usize,
}

impl Matcher {
    pub(crate) fn new(needles: &[Needle]) -> Result<Matcher, String> {
        let patterns = super::needle::patterns(needles);
        // A pattern that starts with another pattern is found through that
        // one (`judge` compares every pattern at each start), so it is left
        // out of the searcher: the plain base64 forms start with their
        // aligned embedded form. Fewer patterns keep Teddy's buckets sparse
        // (19 instead of 17 cost 12% on the bench tree).
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
        let searcher = match pb.build() {
            Some(s) => Searcher::Packed(s),
            None => Searcher::Automaton(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(&bytes)
                    .map_err(|e| format!("cannot build the pattern automaton: {e}"))?,
            ),
        };
        let longest = patterns.iter().map(|p| p.bytes.len()).max().unwrap_or(0);
        Ok(Matcher {
            searcher,
            raws: needles.iter().map(|n| n.raw).collect(),
            fingerprints: needles.iter().map(|n| n.fingerprint.clone()).collect(),
            patterns,
            // a base64 match needs one byte more to see its padding
            overlap: (longest + 1).max(KEK_MAX),
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

    fn find(&self, hay: &[u8], at: usize) -> Option<usize> {
        match &self.searcher {
            Searcher::Packed(s) => s
                .find_in(hay, aho_corasick::Span::from(at..hay.len()))
                .map(|m| m.start()),
            Searcher::Automaton(a) => a
                .find(Input::new(hay).span(at..hay.len()))
                .map(|m| m.start()),
        }
    }

    /// Reports every match starting in `hay[..limit]`. Unless `hay` ends the
    /// stream, `limit + overlap() - 1 <= hay.len()` must hold so that each
    /// reported match could be judged completely.
    pub(crate) fn scan(&self, hay: &[u8], limit: usize, mut on: impl FnMut(Event)) {
        let mut at = 0;
        while at < limit {
            let Some(s) = self.find(hay, at) else { break };
            if s >= limit {
                break;
            }
            self.judge(hay, s, &mut on);
            at = s + 1;
        }
    }

    fn judge(&self, hay: &[u8], s: usize, on: &mut impl FnMut(Event)) {
        let rest = &hay[s..];
        // needles whose plain base64 form matched here: their aligned
        // embedded form (a prefix of it) is the same copy
        let mut plain: Vec<usize> = Vec::new();
        for p in &self.patterns {
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
                        on(ev);
                    }
                    continue;
                }
                PatternKind::Base64Embedded if plain.contains(&p.needle) => continue,
                PatternKind::Base64Embedded => Encoding::Base64Embedded,
                PatternKind::Base64Double => Encoding::Base64Double,
            };
            on(Event {
                pos: s,
                encoding,
                fp: Fp::Needle(p.needle),
            });
        }
    }

    /// `kek` at `s`: is it `kek = <Fernet-shaped value>` (also `kek: v`,
    /// quoted key or value) of a key that is none of the needles?
    fn assignment(&self, hay: &[u8], s: usize) -> Option<Event> {
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
        self.scan(hay, hay.len(), |ev| {
            if ev.encoding != Encoding::KekAssignment {
                let len = self
                    .patterns
                    .iter()
                    .find(|p| hay[ev.pos..].starts_with(&p.bytes))
                    .map_or(0, |p| p.bytes.len());
                cut.push((ev.pos, ev.pos + len));
            }
        });
        if cut.is_empty() {
            return text.to_owned();
        }
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
            format!("  # kek = \"{v}\""),
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
}
