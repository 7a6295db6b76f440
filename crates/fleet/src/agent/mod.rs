//! The reporting agent (`barbican-audit agent`): each round audits the
//! host, spools the report, sends the spool to the collector oldest-first
//! and writes the textfile metrics.
//!
//! The order is the delivery guarantee: the report is in the spool
//! (atomically, fsynced) before any send is tried, and a spooled file is
//! deleted only after the collector answered 2xx. So an agent killed at any
//! point either has not spooled the report yet, or has it whole in the
//! spool for the next round; and a file that is not a whole report is
//! quarantined, never sent.
//!
//! Exit status (interface.md): 0 the report was delivered or spooled; 2 the
//! audit could not run, the settings are wrong, or the report could not
//! even be spooled. Failing checks never change it: they are the report's
//! content, not the agent's failure.
#![allow(clippy::disallowed_macros)] // the agent runs unattended: stderr (the journal) is its only voice

mod client;
mod config;
mod spool;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

pub use config::AgentArgs;
use config::{Settings, Token};

use client::{full_jitter, Outcome, Uploader};
use spool::{Spool, State};

use crate::audit::unix_seconds;

/// Backoff between drains while the collector is down (daemon and timer).
const BACKOFF_BASE: Duration = Duration::from_secs(5);
pub(crate) const BACKOFF_CAP: Duration = Duration::from_secs(300);
/// `--once` retries of the first failing send: 1 s, then 2 s ceilings.
const ONCE_RETRY_BASE: Duration = Duration::from_secs(1);

fn say(msg: impl std::fmt::Display) {
    eprintln!(
        "barbican-audit agent: {}",
        crate::report::text::escape_control(&msg.to_string())
    );
}

/// Runs the agent; returns the exit status.
pub fn main(args: AgentArgs) -> u8 {
    let settings = match Settings::resolve(args) {
        Ok(s) => s,
        Err(e) => {
            say(e);
            return 2;
        }
    };
    let uploader = match &settings.collector {
        None => None,
        Some(c) => {
            // A bad token file is a setup error: better a failed unit now
            // than a spool that fills up for weeks.
            if let Err(e) = config::read_token(&settings.token_file) {
                say(e);
                return 2;
            }
            match Uploader::new(c, settings.ca_file.as_deref()) {
                Ok(u) => Some(u),
                Err(e) => {
                    say(format!("collector {}: {e}", c.endpoint));
                    return 2;
                }
            }
        }
    };
    if settings.once {
        return round(&settings, uploader.as_ref());
    }
    daemon(&settings, uploader.as_ref())
}

/// Rounds every `interval`; between them, drains the spool as the backoff
/// allows. Runs until killed (systemd's SIGTERM): every step is safe to
/// interrupt, which is what the spool design is for.
fn daemon(s: &Settings, uploader: Option<&Uploader>) -> u8 {
    loop {
        let started = Instant::now();
        let code = round(s, uploader);
        if code != 0 {
            say(format!(
                "round failed (exit status {code}); next round in {}",
                humantime::format_duration(s.interval)
            ));
        }
        let next_round = started + s.interval;
        loop {
            let now = Instant::now();
            if now >= next_round {
                break;
            }
            let mut wake = next_round;
            if let Some(u) = uploader {
                if let Ok(spool) = Spool::open(&s.spool_dir, s.spool_max_files, s.spool_max_bytes) {
                    let (state, _) = spool.load_state();
                    let pending = spool.totals().0;
                    if pending > 0 {
                        let wait = (state.next_attempt_at - unix_now()).max(0.0);
                        if wait <= 0.0 {
                            let mut state = state;
                            drain(s, &spool, u, &mut state, 0);
                            save_state(&spool, &state);
                            write_metrics(s, Metrics::Between, Some(&spool), &state);
                            // Never spin, whatever the drain left behind.
                            std::thread::sleep(Duration::from_secs(1));
                            continue;
                        }
                        wake = wake.min(now + Duration::from_secs_f64(wait));
                    }
                }
            }
            std::thread::sleep(
                wake.saturating_duration_since(now)
                    .max(Duration::from_millis(100)),
            );
        }
    }
}

fn unix_now() -> f64 {
    unix_seconds(OffsetDateTime::now_utc())
}

