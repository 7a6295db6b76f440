//! BAR-008: member role may act as creator (SCS-0116).
//!
//! Each case's root and expectation are data: `data/bar_008/<condition>.case`
//! and the files under `data/bar_008/<condition>/`.

use crate::fixture::{case, unreadable, How};

const CHECK: &str = "BAR-008";

#[test]
fn policy_d_creator_or_member() {
    case(CHECK, "policy-d-creator-or-member").check();
}

#[test]
fn no_policy_default_creator_role() {
    case(CHECK, "no-policy-default-creator-role").check();
}

#[test]
fn debian_stock_policy_all_commented() {
    case(CHECK, "debian-stock-policy-all-commented").check();
}

#[test]
fn policy_d_overrides_policy_yaml() {
    case(CHECK, "policy-d-overrides-policy-yaml").check();
}

#[test]
fn policy_yaml_overridden_by_policy_d_back_to_creator() {
    case(CHECK, "policy-yaml-overridden-by-policy-d-back-to-creator").check();
}

#[test]
fn creator_and_member_is_not_enough() {
    case(CHECK, "creator-and-member-is-not-enough").check();
}

#[test]
fn policy_json_creator_member() {
    case(CHECK, "policy-json-creator-member").check();
}

#[test]
fn secure_rbac_enforced() {
    case(CHECK, "secure-rbac-enforced").check();
}

#[test]
fn barbican_18_oslo_policy_4_4_defaults_to_srbac() {
    case(CHECK, "barbican-18-oslo-policy-4.4-defaults-to-srbac").check();
}

#[test]
fn policy_file_does_not_load() {
    case(CHECK, "policy-file-does-not-load").check();
}

/// Unreadable input: `error` naming it, never a pass or a judged default.
#[test]
fn error_when_policy_file_is_over_the_size_cap() {
    unreadable(CHECK, "/etc/barbican/policy.d/50-scs.yaml", How::Oversize);
}
