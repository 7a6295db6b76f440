//! The operator's two dashboards, each checked with the real thing:
//! the collector's pages over HTTP and in Debian's headless Chromium
//! (DOM assertions, screenshots in target/screenshots/), and the Grafana
//! dashboard's every PromQL expression against a real Prometheus scraping a
//! real node_exporter and the collector.
#![allow(clippy::unwrap_used, clippy::disallowed_macros)] // test; progress on stderr

#[path = "common/fleet.rs"]
mod fleet;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fleet::*;
use serde_json::Value;

/// What a node controls, at its worst: markup, attribute-closing quotes, a
/// bidi override, CRLF.
const HOSTILE: &str =
    "<script>alert(\"x\")</script>'\"><img src=x onerror=alert(1)>\u{202e}txt.exe\r\nX: y";

fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The real report with a new run ID and start, each failing finding
/// turned to `pass` when `compliant`, and `extra_fail` checks failing.
fn variant(minutes_ago: i64, compliant: bool, extra_fail: &[&str]) -> Vec<u8> {
    let (_, body) = report(minutes_ago);
    let mut v: Value = serde_json::from_slice(&body).unwrap();
    for f in v["findings"].as_array_mut().unwrap() {
        let id = f["check_id"].as_str().unwrap_or("").to_string();
        if compliant && f["status"] == "fail" {
            f["status"] = "pass".into();
        }
        if extra_fail.contains(&id.as_str()) {
            f["status"] = "fail".into();
            f["message"] = "failing in an older report".into();
        }
    }
    fix_summary(&mut v);
    serde_json::to_vec(&v).unwrap()
}

/// Recounts `summary` from the findings (the collector checks they agree).
fn fix_summary(v: &mut Value) {
    let mut by_check: std::collections::BTreeMap<String, String> = Default::default();
    // The collector's order: na < pass < waived < error < fail.
    let rank = |s: &str| match s {
        "fail" => 4,
        "error" => 3,
        "waived" => 2,
        "pass" => 1,
        _ => 0,
    };
    for f in v["findings"].as_array().unwrap() {
        let id = f["check_id"].as_str().unwrap().to_string();
        let st = f["status"].as_str().unwrap().to_string();
        let e = by_check.entry(id).or_insert_with(|| st.clone());
        if rank(&st) > rank(e) {
            *e = st;
        }
    }
    for k in ["pass", "fail", "error", "na", "waived"] {
        v["summary"][k] = by_check.values().filter(|s| s.as_str() == k).count().into();
    }
}

/// A collector holding a fleet: `n` reporting nodes (every tenth fully
/// compliant, every 25th stale, every third with an older report that
/// failed one more check), five enrolled nodes that never reported, and
/// `ctl-hostile`, whose hostname, subject and message are hostile.
struct Fleet {
    c: Collector,
    viewer: String,
    _db: Db,
}

fn build_fleet(db: Db, n: usize) -> Fleet {
    let viewer = enroll(&db, "secteam", true);
    let c = Collector::start(&db, &["--stale-after", "2h"]);
    let started = Instant::now();
    for i in 0..n {
        let name = format!("ctl-{i:03}");
        let token = enroll(&db, &name, false);
        let stale = i % 25 == 7;
        let ago = if stale { 300 } else { (i % 7) as i64 };
        if i % 3 == 0 {
            let older = variant(ago + 60, false, &["BAR-005"]);
            assert_eq!(post(&c.base, Some(&token), &older).0, 201);
        }
        let body = variant(ago, i % 10 == 0, &[]);
        let (code, said) = post(&c.base, Some(&token), &body);
        assert_eq!(code, 201, "{said}");
    }
    for i in 0..5 {
        enroll(&db, &format!("new-{i}"), false);
    }
    let token = enroll(&db, "ctl-hostile", false);
    let (_, body) = report(1);
    let mut v: Value = serde_json::from_slice(&body).unwrap();
    let f = v["findings"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["status"] == "fail")
        .unwrap();
    f["subject"] = format!("/etc/barbican/{HOSTILE}").into();
    f["message"] = HOSTILE.into();
    v["host"]["hostname"] = HOSTILE.into();
    let (code, said) = post(&c.base, Some(&token), &serde_json::to_vec(&v).unwrap());
    assert_eq!(code, 201, "{said}");
    eprintln!(
        "fleet of {} nodes ingested in {:?}",
        n + 6,
        started.elapsed()
    );
    Fleet { c, viewer, _db: db }
}

