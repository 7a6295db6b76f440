//! One audit run as a library call: catalog, waivers and root in, a
//! [`Report`] out. The `audit` command and the agent both go through here,
//! so they can never disagree about what was audited.
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::catalog::{Catalog, Diagnostic};
use crate::engine::{self, RunSettings};
use crate::error::Fatal;
use crate::host::Host;
use crate::probe::ScanRequest;
use crate::report::{self, Report};

/// What to audit and with which definitions.
#[derive(Debug, Default)]
pub struct AuditOptions {
    /// Root filesystem (`/` for this host).
    pub root: PathBuf,
    /// Check directory instead of the embedded catalog.
    pub checks: Option<PathBuf>,
    /// Waiver file.
    pub waivers: Option<PathBuf>,
    /// Run the disk scan (BAR-013) with these settings.
    pub scan: Option<ScanRequest>,
}

/// Loads the embedded catalog or a check directory; every problem of an
/// invalid directory is in the error.
pub fn load_catalog(dir: Option<&Path>) -> Result<Catalog, Fatal> {
    let result = match dir {
        Some(d) => Catalog::load_dir(d)?,
        None => Catalog::embedded(),
    };
    result.map_err(|diags| catalog_error(&diags))
}

fn catalog_error(diags: &[Diagnostic]) -> Fatal {
    Fatal::Catalog {
        count: diags.len(),
        text: diags
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// Runs the audit. Options are validated (catalog, waivers, root) before
/// anything is observed, so a usage problem is an error, never a half report.
pub fn run(opts: AuditOptions, now: OffsetDateTime) -> Result<Report, Fatal> {
    let catalog = load_catalog(opts.checks.as_deref())?;
    let waivers = match &opts.waivers {
        Some(p) => crate::waiver::load(p)?,
        None => Vec::new(),
    };
    let host = Host::open(&opts.root)?;
    let settings = RunSettings {
        now,
        hostname: hostname(&host),
        run_id: uuid::Uuid::new_v4().to_string(),
        waivers,
    };
    Ok(engine::audit_host(&catalog, &host, &settings, opts.scan))
}

/// Runs the audit of a host root and of every deployment found on it
/// ([`crate::targets::discover`]): each target that is a root is audited as
/// its own, and its findings carry `target`; the others get one `na`
/// finding saying how to audit them. `select` (`--target NAME`) audits that
/// target alone; an unknown name is a usage error naming the known ones.
/// A root without targets gives exactly the report of [`run`].
pub fn run_with_targets(
    opts: AuditOptions,
    now: OffsetDateTime,
    select: Option<&str>,
) -> Result<Report, Fatal> {
    let catalog = load_catalog(opts.checks.as_deref())?;
    let waivers = match &opts.waivers {
        Some(p) => crate::waiver::load(p)?,
        None => Vec::new(),
    };
    let host = Host::open(&opts.root)?;
    let mut found = crate::targets::discover(&host);
    // Every target, selected or not: their own config files are never
    // stray copies for the host's disk scan.
    let everything = found.clone();
    if let Some(name) = select {
        found.retain(|t| t.name == name);
        if found.is_empty() {
            let known: Vec<String> = crate::targets::discover(&host)
                .into_iter()
                .map(|t| t.name)
                .collect();
            return Err(Fatal::Usage(if known.is_empty() {
                format!(
                    "--target {name}: {} has no targets (no kolla, TripleO, OpenStack-Ansible \
                     or OpenStack-Helm deployment was found); audit it without --target",
                    host.root().display()
                )
            } else {
                format!(
                    "--target {name}: no such target; the targets of {} are: {}",
                    host.root().display(),
                    known.join(", ")
                )
            }));
        }
    }
    let settings = RunSettings {
        now,
        hostname: hostname(&host),
        run_id: uuid::Uuid::new_v4().to_string(),
        waivers,
    };
    let started = std::time::Instant::now();
    // Each auditable target opened first: its KEKs join the host's scan.
    let opened: Vec<(crate::targets::Target, Option<Result<Host, String>>)> = found
        .into_iter()
        .map(|t| {
            let h = t.auditable().then(|| open_target(&host, &t));
            (t, h)
        })
        .collect();
    let mut scan = opts.scan;
    let scanning = scan.is_some();
    if let Some(req) = scan.as_mut() {
        req.targets = opened
            .iter()
            .filter_map(|(t, h)| match h {
                Some(Ok(th)) => Some(crate::probe::target_keks(&t.name, th)),
                _ => None,
            })
            .collect();
        // The others (under --target): their files only, not their keys.
        for t in everything.iter().filter(|t| t.auditable()) {
            if opened.iter().any(|(o, _)| o.name == t.name) {
                continue;
            }
            if let Ok(th) = open_target(&host, t) {
                let mut k = crate::probe::target_keks(&t.name, &th);
                k.keks.clear();
                req.targets.push(k);
            }
        }
    }
    let mut base = engine::audit_host(&catalog, &host, &settings, scan);
    if opened.is_empty() {
        return Ok(base);
    }
    if select.is_some() {
        // The selected target alone: the host's own findings are not part
        // of it, except its disk scan's, which looked for the target's KEKs.
        let scan_ids = scan_check_ids(&catalog);
        base.findings
            .retain(|f| scanning && scan_ids.contains(&f.check_id.as_str()));
        base.omitted_findings
            .retain(|id, _| scanning && scan_ids.contains(&id.as_str()));
        for (state, w) in base.waivers.iter_mut().zip(&settings.waivers) {
            let count = |key: &str| {
                base.findings
                    .iter()
                    .filter(|f| f.evidence.contains_key(key) && w.matches(&f.check_id, &f.subject))
                    .count()
            };
            state.matched = count("waiver") + count("waiver_expired");
            if state.state == "applied" && count("waiver") == 0 {
                state.state = "unused".into();
            }
        }
    }
    let audited = opened
        .into_iter()
        .map(|(t, h)| {
            let result = h.map(|h| {
                h.map(|th| {
                    let mut r = engine::audit_host(&catalog, &th, &settings, None);
                    if scanning {
                        host_scan_covers(&catalog, &mut r);
                    }
                    r
                })
            });
            (t, result)
        })
        .collect();
    let mut report = crate::targets::merge(base, &catalog, audited);
    report.run.duration_ms =
        u64::try_from(started.elapsed().as_micros().div_ceil(1000)).unwrap_or(u64::MAX);
    Ok(report)
}

/// The checks that run the disk scan (BAR-013's probe).
fn scan_check_ids(catalog: &Catalog) -> Vec<&str> {
    catalog
        .checks
        .iter()
        .filter(|c| c.probe.name() == "kek-scan")
        .map(|c| c.id.as_str())
        .collect()
}

/// A target's disk-scan checks say the host's scan covered it: the host
/// scan looked for the target's KEKs (and a target root is under the host
/// root), so "not requested" would be wrong and a second scan redundant.
fn host_scan_covers(catalog: &Catalog, r: &mut Report) {
    let ids = scan_check_ids(catalog);
    for f in &mut r.findings {
        // Only "disk scan not requested" (subject `disk`), not a condition unmet.
        if f.status == report::Status::Na
            && f.subject == "disk"
            && ids.contains(&f.check_id.as_str())
        {
            f.message = "covered by the host's disk scan, which looked for this target's KEKs \
                         too: see the host's finding of this check"
                .to_string();
        }
    }
}

/// A target's root, or the view of its container (kolla).
fn open_target(host: &Host, t: &crate::targets::Target) -> Result<Host, String> {
    if let crate::targets::How::View { .. } = t.how {
        // kolla: the container as its config.json will set it up; its fixes
        // run in that container (`kolla:barbican_worker`: barbican_worker).
        let view = crate::targets::kolla_view(host, t)?;
        let opened = Host::open_view(&host.real(&t.path), view);
        return Ok(match t.name.split_once(':') {
            Some(("kolla", name)) => opened.with_container(name),
            _ => opened,
        });
    }
    // Resolved inside the host root first: a symlinked /var/lib/lxc/<c>
    // must not lead out of the root. A running container's /proc/PID/root
    // (live root only) is the kernel's link to that root, not a path to
    // resolve.
    let real = if t.path.starts_with("/proc") {
        Ok(host.real(&t.path))
    } else {
        host.resolve(&t.path)
            .map(|r| host.real(&r.target))
            .map_err(|e| e.to_string())
    };
    // The target's layout is the discovery's (TripleO's puppet-generated
    // tree, an OSA container), so its fixes name that tool's durable place.
    real.and_then(|p| Host::open(&p).map_err(|e| e.to_string()))
        .map(|h| match t.layout {
            crate::layout::Layout::Unknown => h,
            l => h.with_layout(l),
        })
}

/// The host name: this machine's for `/`, else the root's /etc/hostname.
pub fn hostname(host: &Host) -> Option<String> {
    if host.is_live() {
        nix::unistd::gethostname()
            .ok()
            .map(|h| h.to_string_lossy().into_owned())
    } else {
        host.read(Path::new("/etc/hostname"))
            .ok()
            .and_then(|b| {
                String::from_utf8_lossy(&b)
                    .lines()
                    .next()
                    .map(|l| l.trim().to_string())
            })
            .filter(|h| !h.is_empty())
    }
}

/// Seconds since the epoch, to the millisecond (plenty for a run timestamp).
pub fn unix_seconds(t: OffsetDateTime) -> f64 {
    (t.unix_timestamp_nanos() / 1_000_000) as f64 / 1000.0
}

/// The largest previous textfile read back (ours are a few KiB).
pub const TEXTFILE_CAP: u64 = 16 << 20;

/// The textfile after a run that could not happen: the last known check
/// series stay, only `barbican_audit_last_run_timestamp_seconds` moves.
pub fn record_failed_run(textfile: &Path, now: OffsetDateTime) -> Result<(), Fatal> {
    // Only the series of a readable regular file are kept; a FIFO or device
    // there must not block the failed-run path (stage() then refuses it).
    let previous = crate::userfile::read_user_text(textfile, TEXTFILE_CAP).ok();
    let text = report::prometheus::render_failed_run(previous.as_deref(), unix_seconds(now));
    barbican_audit_support::atomic::write_atomic_mode(textfile, text.as_bytes(), 0o644)
}
