#![allow(clippy::unwrap_used)]
use std::collections::HashMap;
use std::time::Duration;

use super::*;
use crate::collector::ingest::FindingRow;

/// Everything a node controls, at its worst: markup, quotes that would
/// close an attribute, a bidi override that reorders what is read, CRLF.
const HOSTILE: &str =
    "<script>alert(\"x\")</script>'\"><img src=x onerror=alert(1)>\u{202e}txt.exe\r\nSet-Cookie: a=b";

fn report(run: &str, status: &str, failing: &[&str], at: i64) -> ReportRow {
    ReportRow {
        run_id: run.into(),
        node: "ctl-1".into(),
        started_at_ms: at,
        received_at_ms: at,
        hostname: Some(HOSTILE.into()),
        barbican_version: Some(HOSTILE.into()),
        tool_version: "0.1.0".into(),
        status: status.into(),
        summary: [1, failing.len() as i64, 0, 0, 0],
        failing: failing.iter().map(|s| s.to_string()).collect(),
    }
}

fn node(name: &str, latest: Option<ReportRow>) -> NodeRow {
    NodeRow {
        name: name.into(),
        enrolled_ms: 0,
        revoked: false,
        latest,
    }
}

fn assert_inert(html: &str) {
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains('\u{202e}'), "bidi override left as is");
    assert!(!html.contains('\r'), "CR left as is");
    assert!(
        html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&quot;&gt;&lt;img")
    );
    assert!(
        html.contains("&lt;U+202E&gt;txt.exe&lt;U+000D&gt;"),
        "{html}"
    );
}

fn body(findings: &[(&str, &str, &str, &str)]) -> String {
    let list: Vec<Value> = findings
        .iter()
        .map(|(id, status, subject, message)| {
            serde_json::json!({
                "check_id": id, "title": HOSTILE, "severity": "high", "status": status,
                "subject": subject, "message": message,
                "evidence": {"path": HOSTILE}, "remediation": HOSTILE,
            })
        })
        .collect();
    serde_json::json!({ "findings": list }).to_string()
}

const NOW: i64 = 1_800_000_000_000;

/// The fleet page of `nodes` as if the store matched all of them (its
/// filtering and counting are tested against both engines in store/tests.rs).
fn fleet(
    nodes: &[NodeRow],
    q: &HashMap<String, String>,
    stale: Duration,
    max: u32,
) -> Result<FleetPage, BadParam> {
    let (fq, req, f) = fleet_query(q, NOW, stale, max)?;
    let mut sum = FleetSummary {
        listed: nodes.len() as i64,
        ..FleetSummary::default()
    };
    for n in nodes {
        let i = match views::state(n, NOW, stale) {
            NodeState::Never => 0,
            NodeState::Stale => 1,
            NodeState::Fresh => 2,
            NodeState::Revoked => 3,
        };
        sum.states[i] += 1;
        for id in n.latest.iter().flat_map(|r| &r.failing) {
            *sum.failing.entry(id.clone()).or_default() += 1;
        }
    }
    sum.nodes = nodes
        .iter()
        .skip(fq.offset as usize)
        .take(fq.limit as usize)
        .cloned()
        .collect();
    Ok(fleet_page(&sum, f, req, NOW, stale))
}

