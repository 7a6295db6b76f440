//! The effective file set: every file Barbican actually reads, resolved
//! under the root (catalog.md, "The effective file set").
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::config::{search_dirs, service_home, Config};
use crate::host::Host;

/// Per-program config files read by the other Barbican services (their
/// `prog` is `basename(argv[0])`, see barbican `cmd/worker.py:62`).
pub const PROGS: &[&str] = &[
    "barbican-worker",
    "barbican-keystone-listener",
    "barbican-retry",
];

pub use super::served::DEFAULT_PASTE;
use super::served::{self, paste_uri_path, PasteFrom, Served, DEFAULT_AUDIT_MAP};

/// uwsgi configs that may name another paste file with `paste = config:...`:
/// judged, with the paste file they name, when nothing is found that serves
/// the API (see [`EffectiveFiles::add_unserved`]).
pub const UWSGI_FILES: &[&str] = &[
    "/etc/barbican/barbican-api-uwsgi.ini",
    "/etc/barbican/vassals/barbican-api.ini",
];

/// Options naming key or certificate files (section, key).
pub const KEY_FILE_OPTIONS: &[(&str, &str)] = &[
    ("kmip_plugin", "keyfile"),
    ("kmip_plugin", "certfile"),
    ("dogtag_plugin", "pem_path"),
    ("p11_crypto_plugin", "seed_file"),
    ("keystone_authtoken", "keyfile"),
    ("vault_plugin", "ssl_ca_crt_file"),
];

/// Why a file is in the set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    /// In-root path as Barbican names it.
    pub path: PathBuf,
    /// What it is: `config`, `config-dir`, `paste`, `policy`, `uwsgi`, `uwsgi-vassal`,
    /// `gunicorn-config`, `httpd-vhost`, `audit-map`, `key-file`.
    pub role: &'static str,
    /// How it was found, for evidence (`[oslo_policy] policy_dirs at barbican.conf:1234`).
    pub why: String,
    /// Named explicitly by configuration: a missing file is a finding, not silence.
    pub named: bool,
}

/// The resolved set, in a stable order without duplicates.
#[derive(Debug, Clone, Default)]
pub struct EffectiveFiles {
    /// The files.
    pub files: Vec<FileRef>,
    /// What could not be read while resolving the set, as (role, path,
    /// why): files that may belong to the set are unknown, so the checks
    /// that judge the set must say error (fail closed).
    pub problems: Vec<(&'static str, PathBuf, String)>,
    /// Paths already in `files`: the duplicate check is a hash lookup, not a scan of `files`
    /// (a scan made a policy.d of 20,000 files take seconds: quadratic).
    seen: HashSet<Key>,
}

/// A path as a set key. Its `PartialEq` counts comparisons in tests, so a test can tell a
/// linear resolve from a quadratic one without timing anything.
#[derive(Debug, Clone, Eq)]
struct Key(PathBuf);

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        #[cfg(test)]
        tests::COMPARISONS.with(|c| c.set(c.get() + 1));
        self.0 == other.0
    }
}

impl EffectiveFiles {
    fn add(&mut self, f: FileRef) {
        if self.seen.insert(Key(f.path.clone())) {
            self.files.push(f);
        }
    }

    /// Resolves the set from the root and the loaded `barbican` config.
    pub fn resolve(host: &Host, cfg: &Config, progs: &[Config]) -> EffectiveFiles {
        let mut set = EffectiveFiles::default();
        for c in std::iter::once(cfg).chain(progs) {
            for (i, f) in c.files.iter().enumerate() {
                set.add(FileRef {
                    path: f.path.clone(),
                    role: if i == 0 && !is_in_conf_d(&f.path) {
                        "config"
                    } else {
                        "config-dir"
                    },
                    why: "oslo.config default search".to_string(),
                    named: false,
                });
            }
        }
        // What serves the API: its starters and paste file, and the audit map
        // only when a served chain has the audit filter (issue 17, item 3).
        let served = Served::find(host);
        for (p, why) in &served.problems {
            set.problems.push(("paste", p.clone(), why.clone()));
        }
        if served.found() {
            set.add_served(host, &served);
        } else {
            set.add_unserved(host);
        }
        set.add_policy(host, cfg);
        for (group, key) in KEY_FILE_OPTIONS {
            if let Some((v, file)) = cfg.get(group, key) {
                let val = v.value.trim();
                if val.is_empty() {
                    continue;
                }
                set.add(FileRef {
                    path: PathBuf::from(val),
                    role: "key-file",
                    why: format!("[{group}] {key} at {}:{}", file.display(), v.line),
                    named: true,
                });
            }
        }
        set
    }

