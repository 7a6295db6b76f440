//! The report decoder: request bytes in, a validated report ready to store
//! out, or the reason it was refused. A body that is not JSON (not UTF-8, a
//! syntax error, truncated) is a 400; well-formed JSON that is not a valid
//! schema_version 1 report is a 422. Nesting deeper than serde_json's 128
//! levels is well-formed JSON (RFC 8259 sets no depth limit) that no report
//! has, so it is a 422 too, whether at the top or deep in `evidence`; the
//! syntax pass that tells the two apart does not recurse, so no depth can
//! exhaust the stack. Nothing here touches storage, so a refused report can
//! never be half-stored.
use std::collections::HashSet;

use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;

use crate::report::{Report, Status, Summary, SCHEMA_VERSION};

/// Findings one report may carry (the catalog has 13 checks; a scan can
/// add many BAR-013 findings, but not a million).
pub const MAX_FINDINGS: usize = 10_000;

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Not JSON at all (HTTP 400).
    #[error("malformed JSON: {0}")]
    Malformed(String),
    /// JSON, but not a report this collector accepts, deep nesting included (HTTP 422).
    #[error("invalid report: {0}")]
    Invalid(String),
}

/// A finding as the collector keeps it (evidence and remediation stay in
/// the raw body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingRow {
    /// Check ID.
    pub check_id: String,
    /// Severity (lowercase).
    pub severity: String,
    /// Status (lowercase).
    pub status: String,
    /// Subject.
    pub subject: String,
    /// Check title.
    pub title: String,
    /// One-line message.
    pub message: String,
    /// `finding.target`: the deployment (container, chroot) the finding is
    /// about; `None` for the audited root itself.
    pub target: Option<String>,
}

/// A validated report, ready for [`crate::collector::store::Store::ingest`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewReport {
    /// `run.id`, as a lowercase hyphenated UUID.
    pub run_id: String,
    /// `run.started_at` in milliseconds since the epoch.
    pub started_at_ms: i64,
    /// Hex SHA-256 of the body as received (idempotency: same ID, same hash).
    pub body_sha256: String,
    /// The body as received (valid UTF-8 JSON).
    pub body: String,
    /// `host.hostname` as the agent saw it (the node name comes from the token).
    pub hostname: Option<String>,
    /// `host.barbican_version`.
    pub barbican_version: Option<String>,
    /// `tool.version`.
    pub tool_version: String,
    /// `host.layout` as its name (`unknown` when none was recognised).
    pub layout: String,
    /// `catalog.sha256`.
    pub catalog_sha256: String,
    /// Checks by status.
    pub summary: Summary,
    /// Worst check status: `fail`, `error` or `pass` (na/waived count as pass).
    pub status: String,
    /// Check IDs whose status is fail or error, sorted, unique.
    pub failing: Vec<String>,
    /// Every finding, in report order.
    pub findings: Vec<FindingRow>,
}

/// Decodes and validates one request body.
pub fn decode(body: &[u8]) -> Result<NewReport, Rejection> {
    let text = std::str::from_utf8(body)
        .map_err(|e| Rejection::Malformed(format!("body is not UTF-8: {e}")))?;
    // serde_path_to_error wraps the typed decode to say *where* it failed:
    // the report schema is generated from this same model, so that place
    // is the first schema violation (a 422 names it as a JSON pointer).
    let mut de = serde_json::Deserializer::from_str(text);
    let decoded: Result<Report, serde_path_to_error::Error<serde_json::Error>> =
        serde_path_to_error::deserialize(&mut de);
    let report: Report = match decoded {
        // As serde_json::from_str: nothing but whitespace after the value.
        Ok(r) => match de.end() {
            Ok(()) => r,
            Err(e) => return Err(Rejection::Malformed(e.to_string())),
        },
        Err(e) => {
            let at = json_pointer(e.path());
            let e = e.into_inner();
            // The typed parse stops at the first problem, which may be a
            // wrong type before a syntax error further on (or a syntax
            // error serde reports as a type error, e.g. `[` where an enum
            // goes). Only a plain syntax pass tells 400 from 422 exactly.
            if let Err(syntax) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
                return Err(Rejection::Malformed(syntax.to_string()));
            }
            return Err(match peek_version(text) {
                Some(v) if v != u64::from(SCHEMA_VERSION) => unsupported(v),
                _ => {
                    Rejection::Invalid(format!("schema violation at {at}: {}", cut(&e.to_string())))
                }
            });
        }
    };
    if report.schema_version != SCHEMA_VERSION {
        return Err(unsupported(u64::from(report.schema_version)));
    }
    validate(&report)?;
    let run_id = uuid::Uuid::parse_str(&report.run.id)
        .map_err(|e| Rejection::Invalid(format!("run.id {:?} is not a UUID: {e}", report.run.id)))?
        .hyphenated()
        .to_string();
    let started = time::OffsetDateTime::parse(&report.run.started_at, &Rfc3339).map_err(|e| {
        Rejection::Invalid(format!(
            "run.started_at {:?} is not RFC 3339: {e}",
            report.run.started_at
        ))
    })?;
    let started_at_ms = i64::try_from(started.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| Rejection::Invalid("run.started_at out of range".into()))?;
    let statuses = report.check_statuses();
    let mut failing: Vec<String> = statuses
        .iter()
        .filter(|(_, _, s)| matches!(s, Status::Fail | Status::Error))
        .map(|(id, _, _)| id.to_string())
        .collect();
    failing.sort();
    failing.dedup();
    let worst = statuses
        .iter()
        .map(|(_, _, s)| *s)
        .filter(|s| matches!(s, Status::Fail | Status::Error))
        .max();
    let status = match worst {
        Some(Status::Fail) => "fail",
        Some(_) => "error",
        None => "pass",
    };
    Ok(NewReport {
        run_id,
        started_at_ms,
        body_sha256: barbican_audit_support::hex(&Sha256::digest(body)),
        body: text.to_string(),
        hostname: report.host.hostname.clone(),
        barbican_version: report.host.barbican_version.clone(),
        tool_version: report.tool.version.clone(),
        layout: report.host.layout.as_str().to_string(),
        catalog_sha256: report.catalog.sha256.clone(),
        summary: report.summary.clone(),
        status: status.into(),
        failing,
        findings: report
            .findings
            .iter()
            .map(|f| FindingRow {
                check_id: f.check_id.clone(),
                severity: f.severity.as_str().into(),
                status: f.status.as_str().into(),
                subject: f.subject.clone(),
                title: f.title.clone(),
                message: f.message.clone(),
                target: f.target.clone(),
            })
            .collect(),
    })
}

