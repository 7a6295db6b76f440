//! Which deployment tool laid out the audited root (issue 17).
//!
//! The layout is recognised from marker files the tools themselves write
//! (tests/layouts/README.md lists them with the template lines they come
//! from). It names where a fix is durable (`catalog::Check::remediation_for`)
//! and, on a host root, where to look for targets ([`crate::targets`]). It
//! never changes a verdict: a root nothing recognises is `unknown`.
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::host::Host;

/// A deployment layout, serialised as in the report's `host.layout`.
#[derive(
    Debug,
    Default,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
pub enum Layout {
    /// Debian or Ubuntu packages (`barbican-common` in dpkg status).
    #[serde(rename = "debian")]
    Debian,
    /// RDO / RHEL packages (`openstack-barbican-*`).
    #[serde(rename = "rdo")]
    Rdo,
    /// kolla-ansible: the host's /etc/kolla/barbican-*, or a kolla container.
    #[serde(rename = "kolla")]
    Kolla,
    /// TripleO: puppet-generated config data, or its API container.
    #[serde(rename = "tripleo")]
    Tripleo,
    /// OpenStack-Ansible: LXC containers on the host, or one container.
    #[serde(rename = "osa")]
    Osa,
    /// Juju charm-barbican.
    #[serde(rename = "charm")]
    Charm,
    /// OpenStack-Helm: kubelet's Secret volume on the node, or the LOCI pod.
    #[serde(rename = "openstack-helm")]
    OpenstackHelm,
    /// None of the above was recognised.
    #[serde(rename = "unknown")]
    #[default]
    Unknown,
}

impl Layout {
    /// Every layout, `unknown` last.
    pub const ALL: [Layout; 8] = [
        Layout::Debian,
        Layout::Rdo,
        Layout::Kolla,
        Layout::Tripleo,
        Layout::Osa,
        Layout::Charm,
        Layout::OpenstackHelm,
        Layout::Unknown,
    ];