    /// The files on the serving path: the server's own config (uwsgi ini,
    /// vassal, gunicorn config, httpd vhost), the paste file it loads, and the
    /// audit map when a served chain has the audit filter.
    fn add_served(&mut self, host: &Host, served: &Served) {
        // A starter that cannot be read is an error (its problem), not also judged.
        let unread = |p: &Path| served.problems.iter().any(|(q, _)| q == p);
        for s in served
            .starters
            .iter()
            .filter(|s| s.kind.judged() && !unread(&s.path))
        {
            self.add(FileRef {
                path: s.path.clone(),
                role: s.kind.role(),
                why: s.why.clone(),
                named: true,
            });
        }
        // Starters found but none settles the paste file (one cannot be read: its
        // error says so): Barbican's hard-coded one is judged if it exists, and the
        // audit map too (fail closed, never drop a file silently).
        let unknown = served.pastes.is_empty();
        let fallback = [served::ServedPaste {
            path: PathBuf::from(DEFAULT_PASTE),
            from: PasteFrom::HardCoded,
            why: "hard-coded in barbican.api.app; which paste file is served is unknown (a starter is missing or cannot be read), so it is judged because it exists".to_string(),
        }];
        let pastes: &[served::ServedPaste] = if unknown { &fallback } else { &served.pastes };
        for p in pastes {
            let hard = p.from == PasteFrom::HardCoded;
            // Present even as a dangling symlink: loadapp() would try it and fail.
            if hard && host.lstat(&p.path).is_err() {
                continue;
            }
            self.add(FileRef {
                path: p.path.clone(),
                role: "paste",
                why: p.why.clone(),
                named: !hard,
            });
        }
        for p in pastes {
            let map = if unknown {
                Err("a starter is missing or cannot be read".to_string())
            } else {
                served::audit_map(host, &p.path)
            };
            match map {
                Ok(Some((map, why))) => self.add(FileRef {
                    path: map,
                    role: "audit-map",
                    why,
                    named: true,
                }),
                Ok(None) => {}
                // Unknown: judge the stock audit map if it exists (fail closed,
                // never drop a file silently). BAR-004/BAR-012 report the paste file.
                Err(e) => {
                    let map = Path::new(DEFAULT_AUDIT_MAP);
                    if host.exists(map) {
                        self.add(FileRef {
                            path: map.to_path_buf(),
                            role: "audit-map",
                            why: format!(
                                "keystonemiddleware audit map, judged because whether the audit filter is served is unknown: {e}"
                            ),
                            named: false,
                        });
                    }
                }
            }
        }
    }

