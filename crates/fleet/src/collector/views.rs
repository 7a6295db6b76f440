//! Views of the fleet: JSON for the API, Prometheus text for `/metrics`,
//! and the HTML escaper the page templates use (see `pages`).
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;

use super::server::{Counters, BUCKETS};
use super::store::{FleetFinding, NodeRow, ReportRow};
use crate::report::prometheus::escape;

/// Freshness of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    /// Reported within `stale_after`.
    Fresh,
    /// Reported, but not within `stale_after`.
    Stale,
    /// Enrolled, never reported.
    Never,
    /// Token revoked.
    Revoked,
}

impl NodeState {
    /// Label / JSON value.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Fresh => "fresh",
            NodeState::Stale => "stale",
            NodeState::Never => "never",
            NodeState::Revoked => "revoked",
        }
    }
}

/// When the node was last seen: its latest audit's start, but never later
/// than when the collector received it (a node whose clock runs ahead must
/// not look fresh forever).
pub fn last_seen_ms(r: &ReportRow) -> i64 {
    r.started_at_ms.min(r.received_at_ms)
}

/// The node's state at `now_ms`.
pub fn state(n: &NodeRow, now_ms: i64, stale_after: Duration) -> NodeState {
    if n.revoked {
        return NodeState::Revoked;
    }
    match &n.latest {
        None => NodeState::Never,
        Some(r) => {
            let limit = i64::try_from(stale_after.as_millis()).unwrap_or(i64::MAX);
            if now_ms.saturating_sub(last_seen_ms(r)) > limit {
                NodeState::Stale
            } else {
                NodeState::Fresh
            }
        }
    }
}

fn rfc3339(ms: i64) -> Value {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .map_or(Value::Null, Value::String)
}

/// A report's metadata as JSON.
pub fn report_json(r: &ReportRow) -> Value {
    json!({
        "run_id": r.run_id,
        "started_at": rfc3339(r.started_at_ms),
        "received_at": rfc3339(r.received_at_ms),
        "hostname": r.hostname,
        "barbican_version": r.barbican_version,
        "tool_version": r.tool_version,
        "status": r.status,
        "summary": {
            "pass": r.summary[0], "fail": r.summary[1], "error": r.summary[2],
            "na": r.summary[3], "waived": r.summary[4],
        },
        "failing_checks": r.failing,
    })
}

/// Check counts of a report.
#[derive(Debug, serde::Serialize)]
pub struct SummaryView {
    pass: i64,
    fail: i64,
    error: i64,
    na: i64,
    waived: i64,
}

/// A node of `GET /api/v1/nodes`. Typed and borrowing, not a
/// `serde_json::Value`: the fleet view of 10,000 nodes is serialized
/// straight into the response buffer (a Value tree took 70 ms and 300 MB).
#[derive(Debug, serde::Serialize)]
pub struct NodeView<'a> {
    node: &'a str,
    state: &'static str,
    stale: bool,
    revoked: bool,
    enrolled_at: Value,
    status: Option<&'a str>,
    failing_checks: &'a [String],
    last_report_at: Value,
    last_report_age_seconds: Option<i64>,
    run_id: Option<&'a str>,
    hostname: Option<&'a str>,
    barbican_version: Option<&'a str>,
    tool_version: Option<&'a str>,
    summary: Option<SummaryView>,
}

/// A node for the API: state, stale flag, latest report and its age.
pub fn node_view(n: &NodeRow, now_ms: i64, stale_after: Duration) -> NodeView<'_> {
    let st = state(n, now_ms, stale_after);
    let r = n.latest.as_ref();
    NodeView {
        node: &n.name,
        state: st.as_str(),
        stale: st == NodeState::Stale,
        revoked: n.revoked,
        enrolled_at: rfc3339(n.enrolled_ms),
        status: r.map(|r| r.status.as_str()),
        failing_checks: r.map_or(&[][..], |r| r.failing.as_slice()),
        last_report_at: r.map_or(Value::Null, |r| rfc3339(last_seen_ms(r))),
        last_report_age_seconds: r.map(|r| (now_ms - last_seen_ms(r)).max(0) / 1000),
        run_id: r.map(|r| r.run_id.as_str()),
        hostname: r.and_then(|r| r.hostname.as_deref()),
        barbican_version: r.and_then(|r| r.barbican_version.as_deref()),
        tool_version: r.map(|r| r.tool_version.as_str()),
        summary: r.map(|r| SummaryView {
            pass: r.summary[0],
            fail: r.summary[1],
            error: r.summary[2],
            na: r.summary[3],
            waived: r.summary[4],
        }),
    }
}

/// A fleet finding as JSON.
pub fn finding_json(f: &FleetFinding) -> Value {
    let mut v = json!({
        "node": f.node,
        "run_id": f.run_id,
        "started_at": rfc3339(f.started_at_ms),
        "check_id": f.finding.check_id,
        "severity": f.finding.severity,
        "status": f.finding.status,
        "subject": f.finding.subject,
        "title": f.finding.title,
        "message": f.finding.message,
    });
    // As in the report: only a finding about a target names one.
    if let Some(t) = &f.finding.target {
        v["target"] = json!(t);
    }
    v
}

