//! Collectors run highly available (issue 18): two collector processes on
//! one PostgreSQL database, concurrent resends of the same reports to both,
//! a database restart mid-ingest, TLS to PostgreSQL, and gzip bodies.
//!
//! PostgreSQL comes from `BARBICAN_AUDIT_TEST_PG` (a superuser URL, as
//! .ci/run's throwaway cluster gives); the restart test also needs
//! `BARBICAN_AUDIT_TEST_PG_CTL`, a script taking `stop` or `start` for that
//! cluster. Without them these tests are skipped, except under `CI`.
#![allow(clippy::unwrap_used, clippy::disallowed_macros)] // helpers; progress on stderr

#[path = "common/fleet.rs"]
mod fleet;

use std::collections::HashSet;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use fleet::*;

/// Tests that restart or reconfigure the shared server take it exclusively.
static SERVER: RwLock<()> = RwLock::new(());

fn shared() -> std::sync::RwLockReadGuard<'static, ()> {
    SERVER.read().unwrap_or_else(PoisonError::into_inner)
}

fn exclusive() -> std::sync::RwLockWriteGuard<'static, ()> {
    SERVER.write().unwrap_or_else(PoisonError::into_inner)
}

fn count(db: &Db, table: &str) -> i64 {
    db.sql(&format!("SELECT count(*) FROM {table}"))
        .parse()
        .unwrap()
}

fn findings_per_report() -> i64 {
    real_report()["findings"].as_array().unwrap().len() as i64
}

/// POST with extra headers; (status, body), 0 when there was no answer.
fn post_with(base: &str, token: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let mut req = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
        .post(&format!("{base}/api/v1/reports"))
        .set("Content-Type", "application/json")
        .set("Authorization", &format!("Bearer {token}"));
    for (k, v) in headers {
        req = req.set(k, v);
    }
    match req.send_bytes(body) {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(c, r)) => (c, r.into_string().unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}

fn metric(base: &str, series: &str) -> f64 {
    let (_, text) = get(base, "/metrics", None);
    text.lines()
        .find_map(|l| l.strip_prefix(series).map(|v| v.trim().parse().unwrap()))
        .unwrap_or(0.0)
}

#[test]
fn two_replicas_store_each_report_once_under_concurrent_resends() {
    let Some(db) = Db::postgres() else { return };
    let _g = shared();
    let viewer = enroll(&db, "secteam", true);
    let tokens: Vec<String> = (0..4)
        .map(|i| enroll(&db, &format!("ctl-{i}"), false))
        .collect();
    let a = Collector::start(&db, &[]);
    let b = Collector::start(&db, &[]);
    let bases = [a.base.clone(), b.base.clone()];
    // 40 reports, 10 per node; 16 threads each send every one of them to
    // both replicas, starting at different places: 1,280 posts, 32 per report.
    const REPORTS: usize = 40;
    const THREADS: usize = 16;
    let reports: Arc<Vec<(usize, String, Vec<u8>)>> = Arc::new(
        (0..REPORTS)
            .map(|i| {
                let (id, body) = report(1 + i as i64);
                (i % tokens.len(), id, body)
            })
            .collect(),
    );
    let tokens = Arc::new(tokens);
    let start = Arc::new(Barrier::new(THREADS));
    let t0 = Instant::now();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (reports, tokens, start, bases) = (
                reports.clone(),
                tokens.clone(),
                start.clone(),
                bases.clone(),
            );
            std::thread::spawn(move || {
                start.wait();
                let mut codes = Vec::new();
                for k in 0..REPORTS {
                    let (node, id, body) = &reports[(k + t * 5) % REPORTS];
                    for side in [(t + k) % 2, (t + k + 1) % 2] {
                        let (code, msg) = post(&bases[side], Some(&tokens[*node]), body);
                        codes.push((code, id.clone(), msg));
                    }
                }
                codes
            })
        })
        .collect();
    let codes: Vec<(u16, String, String)> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let elapsed = t0.elapsed();
    let odd: Vec<_> = codes
        .iter()
        .filter(|(c, _, _)| *c != 200 && *c != 201)
        .collect();
    assert!(
        odd.is_empty(),
        "only 201 and 200 expected: {:?}\nA: {}\nB: {}",
        &odd[..odd.len().min(5)],
        a.log(),
        b.log()
    );
    let created: Vec<&String> = codes
        .iter()
        .filter(|(c, _, _)| *c == 201)
        .map(|(_, id, _)| id)
        .collect();
    assert_eq!(created.len(), REPORTS, "one 201 per report");
    assert_eq!(
        created.iter().collect::<HashSet<_>>().len(),
        REPORTS,
        "each report created exactly once"
    );
    // Rows: each report once, whole.
    assert_eq!(count(&db, "reports"), REPORTS as i64);
    assert_eq!(
        db.sql("SELECT count(DISTINCT run_id) FROM reports"),
        REPORTS.to_string()
    );
    assert_eq!(count(&db, "report_bodies"), REPORTS as i64);
    assert_eq!(
        count(&db, "findings"),
        REPORTS as i64 * findings_per_report()
    );
    // Both replicas serve the same view; their counters add up.
    for i in 0..4 {
        let node = format!("ctl-{i}");
        let mut via_a = stored_runs(&a.base, &viewer, &node);
        let mut via_b = stored_runs(&b.base, &viewer, &node);
        via_a.sort();
        via_b.sort();
        assert_eq!(via_a.len(), REPORTS / 4, "{node}");
        assert_eq!(via_a, via_b, "{node}");
    }
    let series =
        |r: &str| format!("barbican_audit_collector_reports_received_total{{result=\"{r}\"}}");
    let total_created = metric(&a.base, &series("created")) + metric(&b.base, &series("created"));
    let total_dup = metric(&a.base, &series("duplicate")) + metric(&b.base, &series("duplicate"));
    assert_eq!(total_created, REPORTS as f64);
    assert_eq!(total_dup, (THREADS * REPORTS * 2 - REPORTS) as f64);
    eprintln!(
        "2 replicas: {} posts of {REPORTS} reports from {THREADS} threads in {:.2} s: \
         {REPORTS} created, {} duplicates, 0 errors; {} rows in reports",
        codes.len(),
        elapsed.as_secs_f64(),
        total_dup,
        count(&db, "reports")
    );
}

