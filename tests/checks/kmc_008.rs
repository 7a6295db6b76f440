//! KMC-008: Config files mode 0640 or stricter.
//!
//! Each case's root and expectation are data: `data/kmc_008/<condition>.case`
//! and the files under `data/kmc_008/<condition>/`. The unreadable-input case is `nova-conf-is-a-directory` (`expect error`).

use crate::fixture::case;

const CHECK: &str = "KMC-008";

#[test]
fn acl_named_user_read() {
    case(CHECK, "acl-named-user-read").check();
}

#[test]
fn conf_d_0660_group_write() {
    case(CHECK, "conf-d-0660-group-write").check();
}

#[test]
fn debian_stock_mode_0640() {
    case(CHECK, "debian-stock-mode-0640").check();
}

#[test]
fn debian_stock_rootwrap_0644() {
    case(CHECK, "debian-stock-rootwrap-0644").check();
}

#[test]
fn glance_paste_0644_others_read() {
    case(CHECK, "glance-paste-0644-others-read").check();
}

#[test]
fn mode_0644_others_read() {
    case(CHECK, "mode-0644-others-read").check();
}

#[test]
fn not_installed() {
    case(CHECK, "not-installed").check();
}

#[test]
fn nova_conf_is_a_directory() {
    case(CHECK, "nova-conf-is-a-directory").check();
}

#[test]
fn paste_0644_others_read() {
    case(CHECK, "paste-0644-others-read").check();
}

#[test]
fn policy_0646_others_write() {
    case(CHECK, "policy-0646-others-write").check();
}

#[test]
fn rootwrap_filters_0664_group_write() {
    case(CHECK, "rootwrap-filters-0664-group-write").check();
}
