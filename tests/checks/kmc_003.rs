//! KMC-003: Key manager reaches Barbican and Keystone over https.
//!
//! Each case's root and expectation are data: `data/kmc_003/<condition>.case`
//! and the files under `data/kmc_003/<condition>/`. The unreadable-input case is `nova-conf-unparsable` (`expect error`).

use crate::fixture::case;

const CHECK: &str = "KMC-003";

#[test]
fn backend_wrong_case() {
    case(CHECK, "backend-wrong-case").check();
}

#[test]
fn conf_key_manager() {
    case(CHECK, "conf-key-manager").check();
}

#[test]
fn glance_auth_endpoint_https() {
    case(CHECK, "glance-auth-endpoint-https").check();
}

#[test]
fn glance_default_auth_endpoint() {
    case(CHECK, "glance-default-auth-endpoint").check();
}

#[test]
fn glance_key_manager_auth_url_alias() {
    case(CHECK, "glance-key-manager-auth-url-alias").check();
}

#[test]
fn not_installed() {
    case(CHECK, "not-installed").check();
}

#[test]
fn nova_catalog_endpoint() {
    case(CHECK, "nova-catalog-endpoint").check();
}

#[test]
fn nova_conf_unparsable() {
    case(CHECK, "nova-conf-unparsable").check();
}

#[test]
fn nova_http_endpoint() {
    case(CHECK, "nova-http-endpoint").check();
}

#[test]
fn nova_https_endpoint() {
    case(CHECK, "nova-https-endpoint").check();
}

#[test]
fn glance_stock_debian() {
    case(CHECK, "glance-stock-debian").check();
}

#[test]
fn glance_kolla_internal_http() {
    case(CHECK, "glance-kolla-internal-http").check();
}

#[test]
fn glance_kolla_internal_tls() {
    case(CHECK, "glance-kolla-internal-tls").check();
}