/// `BARBICAN_AUDIT_TEST_PG_CTL`, the stop/start script of the test cluster.
fn pg_ctl() -> Option<PathBuf> {
    match std::env::var_os("BARBICAN_AUDIT_TEST_PG_CTL") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but BARBICAN_AUDIT_TEST_PG_CTL is not: the restart test must run"
            );
            eprintln!("BARBICAN_AUDIT_TEST_PG_CTL unset: PostgreSQL restart not tested here");
            None
        }
    }
}

fn ctl(script: &Path, what: &str) {
    let out = Command::new(script).arg(what).output().unwrap();
    assert!(
        out.status.success(),
        "{} {what}: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A node running the real agent (`--once`) against one collector.
struct Agent {
    dir: tempfile::TempDir,
}

impl Agent {
    fn new(token: &str) -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("token");
        std::fs::write(&t, format!("{token}\n")).unwrap();
        std::fs::set_permissions(&t, std::fs::Permissions::from_mode(0o600)).unwrap();
        Agent { dir }
    }

    fn spool(&self) -> PathBuf {
        self.dir.path().join("spool")
    }

    fn round(&self, base: &str) -> Output {
        // A drain that failed armed a backoff; this round must try at once.
        let state = self.spool().join("agent-state.json");
        if let Ok(text) = std::fs::read_to_string(&state) {
            let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
            v["next_attempt_at"] = 0.0.into();
            std::fs::write(&state, serde_json::to_vec(&v).unwrap()).unwrap();
        }
        let out = Command::new(bin())
            .args(["agent", "--once", "--retries", "0", "--collector", base])
            .arg("--token-file")
            .arg(self.dir.path().join("token"))
            .arg("--spool-dir")
            .arg(self.spool())
            .arg("--root")
            .arg(manifest_dir().join("demo/root"))
            .arg("--textfile")
            .arg(self.dir.path().join("agent.prom"))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Run IDs of the reports waiting in the spool.
    fn spooled(&self) -> Vec<String> {
        let mut ids = Vec::new();
        for e in std::fs::read_dir(self.spool()).into_iter().flatten() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.extension().is_some_and(|x| x == "json") && !name.starts_with("agent-state") {
                let v: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
                ids.push(v["run"]["id"].as_str().unwrap().to_string());
            }
        }
        ids
    }
}

#[test]
fn postgres_restart_mid_ingest_gives_503_spools_and_loses_nothing() {
    let Some(db) = Db::postgres() else { return };
    let Some(script) = pg_ctl() else { return };
    let _g = exclusive();
    let viewer = enroll(&db, "secteam", true);
    let tokens: Vec<String> = (0..4)
        .map(|i| enroll(&db, &format!("ctl-{i}"), false))
        .collect();
    let agent = Agent::new(&enroll(&db, "agent-1", false));
    let a = Collector::start(&db, &[]);
    let b = Collector::start(&db, &[]);
    let bases = [a.base.clone(), b.base.clone()];

    // Posters: each a node sending new reports to the replicas in turn; a 503
    // keeps the report for later (as an agent's spool does), 2xx is acked.
    let stop = Arc::new(AtomicBool::new(false));
    let unavailable = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(i, token)| {
            let (token, bases, stop, unavailable) = (
                token.clone(),
                bases.clone(),
                stop.clone(),
                unavailable.clone(),
            );
            std::thread::spawn(move || {
                let mut acked: Vec<String> = Vec::new();
                let mut pending: Vec<(String, Vec<u8>)> = Vec::new();
                let mut odd: Vec<String> = Vec::new();
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let (id, body) = report(1 + (n % 50) as i64);
                    n += 1;
                    match post(&bases[(i + n) % 2], Some(&token), &body) {
                        (200 | 201, _) => acked.push(id),
                        (503, _) => {
                            unavailable.fetch_add(1, Ordering::Relaxed);
                            pending.push((id, body));
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        (code, msg) => odd.push(format!("{code}: {msg}")),
                    }
                }
                // The database is back: what waited goes now, to either replica.
                let deadline = Instant::now() + Duration::from_secs(60);
                while let Some((id, body)) = pending.pop() {
                    loop {
                        match post(&bases[n % 2], Some(&token), &body) {
                            (200 | 201, _) => {
                                acked.push(id.clone());
                                break;
                            }
                            (503, _) if Instant::now() < deadline => {
                                n += 1;
                                std::thread::sleep(Duration::from_millis(200));
                            }
                            (code, msg) => {
                                odd.push(format!("resend {id}: {code}: {msg}"));
                                break;
                            }
                        }
                    }
                }
                (acked, odd)
            })
        })
        .collect();

    std::thread::sleep(Duration::from_millis(1500));
    let before = count(&db, "reports");
    assert!(before > 0, "ingest under way before the restart");
    ctl(&script, "stop");
    let down = Instant::now();
    std::thread::sleep(Duration::from_millis(1000));
    // An agent round while the database is down: the collector answers 503,
    // the report stays in the spool, the round still exits 0.
    let out = agent.round(&a.base);
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(said.contains("503"), "agent: {said}");
    let spooled = agent.spooled();
    assert_eq!(spooled.len(), 1, "agent: {said}");
    std::thread::sleep(Duration::from_millis(1000));
    ctl(&script, "start");
    let downtime = down.elapsed();
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    let mut odd = Vec::new();
    for h in handles {
        let (a, o) = h.join().unwrap();
        acked.extend(a);
        odd.extend(o);
    }
    assert!(
        odd.is_empty(),
        "only 2xx and 503: {odd:?}\nA: {}\nB: {}",
        a.log(),
        b.log()
    );
    let during = unavailable.load(Ordering::Relaxed);
    assert!(during > 0, "the restart was seen as 503s");
    assert!(
        a.log().contains("database error") || b.log().contains("database error"),
        "the replicas logged why"
    );

    // The agent's next round, to the other replica, drains its spool.
    agent.round(&b.base);
    assert!(agent.spooled().is_empty(), "spool drained");
    let agent_runs = stored_runs(&b.base, &viewer, "agent-1");
    assert_eq!(agent_runs.len(), 2, "{agent_runs:?}");
    assert!(agent_runs.contains(&spooled[0]));

    // Every acknowledged report stored, each exactly once, each whole.
    let stored: HashSet<String> = db
        .sql("SELECT run_id FROM reports")
        .lines()
        .map(str::to_string)
        .collect();
    let total = count(&db, "reports");
    assert_eq!(total as usize, stored.len(), "no run stored twice");
    for id in &acked {
        assert!(stored.contains(id), "acknowledged {id} lost");
    }
    assert_eq!(
        total as usize,
        acked.len() + agent_runs.len(),
        "nothing stored that was not acknowledged"
    );
    assert_eq!(count(&db, "findings"), total * findings_per_report());
    eprintln!(
        "restart: database down {:.1} s; {during} answers were 503; {} reports acknowledged \
         (resent after the restart included), {total} stored, each once",
        downtime.as_secs_f64(),
        acked.len()
    );
}

