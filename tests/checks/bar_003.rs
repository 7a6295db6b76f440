//! BAR-003: Config directory root:barbican, 0750 or stricter.
//!
//! Each case's root and expectation are data: `data/bar_003/<condition>.case`
//! and the files under `data/bar_003/<condition>/`.

use crate::fixture::{case, unreadable, How};

const CHECK: &str = "BAR-003";

#[test]
fn dir_root_barbican_0750() {
    case(CHECK, "dir-root-barbican-0750").check();
}

#[test]
fn dir_root_barbican_0710_stricter() {
    case(CHECK, "dir-root-barbican-0710-stricter").check();
}

#[test]
fn dir_barbican_owned_debian_stock() {
    case(CHECK, "dir-barbican-owned-debian-stock").check();
}

#[test]
fn dir_0775_group_writable_rdo() {
    case(CHECK, "dir-0775-group-writable-rdo").check();
}

#[test]
fn dir_0755_others_read() {
    case(CHECK, "dir-0755-others-read").check();
}

#[test]
fn dir_acl_named_group() {
    case(CHECK, "dir-acl-named-group").check();
}

#[test]
fn group_barbican_missing() {
    case(CHECK, "group-barbican-missing").check();
}

#[test]
fn barbican_not_installed() {
    case(CHECK, "barbican-not-installed").check();
}

/// Unreadable input: `error` naming it, never a pass or a judged default.
#[test]
fn error_when_etc_group_is_a_fifo() {
    unreadable(CHECK, "/etc/group", How::Fifo);
}
