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

/// Template line: tests/layouts/helm/target/manifest.tsv:7 (openstack-helm
/// barbican/templates/deployment-api.yaml:105-107,142-149), the 0777
/// barbican-etc-snippets emptyDir oslo.config loads.
#[test]
fn conf_d_world_writable_helm() {
    case(CHECK, "conf-d-world-writable-helm").check();
}

#[test]
fn conf_d_root_barbican_0750() {
    case(CHECK, "conf-d-root-barbican-0750").check();
}

/// Unreadable input: a conf.d whose existence cannot be told is `error`.
#[test]
fn conf_d_unresolvable() {
    case(CHECK, "conf-d-unresolvable").check();
}

/// Template line: tests/layouts/charm/host/manifest.tsv, /etc/barbican/policy.d
/// (juju/charm-helpers contrib/openstack/policyd.py:488-526).
#[test]
fn policy_dir_barbican_owned_0775_charm() {
    case(CHECK, "policy-dir-barbican-owned-0775-charm").check();
}

#[test]
fn policy_dirs_relative_world_writable() {
    case(CHECK, "policy-dirs-relative-world-writable").check();
}

/// Unreadable input: a policy_dirs entry whose existence cannot be told is `error`.
#[test]
fn policy_dirs_unresolvable() {
    case(CHECK, "policy-dirs-unresolvable").check();
}

/// A policy_dirs entry that does not exist is not judged (oslo.policy skips
/// it), nor is a directory policy_dirs no longer names.
#[test]
fn policy_dirs_absent_not_judged() {
    let f = case(CHECK, "policy-dirs-absent-not-judged");
    f.check();
    let a = f.audit();
    let all = crate::common::statuses(&a.json, CHECK);
    assert_eq!(all.len(), 1, "{all:?}");
}
