//! KMC-010: Octavia keeps TLS certificates in Barbican.
//!
//! Each case's root and expectation are data: `data/kmc_010/<condition>.case`
//! and the files under `data/kmc_010/<condition>/`. The unreadable-input case is `octavia-conf-unparsable` (`expect error`).

use crate::common::statuses;
use crate::fixture::case;

const CHECK: &str = "KMC-010";

#[test]
fn barbican_cert_manager() {
    case(CHECK, "barbican-cert-manager").check();
}

#[test]
fn castellan_barbican() {
    case(CHECK, "castellan-barbican").check();
}

#[test]
fn castellan_vault() {
    case(CHECK, "castellan-vault").check();
}

#[test]
fn default_cert_manager() {
    case(CHECK, "default-cert-manager").check();
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
fn unit_env_local() {
    case(CHECK, "unit-env-local").check();
}

#[test]
fn unknown_name() {
    case(CHECK, "unknown-name").check();
}

/// On a root with octavia alone, the key manager checks (nova, cinder,
/// glance) do not apply and the Octavia checks judge octavia-worker.
#[test]
fn octavia_only() {
    let f = case(CHECK, "octavia-only");
    f.check();
    let a = f.audit();
    for check in ["KMC-001", "KMC-002"] {
        assert_eq!(
            statuses(&a.json, check),
            [("nova, cinder, glance".to_string(), "na".to_string())],
            "{check}"
        );
    }
    for check in ["KMC-010", "KMC-011", "KMC-012"] {
        let s = statuses(&a.json, check);
        assert_eq!(s.len(), 1, "{check}: {s:?}");
        assert_eq!(s[0].0, "octavia-worker", "{check}: {s:?}");
        assert_ne!(s[0].1, "na", "{check}: {s:?}");
    }
}
