//! BAR-013 through the binary: `barbican-audit scan` over the project's test
//! tree (tests/common/tree.rs) finds every planted copy where the manifest
//! says (the config file itself is BAR-006's), reports decoys only as
//! lower-severity `kek =` findings of their own keys, near misses not at
//! all, never prints the key; `audit` leaves the scan out unless `--scan`.
#![allow(clippy::unwrap_used)] // tests may panic on setup failures

mod common;
#[path = "common/report.rs"]
mod report;
#[path = "common/tree.rs"]
mod tree;

use std::collections::BTreeSet;

use common::*;
use report::*;

#[test]
fn scan_finds_every_planted_copy_and_never_prints_the_key() {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine as _;
    let d = tempfile::tempdir().unwrap();
    let tree = d.path().join("tree");
    let kek = tree::default_kek();
    let m = tree::make_tree(&tree, 0.05, &kek).unwrap();
    let hex: String = kek.iter().map(|b| format!("{b:02x}")).collect();
    let secrets = [
        STANDARD_NO_PAD.encode(kek),
        URL_SAFE_NO_PAD.encode(kek),
        hex.to_uppercase(),
        hex,
    ];
    let out = run(&[
        "scan",
        "--root",
        tree.to_str().unwrap(),
        "--format",
        "json",
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(1), "copies found: exit 1");
    let text = run(&["scan", "--root", tree.to_str().unwrap()]);
    let all = [&out.stdout, &out.stderr, &text.stdout, &text.stderr]
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .concat();
    for s in &secrets {
        assert!(!all.contains(s.as_str()), "an output contains the key");
    }
    assert!(!all.contains(&STANDARD.encode(kek)) && !all.contains(&URL_SAFE.encode(kek)));
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rep["scan"]["errors"], 0);
    assert!(rep["scan"]["bytes"].as_u64().unwrap() > 1_000_000);
    // every regular file but the config, which BAR-006 reports
    assert_eq!(rep["scan"]["files"].as_u64(), Some(m.stats.files - 1));

    // (subject, encoding, offset, decompressed, fingerprint, severity)
    type Key = (String, String, u64, bool, String, String);
    let want: BTreeSet<Key> = m
        .rows
        .iter()
        // The config file itself is BAR-006's finding, not a copy.
        .filter(|r| r.expected() && r.kind != tree::Kind::Config)
        .map(|r| {
            let decoy = r.kind == tree::Kind::Decoy;
            (
                r.subject(),
                r.encoding.clone(),
                r.offset,
                // the message of a `kek =` finding does not say "decompressed"
                r.decompressed && !decoy,
                r.fingerprint.clone(),
                if decoy { "medium" } else { "critical" }.to_string(),
            )
        })
        .collect();
    let got: BTreeSet<Key> = findings_of(&rep, "BAR-013")
        .into_iter()
        .map(|f| {
            assert_eq!(f["status"], "fail", "{f}");
            let ev = &f["evidence"];
            (
                f["subject"].as_str().unwrap().to_string(),
                ev["encoding"].as_str().unwrap().to_string(),
                ev["offset"].as_u64().unwrap(),
                f["message"]
                    .as_str()
                    .unwrap()
                    .contains("of the decompressed data"),
                ev["fingerprint"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
    assert!(
        got.iter().all(|k| k.0 != "/etc/barbican/barbican.conf"),
        "config reported again"
    );
    // every top-level directory holds a copy the scan names
    let tops: BTreeSet<&str> = got
        .iter()
        .filter(|k| k.4 == m.kek_fingerprint)
        .map(|k| k.0[1..].split('/').next().unwrap())
        .collect();
    assert_eq!(tops, m.top_dirs());
}

#[test]
fn audit_runs_the_scan_only_when_asked() {
    let r = with_kek_copy();
    let (_, rep) = r.audit_json(&[]);
    assert_eq!(status_of(&rep, "BAR-013", "disk"), "na");
    let (code, rep) = r.audit_json(&["--scan"]);
    assert_eq!(code, 1);
    let f = finding(&rep, "BAR-013", "/root/.bash_history");
    assert_eq!(f["status"], "fail");
    assert_eq!(f["evidence"]["encoding"], "base64-url");
    // The config file that holds it is not a "copy".
    assert!(statuses(&rep, "BAR-013")
        .iter()
        .all(|(s, _)| s != "/etc/barbican/barbican.conf"));
    let text = format!("{rep}");
    assert!(!text.contains(KEK));
    // Metrics carry the scan size.
    let d = tempfile::tempdir().unwrap();
    let tf = d.path().join("m.prom");
    run(&[
        "audit",
        "--root",
        r.path().to_str().unwrap(),
        "--scan",
        "--textfile",
        tf.to_str().unwrap(),
    ]);
    assert!(std::fs::read_to_string(&tf)
        .unwrap()
        .contains("\nbarbican_audit_scan_bytes "));
}

#[test]
fn scan_passes_when_no_copy_and_is_na_without_simple_crypto() {
    let r = with_kek_copy();
    std::fs::remove_file(r.real("/root/.bash_history")).unwrap();
    let (code, rep) = r.audit_json(&["--scan"]);
    assert_eq!(status_of(&rep, "BAR-013", "disk"), "pass");
    assert_eq!(code, 1, "BAR-006 still fails for the kek in barbican.conf");
    let vault = Root::barbican();
    let (_, rep) = vault.audit_json(&["--scan"]);
    assert_eq!(status_of(&rep, "BAR-013", "barbican"), "na");
}

#[test]
fn scan_fingerprint_must_be_well_formed() {
    let r = with_kek_copy();
    let o = run(&[
        "scan",
        "--root",
        r.path().to_str().unwrap(),
        "--fingerprint",
        "abc",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--fingerprint"));
    let (_, rep) = scan_json(r.path(), &["--fingerprint", "sha256:000000000000"]);
    assert_eq!(status_of(&rep, "BAR-013", "disk"), "na");
}

const KEK: &str = "q1Ehz1X-mAyDqEk3Ot5Kb0NQz0tqjFQ7v2GlAX9Pk3s=";

/// simple_crypto with a KEK in barbican.conf and a copy in root's shell history.
fn with_kek_copy() -> Root {
    let r = Root::barbican();
    r.conf(&format!("[DEFAULT]\n[simple_crypto_plugin]\nkek = {KEK}\n"));
    r.file(
        "/root/.bash_history",
        &format!("ls\ncrudini --set barbican.conf simple_crypto_plugin kek {KEK}\n"),
        0,
        0,
        0o600,
    );
    r
}

#[test]
fn nice_scan_finds_the_same_copy() {
    let r = with_kek_copy();
    let (code, rep) = scan_json(r.path(), &["--nice"]);
    assert_eq!(code, 1);
    assert_eq!(status_of(&rep, "BAR-013", "/root/.bash_history"), "fail");
    // --nice belongs to the scan: without --scan, audit refuses it.
    let o = run(&["audit", "--root", r.path().to_str().unwrap(), "--nice"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn cached_scan_reads_only_what_changed_and_still_reports_the_copy() {
    let r = with_kek_copy();
    r.file("/var/log/app.log", &"all quiet\n".repeat(1000), 0, 0, 0o640);
    let cache = r.path().join("var/cache/barbican-audit/scan-cache");
    std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
    // files changed within 2 s of a scan's start are never remembered
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let scan = || {
        let (code, rep) = scan_json(r.path(), &["--cache", cache.to_str().unwrap()]);
        assert_eq!(code, 1, "the copy is found every time");
        rep
    };
    let first = scan();
    assert!(first["scan"].get("unchanged_files").is_none());
    let second = scan();
    let unchanged = second["scan"]["unchanged_files"].as_u64().unwrap();
    let unchanged_bytes = second["scan"]["unchanged_bytes"].as_u64().unwrap();
    // the shell history holds a copy: never remembered, read and reported again
    assert!(unchanged >= 1 && unchanged < first["scan"]["files"].as_u64().unwrap());
    assert!(unchanged_bytes >= 10_000, "app.log is known clean");
    assert_eq!(status_of(&second, "BAR-013", "/root/.bash_history"), "fail");
    let text = run(&[
        "scan",
        "--root",
        r.path().to_str().unwrap(),
        "--cache",
        cache.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!(
            "scan cache: {unchanged} files ({unchanged_bytes} bytes) unchanged since an earlier scan"
        )),
        "{text}"
    );
    // a copy appended to a remembered file is found at once
    let log = r.path().join("var/log/app.log");
    let mut body = std::fs::read_to_string(&log).unwrap();
    body.push_str(&format!("debug: kek={KEK}\n"));
    std::fs::write(&log, body).unwrap();
    let third = scan();
    assert_eq!(status_of(&third, "BAR-013", "/var/log/app.log"), "fail");
    assert_eq!(
        third["scan"]["unchanged_files"].as_u64(),
        Some(unchanged - 1)
    );
    // --scan-cache belongs to the scan: without --scan, audit refuses it
    let o = run(&[
        "audit",
        "--root",
        r.path().to_str().unwrap(),
        "--scan-cache",
        cache.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn kubernetes_secret_and_base64_blob_copies_are_found() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let r = with_kek_copy();
    let conf = format!("[DEFAULT]\ndebug = false\n[simple_crypto_plugin]\nkek = {KEK}\n");
    r.file(
        "/root/backup/barbican-secret.yaml",
        &format!(
            "apiVersion: v1\nkind: Secret\ndata:\n  barbican.conf: {}\n",
            b64.encode(conf)
        ),
        0,
        0,
        0o600,
    );
    // the raw key inside a base64'd binary blob, one byte off alignment
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(KEK)
        .unwrap();
    let mut blob = vec![0x42u8; 1001];
    blob.extend_from_slice(&raw);
    blob.extend_from_slice(&[0xffu8; 500]);
    r.file("/root/backup/blob.b64", &b64.encode(&blob), 0, 0, 0o600);
    let (code, rep) = scan_json(r.path(), &[]);
    assert_eq!(code, 1);
    let enc = |subject: &str| finding(&rep, "BAR-013", subject)["evidence"]["encoding"].clone();
    assert_eq!(enc("/root/backup/barbican-secret.yaml"), "base64-double");
    assert_eq!(enc("/root/backup/blob.b64"), "base64-embedded");
    let all = rep.to_string();
    assert!(!all.contains(KEK) && !all.contains(&b64.encode(raw)));
}

#[test]
fn audit_scan_paths_limit_the_scan_to_those_filesystems() {
    let r = with_kek_copy();
    let root = r.path().to_str().unwrap();
    let audit = |path: &str| {
        let (code, rep) = r.audit_json(&["--scan", "--scan-path", path]);
        assert!(matches!(code, 0 | 1), "exit {code}");
        rep
    };
    // the copy is in /root/.bash_history
    assert_eq!(status_of(&audit("/etc"), "BAR-013", "disk"), "pass");
    assert_eq!(
        status_of(&audit("/root"), "BAR-013", "/root/.bash_history"),
        "fail"
    );
    // --scan-path belongs to the scan
    let o = run(&["audit", "--root", root, "--scan-path", "/root"]);
    assert_eq!(o.status.code(), Some(2));
}
