//! The leak detector every secret test uses: does a text hold any
//! 8-character piece of a marker secret, in plain, base64 (standard and
//! urlsafe, every alignment), hex (either case) or URL-encoded form?
//!
//! Failures never print the marker or the text around a hit, only which
//! form and where (the marker is a fixture, but the habit matters).
#![allow(dead_code)]

use base64::Engine as _;

/// Window length: any run of this many characters of the marker is a leak.
pub const WINDOW: usize = 8;

/// Every needle (form, bytes) whose presence means part of `marker` leaked.
pub fn needles(marker: &str) -> Vec<(&'static str, String)> {
    let m = marker.as_bytes();
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for w in m.windows(WINDOW) {
        let s = String::from_utf8_lossy(w).into_owned();
        out.push(("plain", s.clone()));
        out.push(("url-encoded", url_encode(w)));
        out.push(("hex", hex(w)));
        out.push(("hex-upper", hex(w).to_uppercase()));
    }
    // base64 of the marker at each of the three byte alignments (as if it
    // were encoded inside a longer text); the characters that depend on
    // the marker alone are windowed.
    for pad in 0..3 {
        let mut buf = vec![b'\x00'; pad];
        buf.extend_from_slice(m);
        for (name, eng) in [
            ("base64", &base64::engine::general_purpose::STANDARD_NO_PAD),
            (
                "base64url",
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ),
        ] {
            let enc = eng.encode(&buf);
            // Skip the chars that mix in the padding bytes (first group)
            // and the last, incomplete group.
            let start = if pad == 0 { 0 } else { 4 };
            let end = enc.len().saturating_sub(4);
            if end > start + WINDOW {
                for w in enc.as_bytes()[start..end].windows(WINDOW) {
                    out.push((name, String::from_utf8_lossy(w).into_owned()));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn url_encode(b: &[u8]) -> String {
    b.iter()
        .map(|&c| {
            if c.is_ascii_alphanumeric() || b"-._~".contains(&c) {
                (c as char).to_string()
            } else {
                format!("%{c:02X}")
            }
        })
        .collect()
}

/// The leaks of `marker` in `text`: (form, byte offset) of each hit.
pub fn find(marker: &str, text: &[u8]) -> Vec<(&'static str, usize)> {
    let mut hits = Vec::new();
    for (form, n) in needles(marker) {
        let n = n.as_bytes();
        if let Some(at) = text.windows(n.len()).position(|w| w == n) {
            hits.push((form, at));
        }
    }
    hits
}

/// Panics (without quoting the secret) when `text` of `channel` leaks.
pub fn assert_clean(channel: &str, marker: &str, text: &[u8]) {
    let hits = find(marker, text);
    if !hits.is_empty() {
        // Which line, by number only, so the failure can be found.
        let lines: Vec<usize> = hits
            .iter()
            .map(|(_, at)| text[..*at].iter().filter(|&&b| b == b'\n').count() + 1)
            .collect();
        let forms: Vec<&str> = hits.iter().map(|(f, _)| *f).collect();
        // The offending lines with every piece masked: context, no secret.
        let text = String::from_utf8_lossy(text);
        let mut shown: Vec<String> = Vec::new();
        for n in lines.iter().collect::<std::collections::BTreeSet<_>>() {
            let mut l = text.lines().nth(n - 1).unwrap_or("").to_string();
            for (_, needle) in needles(marker) {
                l = l.replace(&needle, "<LEAK>");
            }
            shown.push(format!("  line {n}: {l}"));
        }
        panic!(
            "{channel}: a piece of the marker secret leaked ({} hits; forms {forms:?})\n{}",
            hits.len(),
            shown.join("\n")
        );
    }
}
