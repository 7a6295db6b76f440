//! What the scan looks for: the key (`Needle`), its fingerprint, and the
//! byte patterns of every encoding of it.

use std::fmt;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;

/// A key to search for. Build it with [`Needle::from_raw`] or
/// [`Needle::from_base64`]; `Debug` shows the fingerprint only.
#[derive(Clone, PartialEq, Eq)]
pub struct Needle {
    /// The 32 key bytes. Never print them.
    pub raw: [u8; 32],
    /// `sha256:` + the first 12 hex digits of SHA-256(raw).
    pub fingerprint: String,
}

/// Why a value given as a KEK was refused. The message never repeats the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedleError(pub &'static str);

impl fmt::Display for NeedleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for NeedleError {}

impl Needle {
    /// The needle for these 32 bytes.
    pub fn from_raw(raw: [u8; 32]) -> Needle {
        Needle {
            raw,
            fingerprint: fingerprint(&raw),
        }
    }

    /// Decodes a KEK as written in barbican.conf: base64, standard or
    /// urlsafe alphabet, padded or not, surrounding whitespace ignored.
    pub fn from_base64(value: &str) -> Result<Needle, NeedleError> {
        let bytes = decode_base64_any(value.trim().as_bytes())
            .ok_or(NeedleError("the KEK is not valid base64"))?;
        let raw: [u8; 32] = bytes
            .try_into()
            .map_err(|_| NeedleError("the KEK does not decode to exactly 32 bytes"))?;
        Ok(Needle::from_raw(raw))
    }
}

impl fmt::Debug for Needle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Needle")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// `sha256:` + the first 12 hex digits of SHA-256 of `bytes`.
pub fn fingerprint(bytes: &[u8]) -> String {
    crate::barbican::kek::fingerprint(bytes)
}

/// Decodes base64 in either alphabet, padded or not (the alphabets are not
/// mixed within one value).
pub(crate) fn decode_base64_any(v: &[u8]) -> Option<Vec<u8>> {
    let url = v.iter().any(|&b| b == b'-' || b == b'_');
    let padded = v.last() == Some(&b'=');
    let engine = match (url, padded) {
        (false, true) => &STANDARD,
        (false, false) => &STANDARD_NO_PAD,
        (true, true) => &URL_SAFE,
        (true, false) => &URL_SAFE_NO_PAD,
    };
    engine.decode(v).ok()
}

/// How a copy of the key was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Encoding {
    /// The 32 key bytes themselves.
    Raw,
    /// Standard alphabet, with `=` padding.
    Base64Std,
    /// Standard alphabet, unpadded.
    Base64StdNoPad,
    /// Urlsafe alphabet (Fernet form), with `=` padding.
    Base64Url,
    /// Urlsafe alphabet, unpadded.
    Base64UrlNoPad,
    /// The key's standard and urlsafe forms are identical (no `+/-_` in
    /// them); padded or not.
    Base64,
    /// Lower-case hex.
    HexLower,
    /// Upper-case hex.
    HexUpper,
    /// `kek = <Fernet-shaped value>` whose value is not one of the needles;
    /// the fingerprint is that of the decoded value.
    KekAssignment,
    /// The key's bytes inside a longer base64-encoded blob (a base64'd
    /// tarball or binary file), at any of the three alignments, either
    /// alphabet: the 40 characters that depend on the key alone, on one
    /// line or across line breaks (`base64`, MIME, PEM wrapping).
    Base64Embedded,
    /// The key's base64 text inside base64-encoded text, as in a Kubernetes
    /// Secret holding a barbican.conf or `tar cf - barbican.conf | base64`
    /// (standard outer alphabet, any alignment, inner text either alphabet,
    /// on one line or across line breaks).
    Base64Double,
}

impl Encoding {
    /// Every encoding, in a fixed order (the scan cache stores the index).
    pub const ALL: [Encoding; 11] = [
        Encoding::Raw,
        Encoding::Base64Std,
        Encoding::Base64StdNoPad,
        Encoding::Base64Url,
        Encoding::Base64UrlNoPad,
        Encoding::Base64,
        Encoding::HexLower,
        Encoding::HexUpper,
        Encoding::KekAssignment,
        Encoding::Base64Embedded,
        Encoding::Base64Double,
    ];

    /// Stable kebab-case name, for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Raw => "raw",
            Encoding::Base64Std => "base64-std",
            Encoding::Base64StdNoPad => "base64-std-nopad",
            Encoding::Base64Url => "base64-url",
            Encoding::Base64UrlNoPad => "base64-url-nopad",
            Encoding::Base64 => "base64",
            Encoding::HexLower => "hex-lower",
            Encoding::HexUpper => "hex-upper",
            Encoding::KekAssignment => "kek-assignment",
            Encoding::Base64Embedded => "base64-embedded",
            Encoding::Base64Double => "base64-double",
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a pattern stands for; base64 patterns are the 43 significant
/// characters and the padding is looked at after a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatternKind {
    Raw,
    Base64Std,
    Base64Url,
    Base64Both,
    HexLower,
    HexUpper,
    /// The word `kek` (or `KEK`) that may start an assignment.
    KekWord,
    Base64Embedded,
    Base64Double,
}

