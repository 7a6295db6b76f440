//! Load generator for the collector (issue #7's benchmark). Loopback only,
//! bounded in count and in time.
//!
//! ```text
//! cargo bench --bench collector_load -- [--db sqlite|postgres://user@host:port]
//!     [--nodes 10000] [--reports 60000] [--seconds 30] [--concurrency 32]
//!     [--malloc-arena-max 2|""] [--keep-db]
//! ```
//!
//! It enrols `--nodes` nodes (through the library, in one transaction),
//! starts the real collector binary as a child process, and posts
//! realistic reports (the demo root's real audit, one finding per check:
//! 13 checks, about 7.6 KB) from all nodes round-robin over keep-alive
//! connections until `--reports` are sent or `--seconds` pass. It prints
//! throughput, latency percentiles, the time of `GET /api/v1/nodes` over
//! all nodes, and the collector's peak RSS. On PostgreSQL it then starts a
//! second collector on the same database and runs the same load again
//! over both (each thread alternates between them): the 2-replica figure,
//! printed beside the single one.
//!
//! Without arguments (as `cargo test --all-targets` runs it) it is a smoke
//! test: 20 nodes, 200 reports, every answer must be 201.
#![allow(clippy::disallowed_macros, clippy::unwrap_used)] // a benchmark prints its results

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use barbican_audit_fleet::collector::store::{Role, Store};

struct Opts {
    db: String,
    nodes: usize,
    reports: u64,
    seconds: u64,
    concurrency: usize,
    arena_max: String,
    smoke: bool,
    /// Keep the database afterwards (to EXPLAIN the pages' queries on it).
    keep: bool,
}

fn opts() -> Opts {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let mut o = Opts {
        db: "sqlite".into(),
        nodes: 10_000,
        reports: 60_000,
        seconds: 30,
        concurrency: 32,
        arena_max: "2".into(),
        smoke: args.is_empty(),
        keep: false,
    };
    if o.smoke {
        o.nodes = 20;
        o.reports = 200;
        o.concurrency = 4;
    }
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--keep-db" {
            o.keep = true;
            continue;
        }
        let v = it.next().cloned().unwrap_or_default();
        match a.as_str() {
            "--db" => o.db = v,
            "--nodes" => o.nodes = v.parse().unwrap(),
            "--reports" => o.reports = v.parse().unwrap(),
            "--seconds" => o.seconds = v.parse().unwrap(),
            "--concurrency" => o.concurrency = v.parse().unwrap(),
            "--malloc-arena-max" => o.arena_max = v,
            other => panic!("unknown option {other}"),
        }
    }
    o
}

/// The real audit of the demo root, one finding per check, as a template.
fn template() -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_barbican-audit"))
        .args(["audit", "--format", "json", "--root"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/demo/root"))
        .output()
        .unwrap();
    let mut r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut seen = std::collections::HashSet::new();
    let findings: Vec<serde_json::Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| seen.insert(f["check_id"].as_str().unwrap().to_string()))
        .cloned()
        .collect();
    let mut summary = serde_json::json!({"pass": 0, "fail": 0, "error": 0, "na": 0, "waived": 0});
    for f in &findings {
        let s = f["status"].as_str().unwrap();
        summary[s] = (summary[s].as_u64().unwrap() + 1).into();
    }
    r["findings"] = findings.into();
    r["summary"] = summary;
    r
}

