//! Prometheus textfile view (interface.md "Prometheus textfile"): gauges
//! only, HELP and TYPE for each family, no sample timestamps (node_exporter
//! drops a whole file that has one), label values escaped, zero series kept
//! so no series vanishes between runs.
use std::fmt::Write;

use super::{Report, Severity, Status};

const SEVERITIES: [Severity; 5] = [
    Severity::Info,
    Severity::Low,
    Severity::Medium,
    Severity::High,
    Severity::Critical,
];

/// Escapes a label value: backslash, double quote and newline.
/// See: https://prometheus.io/docs/instrumenting/exposition_formats/
pub fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn family(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
}

/// The metrics of a completed audit. `now` is the run's start (Unix seconds).
pub fn render(report: &Report, now: f64) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "barbican_audit_check_status",
        "1 when the check failed or could not decide (fail or error), 0 for pass, na or waived.",
    );
    let statuses = report.check_statuses();
    // A host with targets (issue 17): the series without `target` keep
    // their labels and stay the report's check status (the worst over the
    // host and its targets, so an alert on them still fires); each target's
    // check gets the same series with a `target` label too.
    let by_target = target_statuses(report);
    for (id, sev, st) in &statuses {
        let bad = u8::from(matches!(st, Status::Fail | Status::Error));
        let _ = writeln!(
            out,
            "barbican_audit_check_status{{check=\"{}\",severity=\"{}\"}} {bad}",
            escape(id),
            sev.as_str()
        );
    }
    for (target, id, sev, st) in &by_target {
        let bad = u8::from(matches!(st, Status::Fail | Status::Error));
        let _ = writeln!(
            out,
            "barbican_audit_check_status{{check=\"{}\",severity=\"{}\",target=\"{}\"}} {bad}",
            escape(id),
            sev.as_str(),
            escape(target)
        );
    }
    family(
        &mut out,
        "barbican_audit_check_result",
        "1 for the check's status (worst of its findings), 0 for the other statuses.",
    );
    for (id, _, st) in &statuses {
        for s in Status::ALL {
            let _ = writeln!(
                out,
                "barbican_audit_check_result{{check=\"{}\",status=\"{}\"}} {}",
                escape(id),
                s.as_str(),
                u8::from(*st == s)
            );
        }
    }
    for (target, id, _, st) in &by_target {
        for s in Status::ALL {
            let _ = writeln!(
                out,
                "barbican_audit_check_result{{check=\"{}\",status=\"{}\",target=\"{}\"}} {}",
                escape(id),
                s.as_str(),
                escape(target),
                u8::from(*st == s)
            );
        }
    }
    family(
        &mut out,
        "barbican_audit_findings",
        "Number of findings by check severity and finding status.",
    );
    for sev in SEVERITIES {
        for s in Status::ALL {
            let n = report
                .findings
                .iter()
                .filter(|f| f.severity == sev && f.status == s)
                .count();
            let _ = writeln!(
                out,
                "barbican_audit_findings{{severity=\"{}\",status=\"{}\"}} {n}",
                sev.as_str(),
                s.as_str()
            );
        }
    }
    family(
        &mut out,
        "barbican_audit_findings_omitted",
        &format!(
            "Findings of the check left out of the report (it holds at most {} per check, the worst first).",
            super::MAX_FINDINGS_PER_CHECK
        ),
    );
    for (id, _, _) in &statuses {
        let _ = writeln!(
            out,
            "barbican_audit_findings_omitted{{check=\"{}\"}} {}",
            escape(id),
            report.omitted_findings.get(*id).copied().unwrap_or(0)
        );
    }
    family(
        &mut out,
        "barbican_audit_last_run_timestamp_seconds",
        "Unix time the last audit started, whether or not it could run.",
    );
    let _ = writeln!(out, "barbican_audit_last_run_timestamp_seconds {now}");
    family(
        &mut out,
        "barbican_audit_last_success_timestamp_seconds",
        "Unix time of the last audit that ran to completion (findings or not).",
    );
    let _ = writeln!(out, "barbican_audit_last_success_timestamp_seconds {now}");
    family(
        &mut out,
        "barbican_audit_run_duration_seconds",
        "Wall time of the last completed audit.",
    );
    let _ = writeln!(
        out,
        "barbican_audit_run_duration_seconds {}",
        report.run.duration_ms as f64 / 1000.0
    );
    if let Some(scan) = &report.scan {
        family(
            &mut out,
            "barbican_audit_scan_bytes",
            "Bytes the last disk scan for KEK copies read (BAR-013).",
        );
        let _ = writeln!(out, "barbican_audit_scan_bytes {}", scan.bytes);
    }
    family(
        &mut out,
        "barbican_audit_info",
        "Version of barbican-audit and sha256 of the check catalog used.",
    );
    let _ = writeln!(
        out,
        "barbican_audit_info{{version=\"{}\",catalog_sha256=\"{}\"}} 1",
        escape(&report.tool.version),
        escape(&report.catalog.sha256)
    );
    out
}

/// Each (target, check)'s severity and worst status, for the findings that
/// carry a target, sorted by target then check.
fn target_statuses(report: &Report) -> Vec<(&str, &str, Severity, Status)> {
    let mut map: std::collections::BTreeMap<(&str, &str), (Severity, Status)> =
        std::collections::BTreeMap::new();
    for f in &report.findings {
        let Some(t) = f.target.as_deref() else {
            continue;
        };
        let e = map
            .entry((t, f.check_id.as_str()))
            .or_insert((f.severity, f.status));
        e.0 = e.0.max(f.severity);
        e.1 = e.1.max(f.status);
    }
    map.into_iter()
        .map(|((t, id), (sev, st))| (t, id, sev, st))
        .collect()
}

/// The metrics after an audit that could not run: the previous file's series
/// stay as they were (they describe the last audit that did run), only
/// `barbican_audit_last_run_timestamp_seconds` moves, so "no success for two
/// hours" alerts while the last known check states stay visible.
pub fn render_failed_run(previous: Option<&str>, now: f64) -> String {
    const RUN: &str = "barbican_audit_last_run_timestamp_seconds";
    let mut out = String::new();
    let mut replaced = false;
    if let Some(prev) = previous {
        for line in prev.lines() {
            if line.starts_with(&format!("{RUN} ")) {
                let _ = writeln!(out, "{RUN} {now}");
                replaced = true;
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    if !replaced {
        family(
            &mut out,
            RUN,
            "Unix time the last audit started, whether or not it could run.",
        );
        let _ = writeln!(out, "{RUN} {now}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_escaping() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn failed_run_keeps_series_and_moves_last_run() {
        let prev = "# HELP barbican_audit_last_run_timestamp_seconds x\n# TYPE barbican_audit_last_run_timestamp_seconds gauge\nbarbican_audit_last_run_timestamp_seconds 100\nbarbican_audit_last_success_timestamp_seconds 100\nbarbican_audit_check_status{check=\"BAR-001\",severity=\"high\"} 1\n";
        let next = render_failed_run(Some(prev), 200.0);
        assert!(next.contains("barbican_audit_last_run_timestamp_seconds 200\n"));
        assert!(next.contains("barbican_audit_last_success_timestamp_seconds 100\n"));
        assert!(next.contains("check=\"BAR-001\""));
        let fresh = render_failed_run(None, 300.0);
        assert!(fresh.contains("# TYPE barbican_audit_last_run_timestamp_seconds gauge\nbarbican_audit_last_run_timestamp_seconds 300\n"));
        assert!(!fresh.contains("last_success"));
    }
}
