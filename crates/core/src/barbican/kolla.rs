//! The source of the served config in a kolla-built container (kolla and
//! TripleO): `kolla_set_configs` copies each `config_files` entry of
//! `/var/lib/kolla/config_files/config.json` from `source` to `dest` at
//! every start (kolla `docker/base/set_configs.py`, `ConfigFile.copy`:
//! `glob.glob(source)`; a `dest` ending in `/` receives each match under
//! its own name; a directory is copied or merged as a tree).
//!
//! - kolla: `/var/lib/kolla/config_files/barbican.conf` → `/etc/barbican/barbican.conf`
//!   (kolla-ansible roles/barbican/templates/barbican-api.json.j2:4-15); the
//!   directory is the host's `/etc/kolla/barbican-api/`, bind-mounted
//!   read-only (defaults/main.yml:148).
//! - TripleO: `/var/lib/kolla/config_files/src/*` → `/`, `merge: true`
//!   (tht deployment/barbican/barbican-api-container-puppet.yaml:336-339),
//!   so `src/etc/barbican/barbican.conf` → `/etc/barbican/barbican.conf`;
//!   `src` is the host's puppet-generated tree, read-only.
//!
//! Such a source holds the same KEK as the config it becomes: it is the
//! deployment's own copy (BAR-006, fixed where the tool keeps the setting),
//! not a stray one for BAR-013 to `shred`.
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::host::Host;

/// Where kolla_set_configs reads its instructions.
pub const CONFIG_JSON: &str = "/var/lib/kolla/config_files/config.json";

/// config.json is a few KiB; anything larger is not kolla's.
const CAP: u64 = 1 << 20;

#[derive(Debug, Deserialize)]
struct RawConfig {
    #[serde(default)]
    config_files: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
struct RawEntry {
    source: String,
    dest: String,
}

/// One `config_files` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `source` as written (a glob).
    pub source: String,
    /// `dest` as written.
    pub dest: String,
}

/// A source file and the served file it is copied to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// In-root path of the source (under /var/lib/kolla/config_files).
    pub source: PathBuf,
    /// In-root path it is copied to at every start.
    pub dest: PathBuf,
}

/// config.json's entries: `Ok(None)` when there is no config.json (not a
/// kolla-built container); an error naming it when it cannot be read or
/// parsed (then nothing may be taken for the deployment's own copy).
pub fn entries(host: &Host) -> Result<Option<Vec<Entry>>, String> {
    let p = Path::new(CONFIG_JSON);
    match host.exists_checked(p) {
        Ok(false) => return Ok(None),
        Ok(true) => {}
        Err(e) => return Err(format!("{CONFIG_JSON}: cannot tell whether it exists: {e}")),
    }
    let bytes = host
        .read_capped(p, CAP)
        .map_err(|e| format!("{CONFIG_JSON}: cannot read it: {e}"))?;
    let raw: RawConfig = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{CONFIG_JSON}: not kolla_set_configs JSON: {e}"))?;
    Ok(Some(
        raw.config_files
            .into_iter()
            .map(|e| Entry {
                source: e.source,
                dest: e.dest,
            })
            .collect(),
    ))
}

