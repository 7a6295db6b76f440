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
    /// A container whose files the host holds in part (kolla): audited
    /// through a [`crate::host::view::View`] built from its config.json
    /// ([`kolla_view`]); what the view does not show is an error with
    /// `command`.
    View {
        /// What the audit covers, and what it does not.
        covers: String,
        /// The command that audits the running container.
        command: String,
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
        matches!(self.how, How::Root { .. } | How::View { .. })
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
/// holds what kolla_set_configs copies at start (barbican.conf, the uwsgi
/// ini, a paste file only when /etc/kolla/config/barbican/ overrides it),
/// and config.json the owner and mode each copy gets: audited as a
/// [`How::View`]. The image's own files and /etc/barbican itself are not on
/// the host: those findings name the command that audits the container.
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
            how: How::View {
                covers: format!(
                    "the {container} container as kolla_set_configs will set it up from {}: \
                     the copied files' content from the host, their owner and mode from \
                     config.json; the image's files, /etc/barbican itself, the version and \
                     the container's environment are not on the host: {}",
                    dir.join("config.json").display(),
                    kolla_command(&container)
                ),
                command: kolla_command(&container),
            },
        });
    }
}

/// The command that audits a running kolla container.
fn kolla_command(container: &str) -> String {
    format!(
        "docker exec {container} barbican-audit audit, or on the host barbican-audit audit \
         --root /proc/$(docker inspect -f '{{{{.State.Pid}}}}' {container})/root (podman: \
         podman inspect)"
    )
}

/// Where kolla_set_configs copies from inside the container: the bind
/// mount of the host's /etc/kolla/<service>/ (kolla-ansible
/// roles/barbican/defaults/main.yml volumes `{{ node_config_directory
/// }}/barbican-api/:{{ container_config_directory }}/:ro`).
const KOLLA_CONFIG_FILES: &str = "/var/lib/kolla/config_files";

/// The kolla image's users and groups that config.json names (kolla
/// kolla/common/users.py:28-31 barbican 42403, :16-19 kolla 42400): the
/// host has no such users, and the image is not on the host.
const KOLLA_PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
    kolla:x:42400:42400::/home/kolla:/usr/sbin/nologin\n\
    barbican:x:42403:42403::/var/lib/barbican:/usr/sbin/nologin\n";
/// barbican's home in the image (KOLLA_PASSWD), the named volume
/// `barbican:/var/lib/barbican/` (kolla-ansible defaults/main.yml:149).
const KOLLA_HOME: &str = "/var/lib/barbican";
const KOLLA_GROUP: &str = "root:x:0:\nkolla:x:42400:barbican\nbarbican:x:42403:\n";

/// The largest config.json read (kolla's are a few hundred bytes).
const CONFIG_JSON_CAP: u64 = 1 << 20;