/// One round; returns the exit status.
fn round(s: &Settings, uploader: Option<&Uploader>) -> u8 {
    let now = OffsetDateTime::now_utc();
    let scan = s.scan.then(|| crate::probe::ScanRequest {
        paths: s.scan_paths.clone(),
        excludes: Vec::new(),
        threads: 0,
        fingerprint: None,
        cache: s.scan_cache.clone(),
        // Unattended: no progress output.
        progress: Box::new(|_, _| {}),
        // The targets' KEKs are added by audit::run_with_targets.
        targets: Vec::new(),
    });
    let opts = crate::audit::AuditOptions {
        root: s.root.clone(),
        checks: s.checks.clone(),
        waivers: s.waivers.clone(),
        scan,
    };
    // The same path as `audit`: a host with deployments reports them as targets.
    let report = match crate::audit::run_with_targets(opts, now, None) {
        Ok(r) => Some(r),
        Err(e) => {
            say(format!("the audit could not run: {e}"));
            None
        }
    };
    if let Some(r) = &report {
        for w in &r.warnings {
            say(format!("warning: {}: {w}", s.root.display()));
        }
    }
    let mut code = if report.is_some() { 0 } else { 2 };
    let what = match &report {
        Some(r) => Metrics::Audited(r, unix_seconds(now)),
        None => Metrics::Failed(unix_seconds(now)),
    };

    let Some(u) = uploader else {
        // Textfile only: no spool in use, but keep its series (from
        // whatever an earlier collector setting left) so none vanish.
        let (_, state) = spool::peek(&s.spool_dir);
        if !write_metrics(s, what, None, &state) {
            code = 2;
        }
        return code;
    };

    let spool = match Spool::open(&s.spool_dir, s.spool_max_files, s.spool_max_bytes) {
        Ok(sp) => sp,
        Err(e) => {
            say(format!("cannot spool the report: {e}"));
            let (_, state) = spool::peek(&s.spool_dir);
            write_metrics(s, what, None, &state);
            return 2;
        }
    };
    let (mut state, warning) = spool.load_state();
    if let Some(w) = warning {
        say(w);
    }
    if let Some(r) = &report {
        let bytes = crate::report::json::render(r);
        let started_ms = now.unix_timestamp_nanos() / 1_000_000;
        match spool.add(started_ms, &r.run.id, bytes.as_bytes()) {
            Ok(entry) => match spool.enforce_bounds(&entry, &mut state) {
                Ok(dropped) if !dropped.is_empty() => say(format!(
                    "spool full ({} files / {} bytes at most): dropped the {} oldest report(s)",
                    s.spool_max_files,
                    s.spool_max_bytes,
                    dropped.len()
                )),
                Ok(_) => {}
                Err(e) => say(e),
            },
            Err(e) => {
                say(format!("cannot spool the report: {e}"));
                code = 2;
            }
        }
    }

    let now_s = unix_now();
    if state.next_attempt_at > now_s {
        say(format!(
            "collector unreachable in the last {} attempt(s); backing off until {}: \
             report kept in the spool {}",
            state.consecutive_failures,
            format_unix(state.next_attempt_at),
            spool.dir().display()
        ));
    } else {
        let retries = if s.once { s.retries } else { 0 };
        drain(s, &spool, u, &mut state, retries);
    }
    save_state(&spool, &state);
    if !write_metrics(s, what, Some(&spool), &state) && code == 0 {
        code = 2;
    }
    code
}

fn save_state(spool: &Spool, state: &State) {
    if let Err(e) = spool.save_state(state) {
        say(format!("saving the agent state: {e}"));
    }
}

fn format_unix(t: f64) -> String {
    let secs = t as i64;
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{secs}"))
}

/// How a drain ended.
#[derive(Debug, PartialEq, Eq)]
enum DrainEnd {
    /// Nothing left to send.
    Empty,
    /// Collector down or token refused: files kept, backoff armed.
    Stopped,
}

