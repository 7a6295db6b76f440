//! `barbican-audit agent --once` through the real binary against the demo
//! root: the spool as delivery guarantee, the collector protocol against a
//! scripted HTTP server on loopback (the real collector is tested end to
//! end elsewhere), and the settings errors that must stop the agent.
#![allow(clippy::unwrap_used, clippy::disallowed_macros)]

#[path = "common/promtool.rs"]
mod promtool;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOKEN: &str = "node-token-0123456789abcdef";

/// One request as the scripted collector saw it.
#[derive(Debug, Clone)]
struct Seen {
    request_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A collector that answers the statuses in `script`, one request each,
/// then stops listening. Returns its base URL and what it saw.
fn scripted_collector(script: Vec<u16>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for status in script {
            let Ok((mut conn, _)) = listener.accept() else {
                return;
            };
            conn.set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let head_end = loop {
                if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break p;
                }
                let n = conn.read(&mut chunk).unwrap();
                assert!(n > 0, "connection closed before the headers ended");
                buf.extend_from_slice(&chunk[..n]);
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
            let mut lines = head.split("\r\n");
            let request_line = lines.next().unwrap().to_string();
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect();
            let len: usize = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.parse().unwrap())
                .unwrap_or(0);
            let mut body = buf[head_end + 4..].to_vec();
            while body.len() < len {
                let n = conn.read(&mut chunk).unwrap();
                assert!(n > 0, "connection closed inside the body");
                body.extend_from_slice(&chunk[..n]);
            }
            log.lock().unwrap().push(Seen {
                request_line,
                headers,
                body,
            });
            let text = format!("{{\"status\": {status}}}");
            let _ = write!(
                conn,
                "HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    (url, seen)
}

/// A node's files: token, spool, textfile, all in one temp dir.
struct Node {
    dir: tempfile::TempDir,
}

impl Node {
    fn new() -> Node {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
        Node { dir }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn spool(&self) -> PathBuf {
        self.path("spool")
    }
    fn textfile(&self) -> PathBuf {
        self.path("barbican-audit.prom")
    }
    /// `agent --once` against the demo root with this node's files.
    fn run(&self, collector: &str, extra: &[&str]) -> Output {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/root");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_barbican-audit"));
        cmd.arg("agent")
            .arg("--once")
            .arg("--root")
            .arg(root)
            .arg("--collector")
            .arg(collector)
            .arg("--token-file")
            .arg(self.path("token"))
            .arg("--spool-dir")
            .arg(self.spool())
            .arg("--textfile")
            .arg(self.textfile())
            .args(["--retries", "0"])
            .args(extra);
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains(TOKEN), "token printed: {stderr}");
        out
    }
    /// Spooled report names, oldest first.
    fn spooled(&self) -> Vec<String> {
        names(&self.spool())
    }
    fn metric(&self, name: &str) -> f64 {
        let text = std::fs::read_to_string(self.textfile()).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
            .parse()
            .unwrap()
    }
    /// Forgets the backoff the unreachable rounds armed.
    fn reset_backoff(&self) {
        let _ = std::fs::remove_file(self.spool().join("agent-state.json"));
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().unwrap().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json") && n != "agent-state.json")
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

fn run_id(spool_name: &str) -> String {
    let stem = spool_name.strip_suffix(".json").unwrap();
    stem.split_once('-').unwrap().1.to_string()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const DOWN: &str = "http://127.0.0.1:1";

#[test]
fn collector_down_report_spooled_exit_0() {
    let node = Node::new();
    let out = node.run(DOWN, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("unavailable"), "{}", stderr(&out));
    let first = node.spooled();
    assert_eq!(first.len(), 1);
    assert_eq!(node.metric("barbican_audit_spool_reports"), 1.0);
    assert_eq!(
        node.metric("barbican_audit_last_upload_success_timestamp_seconds"),
        0.0
    );
    assert!(node.metric("barbican_audit_spool_bytes") > 100.0);
    let text = std::fs::read_to_string(node.textfile()).unwrap();
    assert!(text.contains("barbican_audit_check_status{"), "{text}");
    promtool::assert_clean(&text);
    // The spooled file is the JSON report, whole, readable by root only.
    let path = node.spool().join(&first[0]);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["run"]["id"], run_id(&first[0]).as_str());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0);

    let out = node.run(DOWN, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let second = node.spooled();
    assert_eq!(second.len(), 2);
    assert_eq!(second[0], first[0], "the older report sorts first");
    assert_eq!(node.metric("barbican_audit_spool_reports"), 2.0);
    // No temp file survives a round.
    let all: Vec<_> = std::fs::read_dir(node.spool())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(all.iter().all(|n| !n.starts_with('.')), "{all:?}");
}

#[test]
fn full_spool_drops_the_oldest_and_counts_them() {
    let node = Node::new();
    // The bound comes from the config file; the flag would beat it.
    let config = node.path("agent.toml");
    std::fs::write(&config, "spool_max_files = 2\n").unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let out = node.run(DOWN, &["--config", config.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        seen.push(node.spooled().last().unwrap().clone());
    }
    assert_eq!(node.spooled(), seen[1..].to_vec(), "oldest dropped");
    assert_eq!(node.metric("barbican_audit_spool_dropped_reports"), 1.0);
    assert_eq!(node.metric("barbican_audit_spool_reports"), 2.0);
    // Flag over file.
    let out = node.run(
        DOWN,
        &[
            "--config",
            config.to_str().unwrap(),
            "--spool-max-files",
            "5",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(node.spooled().len(), 3);
    assert_eq!(node.metric("barbican_audit_spool_dropped_reports"), 1.0);
}

#[test]
fn spool_drains_oldest_first_and_each_answer_decides_the_file() {
    let node = Node::new();
    for _ in 0..3 {
        assert_eq!(node.run(DOWN, &[]).status.code(), Some(0));
    }
    let old = node.spooled();
    assert_eq!(old.len(), 3);
    let old_bytes: Vec<Vec<u8>> = old
        .iter()
        .map(|n| std::fs::read(node.spool().join(n)).unwrap())
        .collect();
    node.reset_backoff();

    // Three old reports and this round's: stored, rejected, duplicate, down.
    let (url, seen) = scripted_collector(vec![201, 422, 200, 503]);
    let out = node.run(&url, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("422"), "{err}");
    assert!(err.contains("unavailable"), "{err}");

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "{err}");
    let now = node.spooled();
    assert_eq!(now.len(), 1, "only the 503 report stays: {now:?}");
    assert!(now[0] > old[2], "and it is this round's");
    let newest = std::fs::read(node.spool().join(&now[0])).unwrap();
    let expected_ids: Vec<String> = old.iter().chain(&now).map(|n| run_id(n)).collect();
    let expected_bodies: Vec<&Vec<u8>> = old_bytes.iter().chain([&newest]).collect();
    for (i, req) in seen.iter().enumerate() {
        assert_eq!(req.request_line, "POST /api/v1/reports HTTP/1.1");
        assert_eq!(
            req.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(req.header("content-type"), Some("application/json"));
        assert_eq!(
            req.header("idempotency-key"),
            Some(expected_ids[i].as_str()),
            "request {i} out of order"
        );
        assert_eq!(&req.body, expected_bodies[i], "request {i} body");
    }
    assert_eq!(names(&node.spool().join("rejected")), vec![old[1].clone()]);
    assert_eq!(node.metric("barbican_audit_spool_reports"), 1.0);
    assert!(node.metric("barbican_audit_last_upload_success_timestamp_seconds") > 1.6e9);
    promtool::assert_clean(&std::fs::read_to_string(node.textfile()).unwrap());

    // A refused token: stop at the first file, keep everything, say why.
    node.reset_backoff();
    let (url, seen) = scripted_collector(vec![401, 201]);
    let out = node.run(&url, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("token"), "{}", stderr(&out));
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(node.spooled().len(), 2);

    // Backoff armed: the next round spools without sending.
    let (url, seen) = scripted_collector(vec![201]);
    let out = node.run(&url, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("backing off"), "{}", stderr(&out));
    assert!(seen.lock().unwrap().is_empty());
    assert_eq!(node.spooled().len(), 3);
}

#[test]
fn partial_or_corrupt_spool_files_are_never_sent() {
    let node = Node::new();
    std::fs::create_dir_all(node.spool()).unwrap();
    // What kill -9 can leave: a temp file mid-write...
    std::fs::write(
        node.spool().join(".barbican-audit.k1ll3d"),
        "{\"schema_version\": 1, \"run\": {\"id\": \"tmp\"",
    )
    .unwrap();
    // ...and what disk trouble or a hand edit can: a truncated report.
    let bad = "0000000000000001-bad.json";
    std::fs::write(
        node.spool().join(bad),
        "{\"schema_version\": 1, \"run\": {\"id\": \"bad\"",
    )
    .unwrap();
    let (url, seen) = scripted_collector(vec![201, 201, 201]);
    let out = node.run(&url, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("quarantined"), "{}", stderr(&out));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "only this round's report is sent");
    let v: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_ne!(seen[0].header("idempotency-key"), Some("bad"));
    assert!(node.spooled().is_empty());
    assert!(!node.spool().join(".barbican-audit.k1ll3d").exists());
    assert_eq!(names(&node.spool().join("rejected")), vec![bad.to_string()]);
}

#[test]
fn settings_errors_exit_2_and_say_what() {
    let node = Node::new();
    // Plain http to a host that is not loopback.
    let out = node.run("http://192.0.2.10:9747", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("loopback"), "{}", stderr(&out));
    assert!(
        !node.spool().exists(),
        "nothing spooled on a settings error"
    );

    // A token file others can read.
    std::fs::set_permissions(node.path("token"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = node.run(DOWN, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));
    std::fs::set_permissions(node.path("token"), std::fs::Permissions::from_mode(0o600)).unwrap();

    // A misspelt key.
    let config = node.path("agent.toml");
    std::fs::write(
        &config,
        "spool_dir = \"/tmp/x\"\ncolector = \"https://c:1\"\n",
    )
    .unwrap();
    let out = node.run(DOWN, &["--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("agent.toml") && err.contains("colector"),
        "{err}"
    );

    // A spool directory that cannot be created: exit 2, path in the message.
    let blocker = node.path("file");
    std::fs::write(&blocker, "").unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/root");
    let out = Command::new(env!("CARGO_BIN_EXE_barbican-audit"))
        .args(["agent", "--once", "--retries", "0", "--collector", DOWN])
        .arg("--root")
        .arg(&root)
        .arg("--token-file")
        .arg(node.path("token"))
        .arg("--spool-dir")
        .arg(blocker.join("spool"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("file/spool"), "{}", stderr(&out));
}

#[test]
fn without_a_collector_only_the_textfile_is_written() {
    let node = Node::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/root");
    let out = Command::new(env!("CARGO_BIN_EXE_barbican-audit"))
        .args(["agent", "--once"])
        .arg("--root")
        .arg(&root)
        .arg("--spool-dir")
        .arg(node.spool())
        .arg("--textfile")
        .arg(node.textfile())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!node.spool().exists());
    assert_eq!(node.metric("barbican_audit_spool_reports"), 0.0);
    promtool::assert_clean(&std::fs::read_to_string(node.textfile()).unwrap());
}
