//! BAR-006: No plaintext master KEK in Barbican config.
//!
//! Each case's root and expectation are data: `data/bar_006/<condition>.case`
//! and the files under `data/bar_006/<condition>/`.

use crate::fixture::{case, unreadable, How, CONF};

const CHECK: &str = "BAR-006";

#[test]
fn simple_crypto_no_kek_in_config() {
    case(CHECK, "simple-crypto-no-kek-in-config").check();
}

#[test]
fn kek_in_barbican_conf() {
    case(CHECK, "kek-in-barbican-conf").check();
}

#[test]
fn kek_in_conf_d() {
    case(CHECK, "kek-in-conf-d").check();
}

#[test]
fn p11_crypto_only_not_applicable() {
    case(CHECK, "p11-crypto-only-not-applicable").check();
}

#[test]
fn vault_store_only_not_applicable() {
    case(CHECK, "vault-store-only-not-applicable").check();
}

#[test]
fn multiple_stores_one_simple_crypto() {
    case(CHECK, "multiple-stores-one-simple-crypto").check();
}

/// Unreadable input: `error` naming it, never a pass or a judged default.
#[test]
fn error_when_barbican_conf_is_not_utf8() {
    unreadable(CHECK, CONF, How::NotUtf8);
}

/// Template line: tests/layouts/kolla/target/manifest.tsv:18 (kolla-ansible
/// roles/barbican/defaults/main.yml:148, templates/barbican-api.json.j2:4-9).
#[test]
fn kolla_config_files_source() {
    case(CHECK, "kolla-config-files-source").check();
}

/// Template line: tests/layouts/tripleo/target/manifest.tsv:27 (tht
/// deployment/barbican/barbican-api-container-puppet.yaml:336-339).
#[test]
fn tripleo_src_source() {
    case(CHECK, "tripleo-src-source").check();
}

/// Unreadable input: config.json that does not parse is `error`, named.
#[test]
fn config_json_unparsable() {
    case(CHECK, "config-json-unparsable").check();
}