/// Sends the spool oldest-first until it is empty or the collector stops
/// taking reports. `retries`: how often to retry a send that found the
/// collector unavailable before giving up for this drain (`--once` only;
/// the daemon backs off between drains instead).
fn drain(
    s: &Settings,
    spool: &Spool,
    u: &Uploader,
    state: &mut State,
    mut retries: u32,
) -> DrainEnd {
    // Read per drain, so a rotated token is picked up without a restart.
    let token: Token = match config::read_token(&s.token_file) {
        Ok(t) => t,
        Err(e) => {
            say(format!("{e}; reports stay in the spool"));
            return DrainEnd::Stopped;
        }
    };
    let entries = match spool.entries() {
        Ok(e) => e,
        Err(e) => {
            say(e);
            return DrainEnd::Stopped;
        }
    };
    let (mut sent, mut rejected) = (0usize, 0usize);
    let mut attempt = 0u32;
    let mut end = DrainEnd::Empty;
    let mut i = 0;
    while i < entries.len() {
        let entry = &entries[i];
        // Listed as a regular file, but it may have been swapped since:
        // opened without blocking and capped like every user-given path.
        let bytes = match crate::userfile::read_user_file(&entry.path, 256 << 20) {
            Ok(b) => b,
            Err(e) if e.io_kind() == Some(std::io::ErrorKind::NotFound) => {
                i += 1;
                continue;
            }
            Err(e) => {
                say(format!("reading {e}"));
                end = DrainEnd::Stopped;
                break;
            }
        };
        let run_id = match spool::validate(&bytes) {
            Ok(id) => id,
            Err(why) => {
                match spool.reject(entry) {
                    Ok(to) => say(format!(
                        "{}: {why}; quarantined as {} and not sent",
                        entry.name,
                        to.display()
                    )),
                    Err(e) => say(format!("{}: {why}; and {e}", entry.name)),
                }
                i += 1;
                continue;
            }
        };
        match u.send(&token, &run_id, &bytes) {
            Outcome::Stored(_) => {
                if let Err(e) = spool.remove(entry) {
                    // The collector has it; a resend is a harmless 200.
                    say(e);
                }
                sent += 1;
                state.last_upload_success = unix_now();
                state.consecutive_failures = 0;
                state.next_attempt_at = 0.0;
                attempt = 0;
                i += 1;
            }
            Outcome::Rejected(code, body) => {
                let detail = if body.is_empty() {
                    String::new()
                } else {
                    format!(" ({body})")
                };
                match spool.reject(entry) {
                    Ok(to) => say(format!(
                        "collector refused report {run_id} with HTTP {code}{detail}; \
                         it will never take it: moved to {}",
                        to.display()
                    )),
                    Err(e) => say(format!(
                        "collector refused report {run_id} with HTTP {code}{detail}; {e}"
                    )),
                }
                rejected += 1;
                i += 1;
            }
            Outcome::Unauthorized(code) => {
                say(format!(
                    "collector {} answered HTTP {code}: it does not accept this node's token \
                     (token_file {}); enroll the node again or fix the token. Reports stay \
                     in the spool.",
                    u.endpoint(),
                    s.token_file.display()
                ));
                end = DrainEnd::Stopped;
                break;
            }
            Outcome::Unavailable(why) => {
                if retries > 0 {
                    retries -= 1;
                    let wait = full_jitter(ONCE_RETRY_BASE, attempt, Duration::from_secs(30));
                    attempt += 1;
                    std::thread::sleep(wait);
                    continue;
                }
                say(format!(
                    "collector unavailable: {why}; {} report(s) kept in {}",
                    entries.len() - i,
                    spool.dir().display()
                ));
                end = DrainEnd::Stopped;
                break;
            }
        }
    }
    if end == DrainEnd::Stopped {
        state.consecutive_failures = state.consecutive_failures.saturating_add(1);
        let wait = full_jitter(
            BACKOFF_BASE,
            state.consecutive_failures.saturating_sub(1),
            BACKOFF_CAP,
        );
        state.next_attempt_at = unix_now() + wait.as_secs_f64();
    }
    if sent > 0 || rejected > 0 {
        say(format!(
            "sent {sent} report(s) to {}{}",
            u.endpoint(),
            if rejected > 0 {
                format!(", {rejected} rejected")
            } else {
                String::new()
            }
        ));
    }
    end
}

/// The agent's own series, appended to the audit's textfile.
fn agent_series(spooled: (usize, u64), state: &State) -> String {
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, value: String| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        let _ = writeln!(out, "{name} {value}");
    };
    gauge(
        "barbican_audit_spool_reports",
        "Reports in the agent's spool, not yet stored by the collector.",
        spooled.0.to_string(),
    );
    gauge(
        "barbican_audit_spool_bytes",
        "Total size of the reports in the agent's spool.",
        spooled.1.to_string(),
    );
    gauge(
        "barbican_audit_spool_dropped_reports",
        "Reports dropped because the spool was full, since the spool was created.",
        state.dropped_reports.to_string(),
    );
    gauge(
        "barbican_audit_last_upload_success_timestamp_seconds",
        "Unix time the collector last stored a report from this agent; 0 if never.",
        state.last_upload_success.to_string(),
    );
    out
}