    /// The name used in the report and in `[remediation-by-layout]`.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Debian => "debian",
            Layout::Rdo => "rdo",
            Layout::Kolla => "kolla",
            Layout::Tripleo => "tripleo",
            Layout::Osa => "osa",
            Layout::Charm => "charm",
            Layout::OpenstackHelm => "openstack-helm",
            Layout::Unknown => "unknown",
        }
    }

    /// Parses a name as [`Layout::as_str`] writes it.
    pub fn parse(s: &str) -> Option<Layout> {
        Layout::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Marker files are small; anything larger is not one of ours.
const MARKER_CAP: u64 = 1 << 20;

/// Recognises the layout of the root. The order matters where one tool
/// builds on another: TripleO's containers are kolla-built (they have
/// /var/lib/kolla/config_files), so TripleO is tried first; the charm
/// installs Ubuntu's packages, so it is tried before Debian.
pub fn recognise(host: &Host) -> Layout {
    if let Some(v) = host.view() {
        return v.layout;
    }
    if let Some(l) = host.layout_hint() {
        return l;
    }
    if is_openstack_helm(host) {
        Layout::OpenstackHelm
    } else if is_tripleo(host) {
        Layout::Tripleo
    } else if is_kolla(host) {
        Layout::Kolla
    } else if is_osa(host) {
        Layout::Osa
    } else if is_charm(host) {
        Layout::Charm
    } else if is_rdo(host) {
        Layout::Rdo
    } else if is_debian(host) {
        Layout::Debian
    } else {
        Layout::Unknown
    }
}

fn exists(host: &Host, p: &str) -> bool {
    host.exists(Path::new(p))
}

fn contains(host: &Host, p: &str, needle: &str) -> bool {
    host.read_capped(Path::new(p), MARKER_CAP)
        .map(|b| String::from_utf8_lossy(&b).contains(needle))
        .unwrap_or(false)
}

/// Entries of `dir` whose file name starts with `prefix`.
pub(crate) fn entries_with_prefix(host: &Host, dir: &str, prefix: &str) -> Vec<std::path::PathBuf> {
    host.list_dir(Path::new(dir))
        .unwrap_or_default()
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .collect()
}

/// Host: kubelet's Secret volume `barbican-etc` (openstack-helm
/// barbican/templates/configmap-etc.yaml:88-101). Pod: the LOCI venv
/// /var/lib/openstack (loci Dockerfile:9) with /etc/image_info/project.txt
/// (loci scripts/helpers.sh:164-180).
fn is_openstack_helm(host: &Host) -> bool {
    let pods = host
        .list_dir(Path::new("/var/lib/kubelet/pods"))
        .unwrap_or_default();
    let node = pods
        .iter()
        .any(|p| host.exists(&p.join("volumes/kubernetes.io~secret/barbican-etc/barbican.conf")));
    node || (exists(host, "/var/lib/openstack/pyvenv.cfg")
        && exists(host, "/etc/image_info/project.txt"))
}

/// Host: /var/lib/config-data/puppet-generated/barbican (tht
/// container-puppet.sh:125-139). Container: the ro bind of that tree at
/// /var/lib/kolla/config_files/src (barbican-api-container-puppet.yaml:336-339).
fn is_tripleo(host: &Host) -> bool {
    exists(
        host,
        "/var/lib/config-data/puppet-generated/barbican/etc/barbican",
    ) || (exists(host, "/var/lib/kolla/config_files/src/etc/barbican")
        && contains(
            host,
            "/var/lib/kolla/config_files/config.json",
            "preserve_properties",
        ))
}

/// Host: /etc/kolla/barbican-*/config.json (kolla-ansible
/// roles/barbican/tasks/config.yml:54-60). Container: kolla_set_configs'
/// /var/lib/kolla/config_files/config.json and the venv /var/lib/kolla/venv
/// (kolla openstack-base Dockerfile.j2:194-196).
fn is_kolla(host: &Host) -> bool {
    let node = entries_with_prefix(host, "/etc/kolla", "barbican-")
        .iter()
        .any(|d| host.exists(&d.join("config.json")));
    node || (exists(host, "/var/lib/kolla/config_files/config.json")
        && exists(host, "/var/lib/kolla/venv"))
}

/// Host: /var/lib/lxc/*/rootfs/etc/barbican/barbican.conf (dir backing
/// store, lxc_container_create defaults/main.yml:62-66). Container: the
/// local fact's `[barbican]` section (os_barbican
/// tasks/barbican_install.yml:51-54) or a venv /openstack/venvs/barbican-*.
fn is_osa(host: &Host) -> bool {
    let node = host
        .list_dir(Path::new("/var/lib/lxc"))
        .unwrap_or_default()
        .iter()
        .any(|c| host.exists(&c.join("rootfs/etc/barbican/barbican.conf")));
    node || contains(
        host,
        "/etc/ansible/facts.d/openstack_ansible.fact",
        "[barbican]",
    ) || !entries_with_prefix(host, "/openstack/venvs", "barbican-").is_empty()
}

/// The charm's apache vhost (charm-barbican src/templates/rocky/barbican-api.conf)
/// or a Juju unit agent directory.
fn is_charm(host: &Host) -> bool {
    contains(
        host,
        "/etc/apache2/conf-available/barbican-api.conf",
        "/usr/share/barbican/app.wsgi",
    ) || !entries_with_prefix(host, "/var/lib/juju/agents", "unit-barbican-").is_empty()
}

/// RDO's unit (openstack-barbican-api.service) or gunicorn config (spec:166-176),
/// or an rpm database that lists openstack-barbican-common.
fn is_rdo(host: &Host) -> bool {
    exists(
        host,
        "/usr/lib/systemd/system/openstack-barbican-api.service",
    ) || exists(host, "/etc/barbican/gunicorn-config.py")
        || crate::barbican::rpmdb::has_package(host, "openstack-barbican-common")
}

/// dpkg status with an installed Barbican package.
fn is_debian(host: &Host) -> bool {
    crate::barbican::version::dpkg_has_barbican(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_the_catalog() {
        for l in Layout::ALL {
            assert_eq!(Layout::parse(l.as_str()), Some(l));
            let json = serde_json::to_string(&l).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", l.as_str()));
        }
        let named: Vec<&str> = Layout::ALL[..7].iter().map(|l| l.as_str()).collect();
        assert_eq!(named, crate::catalog::LAYOUTS);
        assert_eq!(Layout::parse("Kolla"), None);
    }

    #[test]
    fn an_empty_root_is_unknown_and_markers_are_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::open(dir.path()).unwrap();
        assert_eq!(recognise(&host), Layout::Unknown);
        let conf = dir.path().join("etc/kolla/barbican-api");
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::write(conf.join("config.json"), "{}").unwrap();
        assert_eq!(recognise(&host), Layout::Kolla);
        let pg = dir
            .path()
            .join("var/lib/config-data/puppet-generated/barbican/etc/barbican");
        std::fs::create_dir_all(pg).unwrap();
        assert_eq!(recognise(&host), Layout::Tripleo);
    }
}
