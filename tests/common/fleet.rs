//! Fleet test harness: real collector processes on loopback, real
//! databases (a SQLite file; PostgreSQL when `BARBICAN_AUDIT_TEST_PG` names
//! a server, e.g. `postgres://postgres@127.0.0.1:55432`), and realistic
//! reports from a real audit of the demo root.
#![allow(dead_code, clippy::unwrap_used, clippy::disallowed_macros)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_barbican-audit")
}

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A throwaway database.
pub struct Db {
    pub url: String,
    pub engine: &'static str,
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl Db {
    pub fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("collector.db").display());
        Db {
            url,
            engine: "sqlite",
            pg: None,
            _dir: Some(dir),
        }
    }

    /// A fresh database on the test PostgreSQL server. Unset variable:
    /// `None` on a workstation, a failure under CI (which must not skip it).
    pub fn postgres() -> Option<Db> {
        let Ok(server) = std::env::var("BARBICAN_AUDIT_TEST_PG") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but BARBICAN_AUDIT_TEST_PG is not: the PostgreSQL engine must be tested"
            );
            eprintln!("BARBICAN_AUDIT_TEST_PG unset: PostgreSQL engine not tested here");
            return None;
        };
        let server = server.trim_end_matches('/').to_string();
        let name = format!("bat_{}", uuid::Uuid::new_v4().simple());
        psql(&server, &format!("CREATE DATABASE {name}"));
        Some(Db {
            url: format!("{server}/{name}"),
            engine: "postgres",
            pg: Some((server, name)),
            _dir: None,
        })
    }

    /// Runs SQL against this database and returns psql's unaligned output.
    pub fn sql(&self, query: &str) -> String {
        match &self.pg {
            Some((server, name)) => psql_db(&format!("{server}/{name}"), query),
            None => {
                let path = self.url.trim_start_matches("sqlite://");
                let conn = rusqlite::Connection::open(path).unwrap();
                let mut stmt = conn.prepare(query).unwrap();
                let cols = stmt.column_count();
                let rows = stmt
                    .query_map([], |row| {
                        let mut v = Vec::new();
                        for i in 0..cols {
                            let x: rusqlite::types::Value = row.get(i)?;
                            v.push(match x {
                                rusqlite::types::Value::Null => String::new(),
                                rusqlite::types::Value::Integer(i) => i.to_string(),
                                rusqlite::types::Value::Real(f) => f.to_string(),
                                rusqlite::types::Value::Text(t) => t,
                                rusqlite::types::Value::Blob(_) => "<blob>".into(),
                            });
                        }
                        Ok(v.join("|"))
                    })
                    .unwrap();
                rows.map(|r| r.unwrap()).collect::<Vec<_>>().join("\n")
            }
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((server, name)) = &self.pg {
            let _ = Command::new("psql")
                .args([
                    &format!("{server}/postgres"),
                    "-qAtc",
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ])
                .output();
        }
    }
}

fn psql(server: &str, query: &str) -> String {
    psql_db(&format!("{server}/postgres"), query)
}

