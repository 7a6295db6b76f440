//! Small text helpers shared by every layer: hex, shell quoting, check IDs.

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Each catalog pack (a directory under `checks/`) and the prefix of its
/// check IDs: `checks/barbican` holds `BAR-NNN`, `checks/consumers` (the
/// services that keep their keys in Barbican) `KMC-NNN`.
pub const PACKS: &[(&str, &str)] = &[("barbican", "BAR"), ("consumers", "KMC")];

/// A pack's prefix followed by `-` and three digits (`BAR-004`, `KMC-001`).
pub fn is_valid_id(id: &str) -> bool {
    id_prefix(id).is_some()
}

/// The pack prefix of a well-formed check ID (`KMC` for `KMC-001`).
pub fn id_prefix(id: &str) -> Option<&'static str> {
    let b = id.as_bytes();
    if b.len() != 7 || b[3] != b'-' || !b[4..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    PACKS
        .iter()
        .map(|(_, prefix)| *prefix)
        .find(|prefix| id.starts_with(prefix))
}

/// Quotes a word for a POSIX shell only when it needs it.
pub fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:=,@%".contains(c));
    if safe {
        s.to_string()
    } else if s.chars().any(char::is_control) {
        // A name with a newline or ESC: bash's ANSI-C quoting keeps the
        // command on one line (pasteable, and the text view cannot be forged
        // by a remediation that spans lines). Not POSIX sh, but a `fix:` is
        // pasted into root's interactive shell.
        let mut q = String::from("$'");
        for c in s.chars() {
            match c {
                '\\' => q.push_str("\\\\"),
                '\'' => q.push_str("\\'"),
                '\n' => q.push_str("\\n"),
                '\t' => q.push_str("\\t"),
                '\r' => q.push_str("\\r"),
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        q.push_str(&format!("\\x{b:02x}"));
                    }
                }
                c => q.push(c),
            }
        }
        q.push('\'');
        q
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_ids_of_every_pack() {
        assert_eq!(id_prefix("BAR-004"), Some("BAR"));
        assert_eq!(id_prefix("KMC-012"), Some("KMC"));
        for bad in [
            "BAR-04", "KMC-0123", "XYZ-001", "BAR_001", "bar-001", "KMC-00a", "",
        ] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }
}
