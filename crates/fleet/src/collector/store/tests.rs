//! One suite, run against both engines: SQLite on a temporary file, and
//! PostgreSQL in a fresh database per test when `BARBICAN_AUDIT_TEST_PG`
//! names a server (skipped without it, but a failure under `CI`).
use std::sync::Arc;

use time::format_description::well_known::Rfc3339;

use super::{FindingQuery, IngestOutcome, Principal, Role, Store, StoreError};
use crate::collector::ingest::{decode, NewReport};

// ---------------------------------------------------------------- fixtures

/// `(check_id, severity, status, subject)`.
type F<'a> = (&'a str, &'a str, &'a str, &'a str);

fn rank(status: &str) -> u8 {
    match status {
        "na" => 0,
        "pass" => 1,
        "waived" => 2,
        "error" => 3,
        "fail" => 4,
        other => panic!("status {other}"),
    }
}

/// A valid schema_version 1 report, decoded as the server would.
fn report(run_id: &str, started_ms: i64, hostname: &str, findings: &[F<'_>]) -> NewReport {
    decode(
        report_json(run_id, started_ms, hostname, findings)
            .to_string()
            .as_bytes(),
    )
    .unwrap()
}

/// [`report`] from a host of `layout`, the findings of the subjects in
/// `targets` about that target.
fn report_in(
    run_id: &str,
    started_ms: i64,
    layout: &str,
    findings: &[F<'_>],
    targets: &[(&str, &str)],
) -> NewReport {
    let mut v = report_json(run_id, started_ms, "h", findings);
    v["host"]["layout"] = layout.into();
    for f in v["findings"].as_array_mut().unwrap() {
        if let Some((_, t)) = targets.iter().find(|(sub, _)| f["subject"] == *sub) {
            f["target"] = (*t).into();
        }
    }
    decode(v.to_string().as_bytes()).unwrap()
}

fn report_json(
    run_id: &str,
    started_ms: i64,
    hostname: &str,
    findings: &[F<'_>],
) -> serde_json::Value {
    let mut fs: Vec<F<'_>> = findings.to_vec();
    fs.sort_by(|a, b| (a.0, a.3).cmp(&(b.0, b.3)));
    // Summary counts checks by their worst status.
    let mut worst: Vec<(&str, &str)> = Vec::new();
    for f in &fs {
        match worst.last_mut() {
            Some(w) if w.0 == f.0 => {
                if rank(f.2) > rank(w.1) {
                    w.1 = f.2;
                }
            }
            _ => worst.push((f.0, f.2)),
        }
    }
    let count = |s: &str| worst.iter().filter(|w| w.1 == s).count();
    let started =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(started_ms) * 1_000_000)
            .unwrap()
            .format(&Rfc3339)
            .unwrap();
    let body = serde_json::json!({
        "schema_version": 1,
        "tool": {"name": "barbican-audit", "version": "0.1.0"},
        "host": {"hostname": hostname, "root": "/", "barbican_version": "19.0.0"},
        "run": {"id": run_id, "started_at": started, "duration_ms": 12},
        "catalog": {"sha256": "ab".repeat(32), "checks": 13},
        "summary": {
            "pass": count("pass"), "fail": count("fail"), "error": count("error"),
            "na": count("na"), "waived": count("waived"),
        },
        "findings": fs.iter().map(|f| serde_json::json!({
            "check_id": f.0,
            "title": format!("title of {}", f.0),
            "severity": f.1,
            "status": f.2,
            "references": [],
            "subject": f.3,
            "message": format!("{} is {}", f.3, f.2),
            "evidence": {},
            "remediation": "",
        })).collect::<Vec<_>>(),
    });
    body
}

fn uuid() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

const BASIC: &[F<'static>] = &[
    ("BAR-001", "high", "fail", "/etc/barbican/barbican.conf"),
    ("BAR-001", "high", "pass", "/etc/barbican/api-paste.ini"),
    ("BAR-002", "low", "pass", "kek"),
];

async fn sqlite_store(dir: &std::path::Path) -> Store {
    let url = format!("sqlite://{}", dir.join("collector.db").display());
    Store::open(&url).await.unwrap()
}

/// A throwaway PostgreSQL database, created through the server's
/// `postgres` maintenance database and dropped (forcibly) afterwards.
struct PgDb {
    admin: tokio_postgres::Client,
    name: String,
    url: String,
}

impl PgDb {
    #[allow(clippy::disallowed_macros)]
    async fn create() -> Option<PgDb> {
        let url = match std::env::var("BARBICAN_AUDIT_TEST_PG") {
            Ok(u) if !u.is_empty() => u,
            _ => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "CI is set but BARBICAN_AUDIT_TEST_PG is not: the PostgreSQL engine would go untested"
                );
                eprintln!("skipped: set BARBICAN_AUDIT_TEST_PG=postgres://... to test PostgreSQL");
                return None;
            }
        };
        let mut cfg: tokio_postgres::Config = url.parse().unwrap();
        cfg.dbname("postgres");
        let (admin, conn) = cfg.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        let name = format!("bat_test_{}", uuid::Uuid::new_v4().simple());
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        // Same server and user, other database: replace the URL's path.
        let (scheme, rest) = url.split_once("://").unwrap();
        let rest = rest.split('?').next().unwrap();
        let authority = rest.split('/').next().unwrap();
        let url = format!("{scheme}://{authority}/{name}");
        Some(PgDb { admin, name, url })
    }

    async fn drop_db(self) {
        self.admin
            .batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
            .await
            .unwrap();
    }
}

/// Runs each named case against SQLite and PostgreSQL.
macro_rules! on_both {
    ($($case:ident),* $(,)?) => { $(
        mod $case {
            use std::sync::Arc;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let dir = tempfile::tempdir().unwrap();
                let s = super::sqlite_store(dir.path()).await;
                super::$case(Arc::new(s)).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = super::PgDb::create().await else { return };
                let s = super::Store::open(&db.url).await.unwrap();
                super::$case(Arc::new(s)).await;
                db.drop_db().await;
            }
        }
    )* };
}

on_both!(
    tokens,
    ingest_outcomes,
    latest_follows_started_at,
    future_dated_report_does_not_stay_latest,
    nodes_listing,
    findings_filters,
    concurrent_ingest,
    retention_keeps_newest_and_recent,
    fleet_summary_and_filters,
    findings_pages_by_cursor,
    typed_pages_are_located,
);

// ------------------------------------------------------------------ cases

