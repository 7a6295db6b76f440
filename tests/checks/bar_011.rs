//! BAR-011: No secrets through service environment.
//!
//! Each case's root and expectation are data: `data/bar_011/<condition>.case`
//! and the files under `data/bar_011/<condition>/`.

use crate::fixture::{case, unreadable, How};

const CHECK: &str = "BAR-011";

#[test]
fn no_barbican_units() {
    case(CHECK, "no-barbican-units").check();
}

#[test]
fn unit_without_secrets() {
    case(CHECK, "unit-without-secrets").check();
}

#[test]
fn kek_through_environment_dropin() {
    case(CHECK, "kek-through-environment-dropin").check();
}

#[test]
fn password_in_environment_file_0644() {
    case(CHECK, "password-in-environment-file-0644").check();
}

#[test]
fn password_in_environment_file_0600() {
    case(CHECK, "password-in-environment-file-0600").check();
}

/// Unreadable input: `error` naming it, never a pass or a judged default.
#[test]
fn error_when_environment_file_is_a_fifo() {
    unreadable(CHECK, "/etc/barbican/worker.env", How::Fifo);
}
