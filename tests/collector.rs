//! The collector as a real process on loopback, against each storage
//! engine (SQLite always; PostgreSQL when BARBICAN_AUDIT_TEST_PG is set,
//! and always under CI).
#![allow(clippy::unwrap_used, clippy::disallowed_macros)] // helpers; progress on stderr

#[path = "common/fleet.rs"]
mod fleet;
#[path = "common/promtool.rs"]
mod promtool;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use fleet::*;

fn count_reports(db: &Db) -> i64 {
    db.sql("SELECT count(*) FROM reports").parse().unwrap()
}

fn count_findings(db: &Db) -> i64 {
    db.sql("SELECT count(*) FROM findings").parse().unwrap()
}

#[test]
fn status_codes_and_nothing_stored_on_any_error() {
    for db in engines() {
        let node = enroll(&db, "ctl-1", false);
        let viewer = enroll(&db, "secteam", true);
        let c = Collector::start(&db, &["--max-body-bytes", "65536"]);
        let base = &c.base;
        let (id, body) = report(5);

        // Authentication first.
        assert_eq!(post(base, None, &body).0, 401, "{}: no token", db.engine);
        let wrong = format!("{}0", &node[..node.len() - 1]);
        let wrong = if wrong == node {
            node.replace('a', "b")
        } else {
            wrong
        };
        let (code, msg) = post(base, Some(&wrong), &body);
        assert_eq!(code, 401, "{}: wrong secret: {msg}\n{}", db.engine, c.log());
        assert_eq!(post(base, Some("garbage"), &body).0, 401, "not a token");
        assert_eq!(
            post(base, Some(&viewer), &body).0,
            403,
            "viewer cannot post"
        );

        // Bodies the collector refuses.
        let big = vec![b' '; 70_000];
        assert_eq!(post(base, Some(&node), &big).0, 413, "over the limit");
        assert_eq!(
            post(base, Some(&node), b"{\"schema_version\": 1,").0,
            400,
            "truncated"
        );
        assert_eq!(
            post(base, Some(&node), b"\x00\xffgarbage").0,
            400,
            "garbage"
        );
        // Deep nesting is well-formed JSON but no report: 422, and the
        // collector neither recurses nor falls over (30,000 levels here).
        let deep = "[".repeat(30_000) + &"]".repeat(30_000);
        assert_eq!(
            post(base, Some(&node), deep.as_bytes()).0,
            422,
            "deep nesting"
        );
        let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        v["findings"][0]["evidence"] = serde_json::json!({"x": 1});
        let text = serde_json::to_string(&v).unwrap().replacen(
            "{\"x\":1}",
            &("[".repeat(20_000) + &"]".repeat(20_000)),
            1,
        );
        assert_eq!(
            post(base, Some(&node), text.as_bytes()).0,
            422,
            "deep evidence"
        );
        assert_eq!(get(base, "/healthz", None).0, 200);
        let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        v["schema_version"] = 2.into();
        let (code, msg) = post(base, Some(&node), &serde_json::to_vec(&v).unwrap());
        assert_eq!(code, 422, "unknown schema version: {msg}");
        assert!(msg.contains("schema_version 2"), "{msg}");
        let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let first = v["findings"][0].clone();
        v["findings"].as_array_mut().unwrap().insert(0, first);
        let (code, msg) = post(base, Some(&node), &serde_json::to_vec(&v).unwrap());
        assert_eq!(code, 422, "duplicate finding: {msg}");
        let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        v["summary"]["pass"] = 99.into();
        assert_eq!(
            post(base, Some(&node), &serde_json::to_vec(&v).unwrap()).0,
            422,
            "summary"
        );
        let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        v["run"]["id"] = "not-a-uuid".into();
        assert_eq!(
            post(base, Some(&node), &serde_json::to_vec(&v).unwrap()).0,
            422,
            "run id"
        );
        // A duplicate JSON key is valid JSON but not a valid report.
        let text = String::from_utf8(body.clone()).unwrap();
        let dup = text.replacen(
            "{\"schema_version\":1,",
            "{\"schema_version\":1,\"schema_version\":1,",
            1,
        );
        assert_ne!(dup, text);
        assert_eq!(
            post(base, Some(&node), dup.as_bytes()).0,
            422,
            "duplicate key"
        );
        assert_eq!(count_reports(&db), 0, "{}: nothing stored", db.engine);
        assert_eq!(count_findings(&db), 0);

        // Created, then a resend is 200 and stores nothing new.
        let (code, msg) = post(base, Some(&node), &body);
        assert_eq!(code, 201, "{msg}");
        let findings = count_findings(&db);
        assert!(findings >= 13, "{findings}");
        assert_eq!(post(base, Some(&node), &body).0, 200, "resend");
        assert_eq!(count_reports(&db), 1);
        assert_eq!(count_findings(&db), findings);
        // Same run ID, other body: conflict, nothing stored.
        let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        v["run"]["duration_ms"] = 4242.into();
        assert_eq!(
            post(base, Some(&node), &serde_json::to_vec(&v).unwrap()).0,
            409
        );
        // The node name comes from the token, not from the body.
        let other = enroll(&db, "ctl-2", false);
        assert_eq!(
            post(base, Some(&other), &body).0,
            409,
            "another node's run id"
        );
        assert_eq!(stored_runs(base, &viewer, "ctl-1"), vec![id.clone()]);
        assert!(stored_runs(base, &viewer, "ctl-2").is_empty());

        // Revoked: 401 from now on, history stays.
        revoke(&db, "ctl-1");
        let (_, b2) = report(1);
        assert_eq!(post(base, Some(&node), &b2).0, 401, "revoked token");
        assert_eq!(count_reports(&db), 1);
        // Rotation: enrolling again gives a working token, the old one stays dead.
        let node2 = enroll(&db, "ctl-1", false);
        assert_eq!(post(base, Some(&node2), &b2).0, 201);
        assert_eq!(post(base, Some(&node), &report(0).1).0, 401);
    }
}