async fn tokens(s: Arc<Store>) {
    let t = s.enroll("node-a", Role::Node).await.unwrap();
    assert!(!t.is_empty());
    assert_eq!(
        s.authenticate(&t).await.unwrap(),
        Some(Principal {
            name: "node-a".into(),
            role: Role::Node
        })
    );
    // Wrong secret, same ID: found by ID, refused by the hash.
    let last = t.chars().last().unwrap();
    let wrong = format!(
        "{}{}",
        &t[..t.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    assert_eq!(s.authenticate(&wrong).await.unwrap(), None);
    assert_eq!(s.authenticate("bat1_nonsense").await.unwrap(), None);

    let v = s.enroll("viewer-1", Role::Viewer).await.unwrap();
    assert_eq!(
        s.authenticate(&v).await.unwrap().map(|p| p.role),
        Some(Role::Viewer)
    );

    // Names are unique across roles, and a refused call changes nothing.
    assert!(matches!(
        s.enroll("node-a", Role::Viewer).await,
        Err(StoreError::Name(_))
    ));
    assert!(matches!(
        s.enroll("viewer-1", Role::Node).await,
        Err(StoreError::Name(_))
    ));
    assert!(s.authenticate(&t).await.unwrap().is_some());
    assert!(s.authenticate(&v).await.unwrap().is_some());
    let batch = ["fresh-1".to_string(), "viewer-1".to_string()];
    assert!(matches!(
        s.enroll_many(&batch, Role::Node).await,
        Err(StoreError::Name(_))
    ));
    assert!(
        !s.nodes().await.unwrap().iter().any(|n| n.name == "fresh-1"),
        "a refused enroll_many must enrol nobody"
    );
    assert!(matches!(
        s.enroll_many(&["d".into(), "d".into()], Role::Node).await,
        Err(StoreError::Name(_))
    ));
    assert!(matches!(
        s.enroll("bad name", Role::Node).await,
        Err(StoreError::Name(_))
    ));

    // Rotation: the old token stops working.
    let t2 = s.enroll("node-a", Role::Node).await.unwrap();
    assert_ne!(t, t2);
    assert_eq!(s.authenticate(&t).await.unwrap(), None);
    assert!(s.authenticate(&t2).await.unwrap().is_some());

    // Revocation.
    assert!(s.revoke("node-a").await.unwrap());
    assert_eq!(s.authenticate(&t2).await.unwrap(), None);
    assert!(!s.revoke("nobody").await.unwrap());
    let nodes = s.nodes().await.unwrap();
    assert_eq!(nodes.len(), 1);
    assert!(nodes[0].revoked);
    assert!(s.revoke("viewer-1").await.unwrap());
    assert_eq!(s.authenticate(&v).await.unwrap(), None);

    // Re-enrolling a revoked name lifts the revocation.
    let t3 = s.enroll("node-a", Role::Node).await.unwrap();
    assert!(s.authenticate(&t3).await.unwrap().is_some());
    assert_eq!(s.authenticate(&t2).await.unwrap(), None);
    assert!(!s.nodes().await.unwrap()[0].revoked);

    // Bulk enrolment hands out working, distinct tokens in order.
    let names: Vec<String> = (0..50).map(|i| format!("bulk-{i:02}")).collect();
    let toks = s.enroll_many(&names, Role::Node).await.unwrap();
    assert_eq!(toks.len(), 50);
    for (n, t) in names.iter().zip(&toks) {
        assert_eq!(&s.authenticate(t).await.unwrap().unwrap().name, n);
    }
}

async fn ingest_outcomes(s: Arc<Store>) {
    s.enroll("n1", Role::Node).await.unwrap();
    s.enroll("n2", Role::Node).await.unwrap();
    let run = uuid();
    let r = report(&run, 1_700_000_000_000, "host-1", BASIC);
    let before = super::now_ms();
    assert_eq!(s.ingest("n1", &r).await.unwrap(), IngestOutcome::Created);
    assert_eq!(s.ingest("n1", &r).await.unwrap(), IngestOutcome::Duplicate);
    let other_body = report(&run, 1_700_000_000_000, "host-1-renamed", BASIC);
    assert_ne!(other_body.body_sha256, r.body_sha256);
    assert_eq!(
        s.ingest("n1", &other_body).await.unwrap(),
        IngestOutcome::Conflict
    );
    assert_eq!(s.ingest("n2", &r).await.unwrap(), IngestOutcome::Conflict);

    // Only the first body is stored, once, under n1.
    let rows = s.node_reports("n1", 10).await.unwrap().unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.run_id, run);
    assert_eq!(row.node, "n1");
    assert_eq!(row.hostname.as_deref(), Some("host-1"));
    assert_eq!(row.barbican_version.as_deref(), Some("19.0.0"));
    assert_eq!(row.tool_version, "0.1.0");
    assert_eq!(row.started_at_ms, 1_700_000_000_000);
    assert!(row.received_at_ms >= before && row.received_at_ms <= super::now_ms());
    assert_eq!(row.status, "fail");
    assert_eq!(row.summary, [1, 1, 0, 0, 0]);
    assert_eq!(row.failing, vec!["BAR-001".to_string()]);
    assert_eq!(s.node_reports("n2", 10).await.unwrap().unwrap(), vec![]);
    let f = s.findings(&FindingQuery::default()).await.unwrap();
    assert_eq!(f.len(), 3, "findings stored once: {f:?}");
}

async fn future_dated_report_does_not_stay_latest(s: Arc<Store>) {
    use super::MAX_CLOCK_AHEAD_MS as SKEW;
    const HOUR: i64 = 3_600_000;
    s.enroll("n1", Role::Node).await.unwrap();
    let pass = &[("BAR-001", "high", "pass", "x")][..];
    let latest = |nodes: Vec<super::NodeRow>| nodes[0].latest.clone().unwrap().run_id;
    let t0: i64 = 1_800_000_000_000;
    // A clock once wrong: dated ten years ahead.
    let (future, next, late, ahead) = (uuid(), uuid(), uuid(), uuid());
    let ten_years = 10 * 365 * 24 * HOUR;
    s.ingest_at("n1", &report(&future, t0 + ten_years, "h", BASIC), t0)
        .await
        .unwrap();
    assert_eq!(latest(s.nodes().await.unwrap()), future);
    // The clock fixed, the next hourly report is the latest: the future date counted as
    // arrival + the allowed skew.
    s.ingest_at("n1", &report(&next, t0 + HOUR, "h", pass), t0 + HOUR)
        .await
        .unwrap();
    assert_eq!(
        latest(s.nodes().await.unwrap()),
        next,
        "a report dated in the future stayed latest"
    );
    let f = s.findings(&FindingQuery::default()).await.unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].run_id, next);
    // Sane clocks still order by started_at: an older report arriving late does not win.
    s.ingest_at(
        "n1",
        &report(&late, t0 + HOUR / 2, "h", pass),
        t0 + 2 * HOUR,
    )
    .await
    .unwrap();
    assert_eq!(latest(s.nodes().await.unwrap()), next);
    // A clock a little ahead (within the skew) counts as it is.
    s.ingest_at(
        "n1",
        &report(&ahead, t0 + 3 * HOUR + SKEW / 2, "h", pass),
        t0 + 3 * HOUR,
    )
    .await
    .unwrap();
    let n = s.nodes().await.unwrap();
    assert_eq!(latest(n.clone()), ahead);
    assert_eq!(
        n[0].latest.as_ref().unwrap().started_at_ms,
        t0 + 3 * HOUR + SKEW / 2,
        "the stored start is the report's own"
    );
}