/// A test CA with a server certificate for `localhost` only.
struct DbPki {
    dir: tempfile::TempDir,
    ca: PathBuf,
    other_ca: PathBuf,
}

fn db_pki() -> DbPki {
    let dir = tempfile::tempdir().unwrap();
    // The server reads its certificate as the postgres user.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let other_key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    // Another name too: same-named CAs fail as BadSignature, not as unknown.
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "some other CA");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let other = params.self_signed(&other_key).unwrap();
    let w = |name: &str, text: String, mode: u32| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    };
    w("server.crt", cert.pem(), 0o644);
    let key_path = w("server.key", key.serialize_pem(), 0o600);
    // PostgreSQL refuses a key file not owned by its user (or root with 0640).
    let uid = Command::new("id")
        .args(["-u", "postgres"])
        .output()
        .unwrap();
    let uid: u32 = String::from_utf8_lossy(&uid.stdout).trim().parse().unwrap();
    std::os::unix::fs::chown(&key_path, Some(uid), None).unwrap();
    DbPki {
        ca: w("ca.pem", ca.pem(), 0o644),
        other_ca: w("other-ca.pem", other.pem(), 0o644),
        dir,
    }
}

/// Turns TLS on in the test server for as long as it lives (reload, no restart).
struct ServerTls<'a> {
    db: &'a Db,
}

