//! Runs every check of a catalog against a host and builds the report.
//! Checks are never mutated: definitions in, findings out.
use std::time::Instant;

use serde_json::json;
use time::OffsetDateTime;

use crate::catalog::{fill, Catalog, Check};
use crate::host::Host;
use crate::probe::{conditions, Facts, Gate, InputProblem, Observation, ScanRequest, ScanResult};
use crate::report::{
    CatalogInfo, Finding, HostInfo, Report, RunInfo, Status, Summary, Tool, WaiverState,
};
use crate::waiver::Waiver;

/// What the engine needs besides the catalog and the host: injected so tests
/// can pin the clock and the host name.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Start of the run (also "today" for waiver expiry).
    pub now: OffsetDateTime,
    /// Host name to report.
    pub hostname: Option<String>,
    /// Run ID.
    pub run_id: String,
    /// Waivers to apply.
    pub waivers: Vec<Waiver>,
}

/// Judges every check of `catalog` on `host` and builds the report;
/// `scan` requests the disk scan for BAR-013.
pub fn audit_host(
    catalog: &Catalog,
    host: &Host,
    settings: &RunSettings,
    scan: Option<ScanRequest>,
) -> Report {
    let started = Instant::now();
    let facts = Facts::new(host, scan);
    let mut findings = Vec::new();
    let mut scanned = None;
    for check in &catalog.checks {
        let judged = judge(check, &facts);
        findings.extend(judged.findings);
        // One scan's coverage per report (a catalog scans once).
        scanned = scanned.or(judged.scan);
    }
    let info = CatalogInfo {
        sha256: catalog.sha256.clone(),
        checks: catalog.checks.len(),
    };
    assemble(findings, info, scanned, &facts, settings, started)
}

/// The report of `barbican-audit scan`: the disk scan check (BAR-013) of
/// `catalog` alone, judged with the scan `req`.
pub fn scan_report(
    catalog: &Catalog,
    check: &Check,
    host: &Host,
    settings: &RunSettings,
    req: ScanRequest,
) -> Report {
    let started = Instant::now();
    let facts = Facts::new(host, Some(req));
    let judged = judge(check, &facts);
    let info = CatalogInfo {
        sha256: catalog.sha256.clone(),
        checks: 1,
    };
    assemble(
        judged.findings,
        info,
        judged.scan,
        &facts,
        settings,
        started,
    )
}

