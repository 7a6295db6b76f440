//! BAR-007: Master KEK is not a published value.
//!
//! Each case's root and expectation are data: `data/bar_007/<condition>.case`
//! and the files under `data/bar_007/<condition>/`.

use crate::fixture::{case, unreadable, How, CONF};

const CHECK: &str = "BAR-007";

#[test]
fn no_kek_15_0_1_uses_published_code_default() {
    case(CHECK, "no-kek-15.0.1-uses-published-code-default").check();
}

#[test]
fn no_kek_version_unknown_uses_code_default() {
    case(CHECK, "no-kek-version-unknown-uses-code-default").check();
}

#[test]
fn random_kek() {
    case(CHECK, "random-kek").check();
}

#[test]
fn charm_published_kek() {
    case(CHECK, "charm-published-kek").check();
}

#[test]
fn barbican_19_last_kek_wins_over_published() {
    case(CHECK, "barbican-19-last-kek-wins-over-published").check();
}

#[test]
fn barbican_20_published_kek_still_decrypts() {
    case(CHECK, "barbican-20-published-kek-still-decrypts").check();
}

#[test]
fn barbican_20_kek_in_conf_d_appended() {
    case(CHECK, "barbican-20-kek-in-conf-d-appended").check();
}

#[test]
fn no_kek_barbican_21_cannot_load() {
    case(CHECK, "no-kek-barbican-21-cannot-load").check();
}

#[test]
fn p11_crypto_only_not_applicable() {
    case(CHECK, "p11-crypto-only-not-applicable").check();
}

#[test]
fn published_kek_through_environment_dropin() {
    case(CHECK, "published-kek-through-environment-dropin").check();
}

/// Unreadable input: `error` naming it, never a pass or a judged default.
#[test]
fn error_when_barbican_conf_is_a_fifo() {
    unreadable(CHECK, CONF, How::Fifo);
}