#[test]
fn read_endpoints_need_a_viewer_token() {
    for db in engines() {
        let node = enroll(&db, "ctl-1", false);
        let viewer = enroll(&db, "secteam", true);
        let c = Collector::start(&db, &[]);
        for path in [
            "/api/v1/nodes",
            "/api/v1/nodes/ctl-1/reports",
            "/api/v1/findings",
            "/",
        ] {
            assert_eq!(get(&c.base, path, None).0, 401, "{path}");
            assert_eq!(
                get(&c.base, path, Some(&node)).0,
                403,
                "{path} with a node token"
            );
            assert_eq!(get(&c.base, path, Some(&viewer)).0, 200, "{path}");
        }
        assert_eq!(get(&c.base, "/healthz", None).0, 200);
        assert_eq!(get(&c.base, "/metrics", None).0, 200);
        assert_eq!(
            get(&c.base, "/api/v1/nodes/nope/reports", Some(&viewer)).0,
            404
        );
        assert_eq!(
            get(&c.base, "/api/v1/findings?status=bogus", Some(&viewer)).0,
            400
        );
        assert_eq!(
            get(&c.base, "/api/v1/findings?colour=red", Some(&viewer)).0,
            400
        );
    }
}

#[test]
fn fleet_views_follow_the_latest_report() {
    for db in engines() {
        let viewer = enroll(&db, "secteam", true);
        let a = enroll(&db, "ctl-a", false);
        let _b = enroll(&db, "ctl-b", false);
        let c = Collector::start(&db, &["--stale-after", "1h"]);
        // Delivered out of order (a spool drain): the newer audit stays latest.
        let (new_id, new_body) = report(5);
        let (_old_id, old_body) = report(200);
        assert_eq!(post(&c.base, Some(&a), &new_body).0, 201);
        assert_eq!(post(&c.base, Some(&a), &old_body).0, 201);
        let nodes = get_json(&c.base, "/api/v1/nodes", &viewer);
        let list = nodes["nodes"].as_array().unwrap();
        assert_eq!(list.len(), 2, "{nodes}");
        assert_eq!(list[0]["node"], "ctl-a");
        assert_eq!(list[0]["state"], "fresh");
        assert_eq!(list[0]["run_id"], new_id.as_str());
        assert_eq!(list[1]["node"], "ctl-b");
        assert_eq!(list[1]["state"], "never");
        // The demo root fails some checks; they show as failing.
        let failing: Vec<&str> = list[0]["failing_checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(failing.contains(&"BAR-001"), "{failing:?}");
        let f = get_json(
            &c.base,
            "/api/v1/findings?status=fail&check=BAR-001",
            &viewer,
        );
        let rows = f["findings"].as_array().unwrap();
        assert!(!rows.is_empty());
        assert!(rows
            .iter()
            .all(|r| r["check_id"] == "BAR-001" && r["status"] == "fail"));
        assert!(rows.iter().all(|r| r["run_id"] == new_id.as_str()));
        let f = get_json(
            &c.base,
            "/api/v1/findings?status=pass&severity=critical",
            &viewer,
        );
        assert!(f["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "pass" && r["severity"] == "critical"));
        // Only the old report for ctl-b: stale.
        let bt = enroll(&db, "ctl-c", false);
        assert_eq!(post(&c.base, Some(&bt), &report(120).1).0, 201);
        let nodes = get_json(&c.base, "/api/v1/nodes", &viewer);
        let cnode = nodes["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["node"] == "ctl-c")
            .unwrap()
            .clone();
        assert_eq!(cnode["state"], "stale");
        assert_eq!(cnode["stale"], true);
        let (_, metrics) = get(&c.base, "/metrics", None);
        assert!(
            metrics.contains("barbican_audit_collector_nodes{state=\"stale\"} 1"),
            "{metrics}"
        );
        assert!(metrics.contains("barbican_audit_collector_nodes{state=\"never\"} 1"));
        assert!(metrics
            .contains("barbican_audit_collector_reports_received_total{result=\"created\"} 3"));
        assert!(
            metrics.contains("barbican_audit_collector_check_failing_nodes{check=\"BAR-001\"} 2")
        );
    }
}

#[test]
fn metrics_pass_promtool() {
    let db = Db::sqlite();
    let node = enroll(&db, "ctl-1.example.org", false);
    let c = Collector::start(&db, &[]);
    assert_eq!(post(&c.base, Some(&node), &report(1).1).0, 201);
    let (_, text) = get(&c.base, "/metrics", None);
    promtool::assert_clean(&text);
}

#[test]
fn dashboard_escapes_hostile_strings() {
    for db in engines() {
        let node = enroll(&db, "ctl-1", false);
        let viewer = enroll(&db, "secteam", true);
        let c = Collector::start(&db, &[]);
        let (_, body) = report(1);
        let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let hostile = "<script>alert(\"pwned\")</script><img src=x onerror=alert(1)>";
        let f = v["findings"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|f| f["status"] == "fail")
            .unwrap();
        f["subject"] = format!("/etc/barbican/{hostile}").into();
        f["message"] = hostile.into();
        v["host"]["hostname"] = hostile.into();
        assert_eq!(
            post(&c.base, Some(&node), &serde_json::to_vec(&v).unwrap()).0,
            201
        );
        let (code, html) = get(&c.base, "/", Some(&viewer));
        assert_eq!(code, 200);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;"));
        // Browsers: Basic auth with the viewer token as password works too.
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("x:{viewer}"));
        let resp = ureq::get(&format!("{}/", c.base))
            .set("Authorization", &format!("Basic {basic}"))
            .call()
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp
            .header("Content-Security-Policy")
            .unwrap()
            .contains("default-src 'none'"));
    }
}

#[test]
fn slow_clients_do_not_block_others() {
    let db = Db::sqlite();
    let node = enroll(&db, "ctl-1", false);
    let c = Collector::start(&db, &["--header-timeout", "1s", "--body-timeout", "1s"]);
    // 50 slowloris connections: half a request line each, then silence.
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut s = TcpStream::connect(&c.addr).unwrap();
        s.write_all(b"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        slow.push(s);
    }
    // One that sends headers but dribbles the body.
    let mut dribble = TcpStream::connect(&c.addr).unwrap();
    write!(
        dribble,
        "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {node}\r\nContent-Length: 1000\r\n\r\n{{"
    )
    .unwrap();
    let t = Instant::now();
    assert_eq!(post(&c.base, Some(&node), &report(1).1).0, 201);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "served while slow clients wait"
    );
    // The slow ones are cut off after the header timeout.
    std::thread::sleep(Duration::from_millis(2500));
    for s in &mut slow {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).unwrap_or(0);
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(n == 0 || text.starts_with("HTTP/1.1 408"), "{text}");
    }
    dribble
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = String::new();
    let _ = dribble.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(count_reports(&db), 1);
}

