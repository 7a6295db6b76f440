//! The oslo.config default search and the merged view of barbican.conf.
//!
//! Barbican's API and every plugin call `parse_args(CONF)` with
//! `project='barbican', prog='barbican'` and no CLI arguments, so only the
//! default search counts: the first existing `barbican.conf` of
//! `~/.barbican/`, `~/`, `/etc/barbican/`, `/etc/`, then every `*.conf` of the
//! first existing `barbican.conf.d` there, sorted.
//! See: oslo.config 9.0.0 `cfg.py` `_search_dirs`, `find_config_files`,
//! `find_config_dirs`, `_parse_config_files`; barbican 15.0.1
//! `barbican/common/config.py` `parse_args`.
//!
//! `~` is the service user's home from the root's passwd (`barbican`,
//! falling back to `/var/lib/barbican`, Debian's and RDO's home for it).
//!
//! Not yet here (issue 4): `$name` interpolation, `OS_<GROUP>__<OPT>`
//! environment overrides from systemd units, the per-prog files' own merge.
use std::path::{Path, PathBuf};

use super::oslo;
use crate::host::Host;

/// Home of the barbican user when the root's passwd does not name one.
pub const FALLBACK_HOME: &str = "/var/lib/barbican";

/// A config file that was found, with what oslo.config made of it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// In-root path.
    pub path: PathBuf,
    /// Parsed content, or the read error.
    pub parsed: Result<oslo::File, String>,
}

/// The files one oslo.config program reads, in parse order.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Files in parse order (the main file first, then the `.conf.d` files sorted).
    pub files: Vec<Loaded>,
    /// Higher-precedence files that exist beside the winning one (for BAR-009).
    pub candidates: Vec<PathBuf>,
}

/// The search directories in oslo.config's order for a given home.
pub fn search_dirs(home: &str) -> Vec<PathBuf> {
    let home = Path::new(home);
    vec![
        home.join(".barbican"),
        home.to_path_buf(),
        PathBuf::from("/etc/barbican"),
        PathBuf::from("/etc"),
    ]
}

/// The service user's home inside the root.
pub fn service_home(host: &Host) -> String {
    host.users
        .user("barbican")
        .map(|u| u.home.clone())
        .filter(|h| h.starts_with('/'))
        .unwrap_or_else(|| FALLBACK_HOME.to_string())
}

impl Config {
    /// Loads what program `prog` reads (`barbican`, `barbican-worker`, ...).
    /// For `barbican` this is the file the API and all plugins see.
    pub fn load(host: &Host, prog: &str) -> Config {
        let home = service_home(host);
        let dirs = search_dirs(&home);
        let mut cfg = Config::default();
        let name = format!("{prog}.conf");
        let existing: Vec<PathBuf> = dirs
            .iter()
            .map(|d| d.join(&name))
            .filter(|p| host.exists(p) && !host.is_dir(p))
            .collect();
        if let Some(first) = existing.first() {
            cfg.files.push(load_file(host, first));
        }
        cfg.candidates = existing;
        let dname = format!("{prog}.conf.d");
        if let Some(dir) = dirs.iter().map(|d| d.join(&dname)).find(|p| host.exists(p)) {
            if let Ok(entries) = host.list_dir(&dir) {
                for p in entries {
                    let is_conf = p.extension().is_some_and(|e| e == "conf")
                        && p.file_name().is_some_and(|n| n != ".conf");
                    if is_conf && !host.is_dir(&p) {
                        cfg.files.push(load_file(host, &p));
                    }
                }
            }
        }
        cfg
    }

    /// The last value of a single-valued option across files, with its file
    /// (last parsed wins; within a file, the last assignment wins).
    pub fn get(&self, group: &str, key: &str) -> Option<(&oslo::Value, &Path)> {
        self.get_multi(group, key).pop()
    }

    /// Every value of a MultiStr option across files, oldest file first.
    pub fn get_multi(&self, group: &str, key: &str) -> Vec<(&oslo::Value, &Path)> {
        let mut out = Vec::new();
        for f in &self.files {
            if let Ok(parsed) = &f.parsed {
                for v in parsed.get_all(group, key) {
                    out.push((v, f.path.as_path()));
                }
            }
        }
        out
    }

    /// Directories of the parsed config files, last parsed first
    /// (oslo.config `find_file` looks there before the default dirs).
    pub fn file_dirs(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for f in self.files.iter().rev() {
            if let Some(d) = f.path.parent() {
                if !out.iter().any(|x| x == d) {
                    out.push(d.to_path_buf());
                }
            }
        }
        out
    }
}

fn load_file(host: &Host, path: &Path) -> Loaded {
    let parsed = host
        .read(path)
        .map(|b| oslo::parse_bytes(&b))
        .map_err(|e| e.to_string());
    Loaded {
        path: path.to_path_buf(),
        parsed,
    }
}