/// `text` cut to 300 characters: serde's message quotes the offending
/// value, which the client controls and may make as long as the body.
fn cut(text: &str) -> String {
    const MAX: usize = 300;
    if text.chars().count() <= MAX {
        return text.to_string();
    }
    text.chars().take(MAX).collect::<String>() + "..."
}

/// `findings[1].status` as the JSON pointer `/findings/1/status` (the
/// notation of JSON Schema validators' instance paths); the top level is `/`.
fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        out.push('/');
        match seg {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } => out.push_str(&key.replace('~', "~0").replace('/', "~1")),
            Segment::Enum { variant } => out.push_str(variant),
            Segment::Unknown => out.push('?'),
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

fn unsupported(v: u64) -> Rejection {
    Rejection::Invalid(format!(
        "schema_version {v} is not supported (this collector accepts {SCHEMA_VERSION})"
    ))
}

/// `schema_version` of a body that did not decode as a report, if it has one.
fn peek_version(text: &str) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Peek {
        schema_version: Option<u64>,
    }
    serde_json::from_str::<Peek>(text).ok()?.schema_version
}

fn validate(r: &Report) -> Result<(), Rejection> {
    let bad = |m: String| Err(Rejection::Invalid(m));
    if r.tool.name.is_empty() || r.tool.version.is_empty() {
        return bad("tool.name and tool.version must not be empty".into());
    }
    if r.catalog.sha256.len() != 64 || !r.catalog.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return bad("catalog.sha256 must be 64 hex digits".into());
    }
    if r.findings.is_empty() {
        return bad("a report has at least one finding".into());
    }
    if r.findings.len() > MAX_FINDINGS {
        return bad(format!(
            "{} findings; at most {MAX_FINDINGS} are accepted",
            r.findings.len()
        ));
    }
    let mut seen = HashSet::new();
    for (i, f) in r.findings.iter().enumerate() {
        if !valid_check_id(&f.check_id) {
            return bad(format!(
                "findings[{i}].check_id {:?} is not a check ID",
                f.check_id
            ));
        }
        // A host with targets has one finding per target for the same
        // check and subject (each kolla container's barbican.conf).
        if !seen.insert((f.check_id.as_str(), f.target.as_deref(), f.subject.as_str())) {
            return bad(format!(
                "findings[{i}]: duplicate finding for check {}, target {:?} and subject {:?}",
                f.check_id,
                f.target.as_deref().unwrap_or("(the host)"),
                f.subject
            ));
        }
    }
    let mut summary = Summary::default();
    for (_, _, s) in r.check_statuses() {
        summary.count(s);
    }
    // check_statuses() groups adjacent findings: a check split in two
    // groups would count twice, which the sort order rules out.
    let mut ids: Vec<&str> = r.findings.iter().map(|f| f.check_id.as_str()).collect();
    ids.dedup();
    let groups = ids.len();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() != groups {
        return bad("findings are not grouped by check_id".into());
    }
    if summary != r.summary {
        return bad(format!(
            "summary {:?} does not match the findings (they give {:?})",
            r.summary, summary
        ));
    }
    Ok(())
}

/// `BAR-001` and other catalogs' IDs: 1-32 of `A-Z a-z 0-9 . _ -`.
fn valid_check_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 32
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_is_an_invalid_report_and_broken_json_is_malformed() {
        // 422 for well-formed JSON nested past serde_json's limit, at the top or inside a
        // report; 400 only when the syntax is broken.
        let deep = "[".repeat(30_000) + &"]".repeat(30_000);
        assert!(matches!(
            decode(deep.as_bytes()),
            Err(Rejection::Invalid(_))
        ));
        let inner = format!(
            "{{\"schema_version\": 1, \"findings\": {}{}}}",
            "[".repeat(200),
            "]".repeat(200)
        );
        assert!(matches!(
            decode(inner.as_bytes()),
            Err(Rejection::Invalid(_))
        ));
        let unclosed = "[".repeat(30_000) + &"]".repeat(29_999);
        assert!(matches!(
            decode(unclosed.as_bytes()),
            Err(Rejection::Malformed(_))
        ));
        assert!(matches!(
            decode(b"{\"schema_version\": 1,"),
            Err(Rejection::Malformed(_))
        ));
    }
}
