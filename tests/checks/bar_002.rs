//! BAR-002: Config files mode 0640 or stricter, no ACL widening.
//!
//! Each case's root and expectation are data: `data/bar_002/<condition>.case`
//! and the files under `data/bar_002/<condition>/`.

use crate::common::{finding, status_of, Root};
use crate::fixture::{audit_root, case, unreadable, How, CONF, PASTE};

const CHECK: &str = "BAR-002";

#[test]
fn mode_0640() {
    case(CHECK, "mode-0640").check();
}

#[test]
fn mode_0600_stricter() {
    case(CHECK, "mode-0600-stricter").check();
}

#[test]
fn mode_0440_stricter() {
    case(CHECK, "mode-0440-stricter").check();
}

#[test]
fn mode_0400_stricter() {
    case(CHECK, "mode-0400-stricter").check();
}

#[test]
fn mode_0644_others_read() {
    case(CHECK, "mode-0644-others-read").check();
}

#[test]
fn mode_0604_others_read() {
    case(CHECK, "mode-0604-others-read").check();
}

#[test]
fn mode_0660_group_write() {
    case(CHECK, "mode-0660-group-write").check();
}

#[test]
fn mode_2640_setgid() {
    case(CHECK, "mode-2640-setgid").check();
}

#[test]
fn mode_0740_owner_exec() {
    case(CHECK, "mode-0740-owner-exec").check();
}

#[test]
fn acl_named_user_read() {
    case(CHECK, "acl-named-user-read").check();
}

#[test]
fn acl_named_group_read() {
    case(CHECK, "acl-named-group-read").check();
}

#[test]
fn symlink_to_0644_target() {
    case(CHECK, "symlink-to-0644-target").check();
}

#[test]
fn symlink_to_0640_target() {
    case(CHECK, "symlink-to-0640-target").check();
}

#[test]
fn barbican_not_installed() {
    case(CHECK, "barbican-not-installed").check();
}

/// Unreadable input: `error` naming it, never a pass or a judged default.
#[test]
fn error_when_barbican_conf_is_over_the_size_cap() {
    unreadable(CHECK, CONF, How::Oversize);
}

// The finding itself: evidence, message and remediation.

#[test]
fn symlink_reports_link_and_target() {
    let f = case(CHECK, "symlink-to-0644-target");
    let rep = f.audit().json;
    let got = finding(&rep, CHECK, CONF);
    assert_eq!(got["evidence"]["link"], CONF);
    assert_eq!(got["evidence"]["target"], "/srv/conf/barbican.conf");
    // The fix names the file where it is on the auditing machine: inside the root.
    assert_eq!(
        got["remediation"],
        format!(
            "chmod 0640 {}",
            f.root.real("/srv/conf/barbican.conf").display()
        )
    );
    assert!(got["message"]
        .as_str()
        .unwrap()
        .contains("symlink to /srv/conf/barbican.conf"));
}

#[test]
fn acl_evidence_in_getfacl_form_and_remediation() {
    // u:1000:r is alice in the fixture passwd.
    let f = case(CHECK, "acl-named-user-read");
    let rep = f.audit().json;
    let got = finding(&rep, CHECK, CONF);
    let acl = got["evidence"]["acl"].as_str().unwrap();
    assert!(acl.contains("user:alice:r--"), "{acl}");
    assert!(acl.contains("mask::r--"), "{acl}");
    assert!(got["message"]
        .as_str()
        .unwrap()
        .contains("POSIX ACL grants user:alice:r--"));
    assert_eq!(
        got["remediation"].as_str().unwrap(),
        format!(
            "chmod 0640 {0} && setfacl -b {0}",
            f.root.real(CONF).display()
        )
    );
}

#[test]
fn mode_message_names_the_excess_bits() {
    let r = Root::barbican();
    r.chmod(CONF, 0o2664);
    let rep = audit_root(r.path(), None).json;
    let got = finding(&rep, CHECK, CONF);
    assert_eq!(
        got["message"],
        "mode 2664 grants setgid, write to group, read to others; expected 0640 or stricter"
    );
    assert_eq!(
        got["remediation"],
        format!("chmod 0640 {}", r.real(CONF).display())
    );
    assert_eq!(got["evidence"]["mode"], "2664");
}

#[test]
fn dangling_symlink_is_error_for_that_subject_only() {
    let rep = crate::fixture::case("BAR-001", "dangling-symlink-config")
        .audit()
        .json;
    assert_eq!(status_of(&rep, CHECK, PASTE), "error");
    assert_eq!(status_of(&rep, CHECK, CONF), "pass");
    assert!(finding(&rep, CHECK, PASTE)["message"]
        .as_str()
        .unwrap()
        .contains("/srv/gone.ini does not exist"));
}

// The served entry point (issue 17 item 3): only the files on the path that
// serves /v1 are judged; with nothing found, every file that exists.

#[test]
fn unserved_vassal_not_judged() {
    case(CHECK, "unserved-vassal-not-judged").check();
}

#[test]
fn audit_map_not_judged_when_audit_filter_not_served() {
    case(CHECK, "audit-map-not-judged-when-audit-filter-not-served").check();
}

#[test]
fn audit_map_judged_when_audit_filter_served() {
    case(CHECK, "audit-map-judged-when-audit-filter-served").check();
}

#[test]
fn unserved_root_judges_existing_audit_map() {
    case(CHECK, "unserved-root-judges-existing-audit-map").check();
}

#[test]
fn unreadable_uwsgi_ini_is_error() {
    case(CHECK, "unreadable-uwsgi-ini-is-error").check();
}