fn get_with(base: &str, path: &str, token: &str, accept: &str) -> (u16, String, String) {
    let r = ureq::get(&format!("{base}{path}"))
        .set("Authorization", &format!("Bearer {token}"))
        .set("Accept", accept)
        .call();
    match r {
        Ok(r) => {
            let ct = r.header("Content-Type").unwrap_or("").to_string();
            (r.status(), ct, r.into_string().unwrap())
        }
        Err(ureq::Error::Status(code, r)) => (code, String::new(), r.into_string().unwrap()),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn pages_answer_html_json_and_csv() {
    for db in engines() {
        let f = build_fleet(db, 12);
        let (b, v) = (&f.c.base, &f.viewer);
        // Fleet page as JSON, by Accept and by suffix: the same value.
        let (code, ct, by_accept) = get_with(b, "/", v, "application/json");
        assert_eq!((code, ct.as_str()), (200, "application/json"));
        let (_, _, by_suffix) = get_with(b, "/fleet.json", v, "*/*");
        let j: Value = serde_json::from_str(&by_accept).unwrap();
        let k: Value = serde_json::from_str(&by_suffix).unwrap();
        assert_eq!(j["total_nodes"], k["total_nodes"]);
        assert_eq!(j["total_nodes"], 12 + 6, "{j}");
        let first: Vec<&str> = j["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .take(5)
            .map(|n| n["state"].as_str().unwrap())
            .collect();
        assert_eq!(first, ["never"; 5], "never-reporting nodes come first");
        // CSV of the fleet and of the findings.
        let (code, ct, csv) = get_with(b, "/fleet.csv", v, "*/*");
        assert_eq!((code, ct.as_str()), (200, "text/csv; charset=utf-8"));
        assert!(csv.starts_with("\"node\",\"state\""));
        assert_eq!(csv.matches("\r\n\"ctl-").count(), 13, "{csv}");
        let (code, _, csv) = get_with(b, "/findings.csv?status=fail&node=ctl-hostile", v, "*/*");
        assert_eq!(code, 200);
        assert!(
            csv.contains("\"'=") || !csv.contains("\"="),
            "formulas defused"
        );
        assert!(csv.contains("<script>alert(\"\"x\"\")"), "{csv}");
        // Findings list, paginated.
        let (_, _, page) = get_with(b, "/findings.json?status=fail&per_page=5&page=2", v, "*/*");
        let p: Value = serde_json::from_str(&page).unwrap();
        assert_eq!(p["findings"].as_array().unwrap().len(), 5);
        assert_eq!(p["pager"]["page"], 2);
        assert!(p["pager"]["total"].as_u64().unwrap() > 10);
        // Its "next" link carries a cursor and gives what page 3 gives.
        let next = p["pager"]["next"].as_str().unwrap();
        assert!(next.contains("&after="), "{next}");
        let by_cursor = get_with(
            b,
            &next.replacen("/findings", "/findings.json", 1),
            v,
            "*/*",
        );
        let by_number = get_with(b, "/findings.json?status=fail&per_page=5&page=3", v, "*/*");
        assert_eq!(by_cursor.0, 200, "{}", by_cursor.2);
        let rows = |s: &str| serde_json::from_str::<Value>(s).unwrap()["findings"].clone();
        assert_eq!(rows(&by_cursor.2), rows(&by_number.2));
        // Layout and target filters: every layout's nodes add up to the
        // fleet; a hostile target is data (escaped, echoed only as such).
        let all: Value = serde_json::from_str(&get_with(b, "/fleet.json", v, "*/*").2).unwrap();
        let mut reporting = 0;
        for l in all["layout_names"].as_array().unwrap() {
            let l = l.as_str().unwrap();
            let (code, _, page) = get_with(b, &format!("/fleet.json?layout={l}"), v, "*/*");
            assert_eq!(code, 200, "{page}");
            reporting += serde_json::from_str::<Value>(&page).unwrap()["reporting"]
                .as_u64()
                .unwrap();
        }
        assert_eq!(reporting, all["reporting"].as_u64().unwrap());
        let hostile = "%3Cscript%3Ex%3C%2Fscript%3E%22%27%26";
        let (code, _, html) = get_with(b, &format!("/?target={hostile}"), v, "text/html");
        assert_eq!(code, 200);
        assert!(!html.contains("<script>x"), "{html}");
        assert!(
            html.contains("value=\"&lt;script&gt;x&lt;/script&gt;&quot;&#39;&amp;\""),
            "{html}"
        );
        let j: Value = serde_json::from_str(
            &get_with(b, &format!("/fleet.json?target={hostile}"), v, "*/*").2,
        )
        .unwrap();
        assert_eq!(j["filters"]["target"], "<script>x</script>\"'&");
        assert_eq!(j["total_nodes"], 0, "no node has that target");
        let (code, _, csv) = get_with(b, &format!("/findings.csv?target={hostile}"), v, "*/*");
        assert_eq!((code, csv.matches("\r\n").count()), (200, 1), "{csv}");
        let (code, _, html) = get_with(b, &format!("/findings?target={hostile}"), v, "text/html");
        assert_eq!(code, 200);
        assert!(
            !html.contains("<script>x") && html.contains("&lt;script&gt;x"),
            "{html}"
        );
        assert_eq!(get_with(b, "/?layout=%3Cx%3E", v, "*/*").0, 400);
        assert_eq!(get_with(b, "/findings?after=nocursor", v, "*/*").0, 400);
        // Node and check pages.
        let (code, _, node) = get_with(b, "/nodes/ctl-000.json", v, "*/*");
        assert_eq!(code, 200, "{node}");
        let n: Value = serde_json::from_str(&node).unwrap();
        assert_eq!(n["history"].as_array().unwrap().len(), 2);
        assert!(n["diff"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["change"] == "fixed" && d["check_id"] == "BAR-005"));
        let (code, _, check) = get_with(b, "/checks/BAR-001", v, "application/json");
        assert_eq!(code, 200, "{check}");
        let c: Value = serde_json::from_str(&check).unwrap();
        assert!(c["explain"].as_str().unwrap().starts_with("BAR-001 ["));
        // Errors.
        assert_eq!(get_with(b, "/nodes/nope", v, "*/*").0, 404);
        assert_eq!(get_with(b, "/checks/NOPE-1", v, "*/*").0, 404);
        assert_eq!(get_with(b, "/?colour=red", v, "*/*").0, 400);
        assert_eq!(get_with(b, "/findings?per_page=0", v, "*/*").0, 400);
        assert_eq!(get(b, "/nodes/ctl-000", None).0, 401);
        // HTML keeps the strict CSP and escapes.
        let r = ureq::get(&format!("{b}/nodes/ctl-hostile"))
            .set("Authorization", &format!("Bearer {v}"))
            .call()
            .unwrap();
        assert_eq!(
            r.header("Content-Security-Policy"),
            Some("default-src 'none'; style-src 'unsafe-inline'")
        );
        let html = r.into_string().unwrap();
        assert!(
            !html.contains("<script") && !html.contains("<img"),
            "{html}"
        );
        assert!(html.contains("&lt;U+202E&gt;txt.exe&lt;U+000D&gt;"));
    }
}

/// A loopback proxy that adds the viewer's bearer token to each request
/// (Chromium has no flag for a header) and closes after one answer.
/// From row 500 on, a typed page number is located through the nodes'
/// tallies (the store's unit tests locate every page; here the server's
/// own threshold): the rows are those the next links reach.
#[test]
fn deep_typed_pages_give_the_rows_the_next_links_reach() {
    for db in engines() {
        let f = build_fleet(db, 16);
        let (b, v) = (&f.c.base, &f.viewer);
        let rows = |s: &str| serde_json::from_str::<Value>(s).unwrap()["findings"].clone();
        // From row 500 on, a typed page is located through the nodes'
        // tallies: the rows are those the next links reach.
        let (_, _, first) = get_with(b, "/findings.json?per_page=500", v, "*/*");
        let first: Value = serde_json::from_str(&first).unwrap();
        let total = first["pager"]["total"].as_u64().unwrap();
        assert!(
            total > 505,
            "enough findings to reach the located pages: {total}"
        );
        let next = first["pager"]["next"].as_str().unwrap();
        let (_, _, walked) = get_with(
            b,
            &next.replacen("/findings", "/findings.json", 1),
            v,
            "*/*",
        );
        let walked = rows(&walked);
        for k in [501, 502, total] {
            let (code, _, typed) =
                get_with(b, &format!("/findings.json?per_page=1&page={k}"), v, "*/*");
            assert_eq!(code, 200, "{typed}");
            assert_eq!(rows(&typed)[0], walked[(k - 501) as usize], "row {k}");
        }
        let past = get_with(
            b,
            &format!("/findings.json?per_page=1&page={}", total + 1),
            v,
            "*/*",
        );
        assert_eq!(
            rows(&past.2),
            serde_json::json!([]),
            "past the end: no rows"
        );
    }
}

fn auth_proxy(upstream: String, token: String) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut down) = conn else { continue };
            let (upstream, token) = (upstream.clone(), token.clone());
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if down.read(&mut byte).unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let text = String::from_utf8_lossy(&head).to_string();
                let mut lines: Vec<&str> = text
                    .split("\r\n")
                    .filter(|l| {
                        let l = l.to_ascii_lowercase();
                        !l.starts_with("connection:") && !l.starts_with("authorization:")
                    })
                    .collect();
                lines.retain(|l| !l.is_empty());
                let auth = format!("Authorization: Bearer {token}");
                lines.insert(1, &auth);
                lines.insert(2, "Connection: close");
                let req = format!("{}\r\n\r\n", lines.join("\r\n"));
                let Ok(mut up) = TcpStream::connect(&upstream) else {
                    return;
                };
                let _ = up.write_all(req.as_bytes());
                let mut answer = Vec::new();
                let _ = up.read_to_end(&mut answer);
                let _ = down.write_all(&answer);
            });
        }
    });
    format!("http://{addr}")
}