async fn latest_follows_started_at(s: Arc<Store>) {
    s.enroll("n1", Role::Node).await.unwrap();
    s.enroll("v", Role::Viewer).await.unwrap();
    let pass = &[("BAR-001", "high", "pass", "x")][..];
    let (a, b, c) = (uuid(), uuid(), uuid());
    // Arrival order B, A, C; started_at order A < B < C.
    s.ingest("n1", &report(&b, 2_000, "h", pass)).await.unwrap();
    s.ingest("n1", &report(&a, 1_000, "h", BASIC))
        .await
        .unwrap();
    let latest = |nodes: Vec<super::NodeRow>| nodes[0].latest.clone().unwrap().run_id;
    assert_eq!(
        latest(s.nodes().await.unwrap()),
        b,
        "an older report arriving late must not become latest"
    );
    // The fleet findings follow the latest report (B: one passing finding).
    let f = s.findings(&FindingQuery::default()).await.unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].run_id, b);
    assert_eq!(f[0].started_at_ms, 2_000);
    s.ingest("n1", &report(&c, 3_000, "h", pass)).await.unwrap();
    assert_eq!(latest(s.nodes().await.unwrap()), c);

    let runs: Vec<String> = s
        .node_reports("n1", 0)
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|r| r.run_id)
        .collect();
    assert_eq!(runs, vec![c.clone(), b.clone(), a.clone()]);
    let two = s.node_reports("n1", 2).await.unwrap().unwrap();
    assert_eq!(two.len(), 2);
    assert_eq!(two[0].run_id, c);
    assert_eq!(s.node_reports("ghost", 10).await.unwrap(), None);
    assert_eq!(
        s.node_reports("v", 10).await.unwrap(),
        None,
        "a viewer is not a node"
    );

    // Same started_at: the larger run ID wins, whatever the arrival order.
    s.enroll("n2", Role::Node).await.unwrap();
    let (lo, hi) = (
        "00000000-0000-4000-8000-000000000001",
        "00000000-0000-4000-8000-000000000002",
    );
    s.ingest("n2", &report(hi, 5_000, "h", pass)).await.unwrap();
    s.ingest("n2", &report(lo, 5_000, "h", pass)).await.unwrap();
    let n2 = s
        .nodes()
        .await
        .unwrap()
        .into_iter()
        .find(|n| n.name == "n2")
        .unwrap();
    assert_eq!(n2.latest.unwrap().run_id, hi);
}

async fn nodes_listing(s: Arc<Store>) {
    for n in ["b", "a", "c"] {
        s.enroll(n, Role::Node).await.unwrap();
    }
    s.enroll("viewer", Role::Viewer).await.unwrap();
    let run = uuid();
    s.ingest("b", &report(&run, 10_000, "bee", BASIC))
        .await
        .unwrap();
    // A node that is not enrolled can still be stored (the server checks
    // tokens first), but is not a fleet member.
    assert_eq!(
        s.ingest("ghost", &report(&uuid(), 10_000, "g", BASIC))
            .await
            .unwrap(),
        IngestOutcome::Created
    );
    let nodes = s.nodes().await.unwrap();
    let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert!(nodes[0].latest.is_none());
    assert!(nodes[2].latest.is_none());
    assert!(nodes.iter().all(|n| !n.revoked));
    assert!(nodes[0].enrolled_ms > 1_600_000_000_000);
    let b = nodes[1].latest.as_ref().unwrap();
    assert_eq!(b.run_id, run);
    assert_eq!(b.hostname.as_deref(), Some("bee"));
    assert_eq!(b.failing, vec!["BAR-001".to_string()]);
    // History of a revoked node stays.
    s.revoke("b").await.unwrap();
    let nodes = s.nodes().await.unwrap();
    assert!(nodes[1].revoked);
    assert_eq!(nodes[1].latest.as_ref().unwrap().run_id, run);
    assert_eq!(s.node_reports("b", 5).await.unwrap().unwrap().len(), 1);
}