fn main() {
    let o = opts();
    let dir = tempfile::tempdir().unwrap();
    let (url, pg_cleanup) = if o.db == "sqlite" {
        (
            format!("sqlite://{}", dir.path().join("load.db").display()),
            None,
        )
    } else {
        let name = format!("bat_load_{}", uuid::Uuid::new_v4().simple());
        let server = o.db.trim_end_matches('/').to_string();
        psql(
            &format!("{server}/postgres"),
            &format!("CREATE DATABASE {name}"),
        );
        (format!("{server}/{name}"), Some((server, name)))
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = Instant::now();
    let names: Vec<String> = (0..o.nodes).map(|i| format!("node-{i:05}")).collect();
    let (tokens, viewer) = rt.block_on(async {
        let store = Store::open(&url).await.unwrap();
        let tokens = store.enroll_many(&names, Role::Node).await.unwrap();
        let viewer = store.enroll("bench-viewer", Role::Viewer).await.unwrap();
        (tokens, viewer)
    });
    let enroll_s = t.elapsed().as_secs_f64();

    let (mut child, pid, base) = start_collector(&url, &o.arena_max);

    let tmpl = template();
    let sample = serde_json::to_vec(&tmpl).unwrap().len();
    let tokens = Arc::new(tokens);
    let one = ingest(std::slice::from_ref(&base), &tokens, &tmpl, &o);

    let rss_after_ingest = peak_rss(pid);
    // GET /api/v1/nodes over every node, ten times.
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build();
    let mut node_times = Vec::new();
    let mut node_bytes = 0;
    for _ in 0..10 {
        let t = Instant::now();
        let resp = agent
            .get(&format!("{base}/api/v1/nodes"))
            .set("Authorization", &format!("Bearer {viewer}"))
            .call()
            .unwrap();
        let body = resp.into_string().unwrap();
        node_times.push(t.elapsed().as_secs_f64() * 1000.0);
        node_bytes = body.len();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["nodes"].as_array().unwrap().len(), o.nodes);
    }
    node_times.sort_by(|a, b| a.total_cmp(b));
    if o.db != "sqlite" {
        // The load was bulk-inserted seconds ago: PostgreSQL's planner still
        // has the statistics of empty tables (autovacuum analyzes within a
        // minute or so), which picks whole-table sorts for the lists.
        // Measure the pages as a collector serves them after that.
        psql(&url, "ANALYZE");
        println!("  (ANALYZE before the page timings, as autovacuum does after a bulk load)");
    }
    let page_times = page_times(&agent, &base, &viewer, &names[0]);
    let hwm = peak_rss(pid);
    // PostgreSQL: the same load again, spread over two collector processes
    // on the same database (replicas behind a load balancer), same run.
    let two = if o.db == "sqlite" {
        None
    } else {
        let (mut second, pid2, base2) = start_collector(&url, &o.arena_max);
        let phase = ingest(&[base.clone(), base2], &tokens, &tmpl, &o);
        terminate(&mut second, pid2);
        Some(phase)
    };
    terminate(&mut child, pid);
    if o.keep {
        println!("  database kept: {url}");
        let _ = dir.keep();
    } else if let Some((server, name)) = pg_cleanup {
        psql(
            &format!("{server}/postgres"),
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        );
    }
    let engine = if o.db == "sqlite" {
        "sqlite"
    } else {
        "postgres"
    };
    println!(
        "collector_load engine={engine} cores={} nodes={} enroll_s={enroll_s:.2} report_bytes={sample} concurrency={} MALLOC_ARENA_MAX={}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        o.nodes,
        o.concurrency,
        if o.arena_max.is_empty() { "unset" } else { &o.arena_max }
    );
    one.print("ingest");
    if let Some(two) = &two {
        two.print("ingest, 2 replicas");
    }
    println!(
        "  GET /api/v1/nodes ({} nodes, {node_bytes} bytes): median {:.1} ms, min {:.1} ms",
        o.nodes,
        node_times[node_times.len() / 2],
        node_times[0]
    );
    for (path, median, p95, bytes) in &page_times {
        println!("  GET {path} ({bytes} bytes): median {median:.1} ms, p95 {p95:.1} ms");
    }
    println!("  collector peak RSS: {rss_after_ingest} KiB after the ingest, {hwm} KiB at the end");
    if o.smoke {
        for phase in std::iter::once(&one).chain(two.as_ref()) {
            assert_eq!(phase.bad, 0, "every smoke report is 201");
            assert_eq!(phase.lat.len() as u64, o.reports);
        }
    }
}

/// Starts the collector binary on `url`; (child, pid, base URL).
fn start_collector(url: &str, arena_max: &str) -> (std::process::Child, u32, String) {
    // As systemd/barbican-audit-collector.service runs it: glibc's per-thread
    // arenas otherwise keep freed fleet views of every thread (140 MB).
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_barbican-audit"));
    if arena_max.is_empty() {
        cmd.env_remove("MALLOC_ARENA_MAX");
    } else {
        cmd.env("MALLOC_ARENA_MAX", arena_max);
    }
    let mut child = cmd
        .args(["collector", "--listen", "127.0.0.1:0", "--database", url])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let l = lines.next().expect("collector exited").unwrap();
        if let Some(a) = l.strip_prefix("listening on ") {
            break a.to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, pid, format!("http://{addr}"))
}

fn terminate(child: &mut std::process::Child, pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
}

/// One ingest run: latencies (ms) of the answered posts, wall time, non-201s.
struct Phase {
    lat: Vec<f64>,
    elapsed: f64,
    bad: u64,
}

