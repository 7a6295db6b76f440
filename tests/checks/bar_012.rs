//! BAR-012: Config loads (no parse or interpolation errors).
//!
//! Each case's root and expectation are data: `data/bar_012/<condition>.case`
//! and the files under `data/bar_012/<condition>/`.

use crate::fixture::{case, unreadable, How, CONF};

const CHECK: &str = "BAR-012";

#[test]
fn config_loads() {
    case(CHECK, "config-loads").check();
}

#[test]
fn continuation_after_blank_line() {
    case(CHECK, "continuation-after-blank-line").check();
}

#[test]
fn assignment_before_section() {
    case(CHECK, "assignment-before-section").check();
}

#[test]
fn unknown_dollar_name() {
    case(CHECK, "unknown-dollar-name").check();
}

#[test]
fn dollar_in_secret_pin() {
    case(CHECK, "dollar-in-secret-pin").check();
}

#[test]
fn invalid_boolean_insecure() {
    case(CHECK, "invalid-boolean-insecure").check();
}

#[test]
fn paste_duplicate_key() {
    case(CHECK, "paste-duplicate-key").check();
}

#[test]
fn paste_bad_percent_interpolation() {
    case(CHECK, "paste-bad-percent-interpolation").check();
}

#[test]
fn paste_loads() {
    case(CHECK, "paste-loads").check();
}

/// Unreadable input: `error` naming it, never a pass or a judged default.
#[test]
fn error_when_barbican_conf_is_a_directory() {
    unreadable(CHECK, CONF, How::Directory);
}
