//! The spool: reports the collector has not stored yet, one JSON file each,
//! plus the agent's small state file. The spool is the delivery guarantee
//! (ops.md section 2): a report is written here atomically before any send
//! is tried, and deleted only after the collector answered 2xx.
//!
//! * Names are `<started_at ms, 16 digits>-<run id>.json`, so sorting by
//!   name is oldest first.
//! * A report is written to a dot-named temp file, fsynced, renamed, and the
//!   directory fsynced: a crash leaves either no file or a whole one plus
//!   perhaps a dot-file, which [`Spool::open`] removes. A file that still
//!   does not parse (disk trouble, a hand edit) is quarantined, never sent.
//! * Bounded by files and bytes: the oldest go first and are counted.
//! * `rejected/` keeps what the collector said it will never take (400,
//!   409, 413, 422) for a human to look at, newest [`REJECTED_KEEP`] only.
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How many rejected reports are kept for inspection.
pub const REJECTED_KEEP: usize = 50;
const STATE_FILE: &str = "agent-state.json";

/// One spooled report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Full path.
    pub path: PathBuf,
    /// File name (sorts oldest first).
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// What survives between rounds (and oneshot runs): counters for the
/// metrics and the backoff that keeps a timer from hammering a dead collector.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// Reports dropped because the spool was full, ever.
    pub dropped_reports: u64,
    /// Unix time of the last 2xx from the collector; 0 = never.
    pub last_upload_success: f64,
    /// Drains that ended with the collector unreachable or refusing the token.
    pub consecutive_failures: u32,
    /// No send before this Unix time (0 = now is fine).
    pub next_attempt_at: f64,
}

/// The spool directory with its bounds.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max_files: usize,
    max_bytes: u64,
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> String {
    format!("{what} {}: {e}", path.display())
}

/// A spooled report's name: digits, a dash, the run id, `.json`. Anything
/// else in the directory (the state file, temp files, strangers) is not a report.
fn is_report_name(name: &str) -> bool {
    name.ends_with(".json") && name.as_bytes().first().is_some_and(u8::is_ascii_digit)
}

