//! Agents and a collector as real processes on loopback: reports wait in
//! the spool while the collector is down and arrive exactly once when it
//! is back; an agent killed with SIGKILL mid-round never sends a corrupt
//! report. Run against each storage engine.
#![allow(clippy::unwrap_used, clippy::disallowed_macros)] // test helpers; progress on stderr

#[path = "common/fleet.rs"]
mod fleet;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use fleet::*;

struct Node {
    dir: tempfile::TempDir,
    /// The root the agent audits (demo/root unless [`Node::auditing`]).
    root: PathBuf,
}

impl Node {
    fn new(token: &str) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("token");
        std::fs::write(&t, format!("{token}\n")).unwrap();
        std::fs::set_permissions(&t, std::fs::Permissions::from_mode(0o600)).unwrap();
        Node {
            dir,
            root: manifest_dir().join("demo/root"),
        }
    }

    /// The same node auditing another root.
    fn auditing(mut self, root: &Path) -> Node {
        self.root = root.to_path_buf();
        self
    }

    fn spool(&self) -> PathBuf {
        self.dir.path().join("spool")
    }

    fn args(&self, port: u16) -> Vec<String> {
        vec![
            "agent".into(),
            "--once".into(),
            "--retries".into(),
            "0".into(),
            "--collector".into(),
            format!("http://127.0.0.1:{port}"),
            "--token-file".into(),
            path_str(&self.dir.path().join("token")),
            "--spool-dir".into(),
            path_str(&self.spool()),
            "--root".into(),
            path_str(&self.root),
            "--textfile".into(),
            path_str(&self.dir.path().join("agent.prom")),
        ]
    }

    fn run(&self, port: u16) -> Output {
        Command::new(bin()).args(self.args(port)).output().unwrap()
    }

    /// One round that must exit 0 (delivered or spooled).
    fn round_ok(&self, port: u16) {
        let o = self.run(port);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// Spooled report files (not the state file, not rejected/).
    fn spooled(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.spool())
            .map(|d| {
                d.map(|e| e.unwrap().path())
                    .filter(|p| {
                        p.extension().is_some_and(|x| x == "json")
                            && !p
                                .file_name()
                                .unwrap()
                                .to_string_lossy()
                                .starts_with("agent-state")
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    fn rejected(&self) -> usize {
        std::fs::read_dir(self.spool().join("rejected"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Time passes: the backoff after failed rounds is over.
    fn backoff_over(&self) {
        let p = self.spool().join("agent-state.json");
        if let Ok(text) = std::fs::read_to_string(&p) {
            let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
            v["next_attempt_at"] = 0.0.into();
            std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run_id(file: &Path) -> String {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    v["run"]["id"].as_str().unwrap().to_string()
}

fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).map(|v| v.trim().parse().unwrap()))
        .unwrap_or_else(|| panic!("{series} missing:\n{text}"))
}

#[test]
fn collector_down_then_up_delivers_every_report_exactly_once() {
    for db in engines() {
        let viewer = enroll(&db, "secteam", true);
        let node = Node::new(&enroll(&db, "ctl-1", false));
        let port = free_port();

        // Collector down: three rounds, three reports in the spool, exit 0.
        for i in 1..=3 {
            node.round_ok(port);
            assert_eq!(node.spooled().len(), i);
        }
        let prom = std::fs::read_to_string(node.dir.path().join("agent.prom")).unwrap();
        assert_eq!(metric(&prom, "barbican_audit_spool_reports"), 3.0);
        let mut expected: Vec<String> = node.spooled().iter().map(|p| run_id(p)).collect();

        // Collector up: the next round delivers the three and its own.
        let c = Collector::start_at(&db, &format!("127.0.0.1:{port}"), &[]);
        node.backoff_over();
        node.round_ok(port);
        assert!(node.spooled().is_empty(), "spool drained");
        let stored = stored_runs(&c.base, &viewer, "ctl-1");
        assert_eq!(stored.len(), 4, "{stored:?}");
        for id in &expected {
            assert!(stored.contains(id), "{}: {id} not delivered", db.engine);
        }
        expected = stored.clone();

        // A crash between the collector's 200 and the agent's delete means
        // a resend: stored once all the same.
        let (_, body) = report(1);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let id = v["run"]["id"].as_str().unwrap().to_string();
        let token = std::fs::read_to_string(node.dir.path().join("token")).unwrap();
        assert_eq!(post(&c.base, Some(token.trim()), &body).0, 201);
        std::fs::write(
            node.spool().join(format!("0000000000000001-{id}.json")),
            &body,
        )
        .unwrap();
        node.round_ok(port);
        assert!(node.spooled().is_empty());
        let stored = stored_runs(&c.base, &viewer, "ctl-1");
        assert_eq!(
            stored.len(),
            expected.len() + 2,
            "resend stored once + this round"
        );
        assert_eq!(stored.iter().filter(|s| **s == id).count(), 1);
        let (_, m) = get(&c.base, "/metrics", None);
        assert_eq!(
            metric(
                &m,
                "barbican_audit_collector_reports_received_total{result=\"duplicate\"}"
            ),
            1.0
        );
        let prom = std::fs::read_to_string(node.dir.path().join("agent.prom")).unwrap();
        assert_eq!(metric(&prom, "barbican_audit_spool_reports"), 0.0);
        assert!(
            metric(
                &prom,
                "barbican_audit_last_upload_success_timestamp_seconds"
            ) > 1.7e9
        );
    }
}

#[test]
fn agent_killed_mid_round_never_sends_a_corrupt_report() {
    for db in engines() {
        let viewer = enroll(&db, "secteam", true);
        let node = Node::new(&enroll(&db, "ctl-1", false));
        let port = free_port();
        // SIGKILL at spread-out moments of rounds against a dead collector.
        let mut killed = 0;
        for i in 0..24u64 {
            let mut child = Command::new(bin())
                .args(node.args(port))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_micros(500 + i * 900));
            if child.try_wait().unwrap().is_none() {
                killed += 1;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let spooled_before = node.spooled();
        eprintln!(
            "{}: {killed} of 24 rounds killed mid-run, {} reports spooled",
            db.engine,
            spooled_before.len()
        );
        // Every spool file a reader can see is whole (rename is atomic).
        for f in &spooled_before {
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(f).unwrap())
                .unwrap_or_else(|e| panic!("{}: half-written spool file: {e}", f.display()));
            assert_eq!(v["schema_version"], 1);
        }
        let c = Collector::start_at(&db, &format!("127.0.0.1:{port}"), &[]);
        node.backoff_over();
        node.round_ok(port);
        assert!(node.spooled().is_empty());
        assert_eq!(node.rejected(), 0, "nothing had to be quarantined");
        // No dot-temp leftovers.
        let leftovers: Vec<_> = std::fs::read_dir(node.spool())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        let (_, m) = get(&c.base, "/metrics", None);
        for bad in ["malformed", "invalid", "conflict"] {
            assert_eq!(
                metric(
                    &m,
                    &format!("barbican_audit_collector_reports_received_total{{result=\"{bad}\"}}")
                ),
                0.0,
                "{bad}"
            );
        }
        let stored = stored_runs(&c.base, &viewer, "ctl-1");
        assert_eq!(stored.len(), spooled_before.len() + 1);
    }
}

#[test]
fn agent_speaks_https_to_the_collector_with_its_ca_file() {
    let pki = Pki::new();
    let (ca_pem, cert_pem, key_pem) = (pki.ca_pem.clone(), &pki.cert_pem, &pki.key_pem);
    let db = Db::sqlite();
    let viewer = enroll(&db, "secteam", true);
    let node = Node::new(&enroll(&db, "ctl-1", false));
    let c = Collector::start(&db, &["--tls-cert", cert_pem, "--tls-key", key_pem]);
    let port = c.addr.rsplit(':').next().unwrap().to_string();
    let mut args = node.args(0);
    let i = args.iter().position(|a| a == "--collector").unwrap();
    args[i + 1] = format!("https://localhost:{port}");
    // Without the CA: the handshake fails, the report waits in the spool.
    let o = Command::new(bin()).args(&args).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(node.spooled().len(), 1);
    node.backoff_over();
    args.extend(["--ca-file".to_string(), ca_pem]);
    let o = Command::new(bin()).args(&args).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(node.spooled().is_empty());
    assert_eq!(
        db.sql("SELECT count(*) FROM reports WHERE node = 'ctl-1'"),
        "2"
    );
    // Plain HTTP on the TLS port gets no HTTP answer.
    let (code, _) = get(&c.base.replace("https://", "http://"), "/healthz", None);
    assert_eq!(code, 0, "no plain HTTP on a TLS port");
    drop(viewer);
}

#[test]
fn node_with_2000_kek_copies_reports_bar_013_failing_within_the_size_limit() {
    // 2,000 copies of the KEK once made a report larger than the collector's 1 MiB limit:
    // 413, the report went to rejected/, and the fleet showed the node as never reporting
    // instead of failing BAR-013. A check now keeps at most 100 findings and says how many
    // it left out.
    const KEK: &str = "q1Ehz1X-mAyDqEk3Ot5Kb0NQz0tqjFQ7v2GlAX9Pk3s=";
    const COPIES: usize = 2_000;
    let db = Db::sqlite();
    let viewer = enroll(&db, "secteam", true);
    let node = Node::new(&enroll(&db, "ctl-1", false));
    let root = tempfile::tempdir().unwrap();
    let cp = Command::new("cp")
        .arg("-a")
        .arg(manifest_dir().join("demo/root/."))
        .arg(root.path())
        .status()
        .unwrap();
    assert!(cp.success());
    let conf = root.path().join("etc/barbican/barbican.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str(&format!("\n[simple_crypto_plugin]\nkek = {KEK}\n"));
    std::fs::write(&conf, text).unwrap();
    let backups = root.path().join("var/backups/kek");
    std::fs::create_dir_all(&backups).unwrap();
    for i in 0..COPIES {
        std::fs::write(backups.join(format!("copy-{i:04}.txt")), format!("{KEK}\n")).unwrap();
    }
    let c = Collector::start(&db, &[]);
    let port: u16 = c.addr.rsplit(':').next().unwrap().parse().unwrap();
    let mut args = node.args(port);
    let at = args.iter().position(|a| a == "--root").unwrap();
    args[at + 1] = path_str(root.path());
    args.push("--scan".into());
    let o = Command::new(bin()).args(&args).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(node.spooled().is_empty(), "report not delivered");
    assert_eq!(node.rejected(), 0, "report rejected: {}", c.log());

    // The fleet: the node reported, and fails BAR-013.
    let nodes = get_json(&c.base, "/api/v1/nodes", &viewer);
    let n = &nodes["nodes"][0];
    assert_eq!(n["node"], "ctl-1", "{nodes}");
    assert_eq!(n["state"], "fresh", "{nodes}");
    let failing: Vec<&str> = n["failing_checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(failing.contains(&"BAR-013"), "{nodes}");
    let f = get_json(&c.base, "/api/v1/findings?check=BAR-013", &viewer);
    let shown = f["findings"].as_array().unwrap();
    assert_eq!(shown.len(), 100, "{f}");
    assert!(shown.iter().all(|x| x["status"] == "fail"), "{f}");

    // What was left out is said: in the stored report, in the text view and in the metrics.
    let body = db.sql("SELECT body FROM report_bodies");
    assert!(body.len() < 1 << 20, "{} bytes", body.len());
    let stored: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
    assert_eq!(
        stored["omitted_findings"]["BAR-013"],
        COPIES - 100,
        "{}",
        stored["omitted_findings"]
    );
    let prom = std::fs::read_to_string(node.dir.path().join("agent.prom")).unwrap();
    assert_eq!(
        metric(&prom, "barbican_audit_findings_omitted{check=\"BAR-013\"}"),
        (COPIES - 100) as f64
    );
    assert_eq!(
        metric(&prom, "barbican_audit_findings_omitted{check=\"BAR-001\"}"),
        0.0
    );
    let text = Command::new(bin())
        .args(["scan", "--root"])
        .arg(root.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert_eq!(text.matches("\n  FAIL ").count(), 100, "{text}");
    assert!(
        text.contains(&format!(
            "  ...    {} more findings of this check not shown",
            COPIES - 100
        )),
        "{text}"
    );
}

#[test]
fn a_backoff_armed_by_a_clock_years_ahead_is_capped() {
    // next_attempt_at ten years ahead (the clock was once wrong) blocked sending for ten years.
    let db = Db::sqlite();
    let viewer = enroll(&db, "secteam", true);
    let node = Node::new(&enroll(&db, "ctl-1", false));
    std::fs::create_dir_all(node.spool()).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as f64;
    let state = node.spool().join("agent-state.json");
    std::fs::write(
        &state,
        serde_json::json!({"consecutive_failures": 3, "next_attempt_at": now + 3.2e8}).to_string(),
    )
    .unwrap();
    let c = Collector::start(&db, &[]);
    let port: u16 = c.addr.rsplit(':').next().unwrap().parse().unwrap();
    let o = node.run(port);
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("capped"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    let next = v["next_attempt_at"].as_f64().unwrap();
    assert!(next <= now + 300.0 + 60.0, "still blocked until {next}");
    // Once the (capped) backoff is over, the spool drains.
    node.backoff_over();
    node.round_ok(port);
    assert!(node.spooled().is_empty());
    assert_eq!(stored_runs(&c.base, &viewer, "ctl-1").len(), 2);
}

/// A kolla host (three /etc/kolla/barbican-* dirs, kolla-ansible
/// roles/barbican/tasks/config.yml:54-60 config.json): the agent goes
/// through the same path as `audit`, so its report carries the three
/// targets, and the collector stores it although the same check and
/// subject (/etc/barbican/barbican.conf) appear once per target.
#[test]
fn agent_on_a_kolla_host_delivers_a_report_with_its_targets() {
    let root = tempfile::tempdir().unwrap();
    let out = Command::new("python3")
        .arg(manifest_dir().join("tests/layouts/materialize.py"))
        .arg(root.path())
        .args(["kolla", "host"])
        .output()
        .expect("python3 (tests/layouts/materialize.py)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for db in engines() {
        let viewer = enroll(&db, "secteam", true);
        let node = Node::new(&enroll(&db, "kolla-1", false)).auditing(root.path());
        let port = free_port();
        let c = Collector::start_at(&db, &format!("127.0.0.1:{port}"), &[]);
        node.round_ok(port);
        assert!(
            node.spooled().is_empty(),
            "{}: delivered\n{}",
            db.engine,
            c.log()
        );
        assert_eq!(
            node.rejected(),
            0,
            "{}: the collector refused it",
            db.engine
        );
        let stored = stored_runs(&c.base, &viewer, "kolla-1");
        assert_eq!(stored.len(), 1, "{stored:?}");
        let body = db.sql(&format!(
            "SELECT body FROM report_bodies WHERE run_id = '{}'",
            stored[0]
        ));
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let mut targets: Vec<&str> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["target"].as_str())
            .collect();
        targets.sort_unstable();
        targets.dedup();
        assert_eq!(
            targets,
            [
                "kolla:barbican_api",
                "kolla:barbican_keystone_listener",
                "kolla:barbican_worker"
            ],
            "{}",
            db.engine
        );
        let findings = v["findings"].as_array().unwrap().len() as i64;
        let rows: i64 = db
            .sql(&format!(
                "SELECT count(*) FROM findings WHERE run_id = '{}'",
                stored[0]
            ))
            .parse()
            .unwrap();
        assert_eq!(rows, findings, "{}: every finding stored", db.engine);
        // The API's layout and target filters.
        let f = get_json(
            &c.base,
            "/api/v1/findings?layout=kolla&target=kolla:barbican_worker",
            &viewer,
        );
        let shown = f["findings"].as_array().unwrap();
        assert!(!shown.is_empty(), "{f}");
        assert!(
            shown.iter().all(|x| x["target"] == "kolla:barbican_worker"),
            "{f}"
        );
        let f = get_json(&c.base, "/api/v1/findings?layout=debian", &viewer);
        assert_eq!(f["findings"], serde_json::json!([]), "{f}");
        let (code, body) = get(&c.base, "/api/v1/findings?layout=bogus", Some(&viewer));
        assert_eq!(code, 400, "{body}");
    }
}
