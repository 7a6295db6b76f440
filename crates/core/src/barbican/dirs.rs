//! The directories Barbican loads files from, for BAR-003: whoever may write
//! in one of them sets options or policy rules, whatever the files' own modes.
//!
//! - `/etc/barbican`, the configuration directory;
//! - every `.conf.d` directory oslo.config reads `*.conf` from (the first
//!   existing `barbican.conf.d` of the search path for the API, and
//!   `barbican-worker.conf.d` etc. for the other programs): see
//!   [`super::config::Config::conf_dirs`]. No Barbican program passes
//!   `--config-dir`: the API ignores its command line (`parse_args` with no
//!   arguments, barbican `common/config.py`) and the units and kolla
//!   `command`s of the layouts we know start the others without it;
//! - every `[oslo_policy] policy_dirs` entry (default `policy.d`) that
//!   oslo.policy really walks: `Enforcer.load_rules` resolves each with
//!   `conf.find_file` (the directory of the config file first, then
//!   `~/.barbican/`, `~/`, `/etc/barbican/`, `/etc/`; an absolute name as
//!   written), skips a name found nowhere (`ConfigFilesNotFoundError`:
//!   `continue`), and walks it only if it is a directory
//!   (`_walk_through_policy_directory`). oslo.policy 4.x `policy.py`.
use std::path::PathBuf;

use super::config::{search_dirs, service_home, Config};
use crate::host::Host;

/// A directory Barbican loads files from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadDir {
    /// In-root path as Barbican names it.
    pub path: PathBuf,
    /// `config-dir`, `conf.d` or `policy-dir`.
    pub role: &'static str,
    /// How it was found (evidence).
    pub why: String,
}

/// The directories, and the paths whose existence could not be told (so
/// what Barbican loads from there is unknown: the check must say error).
#[derive(Debug, Clone, Default)]
pub struct LoadDirs {
    /// In a stable order, without duplicates.
    pub dirs: Vec<LoadDir>,
    /// (path, why) for paths that could not be stat'ed.
    pub problems: Vec<(PathBuf, String)>,
}

impl LoadDirs {
    fn add(&mut self, d: LoadDir) {
        if !self.dirs.iter().any(|x| x.path == d.path) {
            self.dirs.push(d);
        }
    }
}

/// The `.conf.d` directories of `configs` and the policy directories of the
/// API's config `cfg` (which `/etc/barbican` itself is not part of: the
/// caller judges it first).
pub fn load_dirs(host: &Host, cfg: &Config, progs: &[Config]) -> LoadDirs {
    let mut out = LoadDirs::default();
    for c in std::iter::once(cfg).chain(progs) {
        for d in &c.conf_dirs {
            out.add(LoadDir {
                path: d.clone(),
                role: "conf.d",
                why: format!(
                    "oslo.config reads its *.conf (the first existing {} of the search path)",
                    d.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                ),
            });
        }
    }
    policy_dirs(host, cfg, &mut out);
    out
}

/// `[oslo_policy] policy_dirs` as oslo.policy resolves and walks them.
fn policy_dirs(host: &Host, cfg: &Config, out: &mut LoadDirs) {
    // conf.find_file: the directories of the config *files* (not of the
    // .conf.d files, which oslo.config keeps apart as config dirs), last
    // first, then the default search directories.
    let mut dirs: Vec<PathBuf> = Vec::new();
    for f in cfg.files.iter().rev() {
        let Some(d) = f.path.parent() else { continue };
        if cfg.conf_dirs.iter().any(|c| c == d) || dirs.iter().any(|x| x == d) {
            continue;
        }
        dirs.push(d.to_path_buf());
    }
    dirs.extend(search_dirs(&service_home(host)));
    let entries = cfg.policy_dirs();
    for (name, why) in entries {
        let candidates: Vec<PathBuf> = if name.starts_with('/') {
            vec![PathBuf::from(&name)]
        } else {
            dirs.iter().map(|d| d.join(&name)).collect()
        };
        for p in candidates {
            match host.exists_checked(&p) {
                Ok(false) => continue,
                Ok(true) => {
                    // A file there: oslo.policy raises instead of walking it;
                    // no directory to judge (BAR-008 meets the failure).
                    if host.is_dir(&p) {
                        out.add(LoadDir {
                            path: p,
                            role: "policy-dir",
                            why: why.clone(),
                        });
                    }
                }
                Err(e) => out.problems.push((
                    p,
                    format!("cannot tell whether it exists ({e}), so which policy directory oslo.policy walks ({why}) is unknown"),
                )),
            }
            break;
        }
    }
}