#[test]
fn kill_9_during_a_burst_loses_no_acknowledged_report() {
    for db in engines() {
        let viewer = enroll(&db, "secteam", true);
        let tokens: Vec<String> = (0..8)
            .map(|i| enroll(&db, &format!("n{i}"), false))
            .collect();
        let mut c = Collector::start(&db, &[]);
        let base = c.base.clone();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut handles = Vec::new();
        for (i, t) in tokens.iter().enumerate() {
            let (base, t, stop) = (base.clone(), t.clone(), stop.clone());
            handles.push(std::thread::spawn(move || {
                let mut acked = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let (id, body) = report(i as i64);
                    match post(&base, Some(&t), &body).0 {
                        201 => acked.push(id),
                        0 => break, // collector gone
                        other => panic!("unexpected {other}"),
                    }
                }
                acked
            }));
        }
        std::thread::sleep(Duration::from_millis(1500));
        c.kill9();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let acked: Vec<String> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        assert!(
            acked.len() > 10,
            "{}: only {} acknowledged",
            db.engine,
            acked.len()
        );
        let c2 = Collector::start(&db, &[]);
        let mut stored = Vec::new();
        for i in 0..tokens.len() {
            stored.extend(stored_runs(&c2.base, &viewer, &format!("n{i}")));
        }
        for id in &acked {
            assert!(stored.contains(id), "{}: acknowledged {id} lost", db.engine);
        }
        // No partial report: every stored report has all its findings.
        let expected = real_report()["findings"].as_array().unwrap().len() as i64;
        let partial = db.sql(&format!(
            "SELECT count(*) FROM reports r WHERE (SELECT count(*) FROM findings f WHERE f.run_id = r.run_id) <> {expected}"
        ));
        assert_eq!(partial, "0", "{}: partial reports", db.engine);
        eprintln!(
            "{}: {} acknowledged, {} stored",
            db.engine,
            acked.len(),
            stored.len()
        );
    }
}