async fn findings_filters(s: Arc<Store>) {
    for n in ["a", "b"] {
        s.enroll(n, Role::Node).await.unwrap();
    }
    // An older report of `a` whose findings must not show.
    let old = &[("BAR-009", "critical", "fail", "old")][..];
    s.ingest("a", &report(&uuid(), 1_000, "a", old))
        .await
        .unwrap();
    let ra = uuid();
    s.ingest("a", &report(&ra, 2_000, "a", BASIC))
        .await
        .unwrap();
    let rb = uuid();
    let b_findings = &[
        ("BAR-003", "medium", "error", "s"),
        ("BAR-001", "high", "pass", "/etc/barbican/barbican.conf"),
    ][..];
    s.ingest("b", &report(&rb, 1_500, "b", b_findings))
        .await
        .unwrap();

    let key = |q: FindingQuery| {
        let s = Arc::clone(&s);
        async move {
            s.findings(&q)
                .await
                .unwrap()
                .into_iter()
                .map(|f| (f.node, f.finding.check_id, f.finding.subject))
                .collect::<Vec<_>>()
        }
    };
    let k = |n: &str, c: &str, sub: &str| (n.to_string(), c.to_string(), sub.to_string());
    assert_eq!(
        key(FindingQuery::default()).await,
        vec![
            k("a", "BAR-001", "/etc/barbican/api-paste.ini"),
            k("a", "BAR-001", "/etc/barbican/barbican.conf"),
            k("a", "BAR-002", "kek"),
            k("b", "BAR-001", "/etc/barbican/barbican.conf"),
            k("b", "BAR-003", "s"),
        ]
    );
    let q = |check: Option<&str>,
             status: Option<&str>,
             severity: Option<&str>,
             node: Option<&str>,
             limit: u32| FindingQuery {
        check: check.map(String::from),
        status: status.map(String::from),
        severity: severity.map(String::from),
        node: node.map(String::from),
        limit,
        ..FindingQuery::default()
    };
    assert_eq!(key(q(Some("BAR-001"), None, None, None, 0)).await.len(), 3);
    assert_eq!(
        key(q(None, Some("fail"), None, None, 0)).await,
        vec![k("a", "BAR-001", "/etc/barbican/barbican.conf")]
    );
    assert_eq!(
        key(q(None, None, Some("medium"), None, 0)).await,
        vec![k("b", "BAR-003", "s")]
    );
    assert_eq!(key(q(None, None, None, Some("b"), 0)).await.len(), 2);
    assert_eq!(
        key(q(Some("BAR-001"), Some("pass"), Some("high"), Some("b"), 0)).await,
        vec![k("b", "BAR-001", "/etc/barbican/barbican.conf")]
    );
    assert!(key(q(Some("BAR-009"), None, None, None, 0))
        .await
        .is_empty());
    assert!(key(q(None, None, None, Some("nobody"), 0)).await.is_empty());
    assert_eq!(
        key(q(None, None, None, None, 2)).await,
        vec![
            k("a", "BAR-001", "/etc/barbican/api-paste.ini"),
            k("a", "BAR-001", "/etc/barbican/barbican.conf"),
        ]
    );
    // The whole row comes back.
    let full = s
        .findings(&q(None, Some("error"), None, None, 0))
        .await
        .unwrap();
    assert_eq!(full.len(), 1);
    assert_eq!(full[0].run_id, rb);
    assert_eq!(full[0].started_at_ms, 1_500);
    assert_eq!(full[0].finding.severity, "medium");
    assert_eq!(full[0].finding.title, "title of BAR-003");
    assert_eq!(full[0].finding.message, "s is error");
}

