//! Host-side discovery of Barbican deployments (issue 17).
//!
//! On a host root, every deployment present is a [`Target`]: an LXC
//! container's rootfs (OpenStack-Ansible), TripleO's puppet-generated config,
//! kolla's rendered config dirs, OpenStack-Helm's Secret in kubelet's volume
//! tree, and (when the root is `/`) the root of every running container
//! that holds a barbican.conf, through /proc/PID/root. A target is either a
//! root to audit as its own, or a plain sentence with the exact command that
//! can audit it: what the host does not show is never judged from the host.
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use serde_json::json;

use crate::catalog::Catalog;
use crate::host::Host;
use crate::layout::{self, Layout};
use crate::report::{bound_findings, Finding, Report, Status, Summary, MAX_FINDINGS_PER_CHECK};

/// How a target is audited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum How {
    /// Audit this directory (an in-host path) as a root of its own.
    Root {
        /// What the audit of that root covers, and what it does not.
        covers: String,
    },
    /// Not from the host: why, and the command that audits it.
    Elsewhere {
        /// One sentence: why the host does not show what the API reads.
        why: String,
        /// The command (or commands) that audit it.
        command: String,
    },
}

/// One deployment found on a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `kolla:barbican_api`, `osa:infra1_barbican_container-5f2a0c1d`, ...
    pub name: String,
    /// The layout of the deployment.
    pub layout: Layout,
    /// The in-host path: the root to audit, or the config directory found.
    pub path: PathBuf,
    /// How it is audited.
    pub how: How,
}

impl Target {
    /// Whether the host can audit it (as a root of its own).
    pub fn auditable(&self) -> bool {
        matches!(self.how, How::Root { .. })
    }
}