/// The view of a kolla target's container ([`How::View`]), from its
/// config.json on the host. Fail closed: config.json unreadable, not JSON,
/// or an entry kolla_set_configs could not apply => an error naming it.
pub fn kolla_view(host: &Host, t: &Target) -> Result<crate::host::view::View, String> {
    use crate::host::view::{Mapped, View};
    let cj = t.path.join("config.json");
    let shown = cj.display().to_string();
    let real_dir = host
        .resolve(&t.path)
        .map(|r| host.real(&r.target))
        .map_err(|e| format!("{}: {e}", t.path.display()))?;
    let text = crate::userfile::read_user_text(&real_dir.join("config.json"), CONFIG_JSON_CAP)
        .map_err(|e| format!("{shown}: cannot read it: {}", e.reason()))?;
    let doc: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{shown}: not valid JSON: {e}"))?;
    let entries = doc
        .get("config_files")
        .map(|v| {
            v.as_array()
                .ok_or_else(|| format!("{shown}: config_files is not a list"))
        })
        .transpose()?
        .cloned()
        .unwrap_or_default();
    let mut users = crate::host::UserDb::default();
    users.parse_passwd(KOLLA_PASSWD);
    users.parse_group(KOLLA_GROUP);
    let mut files = std::collections::BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        let field = |k: &str| e.get(k).and_then(|v| v.as_str());
        let (Some(source), Some(dest)) = (field("source"), field("dest")) else {
            return Err(format!(
                "{shown}: config_files entry {} has no source or dest string",
                i + 1
            ));
        };
        let line = line_of(&text, dest).unwrap_or(0);
        let at = format!("{shown}:{line}");
        let Some(rel) = source
            .strip_prefix(KOLLA_CONFIG_FILES)
            .map(|r| r.trim_start_matches('/'))
            .filter(|r| !r.is_empty() && !r.split('/').any(|c| c == ".."))
        else {
            return Err(format!(
                "{at}: source {source} is not under {KOLLA_CONFIG_FILES}, so the host \
                 file behind it is unknown"
            ));
        };
        let src = real_dir.join(rel);
        let meta = match std::fs::metadata(&src) {
            Ok(m) => m,
            // kolla_set_configs skips a missing optional source (the paste
            // file without an /etc/kolla/config/barbican/ override): the
            // image's file stays, and the host does not show it.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                if e.get("optional").and_then(|v| v.as_bool()) == Some(true) {
                    continue;
                }
                return Err(format!(
                    "{at}: {source} ({}) does not exist, and it is not optional: \
                     kolla_set_configs stops the container",
                    src.display()
                ));
            }
            Err(err) => return Err(format!("{at}: cannot stat {}: {err}", src.display())),
        };
        if !meta.is_file() {
            // A directory (the CA certificates, merge: true): not a file
            // Barbican reads as config; the container shows it.
            continue;
        }
        let dest = if dest.ends_with('/') {
            PathBuf::from(dest).join(rel.rsplit('/').next().unwrap_or(rel))
        } else {
            PathBuf::from(dest)
        };
        // set_configs.py user_group(): "user" means user:user; no owner:
        // the copy is root's (kolla_set_configs runs as root).
        let owner = field("owner").unwrap_or("root");
        let (user, group) = match owner.split_once(':') {
            Some((u, "")) => (u, u),
            Some((u, g)) => (u, g),
            None => (owner, owner),
        };
        let uid = users.user(user).map(|u| u.uid).ok_or_else(|| {
            format!("{at}: owner {user} is not a user of the kolla image (kolla users.py)")
        })?;
        let gid = users.group_gid(group).ok_or_else(|| {
            format!("{at}: group {group} is not a group of the kolla image (kolla users.py)")
        })?;
        // No perm: shutil.copy keeps the source's mode bits.
        let mode = match field("perm") {
            Some(p) => u32::from_str_radix(p, 8)
                .ok()
                .filter(|m| *m <= 0o7777)
                .ok_or_else(|| format!("{at}: perm {p:?} is not an octal mode"))?,
            None => meta.mode() & 0o7777,
        };
        files.insert(
            dest,
            Mapped {
                real: src,
                uid,
                gid,
                mode,
                origin: format!("set by kolla_set_configs from {at}"),
            },
        );
    }
    // What oslo.config searches besides the copies (the image ships no
    // other barbican*.conf and no .conf.d: kolla barbican-base
    // Dockerfile.j2 installs /etc/barbican from the source tree's etc/).
    let mut absent = Vec::new();
    for d in crate::barbican::config::search_dirs(KOLLA_HOME) {
        for prog in std::iter::once("barbican").chain(crate::barbican::files::PROGS.iter().copied())
        {
            for name in [format!("{prog}.conf"), format!("{prog}.conf.d")] {
                let p = d.join(name);
                if !files.contains_key(&p) {
                    absent.push(p);
                }
            }
        }
    }
    // The image's /etc/barbican is barbican's source etc/barbican (kolla
    // barbican-base Dockerfile.j2:28 cp -r /barbican/etc/barbican/*): no
    // policy file (policy in code) and no policy.d, nor anywhere else
    // oslo.policy searches; kolla-ansible copies a policy override through
    // config.json (tasks/config.yml:12-29,99-107), so it is then mapped.
    for d in crate::barbican::config::search_dirs(KOLLA_HOME) {
        for p in ["policy.yaml", "policy.json", "policy.d"] {
            let p = d.join(p);
            if !files.contains_key(&p) {
                absent.push(p);
            }
        }
    }
    // The container runs config.json's `command` (under dumb-init, no
    // init system): a uwsgi ini it does not name (the image's vassal, the
    // API's ini in the worker) is read by nothing that runs.
    let runs = doc.get("command").and_then(|v| v.as_str()).unwrap_or("");
    for u in crate::barbican::files::UWSGI_FILES {
        let named = runs.split_whitespace().any(|w| w == *u);
        if !(named && files.contains_key(Path::new(u))) {
            absent.push(PathBuf::from(u));
        }
    }
    // /var/lib/kolla/config_files is the read-only bind mount of the host's
    // config directory (kolla-ansible service `volumes`:
    // "{{ node_config_directory }}/barbican-api/:/var/lib/kolla/config_files/:ro"):
    // each file shows with the host's owner and mode. config.json is what
    // the scan and BAR-006 read to tell the sources of the served config.
    let mounted = std::fs::read_dir(&real_dir)
        .map_err(|e| format!("cannot list {}: {e}", real_dir.display()))?;
    for entry in mounted {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", real_dir.display()))?;
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let inner = Path::new(KOLLA_CONFIG_FILES).join(entry.file_name());
        files.entry(inner).or_insert_with(|| Mapped {
            real: entry.path(),
            uid: meta.uid(),
            gid: meta.gid(),
            mode: meta.mode() & 0o7777,
            origin: format!(
                "bind mount of {} (read-only) at {KOLLA_CONFIG_FILES}",
                entry.path().display()
            ),
        });
    }
    // kolla_set_configs writes /run_command from config.json's `command`
    // (set_configs.py:368-373): the command is read from config.json, so
    // the file the host cannot show is not needed.
    absent.push(PathBuf::from("/run_command"));
    // Nothing runs httpd unless the command does: its config dirs serve
    // nothing in this container (the barbican-api image runs uwsgi).
    let first = runs.split_whitespace().next().unwrap_or("");
    let prog = first.rsplit('/').next().unwrap_or(first);
    // No systemd in a kolla container: its unit directories do not apply.
    let mut absent_under = [
        "/etc/systemd",
        "/run/systemd",
        "/lib/systemd",
        "/usr/lib/systemd",
        "/usr/local/lib/systemd",
    ]
    .map(PathBuf::from)
    .to_vec();
    if !matches!(prog, "httpd" | "apache2") {
        absent_under.extend(["/etc/httpd", "/etc/apache2"].map(PathBuf::from));
    }
    let How::View { command, .. } = &t.how else {
        return Err(format!("{}: not a kolla target", t.name));
    };
    Ok(View {
        layout: t.layout,
        files,
        absent,
        absent_under,
        command: runs.to_string(),
        passwd: KOLLA_PASSWD.to_string(),
        group: KOLLA_GROUP.to_string(),
        unseen: format!(
            "it comes from the image, not from {}; audit the container with: {command}",
            t.path.display()
        ),
    })
}

