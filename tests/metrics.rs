//! The Prometheus textfile, checked with the real tools: `promtool check
//! metrics` (Debian's prometheus package) and a real node_exporter scraping
//! the file on a loopback port.
#![allow(clippy::unwrap_used)] // tests may panic on setup failures

mod common;
#[path = "common/promtool.rs"]
mod promtool;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn textfile_of(root: &Root, extra: &[&str]) -> (i32, String, tempfile::TempDir) {
    let d = tempfile::tempdir().unwrap();
    let tf = d.path().join("barbican-audit.prom");
    let mut args = vec![
        "audit",
        "--root",
        root.path().to_str().unwrap(),
        "--textfile",
        tf.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    let text = std::fs::read_to_string(&tf).unwrap_or_default();
    (o.status.code().unwrap(), text, d)
}

#[test]
fn promtool_accepts_the_textfile_of_several_fixtures() {
    let passing = Root::barbican();
    let failing = Root::barbican();
    failing.chmod("/etc/barbican/barbican.conf", 0o644);
    let erroring = Root::barbican();
    erroring.file("/etc/group", "root:x:0:\n", 0, 0, 0o644);
    let absent = Root::new();
    for (name, root) in [
        ("all-pass", &passing),
        ("mode-0644", &failing),
        ("group-missing", &erroring),
        ("not-installed", &absent),
    ] {
        let (_, text, _d) = textfile_of(root, &[]);
        assert!(
            text.contains("barbican_audit_check_status{check=\"BAR-001\""),
            "{name}: {text}"
        );
        let (code, out) = promtool::check(&text);
        assert_eq!(
            (code, out.as_str()),
            (0, ""),
            "{name}: promtool check metrics"
        );
        assert!(
            !text
                .lines()
                .any(|l| !l.starts_with('#') && l.split_whitespace().count() > 2),
            "{name}: no sample timestamps"
        );
    }
    let (_, text, _d) = textfile_of(&failing, &[]);
    assert!(
        text.contains("barbican_audit_check_status{check=\"BAR-002\",severity=\"high\"} 1\n"),
        "{text}"
    );
    assert!(text.contains("barbican_audit_check_result{check=\"BAR-002\",status=\"fail\"} 1\n"));
    assert!(text.contains("barbican_audit_check_result{check=\"BAR-002\",status=\"pass\"} 0\n"));
    assert!(text.contains("barbican_audit_findings{severity=\"high\",status=\"fail\"} 1\n"));
}

#[test]
fn hostile_label_values_are_escaped_for_promtool() {
    let mut report: barbican_audit_core::report::Report =
        serde_json::from_value(serde_json::json!({
            "schema_version": 1,
            "tool": {"name": "barbican-audit", "version": "0.1.0\"\\\nx"},
            "host": {"hostname": null, "root": "/", "barbican_version": null},
            "run": {"id": "x", "started_at": "2026-01-01T00:00:00Z", "duration_ms": 3},
            "catalog": {"sha256": "ab", "checks": 1},
            "summary": {"pass": 0, "fail": 1, "error": 0, "na": 0, "waived": 0},
            "findings": []
        }))
        .unwrap();
    let f: barbican_audit_core::report::Finding = serde_json::from_value(serde_json::json!({
        "check_id": "BAR-\"0\\0\n1", "title": "t", "severity": "high", "status": "fail", "references": [],
        "subject": "/etc/\"quoted\"\\path\nwith newline", "message": "m", "evidence": {}, "remediation": ""
    }))
    .unwrap();
    report.findings.push(f);
    let text = barbican_audit_core::report::prometheus::render(&report, 1.7e9);
    assert!(text.contains(r#"check="BAR-\"0\\0\n1""#), "{text}");
    let (code, out) = promtool::check(&text);
    assert_eq!((code, out.as_str()), (0, ""), "{text}");
}

#[test]
fn failed_audit_keeps_series_and_moves_only_last_run() {
    let r = Root::barbican();
    let d = tempfile::tempdir().unwrap();
    let tf = d.path().join("barbican-audit.prom");
    let tfs = tf.to_str().unwrap();
    let o = run(&[
        "audit",
        "--root",
        r.path().to_str().unwrap(),
        "--textfile",
        tfs,
    ]);
    assert_eq!(o.status.code(), Some(0));
    let before = std::fs::read_to_string(&tf).unwrap();
    let value = |t: &str, name: &str| -> f64 {
        t.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap()
            .parse()
            .unwrap()
    };
    std::thread::sleep(Duration::from_millis(20));
    let o = run(&["audit", "--root", "/nonexistent/root", "--textfile", tfs]);
    assert_eq!(o.status.code(), Some(2));
    let after = std::fs::read_to_string(&tf).unwrap();
    assert!(
        value(&after, "barbican_audit_last_run_timestamp_seconds")
            > value(&before, "barbican_audit_last_run_timestamp_seconds")
    );
    assert_eq!(
        value(&after, "barbican_audit_last_success_timestamp_seconds"),
        value(&before, "barbican_audit_last_success_timestamp_seconds")
    );
    let series = |t: &str| {
        t.lines()
            .filter(|l| l.starts_with("barbican_audit_check_"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(series(&after), series(&before));
    assert_eq!(promtool::check(&after), (0, String::new()));
    let names: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temp file left: {names:?}");
}

#[test]
fn unwritable_textfile_directory_is_exit_2_and_leaves_nothing() {
    let r = Root::barbican();
    let d = tempfile::tempdir().unwrap();
    let report = d.path().join("report.json");
    // A regular file where the directory should be: ENOTDIR, even for root.
    let not_dir = d.path().join("not-a-dir");
    std::fs::write(&not_dir, "").unwrap();
    let tf = not_dir.join("barbican-audit.prom");
    let o = run(&[
        "audit",
        "--root",
        r.path().to_str().unwrap(),
        "--output",
        report.to_str().unwrap(),
        "--textfile",
        tf.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(tf.to_str().unwrap()) && err.contains("Not a directory"),
        "{err}"
    );
    assert!(
        !report.exists(),
        "--output must not be written when the textfile cannot be"
    );
    assert!(o.stdout.is_empty());
    // An immutable directory (chattr +i) where the filesystem supports it.
    let imm = d.path().join("immutable");
    std::fs::create_dir(&imm).unwrap();
    if Command::new("chattr")
        .arg("+i")
        .arg(&imm)
        .status()
        .is_ok_and(|s| s.success())
    {
        let tf = imm.join("barbican-audit.prom");
        let o = run(&[
            "audit",
            "--root",
            r.path().to_str().unwrap(),
            "--textfile",
            tf.to_str().unwrap(),
        ]);
        let _ = Command::new("chattr").arg("-i").arg(&imm).status();
        assert_eq!(o.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("Operation not permitted"),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(
            std::fs::read_dir(&imm).unwrap().count(),
            0,
            "nothing half-written"
        );
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn scrape(port: u16) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    body.contains("200 OK").then_some(body)
}

#[test]
fn real_node_exporter_serves_the_textfile() {
    let r = Root::barbican();
    r.chmod("/etc/barbican/barbican.conf", 0o644);
    let (_, _, dir) = textfile_of(&r, &[]);
    let port = free_port();
    let mut child = Command::new("prometheus-node-exporter")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--collector.disable-defaults")
        .arg("--collector.textfile")
        .arg(format!(
            "--collector.textfile.directory={}",
            dir.path().display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus-node-exporter (apt-get install prometheus-node-exporter)");
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut body = None;
    while Instant::now() < deadline {
        if let Some(b) = scrape(port) {
            body = Some(b);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    let body = body.expect("node_exporter answered on loopback");
    assert!(
        body.contains("barbican_audit_check_status{check=\"BAR-002\",severity=\"high\"} 1"),
        "{body}"
    );
    assert!(body.contains("barbican_audit_last_success_timestamp_seconds"));
    assert!(body.contains("barbican_audit_info{"));
    assert!(body.contains("node_textfile_scrape_error 0"), "{body}");
}
