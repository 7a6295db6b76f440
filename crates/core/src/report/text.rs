//! Text view: grouped by check, one line per finding with the status first,
//! a `fix:` line under each failing finding, then a summary line.
//! Colour only when asked (the caller decides: a terminal and no `NO_COLOR`).
use std::borrow::Cow;
use std::fmt::Write;

use super::{Report, Status};

/// Makes text from files and the command line safe to print on one line of
/// a terminal: C0 controls (newline, CR, tab, ESC...), DEL, C1 controls,
/// Unicode line/paragraph separators and bidi overrides are written as
/// `\n`, `\r`, `\t` or `\u{XX}`, so a file named `x\n  PASS   ...` cannot
/// forge a report line and terminal escapes do not reach the terminal.
/// Backslashes are left alone (the escape is for reading, not parsing).
/// JSON needs none of this: serde escapes control characters itself.
pub fn escape_control(s: &str) -> Cow<'_, str> {
    let bad = |c: char| {
        c.is_control()
            || matches!(
                c,
                '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
            )
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    };
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if bad(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

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
            let _ = writeln!(
                out,
                "{} [{}] {}",
                escape_control(&f.check_id),
                sev.as_str(),
                escape_control(&f.title)
            );
            current = Some(f.check_id.as_str());
        }
        // A target's finding (issue 17) names its target before the subject.
        let target = f
            .target
            .as_deref()
            .map(|t| format!("[{}] ", escape_control(t)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {target}{}: {}",
            paint(f.status),
            escape_control(&f.subject),
            escape_control(&f.message)
        );
        if matches!(f.status, Status::Fail | Status::Error) && !f.remediation.is_empty() {
            // A remediation may span lines (each gets its own `fix:`); inside
            // a line, controls are escaped like everything else.
            for line in f.remediation.lines() {
                let _ = writeln!(out, "         fix: {}", escape_control(line));
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
                escape_control(&w.check),
                escape_control(subject),
                escape_control(&w.expires.to_string())
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
            escape_control(&scan.keks.join(", "))
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
        let _ = writeln!(out, "warning: {}", escape_control(&w.to_string()));
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
        escape_control(&report.host.root.to_string()),
        escape_control(report.host.barbican_version.as_deref().unwrap_or("unknown")),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::escape_control;

    #[test]
    fn controls_are_escaped_and_plain_text_is_borrowed() {
        assert!(matches!(
            escape_control("/etc/barbican/a b.conf"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(
            escape_control("x\n  PASS   y\r\t\x1b[2J\x7f\u{85}\u{202e}\u{2028}é"),
            "x\\n  PASS   y\\r\\t\\u{1b}[2J\\u{7f}\\u{85}\\u{202e}\\u{2028}é"
        );
    }
}