impl PatternKind {
    /// A text form, searched across line breaks too (wrapped base64, `xxd
    /// -p` hex): all but the raw bytes and the `kek` word.
    pub(crate) fn is_text(self) -> bool {
        !matches!(self, PatternKind::Raw | PatternKind::KekWord)
    }
}

/// One byte pattern of one needle (`needle` is unused for `KekWord`).
#[derive(Clone)]
pub(crate) struct Pattern {
    pub bytes: Vec<u8>,
    pub kind: PatternKind,
    pub needle: usize,
}

/// Every pattern of every needle, deduplicated, plus the assignment words.
pub(crate) fn patterns(needles: &[Needle]) -> Vec<Pattern> {
    let mut out: Vec<Pattern> = Vec::new();
    let mut push = |bytes: Vec<u8>, kind: PatternKind, needle: usize| {
        if !out.iter().any(|p| p.bytes == bytes) {
            out.push(Pattern {
                bytes,
                kind,
                needle,
            });
        }
    };
    for (i, n) in needles.iter().enumerate() {
        push(n.raw.to_vec(), PatternKind::Raw, i);
        let std = STANDARD_NO_PAD.encode(n.raw).into_bytes();
        let url = URL_SAFE_NO_PAD.encode(n.raw).into_bytes();
        if std == url {
            push(std, PatternKind::Base64Both, i);
        } else {
            push(std, PatternKind::Base64Std, i);
            push(url, PatternKind::Base64Url, i);
        }
        let lower = hex_lower(&n.raw).into_bytes();
        let upper = lower.to_ascii_uppercase();
        if lower == upper {
            push(lower, PatternKind::HexLower, i);
        } else {
            push(lower, PatternKind::HexLower, i);
            push(upper, PatternKind::HexUpper, i);
        }
    }
    // After the forms above, so that where both match at one position (the
    // aligned embedded form is a prefix of the plain one) the plain one wins.
    for (i, n) in needles.iter().enumerate() {
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            for form in inside_base64(&n.raw, engine) {
                push(form, PatternKind::Base64Embedded, i);
            }
        }
        for inner in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let text = inner.encode(n.raw).into_bytes();
            for form in inside_base64(&text, &STANDARD_NO_PAD) {
                push(form, PatternKind::Base64Double, i);
            }
        }
    }
    push(b"kek".to_vec(), PatternKind::KekWord, 0);
    push(b"KEK".to_vec(), PatternKind::KekWord, 0);
    out
}

/// What `data` looks like inside a longer stream encoded with `engine`: for
/// each of the three alignments, the characters that depend on `data` alone
/// (whole 3-byte groups of it; the characters at its edges also carry bits
/// of its neighbours).
fn inside_base64(data: &[u8], engine: &base64::engine::GeneralPurpose) -> Vec<Vec<u8>> {
    (0..3)
        .map(|skip| {
            let groups = (data.len() - skip) / 3;
            engine.encode(&data[skip..skip + 3 * groups]).into_bytes()
        })
        .collect()
}

fn hex_lower(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_format() {
        let n = Needle::from_raw([7u8; 32]);
        assert!(n.fingerprint.starts_with("sha256:"));
        assert_eq!(n.fingerprint.len(), 19);
    }

    #[test]
    fn base64_forms_decode_to_the_same_needle() {
        let raw: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(250));
        let want = Needle::from_raw(raw);
        for form in [
            STANDARD.encode(raw),
            STANDARD_NO_PAD.encode(raw),
            URL_SAFE.encode(raw),
            URL_SAFE_NO_PAD.encode(raw),
        ] {
            assert_eq!(Needle::from_base64(&form), Ok(want.clone()));
        }
        assert!(Needle::from_base64("c2hvcnQ=").is_err());
        assert!(Needle::from_base64("not base64 at all!").is_err());
    }

    #[test]
    fn debug_shows_no_key() {
        let raw = [0xabu8; 32];
        let n = Needle::from_raw(raw);
        let dbg = format!("{n:?}");
        assert!(dbg.contains(&n.fingerprint));
        assert!(!dbg.contains("171"), "{dbg}");
        assert!(!dbg.to_lowercase().contains("abab"), "{dbg}");
        assert!(!dbg.contains(&STANDARD_NO_PAD.encode(raw)));
    }
}