impl<'a> ServerTls<'a> {
    fn on(db: &'a Db, pki: &DbPki) -> ServerTls<'a> {
        let d = pki.dir.path().display();
        db.sql(&format!(
            "ALTER SYSTEM SET ssl_cert_file = '{d}/server.crt'"
        ));
        db.sql(&format!("ALTER SYSTEM SET ssl_key_file = '{d}/server.key'"));
        db.sql("ALTER SYSTEM SET ssl = on");
        db.sql("SELECT pg_reload_conf()");
        let until = Instant::now() + Duration::from_secs(10);
        while db.sql("SHOW ssl") != "on" {
            assert!(Instant::now() < until, "the server did not turn TLS on");
            std::thread::sleep(Duration::from_millis(100));
        }
        ServerTls { db }
    }
}

impl Drop for ServerTls<'_> {
    fn drop(&mut self) {
        // Back as it was, so a later restart does not look for deleted files.
        for q in [
            "ALTER SYSTEM RESET ssl",
            "ALTER SYSTEM RESET ssl_cert_file",
            "ALTER SYSTEM RESET ssl_key_file",
            "SELECT pg_reload_conf()",
        ] {
            self.db.sql(q);
        }
    }
}

/// `collector enroll` against `url`; (exit code, stderr).
fn enroll_via(url: &str) -> (Option<i32>, String) {
    let out = Command::new(bin())
        .args(["collector", "enroll", "probe", "--database", url])
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn tls_to_postgres_verifies_the_server_and_fails_closed() {
    let Some(db) = Db::postgres() else { return };
    let _g = exclusive();
    let pki = db_pki();
    let _tls = ServerTls::on(&db, &pki);
    // The test server's URL with a password added (trust auth ignores it):
    // no message may show it.
    const SECRET: &str = "hunter2-not-logged";
    let (scheme, rest) = db.url.split_once("://").unwrap();
    let rest = rest.split_once('@').map_or(rest, |(_, r)| r);
    let with = |host: &str, query: &str| {
        format!(
            "{scheme}://postgres:{SECRET}@{}?{query}",
            rest.replacen("127.0.0.1", host, 1)
        )
    };
    let ca = pki.ca.display().to_string();
    let other = pki.other_ca.display().to_string();

    // verify-full with the right CA and the certificate's host name: in.
    let good = with(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    );
    let (code, err) = enroll_via(&good);
    assert!(!err.contains(SECRET), "password shown");
    assert_eq!(code, Some(0), "{err}");
    // A collector on it stores a report over TLS only.
    let out = Command::new(bin())
        .args(["collector", "enroll", "ctl-1", "--database", &good])
        .output()
        .unwrap();
    assert!(out.status.success());
    let node = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let c = Collector::start_url(&good, "127.0.0.1:0", &[]);
    assert_eq!(post(&c.base, Some(&node), &report(1).1).0, 201);
    let name = db.url.rsplit('/').next().unwrap();
    let plain = db.sql(&format!(
        "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE a.datname = '{name}' AND a.pid <> pg_backend_pid() AND NOT s.ssl"
    ));
    let tls = db.sql(&format!(
        "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE a.datname = '{name}' AND s.ssl"
    ));
    assert_eq!(plain, "0", "a collector connection without TLS");
    assert!(tls.parse::<i64>().unwrap() >= 1, "{tls}");
    assert!(!c.log().contains(SECRET));
    drop(c);

    // verify-ca: the chain is enough, whatever the host is called.
    let (code, err) = enroll_via(&with(
        "127.0.0.1",
        &format!("sslmode=verify-ca&sslrootcert={ca}"),
    ));
    assert_eq!(code, Some(0), "{err}");
    // require: encrypted without a check.
    let (code, err) = enroll_via(&with("127.0.0.1", "sslmode=require"));
    assert_eq!(code, Some(0), "{err}");

    // Fail closed, naming the URL without the password: a host the
    // certificate does not name, and a CA that did not sign it.
    // (The URLs hold the test password: messages name the case instead.)
    let cases = [
        (
            "wrong host",
            with(
                "127.0.0.1",
                &format!("sslmode=verify-full&sslrootcert={ca}"),
            ),
            "not valid for name",
        ),
        (
            "wrong CA",
            with(
                "localhost",
                &format!("sslmode=verify-full&sslrootcert={other}"),
            ),
            "UnknownIssuer",
        ),
        (
            "prefer",
            with("localhost", "sslmode=prefer"),
            "falls back to plain text",
        ),
    ];
    for (case, url, why) in cases {
        let (code, err) = enroll_via(&url);
        assert!(!err.contains(SECRET), "{case}: password shown");
        assert_eq!(code, Some(2), "{case}: {err}");
        assert!(err.contains(why), "{case}: {err}");
        // Named, without its userinfo (user and password).
        let host = if case == "wrong host" {
            "127.0.0.1"
        } else {
            "localhost"
        };
        assert!(
            err.contains(&format!("postgres://{host}:")),
            "URL not named: {err}"
        );
        assert!(!err.contains("postgres@"), "userinfo shown: {err}");
        eprintln!("{case}: {}", err.trim());
        // The collector refuses to start the same way.
        let out = Command::new(bin())
            .args(["collector", "--listen", "127.0.0.1:0", "--database", &url])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains(SECRET), "{case}: password shown");
        assert_eq!(out.status.code(), Some(2), "{case}: {err}");
        assert!(err.contains(why), "{case}: {err}");
    }
}