#[test]
fn every_page_escapes_hostile_node_data() {
    let stale = Duration::from_secs(3600);
    let nodes = vec![
        node("ctl-1", Some(report("r2", "fail", &["BAR-001"], NOW))),
        node("ctl-2", None),
    ];
    let q: HashMap<String, String> = [("target".to_string(), HOSTILE.to_string())].into();
    let page = fleet(&nodes, &q, stale, MAX_PER_PAGE).unwrap();
    let html = render("fleet.html", &page).unwrap();
    assert_inert(&html);
    // The hostile target filter is kept in the links percent-encoded.
    assert!(page.links["json"].starts_with("/fleet.json?target=%3Cscript%3E"));

    let row = FleetFinding {
        node: "ctl-1".into(),
        run_id: "r2".into(),
        started_at_ms: NOW,
        seq: 3,
        finding: FindingRow {
            check_id: "BAR-001".into(),
            severity: "high".into(),
            status: "fail".into(),
            subject: HOSTILE.into(),
            title: HOSTILE.into(),
            message: HOSTILE.into(),
            target: Some(HOSTILE.into()),
        },
    };
    let req = PageReq {
        page: 1,
        per_page: 50,
    };
    let q: HashMap<String, String> = [
        ("target".to_string(), HOSTILE.to_string()),
        ("layout".to_string(), "kolla".to_string()),
    ]
    .into();
    let (fq, _) = findings_query(&q, MAX_PER_PAGE).unwrap();
    let page = findings_page(&fq, req, std::slice::from_ref(&row), 1);
    let html = render("findings.html", &page).unwrap();
    assert_inert(&html);
    assert!(
        html.contains("<td class=\"target\">&lt;script&gt;"),
        "{html}"
    );
    assert!(page.links["csv"].contains("layout=kolla&target=%3Cscript%3E"));
    assert!(findings_csv(&page).contains("\"<script>alert(\"\"x\"\")"));
    let check = check_page("BAR-001", req, std::slice::from_ref(&row), 1).unwrap();
    let html = render("check.html", &check).unwrap();
    assert_inert(&html);
    assert!(
        html.contains("id=\"explain\""),
        "the catalog explanation is shown"
    );

    let new = body(&[("BAR-001", "fail", HOSTILE, HOSTILE)]);
    let old = body(&[("BAR-001", "pass", HOSTILE, "fine")]);
    let reports = vec![
        report("r2", "fail", &["BAR-001"], NOW),
        report("r1", "pass", &[], NOW - 1000),
    ];
    let p = node_page("ctl-1", &reports, Some(&new), Some(&old), req);
    let html = render("node.html", &p).unwrap();
    assert_inert(&html);
    assert!(
        html.contains("<tr class=\"new\">"),
        "the diff shows the new failure"
    );
}

#[test]
fn csv_keeps_hostile_fields_in_their_cell() {
    let nodes = vec![node("ctl-1", Some(report("r", "fail", &["BAR-001"], NOW)))];
    let p = fleet(
        &nodes,
        &HashMap::new(),
        Duration::from_secs(3600),
        MAX_CSV_ROWS,
    )
    .unwrap();
    let csv = fleet_csv(&p);
    let mut lines = csv.split("\r\n");
    assert!(lines.next().unwrap().starts_with("\"node\",\"state\""));
    // The hostile hostname's CRLF and quotes stay inside one quoted field.
    assert!(csv.contains("\"<script>alert(\"\"x\"\")</script>'\"\"><img"));
    assert_eq!(csv.matches("\"ctl-1\"").count(), 1);
}

#[test]
fn fleet_counts_per_check_and_refuses_bad_filters() {
    let stale = Duration::from_secs(3600);
    let nodes = vec![
        node(
            "a",
            Some(report("r1", "fail", &["BAR-001", "BAR-002"], NOW)),
        ),
        node("b", Some(report("r2", "fail", &["BAR-001"], NOW))),
        node("c", Some(report("r3", "pass", &[], NOW - 7_200_000))),
        node("d", None),
    ];
    let p = fleet(&nodes, &HashMap::new(), stale, MAX_PER_PAGE).unwrap();
    let bar1 = p.checks.iter().find(|c| c.id == "BAR-001").unwrap();
    assert_eq!((bar1.failing, bar1.total), (2, 3));
    assert_eq!(
        p.checks.len(),
        catalog().unwrap().checks.len(),
        "every catalog check has a row"
    );
    let q: HashMap<String, String> = [("check".to_string(), "BAR-002".to_string())].into();
    assert_eq!(
        fleet(&nodes, &q, stale, MAX_PER_PAGE).unwrap().checks.len(),
        1
    );
    let q: HashMap<String, String> = [("state".to_string(), "stale".to_string())].into();
    assert_eq!(
        fleet_query(&q, NOW, stale, MAX_PER_PAGE).unwrap().0.state,
        Some(1)
    );
    // Bad parameters are 400s, not ignored.
    for (k, v) in [
        ("colour", "red"),
        ("severity", "urgent"),
        ("layout", "<x>"),
        ("state", "old"),
    ] {
        let q: HashMap<String, String> = [(k.to_string(), v.to_string())].into();
        assert!(fleet(&nodes, &q, stale, MAX_PER_PAGE).is_err(), "{k}={v}");
    }
    let q: HashMap<String, String> = [("layout".to_string(), "kolla".to_string())].into();
    let p = fleet(&nodes, &q, stale, MAX_PER_PAGE).unwrap();
    let html = render("fleet.html", &p).unwrap();
    assert!(html.contains("<option selected>kolla</option>"), "{html}");
}

