//! The few cases about the binary itself, so they spawn it: the exit status,
//! the text view and the JSON on stdout (checked against the schema by
//! `common::run`) are what the in-process cases cannot see.

use crate::common::{finding, status_of, Root};
use crate::fixture::{assert_no_secret, case, Audited, CONF};

/// Both views from the binary (stderr, where warnings go, with the text).
fn audit_binary(root: &Root) -> (i32, Audited) {
    let (code, json) = root.audit_json(&[]);
    let text = root.audit_text();
    let json_text = json.to_string();
    (
        code,
        Audited {
            json,
            json_text,
            text,
        },
    )
}

/// The binary's JSON is the in-process report: the cases audited through
/// the library say what `barbican-audit audit` says.
#[test]
fn binary_report_is_the_in_process_report() {
    let f = case("BAR-007", "barbican-20-published-kek-still-decrypts");
    let (_, mut from_binary) = audit_binary(&f.root);
    let mut in_process = f.audit().json;
    for r in [&mut from_binary.json, &mut in_process] {
        r.as_object_mut().unwrap().remove("run");
    }
    assert_eq!(from_binary.json, in_process);
}

/// A planted KEK, the published one and an HSM PIN: neither view of the
/// binary prints them, and a failed critical check exits 1.
#[test]
fn binary_views_hold_no_fixture_secret_and_fail_exits_1() {
    for (check, cond) in [
        ("BAR-006", "kek-in-barbican-conf"),
        ("BAR-007", "charm-published-kek"),
        ("BAR-010", "p11-pin-in-config"),
    ] {
        let f = case(check, cond);
        let (code, a) = audit_binary(&f.root);
        assert_no_secret(cond, &a);
        assert_eq!(code, 1, "{cond}: exit status");
        assert_eq!(
            status_of(&a.json, check, &f.manifest.expect.unwrap().subject),
            "fail"
        );
    }
}

/// An error for one input says why, and the other checks still run: the
/// missing group makes BAR-001 `error`, BAR-002 still judges the mode.
#[test]
fn group_missing_error_says_why_and_other_checks_still_run() {
    let r = Root::barbican();
    r.file("/etc/group", "root:x:0:\n", 0, 0, 0o644);
    r.chmod(CONF, 0o644);
    let (code, rep) = r.audit_json(&[]);
    assert_eq!(code, 1);
    let f = finding(&rep, "BAR-001", CONF);
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("group barbican does not exist in"),
        "{f}"
    );
    assert_eq!(status_of(&rep, "BAR-002", CONF), "fail");
}
