//! KMC-012: Amphora certificate passphrase is not the published default.
//!
//! Each case's root and expectation are data: `data/kmc_012/<condition>.case`
//! and the files under `data/kmc_012/<condition>/`. The unreadable-input case is `octavia-conf-unparsable` (`expect error`).

use crate::fixture::case;

const CHECK: &str = "KMC-012";

#[test]
fn default_passphrase() {
    case(CHECK, "default-passphrase").check();
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
fn published_in_file() {
    case(CHECK, "published-in-file").check();
}

#[test]
fn random_passphrase() {
    case(CHECK, "random-passphrase").check();
}

#[test]
fn unit_env_default() {
    case(CHECK, "unit-env-default").check();
}

#[test]
fn unit_env_invalid() {
    case(CHECK, "unit-env-invalid").check();
}

#[test]
fn wrong_length() {
    case(CHECK, "wrong-length").check();
}

/// The published default is named by its fingerprint (`check` already
/// asserts the value itself is in neither view).
#[test]
fn default_is_named_by_fingerprint() {
    let a = case(CHECK, "default-passphrase").audit();
    let f = a.json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check_id"] == CHECK)
        .unwrap()
        .clone();
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains("sha256:a52bba070dfe"), "{msg}");
    assert!(a.text.contains("sha256:a52bba070dfe"));
}

#[test]
fn unit_env_file_unreadable() {
    case(CHECK, "unit-env-file-unreadable").check();
}

#[test]
fn unit_environment_exposed() {
    let f = case(CHECK, "unit-environment-exposed");
    f.check();
    let a = f.audit();
    let msg = a.json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check_id"] == CHECK)
        .and_then(|f| f["message"].as_str())
        .unwrap()
        .to_string();
    assert!(msg.contains("OS_CERTIFICATES__SERVER_CERTS_KEY_PASSPHRASE in /lib/systemd/system/octavia-worker.service:3"), "{msg}");
    assert!(msg.contains("set with Environment="), "{msg}");
}
