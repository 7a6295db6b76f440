//! BAR-001: Config files owned by root, group barbican.
//!
//! Each case's root and expectation are data: `data/bar_001/<condition>.case`
//! and the files under `data/bar_001/<condition>/`.

use crate::fixture::{case, unreadable, How, CONF};

const CHECK: &str = "BAR-001";

#[test]
fn owner_root_group_barbican() {
    case(CHECK, "owner-root-group-barbican").check();
}

#[test]
fn group_root() {
    case(CHECK, "group-root").check();
}

#[test]
fn owner_barbican() {
    case(CHECK, "owner-barbican").check();
}

#[test]
fn group_barbican_missing() {
    case(CHECK, "group-barbican-missing").check();
}

#[test]
fn barbican_not_installed() {
    case(CHECK, "barbican-not-installed").check();
}

#[test]
fn home_shadow_file_judged() {
    case(CHECK, "home-shadow-file-judged").check();
}

#[test]
fn conf_d_file_judged() {
    case(CHECK, "conf-d-file-judged").check();
}

#[test]
fn policy_dirs_file_judged() {
    case(CHECK, "policy-dirs-file-judged").check();
}

#[test]
fn worker_prog_file_judged() {
    case(CHECK, "worker-prog-file-judged").check();
}

#[test]
fn uwsgi_paste_elsewhere_judged() {
    case(CHECK, "uwsgi-paste-elsewhere-judged").check();
}

#[test]
fn named_key_file_missing() {
    case(CHECK, "named-key-file-missing").check();
}

#[test]
fn dangling_symlink_config() {
    case(CHECK, "dangling-symlink-config").check();
}

/// Unreadable input: `error` naming it, never a pass or a judged default.
#[test]
fn error_when_barbican_conf_is_a_fifo() {
    unreadable(CHECK, CONF, How::Fifo);
}

// The served entry point (issue 17 item 3): only the files on the path that
// serves /v1 are judged; with nothing found, every file that exists.

#[test]
fn unserved_vassal_not_judged() {
    case(CHECK, "unserved-vassal-not-judged").check();
}

#[test]
fn served_vassal_judged() {
    case(CHECK, "served-vassal-judged").check();
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

#[test]
fn httpd_vhost_judged() {
    case(CHECK, "httpd-vhost-judged").check();
}