fn psql_db(url: &str, query: &str) -> String {
    let out = Command::new("psql")
        .args([url, "-qAtc", query])
        .output()
        .expect("psql (apt-get install postgresql-client)");
    assert!(
        out.status.success(),
        "psql {query}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Every engine available here: SQLite always, PostgreSQL when configured.
pub fn engines() -> Vec<Db> {
    let mut v = vec![Db::sqlite()];
    v.extend(Db::postgres());
    v
}

/// `collector enroll` through the binary; the token it printed.
pub fn enroll(db: &Db, name: &str, viewer: bool) -> String {
    let mut args = vec!["collector", "enroll", name, "--database", &db.url];
    if viewer {
        args.insert(2, "--viewer");
    }
    let out = Command::new(bin()).args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "enroll {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap();
    assert_eq!(token.lines().count(), 1, "the token alone on stdout");
    token.trim().to_string()
}

pub fn revoke(db: &Db, name: &str) {
    let out = Command::new(bin())
        .args(["collector", "revoke", name, "--database", &db.url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A collector child process.
pub struct Collector {
    child: Child,
    pub addr: String,
    pub base: String,
    pub stderr: Arc<Mutex<String>>,
}

impl Collector {
    pub fn start(db: &Db, extra: &[&str]) -> Collector {
        Self::start_at(db, "127.0.0.1:0", extra)
    }

    pub fn start_at(db: &Db, listen: &str, extra: &[&str]) -> Collector {
        Self::start_url(&db.url, listen, extra)
    }

    /// A collector on a database URL of its own (e.g. with TLS settings).
    pub fn start_url(url: &str, listen: &str, extra: &[&str]) -> Collector {
        let mut child = Command::new(bin())
            .args(["collector", "--listen", listen, "--database", url])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let log2 = log.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("listening on ") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(rest.split(' ').next().unwrap_or("").to_string());
                    }
                }
                log2.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!("collector did not start: {}", log.lock().unwrap());
            }
        };
        let https = extra.contains(&"--tls-cert");
        Collector {
            child,
            base: format!("{}://{addr}", if https { "https" } else { "http" }),
            addr,
            stderr: log,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait; the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }

    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real report: the demo root audited once by the binary.
pub fn real_report() -> &'static serde_json::Value {
    static R: OnceLock<serde_json::Value> = OnceLock::new();
    R.get_or_init(|| {
        let out = Command::new(bin())
            .args(["audit", "--format", "json", "--root"])
            .arg(manifest_dir().join("demo/root"))
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).expect("audit --format json")
    })
}

/// The real report with a new run ID and start time (`minutes_ago`).
pub fn report(minutes_ago: i64) -> (String, Vec<u8>) {
    let mut r = real_report().clone();
    let id = uuid::Uuid::new_v4().to_string();
    let t = time::OffsetDateTime::now_utc() - time::Duration::minutes(minutes_ago);
    r["run"]["id"] = id.clone().into();
    r["run"]["started_at"] = t
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
        .into();
    (id, serde_json::to_vec(&r).unwrap())
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
}

fn answer(r: Result<ureq::Response, ureq::Error>) -> (u16, String) {
    match r {
        Ok(resp) => (resp.status(), resp.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, resp)) => (code, resp.into_string().unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}

/// POST a report; (status, body). Status 0 = no HTTP answer.
pub fn post(base: &str, token: Option<&str>, body: &[u8]) -> (u16, String) {
    let mut req = agent()
        .post(&format!("{base}/api/v1/reports"))
        .set("Content-Type", "application/json");
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    answer(req.send_bytes(body))
}

/// GET a path with an optional bearer token; (status, body).
pub fn get(base: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut req = agent().get(&format!("{base}{path}"));
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    answer(req.call())
}

/// GET returning JSON (asserts 200).
pub fn get_json(base: &str, path: &str, token: &str) -> serde_json::Value {
    let (code, body) = get(base, path, Some(token));
    assert_eq!(code, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Run IDs stored for `node`.
pub fn stored_runs(base: &str, viewer: &str, node: &str) -> Vec<String> {
    let v = get_json(
        base,
        &format!("/api/v1/nodes/{node}/reports?limit=10000"),
        viewer,
    );
    v["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap().to_string())
        .collect()
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// A throwaway CA with a server certificate for `localhost`/127.0.0.1, as PEM files.
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
    ca_cert: rcgen::Certificate,
    ca_key: rcgen::KeyPair,
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap()
            .signed_by(&key, &ca_cert, &ca_key)
            .unwrap();
        let w = |name: &str, text: String| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            path_str(&p)
        };
        Pki {
            ca_pem: w("ca.pem", ca_cert.pem()),
            cert_pem: w("cert.pem", cert.pem()),
            key_pem: w("key.pem", key.serialize_pem()),
            dir,
            ca_cert,
            ca_key,
        }
    }

    /// A client certificate for `name` signed by the CA: (certificate DER, key DER).
    pub fn client(&self, name: &str) -> (Vec<u8>, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.into()])
            .unwrap()
            .signed_by(&key, &self.ca_cert, &self.ca_key)
            .unwrap();
        (cert.der().to_vec(), key.serialize_der())
    }
}