    /// Nothing found serves the API (no unit, init script, kolla command or
    /// httpd vhost: a bare image tree): every uwsgi ini, paste file and audit
    /// map that exists is judged, and the evidence says why.
    fn add_unserved(&mut self, host: &Host) {
        const NOTE: &str = "nothing found that serves the API (no barbican unit, init script, kolla command or httpd vhost), so it is judged because it exists";
        let mut paste: Option<(PathBuf, String)> = None;
        for u in UWSGI_FILES {
            let p = Path::new(u);
            match host.exists_checked(p) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    self.problems.push((
                        "paste",
                        p.to_path_buf(),
                        format!("cannot tell whether it exists ({e}), so which paste file is served is unknown"),
                    ));
                    continue;
                }
            }
            self.add(FileRef {
                path: p.to_path_buf(),
                role: "uwsgi",
                why: format!("uwsgi configuration of barbican-api; {NOTE}"),
                named: false,
            });
            if paste.is_none() {
                match uwsgi_paste(host, p) {
                    Ok(Some(named)) => paste = Some((named, format!("paste = in {u}; {NOTE}"))),
                    Ok(None) => {}
                    Err(e) => self.problems.push((
                        "paste",
                        p.to_path_buf(),
                        format!("cannot read it ({e}), so which paste file is served is unknown"),
                    )),
                }
            }
        }
        match paste {
            Some((p, why)) => self.add(FileRef {
                path: p,
                role: "paste",
                why,
                named: true,
            }),
            // Present even as a dangling symlink: loadapp() would try it and fail.
            None if host.lstat(Path::new(DEFAULT_PASTE)).is_ok() => self.add(FileRef {
                path: PathBuf::from(DEFAULT_PASTE),
                role: "paste",
                why: format!("hard-coded in barbican.api.app; {NOTE}"),
                named: false,
            }),
            None => {}
        }
        let audit_map = Path::new(DEFAULT_AUDIT_MAP);
        if host.exists(audit_map) {
            self.add(FileRef {
                path: audit_map.to_path_buf(),
                role: "audit-map",
                why: format!("keystonemiddleware audit map; {NOTE}"),
                named: false,
            });
        }
    }

    /// `[oslo_policy] policy_file` (default `policy.yaml`, falling back to
    /// `policy.json`) and every non-dot file of each `policy_dirs` directory.
    /// See: oslo.config `find_file`, oslo.policy `_walk_through_policy_directory`.
    fn add_policy(&mut self, host: &Host, cfg: &Config) {
        let home = service_home(host);
        let mut dirs = cfg.file_dirs();
        dirs.extend(search_dirs(&home));
        // oslo.config find_file: the first directory holding the name. A
        // directory the auditor cannot search is a problem, not a miss.
        let mut problems: Vec<(&'static str, PathBuf, String)> = Vec::new();
        let find = |name: &str,
                    problems: &mut Vec<(&'static str, PathBuf, String)>|
         -> Option<PathBuf> {
            if name.starts_with('/') {
                return Some(PathBuf::from(name));
            }
            for p in dirs.iter().map(|d| d.join(name)) {
                match host.exists_checked(&p) {
                    Ok(true) => return Some(p),
                    Ok(false) => {}
                    Err(e) => {
                        problems.push((
                            "policy",
                            p.clone(),
                            format!("cannot tell whether it exists ({e}), so which policy files oslo.policy reads is unknown"),
                        ));
                        return None;
                    }
                }
            }
            None
        };
        match cfg.get("oslo_policy", "policy_file") {
            Some((v, file)) if !v.value.trim().is_empty() => {
                let name = v.value.trim();
                let why = format!("[oslo_policy] policy_file at {}:{}", file.display(), v.line);
                match find(name, &mut problems) {
                    Some(p) => self.add(FileRef {
                        path: p,
                        role: "policy",
                        why,
                        named: true,
                    }),
                    None => self.add(FileRef {
                        path: PathBuf::from(format!("/etc/barbican/{name}")),
                        role: "policy",
                        why,
                        named: true,
                    }),
                }
            }
            _ => {
                for name in ["policy.yaml", "policy.json"] {
                    if let Some(p) = find(name, &mut problems).filter(|p| host.exists(p)) {
                        self.add(FileRef {
                            path: p,
                            role: "policy",
                            why: "oslo.policy default policy file".to_string(),
                            named: false,
                        });
                        break;
                    }
                }
            }
        }
        let entries = cfg.policy_dirs();
        for (name, why) in entries {
            let Some(dir) = find(&name, &mut problems).filter(|d| host.is_dir(d)) else {
                continue;
            };
            let list = match host.list_dir(&dir) {
                Ok(l) => l,
                Err(e) => {
                    problems.push((
                        "policy",
                        dir.clone(),
                        format!("cannot list the policy directory ({e}), so its policy files are not judged"),
                    ));
                    continue;
                }
            };
            for p in list {
                let hidden = p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'));
                if !hidden && !host.is_dir(&p) {
                    self.add(FileRef {
                        path: p,
                        role: "policy",
                        why: why.clone(),
                        named: false,
                    });
                }
            }
        }
        self.problems.extend(problems);
    }
}

fn is_in_conf_d(p: &Path) -> bool {
    p.parent()
        .and_then(|d| d.file_name())
        .is_some_and(|n| n.to_string_lossy().ends_with(".conf.d"))
}

/// `paste = config:/path#name` in the `[uwsgi]` section of a uwsgi ini.
fn uwsgi_paste(host: &Host, p: &Path) -> std::io::Result<Option<PathBuf>> {
    let bytes = host.read(p)?;
    let Ok(ini) = ini::Ini::load_from_str(&String::from_utf8_lossy(&bytes)) else {
        return Ok(None);
    };
    Ok(ini
        .section(Some("uwsgi"))
        .and_then(|s| s.get("paste"))
        .and_then(paste_uri_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// Path comparisons made by the effective set's duplicate check (see [`Key`]).
        pub(super) static COMPARISONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    /// A root whose `/etc/barbican/policy.d` holds `n` files; the set resolved from it, and
    /// the path comparisons resolving took.
    fn resolve_policy_d(n: usize, extra_conf: &str) -> (EffectiveFiles, u64) {
        let root = tempfile::tempdir().unwrap();
        let etc = root.path().join("etc/barbican");
        std::fs::create_dir_all(etc.join("policy.d")).unwrap();
        std::fs::write(etc.join("barbican.conf"), extra_conf).unwrap();
        for i in 0..n {
            std::fs::write(etc.join(format!("policy.d/p{i:05}.yaml")), "").unwrap();
        }
        let host = Host::open(root.path()).unwrap();
        let cfg = Config::load(&host, "barbican");
        COMPARISONS.with(|c| c.set(0));
        let set = EffectiveFiles::resolve(&host, &cfg, &[]);
        (set, COMPARISONS.with(|c| c.get()))
    }

    #[test]
    fn policy_d_of_many_files_resolves_in_linear_work() {
        // The duplicate check once scanned the whole set for every file: 20,000 policy files
        // cost 200 million path comparisons, n * (n - 1) / 2. Now it is a hash lookup: a path is
        // compared only when its 7-bit hash tag matches an entry probed (about 1 in 128 of a
        // 16-entry group), so the count is random but small and grows with n, not n^2.
        for n in [1_000usize, 4_000] {
            let (set, c) = resolve_policy_d(n, "");
            assert_eq!(set.files.iter().filter(|f| f.role == "policy").count(), n);
            let quadratic = (n * (n - 1) / 2) as u64;
            assert!(
                c <= (n / 4) as u64,
                "{c} comparisons for {n} files (a scan: {quadratic})"
            );
        }
    }

    #[test]
    fn a_policy_dir_named_twice_adds_its_files_once() {
        let conf = "[oslo_policy]\npolicy_dirs = policy.d\npolicy_dirs = /etc/barbican/policy.d\n";
        let (set, comparisons) = resolve_policy_d(50, conf);
        let policies: Vec<_> = set.files.iter().filter(|f| f.role == "policy").collect();
        assert_eq!(policies.len(), 50);
        assert_eq!(
            policies[0].path,
            Path::new("/etc/barbican/policy.d/p00000.yaml")
        );
        // The second naming finds each of the 50 again: one comparison per duplicate (and a
        // few false tag matches).
        assert!((50..=150).contains(&comparisons), "{comparisons}");
    }

    #[test]
    fn paste_uri_forms() {
        assert_eq!(
            paste_uri_path("config:/etc/b/p.ini#main"),
            Some(PathBuf::from("/etc/b/p.ini"))
        );
        assert_eq!(
            paste_uri_path("/etc/b/p.ini"),
            Some(PathBuf::from("/etc/b/p.ini"))
        );
        assert_eq!(paste_uri_path("config:relative.ini"), None);
    }
}