#[test]
fn https_and_mutual_tls() {
    let pki = Pki::new();
    let (ca_pem, cert_pem, key_pem) = (&pki.ca_pem, &pki.cert_pem, &pki.key_pem);

    let db = Db::sqlite();
    let node = enroll(&db, "ctl-1", false);
    let c = Collector::start(&db, &["--tls-cert", cert_pem, "--tls-key", key_pem]);
    // A client that trusts our CA gets through.
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut std::io::BufReader::new(
        std::fs::File::open(ca_pem).unwrap(),
    )) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots.clone())
        .with_no_client_auth();
    let agent = ureq::AgentBuilder::new()
        .tls_config(std::sync::Arc::new(tls))
        .build();
    let url = format!(
        "https://localhost:{}/api/v1/reports",
        c.addr.rsplit(':').next().unwrap()
    );
    let resp = agent
        .post(&url)
        .set("Authorization", &format!("Bearer {node}"))
        .send_bytes(&report(1).1)
        .unwrap();
    assert_eq!(resp.status(), 201);
    // One that does not trust it fails the handshake (system roots).
    assert!(ureq::get(&format!(
        "https://localhost:{}/healthz",
        c.addr.rsplit(':').next().unwrap()
    ))
    .call()
    .is_err());
    drop(c);

    // mTLS: without a client certificate, no connection.
    let c = Collector::start(
        &db,
        &[
            "--tls-cert",
            cert_pem,
            "--tls-key",
            key_pem,
            "--client-ca",
            ca_pem,
        ],
    );
    let port = c.addr.rsplit(':').next().unwrap().to_string();
    assert!(agent
        .get(&format!("https://localhost:{port}/healthz"))
        .call()
        .is_err());
    let (client_der, client_key) = pki.client("ctl-1");
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(
            vec![client_der.into()],
            rustls::pki_types::PrivateKeyDer::try_from(client_key).unwrap(),
        )
        .unwrap();
    let agent = ureq::AgentBuilder::new()
        .tls_config(std::sync::Arc::new(tls))
        .build();
    let resp = agent
        .get(&format!("https://localhost:{port}/healthz"))
        .call()
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[test]
fn refuses_plain_http_off_loopback_and_bad_settings() {
    let db = Db::sqlite();
    let out = std::process::Command::new(bin())
        .args(["collector", "--listen", "0.0.0.0:0", "--database", &db.url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback only"));
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("collector.toml");
    std::fs::write(&cfg, "listen = \"127.0.0.1:0\"\nstale_afterr = \"1h\"\n").unwrap();
    let out = std::process::Command::new(bin())
        .args(["collector", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("collector.toml") && err.contains("stale_afterr"),
        "{err}"
    );
    let out = std::process::Command::new(bin())
        .args([
            "collector",
            "--database",
            "mysql://x/y",
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn sigterm_stops_cleanly() {
    let db = Db::sqlite();
    let mut c = Collector::start(&db, &[]);
    assert_eq!(get(&c.base, "/healthz", None).0, 200);
    let st = c.terminate();
    assert!(st.success(), "{st:?}: {}", c.log());
}
