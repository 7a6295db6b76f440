//! KMC-011: Octavia's Barbican client verifies TLS.
//!
//! Each case's root and expectation are data: `data/kmc_011/<condition>.case`
//! and the files under `data/kmc_011/<condition>/`. The unreadable-input case is `octavia-conf-unparsable` (`expect error`).

use crate::fixture::case;

const CHECK: &str = "KMC-011";

#[test]
fn ca_file_empty() {
    case(CHECK, "ca-file-empty").check();
}

#[test]
fn ca_file_exists() {
    case(CHECK, "ca-file-exists").check();
}

#[test]
fn ca_file_missing() {
    case(CHECK, "ca-file-missing").check();
}

#[test]
fn castellan_verify_ssl_false() {
    case(CHECK, "castellan-verify-ssl-false").check();
}

#[test]
fn certificates_insecure_ignored() {
    case(CHECK, "certificates-insecure-ignored").check();
}

#[test]
fn insecure_not_boolean() {
    case(CHECK, "insecure-not-boolean").check();
}

#[test]
fn local_cert_manager() {
    case(CHECK, "local-cert-manager").check();
}

#[test]
fn not_installed() {
    case(CHECK, "not-installed").check();
}

#[test]
fn octavia_conf_unparsable() {
    case(CHECK, "octavia-conf-unparsable").check();
}

#[test]
fn service_auth_insecure() {
    case(CHECK, "service-auth-insecure").check();
}

/// A set `[certificates] insecure` changes nothing, and the finding says so.
#[test]
fn certificates_insecure_is_named_dead() {
    let a = case(CHECK, "certificates-insecure-ignored").audit();
    let msg = message(&a.json, CHECK);
    assert!(msg.contains("[certificates] insecure"), "{msg}");
    assert!(msg.contains("never reads it"), "{msg}");
}

fn message(report: &serde_json::Value, check: &str) -> String {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check_id"] == check)
        .and_then(|f| f["message"].as_str())
        .unwrap_or("")
        .to_string()
}
