//! Is Barbican installed under the root, and which version?
//!
//! Sources, in order: dpkg status (`barbican-common`, `python3-barbican`,
//! `barbican-api`), the rpm database (`openstack-barbican-common`,
//! `python3-barbican`; SQLite in rpm >= 4.16, see [`super::rpmdb`]), then
//! Python metadata directories (`barbican-<version>.dist-info` /
//! `.egg-info`) in the usual site dirs and in the deployment tools' venvs:
//! kolla's /var/lib/kolla/venv, LOCI's /var/lib/openstack (OpenStack-Helm),
//! OpenStack-Ansible's /openstack/venvs/barbican-<tag>. The OSA directory's
//! tag is the OSA release, not Barbican's (`barbican-32.0.0` holds Barbican
//! 21.0.0), so only the dist-info name inside it is read.
//!
//! Fail closed: a source that is there but cannot be read is said in
//! `source` when no other source gives the version; it is never guessed.
use std::path::Path;

use crate::host::Host;

/// What is known about the installed Barbican.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Installed {
    /// Upstream version (`15.0.1`), epoch and packaging revision removed.
    pub version: Option<String>,
    /// Where the version came from (`dpkg status: barbican-common 1:15.0.1-2`).
    pub source: Option<String>,
    /// Installed oslo.policy (`python3-oslo.policy` in dpkg status), for the
    /// effective `enforce_new_defaults` of Barbican <= 18.
    pub oslo_policy: Option<String>,
}

const DPKG_PACKAGES: &[&str] = &["barbican-common", "python3-barbican", "barbican-api"];
/// RDO's packages (barbican-distgit openstack-barbican.spec), most specific first.
const RPM_PACKAGES: &[&str] = &[
    "openstack-barbican-common",
    "python3-barbican",
    "openstack-barbican-api",
];
/// The lib directories of the deployment tools' venvs (their `python3.X`
/// children hold site-packages): kolla (openstack-base Dockerfile.j2:194-196)
/// and LOCI (loci Dockerfile:9).
const VENV_LIBS: &[&str] = &["/var/lib/kolla/venv/lib", "/var/lib/openstack/lib"];
/// OpenStack-Ansible's venvs: `/openstack/venvs/barbican-<venv_tag>`
/// (os_barbican defaults/main.yml:163).
const OSA_VENVS: &str = "/openstack/venvs";

/// The dpkg status file is bounded, however big the server.
const DPKG_STATUS_CAP: u64 = 256 << 20;