/// The 1-based line of config.json where `"dest": "<dest>"` is written.
fn line_of(text: &str, dest: &str) -> Option<usize> {
    let quoted = serde_json::to_string(dest).ok()?;
    text.lines()
        .position(|l| l.contains("\"dest\"") && l.contains(&quoted))
        .map(|i| i + 1)
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
                if let How::Root { covers } | How::View { covers, .. } = &t.how {
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
        assert!(t[0].auditable(), "audited through its config.json view");
        let How::View { command, .. } = &t[0].how else {
            panic!("kolla's config dir is a view, not a root")
        };
        assert!(command.contains("docker exec barbican_api barbican-audit audit"));
        assert!(command.contains("docker inspect -f '{{.State.Pid}}' barbican_api"));
    }

    /// kolla-ansible's barbican-api.json.j2 as rendered
    /// (tests/layouts/kolla/host/files/etc/kolla/barbican-api/config.json).
    const API_JSON: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/layouts/kolla/host/files/etc/kolla/barbican-api/config.json"
    ));

    /// A host root with /etc/kolla/barbican-api holding `config` and `files`.
    fn kolla_host(config: &str, files: &[&str]) -> (tempfile::TempDir, Host, Target) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("etc/kolla/barbican-api");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("config.json"), config).unwrap();
        for f in files {
            std::fs::write(d.join(f), "[DEFAULT]\n").unwrap();
        }
        let host = Host::open(dir.path()).unwrap();
        let t = discover(&host).remove(0);
        (dir, host, t)
    }

    #[test]
    fn config_json_gives_each_copy_its_owner_mode_and_line() {
        // barbican-api.json.j2:4-9: barbican.conf, owner barbican, perm 0600;
        // kolla users.py:28-31: barbican is 42403; set_configs.py
        // user_group("barbican") = barbican:barbican.
        let (_d, host, t) = kolla_host(API_JSON, &["barbican.conf", "barbican-api-uwsgi.ini"]);
        let v = kolla_view(&host, &t).unwrap();
        let m = v.mapped(Path::new("/etc/barbican/barbican.conf")).unwrap();
        assert_eq!((m.uid, m.gid, m.mode), (42403, 42403, 0o600));
        assert!(m.real.ends_with("etc/kolla/barbican-api/barbican.conf"));
        assert_eq!(
            m.origin,
            "set by kolla_set_configs from /etc/kolla/barbican-api/config.json:6"
        );
        assert!(v
            .mapped(Path::new("/etc/barbican/barbican-api-uwsgi.ini"))
            .is_some());
        // The paste entry is optional (barbican-api.json.j2:16-22): without
        // an /etc/kolla/config/barbican/ override the image's file stays.
        assert!(v
            .mapped(Path::new("/etc/barbican/barbican-api-paste.ini"))
            .is_none());
        assert!(v.serves_api());
        let view = Host::open_view(&host.real(&t.path), v);
        let err = view
            .read(Path::new("/etc/barbican/barbican-api-paste.ini"))
            .unwrap_err();
        assert_ne!(
            err.kind(),
            std::io::ErrorKind::NotFound,
            "never absent: unknown"
        );
        assert!(
            err.to_string().contains("not visible from the host"),
            "{err}"
        );
        assert!(
            err.to_string().contains("docker exec barbican_api"),
            "{err}"
        );
        assert!(view.list_dir(Path::new("/etc/barbican")).is_err());
        assert!(
            !view
                .exists_checked(Path::new("/etc/barbican/barbican.conf.d"))
                .unwrap(),
            "the image has no barbican.conf.d"
        );
        assert_eq!(
            view.read(Path::new("/etc/barbican/barbican.conf")).unwrap(),
            b"[DEFAULT]\n"
        );
        assert_eq!(crate::layout::recognise(&view), Layout::Kolla);
    }

    #[test]
    fn a_paste_override_is_mapped_with_its_owner() {
        // kolla-ansible tasks/config.yml:62-82 copies
        // /etc/kolla/config/barbican/barbican-api-paste.ini to the node.
        let (_d, host, t) = kolla_host(
            API_JSON,
            &[
                "barbican.conf",
                "barbican-api-uwsgi.ini",
                "barbican-api-paste.ini",
            ],
        );
        let v = kolla_view(&host, &t).unwrap();
        let m = v
            .mapped(Path::new("/etc/barbican/barbican-api-paste.ini"))
            .unwrap();
        assert_eq!((m.uid, m.mode), (42403, 0o600));
        assert!(m.origin.ends_with("config.json:18"), "{}", m.origin);
    }

    #[test]
    fn a_config_json_kolla_set_configs_cannot_apply_is_an_error_naming_it() {
        let cases = [
            ("{\"config_files\": [", "not valid JSON"),
            ("{\"config_files\": {}}", "config_files is not a list"),
            (
                r#"{"config_files": [{"source": "/var/lib/kolla/config_files/barbican.conf", "dest": "/etc/barbican/barbican.conf", "owner": "nobody9", "perm": "0600"}]}"#,
                "owner nobody9 is not a user",
            ),
            (
                r#"{"config_files": [{"source": "/var/lib/kolla/config_files/barbican.conf", "dest": "/etc/barbican/barbican.conf", "owner": "barbican", "perm": "rw"}]}"#,
                "is not an octal mode",
            ),
            (
                r#"{"config_files": [{"source": "/var/lib/kolla/config_files/x.conf", "dest": "/etc/barbican/x.conf", "owner": "barbican", "perm": "0600"}]}"#,
                "is not optional",
            ),
            (
                r#"{"config_files": [{"source": "/etc/barbican.conf", "dest": "/etc/barbican/barbican.conf"}]}"#,
                "is not under /var/lib/kolla/config_files",
            ),
        ];
        for (text, want) in cases {
            let (_d, host, t) = kolla_host(text, &["barbican.conf"]);
            let e = kolla_view(&host, &t).unwrap_err();
            assert!(e.contains("/etc/kolla/barbican-api/config.json"), "{e}");
            assert!(e.contains(want), "{want}: {e}");
        }
    }
}