/// The report from the checks' findings: sorted, waived, counted, bounded.
fn assemble(
    mut findings: Vec<Finding>,
    catalog: CatalogInfo,
    scanned: Option<ScanResult>,
    facts: &Facts<'_>,
    settings: &RunSettings,
    started: Instant,
) -> Report {
    let host = facts.host;
    findings.sort_by(|a, b| {
        (a.check_id.as_str(), a.subject.as_str()).cmp(&(b.check_id.as_str(), b.subject.as_str()))
    });
    let waivers = apply_waivers(&mut findings, &settings.waivers, settings.now.date());
    // Each check's status from all its findings, before any is left out.
    let mut summary = Summary::default();
    let mut all_statuses = Vec::new();
    for f in &findings {
        match all_statuses.last_mut() {
            Some((id, st)) if *id == f.check_id => *st = f.status.max(*st),
            _ => all_statuses.push((f.check_id.clone(), f.status)),
        }
    }
    for (_, s) in &all_statuses {
        summary.count(*s);
    }
    let omitted_findings =
        crate::report::bound_findings(&mut findings, crate::report::MAX_FINDINGS_PER_CHECK);
    let (scan, scan_warnings) = match scanned {
        Some(s) => (Some(s.summary), s.warnings),
        None => (None, Vec::new()),
    };
    let mut report = Report {
        schema_version: crate::report::SCHEMA_VERSION,
        tool: Tool {
            name: "barbican-audit".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        host: HostInfo {
            hostname: settings.hostname.clone(),
            root: host.root().display().to_string(),
            barbican_version: facts.installed().version.clone(),
            layout: facts.layout(),
        },
        run: RunInfo {
            id: settings.run_id.clone(),
            started_at: settings
                .now
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            duration_ms: 0,
        },
        catalog,
        summary: Summary::default(),
        findings,
        waivers,
        scan,
        warnings: host
            .users
            .warnings
            .iter()
            .cloned()
            .chain(scan_warnings)
            .collect(),
        omitted_findings,
    };
    // The worst finding of each check is kept, so the bounded report gives the same summary
    // (the collector checks it).
    debug_assert_eq!(
        report.check_statuses().len(),
        all_statuses.len(),
        "bounding findings dropped a check"
    );
    report.summary = summary;
    // Rounded up: a run that took 0.4 ms took time.
    report.run.duration_ms =
        u64::try_from(started.elapsed().as_micros().div_ceil(1000)).unwrap_or(u64::MAX);
    report
}

/// One `error` observation per input that could not be read or parsed.
fn input_errors(problems: &[&InputProblem]) -> Vec<Observation> {
    problems
        .iter()
        .map(|p| {
            let path = p.path.display().to_string();
            Observation::new(
                path.clone(),
                Status::Error,
                format!("{}; this check cannot judge what it sets", p.reason),
            )
            .ev("input", path)
        })
        .collect()
}

/// One check's findings, and the disk scan's coverage if its probe scanned.
#[derive(Debug)]
pub struct Judged {
    /// The findings, unsorted.
    pub findings: Vec<Finding>,
    /// What the scan covered, if the probe ran one.
    pub scan: Option<ScanResult>,
}

/// Judges one check: its inputs' problems (fail closed), then its
/// `applies-if` conditions, then its probe.
pub fn judge(check: &Check, facts: &Facts<'_>) -> Judged {
    let spec = &check.probe;
    let (layout, container) = (facts.layout(), facts.container());
    let findings = |observations: Vec<Observation>| -> Vec<Finding> {
        observations
            .into_iter()
            .map(|o| finding(check, o, layout, container))
            .collect()
    };
    // Fail closed: an input of this check that could not be read or parsed
    // is an `error` naming it, never a pass or a judgement of a default.
    // The conditions are not consulted then: they read the same inputs.
    let reads = spec.reads(facts);
    let problems = facts.problems_for(reads, spec.name());
    if per_program(reads, &problems) {
        return Judged {
            findings: findings(judge_per_program(check, facts, reads, &problems)),
            scan: None,
        };
    }
    if !problems.is_empty() {
        let errors = input_errors(&problems);
        let (observations, scan) = match spec.gate() {
            Gate::Replace => (errors, None),
            Gate::KeepFails => {
                let observed = spec.observe(facts);
                let kept = observed
                    .observations
                    .into_iter()
                    .filter(|o| {
                        o.status == Status::Fail
                            || (o.status == Status::Error
                                && !errors.iter().any(|e| e.subject == o.subject))
                    })
                    .chain(errors.iter().cloned())
                    .collect();
                (kept, observed.scan)
            }
            Gate::Add => {
                let observed = spec.observe(facts);
                let mut out = observed.observations;
                for e in errors {
                    if !out
                        .iter()
                        .any(|o| o.subject == e.subject && o.status == Status::Error)
                    {
                        out.push(e);
                    }
                }
                (out, observed.scan)
            }
        };
        return Judged {
            findings: findings(observations),
            scan,
        };
    }
    let unmet = if spec.applies_regardless(facts) {
        None
    } else {
        conditions::first_unmet(&check.applies_if, facts)
    };
    if let Some((unmet, why)) = unmet {
        return Judged {
            findings: findings(vec![Observation::new(unmet.subject(), Status::Na, why)]),
            scan: None,
        };
    }
    let observed = spec.observe(facts);
    Judged {
        findings: findings(observed.observations),
        scan: observed.scan,
    }
}

/// Whether a check's input problems are judged per consumer program: the
/// probe reads the consumers' configs and every problem is in one of them.
/// Each program reads its own files (nova-compute does not read
/// cinder.conf), so an unreadable cinder.conf makes cinder's findings
/// `error` and leaves nova's standing.
fn per_program(reads: crate::probe::Reads, problems: &[&InputProblem]) -> bool {
    !problems.is_empty()
        && reads.inputs.contains(&crate::probe::Input::ConsumerConfig)
        && problems
            .iter()
            .all(|p| p.input == crate::probe::Input::ConsumerConfig)
}

/// The consumer programs' observations, each gated by the problems of the
/// files its program reads. An observation that names no program (a file,
/// a service) is gated by every problem, as [`judge`] does: fail closed.
fn judge_per_program(
    check: &Check,
    facts: &Facts<'_>,
    reads: crate::probe::Reads,
    problems: &[&InputProblem],
) -> Vec<Observation> {
    let spec = &check.probe;
    // The conditions name which services are installed, never what their
    // files say, so they hold whatever a file's problem is.
    if let Some((unmet, why)) = conditions::first_unmet(&check.applies_if, facts) {
        return vec![Observation::new(unmet.subject(), Status::Na, why)];
    }
    let mut out: Vec<Observation> = Vec::new();
    for o in spec.observe(facts).observations {
        let own = facts.consumer_problems_of(&o.subject, reads, spec.name());
        let errors = match &own {
            Some(own) => input_errors(&own.iter().collect::<Vec<_>>()),
            None => input_errors(problems),
        };
        if errors.is_empty() {
            out.push(o);
            continue;
        }
        let keep = match spec.gate() {
            Gate::Replace => false,
            Gate::KeepFails => matches!(o.status, Status::Fail | Status::Error),
            Gate::Add => true,
        };
        if keep {
            out.push(o);
        }
        for e in errors {
            if !out
                .iter()
                .any(|x| x.subject == e.subject && x.status == Status::Error)
            {
                out.push(e);
            }
        }
    }
    out
}

/// A finding from an observation; the fix is the one the check holds for
/// the root's deployment layout, where the deployment tool keeps the
/// setting (the generic one when the check has none for it), with the
/// host's variables (`catalog::HOST_VARS`) beside the probe's.
fn finding(
    check: &Check,
    mut o: Observation,
    layout: crate::layout::Layout,
    container: &str,
) -> Finding {
    o.vars
        .entry("container".to_string())
        .or_insert_with(|| container.to_string());
    let template = match o.status {
        Status::Pass => check.message.pass.as_deref(),
        Status::Fail => check.message.fail.as_deref(),
        Status::Error => check.message.error.as_deref(),
        Status::Na => check.message.na.as_deref(),
        Status::Waived => None,
    }
    .unwrap_or("{detail}");
    let message = fill(template, &o.vars, |_| false);
    let remediation = if o.status == Status::Fail {
        fill(check.remediation_for(layout), &o.vars, |name| {
            check.probe.quotes(name)
        })
    } else {
        String::new()
    };
    Finding {
        check_id: check.id.clone(),
        title: check.title.clone(),
        severity: o.severity.unwrap_or(check.severity),
        status: o.status,
        references: check.references.clone(),
        subject: o.subject,
        message,
        evidence: o.evidence,
        remediation,
        target: None,
    }
}

fn apply_waivers(
    findings: &mut [Finding],
    waivers: &[Waiver],
    today: time::Date,
) -> Vec<WaiverState> {
    let mut states: Vec<WaiverState> = waivers
        .iter()
        .map(|w| WaiverState {
            check: w.check.clone(),
            subject: w.subject_text.clone(),
            reason: w.reason.clone(),
            expires: w.expires_text(),
            state: if w.is_expired(today) {
                "expired".into()
            } else {
                "unused".into()
            },
            matched: 0,
        })
        .collect();
    for f in findings.iter_mut() {
        if !matches!(f.status, Status::Fail | Status::Error) {
            continue;
        }
        for (i, w) in waivers.iter().enumerate() {
            if !w.matches(&f.check_id, &f.subject) {
                continue;
            }
            states[i].matched += 1;
            let info = json!({
                "reason": w.reason,
                "expires": w.expires_text(),
                "original_status": f.status.as_str(),
                "origin": w.origin,
            });
            if w.is_expired(today) {
                f.evidence.insert("waiver_expired".into(), info);
                continue;
            }
            states[i].state = "applied".into();
            f.evidence.insert("waiver".into(), info);
            f.status = Status::Waived;
            break;
        }
    }
    states
}