/// The sources copied to any of `served` (in-root paths of the config files
/// Barbican reads), existing on the root. See [`entries`] for the errors.
pub fn served_sources(host: &Host, served: &[PathBuf]) -> Result<Vec<Copied>, String> {
    let Some(entries) = entries(host)? else {
        return Ok(Vec::new());
    };
    let mut out: Vec<Copied> = Vec::new();
    for d in served {
        for e in &entries {
            let Some(src) = source_of(e, d) else { continue };
            // Only a source that is there is a copy (optional entries).
            if host.exists(&src) && !host.is_dir(&src) && !out.iter().any(|c| c.source == src) {
                out.push(Copied {
                    source: src,
                    dest: d.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// The sources of the config files `cfg` reads (the served config).
pub fn config_sources(host: &Host, cfg: &super::Config) -> Result<Vec<Copied>, String> {
    let served: Vec<PathBuf> = cfg.files.iter().map(|f| f.path.clone()).collect();
    served_sources(host, &served)
}

/// The source path `e` copies to `dest`, if it does. Globs are supported in
/// the last component of `source` (kolla and TripleO use `src/*`).
fn source_of(e: &Entry, dest: &Path) -> Option<PathBuf> {
    let src = clean(&e.source)?;
    let edest = clean(&e.dest)?;
    let into_dir = e.dest.ends_with('/');
    let name = src.file_name()?.to_string_lossy().into_owned();
    let globbed = name.contains(['*', '?', '[']);
    if src
        .parent()
        .is_some_and(|p| p.to_string_lossy().contains(['*', '?', '[']))
    {
        // Not a form kolla or TripleO write: no exemption.
        return None;
    }
    if globbed {
        if !into_dir {
            // One dest for every match: which one wins is not known here.
            return None;
        }
        let rel = dest.strip_prefix(&edest).ok()?;
        let mut comps = rel.components();
        let first = match comps.next()? {
            Component::Normal(c) => c.to_string_lossy().into_owned(),
            _ => return None,
        };
        if !fnmatch(&name, &first) {
            return None;
        }
        return Some(src.parent()?.join(first).join(comps.as_path()));
    }
    let base = if into_dir { edest.join(&name) } else { edest };
    let rel = dest.strip_prefix(&base).ok()?;
    Some(if rel.as_os_str().is_empty() {
        src
    } else {
        src.join(rel)
    })
}

/// An absolute path without `.`/`..` tricks, as written.
fn clean(p: &str) -> Option<PathBuf> {
    let path = Path::new(p);
    if !path.is_absolute() {
        return None;
    }
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::RootDir => {}
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Python `glob` on one name: `*`, `?` and `[...]` as fnmatch, and a
/// leading `.` is matched only by a pattern starting with `.`.
fn fnmatch(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(false)
        .build()
        .map(|g| g.compile_matcher().is_match(name))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(source: &str, dest: &str) -> Entry {
        Entry {
            source: source.into(),
            dest: dest.into(),
        }
    }

    #[test]
    fn kolla_file_entry() {
        // kolla-ansible roles/barbican/templates/barbican-api.json.j2:4-9
        let k = e(
            "/var/lib/kolla/config_files/barbican.conf",
            "/etc/barbican/barbican.conf",
        );
        assert_eq!(
            source_of(&k, Path::new("/etc/barbican/barbican.conf")),
            Some(PathBuf::from("/var/lib/kolla/config_files/barbican.conf"))
        );
        assert_eq!(
            source_of(&k, Path::new("/etc/barbican/barbican-api-paste.ini")),
            None
        );
    }

    #[test]
    fn tripleo_merge_of_src_star() {
        // tht barbican-api-container-puppet.yaml:336-339
        let t = e("/var/lib/kolla/config_files/src/*", "/");
        assert_eq!(
            source_of(&t, Path::new("/etc/barbican/barbican.conf")),
            Some(PathBuf::from(
                "/var/lib/kolla/config_files/src/etc/barbican/barbican.conf"
            ))
        );
        // a dir entry: source dir → dest dir, the tree below it
        let d = e(
            "/var/lib/kolla/config_files/src/etc/barbican",
            "/etc/barbican",
        );
        assert_eq!(
            source_of(&d, Path::new("/etc/barbican/barbican.conf")),
            Some(PathBuf::from(
                "/var/lib/kolla/config_files/src/etc/barbican/barbican.conf"
            ))
        );
        // into a directory under the source's own name
        let n = e(
            "/var/lib/kolla/config_files/barbican.conf",
            "/etc/barbican/",
        );
        assert_eq!(
            source_of(&n, Path::new("/etc/barbican/barbican.conf")),
            Some(PathBuf::from("/var/lib/kolla/config_files/barbican.conf"))
        );
    }

    #[test]
    fn what_is_not_understood_exempts_nothing() {
        let p = Path::new("/etc/barbican/barbican.conf");
        assert_eq!(
            source_of(
                &e("/var/lib/*/barbican.conf", "/etc/barbican/barbican.conf"),
                p
            ),
            None
        );
        assert_eq!(
            source_of(
                &e(
                    "/var/lib/kolla/config_files/*.conf",
                    "/etc/barbican/barbican.conf"
                ),
                p
            ),
            None
        );
        assert_eq!(
            source_of(&e("relative.conf", "/etc/barbican/barbican.conf"), p),
            None
        );
        assert_eq!(
            source_of(
                &e(
                    "/var/lib/../../root/.bash_history",
                    "/etc/barbican/barbican.conf"
                ),
                p
            ),
            None
        );
        // `*` does not match a hidden name
        assert_eq!(
            source_of(&e("/src/*", "/"), Path::new("/.hidden/barbican.conf")),
            None
        );
    }
}
