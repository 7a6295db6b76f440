//! Text view: grouped by check, one line per finding with the status first,
//! a `fix:` line under each failing finding, then a summary line.
//! Colour only when asked (the caller decides: a terminal and no `NO_COLOR`).
use std::fmt::Write;

use super::{Report, Status};

/// Renders the report; `colour` adds ANSI colour to the status words.
pub fn render(report: &Report, colour: bool) -> String {
    let mut out = String::new();
    let paint = |s: Status| -> String {
        let word = format!("{:<6}", s.as_str().to_uppercase());
        if !colour {
            return word;
        }
        let code = match s {
            Status::Fail => "1;31",
            Status::Error => "1;35",
            Status::Waived => "33",
            Status::Pass => "32",
            Status::Na => "2",
        };
        format!("\x1b[{code}m{word}\x1b[0m")
    };
    let omitted = |out: &mut String, check: Option<&str>| {
        if let Some(n) = check.and_then(|c| report.omitted_findings.get(c)) {
            let _ = writeln!(
                out,
                "  ...    {n} more finding{} of this check not shown (a report holds at most {} per check, the worst first)",
                if *n == 1 { "" } else { "s" },
                super::MAX_FINDINGS_PER_CHECK
            );
        }
    };
    let mut current: Option<&str> = None;
    for f in &report.findings {
        if current != Some(f.check_id.as_str()) {
            if current.is_some() {
                omitted(&mut out, current);
                out.push('\n');
            }
            // The check's severity: the highest of its findings (a scan may add
            // lower-severity findings to a critical check).
            let sev = report
                .findings
                .iter()
                .filter(|x| x.check_id == f.check_id)
                .map(|x| x.severity)
                .max()
                .unwrap_or(f.severity);
            let _ = writeln!(out, "{} [{}] {}", f.check_id, sev.as_str(), f.title);
            current = Some(f.check_id.as_str());
        }
        let _ = writeln!(out, "  {} {}: {}", paint(f.status), f.subject, f.message);
        if matches!(f.status, Status::Fail | Status::Error) && !f.remediation.is_empty() {
            for line in f.remediation.lines() {
                let _ = writeln!(out, "         fix: {line}");
            }
        }
    }
    omitted(&mut out, current);
    if !report.waivers.is_empty() {
        out.push('\n');
        for w in &report.waivers {
            let subject = w.subject.as_deref().unwrap_or("*");
            let plural = if w.matched == 1 { "" } else { "s" };
            let fate = match w.state.as_str() {
                "expired" => format!(
                    "expired, no longer applies (would match {} finding{plural})",
                    w.matched
                ),
                "applied" => format!("applied to {} finding{plural}", w.matched),
                _ => "unused: matched no failing finding".to_string(),
            };
            let _ = writeln!(
                out,
                "waiver {} {} (expires {}): {fate}",
                w.check, subject, w.expires
            );
        }
    }
    if let Some(scan) = &report.scan {
        let _ = writeln!(
            out,
            "\nscan: {} files, {} bytes read, {} paths not fully read; KEKs searched: {}",
            scan.files,
            scan.bytes,
            scan.errors,
            scan.keks.join(", ")
        );
        if scan.unchanged_files > 0 {
            let _ = writeln!(
                out,
                "scan cache: {} files ({} bytes) unchanged since an earlier scan, not read again (their copies, if any, are listed above)",
                scan.unchanged_files, scan.unchanged_bytes
            );
        }
        for m in &scan.other_filesystems {
            let _ = writeln!(
                out,
                "not scanned: {m} is another filesystem: add --scan-path {m}"
            );
        }
    }
    for w in &report.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "\n{} checks: {} pass, {} fail, {} error, {} na, {} waived; root {}, barbican {}",
        report.catalog.checks,
        s.pass,
        s.fail,
        s.error,
        s.na,
        s.waived,
        report.host.root,
        report.host.barbican_version.as_deref().unwrap_or("unknown"),
    );
    out
}