#[test]
fn gzip_bodies_are_read_bounded_and_other_encodings_refused() {
    let db = Db::sqlite();
    let node = enroll(&db, "ctl-1", false);
    let c = Collector::start(&db, &["--max-body-bytes", "65536"]);
    let gz = |data: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    };
    let (_, body) = report(1);
    let packed = gz(&body);
    assert!(packed.len() < body.len());
    let (code, msg) = post_with(&c.base, &node, &[("Content-Encoding", "gzip")], &packed);
    assert_eq!(code, 201, "{msg}");
    // What is stored is the report itself: sent plain, it is the same one.
    assert_eq!(post_with(&c.base, &node, &[], &body).0, 200);
    assert_eq!(
        post_with(&c.base, &node, &[("Content-Encoding", "x-gzip")], &packed).0,
        200
    );
    // A bomb: 8 KB of gzip that would be 50 MB stops at the limit.
    let bomb = gz(&vec![b' '; 50 << 20]);
    assert!(bomb.len() < 65536, "{}", bomb.len());
    let t = Instant::now();
    let (code, msg) = post_with(&c.base, &node, &[("Content-Encoding", "gzip")], &bomb);
    assert_eq!(code, 413, "{msg}");
    assert!(msg.contains("65536"), "names the limit: {msg}");
    assert!(t.elapsed() < Duration::from_secs(5));
    // Not gzip after all, or cut short: 400.
    let (code, _) = post_with(&c.base, &node, &[("Content-Encoding", "gzip")], &body);
    assert_eq!(code, 400);
    let (code, _) = post_with(
        &c.base,
        &node,
        &[("Content-Encoding", "gzip")],
        &packed[..packed.len() / 2],
    );
    assert_eq!(code, 400);
    // Encodings the collector does not read: 415, saying which it does.
    for enc in ["br", "deflate", "gzip, br", "zstd"] {
        let (code, msg) = post_with(&c.base, &node, &[("Content-Encoding", enc)], &packed);
        assert_eq!(code, 415, "{enc}: {msg}");
        assert!(msg.contains("gzip or identity"), "{msg}");
    }
    assert_eq!(
        post_with(&c.base, &node, &[("Content-Encoding", "identity")], &body).0,
        200
    );
    assert_eq!(count(&db, "reports"), 1);
}