#[test]
fn findings_cursors_parse_and_link() {
    let q = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let r = ListReq::parse(&q(&[("page", "3"), ("after", "node-1:12")]), MAX_PER_PAGE).unwrap();
    assert_eq!(r.at, PageAt::After("node-1".into(), 12));
    let r = ListReq::parse(&q(&[("page", "3")]), MAX_PER_PAGE).unwrap();
    assert_eq!(r.at, PageAt::Offset(100));
    for bad in [
        vec![("after", "node-1")],
        vec![("after", ":3")],
        vec![("before", "n:-1")],
        vec![("after", "a:1"), ("before", "b:2")],
    ] {
        assert!(ListReq::parse(&q(&bad), MAX_PER_PAGE).is_err(), "{bad:?}");
    }
    let row = |node: &str, seq: i64| FleetFinding {
        node: node.into(),
        run_id: "r".into(),
        started_at_ms: NOW,
        seq,
        finding: FindingRow {
            check_id: "BAR-001".into(),
            severity: "high".into(),
            status: "fail".into(),
            subject: "s".into(),
            title: "t".into(),
            message: "m".into(),
            target: None,
        },
    };
    let (fq, _) = findings_query(&q(&[("status", "fail")]), MAX_PER_PAGE).unwrap();
    let req = PageReq {
        page: 3,
        per_page: 2,
    };
    let p = findings_page(&fq, req, &[row("n-1", 4), row("n-2", 0)], 10);
    assert_eq!(
        p.pager.next.as_deref(),
        Some("/findings?status=fail&page=4&per_page=2&after=n-2%3A0")
    );
    assert_eq!(
        p.pager.prev.as_deref(),
        Some("/findings?status=fail&page=2&per_page=2&before=n-1%3A4")
    );
    // The previous page of page 2 is the top: a plain page link.
    let p = findings_page(
        &fq,
        PageReq {
            page: 2,
            per_page: 2,
        },
        &[row("n-1", 4)],
        10,
    );
    assert_eq!(
        p.pager.prev.as_deref(),
        Some("/findings?status=fail&page=1&per_page=2")
    );
}

#[test]
fn pages_link_to_their_neighbours() {
    let nodes: Vec<NodeRow> = (0..120)
        .map(|i| node(&format!("n{i:03}"), Some(report("r", "pass", &[], NOW))))
        .collect();
    let q: HashMap<String, String> = [
        ("page".to_string(), "2".to_string()),
        ("status".to_string(), "pass".to_string()),
    ]
    .into();
    let p = fleet(&nodes, &q, Duration::from_secs(3600), MAX_PER_PAGE).unwrap();
    assert_eq!(p.nodes.len(), 50);
    assert_eq!(p.nodes[0].name, "n050");
    assert_eq!((p.pager.pages, p.pager.total), (3, 120));
    assert_eq!(p.pager.prev.as_deref(), Some("/?status=pass&page=1"));
    assert_eq!(p.pager.next.as_deref(), Some("/?status=pass&page=3"));
    let html = render("fleet.html", &p).unwrap();
    assert!(html.contains("data-page=\"2\" data-pages=\"3\" data-total=\"120\""));
    assert!(html.contains("<a rel=\"next\" href=\"/?status=pass&amp;page=3\">"));
    let q: HashMap<String, String> = [("per_page".to_string(), "0".to_string())].into();
    assert!(PageReq::parse(&q, MAX_PER_PAGE).is_err());
}

#[test]
fn diff_names_new_fixed_and_changed() {
    let before = body_findings(&body(&[
        ("BAR-001", "fail", "/etc/a", "bad"),
        ("BAR-002", "fail", "/etc/b", "bad"),
        ("BAR-003", "pass", "/etc/c", "ok"),
    ]));
    let now = body_findings(&body(&[
        ("BAR-001", "fail", "/etc/a", "worse"),
        ("BAR-002", "pass", "/etc/b", "ok"),
        ("BAR-003", "fail", "/etc/c", "bad"),
    ]));
    let d = diff(&before, &now);
    let got: Vec<(&str, &str)> = d.iter().map(|x| (x.change, x.check_id.as_str())).collect();
    assert_eq!(
        got,
        [
            ("new", "BAR-003"),
            ("changed", "BAR-001"),
            ("fixed", "BAR-002")
        ]
    );
    assert!(diff(&now, &now).is_empty());
}

#[test]
fn visible_marks_only_what_hides() {
    assert_eq!(visible("plain\ttext\n"), "plain\ttext\n");
    assert_eq!(visible("a\u{2067}b\u{7}"), "a<U+2067>b<U+0007>");
}
