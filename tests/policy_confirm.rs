//! Confirms the oslo.policy model against the real library: the cases of
//! tests/data/policy/ (policy files and rule strings with their expected
//! results), which crates/dialects/src/policy/ is tested against, are run by
//! tests/confirm/policy_confirm.py through Debian's oslo.policy 4.0.0 (an
//! Enforcer over each file, enforce('creator') for a member-only user;
//! `_parser.parse_rule` for each rule string).
#![allow(clippy::unwrap_used)] // tests may panic on setup failures

#[test]
fn policy_model_matches_real_oslo_policy() {
    let out = std::process::Command::new("/usr/bin/python3")
        .arg("tests/confirm/policy_confirm.py")
        .output()
        .expect("Debian's /usr/bin/python3 (apt-get install barbican-common)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "oslo.policy disagrees:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.lines().any(|l| l.trim() == "0 mismatch(es)"),
        "{stdout}"
    );
}
