//! The report's JSON Schema (packaging/report.schema.json, shipped as
//! /usr/share/barbican-audit/report.schema.json): it is what the model
//! generates, every kind of report validates against it (and, through
//! `common::run`, every report any test produces; the validator is Debian's
//! python3-jsonschema, tests/confirm/report_schema.py), and the collector's
//! 422 names the first violation.
#![allow(clippy::unwrap_used)] // tests may panic on setup failures

mod common;
#[path = "common/report.rs"]
mod report;

use std::path::Path;

use barbican_audit_fleet::collector::ingest::{decode, Rejection};
use common::*;
use report::*;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/report.schema.json");

/// Fails when src/report/model.rs changed and the committed schema did not.
/// `UPDATE_SCHEMA=1 cargo test --test schema` rewrites it (then commit it).
#[test]
fn committed_schema_is_the_one_the_model_generates() {
    let generated = barbican_audit_core::report::schema::schema_text();
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    if committed != generated && std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(COMMITTED, &generated).unwrap();
        return;
    }
    assert!(
        committed == generated,
        "packaging/report.schema.json is not what src/report/model.rs generates: \
         the report model changed. Regenerate it (UPDATE_SCHEMA=1 cargo test --test schema), \
         review the difference (an incompatible change needs a new schema_version) and commit it."
    );
}

/// The schema is valid draft 2020-12 (report_schema.py checks it against
/// the meta-schema) and pins schema_version to 1.
#[test]
fn committed_schema_is_a_valid_schema_for_version_1() {
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(COMMITTED).unwrap()).unwrap();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(s["properties"]["schema_version"]["const"], 1);
    let mut r = hardened_report();
    assert_valid("hardened", &r);
    r["schema_version"] = 2.into();
    let v = check_report_schema(&serde_json::to_vec(&r).unwrap()).unwrap_err();
    assert!(v.contains("/schema_version"), "{v}");
    let mut r = hardened_report();
    r["findings"][0]["severity"] = "urgent".into();
    let v = check_report_schema(&serde_json::to_vec(&r).unwrap()).unwrap_err();
    assert!(v.contains("/findings/0/severity"), "{v}");
}

/// Asserts `report` validates, naming the first violation otherwise.
fn assert_valid(what: &str, report: &serde_json::Value) {
    if let Err(v) = check_report_schema(&serde_json::to_vec(report).unwrap()) {
        panic!("{what}: {v}");
    }
}

fn hardened_report() -> serde_json::Value {
    let r = Root::barbican();
    r.version("15.0.1");
    let (code, rep) = r.audit_json(&[]);
    assert_eq!(code, 0, "the hardened fixture passes");
    rep
}

#[test]
fn hardened_failing_and_bare_reports_validate() {
    assert_valid("hardened", &hardened_report());

    // Failures: world-readable config, a group-writable policy directory.
    let r = Root::barbican();
    r.chmod("/etc/barbican/barbican.conf", 0o644)
        .chmod("/etc/barbican/policy.d", 0o777);
    let (code, rep) = r.audit_json(&[]);
    assert_eq!(code, 1);
    assert_eq!(
        status_of(&rep, "BAR-002", "/etc/barbican/barbican.conf"),
        "fail"
    );
    assert_valid("failing", &rep);

    // No Barbican at all: every check is na, hostname and version null.
    let r = Root::new();
    std::fs::remove_file(r.real("/etc/hostname")).unwrap();
    let (_, rep) = r.audit_json(&[]);
    assert!(rep["host"]["barbican_version"].is_null());
    assert_valid("bare root", &rep);
}

#[test]
fn error_reports_validate() {
    // barbican.conf unreadable as a file (a directory) and a paste file
    // that does not parse: the checks that need them say error.
    let r = Root::barbican();
    std::fs::remove_file(r.real("/etc/barbican/barbican-api-paste.ini")).unwrap();
    r.file(
        "/etc/barbican/barbican-api-paste.ini",
        "[composite:main\nuse = egg:Paste#urlmap\n",
        0,
        BARBICAN_GID,
        0o640,
    );
    let (code, rep) = r.audit_json(&[]);
    assert_eq!(code, 1);
    let errors = rep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "error")
        .count();
    assert!(errors > 0, "a broken paste file gives error findings");
    assert_valid("error", &rep);
}

