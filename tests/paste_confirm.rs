//! Confirms the PasteDeploy model against the real library: every fixture of
//! tests/data/paste/ (`<condition>.ini`, expected outcome in `<condition>.exp`)
//! is loaded by Debian's PasteDeploy 3.0.1 and paste.urlmap
//! (tests/confirm/paste_confirm.py), and what they conclude (parse errors, the
//! chains that serve /v1, factories, interpolated values) must equal the `.exp`,
//! which the unit tests of crates/dialects/src/paste/ check our model against.
//! CI installs barbican-common, which brings them.
#![allow(clippy::unwrap_used)] // tests may panic on setup failures

use barbican_audit_dialects::pytext::is_py_space;

#[test]
fn paste_model_matches_real_pastedeploy() {
    let out = std::process::Command::new("/usr/bin/python3")
        .arg("tests/confirm/paste_confirm.py")
        .output()
        .expect("Debian's /usr/bin/python3 (apt-get install barbican-common)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "PasteDeploy disagrees:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or("");
    assert!(last.ends_with("fixtures, 0 differ"), "{last}");
    let n: usize = last.split_whitespace().next().unwrap().parse().unwrap();
    assert!(n >= 42, "only {n} fixtures confirmed");
}

/// The emulators' `is_py_space` (paste's ini and urlmap readers, oslo.policy's
/// rules) is Python 3's `str.isspace()`, and its regex `\s`, on every code point.
#[test]
fn py_space_is_pythons_isspace() {
    let script = "import re, sys\n\
                  s = [c for c in range(0x110000) if chr(c).isspace()]\n\
                  r = [c for c in range(0x110000) if re.match(r'\\s', chr(c))]\n\
                  sys.exit('isspace and \\\\s differ') if s != r else print(' '.join('%x' % c for c in s))\n";
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["-c", script])
        .output()
        .expect("Debian's /usr/bin/python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let python: Vec<u32> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|h| u32::from_str_radix(h, 16).unwrap())
        .collect();
    let ours: Vec<u32> = (0..=0x10FFFFu32)
        .filter_map(char::from_u32)
        .filter(|c| is_py_space(*c))
        .map(u32::from)
        .collect();
    assert_eq!(ours, python);
    assert!(python.len() > 20, "{python:x?}");
}
