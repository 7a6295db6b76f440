//! One report model for every view (text, JSON, metrics, collector upload).
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// JSON schema version of [`Report`] (interface.md, "JSON report").
pub const SCHEMA_VERSION: u32 = 1;

/// Outcome of one finding. Order is "worst last" for `max()`:
/// na < pass < waived < error < fail (catalog.md: fail > error > waived > pass > na).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Does not apply here (the message says why).
    Na,
    /// Meets the rule.
    Pass,
    /// Fails or errors, but a waiver matched (the original status is in the evidence).
    Waived,
    /// Could not decide (the message says why).
    Error,
    /// Breaks the rule.
    Fail,
}

impl Status {
    /// Every status, in summary order.
    pub const ALL: [Status; 5] = [
        Status::Pass,
        Status::Fail,
        Status::Error,
        Status::Na,
        Status::Waived,
    ];

    /// Lowercase name as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Na => "na",
            Status::Pass => "pass",
            Status::Waived => "waived",
            Status::Error => "error",
            Status::Fail => "fail",
        }
    }
}

/// Severity of a check.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// Lowercase name as in JSON and TOML.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a lowercase name.
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "info" => Severity::Info,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }
}

/// One observation about one subject by one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// Stable check ID (`BAR-002`).
    pub check_id: String,
    /// Check title.
    pub title: String,
    /// Check severity.
    pub severity: Severity,
    /// Outcome.
    pub status: Status,
    /// References (Security Guide, SCS-0116, ...).
    pub references: Vec<String>,
    /// What was judged: a path, a pipeline, an option.
    pub subject: String,
    /// One sentence: what was found.
    pub message: String,
    /// Observed facts (sorted keys). Secrets appear only as fingerprints.
    pub evidence: BTreeMap<String, serde_json::Value>,
    /// What to run or change; empty when there is nothing to do.
    pub remediation: String,
    /// The deployment this finding is about (`kolla:barbican_api`), when the
    /// audited root is a host with targets; absent for the root itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// Counts of checks by their status (a check's status is the worst of its findings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Checks that passed.
    pub pass: usize,
    /// Checks that failed.
    pub fail: usize,
    /// Checks that could not decide.
    pub error: usize,
    /// Checks that do not apply.
    pub na: usize,
    /// Checks whose failures are all waived.
    pub waived: usize,
}

impl Summary {
    /// Adds one check's status.
    pub fn count(&mut self, s: Status) {
        match s {
            Status::Pass => self.pass += 1,
            Status::Fail => self.fail += 1,
            Status::Error => self.error += 1,
            Status::Na => self.na += 1,
            Status::Waived => self.waived += 1,
        }
    }
}

/// The producing tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Tool {
    /// `barbican-audit`.
    pub name: String,
    /// Crate version.
    pub version: String,
}

/// The audited host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HostInfo {
    /// Hostname (the root's `/etc/hostname` under `--root`), null when unknown.
    pub hostname: Option<String>,
    /// The audited root.
    pub root: String,
    /// Installed Barbican version, null when unknown or not installed.
    pub barbican_version: Option<String>,
    /// The deployment layout recognised on the root (`unknown` when none
    /// was; reports from before it existed read as `unknown`).
    #[serde(default)]
    pub layout: crate::layout::Layout,
}

/// This run (the only part that differs between two runs on the same host).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RunInfo {
    /// Random UUID of this run.
    pub id: String,
    /// RFC 3339 UTC start time.
    pub started_at: String,
    /// Wall time of the audit.
    pub duration_ms: u64,
}

/// Which catalog produced the findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CatalogInfo {
    /// SHA-256 of the canonical catalog (see `catalog::Catalog::sha256`).
    pub sha256: String,
    /// Number of checks.
    pub checks: usize,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What the disk scan read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScanSummary {
    /// Regular files examined (archive members not counted), including
    /// `unchanged_files`.
    pub files: u64,
    /// Bytes read from disk.
    pub bytes: u64,
    /// Files not read again: the scan cache knew them and they were
    /// unchanged (copies in them are reported from the cache).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unchanged_files: u64,
    /// Their bytes (not in `bytes`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unchanged_bytes: u64,
    /// Paths that could not be read completely.
    pub errors: u64,
    /// Fingerprints of the KEKs searched for.
    pub keks: Vec<String>,
    /// Mount points under the scanned paths that were not entered: the
    /// scan stays on one filesystem per path (`/proc`, `/sys`, `/dev` and
    /// `/run` are never scanned and not listed). Scan them with
    /// `--scan-path`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_filesystems: Vec<String>,
}

