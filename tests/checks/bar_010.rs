//! BAR-010: Secret backend transport and credentials.
//!
//! Each case's root and expectation are data: `data/bar_010/<condition>.case`
//! and the files under `data/bar_010/<condition>/`.

use crate::fixture::{case, unreadable, How, CONF};

const CHECK: &str = "BAR-010";

#[test]
fn vault_https() {
    case(CHECK, "vault-https").check();
}

#[test]
fn vault_over_http() {
    case(CHECK, "vault-over-http").check();
}

#[test]
fn vault_http_with_use_ssl_true() {
    case(CHECK, "vault-http-with-use-ssl-true").check();
}

#[test]
fn vault_default_url_is_http() {
    case(CHECK, "vault-default-url-is-http").check();
}

#[test]
fn vault_root_token_in_config() {
    case(CHECK, "vault-root-token-in-config").check();
}

#[test]
fn kmip_keyfile_0640() {
    case(CHECK, "kmip-keyfile-0640").check();
}

#[test]
fn kmip_keyfile_0644_others_read() {
    case(CHECK, "kmip-keyfile-0644-others-read").check();
}

#[test]
fn dogtag_pem_missing() {
    case(CHECK, "dogtag-pem-missing").check();
}

#[test]
fn p11_pin_in_config() {
    case(CHECK, "p11-pin-in-config").check();
}

#[test]
fn p11_no_pin_in_config() {
    case(CHECK, "p11-no-pin-in-config").check();
}

#[test]
fn simple_crypto_only_not_applicable() {
    case(CHECK, "simple-crypto-only-not-applicable").check();
}

/// Unreadable input: `error` naming it, never a pass or a judged default.
#[test]
fn error_when_barbican_conf_is_a_directory() {
    unreadable(CHECK, CONF, How::Directory);
}
