//! KMC-004: TLS verification to Barbican on.
//!
//! Each case's root and expectation are data: `data/kmc_004/<condition>.case`
//! and the files under `data/kmc_004/<condition>/`. The unreadable-input case is `nova-conf-unparsable` (`expect error`).

use crate::fixture::case;

const CHECK: &str = "KMC-004";

#[test]
fn conf_d_turns_verify_off() {
    case(CHECK, "conf-d-turns-verify-off").check();
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
fn session_options_ignored() {
    case(CHECK, "session-options-ignored").check();
}

#[test]
fn vault_backend() {
    case(CHECK, "vault-backend").check();
}

#[test]
fn verify_default() {
    case(CHECK, "verify-default").check();
}

#[test]
fn verify_ssl_false() {
    case(CHECK, "verify-ssl-false").check();
}

#[test]
fn verify_ssl_not_boolean() {
    case(CHECK, "verify-ssl-not-boolean").check();
}

#[test]
fn verify_ssl_path_exists() {
    case(CHECK, "verify-ssl-path-exists").check();
}

#[test]
fn verify_ssl_path_missing() {
    case(CHECK, "verify-ssl-path-missing").check();
}

#[test]
fn nova_stock_debian() {
    case(CHECK, "nova-stock-debian").check();
}
