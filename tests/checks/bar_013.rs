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
