//! KMC-009: Nova verifies Glance image signatures.
//!
//! Each case's root and expectation are data: `data/kmc_009/<condition>.case`
//! and the files under `data/kmc_009/<condition>/`. The unreadable-input case is `nova-conf-unparsable` (`expect error`).

use crate::fixture::case;

const CHECK: &str = "KMC-009";

#[test]
fn default_off() {
    case(CHECK, "default-off").check();
}

#[test]
fn not_boolean() {
    case(CHECK, "not-boolean").check();
}

#[test]
fn not_installed() {
    case(CHECK, "not-installed").check();
}

#[test]
fn nova_api_only() {
    case(CHECK, "nova-api-only").check();
}

#[test]
fn nova_conf_unparsable() {
    case(CHECK, "nova-conf-unparsable").check();
}

#[test]
fn verify_on() {
    case(CHECK, "verify-on").check();
}

#[test]
fn nova_stock_debian() {
    case(CHECK, "nova-stock-debian").check();
}