#[test]
fn waiver_and_scan_reports_validate() {
    let r = Root::barbican();
    r.chmod("/etc/barbican/barbican.conf", 0o644);
    let w = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        w.path(),
        "[[waiver]]\ncheck = \"BAR-002\"\nreason = \"CHG-1\"\nexpires = \"2999-12-31\"\n\
         [[waiver]]\ncheck = \"BAR-001\"\nreason = \"unused\"\nexpires = \"2999-12-31\"\n",
    )
    .unwrap();
    let (_, rep) = r.audit_json(&["--waivers", w.path().to_str().unwrap()]);
    assert!(!rep["waivers"].as_array().unwrap().is_empty());
    assert_valid("waivers", &rep);

    // A simple_crypto KEK (a made-up test value) with a copy on disk:
    // `audit --scan` and `scan` both carry the scan summary.
    let kek = "dGVzdC1rZWstbm90LWEtcmVhbC1rZXktMDEyMzQ1Njc=";
    let r = Root::barbican();
    r.conf(&format!("[DEFAULT]\n[simple_crypto_plugin]\nkek = {kek}\n"));
    r.file("/root/notes.txt", &format!("kek = {kek}\n"), 0, 0, 0o600);
    let (code, rep) = r.audit_json(&["--scan"]);
    assert_eq!(code, 1);
    assert_eq!(status_of(&rep, "BAR-013", "/root/notes.txt"), "fail");
    assert!(rep["scan"]["files"].as_u64().unwrap() > 0);
    assert_valid("audit --scan", &rep);
    let (code, rep) = scan_json(r.path(), &[]);
    assert_eq!(code, 1);
    assert_valid("scan", &rep);
}

/// The committed snapshot of Debian's stock files, and (where
/// barbican-common is installed, as in CI) a fresh run over them.
#[test]
fn stock_debian_snapshot_validates() {
    let snap = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/snapshots/stock_debian__stock_debian_json.snap"
    ))
    .unwrap();
    // insta's header is the first `---` ... `---` block.
    let body = snap.splitn(3, "---\n").nth(2).unwrap();
    let rep: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_valid("stock Debian snapshot", &rep);
    if Path::new("/etc/barbican/barbican.conf").exists() {
        let o = run(&["audit", "--root", "/", "--format", "json"]);
        let rep: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_valid("this host", &rep);
    }
}

/// A report that breaks the schema is refused with a 422 text that names
/// the place, as the schema's validators would.
#[test]
fn collector_422_names_the_first_violation() {
    let good = hardened_report();
    let mut bad = good.clone();
    bad["findings"][1]["status"] = "bogus".into();
    let err = decode(&serde_json::to_vec(&bad).unwrap()).unwrap_err();
    let Rejection::Invalid(msg) = err else {
        panic!("want Invalid, got {err:?}")
    };
    assert!(
        msg.starts_with("schema violation at /findings/1/status: "),
        "{msg}"
    );
    assert!(msg.contains("bogus"), "{msg}");

    let mut bad = good.clone();
    bad["summary"]
        .as_object_mut()
        .unwrap()
        .remove("waived")
        .unwrap();
    let Err(Rejection::Invalid(msg)) = decode(&serde_json::to_vec(&bad).unwrap()) else {
        panic!("a summary without waived is invalid")
    };
    assert!(msg.starts_with("schema violation at /summary: "), "{msg}");
    assert!(msg.contains("waived"), "{msg}");

    // Semantic checks the schema cannot express stay the decoder's.
    let mut bad = good;
    bad["summary"]["pass"] = 99.into();
    let Err(Rejection::Invalid(msg)) = decode(&serde_json::to_vec(&bad).unwrap()) else {
        panic!("a wrong summary is invalid")
    };
    assert!(msg.contains("does not match the findings"), "{msg}");
}
