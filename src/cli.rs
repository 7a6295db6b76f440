//! Command line: clap parses raw arguments, [`main_with_args`] validates
//! them into settings and runs. Exit status: 0 nothing at or above
//! `--fail-on` failed, 1 something failed or could not be decided, 2 the
//! audit could not run (nothing partial is written then).
#![allow(clippy::disallowed_macros)] // the CLI is where diagnostics are printed

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use barbican_audit_support::atomic::{commit_all, finish, rollback, stage};

use crate::catalog::Catalog;
use crate::engine::{self, RunSettings};
use crate::error::Fatal;
use crate::host::Host;
use crate::report::{self, Severity};

const AFTER_HELP: &str = "\
Exit status: 0 nothing at or above --fail-on failed; 1 something failed or could not be \
decided (error findings count unless --fail-on none); 2 the audit could not run.

Examples:
  barbican-audit audit                               audit this host
  barbican-audit audit --root /var/lib/lxc/c1/rootfs  audit an offline root filesystem
  barbican-audit audit --target kolla:barbican_api   one deployment found on this host
  barbican-audit audit --format json --output /var/lib/barbican-audit/report.json
  barbican-audit audit --textfile /var/lib/prometheus/node-exporter/barbican-audit.prom
  barbican-audit audit --waivers /etc/barbican-audit/waivers.toml --fail-on high
  barbican-audit scan --path /var/backups --path /home   look for copies of the master KEK
  barbican-audit checks explain BAR-002              why a check exists and how to fix it";

/// Audits an OpenStack Barbican (Key Manager) node the way Barbican itself
/// reads its files: ownership and modes of every file it reads, its
/// configuration and the API pipeline it really serves.
#[derive(Debug, Parser)]
#[command(name = "barbican-audit", version, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Audit this host (or an offline root) and print a report.
    Audit(AuditArgs),
    /// Scan the disk for copies of the master KEK (BAR-013): base64, hex and raw
    /// bytes, inside gzip and tar archives too. Shows progress on a terminal.
    Scan(ScanArgs),
    /// Run on a timer: audit, write the textfile metrics, send the report to
    /// the collector (spooled while it is down); --once for one round.
    Agent(crate::agent::AgentArgs),
    /// List, explain and validate check definitions.
    #[command(subcommand)]
    Checks(ChecksCommand),
    /// Central HTTP service that receives agents' reports and serves the
    /// fleet view; `collector enroll NAME` / `revoke NAME` manage tokens.
    #[cfg(feature = "collector")]
    Collector(crate::collector::CollectorArgs),
}