/// Every deployment under the host root, sorted by name (empty on a plain
/// package install: the host itself is then the only thing audited).
pub fn discover(host: &Host) -> Vec<Target> {
    let mut out = Vec::new();
    osa(host, &mut out);
    tripleo(host, &mut out);
    kolla(host, &mut out);
    openstack_helm(host, &mut out);
    if host.is_live() {
        running_containers(&mut out);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|a, b| a.name == b.name);
    out
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// OpenStack-Ansible: /var/lib/lxc/<c>/rootfs (the dir backing store,
/// lxc_container_create defaults/main.yml:62-66) with /etc/barbican/barbican.conf.
fn osa(host: &Host, out: &mut Vec<Target>) {
    for c in host.list_dir(Path::new("/var/lib/lxc")).unwrap_or_default() {
        let rootfs = c.join("rootfs");
        if !host.exists(&rootfs.join("etc/barbican/barbican.conf")) {
            continue;
        }
        let name = name_of(&c);
        out.push(Target {
            name: format!("osa:{name}"),
            layout: Layout::Osa,
            path: rootfs,
            how: How::Root {
                covers: format!(
                    "the LXC container {name}'s rootfs as the container sees it (dir backing \
                     store, no uid shift); another backing store: barbican-audit audit --root \
                     /proc/$(lxc-info -n {name} -pH)/root"
                ),
            },
        });
    }
}

/// TripleO: /var/lib/config-data/puppet-generated/barbican, which
/// kolla_set_configs copies into the API container with its owners and
/// modes at every start (tht barbican-api-container-puppet.yaml:336-339).
fn tripleo(host: &Host, out: &mut Vec<Target>) {
    let pg = PathBuf::from("/var/lib/config-data/puppet-generated/barbican");
    if !host.exists(&pg.join("etc/barbican/barbican.conf")) {
        return;
    }
    out.push(Target {
        name: "tripleo:barbican_api".into(),
        layout: Layout::Tripleo,
        path: pg,
        how: How::Root {
            covers: "the puppet-generated config that the barbican_api container copies over \
                     its image at every start, with the same owners and modes; files only the \
                     image has (api_audit_map.conf, the vassal, /etc/barbican's own mode when \
                     puppet did not set it) are not here: barbican-audit audit --root \
                     /proc/$(podman inspect -f '{{.State.Pid}}' barbican_api)/root"
                .into(),
        },
    });
}

/// kolla-ansible: /etc/kolla/barbican-<service>/ (node_config_directory)
/// holds only what kolla_set_configs copies at start (barbican.conf, the
/// uwsgi ini); the paste file, audit map and /etc/barbican come from the
/// image, so the container is what can be audited.
fn kolla(host: &Host, out: &mut Vec<Target>) {
    for dir in layout::entries_with_prefix(host, "/etc/kolla", "barbican-") {
        if !host.exists(&dir.join("config.json")) {
            continue;
        }
        let container = name_of(&dir).replace('-', "_");
        out.push(Target {
            name: format!("kolla:{container}"),
            layout: Layout::Kolla,
            path: dir.clone(),
            how: How::Elsewhere {
                why: format!(
                    "{} holds only the files kolla_set_configs copies into the {container} \
                     container at start; the paste file, audit map and /etc/barbican come from \
                     the image, and the copies' owner and mode are set in the container",
                    dir.display()
                ),
                command: format!(
                    "barbican-audit audit --root /proc/$(docker inspect -f '{{{{.State.Pid}}}}' \
                     {container})/root (podman: podman inspect -f '{{{{.State.Pid}}}}' {container})"
                ),
            },
        });
    }
}

/// OpenStack-Helm: the Secret `barbican-etc` in kubelet's volume tree
/// (configmap-etc.yaml:88-101). The pod's /etc/barbican is an emptyDir with
/// subPath mounts: only the pod shows what the API reads.
fn openstack_helm(host: &Host, out: &mut Vec<Target>) {
    for pod in host
        .list_dir(Path::new("/var/lib/kubelet/pods"))
        .unwrap_or_default()
    {
        let secret = pod.join("volumes/kubernetes.io~secret/barbican-etc");
        if !host.exists(&secret.join("barbican.conf")) {
            continue;
        }
        let uid = name_of(&pod);
        out.push(Target {
            name: format!("openstack-helm:{uid}"),
            layout: Layout::OpenstackHelm,
            path: secret.clone(),
            how: How::Elsewhere {
                why: format!(
                    "{} is the Secret barbican-etc of pod {uid}; the pod mounts its files \
                     read-only into emptyDirs, so only the pod shows what barbican-api reads",
                    secret.display()
                ),
                command: "barbican-audit audit --root /proc/$(crictl inspect -o go-template \
                          --template '{{.info.pid}}' $(crictl ps -q --name barbican-api))/root \
                          on the node, or kubectl -n openstack exec deploy/barbican-api -- \
                          barbican-audit audit"
                    .into(),
            },
        });
    }
}

/// On a live root: each running container's root (/proc/PID/root) that is
/// not the host's own root and holds /etc/barbican/barbican.conf, once per
/// distinct root directory (every process of a container shares it).
fn running_containers(out: &mut Vec<Target>) {
    let Ok(own) = std::fs::metadata("/") else {
        return;
    };
    let mut seen = vec![(own.dev(), own.ino())];
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return;
    };
    let mut pids: Vec<u32> = procs
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    for pid in pids {
        let root = PathBuf::from(format!("/proc/{pid}/root"));
        let Ok(meta) = std::fs::metadata(&root) else {
            continue;
        };
        if seen.contains(&(meta.dev(), meta.ino())) {
            continue;
        }
        seen.push((meta.dev(), meta.ino()));
        let Ok(inner) = Host::open(&root) else {
            continue;
        };
        if !inner.exists(Path::new("/etc/barbican/barbican.conf")) {
            continue;
        }
        let layout = layout::recognise(&inner);
        out.push(Target {
            name: format!("{layout}:pid{pid}"),
            layout,
            path: root,
            how: How::Root {
                covers: format!("the running container of process {pid}, through its root"),
            },
        });
    }
}

