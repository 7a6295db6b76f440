//! BAR-009: No shadowing or overriding config file.
//!
//! Each case's root and expectation are data: `data/bar_009/<condition>.case`
//! and the files under `data/bar_009/<condition>/`.

use crate::common::{statuses, Root, BARBICAN_GID};
use crate::fixture::{audit_root, case, unreadable, How, CONF};

const CHECK: &str = "BAR-009";

#[test]
fn etc_barbican_conf_only() {
    case(CHECK, "etc-barbican-conf-only").check();
}

#[test]
fn home_dot_barbican_shadows_etc() {
    case(CHECK, "home-dot-barbican-shadows-etc").check();
}

#[test]
fn home_barbican_conf_shadows_etc() {
    case(CHECK, "home-barbican-conf-shadows-etc").check();
}

#[test]
fn conf_d_overrides_insecure() {
    case(CHECK, "conf-d-overrides-insecure").check();
}

#[test]
fn conf_d_unjudged_option() {
    case(CHECK, "conf-d-unjudged-option").check();
}

/// Unreadable input: `error` naming it, never a pass or a judged default.
#[test]
fn error_when_conf_d_file_is_a_fifo() {
    unreadable(
        CHECK,
        "/etc/barbican/barbican.conf.d/10-extra.conf",
        How::Fifo,
    );
}

/// oslo.config reads only the first existing barbican.conf of its search
/// path: the shadowed /etc file is not judged at all (here by BAR-002).
#[test]
fn shadowed_etc_file_is_not_in_the_set() {
    let r = Root::barbican();
    r.file(
        "/var/lib/barbican/barbican.conf",
        "[DEFAULT]\n",
        0,
        BARBICAN_GID,
        0o640,
    );
    r.chmod(CONF, 0o644);
    let rep = audit_root(r.path(), None).json;
    let subjects: Vec<String> = statuses(&rep, "BAR-002")
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert!(
        subjects.contains(&"/var/lib/barbican/barbican.conf".to_string()),
        "{subjects:?}"
    );
    assert!(!subjects.contains(&CONF.to_string()), "{subjects:?}");
}
