//! BAR-013: No copies of the master KEK elsewhere on disk.
//!
//! Each case's root and expectation are data: `data/bar_013/<condition>.case`
//! and the files under `data/bar_013/<condition>/`.

use crate::fixture::{case, unreadable, How, CONF};

const CHECK: &str = "BAR-013";

#[test]
fn kek_copy_in_root_shell_history() {
    case(CHECK, "kek-copy-in-root-shell-history").check();
}

#[test]
fn kek_hex_in_gzip_backup() {
    case(CHECK, "kek-hex-in-gzip-backup").check();
}

#[test]
fn no_kek_copy_outside_config() {
    case(CHECK, "no-kek-copy-outside-config").check();
}

#[test]
fn vault_backend_scan_not_applicable() {
    case(CHECK, "vault-backend-scan-not-applicable").check();
}

/// Unreadable input: `error` naming it, never a pass or a judged default.
#[test]
fn error_when_barbican_conf_is_over_the_size_cap() {
    unreadable(CHECK, CONF, How::Oversize);
}

/// Template line: tests/layouts/kolla/target/manifest.tsv:16-19 (kolla-ansible
/// roles/barbican/defaults/main.yml:148, templates/barbican-api.json.j2:4-15):
/// the read-only source of the served config is BAR-006's, not a stray copy.
#[test]
fn kolla_config_files_source_not_a_stray_copy() {
    case(CHECK, "kolla-config-files-source-not-a-stray-copy").check();
}

/// Template line: tests/layouts/tripleo/target/manifest.tsv:22-27 (tht
/// deployment/barbican/barbican-api-container-puppet.yaml:336-339, `src/*` → `/`).
#[test]
fn tripleo_src_source_not_a_stray_copy() {
    case(CHECK, "tripleo-src-source-not-a-stray-copy").check();
}

/// A file config.json does not name stays a stray copy.
#[test]
fn kolla_file_not_named_by_config_json_is_a_stray_copy() {
    case(CHECK, "kolla-file-not-named-by-config-json-is-a-stray-copy").check();
}

/// Unreadable input: a config.json that does not parse is `error`, named ...
#[test]
fn config_json_unparsable_is_an_error() {
    case(CHECK, "config-json-unparsable-is-an-error").check();
}

/// ... and exempts nothing: its source is still reported.
#[test]
fn config_json_unparsable_exempts_nothing() {
    case(CHECK, "config-json-unparsable-exempts-nothing").check();
}

#[test]
fn commented_kek_line_is_not_another_key() {
    case(CHECK, "commented-kek-line-is-not-another-key").check();
}

#[test]
fn uncommented_other_kek_is_another_key() {
    case(CHECK, "uncommented-other-kek-is-another-key").check();
}
