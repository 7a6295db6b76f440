//! KMC-006: No static credentials for the key manager; service token loadable.
//!
//! Each case's root and expectation are data: `data/kmc_006/<condition>.case`
//! and the files under `data/kmc_006/<condition>/`. The unreadable-input case is `nova-conf-unparsable` (`expect error`).

use crate::fixture::case;

const CHECK: &str = "KMC-006";

#[test]
fn no_credentials() {
    case(CHECK, "no-credentials").check();
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
fn service_token_with_auth() {
    case(CHECK, "service-token-with-auth").check();
}

#[test]
fn service_token_without_auth() {
    case(CHECK, "service-token-without-auth").check();
}

#[test]
fn static_password_in_conf_d() {
    case(CHECK, "static-password-in-conf-d").check();
}

#[test]
fn static_token() {
    case(CHECK, "static-token").check();
}

#[test]
fn nova_stock_debian() {
    case(CHECK, "nova-stock-debian").check();
}