fn screenshots_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn chromium(profile: &Path, args: &[&str], url: &str) -> String {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium {args:?} {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn pages_in_a_real_browser() {
    if Command::new("chromium").arg("--version").output().is_err() {
        assert!(
            !in_ci(),
            "CI is set but chromium is missing: apt-get install chromium"
        );
        eprintln!("SKIPPED: chromium is not installed (apt-get install chromium); the pages were not tested in a browser");
        return;
    }
    let f = build_fleet(Db::sqlite(), 200);
    let base = auth_proxy(f.c.addr.clone(), f.viewer.clone());
    let profile = tempfile::tempdir().unwrap();
    let shots = screenshots_dir();
    let fleet: Value = get_json(&f.c.base, "/fleet.json", &f.viewer);
    let pages = [
        ("fleet", "/".to_string()),
        ("fleet-stale", "/?state=stale".to_string()),
        ("check", "/checks/BAR-001".to_string()),
        ("node", "/nodes/ctl-000".to_string()),
        ("node-hostile", "/nodes/ctl-hostile".to_string()),
        ("findings", "/findings?status=fail&page=2".to_string()),
        ("findings-hostile", "/findings?node=ctl-hostile".to_string()),
    ];
    for (name, path) in &pages {
        let url = format!("{base}{path}");
        let dom = chromium(profile.path(), &["--dump-dom"], &url);
        assert!(dom.contains("<nav class=\"top\">"), "{name}: {dom}");
        assert!(!dom.contains("<script"), "{name}: a script element");
        assert!(!dom.contains("<img"), "{name}: an img element");
        let shot = shots.join(format!("{name}.png"));
        chromium(
            profile.path(),
            &[
                &format!("--screenshot={}", shot.display()),
                "--window-size=1400,1800",
            ],
            &url,
        );
        let png = std::fs::read(&shot).unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "{name}: screenshot"
        );
        match *name {
            "fleet" => {
                let rows = dom.matches("<tr data-check=").count();
                assert_eq!(rows, fleet["checks"].as_array().unwrap().len());
                assert!(rows >= 10, "one row per catalog check");
                assert!(dom.contains(&format!("<p id=\"summary\">{} nodes:", 206)));
                // The failing counts the browser shows are the JSON's, and link to the check.
                for c in fleet["checks"].as_array().unwrap() {
                    let id = c["id"].as_str().unwrap();
                    let cell = format!(
                        "<a class=\"failing\" href=\"/checks/{id}\">{}</a>",
                        c["failing"]
                    );
                    assert!(dom.contains(&cell), "{cell}");
                }
                // Never-reporting nodes first, then stale; 50 per page, 5 pages.
                let first = dom.split("<tr data-node=\"").nth(1).unwrap();
                assert!(first.starts_with("new-0\""), "{first}");
                assert_eq!(dom.matches("<tr data-node=").count(), 50);
                let pager = dom.split("<p class=\"pager\"").nth(1).unwrap_or("");
                let pager = &pager[..pager.len().min(200)];
                assert!(
                    pager.contains("data-pages=\"5\" data-total=\"206\""),
                    "{pager}"
                );
                assert!(dom.contains("href=\"/?page=2\""));
                assert!(dom.contains("href=\"/nodes/ctl-000\""));
            }
            "fleet-stale" => {
                assert_eq!(
                    dom.matches("<tr data-node=").count(),
                    8,
                    "every 25th of 200"
                );
            }
            "check" => {
                assert!(dom.contains("<pre id=\"explain\">BAR-001 ["));
                assert!(dom.contains("<pre id=\"fix\">"));
            }
            "node" => {
                assert_eq!(dom.matches("<span class=\"s-").count(), 2, "history strip");
                assert!(dom.contains("<tr class=\"fixed\"><td>fixed</td>"), "diff");
            }
            "node-hostile" | "findings-hostile" => {
                assert!(dom.contains("&lt;script&gt;alert(\"x\")&lt;/script&gt;'\"&gt;&lt;img src=x onerror=alert(1)&gt;&lt;U+202E&gt;txt.exe&lt;U+000D&gt;"), "{name}: {dom}");
                assert!(!dom.contains('\u{202e}'));
            }
            "findings" => {
                assert_eq!(dom.matches("<td class=\"subject\">").count(), 50);
                assert!(dom.contains("rel=\"prev\" href=\"/findings?status=fail&amp;page=1\""));
            }
            _ => {}
        }
    }
    eprintln!("screenshots in {}", shots.display());
}

/// Every `expr` of the dashboard's panels, with Grafana's variables set to
/// "all".
fn panel_queries(dashboard: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in dashboard["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"]
                .as_str()
                .unwrap()
                .replace("$instance", ".+")
                .replace("$collector_job", ".+")
                .replace("$__rate_interval", "1m");
            out.push((p["title"].as_str().unwrap().to_string(), expr));
        }
    }
    out
}