#[derive(Debug, clap::Args)]
struct ScanArgs {
    /// Root filesystem whose Barbican config names the KEKs and whose files are scanned.
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,
    /// Scan only these paths (inside the root); repeatable. Default: the whole root.
    #[arg(long = "path", value_name = "P")]
    paths: Vec<PathBuf>,
    /// Leave out paths matching GLOB (`*` stops at `/`, `**` does not); repeatable.
    #[arg(long = "exclude", value_name = "GLOB")]
    excludes: Vec<String>,
    /// Search for every KEK in the Barbican config (the default).
    #[arg(long, conflicts_with = "fingerprint")]
    kek_from_config: bool,
    /// Search only for the configured KEK with this fingerprint (sha256:...).
    #[arg(long, value_name = "sha256:HEX")]
    fingerprint: Option<String>,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Also write the report to FILE (atomically).
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// No progress bar (there is none on a pipe anyway).
    #[arg(long)]
    quiet: bool,
    /// Worker threads (default: the number of cores).
    #[arg(long, value_name = "N", default_value_t = 0)]
    threads: usize,
    /// Be gentle on a busy host: nice 19 and the idle I/O class (like
    /// `nice -n 19 ionice -c3`), for the scan's reading threads too.
    #[arg(long)]
    nice: bool,
    /// Remember in FILE the files read in full and the copies found in
    /// them; while a file is unchanged (same inode, size, mtime and ctime)
    /// and the KEKs are the same, it is not read again and its copies are
    /// reported from FILE. For a timer, e.g.
    /// /var/cache/barbican-audit/scan-cache. FILE holds hashes and
    /// fingerprints, never a key; a damaged one, or one others could
    /// write, is ignored with a warning.
    #[arg(long, value_name = "FILE")]
    cache: Option<PathBuf>,
    /// Use the check definitions in DIR instead of the built-in catalog.
    #[arg(long, value_name = "DIR")]
    checks: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// Human-readable, grouped by check.
    Text,
    /// The versioned JSON report (schema_version 1).
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FailOn {
    None,
    Info,
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, clap::Args)]
struct AuditArgs {
    /// Audit an offline root filesystem (container rootfs, image, LXC rootfs);
    /// user and group names come from DIR/etc/passwd and DIR/etc/group.
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,
    /// Use the check definitions in DIR instead of the built-in catalog.
    #[arg(long, value_name = "DIR")]
    checks: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Also write the report to FILE (atomically: a temp file in the same
    /// directory renamed over FILE).
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write Prometheus metrics to FILE (for node_exporter's textfile
    /// collector, e.g. /var/lib/prometheus/node-exporter/barbican-audit.prom),
    /// atomically. When the audit cannot run, the previous file's series are
    /// kept and only barbican_audit_last_run_timestamp_seconds moves.
    #[arg(long, value_name = "FILE")]
    textfile: Option<PathBuf>,
    /// Waivers (TOML): [[waiver]] check, subject (glob, optional), reason, expires (YYYY-MM-DD).
    #[arg(long, value_name = "FILE")]
    waivers: Option<PathBuf>,
    /// Also run the disk scan for copies of the master KEK (BAR-013); off by
    /// default because it reads the whole filesystem.
    #[arg(long)]
    scan: bool,
    /// With --scan: nice 19 and the idle I/O class for the whole run.
    #[arg(long, requires = "scan")]
    nice: bool,
    /// With --scan: the scan cache FILE (as `scan --cache`).
    #[arg(long, value_name = "FILE", requires = "scan")]
    scan_cache: Option<PathBuf>,
    /// With --scan: scan these paths (inside the root) instead of the whole
    /// root; repeatable. The scan stays on one filesystem per path, so a
    /// host with a separate /var or /home lists them: --scan-path /
    /// --scan-path /var --scan-path /home.
    #[arg(long = "scan-path", value_name = "P", requires = "scan")]
    scan_paths: Vec<PathBuf>,
    /// Lowest severity whose failure makes the exit status 1; `none` never fails.
    #[arg(long, value_enum, value_name = "SEVERITY", default_value = "low")]
    fail_on: FailOn,
    /// On a host with deployments (kolla, TripleO, OpenStack-Ansible,
    /// OpenStack-Helm), audit only this target (e.g. kolla:barbican_api,
    /// osa:infra1_barbican_container-5f2a0c1d). Without it, the host and
    /// every target found are audited; an unknown NAME exits 2 naming the
    /// known targets.
    #[arg(long, value_name = "NAME")]
    target: Option<String>,
}

#[derive(Debug, Subcommand)]
enum ChecksCommand {
    /// One line per check: ID, severity, title.
    List {
        /// Use the check definitions in DIR instead of the built-in catalog.
        #[arg(long, value_name = "DIR")]
        checks: Option<PathBuf>,
    },
    /// The full text of one check: rationale, probe, messages, remediation.
    Explain {
        /// Check ID, e.g. BAR-002.
        id: String,
        /// Use the check definitions in DIR instead of the built-in catalog.
        #[arg(long, value_name = "DIR")]
        checks: Option<PathBuf>,
    },
    /// Validate a check directory (default: the built-in catalog); prints every
    /// problem as file:line and exits 2, or a one-line summary and exits 0.
    Lint {
        /// Directory of check files (*.toml).
        dir: Option<PathBuf>,
    },
}

/// Parses arguments, runs, and returns the exit status.
pub fn main_with_args<I: IntoIterator<Item = OsString>>(args: I) -> u8 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match dispatch(cli) {
        Ok(code) => code,
        Err(Fatal::Output { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            // Errors quote user-given paths: controls escaped (no forged lines).
            eprintln!("barbican-audit: {}", escape_control(&e.to_string()));
            2
        }
    }
}

use crate::audit::{load_catalog, unix_seconds};
use crate::report::text::escape_control;

fn dispatch(cli: Cli) -> Result<u8, Fatal> {
    match cli.command {
        Command::Audit(a) => audit(a),
        Command::Scan(s) => scan_command(s),
        #[cfg(feature = "collector")]
        Command::Collector(c) => Ok(crate::collector::main(c)),
        Command::Agent(a) => Ok(crate::agent::main(a)),
        Command::Checks(ChecksCommand::List { checks }) => {
            let cat = load_catalog(checks.as_deref())?;
            let mut out = String::new();
            for c in &cat.checks {
                out.push_str(&format!(
                    "{}  {:<8}  {}\n",
                    c.id,
                    c.severity.as_str(),
                    c.title
                ));
            }
            emit(&out)?;
            Ok(0)
        }
        Command::Checks(ChecksCommand::Explain { id, checks }) => {
            let cat = load_catalog(checks.as_deref())?;
            let c = cat
                .get(&id)
                .ok_or_else(|| Fatal::UnknownCheck(id.clone()))?;
            emit(&crate::catalog::explain::render(c))?;
            Ok(0)
        }
        Command::Checks(ChecksCommand::Lint { dir }) => {
            let result = match &dir {
                Some(d) => Catalog::load_dir(d)?,
                None => Catalog::embedded(),
            };
            match result {
                Ok(cat) => {
                    emit(&format!(
                        "{}: {} checks OK (catalog sha256 {})\n",
                        cat.source,
                        cat.checks.len(),
                        cat.sha256
                    ))?;
                    Ok(0)
                }
                Err(diags) => {
                    for d in &diags {
                        eprintln!("{}", escape_control(&d.to_string()));
                    }
                    eprintln!(
                        "{} problem{} found",
                        diags.len(),
                        if diags.len() == 1 { "" } else { "s" }
                    );
                    Ok(2)
                }
            }
        }
    }
}

fn audit(a: AuditArgs) -> Result<u8, Fatal> {
    let now = time::OffsetDateTime::now_utc();
    let result = audit_run(&a, now);
    if let (Err(e), Some(tf)) = (&result, &a.textfile) {
        // The audit could not run: keep the last known check series, move last_run.
        if let Err(e2) = crate::audit::record_failed_run(tf, now) {
            eprintln!(
                "barbican-audit: {}",
                escape_control(&format!(
                    "{e2} (while recording that the audit failed: {e})"
                ))
            );
        }
    }
    result
}

fn audit_run(a: &AuditArgs, now: time::OffsetDateTime) -> Result<u8, Fatal> {
    if a.nice {
        crate::scan::gentle::lower_priority().map_err(Fatal::Usage)?;
    }
    for p in &a.scan_paths {
        crate::probe::kek_scan::check_scan_path(p).map_err(Fatal::Usage)?;
    }
    if let (true, Some(c)) = (a.scan, &a.scan_cache) {
        crate::userfile::check_optional_regular("--scan-cache", c).map_err(Fatal::Usage)?;
    }
    let scan = a.scan.then(|| {
        let paths = a.scan_paths.clone();
        scan_request(paths, Vec::new(), 0, None, false, a.scan_cache.clone())
    });
    let opts = crate::audit::AuditOptions {
        root: a.root.clone(),
        checks: a.checks.clone(),
        waivers: a.waivers.clone(),
        scan,
    };
    let report = crate::audit::run_with_targets(opts, now, a.target.as_deref())?;
    for w in &report.warnings {
        eprintln!(
            "barbican-audit: warning: {}",
            escape_control(&format!("{}: {w}", a.root.display()))
        );
    }
    let fail_on = match a.fail_on {
        FailOn::None => None,
        FailOn::Info => Some(Severity::Info),
        FailOn::Low => Some(Severity::Low),
        FailOn::Medium => Some(Severity::Medium),
        FailOn::High => Some(Severity::High),
        FailOn::Critical => Some(Severity::Critical),
    };
    let metrics = a.textfile.as_ref().map(|p| {
        (
            p.as_path(),
            report::prometheus::render(&report, unix_seconds(now)),
        )
    });
    deliver(&report, a.format, a.output.as_deref(), metrics)?;
    Ok(report.exit_code(fail_on))
}

/// Writes the report where it was asked for: `--output` (and the metrics
/// file, if any) staged first and renamed only when all are written, so an
/// exit 2 leaves no new file behind; then stdout.
fn deliver(
    report: &report::Report,
    format: Format,
    output: Option<&Path>,
    metrics: Option<(&Path, String)>,
) -> Result<(), Fatal> {
    let colour = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let rendered = match format {
        Format::Json => report::json::render(report),
        Format::Text => report::text::render(report, colour),
    };
    let mut staged = Vec::new();
    if let Some(path) = output {
        let plain = match format {
            Format::Json => rendered.clone(),
            Format::Text => report::text::render(report, false),
        };
        staged.push(stage(path, plain.as_bytes(), 0o640)?);
    }
    if let Some((path, text)) = metrics {
        // node_exporter runs as another user: the metrics are world-readable.
        staged.push(stage(path, text.as_bytes(), 0o644)?);
    }
    // All files or none: when a later rename or stdout fails (exit 2), the files already
    // renamed are put back as they were, so an exit 2 leaves no new report behind.
    let done = commit_all(staged)?;
    match emit(&rendered) {
        // `| head` closing the pipe is not a failed run (exit 0): keep the files.
        Err(Fatal::Output { source, path }) if source.kind() != std::io::ErrorKind::BrokenPipe => {
            rollback(done);
            Err(Fatal::Output { source, path })
        }
        r => {
            finish(done);
            r
        }
    }
}

/// The scan request, with a progress bar on a terminal (never on a pipe).
fn scan_request(
    paths: Vec<PathBuf>,
    excludes: Vec<String>,
    threads: usize,
    fingerprint: Option<String>,
    quiet: bool,
    cache: Option<PathBuf>,
) -> crate::probe::ScanRequest {
    let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} scanning: {msg} ({elapsed})")
        {
            b.set_style(style);
        }
        b.enable_steady_tick(std::time::Duration::from_millis(200));
        b
    });
    let started = std::time::Instant::now();
    let progress: Box<dyn Fn(u64, u64) + Sync> = Box::new(move |files, bytes| {
        if let Some(b) = &bar {
            let rate = bytes as f64 / started.elapsed().as_secs_f64().max(0.001);
            b.set_message(format!(
                "{files} files, {} read, {}/s",
                indicatif::HumanBytes(bytes),
                indicatif::HumanBytes(rate as u64)
            ));
        }
    });
    crate::probe::ScanRequest {
        paths,
        excludes,
        threads,
        fingerprint,
        cache,
        progress,
        // The targets' KEKs are added by audit::run_with_targets.
        targets: Vec::new(),
    }
}

