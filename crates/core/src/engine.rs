//! Runs every check of a catalog against a host and builds the report.
//! Checks are never mutated: definitions in, findings out.
use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::json;
use time::OffsetDateTime;

use crate::catalog::{fill, Catalog, Check, Condition};
use crate::host::Host;
use crate::probe::{self, Context, Observation};
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

/// Runs the audit; `scan` requests the disk scan for BAR-013.
pub fn run(
    catalog: &Catalog,
    host: &Host,
    settings: &RunSettings,
    scan: Option<crate::probe::ScanRequest>,
) -> Report {
    let started = Instant::now();
    let mut ctx = Context::new(host);
    ctx.scan = scan;
    let mut findings = Vec::new();
    for check in &catalog.checks {
        findings.extend(evaluate(check, &ctx));
    }
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
    let mut report = Report {
        schema_version: crate::report::SCHEMA_VERSION,
        tool: Tool {
            name: "barbican-audit".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        host: HostInfo {
            hostname: settings.hostname.clone(),
            root: host.root().display().to_string(),
            barbican_version: ctx.installed.version.clone(),
            layout: crate::layout::recognise(host),
        },
        run: RunInfo {
            id: settings.run_id.clone(),
            started_at: settings
                .now
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            duration_ms: 0,
        },
        catalog: CatalogInfo {
            sha256: catalog.sha256.clone(),
            checks: catalog.checks.len(),
        },
        summary: Summary::default(),
        findings,
        waivers,
        scan: ctx.scan_summary.get().cloned(),
        warnings: host
            .users
            .warnings
            .iter()
            .chain(ctx.scan_warnings.get().into_iter().flatten())
            .cloned()
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

/// Why a condition does not hold, or `None` when it does.
fn condition_fails(c: Condition, ctx: &Context<'_>) -> Option<String> {
    match c {
        Condition::SimpleCryptoEnabled => {
            let sc = crate::barbican::crypto::simple_crypto(&ctx.config);
            (!sc.in_effect).then(|| format!("simple_crypto not enabled: {}", sc.why))
        }
        Condition::BarbicanInstalled => {
            let installed = ctx.installed.version.is_some()
                || ctx.host.exists(std::path::Path::new("/etc/barbican"))
                || !ctx.config.files.is_empty();
            (!installed).then(|| {
                "barbican not installed: no barbican package in dpkg status, no barbican Python \
                 metadata, no /etc/barbican and no barbican.conf in the oslo.config search path"
                    .to_string()
            })
        }
    }
}

/// One `error` observation per input that could not be read or parsed.
fn input_errors(problems: &[&probe::InputProblem]) -> Vec<Observation> {
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

fn evaluate(check: &Check, ctx: &Context<'_>) -> Vec<Finding> {
    // Fail closed: an input of this check that could not be read or parsed
    // is an `error` naming it, never a pass or a judgement of a default.
    // The conditions are not consulted then: they read the same inputs.
    let problems = ctx.problems_for(&check.probe);
    if !problems.is_empty() {
        let errors = input_errors(&problems);
        let observed = match probe::gate(&check.probe) {
            probe::Gate::Replace => errors,
            probe::Gate::KeepFails => probe::run(&check.probe, ctx)
                .into_iter()
                .filter(|o| {
                    o.status == Status::Fail
                        || (o.status == Status::Error
                            && !errors.iter().any(|e| e.subject == o.subject))
                })
                .chain(errors.iter().cloned())
                .collect(),
            probe::Gate::Add => {
                let mut out = probe::run(&check.probe, ctx);
                for e in errors {
                    if !out
                        .iter()
                        .any(|o| o.subject == e.subject && o.status == Status::Error)
                    {
                        out.push(e);
                    }
                }
                out
            }
        };
        return observed.into_iter().map(|o| finding(check, o)).collect();
    }
    for c in &check.applies_if {
        if let Some(why) = condition_fails(*c, ctx) {
            let mut vars = BTreeMap::new();
            vars.insert("subject".to_string(), "barbican".to_string());
            vars.insert("detail".to_string(), why);
            return vec![finding(
                check,
                Observation {
                    subject: "barbican".into(),
                    status: Status::Na,
                    vars,
                    evidence: BTreeMap::new(),
                    severity: None,
                },
            )];
        }
    }
    probe::run(&check.probe, ctx)
        .into_iter()
        .map(|o| finding(check, o))
        .collect()
}

fn finding(check: &Check, o: Observation) -> Finding {
    let template = match o.status {
        Status::Pass => check.message.pass.as_deref(),
        Status::Fail => check.message.fail.as_deref(),
        Status::Error => check.message.error.as_deref(),
        Status::Na => check.message.na.as_deref(),
        Status::Waived => None,
    }
    .unwrap_or("{detail}");
    let message = fill(template, &o.vars, |_| false);
    let raw = probe::raw_vars(&check.probe);
    let remediation = if o.status == Status::Fail {
        fill(&check.remediation, &o.vars, |name| !raw.contains(&name))
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