async fn concurrent_ingest(s: Arc<Store>) {
    let names: Vec<String> = (0..20).map(|i| format!("node-{i:02}")).collect();
    s.enroll_many(&names, Role::Node).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..200i64 {
        let s = Arc::clone(&s);
        let node = names[usize::try_from(i % 20).unwrap()].clone();
        tasks.push(tokio::spawn(async move {
            let r = report(&uuid(), 1_000 + i, &node, BASIC);
            s.ingest(&node, &r).await.unwrap()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), IngestOutcome::Created);
    }
    let mut total = 0;
    for n in &names {
        total += s.node_reports(n, 1000).await.unwrap().unwrap().len();
    }
    assert_eq!(total, 200);
    let nodes = s.nodes().await.unwrap();
    assert_eq!(nodes.len(), 20);
    // node-00 got i = 0, 20, ..., 180: the latest started at 1_180.
    assert_eq!(nodes[0].latest.as_ref().unwrap().started_at_ms, 1_180);
    assert!(nodes.iter().all(|n| n.latest.is_some()));
    assert_eq!(
        s.findings(&FindingQuery::default()).await.unwrap().len(),
        60
    );

    // The same report sent 10 times at once: one Created, the rest Duplicate.
    let r = Arc::new(report(&uuid(), 99_999, "h", BASIC));
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (s, r) = (Arc::clone(&s), Arc::clone(&r));
        tasks.push(tokio::spawn(async move {
            s.ingest("node-00", &r).await.unwrap()
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    let created = outcomes
        .iter()
        .filter(|o| **o == IngestOutcome::Created)
        .count();
    let dup = outcomes
        .iter()
        .filter(|o| **o == IngestOutcome::Duplicate)
        .count();
    assert_eq!((created, dup), (1, 9), "{outcomes:?}");
}

async fn retention_keeps_newest_and_recent(s: Arc<Store>) {
    use super::Retention;
    const DAY: i64 = 86_400_000;
    let now: i64 = 1_800_000_000_000;
    s.enroll_many(&["n-a".into(), "n-b".into(), "n-c".into()], Role::Node)
        .await
        .unwrap();
    // n-a: ten reports, the i-th started at i hours and received 20 - i days ago.
    let mut a = Vec::new();
    for i in 0..10i64 {
        let r = report(&uuid(), now - 30 * DAY + i * 3_600_000, "a", BASIC);
        let at = now - (20 - i) * DAY;
        assert_eq!(
            s.ingest_at("n-a", &r, at).await.unwrap(),
            IngestOutcome::Created
        );
        a.push(r);
    }
    // n-b: three reports, all 40 days old.
    for i in 0..3i64 {
        let r = report(&uuid(), now - 41 * DAY + i, "b", BASIC);
        s.ingest_at("n-b", &r, now - 40 * DAY).await.unwrap();
    }
    // n-c: its latest (by start) is not its newest by started_at: one report
    // dated a year ahead counts as received + 5 min, the other is later.
    let ahead = report(&uuid(), now + 365 * DAY, "c", BASIC);
    let last = report(&uuid(), now - 20 * DAY + 3_600_000, "c", BASIC);
    s.ingest_at("n-c", &ahead, now - 21 * DAY).await.unwrap();
    s.ingest_at("n-c", &last, now - 20 * DAY).await.unwrap();
    let count = |node: &'static str| {
        let s = Arc::clone(&s);
        async move { s.node_reports(node, 1000).await.unwrap().unwrap().len() }
    };
    let latest_of = |node: &'static str| {
        let s = Arc::clone(&s);
        async move {
            s.nodes()
                .await
                .unwrap()
                .into_iter()
                .find(|n| n.name == node)
                .unwrap()
                .latest
                .unwrap()
                .run_id
        }
    };
    assert_eq!(latest_of("n-c").await, last.run_id);

    // Off: nothing goes.
    let off = Retention {
        keep_reports: 0,
        keep_days: 0,
    };
    assert_eq!(s.prune(off, now, 2).await.unwrap(), 0);
    assert_eq!(count("n-a").await, 10);

    // Newest 3 per node plus 15 days: n-a loses i = 0..=4 (i = 5 came exactly
    // 15 days ago and stays), in batches of 2; n-b keeps its three.
    let policy = Retention {
        keep_reports: 3,
        keep_days: 15,
    };
    assert_eq!(s.prune_batch(policy, now, 2).await.unwrap(), 2);
    assert_eq!(s.prune(policy, now, 2).await.unwrap(), 3);
    assert_eq!(
        s.prune(policy, now, 2).await.unwrap(),
        0,
        "nothing left to do"
    );
    assert_eq!(count("n-a").await, 5);
    assert_eq!(count("n-b").await, 3);
    let kept: Vec<String> = s
        .node_reports("n-a", 100)
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|r| r.run_id)
        .collect();
    let want: Vec<String> = a[5..].iter().rev().map(|r| r.run_id.clone()).collect();
    assert_eq!(kept, want);
    // Gone with findings and body: storing it again is a plain Created
    // (a leftover finding or body row would collide with its key).
    assert_eq!(
        s.ingest_at("n-a", &a[0], now - 20 * DAY).await.unwrap(),
        IngestOutcome::Created
    );
    assert_eq!(count("n-a").await, 6);

    // Days only: everything older than a day goes, except each node's latest,
    // even where the latest is not the newest by started_at (n-c).
    let days = Retention {
        keep_reports: 0,
        keep_days: 1,
    };
    assert_eq!(s.prune(days, now, 500).await.unwrap(), 5 + 2 + 1);
    assert_eq!(count("n-a").await, 1);
    assert_eq!(count("n-b").await, 1);
    assert_eq!(count("n-c").await, 1);
    assert_eq!(latest_of("n-a").await, a[9].run_id);
    assert_eq!(latest_of("n-c").await, last.run_id);
    assert_eq!(
        s.node_reports("n-c", 10).await.unwrap().unwrap()[0].run_id,
        last.run_id
    );
    let f = s.findings(&FindingQuery::default()).await.unwrap();
    assert_eq!(f.len(), 9, "each node's latest keeps its findings");

    // Count only: with a fresh report, n-a keeps its newest one.
    let fresh = report(&uuid(), now, "a", BASIC);
    s.ingest_at("n-a", &fresh, now).await.unwrap();
    let newest = Retention {
        keep_reports: 1,
        keep_days: 0,
    };
    assert_eq!(s.prune(newest, now, 500).await.unwrap(), 1);
    assert_eq!(latest_of("n-a").await, fresh.run_id);
    assert_eq!(count("n-a").await, 1);
}

// ------------------------------------------------------ engine-specific

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reopen_and_migrate_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("collector.db");
    let url = format!("sqlite://{}", path.display());
    let s = Store::open(&url).await.unwrap();
    let t = s.enroll("n1", Role::Node).await.unwrap();
    let run = uuid();
    s.ingest("n1", &report(&run, 5_000, "h", BASIC))
        .await
        .unwrap();
    drop(s);
    // A second store on the same file (a CLI `enroll` next to a running
    // collector), then a fresh open after the first is gone.
    let s2 = Store::open(&url).await.unwrap();
    let s3 = Store::open(&url).await.unwrap();
    assert!(s2.authenticate(&t).await.unwrap().is_some());
    let t2 = s3.enroll("n2", Role::Node).await.unwrap();
    assert!(s2.authenticate(&t2).await.unwrap().is_some());
    assert_eq!(
        s2.node_reports("n1", 5).await.unwrap().unwrap()[0].run_id,
        run
    );
    assert_eq!(
        s2.findings(&FindingQuery::default()).await.unwrap().len(),
        3
    );
    drop((s2, s3));

    let c = rusqlite::Connection::open(&path).unwrap();
    let versions: i64 = c
        .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        versions,
        super::schema::latest(),
        "each migration is recorded once"
    );
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    // Only hashes are stored.
    let hashes: Vec<String> = c
        .prepare("SELECT token_hash FROM principals")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(hashes.len(), 2);
    for h in &hashes {
        assert_eq!(h.len(), 64);
        assert!(!t.contains(h.as_str()) && !t2.contains(h.as_str()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test]
async fn sqlite_missing_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/nope/collector.db", dir.path().display());
    let err = Store::open(&url).await.err().unwrap().to_string();
    assert!(err.contains("does not exist"), "{err}");
    assert!(!dir.path().join("nope").exists());
    assert!(matches!(
        Store::open("sqlite://").await,
        Err(StoreError::Url(_))
    ));
    assert!(matches!(
        Store::open("mysql://x").await,
        Err(StoreError::Url(_))
    ));
}

#[tokio::test]
async fn sqlite_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("collector.db");
    drop(
        Store::open(&format!("sqlite://{}", path.display()))
            .await
            .unwrap(),
    );
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute("INSERT INTO schema_migrations VALUES (999, 0)", [])
        .unwrap();
    drop(c);
    let err = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("999"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_open_migrates_once() {
    let Some(db) = PgDb::create().await else {
        return;
    };
    // Two collectors starting at once: the advisory lock serialises them.
    let (a, b) = tokio::join!(Store::open(&db.url), Store::open(&db.url));
    let (a, b) = (a.unwrap(), b.unwrap());
    let t = a.enroll("n1", Role::Node).await.unwrap();
    let run = uuid();
    a.ingest("n1", &report(&run, 5_000, "h", BASIC))
        .await
        .unwrap();
    assert!(b.authenticate(&t).await.unwrap().is_some());
    drop((a, b));
    let c = Store::open(&db.url).await.unwrap();
    assert_eq!(
        c.node_reports("n1", 5).await.unwrap().unwrap()[0].run_id,
        run
    );
    drop(c);
    let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let n: i64 = client
        .query_one("SELECT COUNT(*) FROM schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, super::schema::latest());
    let h: String = client
        .query_one("SELECT token_hash FROM principals", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!t.contains(&h));
    drop(client);
    db.drop_db().await;
}

/// Load measurement: `cargo test --release --lib collector::store::tests::load -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load measurement, minutes in debug builds"]
#[allow(clippy::disallowed_macros)]
async fn load_sqlite_10k() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(sqlite_store(dir.path()).await);
    load(s, "sqlite").await;
}

/// The same load against PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load measurement"]
async fn load_postgres_10k() {
    let Some(db) = PgDb::create().await else {
        return;
    };
    let s = Arc::new(Store::open(&db.url).await.unwrap());
    load(s, "postgres").await;
    db.drop_db().await;
}

#[allow(clippy::disallowed_macros)]
async fn load(s: Arc<Store>, engine: &str) {
    const N: usize = 10_000;
    let names: Vec<String> = (0..N).map(|i| format!("node-{i:05}")).collect();
    let t0 = std::time::Instant::now();
    s.enroll_many(&names, Role::Node).await.unwrap();
    let enroll = t0.elapsed();
    // Reports decoded up front: this measures the store, not the decoder.
    let findings: Vec<F<'static>> = vec![
        ("BAR-001", "high", "fail", "/etc/barbican/barbican.conf"),
        ("BAR-002", "high", "pass", "a"),
        ("BAR-003", "medium", "pass", "b"),
        ("BAR-004", "medium", "na", "c"),
        ("BAR-005", "low", "pass", "d"),
        ("BAR-006", "low", "pass", "e"),
        ("BAR-007", "low", "pass", "f"),
        ("BAR-008", "low", "pass", "g"),
        ("BAR-009", "info", "pass", "h"),
        ("BAR-010", "info", "pass", "i"),
        ("BAR-011", "info", "pass", "j"),
        ("BAR-012", "info", "pass", "k"),
        ("BAR-013", "critical", "pass", "l"),
    ];
    let reports: Vec<Arc<NewReport>> = names
        .iter()
        .map(|n| Arc::new(report(&uuid(), 1_700_000_000_000, n, &findings)))
        .collect();
    let t1 = std::time::Instant::now();
    // 64 agents posting at once.
    let mut tasks = Vec::new();
    let chunk = N / 64 + 1;
    for (names, reps) in names.chunks(chunk).zip(reports.chunks(chunk)) {
        let (s, names, reps) = (Arc::clone(&s), names.to_vec(), reps.to_vec());
        tasks.push(tokio::spawn(async move {
            for (n, r) in names.iter().zip(&reps) {
                assert_eq!(s.ingest(n, r).await.unwrap(), IngestOutcome::Created);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let ingest = t1.elapsed();
    let t2 = std::time::Instant::now();
    let nodes = s.nodes().await.unwrap();
    let first = t2.elapsed();
    let t3 = std::time::Instant::now();
    let nodes2 = s.nodes().await.unwrap();
    let second = t3.elapsed();
    assert_eq!(nodes.len(), N);
    assert_eq!(nodes2.len(), N);
    assert!(nodes.iter().all(|n| n.latest.is_some()));
    let t4 = std::time::Instant::now();
    let fails = s
        .findings(&FindingQuery {
            status: Some("fail".into()),
            limit: 20_000,
            ..FindingQuery::default()
        })
        .await
        .unwrap();
    let findings_t = t4.elapsed();
    assert_eq!(fails.len(), N);
    eprintln!(
        "{engine}: enroll {N}: {enroll:?}; ingest {N} (13 findings each, 64 concurrent): {ingest:?} = {:.0}/s; nodes() over {N}: {first:?} then {second:?}; findings(status=fail) {N} rows: {findings_t:?}",
        N as f64 / ingest.as_secs_f64()
    );
}

// ------------------------------------------------- fleet page and lists

/// Findings of `a` (kolla): BAR-001 fails on a target, BAR-002 (critical) fails on the host.
const A: &[F<'static>] = &[
    ("BAR-001", "high", "fail", "/etc/barbican/barbican.conf"),
    ("BAR-001", "high", "pass", "/etc/barbican/api-paste.ini"),
    ("BAR-002", "critical", "fail", "kek"),
];
/// The tally of a report of [`A`].
const TALLY_A: &str =
    "BAR-001\thigh\tfail\t1\nBAR-001\thigh\tpass\t1\nBAR-002\tcritical\tfail\t1\n";
/// Findings of `b` (debian): BAR-001 fails three times, once as an error.
const B: &[F<'static>] = &[
    ("BAR-001", "high", "fail", "one"),
    ("BAR-001", "high", "fail", "two"),
    ("BAR-001", "high", "error", "three"),
];

async fn fleet_summary_and_filters(s: Arc<Store>) {
    use super::FleetQuery;
    for n in ["a", "b", "c", "d", "e"] {
        s.enroll(n, Role::Node).await.unwrap();
    }
    let t = super::now_ms();
    let target = &[("/etc/barbican/barbican.conf", "kolla:barbican_api")][..];
    let ok = &[("BAR-001", "high", "pass", "x")][..];
    s.ingest_at("a", &report_in(&uuid(), t, "kolla", A, target), t)
        .await
        .unwrap();
    s.ingest_at("b", &report_in(&uuid(), t, "debian", B, &[]), t)
        .await
        .unwrap();
    let old = t - 7_200_000;
    s.ingest_at("c", &report_in(&uuid(), old, "debian", ok, &[]), old)
        .await
        .unwrap();
    s.ingest_at("e", &report_in(&uuid(), t, "kolla", B, &[]), t)
        .await
        .unwrap();
    assert!(s.revoke("e").await.unwrap());
    let q = |f: &dyn Fn(&mut FleetQuery)| {
        let mut q = FleetQuery {
            now_ms: t + 1000,
            stale_ms: 3_600_000,
            limit: 50,
            ..FleetQuery::default()
        };
        f(&mut q);
        let s = Arc::clone(&s);
        async move { s.fleet(&q).await.unwrap() }
    };
    let names = |sum: &super::FleetSummary| -> Vec<String> {
        sum.nodes.iter().map(|n| n.name.clone()).collect()
    };
    let failing = |sum: &super::FleetSummary| -> Vec<(String, i64)> {
        sum.failing.iter().map(|(k, v)| (k.clone(), *v)).collect()
    };
    let f = |pairs: &[(&str, i64)]| -> Vec<(String, i64)> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };

    let all = q(&|_| {}).await;
    assert_eq!(
        all.states,
        [1, 1, 2, 1],
        "never d, stale c, fresh a b, revoked e"
    );
    // b fails BAR-001 three times but is one node; e is revoked.
    assert_eq!(failing(&all), f(&[("BAR-001", 2), ("BAR-002", 1)]));
    assert_eq!(all.listed, 5);
    assert_eq!(names(&all), ["d", "c", "a", "b", "e"]);
    let page = q(&|q| {
        q.limit = 2;
        q.offset = 1;
    })
    .await;
    assert_eq!(
        (names(&page), page.listed),
        (vec!["c".into(), "a".into()], 5)
    );

    // The list's filters.
    assert_eq!(
        names(&q(&|q| q.check = Some("BAR-002".into())).await),
        ["a"]
    );
    assert_eq!(
        names(&q(&|q| q.check = Some("BAR-00".into())).await),
        Vec::<String>::new()
    );
    assert_eq!(
        names(&q(&|q| q.severity = Some("critical".into())).await),
        ["a"]
    );
    assert_eq!(names(&q(&|q| q.status = Some("pass".into())).await), ["c"]);
    assert_eq!(names(&q(&|q| q.state = Some(1)).await), ["c"]);
    assert_eq!(
        q(&|q| q.state = Some(1)).await.states,
        [1, 1, 2, 1],
        "states stay whole"
    );

    // Layout and target scope the whole page.
    let kolla = q(&|q| q.layout = Some("kolla".into())).await;
    assert_eq!(kolla.states, [0, 0, 1, 1]);
    assert_eq!(failing(&kolla), f(&[("BAR-001", 1), ("BAR-002", 1)]));
    assert_eq!(names(&kolla), ["a", "e"]);
    let api = q(&|q| q.target = Some("kolla:barbican_api".into())).await;
    assert_eq!(api.states, [0, 0, 1, 0]);
    assert_eq!(
        failing(&api),
        f(&[("BAR-001", 1)]),
        "BAR-002 is not about the target"
    );
    let hostile = q(&|q| q.target = Some("x' OR '1'='1".into())).await;
    assert_eq!((hostile.states, hostile.listed), ([0; 4], 0));

    // The summary follows each move of a latest report, and only those.
    s.ingest_at("a", &report_in(&uuid(), t - 1, "kolla", ok, &[]), t)
        .await
        .unwrap();
    assert_eq!(
        failing(&q(&|_| {}).await),
        failing(&all),
        "an older report changes nothing"
    );
    s.ingest_at("a", &report_in(&uuid(), t + 1, "kolla", ok, &[]), t)
        .await
        .unwrap();
    assert_eq!(failing(&q(&|_| {}).await), f(&[("BAR-001", 1)]));
    assert_eq!(
        q(&|q| q.layout = Some("kolla".into())).await.states,
        [0, 0, 1, 1]
    );
    // A node moving to another layout moves its counts.
    s.ingest_at("b", &report_in(&uuid(), t + 1, "kolla", B, &[]), t)
        .await
        .unwrap();
    let kolla = q(&|q| q.layout = Some("kolla".into())).await;
    assert_eq!(
        (kolla.states, failing(&kolla)),
        ([0, 0, 2, 1], f(&[("BAR-001", 1)]))
    );
    assert_eq!(
        q(&|q| q.layout = Some("debian".into())).await.states,
        [0, 1, 0, 0]
    );

    // The totals the summary gives equal counting the findings themselves.
    for status in [None, Some("fail"), Some("error"), Some("pass")] {
        let fq = FindingQuery {
            status: status.map(String::from),
            limit: 500,
            ..FindingQuery::default()
        };
        let (rows, total) = s
            .findings_page(&fq, &super::PageAt::Offset(0))
            .await
            .unwrap();
        assert_eq!(rows.len() as i64, total, "{status:?}");
        let fq = FindingQuery {
            layout: Some("kolla".into()),
            ..fq
        };
        let (rows, total) = s
            .findings_page(&fq, &super::PageAt::Offset(0))
            .await
            .unwrap();
        assert_eq!(rows.len() as i64, total, "kolla {status:?}");
    }
}

async fn findings_pages_by_cursor(s: Arc<Store>) {
    use super::PageAt;
    let mut want = Vec::new();
    for n in ["n1", "n2", "n3"] {
        s.enroll(n, Role::Node).await.unwrap();
        let target = &[("two", "kolla:barbican_worker")][..];
        s.ingest(n, &report_in(&uuid(), 1_000, "kolla", B, target))
            .await
            .unwrap();
        // A report lists findings by check, then subject.
        let mut sorted = B.to_vec();
        sorted.sort_by(|a, b| (a.0, a.3).cmp(&(b.0, b.3)));
        for (i, f) in sorted.iter().enumerate() {
            want.push((n.to_string(), i as i64, f.3.to_string()));
        }
    }
    let fq = FindingQuery {
        limit: 2,
        ..FindingQuery::default()
    };
    let key = |rows: &[super::FleetFinding]| -> Vec<(String, i64, String)> {
        rows.iter()
            .map(|f| (f.node.clone(), f.seq, f.finding.subject.clone()))
            .collect()
    };
    // Following "next" cursors walks the whole list once, in order.
    let mut got = Vec::new();
    let mut at = PageAt::Offset(0);
    loop {
        let (rows, total) = s.findings_page(&fq, &at).await.unwrap();
        assert_eq!(total, 9);
        let Some(last) = rows.last() else { break };
        at = PageAt::After(last.node.clone(), last.seq);
        got.extend(key(&rows));
    }
    assert_eq!(got, want);
    // "Previous" from a cursor gives the rows before it, in list order,
    // as the same page by number does.
    let (rows, _) = s
        .findings_page(&fq, &PageAt::Before("n2".into(), 1))
        .await
        .unwrap();
    assert_eq!(key(&rows), want[2..4]);
    let (rows, _) = s.findings_page(&fq, &PageAt::Offset(2)).await.unwrap();
    assert_eq!(key(&rows), want[2..4]);
    // A cursor naming no stored node still seeks by order.
    let (rows, _) = s
        .findings_page(&fq, &PageAt::After("n2~".into(), 0))
        .await
        .unwrap();
    assert_eq!(key(&rows), want[6..8]);
    // The target filter (counted live: the summary has no targets).
    let fq = FindingQuery {
        target: Some("kolla:barbican_worker".into()),
        limit: 10,
        ..FindingQuery::default()
    };
    let (rows, total) = s.findings_page(&fq, &PageAt::Offset(0)).await.unwrap();
    assert_eq!(total, 3);
    assert!(rows.iter().all(
        |f| f.finding.target.as_deref() == Some("kolla:barbican_worker")
            && f.finding.subject == "two"
    ));
}

/// A typed page number is located through the nodes' tallies (unit tests
/// locate every page after the first: `pages::LOCATE_FROM`) and gives the
/// rows of the whole list from that place, whatever the filter; nodes
/// without a tally (a database from before version 3) are counted from
/// their findings instead, and ingest over them keeps the summary right.
async fn typed_pages_are_located(s: Arc<Store>) {
    use super::PageAt;
    let kinds: [&[F<'_>]; 4] = [
        &[
            ("BAR-001", "high", "fail", "a"),
            ("BAR-001", "high", "fail", "b"),
            ("BAR-002", "low", "pass", "c"),
        ],
        &[("BAR-002", "low", "pass", "c")],
        &[("BAR-004", "low", "na", "x")],
        &[
            ("BAR-001", "high", "pass", "a"),
            ("BAR-003", "medium", "error", "d"),
            ("BAR-003", "medium", "fail", "e"),
        ],
    ];
    for i in 0..12 {
        let n = format!("n{i:02}");
        s.enroll(&n, Role::Node).await.unwrap();
        let layout = if i % 3 == 0 { "kolla" } else { "debian" };
        s.ingest(&n, &report_in(&uuid(), 1_000, layout, kinds[i % 4], &[]))
            .await
            .unwrap();
    }
    let filters = [
        FindingQuery::default(),
        FindingQuery {
            status: Some("fail".into()),
            ..FindingQuery::default()
        },
        FindingQuery {
            check: Some("BAR-001".into()),
            status: Some("fail".into()),
            ..FindingQuery::default()
        },
        FindingQuery {
            severity: Some("medium".into()),
            layout: Some("debian".into()),
            ..FindingQuery::default()
        },
        FindingQuery {
            node: Some("n03".into()),
            ..FindingQuery::default()
        },
    ];
    check_pages(&s, &filters).await;
    // As a version 2 database left them: no tallies. Pages are still
    // right (counted from the findings), and so is the summary after a
    // node's latest report is replaced.
    s.raw_execute("DELETE FROM node_tally").await;
    check_pages(&s, &filters).await;
    s.ingest("n00", &report_in(&uuid(), 2_000, "kolla", kinds[1], &[]))
        .await
        .unwrap();
    let fq = FindingQuery {
        status: Some("fail".into()),
        limit: 1000,
        ..FindingQuery::default()
    };
    let (rows, total) = s.findings_page(&fq, &PageAt::Offset(0)).await.unwrap();
    assert_eq!(total, rows.len() as i64, "summary follows the live rows");
    assert!(rows.iter().all(|f| f.node != "n00"));
    check_pages(&s, &filters).await;
}

/// Every typed page of each filter against the whole list read at once.
async fn check_pages(s: &Store, filters: &[FindingQuery]) {
    use super::PageAt;
    let key = |rows: &[super::FleetFinding]| -> Vec<(String, i64)> {
        rows.iter().map(|f| (f.node.clone(), f.seq)).collect()
    };
    for fq in filters {
        let all = FindingQuery {
            limit: 1000,
            ..fq.clone()
        };
        let (every, total) = s.findings_page(&all, &PageAt::Offset(0)).await.unwrap();
        assert_eq!(every.len() as i64, total, "{fq:?}");
        let fq = FindingQuery {
            limit: 2,
            ..fq.clone()
        };
        for off in 0..=every.len() + 1 {
            let (rows, t) = s
                .findings_page(&fq, &PageAt::Offset(off as u32))
                .await
                .unwrap();
            assert_eq!(t, total);
            let want = key(&every[off.min(every.len())..(off + 2).min(every.len())]);
            assert_eq!(key(&rows), want, "{fq:?} from row {off}");
        }
    }
}

/// Node `a` on a kolla host, one report whose barbican.conf finding is
/// about `kolla:barbican_api` (the version 1 migration tests' data).
async fn kolla_node_a(s: &Store) {
    s.enroll("a", Role::Node).await.unwrap();
    let target = &[("/etc/barbican/barbican.conf", "kolla:barbican_api")][..];
    s.ingest("a", &report_in(&uuid(), 1_000, "kolla", A, target))
        .await
        .unwrap();
}

/// What versions 2 and 3 read back from [`kolla_node_a`]'s stored body:
/// its layout, its summary and its finding's target.
async fn backfilled_from_bodies(s: &Store) {
    let sum = s
        .fleet(&super::FleetQuery {
            layout: Some("kolla".into()),
            now_ms: super::now_ms(),
            stale_ms: i64::MAX,
            limit: 10,
            ..super::FleetQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        sum.states[1] + sum.states[2],
        1,
        "layout read from the body"
    );
    assert_eq!(sum.failing.get("BAR-002"), Some(&1));
    let fq = FindingQuery {
        target: Some("kolla:barbican_api".into()),
        ..FindingQuery::default()
    };
    let (rows, total) = s
        .findings_page(&fq, &super::PageAt::Offset(0))
        .await
        .unwrap();
    assert_eq!((rows.len(), total), (1, 1), "target read from the body");
}

/// A version 1 database with reports gets layouts, targets and the
/// summary from the stored bodies when a newer collector opens it, and
/// (version 3) each node its tally from the findings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_version_2_backfills_from_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let s = sqlite_store(dir.path()).await;
    kolla_node_a(&s).await;
    drop(s);
    // Back to version 1 as an older collector left it.
    let c = rusqlite::Connection::open(dir.path().join("collector.db")).unwrap();
    c.execute_batch(
        "DROP TABLE node_tally; DROP INDEX findings_target; DROP INDEX node_latest_run; \
         ALTER TABLE findings DROP COLUMN target; \
         ALTER TABLE reports DROP COLUMN layout; DROP TABLE latest_counts; \
         ALTER TABLE node_latest DROP COLUMN layout; ALTER TABLE node_latest DROP COLUMN status; \
         ALTER TABLE node_latest DROP COLUMN failing; \
         DELETE FROM schema_migrations WHERE version >= 2;",
    )
    .unwrap();
    drop(c);
    let s = sqlite_store(dir.path()).await;
    backfilled_from_bodies(&s).await;
    drop(s);
    // Version 3's backfill: the node's tally, from its findings.
    let c = rusqlite::Connection::open(dir.path().join("collector.db")).unwrap();
    let tally: String = c
        .query_row("SELECT tally FROM node_tally WHERE node = 'a'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(tally, TALLY_A);
}

/// The same on PostgreSQL (the backfill there runs in the migration's
/// transaction under the migration lock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_version_2_backfills_from_bodies() {
    let Some(db) = PgDb::create().await else {
        return;
    };
    let s = Store::open(&db.url).await.unwrap();
    kolla_node_a(&s).await;
    drop(s);
    let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(
            "DROP TABLE node_tally; DROP INDEX findings_target; DROP INDEX node_latest_run; \
             DROP INDEX node_latest_node_c; ALTER TABLE findings DROP COLUMN target; \
             ALTER TABLE reports DROP COLUMN layout; DROP TABLE latest_counts; \
             ALTER TABLE node_latest DROP COLUMN layout; ALTER TABLE node_latest DROP COLUMN status; \
             ALTER TABLE node_latest DROP COLUMN failing; \
             DELETE FROM schema_migrations WHERE version >= 2;",
        )
        .await
        .unwrap();
    let s = Store::open(&db.url).await.unwrap();
    backfilled_from_bodies(&s).await;
    // Version 3's backfill: the node's tally, from its findings.
    let tally: String = client
        .query_one("SELECT tally FROM node_tally WHERE node = 'a'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(tally, TALLY_A);
    drop((s, client));
    db.drop_db().await;
}