const AGENT_FAMILIES: [&str; 4] = [
    "barbican_audit_spool_reports",
    "barbican_audit_spool_bytes",
    "barbican_audit_spool_dropped_reports",
    "barbican_audit_last_upload_success_timestamp_seconds",
];

/// Whether a textfile line belongs to one of the agent's families.
fn is_agent_line(line: &str) -> bool {
    let name = line
        .strip_prefix("# HELP ")
        .or_else(|| line.strip_prefix("# TYPE "))
        .unwrap_or(line);
    let name = name.split([' ', '{']).next().unwrap_or("");
    AGENT_FAMILIES.contains(&name)
}

/// What the textfile should say this time.
#[derive(Clone, Copy)]
enum Metrics<'a> {
    /// A completed audit that started at this Unix time.
    Audited(&'a crate::report::Report, f64),
    /// The audit could not run at this Unix time: the previous check series
    /// stay, only last_run moves (as for `audit --textfile`).
    Failed(f64),
    /// A drain between daemon rounds: only the agent's series change.
    Between,
}

/// The textfile text: the audit's series (or the previous file's) plus the
/// agent's, old agent series replaced rather than repeated.
fn render_metrics(
    what: Metrics<'_>,
    previous: Option<&str>,
    spooled: (usize, u64),
    state: &State,
) -> String {
    let kept = || -> Option<String> {
        previous.map(|p| {
            p.lines()
                .filter(|l| !is_agent_line(l))
                .map(|l| format!("{l}\n"))
                .collect()
        })
    };
    let mut text = match what {
        Metrics::Audited(r, started) => crate::report::prometheus::render(r, started),
        Metrics::Failed(now) => {
            crate::report::prometheus::render_failed_run(kept().as_deref(), now)
        }
        Metrics::Between => kept().unwrap_or_default(),
    };
    text.push_str(&agent_series(spooled, state));
    text
}

/// Writes the textfile if one is configured; false when that failed.
fn write_metrics(s: &Settings, what: Metrics<'_>, spool: Option<&Spool>, state: &State) -> bool {
    let Some(path) = &s.textfile else {
        return true;
    };
    let spooled = match spool {
        Some(sp) => sp.totals(),
        None => spool::peek(&s.spool_dir).0,
    };
    let previous = crate::userfile::read_user_text(path, crate::audit::TEXTFILE_CAP).ok();
    if matches!(what, Metrics::Between) && previous.is_none() {
        // No audit series to go with them yet: the next round writes the file.
        return true;
    }
    let text = render_metrics(what, previous.as_deref(), spooled, state);
    match barbican_audit_support::atomic::write_atomic_mode(path, text.as_bytes(), 0o644) {
        Ok(()) => true,
        Err(e) => {
            say(format!("textfile: {e}"));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_series_have_help_type_and_replace_old_ones() {
        let state = State {
            dropped_reports: 3,
            last_upload_success: 1.7e9,
            ..State::default()
        };
        let text = agent_series((2, 4096), &state);
        assert!(text.contains(
            "# TYPE barbican_audit_spool_reports gauge\nbarbican_audit_spool_reports 2\n"
        ));
        assert!(text.contains("barbican_audit_spool_bytes 4096\n"));
        assert!(text.contains("barbican_audit_spool_dropped_reports 3\n"));
        assert!(text.contains("barbican_audit_last_upload_success_timestamp_seconds 1700000000\n"));
        for l in text.lines() {
            assert!(is_agent_line(l), "{l}");
        }
        assert!(!is_agent_line(
            "barbican_audit_last_run_timestamp_seconds 1"
        ));
        assert!(!is_agent_line("# HELP barbican_audit_info x"));

        // After a failed audit: old agent series replaced, check series kept.
        let previous = format!(
            "# HELP barbican_audit_last_run_timestamp_seconds x\n\
             # TYPE barbican_audit_last_run_timestamp_seconds gauge\n\
             barbican_audit_last_run_timestamp_seconds 1\n{}",
            agent_series((9, 9), &State::default())
        );
        let text = render_metrics(Metrics::Failed(5.0), Some(&previous), (1, 10), &state);
        assert_eq!(
            text.matches("# TYPE barbican_audit_spool_reports").count(),
            1
        );
        assert!(text.contains("barbican_audit_spool_reports 1\n"));
        assert!(text.contains("barbican_audit_last_run_timestamp_seconds 5\n"));
    }
}
