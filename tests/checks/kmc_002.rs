//! KMC-002: No fixed_key left in service config.
//!
//! Each case's root and expectation are data: `data/kmc_002/<condition>.case`
//! and the files under `data/kmc_002/<condition>/`. The unreadable-input case is `cinder-conf-unparsable` (`expect error`).

use crate::fixture::case;

const CHECK: &str = "KMC-002";

#[test]
fn blanked_everywhere() {
    case(CHECK, "blanked-everywhere").check();
}

#[test]
fn cinder_conf_d_loses() {
    case(CHECK, "cinder-conf-d-loses").check();
}

#[test]
fn cinder_conf_unparsable() {
    case(CHECK, "cinder-conf-unparsable").check();
}

#[test]
fn fixed_key_beside_barbican() {
    case(CHECK, "fixed-key-beside-barbican").check();
}

#[test]
fn glance_keymgr_not_read() {
    case(CHECK, "glance-keymgr-not-read").check();
}

#[test]
fn no_fixed_key() {
    case(CHECK, "no-fixed-key").check();
}

#[test]
fn not_installed() {
    case(CHECK, "not-installed").check();
}