/// A waiver and what became of it in this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WaiverState {
    /// Check ID.
    pub check: String,
    /// Subject glob, if any.
    pub subject: Option<String>,
    /// Why it was granted.
    pub reason: String,
    /// Last day it applies (YYYY-MM-DD).
    pub expires: String,
    /// `applied` (waived at least one finding), `unused` (matched no failing finding), `expired`.
    pub state: String,
    /// Findings it matched.
    pub matched: usize,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// Always [`SCHEMA_VERSION`].
    #[schemars(extend("const" = SCHEMA_VERSION))]
    pub schema_version: u32,
    /// Producing tool.
    pub tool: Tool,
    /// Audited host.
    pub host: HostInfo,
    /// This run.
    pub run: RunInfo,
    /// Catalog used.
    pub catalog: CatalogInfo,
    /// Checks by status.
    pub summary: Summary,
    /// Findings sorted by check ID, then subject.
    pub findings: Vec<Finding>,
    /// Waivers given with `--waivers` and their fate (empty without waivers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waivers: Vec<WaiverState>,
    /// What the disk scan covered (only when it ran: `scan` or `audit --scan`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanSummary>,
    /// Non-fatal problems met while auditing (malformed passwd lines, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Findings left out of `findings`, by check ID: a check keeps at most
    /// [`MAX_FINDINGS_PER_CHECK`], the worst first (absent when nothing was left out).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub omitted_findings: BTreeMap<String, usize>,
}

/// Findings one check may put in a report. A node with thousands of KEK copies (BAR-013) or
/// policy files (BAR-001/002) would otherwise make a report larger than the collector takes
/// (1 MiB by default, answered 413), and the fleet would show the node as never reporting
/// instead of failing. The check's status and the summary are those of all its findings.
pub const MAX_FINDINGS_PER_CHECK: usize = 100;

/// Keeps at most `max` findings per check in `findings` (sorted by check, then subject): the
/// worst status first, then the highest severity, then subject order; the kept ones stay in
/// subject order. Returns how many were left out, by check.
pub fn bound_findings(findings: &mut Vec<Finding>, max: usize) -> BTreeMap<String, usize> {
    let mut omitted = BTreeMap::new();
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    let mut rest = std::mem::take(findings).into_iter().peekable();
    while let Some(first) = rest.next() {
        let mut group = vec![first];
        while let Some(f) = rest.next_if(|f| f.check_id == group[0].check_id) {
            group.push(f);
        }
        if group.len() > max {
            let id = group[0].check_id.clone();
            omitted.insert(id, group.len() - max);
            // Stable sort: equal findings keep subject order.
            group.sort_by_key(|f| std::cmp::Reverse((f.status, f.severity)));
            group.truncate(max);
            group.sort_by(|a, b| a.subject.cmp(&b.subject));
        }
        out.extend(group);
    }
    *findings = out;
    omitted
}

impl Report {
    /// Each check's status (the worst of its findings), in check order.
    pub fn check_statuses(&self) -> Vec<(&str, Severity, Status)> {
        let mut out: Vec<(&str, Severity, Status)> = Vec::new();
        for f in &self.findings {
            match out.last_mut() {
                Some(last) if last.0 == f.check_id => {
                    last.1 = last.1.max(f.severity);
                    last.2 = last.2.max(f.status);
                }
                _ => out.push((f.check_id.as_str(), f.severity, f.status)),
            }
        }
        out
    }

    /// Exit status under `--fail-on` (`None` = never fail): 1 when a finding
    /// at or above the threshold failed, or any finding is an error.
    pub fn exit_code(&self, fail_on: Option<Severity>) -> u8 {
        let Some(threshold) = fail_on else { return 0 };
        let bad = self.findings.iter().any(|f| {
            f.status == Status::Error || (f.status == Status::Fail && f.severity >= threshold)
        });
        u8::from(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_status_order() {
        let mut v = vec![
            Status::Pass,
            Status::Fail,
            Status::Na,
            Status::Error,
            Status::Waived,
        ];
        v.sort();
        assert_eq!(
            v,
            [
                Status::Na,
                Status::Pass,
                Status::Waived,
                Status::Error,
                Status::Fail
            ]
        );
    }
    fn f(check: &str, subject: &str, status: Status) -> Finding {
        Finding {
            check_id: check.into(),
            title: String::new(),
            severity: Severity::High,
            status,
            references: Vec::new(),
            subject: subject.into(),
            message: String::new(),
            evidence: BTreeMap::new(),
            remediation: String::new(),
            target: None,
        }
    }

    #[test]
    fn bounding_keeps_the_worst_in_subject_order_and_counts_the_rest() {
        let mut v = vec![
            f("BAR-001", "a", Status::Pass),
            f("BAR-001", "b", Status::Pass),
            f("BAR-001", "c", Status::Error),
            f("BAR-001", "d", Status::Pass),
            f("BAR-001", "e", Status::Fail),
            f("BAR-002", "a", Status::Pass),
            f("BAR-002", "b", Status::Pass),
            f("BAR-003", "a", Status::Na),
            f("BAR-003", "b", Status::Na),
            f("BAR-003", "c", Status::Na),
        ];
        let omitted = bound_findings(&mut v, 2);
        let kept: Vec<(&str, &str)> = v
            .iter()
            .map(|x| (x.check_id.as_str(), x.subject.as_str()))
            .collect();
        assert_eq!(
            kept,
            [
                ("BAR-001", "c"),
                ("BAR-001", "e"),
                ("BAR-002", "a"),
                ("BAR-002", "b"),
                ("BAR-003", "a"),
                ("BAR-003", "b"),
            ]
        );
        assert_eq!(
            omitted.into_iter().collect::<Vec<_>>(),
            [("BAR-001".to_string(), 3), ("BAR-003".to_string(), 1)]
        );
    }
}