/// Concurrency against one replica, as a baseline for the replica test:
/// the same report posted by many threads at once is created once.
#[test]
fn one_replica_same_report_many_threads() {
    let dbs = engines();
    for db in &dbs {
        let _g = shared();
        let node = enroll(db, "ctl-1", false);
        let c = Collector::start(db, &[]);
        let (_, body) = report(1);
        let body = Arc::new(body);
        let codes = Arc::new(Mutex::new(Vec::new()));
        let hs: Vec<_> = (0..12)
            .map(|_| {
                let (base, node, body, codes) =
                    (c.base.clone(), node.clone(), body.clone(), codes.clone());
                std::thread::spawn(move || {
                    let code = post(&base, Some(&node), &body).0;
                    codes.lock().unwrap().push(code);
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let codes = codes.lock().unwrap().clone();
        let created = codes.iter().filter(|c| **c == 201).count();
        let dup = codes.iter().filter(|c| **c == 200).count();
        assert_eq!((created, dup), (1, 11), "{}: {codes:?}", db.engine);
        assert_eq!(count(db, "reports"), 1, "{}", db.engine);
    }
}

/// Retention runs on its timer in the real collector, on both engines.
#[test]
fn retention_runs_on_its_timer() {
    for db in engines() {
        let _g = shared();
        let viewer = enroll(&db, "secteam", true);
        let node = enroll(&db, "ctl-1", false);
        let c = Collector::start(
            &db,
            &[
                "--retention-keep-reports",
                "1",
                "--retention-keep-days",
                "0",
                "--retention-interval",
                "1s",
            ],
        );
        let mut newest = String::new();
        for minutes_ago in [30, 20, 10] {
            let (id, body) = report(minutes_ago);
            assert_eq!(post(&c.base, Some(&node), &body).0, 201);
            newest = id;
        }
        let until = Instant::now() + Duration::from_secs(20);
        while stored_runs(&c.base, &viewer, "ctl-1").len() > 1 {
            assert!(Instant::now() < until, "{}: retention never ran", db.engine);
            std::thread::sleep(Duration::from_millis(200));
        }
        assert_eq!(stored_runs(&c.base, &viewer, "ctl-1"), vec![newest]);
        assert_eq!(count(&db, "findings"), findings_per_report());
        assert_eq!(count(&db, "report_bodies"), 1);
        // Logged, one line per pass that deleted something.
        let deleted: u64 = c
            .log()
            .lines()
            .filter_map(|l| l.strip_prefix("retention: deleted "))
            .map(|l| l.split(' ').next().unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(deleted, 2, "{}", c.log());
    }
}