/// `/metrics`: nodes by state, per-node failing checks and report times,
/// nodes failing each check, ingest counters and latency.
pub fn metrics(nodes: &[NodeRow], c: &Counters, now_ms: i64, stale_after: Duration) -> String {
    let mut out = String::new();
    let mut by_state: BTreeMap<&str, u64> = ["fresh", "stale", "never", "revoked"]
        .into_iter()
        .map(|s| (s, 0))
        .collect();
    let mut per_check: BTreeMap<&str, u64> = BTreeMap::new();
    let mut node_lines = (String::new(), String::new(), String::new());
    for n in nodes {
        let st = state(n, now_ms, stale_after);
        *by_state.entry(st.as_str()).or_default() += 1;
        if st == NodeState::Revoked {
            continue;
        }
        let label = escape(&n.name);
        let _ = writeln!(
            node_lines.2,
            "barbican_audit_collector_node_stale{{node=\"{label}\"}} {}",
            u8::from(st == NodeState::Stale)
        );
        if let Some(r) = &n.latest {
            let _ = writeln!(
                node_lines.0,
                "barbican_audit_collector_node_failing_checks{{node=\"{label}\"}} {}",
                r.failing.len()
            );
            let _ = writeln!(
                node_lines.1,
                "barbican_audit_collector_node_last_report_timestamp_seconds{{node=\"{label}\"}} {}",
                last_seen_ms(r) as f64 / 1000.0
            );
            for id in &r.failing {
                *per_check.entry(id.as_str()).or_default() += 1;
            }
        }
    }
    let head = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
    };
    head(
        &mut out,
        "barbican_audit_collector_nodes",
        "gauge",
        "Enrolled nodes by state (fresh, stale, never reported, revoked).",
    );
    for (s, n) in &by_state {
        let _ = writeln!(out, "barbican_audit_collector_nodes{{state=\"{s}\"}} {n}");
    }
    head(
        &mut out,
        "barbican_audit_collector_stale_nodes",
        "gauge",
        "Nodes whose last report is older than stale_after.",
    );
    let _ = writeln!(
        out,
        "barbican_audit_collector_stale_nodes {}",
        by_state.get("stale").copied().unwrap_or(0)
    );
    head(
        &mut out,
        "barbican_audit_collector_node_failing_checks",
        "gauge",
        "Checks failing or in error in the node's latest report.",
    );
    out.push_str(&node_lines.0);
    head(
        &mut out,
        "barbican_audit_collector_node_last_report_timestamp_seconds",
        "gauge",
        "Start of the node's latest audit (never later than its receipt).",
    );
    out.push_str(&node_lines.1);
    head(
        &mut out,
        "barbican_audit_collector_node_stale",
        "gauge",
        "1 when the node's last report is older than stale_after.",
    );
    out.push_str(&node_lines.2);
    head(
        &mut out,
        "barbican_audit_collector_check_failing_nodes",
        "gauge",
        "Nodes whose latest report fails (or errors on) the check.",
    );
    for (id, n) in &per_check {
        let _ = writeln!(
            out,
            "barbican_audit_collector_check_failing_nodes{{check=\"{}\"}} {n}",
            escape(id)
        );
    }
    head(
        &mut out,
        "barbican_audit_collector_reports_received_total",
        "counter",
        "Report uploads since the collector started, by result.",
    );
    for (r, n) in c.results() {
        let _ = writeln!(
            out,
            "barbican_audit_collector_reports_received_total{{result=\"{}\"}} {n}",
            r.as_str()
        );
    }
    let (buckets, count, sum) = c.histogram();
    head(
        &mut out,
        "barbican_audit_collector_ingest_duration_seconds",
        "histogram",
        "Time to answer a report upload.",
    );
    for (b, n) in BUCKETS.iter().zip(&buckets) {
        let _ = writeln!(
            out,
            "barbican_audit_collector_ingest_duration_seconds_bucket{{le=\"{b}\"}} {n}"
        );
    }
    let _ = writeln!(
        out,
        "barbican_audit_collector_ingest_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
    );
    let _ = writeln!(
        out,
        "barbican_audit_collector_ingest_duration_seconds_sum {sum}"
    );
    let _ = writeln!(
        out,
        "barbican_audit_collector_ingest_duration_seconds_count {count}"
    );
    out
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            html_escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn future_clock_does_not_stay_fresh() {
        let r = ReportRow {
            run_id: "r".into(),
            node: "n".into(),
            started_at_ms: 10_000_000_000_000,
            received_at_ms: 1_000,
            hostname: None,
            barbican_version: None,
            tool_version: "0.1.0".into(),
            status: "pass".into(),
            summary: [1, 0, 0, 0, 0],
            failing: vec![],
        };
        let n = NodeRow {
            name: "n".into(),
            enrolled_ms: 0,
            revoked: false,
            latest: Some(r),
        };
        assert_eq!(
            state(&n, 1_000 + 3_600_001, Duration::from_secs(3600)),
            NodeState::Stale
        );
        assert_eq!(
            state(&n, 1_000 + 3_599_000, Duration::from_secs(3600)),
            NodeState::Fresh
        );
    }
}