/// The check `barbican-audit scan` judges: its messages and remediation
/// come from the catalog (`--checks` too).
const SCAN_CHECK: &str = "BAR-013";

/// `barbican-audit scan`: the disk scan check alone, as its own report.
fn scan_command(s: ScanArgs) -> Result<u8, Fatal> {
    let now = time::OffsetDateTime::now_utc();
    let catalog = load_catalog(s.checks.as_deref())?;
    let check = catalog
        .get(SCAN_CHECK)
        .ok_or_else(|| Fatal::UnknownCheck(SCAN_CHECK.into()))?;
    if let Some(f) = &s.fingerprint {
        let ok = f.len() == 19
            && f.starts_with("sha256:")
            && f[7..].chars().all(|c| c.is_ascii_hexdigit());
        if !ok {
            return Err(Fatal::Usage(format!(
                "--fingerprint {f:?}: expected sha256: and 12 hex digits, as reports show it"
            )));
        }
    }
    for p in &s.paths {
        crate::probe::kek_scan::check_scan_path(p).map_err(Fatal::Usage)?;
    }
    if let Some(c) = &s.cache {
        crate::userfile::check_optional_regular("--cache", c).map_err(Fatal::Usage)?;
    }
    let host = Host::open(&s.root)?;
    if s.nice {
        crate::scan::gentle::lower_priority().map_err(Fatal::Usage)?;
    }
    let settings = RunSettings {
        now,
        hostname: crate::audit::hostname(&host),
        run_id: uuid::Uuid::new_v4().to_string(),
        waivers: Vec::new(),
    };
    let req = scan_request(
        s.paths,
        s.excludes,
        s.threads,
        s.fingerprint,
        s.quiet,
        s.cache,
    );
    let report = engine::scan_report(&catalog, check, &host, &settings, req);
    for w in &report.warnings {
        eprintln!(
            "barbican-audit: warning: {}",
            escape_control(&format!("{}: {w}", s.root.display()))
        );
    }
    deliver(&report, s.format, s.output.as_deref(), None)?;
    // A copy found, or a path that could not be read (incomplete scan): 1.
    Ok(report.exit_code(Some(Severity::Info)))
}

fn emit(s: &str) -> Result<(), Fatal> {
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|source| Fatal::Output {
            path: PathBuf::from("<stdout>"),
            source,
        })
}