/// The packages of `packages` that dpkg status lists as installed (none
/// when the status file cannot be read).
pub fn dpkg_installed(host: &Host, packages: &[&'static str]) -> Vec<&'static str> {
    host.read_capped(Path::new("/var/lib/dpkg/status"), DPKG_STATUS_CAP)
        .map(|b| {
            let text = String::from_utf8_lossy(&b);
            packages
                .iter()
                .copied()
                .filter(|p| dpkg_version(&text, p).is_some())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether dpkg status lists an installed Barbican package (layout recognition).
pub fn dpkg_has_barbican(host: &Host) -> bool {
    host.read_capped(Path::new("/var/lib/dpkg/status"), DPKG_STATUS_CAP)
        .map(|b| {
            let text = String::from_utf8_lossy(&b);
            DPKG_PACKAGES
                .iter()
                .any(|p| dpkg_version(&text, p).is_some())
        })
        .unwrap_or(false)
}

/// The Barbican version in the rpm database: Ok(None) when no database or
/// no Barbican package, Err(reason) when the database is there but cannot
/// be read or its version is not a version.
fn rpm_version(host: &Host) -> Result<Option<(String, String)>, String> {
    if !super::rpmdb::present(host) {
        return Ok(None);
    }
    let pkgs = super::rpmdb::read(host)
        .map_err(|e| format!("rpm database {}: unreadable: {e}", super::rpmdb::RPMDB))?;
    for want in RPM_PACKAGES {
        if let Some(p) = pkgs.iter().find(|p| p.name == *want) {
            if !plausible_version(&p.version) {
                return Err(format!(
                    "rpm database: {want} has a VERSION that is not a version"
                ));
            }
            let source = format!("rpm database: {want} {}-{}", p.version, p.release);
            return Ok(Some((p.version.clone(), source)));
        }
    }
    Ok(None)
}
const SITE_DIRS: &[&str] = &[
    "/usr/lib/python3/dist-packages",
    "/usr/local/lib/python3/dist-packages",
];

/// Looks for an installed Barbican under the root.
pub fn detect(host: &Host) -> Installed {
    // A big server's dpkg status can pass the config cap; it is still bounded.
    // Read once: the Barbican version and the oslo.policy version both come from it.
    let mut oslo_policy = None;
    if let Ok(bytes) = host.read_capped(Path::new("/var/lib/dpkg/status"), DPKG_STATUS_CAP) {
        let text = String::from_utf8_lossy(&bytes);
        oslo_policy = dpkg_version(&text, "python3-oslo.policy")
            .map(|v| upstream_version(&v))
            .filter(|v| plausible_version(v));
        for want in DPKG_PACKAGES {
            if let Some(v) = dpkg_version(&text, want) {
                // An unparseable Version is not stated as fact: the version is unknown.
                let up = upstream_version(&v);
                if !plausible_version(&up) {
                    return Installed {
                        version: None,
                        source: Some(format!(
                            "dpkg status: {want} has a Version field that is not a version"
                        )),
                        oslo_policy,
                    };
                }
                return Installed {
                    version: Some(up),
                    source: Some(format!("dpkg status: {want} {v}")),
                    oslo_policy,
                };
            }
        }
    }
    // A database that is there but unreadable is said when nothing else
    // gives the version (below); the Python metadata is a source of its own.
    let mut unreadable = None;
    match rpm_version(host) {
        Ok(Some((version, source))) => {
            return Installed {
                version: Some(version),
                source: Some(source),
                oslo_policy,
            }
        }
        Ok(None) => {}
        Err(why) => unreadable = Some(why),
    }
    let mut site: Vec<String> = SITE_DIRS.iter().map(|s| s.to_string()).collect();
    let mut bases: Vec<String> = ["/usr/lib", "/usr/lib64", "/usr/local/lib"]
        .iter()
        .chain(VENV_LIBS)
        .map(|s| s.to_string())
        .collect();
    for venv in crate::layout::entries_with_prefix(host, OSA_VENVS, "barbican-") {
        bases.push(format!("{}/lib", venv.display()));
    }
    for base in bases {
        if let Ok(entries) = host.list_dir(Path::new(&base)) {
            for e in entries {
                let name = e
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if name.starts_with("python3") {
                    site.push(format!("{}/site-packages", e.display()));
                    site.push(format!("{}/dist-packages", e.display()));
                }
            }
        }
    }
    for dir in site {
        let Ok(entries) = host.list_dir(Path::new(&dir)) else {
            continue;
        };
        for e in entries {
            let name = e
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let stem = name
                .strip_suffix(".dist-info")
                .or_else(|| name.strip_suffix(".egg-info"));
            if let Some(rest) = stem.and_then(|s| s.strip_prefix("barbican-")) {
                let version = rest.split('-').next().unwrap_or(rest);
                if plausible_version(version) {
                    return Installed {
                        version: Some(version.to_string()),
                        source: Some(format!("python metadata: {}", e.display())),
                        oslo_policy,
                    };
                }
            }
        }
    }
    Installed {
        oslo_policy,
        version: None,
        source: unreadable,
    }
}

/// Whether `v` reads as an upstream version: dotted numbers that each fit
/// a u32 (`15.0.1`, `20.0.0.0rc1`, `15.0.1~b1`), nothing else. A corrupt
/// dpkg status (`\u{fffd}4294967296.0`) must not be reported as a version.
pub fn plausible_version(v: &str) -> bool {
    let numeric: String = v
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let rest = &v[numeric.len()..];
    !numeric.is_empty()
        && !numeric.starts_with('.')
        && numeric
            .trim_end_matches('.')
            .split('.')
            .all(|p| !p.is_empty() && p.len() <= 9 && p.parse::<u32>().is_ok())
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '~' | '+'))
}

/// Whether dotted version `v` is at least `min` (numeric components).
pub fn at_least(v: &str, min: &[u32]) -> bool {
    let parts: Vec<u32> = v
        .split('.')
        .map(|p| {
            p.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .unwrap_or(0)
        })
        .collect();
    for (i, m) in min.iter().enumerate() {
        let p = parts.get(i).copied().unwrap_or(0);
        if p != *m {
            return p > *m;
        }
    }
    true
}

/// The `Version:` of an installed package in a dpkg status file.
fn dpkg_version(status: &str, package: &str) -> Option<String> {
    for stanza in status.split("\n\n") {
        let mut name = None;
        let mut installed = false;
        let mut version = None;
        for line in stanza.lines() {
            if let Some(v) = line.strip_prefix("Package: ") {
                name = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Status: ") {
                installed = v.trim().ends_with(" installed");
            } else if let Some(v) = line.strip_prefix("Version: ") {
                version = Some(v.trim().to_string());
            }
        }
        if name == Some(package) && installed {
            return version;
        }
    }
    None
}

/// `1:15.0.1-2` → `15.0.1`; `15.0.1-0ubuntu1~cloud0` → `15.0.1`.
fn upstream_version(v: &str) -> String {
    let no_epoch = v.split_once(':').map(|(_, r)| r).unwrap_or(v);
    let no_rev = no_epoch
        .rsplit_once('-')
        .map(|(l, _)| l)
        .unwrap_or(no_epoch);
    no_rev.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_status_and_versions() {
        let status = "Package: foo\nStatus: install ok installed\nVersion: 1\n\n\
                      Package: barbican-common\nStatus: deinstall ok config-files\nVersion: 1:14.0.0-1\n\n\
                      Package: python3-barbican\nStatus: install ok installed\nVersion: 1:15.0.1-2\n";
        assert_eq!(dpkg_version(status, "barbican-common"), None);
        assert_eq!(
            dpkg_version(status, "python3-barbican").as_deref(),
            Some("1:15.0.1-2")
        );
        assert_eq!(upstream_version("1:15.0.1-2"), "15.0.1");
        assert_eq!(upstream_version("20.0.0"), "20.0.0");
        assert!(plausible_version("15.0.1") && plausible_version("20.0.0.0rc1"));
        assert!(plausible_version("15.0.1~b1+dfsg"));
        assert!(!plausible_version("\u{fffd}\u{fffd}4294967296.0"));
        assert!(!plausible_version("4294967296.0"));
        assert!(
            !plausible_version("15..0") && !plausible_version("") && !plausible_version("15.0 x")
        );
        assert!(
            at_least("4.4.0", &[4, 4, 0])
                && at_least("4.10", &[4, 4])
                && !at_least("4.3.9", &[4, 4])
        );
    }
}