fn prom_query(port: u16, expr: &str) -> Value {
    let r = ureq::get(&format!("http://127.0.0.1:{port}/api/v1/query"))
        .query("query", expr)
        .call();
    match r {
        Ok(r) => r.into_json().unwrap(),
        Err(ureq::Error::Status(_, r)) => r.into_json().unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

struct Kill(std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn grafana_dashboard_queries_return_data_from_a_real_prometheus() {
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(manifest_dir().join("packaging/grafana/barbican-audit.json"))
            .unwrap(),
    )
    .unwrap();
    let queries = panel_queries(&dashboard);
    assert!(queries.len() >= 10);
    for (title, _) in &queries {
        assert!(
            title.ends_with('?'),
            "panels are named after a question: {title}"
        );
    }
    if Command::new("prometheus")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(!in_ci(), "CI is set but prometheus is missing");
        eprintln!("SKIPPED: prometheus is not installed (apt-get install prometheus)");
        return;
    }
    // One node: a real audit, with the KEK scan (simple_crypto, a dummy
    // KEK), into node_exporter's textfile directory.
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc/barbican")).unwrap();
    std::fs::write(
        root.path().join("etc/barbican/barbican.conf"),
        "[DEFAULT]\n[secretstore]\nenabled_secretstore_plugins = store_crypto\n\
         [crypto]\nenabled_crypto_plugins = simple_crypto\n\
         [simple_crypto_plugin]\nkek = a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=\n",
    )
    .unwrap();
    let textfiles = tempfile::tempdir().unwrap();
    let prom = textfiles.path().join("barbican-audit.prom");
    let out = Command::new(bin())
        .args(["audit", "--scan", "--root"])
        .arg(root.path())
        .arg("--textfile")
        .arg(&prom)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&prom).unwrap_or_default();
    assert!(
        text.contains("barbican_audit_scan_bytes "),
        "{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ne_port = free_port();
    let _ne = Kill(
        Command::new("prometheus-node-exporter")
            .arg(format!("--web.listen-address=127.0.0.1:{ne_port}"))
            .args(["--collector.disable-defaults", "--collector.textfile"])
            .arg(format!(
                "--collector.textfile.directory={}",
                textfiles.path().display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus-node-exporter"),
    );
    // The fleet: a collector with a few nodes, one stale, one rejected upload.
    let f = build_fleet(Db::sqlite(), 26);
    assert_eq!(post(&f.c.base, Some("bat1_bogus"), b"{}").0, 401);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n\
             - job_name: node\n  static_configs:\n  - targets: ['127.0.0.1:{ne_port}']\n\
             - job_name: barbican-audit-collector\n  static_configs:\n  - targets: ['{}']\n",
            f.c.addr
        ),
    )
    .unwrap();
    let port = free_port();
    let _prom = Kill(
        Command::new("prometheus")
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus"),
    );
    // Both targets up, then a few more scrapes for the rate() windows.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let v = prom_query(port, "sum(up)");
        if v["data"]["result"][0]["value"][1] == "2" {
            break;
        }
        assert!(Instant::now() < deadline, "targets not up: {v}");
        std::thread::sleep(Duration::from_millis(250));
    }
    let mut missing = Vec::new();
    for (title, expr) in &queries {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let v = prom_query(port, expr);
            assert_eq!(v["status"], "success", "{title}: {expr}: {v}");
            let n = v["data"]["result"].as_array().map_or(0, Vec::len);
            if n > 0 {
                eprintln!("{n:4} series  {title}");
                break;
            }
            if Instant::now() > deadline {
                missing.push(format!("{title}: {expr}"));
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    assert!(missing.is_empty(), "panels without data: {missing:#?}");
    // The template variables find their values too.
    for var in dashboard["templating"]["list"].as_array().unwrap() {
        if let Some(q) = var["definition"].as_str() {
            let metric = q
                .trim_start_matches("label_values(")
                .split(',')
                .next()
                .unwrap();
            let v = prom_query(port, metric);
            assert!(!v["data"]["result"].as_array().unwrap().is_empty(), "{q}");
        }
    }
}
