//! KMC-005: Barbican reached through the internal endpoint.
//!
//! Each case's root and expectation are data: `data/kmc_005/<condition>.case`
//! and the files under `data/kmc_005/<condition>/`. The unreadable-input case is `nova-conf-unparsable` (`expect error`).

use crate::fixture::case;

const CHECK: &str = "KMC-005";

#[test]
fn cinder_default_public() {
    case(CHECK, "cinder-default-public").check();
}

#[test]
fn endpoint_type_private() {
    case(CHECK, "endpoint-type-private").check();
}

#[test]
fn explicit_endpoint() {
    case(CHECK, "explicit-endpoint").check();
}

#[test]
fn not_installed() {
    case(CHECK, "not-installed").check();
}

#[test]
fn nova_conf_unparsable() {
    case(CHECK, "nova-conf-unparsable").check();
}

#[test]
fn nova_internal() {
    case(CHECK, "nova-internal").check();
}

#[test]
fn octavia_default_public() {
    case(CHECK, "octavia-default-public").check();
}

#[test]
fn octavia_internal() {
    case(CHECK, "octavia-internal").check();
}

#[test]
fn octavia_local_cert_manager() {
    case(CHECK, "octavia-local-cert-manager").check();
}

#[test]
fn cinder_stock_debian() {
    case(CHECK, "cinder-stock-debian").check();
}

#[test]
fn nova_kolla_internal() {
    case(CHECK, "nova-kolla-internal").check();
}