impl Spool {
    /// Creates the directory (0700: reports say where this node is weak) if
    /// needed and removes temp files a killed agent left behind.
    pub fn open(dir: &Path, max_files: usize, max_bytes: u64) -> Result<Spool, String> {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| io_err("creating spool directory", dir, e))?;
        let spool = Spool {
            dir: dir.to_path_buf(),
            max_files: max_files.max(1),
            max_bytes,
        };
        for d in [spool.dir.clone(), spool.rejected_dir()] {
            let Ok(rd) = fs::read_dir(&d) else { continue };
            for e in rd.flatten() {
                let is_temp = e.file_name().to_string_lossy().starts_with('.');
                if is_temp && e.file_type().is_ok_and(|t| t.is_file()) {
                    // A half-written report of an agent killed mid-write:
                    // never renamed, so never a report.
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        Ok(spool)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn rejected_dir(&self) -> PathBuf {
        self.dir.join("rejected")
    }

    /// Spooled reports, oldest first.
    pub fn entries(&self) -> Result<Vec<Entry>, String> {
        list(&self.dir)
    }

    /// Number of reports and their total size.
    pub fn totals(&self) -> (usize, u64) {
        let entries = self.entries().unwrap_or_default();
        (entries.len(), entries.iter().map(|e| e.bytes).sum())
    }

    /// Writes a report atomically; returns its entry. `started_ms` orders it.
    pub fn add(&self, started_ms: i128, run_id: &str, bytes: &[u8]) -> Result<Entry, String> {
        let name = format!("{:016}-{}.json", started_ms.max(0), safe_id(run_id));
        let path = self.dir.join(&name);
        // stage(): dot-named temp file in the same directory, fsync, then
        // rename and fsync the directory. 0600: the report is for the collector.
        barbican_audit_support::atomic::write_atomic_mode(&path, bytes, 0o600)
            .map_err(|e| e.to_string())?;
        Ok(Entry {
            path,
            name,
            bytes: bytes.len() as u64,
        })
    }

    /// Deletes the oldest reports while the spool is over a bound, never
    /// `keep` (the report just written: a spool that cannot hold the newest
    /// report would be useless, so a single report larger than the byte
    /// bound stays alone). Returns the names dropped; adds them to `state`.
    pub fn enforce_bounds(&self, keep: &Entry, state: &mut State) -> Result<Vec<String>, String> {
        let mut entries = self.entries()?;
        let mut total: u64 = entries.iter().map(|e| e.bytes).sum();
        let mut dropped = Vec::new();
        while entries.len() > self.max_files || total > self.max_bytes {
            let Some(pos) = entries.iter().position(|e| e.name != keep.name) else {
                break;
            };
            let victim = entries.remove(pos);
            match fs::remove_file(&victim.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("dropping spooled report", &victim.path, e)),
            }
            total -= victim.bytes;
            state.dropped_reports += 1;
            dropped.push(victim.name);
        }
        Ok(dropped)
    }

    /// Deletes a report the collector stored.
    pub fn remove(&self, entry: &Entry) -> Result<(), String> {
        match fs::remove_file(&entry.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(io_err("deleting sent report", &entry.path, e))
            }
            _ => Ok(()),
        }
    }

    /// Moves a report the collector will never take (or that is not a
    /// report) to `rejected/`, keeping the newest [`REJECTED_KEEP`] there.
    pub fn reject(&self, entry: &Entry) -> Result<PathBuf, String> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = self.rejected_dir();
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| io_err("creating", &dir, e))?;
        let to = dir.join(&entry.name);
        fs::rename(&entry.path, &to).map_err(|e| io_err("moving to rejected/", &entry.path, e))?;
        sync_dir(&self.dir);
        let mut kept = list(&dir)?;
        while kept.len() > REJECTED_KEEP {
            let old = kept.remove(0);
            let _ = fs::remove_file(&old.path);
        }
        Ok(to)
    }

    /// The state; a missing file is a fresh state, an unreadable one too
    /// (with the reason, so the caller can say it was reset).
    pub fn load_state(&self) -> (State, Option<String>) {
        self.load_state_at(crate::audit::unix_seconds(time::OffsetDateTime::now_utc()))
    }

    /// [`Spool::load_state`] at Unix time `now`. A `next_attempt_at` further ahead than the
    /// longest backoff ([`super::BACKOFF_CAP`]) was not set by a backoff: it comes from a
    /// clock that was once wrong, and would block sending for as long. It is capped.
    pub fn load_state_at(&self, now: f64) -> (State, Option<String>) {
        let path = self.dir.join(STATE_FILE);
        // Regular file, opened without blocking, capped: a FIFO put there
        // must not hang the agent.
        match crate::userfile::read_user_file(&path, 1 << 20) {
            Err(e) if e.io_kind() == Some(std::io::ErrorKind::NotFound) => (State::default(), None),
            Err(e) => (State::default(), Some(format!("reading {e}"))),
            Ok(b) => match serde_json::from_slice::<State>(&b) {
                Ok(mut s) => {
                    let latest = now + super::BACKOFF_CAP.as_secs_f64();
                    if s.next_attempt_at > latest {
                        let was = s.next_attempt_at;
                        s.next_attempt_at = latest;
                        return (
                            s,
                            Some(format!(
                                "{}: next_attempt_at {} is more than the longest backoff ({} s) ahead \
                                 (a clock once wrong?): capped to {}",
                                path.display(),
                                super::format_unix(was),
                                super::BACKOFF_CAP.as_secs(),
                                super::format_unix(latest)
                            )),
                        );
                    }
                    (s, None)
                }
                Err(e) => (
                    State::default(),
                    Some(format!(
                        "{}: {e}; starting from a fresh state",
                        path.display()
                    )),
                ),
            },
        }
    }

    /// Writes the state atomically.
    pub fn save_state(&self, state: &State) -> Result<(), String> {
        let path = self.dir.join(STATE_FILE);
        let mut text = serde_json::to_string_pretty(state).map_err(|e| e.to_string())?;
        text.push('\n');
        barbican_audit_support::atomic::write_atomic_mode(&path, text.as_bytes(), 0o600)
            .map_err(|e| e.to_string())
    }
}

