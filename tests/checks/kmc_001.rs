//! KMC-001: Key manager is not ConfKeyManager.
//!
//! Each case's root and expectation are data: `data/kmc_001/<condition>.case`
//! and the files under `data/kmc_001/<condition>/`. The unreadable-input case is `nova-conf-unparsable` (`expect error`).

use crate::fixture::case;

const CHECK: &str = "KMC-001";

#[test]
fn api_class_deprecated_conf_key_manager() {
    case(CHECK, "api-class-deprecated-conf-key-manager").check();
}

#[test]
fn backend_wrong_case() {
    case(CHECK, "backend-wrong-case").check();
}

#[test]
fn barbican_backend() {
    case(CHECK, "barbican-backend").check();
}

#[test]
fn cinder_conf_key_manager_class_path() {
    case(CHECK, "cinder-conf-key-manager-class-path").check();
}

#[test]
fn glance_default_backend() {
    case(CHECK, "glance-default-backend").check();
}

#[test]
fn not_installed() {
    case(CHECK, "not-installed").check();
}

#[test]
fn nova_api_conf_d_wins() {
    case(CHECK, "nova-api-conf-d-wins").check();
}

#[test]
fn nova_conf_unparsable() {
    case(CHECK, "nova-conf-unparsable").check();
}

/// One program's unparsable file errors that program only: the other
/// program's verdict stands (`one-unparsable-file-errors-only-its-program`),
/// and nova-compute's is the error naming nova.conf, never a pass.
#[test]
fn one_unparsable_file_errors_only_its_program() {
    let f = case(CHECK, "one-unparsable-file-errors-only-its-program");
    f.check();
    let a = f.audit();
    let mine: Vec<(&str, &str)> = a.json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["check_id"] == CHECK)
        .map(|x| {
            (
                x["subject"].as_str().unwrap(),
                x["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(mine.contains(&("/etc/nova/nova.conf", "error")), "{mine:?}");
    assert!(!mine.iter().any(|(s, _)| *s == "nova-compute"), "{mine:?}");
}