/// The findings of a host root and of its targets in one report.
///
/// `base` is the host's own report (its findings carry no `target`); each
/// audited target's report (`Some(Ok)`) adds its findings with `target`
/// set, a target whose root could not be opened (`Some(Err)`) one `error`
/// finding, and each target the host cannot audit (`None`) one `na`
/// finding, under the catalog's first check, saying how to audit it. Findings are sorted by check, then target
/// (the host's own first), then subject; the summary is recomputed from all
/// of them and the per-check bound applied again.
pub fn merge(
    mut base: Report,
    catalog: &Catalog,
    targets: Vec<(Target, Option<Result<Report, String>>)>,
) -> Report {
    let mut findings = std::mem::take(&mut base.findings);
    let mut omitted = std::mem::take(&mut base.omitted_findings);
    for (t, result) in targets {
        match result {
            None => {
                if let Some(f) = target_finding(catalog, &t, Status::Na, String::new()) {
                    findings.push(f);
                }
            }
            Some(Ok(r)) => {
                // Said plainly in the report: what this target's audit covers.
                if let How::Root { covers } = &t.how {
                    base.warnings
                        .push(format!("target {}: audited {covers}", t.name));
                }
                for w in &r.warnings {
                    base.warnings.push(format!("target {}: {w}", t.name));
                }
                for (id, n) in r.omitted_findings {
                    *omitted.entry(id).or_insert(0) += n;
                }
                for (mine, theirs) in base.waivers.iter_mut().zip(r.waivers) {
                    mine.matched += theirs.matched;
                    if theirs.state == "applied" {
                        mine.state = theirs.state;
                    }
                }
                findings.extend(r.findings.into_iter().map(|mut f| {
                    f.target = Some(t.name.clone());
                    f
                }));
            }
            Some(Err(why)) => {
                if let Some(f) = target_finding(catalog, &t, Status::Error, why) {
                    findings.push(f);
                }
            }
        }
    }
    findings.sort_by(|a, b| {
        (a.check_id.as_str(), a.target.as_deref(), a.subject.as_str()).cmp(&(
            b.check_id.as_str(),
            b.target.as_deref(),
            b.subject.as_str(),
        ))
    });
    let mut summary = Summary::default();
    let mut worst: Vec<(String, Status)> = Vec::new();
    for f in &findings {
        match worst.last_mut() {
            Some((id, st)) if *id == f.check_id => *st = f.status.max(*st),
            _ => worst.push((f.check_id.clone(), f.status)),
        }
    }
    for (_, s) in &worst {
        summary.count(*s);
    }
    for (id, n) in bound_findings(&mut findings, MAX_FINDINGS_PER_CHECK) {
        *omitted.entry(id).or_insert(0) += n;
    }
    base.findings = findings;
    base.omitted_findings = omitted;
    base.summary = summary;
    base
}

/// The finding for a target that was not audited as a root: `na` with the
/// command that audits it, or `error` when its root could not be opened.
/// `None` only for an empty catalog.
pub fn target_finding(
    catalog: &Catalog,
    t: &Target,
    status: Status,
    detail: String,
) -> Option<Finding> {
    let check = catalog.checks.first()?;
    let mut evidence = BTreeMap::new();
    evidence.insert("target".to_string(), json!(t.name));
    evidence.insert("layout".to_string(), json!(t.layout.as_str()));
    evidence.insert("path".to_string(), json!(t.path.display().to_string()));
    let message = match &t.how {
        How::Elsewhere { why, command } if status == Status::Na => {
            evidence.insert("command".to_string(), json!(command));
            format!("not audited from the host: {why}; audit it with: {command}")
        }
        _ => format!("target {} could not be audited: {detail}", t.name),
    };
    Some(Finding {
        check_id: check.id.clone(),
        title: check.title.clone(),
        severity: check.severity,
        status,
        references: check.references.clone(),
        subject: t.path.display().to_string(),
        message,
        evidence,
        remediation: String::new(),
        target: Some(t.name.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_root_has_no_targets() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc/barbican")).unwrap();
        std::fs::write(dir.path().join("etc/barbican/barbican.conf"), "").unwrap();
        let host = Host::open(dir.path()).unwrap();
        assert!(discover(&host).is_empty());
    }

    #[test]
    fn kolla_dirs_are_named_after_their_containers() {
        let dir = tempfile::tempdir().unwrap();
        for s in ["barbican-api", "barbican-worker", "keystone"] {
            let d = dir.path().join("etc/kolla").join(s);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("config.json"), "{}").unwrap();
        }
        let host = Host::open(dir.path()).unwrap();
        let t = discover(&host);
        let names: Vec<&str> = t.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["kolla:barbican_api", "kolla:barbican_worker"]);
        assert!(!t[0].auditable());
        let How::Elsewhere { command, .. } = &t[0].how else {
            panic!("kolla's config dir is not a root")
        };
        assert!(command.contains("docker inspect -f '{{.State.Pid}}' barbican_api"));
    }
}
