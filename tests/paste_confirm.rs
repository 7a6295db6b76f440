//! Confirms the PasteDeploy model against the real library: every FIX_*
//! fixture of crates/dialects/src/paste.rs is loaded by Debian's PasteDeploy 3.0.1
//! and paste.urlmap (tests/confirm/paste_confirm.py), and what they conclude
//! (parse errors, the chains that serve /v1, factories) must equal the
//! module's EXP_* expectation. CI installs barbican-common, which brings them.
#![allow(clippy::unwrap_used)] // tests may panic on setup failures

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
    assert!(n >= 40, "only {n} fixtures confirmed");
}