/// The state of a spool directory without creating or cleaning it (for the
/// metrics when there is no collector, hence no spool in use).
pub fn peek(dir: &Path) -> ((usize, u64), State) {
    let entries = list(dir).unwrap_or_default();
    let totals = (entries.len(), entries.iter().map(|e| e.bytes).sum());
    let spool = Spool {
        dir: dir.to_path_buf(),
        max_files: 1,
        max_bytes: 0,
    };
    (totals, spool.load_state().0)
}

fn list(dir: &Path) -> Result<Vec<Entry>, String> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("reading spool directory", dir, e)),
    };
    let mut out = Vec::new();
    for e in rd {
        let e = e.map_err(|e| io_err("reading spool directory", dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if !is_report_name(&name) {
            continue;
        }
        let Ok(meta) = e.metadata() else { continue };
        if meta.is_file() {
            out.push(Entry {
                path: e.path(),
                name,
                bytes: meta.len(),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The run id as it may appear in a file name and a header.
fn safe_id(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Checks that spooled bytes are a whole JSON report and returns its run id
/// (the idempotency key). Anything else is quarantined by the caller: a
/// truncated or corrupted file must never reach the collector as a report.
pub fn validate(bytes: &[u8]) -> Result<String, String> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON ({e})"))?;
    if !v.get("schema_version").is_some_and(|s| s.is_u64()) {
        return Err("no schema_version: not a barbican-audit report".into());
    }
    let id = v
        .get("run")
        .and_then(|r| r.get("id"))
        .and_then(|i| i.as_str())
        .ok_or("no run.id")?;
    let ok = !id.is_empty()
        && id.len() <= 128
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !ok {
        return Err("run.id is not a plain identifier".into());
    }
    Ok(id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(id: &str) -> Vec<u8> {
        format!("{{\"schema_version\": 1, \"run\": {{\"id\": \"{id}\"}}}}\n").into_bytes()
    }

    fn names(s: &Spool) -> Vec<String> {
        s.entries().unwrap().into_iter().map(|e| e.name).collect()
    }

    #[test]
    fn atomic_write_leaves_no_temp_file_and_lists_oldest_first() {
        let d = tempfile::tempdir().unwrap();
        let s = Spool::open(&d.path().join("spool"), 10, 1 << 20).unwrap();
        s.add(2_000, "b", &report("b")).unwrap();
        s.add(1_000, "a", &report("a")).unwrap();
        s.add(30_000, "c", &report("c")).unwrap();
        assert_eq!(
            names(&s),
            [
                "0000000000001000-a.json",
                "0000000000002000-b.json",
                "0000000000030000-c.json"
            ]
        );
        let all: Vec<String> = fs::read_dir(s.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(all.iter().all(|n| !n.starts_with('.')), "{all:?}");
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            fs::metadata(s.dir().join("0000000000001000-a.json"))
                .unwrap()
                .permissions()
                .mode()
        };
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn open_removes_leftover_temp_files() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join(".barbican-audit.XyZ"), b"{\"schema_ver").unwrap();
        fs::write(d.path().join("0000000000000001-a.json"), report("a")).unwrap();
        let s = Spool::open(d.path(), 10, 1 << 20).unwrap();
        assert!(!d.path().join(".barbican-audit.XyZ").exists());
        assert_eq!(names(&s), ["0000000000000001-a.json"]);
    }

    #[test]
    fn bounds_drop_oldest_and_count_never_the_new_one() {
        let d = tempfile::tempdir().unwrap();
        let s = Spool::open(d.path(), 3, 1 << 20).unwrap();
        let mut state = State {
            dropped_reports: 4,
            ..State::default()
        };
        let mut last = None;
        for i in 1..=5 {
            let e = s.add(i, &format!("r{i}"), &report("x")).unwrap();
            s.enforce_bounds(&e, &mut state).unwrap();
            last = Some(e);
        }
        assert_eq!(
            names(&s),
            [
                "0000000000000003-r3.json",
                "0000000000000004-r4.json",
                "0000000000000005-r5.json"
            ]
        );
        assert_eq!(state.dropped_reports, 6);

        // Byte bound smaller than one report: only the newest stays.
        let s = Spool::open(d.path(), 100, 1).unwrap();
        let dropped = s
            .enforce_bounds(last.as_ref().unwrap(), &mut state)
            .unwrap();
        assert_eq!(dropped.len(), 2);
        assert_eq!(names(&s), ["0000000000000005-r5.json"]);
        assert_eq!(state.dropped_reports, 8);
    }

    #[test]
    fn rejected_is_bounded_to_the_newest() {
        let d = tempfile::tempdir().unwrap();
        let s = Spool::open(d.path(), 1000, 1 << 30).unwrap();
        for i in 0..(REJECTED_KEEP as i128 + 3) {
            let e = s.add(i, "r", &report("r")).unwrap();
            s.reject(&e).unwrap();
        }
        let kept = list(&d.path().join("rejected")).unwrap();
        assert_eq!(kept.len(), REJECTED_KEEP);
        assert_eq!(kept[0].name, "0000000000000003-r.json");
        assert!(s.entries().unwrap().is_empty());
    }

    #[test]
    fn validate_takes_only_whole_reports() {
        assert_eq!(validate(&report("abc-1")).unwrap(), "abc-1");
        let whole = report("abc");
        assert!(validate(&whole[..whole.len() - 4]).is_err(), "truncated");
        assert!(validate(b"").is_err());
        assert!(validate(b"{\"run\": {\"id\": \"a\"}}").is_err());
        assert!(validate(b"{\"schema_version\": 1, \"run\": {\"id\": \"a\\r\\nX: y\"}}").is_err());
        assert!(validate(b"[1,2]").is_err());
    }

    #[test]
    fn a_next_attempt_far_ahead_is_capped_to_the_longest_backoff() {
        let d = tempfile::tempdir().unwrap();
        let s = Spool::open(d.path(), 10, 100).unwrap();
        let now = 1.8e9;
        let cap = super::super::BACKOFF_CAP.as_secs_f64();
        // A clock once ten years ahead armed the backoff.
        let st = State {
            consecutive_failures: 2,
            next_attempt_at: now + 10.0 * 365.0 * 86_400.0,
            ..State::default()
        };
        s.save_state(&st).unwrap();
        let (loaded, warn) = s.load_state_at(now);
        assert_eq!(loaded.next_attempt_at, now + cap);
        assert_eq!(loaded.consecutive_failures, 2);
        let warn = warn.unwrap();
        assert!(warn.contains("capped"), "{warn}");
        // A real backoff (within the cap) and one in the past are kept as they are.
        for t in [now + cap - 1.0, now - 50.0, 0.0] {
            s.save_state(&State {
                next_attempt_at: t,
                ..State::default()
            })
            .unwrap();
            assert_eq!(
                s.load_state_at(now),
                (
                    State {
                        next_attempt_at: t,
                        ..State::default()
                    },
                    None
                )
            );
        }
    }

    #[test]
    fn state_round_trips_and_survives_garbage() {
        let d = tempfile::tempdir().unwrap();
        let s = Spool::open(d.path(), 10, 100).unwrap();
        assert_eq!(s.load_state(), (State::default(), None));
        let st = State {
            dropped_reports: 3,
            last_upload_success: 1.5e9,
            consecutive_failures: 2,
            next_attempt_at: 1.6e9,
        };
        s.save_state(&st).unwrap();
        assert_eq!(s.load_state().0, st);
        assert!(
            s.entries().unwrap().is_empty(),
            "state file is not a report"
        );
        fs::write(d.path().join(STATE_FILE), "garbage").unwrap();
        let (st2, warn) = s.load_state();
        assert_eq!(st2, State::default());
        assert!(warn.is_some());
    }
}