impl Phase {
    fn print(&self, what: &str) {
        let lat = &self.lat;
        let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
        println!(
            "  {what}: {} reports in {:.2} s = {:.0} reports/s; latency ms p50={:.2} p90={:.2} p99={:.2} max={:.2}; non-201={}",
            lat.len(),
            self.elapsed,
            lat.len() as f64 / self.elapsed,
            pct(0.5),
            pct(0.9),
            pct(0.99),
            pct(1.0),
            self.bad
        );
    }
}

/// Posts new reports from all nodes round-robin over keep-alive
/// connections, each thread to the collectors of `bases` in turn, until
/// `--reports` are sent or `--seconds` pass.
fn ingest(
    bases: &[String],
    tokens: &Arc<Vec<String>>,
    tmpl: &serde_json::Value,
    o: &Opts,
) -> Phase {
    let sent = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(o.seconds);
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let bad = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..o.concurrency)
        .map(|_| {
            let (tokens, sent, latencies, bad, bases) = (
                tokens.clone(),
                sent.clone(),
                latencies.clone(),
                bad.clone(),
                bases.to_vec(),
            );
            let mut report = tmpl.clone();
            let reports = o.reports;
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(30))
                    .build();
                let mut mine = Vec::new();
                loop {
                    let n = sent.fetch_add(1, Ordering::Relaxed);
                    if n >= reports || Instant::now() >= deadline {
                        break;
                    }
                    let token = &tokens[(n as usize) % tokens.len()];
                    let base = &bases[(n as usize) % bases.len()];
                    report["run"]["id"] = uuid::Uuid::new_v4().to_string().into();
                    let body = serde_json::to_vec(&report).unwrap();
                    let t = Instant::now();
                    let r = agent
                        .post(&format!("{base}/api/v1/reports"))
                        .set("Authorization", &format!("Bearer {token}"))
                        .set("Content-Type", "application/json")
                        .send_bytes(&body);
                    mine.push(t.elapsed().as_secs_f64() * 1000.0);
                    if !matches!(&r, Ok(resp) if resp.status() == 201) {
                        bad.fetch_add(1, Ordering::Relaxed);
                    }
                }
                latencies.lock().unwrap().extend(mine);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort_by(|a, b| a.total_cmp(b));
    Phase {
        lat,
        elapsed,
        bad: bad.load(Ordering::Relaxed),
    }
}

/// Server time of each dashboard page (loopback, so nearly all of it is
/// the collector's): path, median and p95 ms over twenty requests, body bytes.
fn page_times(
    agent: &ureq::Agent,
    base: &str,
    viewer: &str,
    node: &str,
) -> Vec<(String, f64, f64, usize)> {
    // The "next" link of a deep page: the cursor a reader follows.
    let next = |path: &str| -> String {
        let resp = agent
            .get(&format!("{base}{path}"))
            .set("Authorization", &format!("Bearer {viewer}"))
            .set("Accept", "application/json")
            .call()
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&resp.into_string().unwrap()).unwrap();
        v["pager"]["next"].as_str().unwrap_or(path).to_string()
    };
    let paths = [
        "/".to_string(),
        "/?page=100".to_string(),
        "/?state=stale".to_string(),
        "/?layout=debian&status=fail".to_string(),
        "/?target=kolla:barbican_api".to_string(),
        "/fleet.json".to_string(),
        "/findings?status=fail".to_string(),
        "/findings?status=fail&page=500".to_string(),
        next("/findings?status=fail&page=499"),
        "/findings?status=fail&layout=debian&target=kolla:barbican_api".to_string(),
        "/checks/BAR-001".to_string(),
        "/checks/BAR-001?page=100".to_string(),
        next("/checks/BAR-001?page=99"),
        format!("/nodes/{node}"),
    ];
    paths
        .into_iter()
        .map(|path| {
            let mut times = Vec::new();
            let mut bytes = 0;
            for _ in 0..20 {
                let t = Instant::now();
                let resp = agent
                    .get(&format!("{base}{path}"))
                    .set("Authorization", &format!("Bearer {viewer}"))
                    .call()
                    .unwrap();
                bytes = resp.into_string().unwrap().len();
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(|a, b| a.total_cmp(b));
            let p95 = times[((times.len() - 1) as f64 * 0.95).round() as usize];
            (path, times[times.len() / 2], p95, bytes)
        })
        .collect()
}

/// VmHWM of a process, KiB.
fn peak_rss(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_string())
        .unwrap_or_default()
}

fn psql(url: &str, q: &str) {
    let st = Command::new("psql")
        .args([url, "-qAtc", q])
        .status()
        .unwrap();
    assert!(st.success(), "psql {q}");
}
