//! KMC-007: Config files owned by root and the service's group.
//!
//! Each case's root and expectation are data: `data/kmc_007/<condition>.case`
//! and the files under `data/kmc_007/<condition>/`. The unreadable-input case is `group-file-unreadable` and `group-nova-missing` (`expect error`).

use crate::common::statuses;
use crate::fixture::case;

const CHECK: &str = "KMC-007";

#[test]
fn cinder_conf_group_root() {
    case(CHECK, "cinder-conf-group-root").check();
}

#[test]
fn debian_stock_etc_nova_owned_by_nova() {
    case(CHECK, "debian-stock-etc-nova-owned-by-nova").check();
}

#[test]
fn debian_stock_files_root_group_nova() {
    case(CHECK, "debian-stock-files-root-group-nova").check();
}

#[test]
fn group_file_unreadable() {
    case(CHECK, "group-file-unreadable").check();
}

#[test]
fn group_nova_missing() {
    case(CHECK, "group-nova-missing").check();
}

#[test]
fn home_conf_d_file_judged() {
    case(CHECK, "home-conf-d-file-judged").check();
}

#[test]
fn kolla_gid_42436() {
    case(CHECK, "kolla-gid-42436").check();
}

#[test]
fn not_installed() {
    case(CHECK, "not-installed").check();
}

#[test]
fn nova_conf_owned_by_nova() {
    case(CHECK, "nova-conf-owned-by-nova").check();
}

#[test]
fn octavia_conf_root_group_octavia() {
    case(CHECK, "octavia-conf-root-group-octavia").check();
}

#[test]
fn rootwrap_owned_by_nova() {
    case(CHECK, "rootwrap-owned-by-nova").check();
}

/// The stock Debian node comes out as README §4 says: the files pass
/// KMC-007 and KMC-008, /etc/nova fails KMC-007 (nova:nova 0750), rootwrap
/// and policy (root:root 0644) pass under their rule; the uwsgi ini, read
/// by no oslo.config program, is not judged.
#[test]
fn debian_stock_node_as_packaged() {
    let f = case(CHECK, "debian-stock-files-root-group-nova");
    let a = f.audit();
    let judged = [
        "/etc/nova/nova.conf",
        "/etc/nova/api-paste.ini",
        "/etc/nova/rootwrap.conf",
        "/etc/nova/rootwrap.d/compute.filters",
        "/etc/nova/policy.d/00_default_policy.yaml",
    ];
    let mut want7: Vec<(String, String)> = judged
        .iter()
        .map(|p| (p.to_string(), "pass".to_string()))
        .collect();
    want7.push(("/etc/nova".into(), "fail".into()));
    want7.sort();
    let mut got7 = statuses(&a.json, "KMC-007");
    got7.sort();
    assert_eq!(got7, want7);
    let mut want8: Vec<(String, String)> = judged
        .iter()
        .map(|p| (p.to_string(), "pass".to_string()))
        .collect();
    want8.sort();
    let mut got8 = statuses(&a.json, "KMC-008");
    got8.sort();
    assert_eq!(got8, want8);
    // The group by name, its number in the evidence, and who reads what.
    let conf = finding(&a.json, "KMC-007", "/etc/nova/nova.conf");
    assert_eq!(conf["evidence"]["expected_gid"], 64060);
    assert_eq!(conf["evidence"]["read_by"], "nova-compute, nova-api");
    let dir = finding(&a.json, "KMC-007", "/etc/nova");
    let fix = dir["remediation"].as_str().unwrap_or("");
    assert!(
        fix.starts_with("chown root:nova ") && fix.contains("&& chmod 0750 "),
        "{dir}"
    );
}

/// kolla's nova is gid 42436: resolved by name, reported by number.
#[test]
fn kolla_gid_in_evidence() {
    let a = case(CHECK, "kolla-gid-42436").audit();
    let conf = finding(&a.json, "KMC-007", "/etc/nova/nova.conf");
    assert_eq!(conf["status"], "pass");
    assert_eq!(conf["evidence"]["gid"], 42436);
    assert_eq!(conf["evidence"]["expected_gid"], 42436);
}

/// A file no installed program reads is not judged: a `.txt` in
/// nova.conf.d (oslo.config globs `*.conf`), a stray file owned by alice.
#[test]
fn files_not_read_are_not_judged() {
    let f = case(CHECK, "debian-stock-files-root-group-nova");
    for p in ["/etc/nova/nova.conf.d/notes.txt", "/etc/nova/old-nova.conf"] {
        let real = f.root.real(p);
        std::fs::create_dir_all(real.parent().unwrap()).unwrap();
        std::fs::write(&real, "[DEFAULT]\n").unwrap();
        crate::common::chown(&real, 1000, 1000);
    }
    let a = f.audit();
    for check in ["KMC-007", "KMC-008"] {
        let all = statuses(&a.json, check);
        assert!(
            !all.iter()
                .any(|(s, _)| s.contains("notes.txt") || s.contains("old-nova")),
            "{check}: {all:?}"
        );
        assert!(
            all.iter().any(|(s, _)| s == "/etc/nova/nova.conf"),
            "{all:?}"
        );
    }
}

fn finding<'a>(report: &'a serde_json::Value, check: &str, subject: &str) -> &'a serde_json::Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check_id"] == check && f["subject"] == subject)
        .unwrap_or_else(|| panic!("no {check} finding for {subject}"))
}
