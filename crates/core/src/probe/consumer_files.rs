//! `[probe.consumer-ownership]` (KMC-007) and `[probe.consumer-mode]`
//! (KMC-008): owner, group, mode and POSIX ACL of the files the installed
//! programs of nova, cinder, glance and octavia read, judged with the
//! BAR-001/002/003 machinery ([`super::file_metadata::judge_path`]) and the
//! service's own group, resolved by name in the root's `/etc/group` (kolla's
//! nova is gid 42436, Debian's 64060: the number is evidence, not a rule).
//!
//! What is judged how (tests/data/consumers/README.md §3, §4):
//! - files that can hold secrets (every oslo.config file a program parses,
//!   the `.conf.d` files of its home and of `/etc/<svc>`, and the paste file
//!   an API serves): `root:<svc>`, 0640 or stricter, no ACL widening;
//! - rootwrap (`rootwrap.conf`, `rootwrap.d/*`, for the programs that run
//!   commands as root through it) and policy files (the API programs'):
//!   owner root and not writable by group or others (0755 as a bitmask): the
//!   service must not rewrite what root runs for it or what it is allowed;
//!   Debian ships them root:root 0644, the safer state;
//! - the directory `/etc/<svc>` (KMC-007 only): as BAR-003 judges
//!   `/etc/barbican`, root:<svc>, 0750 or stricter, no ACL widening.
//!
//! A file no installed program reads is not judged.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::file_metadata::{judge_path, AclRule, Params, Subject, Subjects, VARS};
use super::{Decl, Facts, FixStyle, Gate, Input, Observation, Observed, Probe, Var};
use crate::barbican::config::Config;
use crate::consumers::{ProgramConfig, SERVICES};
use crate::report::Status;

/// KMC-007: ownership of the files the consumer programs read, and of `/etc/<svc>`.
pub struct ConsumerOwnership;

/// KMC-008: mode and ACL of the files the consumer programs read.
pub struct ConsumerMode;

/// How a path is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Can hold secrets (oslo.config files, paste files): root:<svc>, 0640.
    Secret,
    /// Decides what runs as root or what is allowed (rootwrap, policy):
    /// owner root, not writable by group or others.
    Privileged,
    /// `/etc/<svc>` (KMC-007 only): root:<svc>, 0750, as BAR-003.
    ConfigDir,
}

/// One path judged, with every program that reads it.
#[derive(Debug, Clone)]
pub struct Judged {
    /// In-root path.
    pub path: PathBuf,
    /// How it was found (the first program's reason).
    pub why: String,
    /// `config`, `config-dir`, `paste`, `rootwrap`, `policy`, `service-dir`.
    pub role: &'static str,
    /// How it is judged.
    pub kind: Kind,
    /// Named by an option: missing is an error.
    pub named: bool,
    /// Its service (`nova`).
    pub service: &'static str,
    /// The programs that read it.
    pub programs: Vec<&'static str>,
}

/// What a path that could not be listed or looked up makes unknown.
#[derive(Debug, Clone)]
pub struct Unknown {
    /// In-root path.
    pub path: PathBuf,
    /// Its service.
    pub service: &'static str,
    /// Why (never file content).
    pub why: String,
}

/// The programs that run commands as root through `<svc>-rootwrap` (sudo),
/// with the option naming its config (Debian: nova-compute, cinder-volume).
const ROOTWRAP: &[(&str, &str)] = &[("nova-compute", "nova"), ("cinder-volume", "cinder")];

/// An option naming a file: (group, key, default file name).
type PasteOption = (&'static str, &'static str, &'static str);

/// The API programs: they serve a paste pipeline and enforce policy. The
/// paste option (group, key) and its default file name; octavia-api (pecan)
/// has no paste file.
const API: &[(&str, Option<PasteOption>)] = &[
    (
        "nova-api",
        Some(("wsgi", "api_paste_config", "api-paste.ini")),
    ),
    (
        "cinder-api",
        Some(("DEFAULT", "api_paste_config", "api-paste.ini")),
    ),
    (
        "glance-api",
        Some(("paste_deploy", "config_file", "glance-api-paste.ini")),
    ),
    ("octavia-api", None),
];

/// The union of what the installed programs read, by service (report
/// order), each path once; and what could not be looked up.
pub fn judged_files(
    host: &crate::host::Host,
    programs: &[ProgramConfig],
    with_dirs: bool,
) -> (Vec<Judged>, Vec<Unknown>) {
    let mut set = Set::default();
    for s in SERVICES {
        let progs: Vec<&ProgramConfig> = crate::consumers::of_service(programs, s).collect();
        if progs.is_empty() {
            continue;
        }
        let etc = PathBuf::from(format!("/etc/{}", s.name));
        if with_dirs {
            match host.exists_checked(&etc) {
                Ok(true) => set.add(Judged {
                    path: etc.clone(),
                    why: format!("{}'s configuration directory", s.name),
                    role: "service-dir",
                    kind: Kind::ConfigDir,
                    named: false,
                    service: s.name,
                    programs: progs.iter().map(|p| p.program.name).collect(),
                }),
                Ok(false) => {}
                Err(e) => set.unknown(&etc, s.name, format!("cannot tell whether it exists: {e}")),
            }
        }
        for p in &progs {
            let name = p.program.name;
            // A file oslo.config could not read is the input gate's error
            // (it names the file); its metadata would judge a stand-in.
            for f in p.config.files.iter().filter(|f| f.parsed.is_ok()) {
                let role = if in_conf_d(&f.path) {
                    "config-dir"
                } else {
                    "config"
                };
                set.add(judged(
                    &f.path,
                    "read by oslo.config",
                    role,
                    Kind::Secret,
                    s.name,
                    name,
                ));
            }
            if let Some((_, paste)) = API.iter().find(|(n, _)| *n == name) {
                if let Some((group, key, default)) = paste {
                    set.add_found(
                        host,
                        &p.config,
                        s.name,
                        name,
                        (group, key, default),
                        "paste",
                    );
                }
                set.add_policy(host, &p.config, s.name, name);
            }
            if let Some((_, svc)) = ROOTWRAP.iter().find(|(n, _)| *n == name) {
                set.add_rootwrap(host, &p.config, svc, name);
            }
        }
    }
    (set.files, set.unknown)
}

fn judged(
    path: &Path,
    why: &str,
    role: &'static str,
    kind: Kind,
    service: &'static str,
    program: &'static str,
) -> Judged {
    Judged {
        path: path.to_path_buf(),
        why: format!("{why} ({program})"),
        role,
        kind,
        named: false,
        service,
        programs: vec![program],
    }
}

fn in_conf_d(p: &Path) -> bool {
    p.parent()
        .and_then(|d| d.file_name())
        .is_some_and(|n| n.to_string_lossy().ends_with(".conf.d"))
}

#[derive(Default)]
struct Set {
    files: Vec<Judged>,
    unknown: Vec<Unknown>,
}

impl Set {
    fn add(&mut self, j: Judged) {
        match self.files.iter_mut().find(|f| f.path == j.path) {
            Some(f) => {
                for p in j.programs {
                    if !f.programs.contains(&p) {
                        f.programs.push(p);
                    }
                }
            }
            None => self.files.push(j),
        }
    }

    fn unknown(&mut self, path: &Path, service: &'static str, why: String) {
        self.unknown.push(Unknown {
            path: path.to_path_buf(),
            service,
            why,
        });
    }

    /// A file an option names (default `default`), looked up as
    /// oslo.config's `find_file` does: an absolute path as is, a name in the
    /// directories of the files read, then `/etc/<svc>`.
    fn add_found(
        &mut self,
        host: &crate::host::Host,
        cfg: &Config,
        service: &'static str,
        program: &'static str,
        (group, key, default): (&str, &str, &str),
        role: &'static str,
    ) {
        let set = cfg
            .get(group, key)
            .filter(|(v, _)| !v.value.trim().is_empty());
        let (name, why, named) = match set {
            Some((v, file)) => (
                v.value.trim().to_string(),
                format!("[{group}] {key} at {}:{}", file.display(), v.line),
                true,
            ),
            None => (
                default.to_string(),
                format!("{role} file {program} loads by default"),
                false,
            ),
        };
        let kind = if role == "policy" {
            Kind::Privileged
        } else {
            Kind::Secret
        };
        let mut j = judged(Path::new(&name), &why, role, kind, service, program);
        j.named = named;
        if name.starts_with('/') {
            if named || host.lstat(Path::new(&name)).is_ok() {
                self.add(j);
            }
            return;
        }
        let mut dirs = cfg.file_dirs();
        let etc = PathBuf::from(format!("/etc/{service}"));
        if !dirs.contains(&etc) {
            dirs.push(etc.clone());
        }
        for d in dirs {
            let p = d.join(&name);
            match host.exists_checked(&p) {
                Ok(true) => {
                    j.path = p;
                    self.add(j);
                    return;
                }
                Ok(false) => {}
                Err(e) => {
                    self.unknown(
                        &p,
                        service,
                        format!("cannot tell whether it exists ({e}), so which {role} file {program} reads is unknown"),
                    );
                    return;
                }
            }
        }
        if named {
            // Named but found nowhere: judged at /etc/<svc>, an error there.
            j.path = etc.join(&name);
            self.add(j);
        }
    }

    /// `[oslo_policy] policy_file` (default `policy.yaml`, else
    /// `policy.json`) and the files of each `policy_dirs` (default
    /// `policy.d`), as oslo.policy walks them: non-hidden files only.
    fn add_policy(
        &mut self,
        host: &crate::host::Host,
        cfg: &Config,
        service: &'static str,
        program: &'static str,
    ) {
        let before = self.files.len();
        self.add_found(
            host,
            cfg,
            service,
            program,
            ("oslo_policy", "policy_file", "policy.yaml"),
            "policy",
        );
        if self.files.len() == before && cfg.get("oslo_policy", "policy_file").is_none() {
            self.add_found(
                host,
                cfg,
                service,
                program,
                ("oslo_policy", "policy_file", "policy.json"),
                "policy",
            );
        }
        let dirs = cfg.policy_dirs();
        let etc = PathBuf::from(format!("/etc/{service}"));
        for (name, why) in dirs {
            let mut candidates = if name.starts_with('/') {
                vec![PathBuf::from(&name)]
            } else {
                cfg.file_dirs().into_iter().map(|d| d.join(&name)).collect()
            };
            if !name.starts_with('/') && !candidates.contains(&etc.join(&name)) {
                candidates.push(etc.join(&name));
            }
            let Some(dir) = candidates.into_iter().find(|d| host.is_dir(d)) else {
                continue;
            };
            self.add_listed(host, &dir, service, program, &why, "policy");
        }
    }

    /// `/etc/<svc>/rootwrap.conf` (or `[DEFAULT] rootwrap_config`) and the
    /// filters in `/etc/<svc>/rootwrap.d`.
    fn add_rootwrap(
        &mut self,
        host: &crate::host::Host,
        cfg: &Config,
        service: &'static str,
        program: &'static str,
    ) {
        let default = format!("/etc/{service}/rootwrap.conf");
        let (path, why, named) = match cfg
            .get("DEFAULT", "rootwrap_config")
            .filter(|(v, _)| !v.value.trim().is_empty())
        {
            Some((v, f)) => (
                PathBuf::from(v.value.trim()),
                format!("[DEFAULT] rootwrap_config at {}:{}", f.display(), v.line),
                true,
            ),
            None => (
                PathBuf::from(&default),
                "rootwrap configuration (sudo <svc>-rootwrap)".to_string(),
                false,
            ),
        };
        if named || host.lstat(&path).is_ok() {
            let mut j = judged(&path, &why, "rootwrap", Kind::Privileged, service, program);
            j.named = named;
            self.add(j);
        }
        let filters = PathBuf::from(format!("/etc/{service}/rootwrap.d"));
        if host.is_dir(&filters) {
            self.add_listed(
                host,
                &filters,
                service,
                program,
                "rootwrap filters_path",
                "rootwrap",
            );
        }
    }

    fn add_listed(
        &mut self,
        host: &crate::host::Host,
        dir: &Path,
        service: &'static str,
        program: &'static str,
        why: &str,
        role: &'static str,
    ) {
        match host.list_dir(dir) {
            Ok(list) => {
                for p in list {
                    let hidden = p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'));
                    if !hidden && !host.is_dir(&p) {
                        self.add(judged(&p, why, role, Kind::Privileged, service, program));
                    }
                }
            }
            Err(e) => self.unknown(
                dir,
                service,
                format!("cannot list it ({e}), so the {role} files {program} reads are not judged"),
            ),
        }
    }
}

/// Which check a probe is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rule {
    Ownership,
    Mode,
}

/// The BAR-001/002/003 parameters for a path of this kind.
fn params(rule: Rule, kind: Kind, service: &str) -> Option<Params> {
    let base = Params {
        subjects: Subjects::EffectiveFileSet,
        owner: None,
        group: None,
        mode_max: None,
        acl: AclRule::Ignore,
        exclude: None,
    };
    let root = Some("root".to_string());
    let group = Some(service.to_string());
    Some(match (rule, kind) {
        (Rule::Ownership, Kind::Secret) => Params {
            owner: root,
            group,
            ..base
        },
        (Rule::Ownership, Kind::Privileged) => Params {
            owner: root,
            ..base
        },
        (Rule::Ownership, Kind::ConfigDir) => Params {
            subjects: Subjects::ConfigDir,
            owner: root,
            group,
            mode_max: Some(0o750),
            acl: AclRule::NoWidening,
            ..base
        },
        (Rule::Mode, Kind::Secret) => Params {
            mode_max: Some(0o640),
            acl: AclRule::NoWidening,
            ..base
        },
        (Rule::Mode, Kind::Privileged) => Params {
            mode_max: Some(0o755),
            acl: AclRule::NoWidening,
            ..base
        },
        (Rule::Mode, Kind::ConfigDir) => return None,
    })
}

fn observe(rule: Rule, facts: &Facts<'_>) -> Observed {
    let (files, unknown) = judged_files(facts.host, facts.consumers(), rule == Rule::Ownership);
    let mut out: Vec<Observation> = Vec::new();
    for j in &files {
        let Some(p) = params(rule, j.kind, j.service) else {
            continue;
        };
        let subject = Subject {
            path: j.path.clone(),
            why: j.why.clone(),
            role: j.role,
            named: j.named,
        };
        let mut o = judge_path(&p, facts, &subject);
        let programs = j.programs.join(", ");
        o.vars.insert("service".into(), j.service.to_string());
        o.vars.insert("programs".into(), programs.clone());
        o.evidence.insert("read_by".into(), programs.into());
        o.evidence.insert(
            "judged_as".into(),
            match j.kind {
                Kind::Secret => "may hold secrets",
                Kind::Privileged => {
                    "rootwrap or policy: owner root, not writable by group or others"
                }
                Kind::ConfigDir => "configuration directory, as BAR-003",
            }
            .into(),
        );
        if let Some(g) = &p.group {
            // The gid the name resolves to here (kolla's differ from Debian's).
            if let Some(gid) = facts.host.users.group_gid(g) {
                o.evidence.insert("expected_gid".into(), gid.into());
            }
        }
        if rule == Rule::Ownership {
            let fix = ownership_fix(&o.vars, j.kind);
            o.vars.insert("fix".into(), fix);
        }
        out.push(o);
    }
    for u in unknown {
        let subject = u.path.display().to_string();
        let mut vars = BTreeMap::new();
        vars.insert("subject".into(), subject.clone());
        vars.insert("detail".into(), format!("{subject}: {}", u.why));
        vars.insert("service".into(), u.service.to_string());
        out.push(Observation {
            subject,
            status: Status::Error,
            vars,
            evidence: BTreeMap::new(),
            severity: None,
        });
    }
    if out.is_empty() {
        out.push(Observation::new(
            "nova, cinder, glance, octavia",
            Status::Na,
            "no configuration file of an installed nova, cinder, glance or octavia program exists",
        ));
    }
    out.into()
}

/// The KMC-007 fix: chown (and, for the directory, chmod) with every
/// path shell-quoted here, so the template pastes it raw.
fn ownership_fix(vars: &BTreeMap<String, String>, kind: Kind) -> String {
    let (Some(path), Some(owner), Some(group)) = (
        vars.get("path"),
        vars.get("expected_owner"),
        vars.get("expected_group"),
    ) else {
        return String::new();
    };
    let q = barbican_audit_support::shell_quote(path);
    let who = barbican_audit_support::shell_quote(&format!("{owner}:{group}"));
    let mut fix = format!("chown {who} {q}");
    if kind == Kind::ConfigDir {
        if let Some(m) = vars.get("fixed_mode") {
            fix.push_str(&format!(" && chmod {m} {q}"));
        }
    }
    if let Some(acl) = vars.get("acl_fix") {
        if kind == Kind::ConfigDir {
            fix.push_str(acl);
        }
    }
    fix
}

const SERVICE_VARS: [Var; 2] = [
    Var::quoted("service", "the service (nova, cinder, glance, octavia)"),
    Var::quoted("programs", "the installed programs that read the path"),
];

/// What `consumer-ownership` declares (KMC-007).
static OWNERSHIP: Decl = Decl {
    name: "consumer-ownership",
    doc: "owner and group of every file the installed nova, cinder, glance and octavia programs read, and of /etc/<svc>",
    vars: &[
        VARS[0], VARS[1], VARS[2], VARS[3], VARS[4], VARS[5], VARS[6], VARS[7], VARS[8],
        VARS[9], VARS[10], VARS[11], VARS[12], VARS[13], VARS[14], VARS[15], VARS[16],
        VARS[17], VARS[18], SERVICE_VARS[0], SERVICE_VARS[1],
        Var::raw("fix", "chown (chmod, setfacl -b for the directory), paths quoted"),
    ],
    fix_style: FixStyle::Shell,
    // The programs' files, and the root's passwd and group (the service's
    // group by name; its user's home is a search directory).
    inputs: &[Input::ConsumerConfig, Input::Users],
    parse: false,
    // Per path, each finding stands on its own (as BAR-001).
    gate: Gate::Add,
    judged_bools: &[],
};

/// What `consumer-mode` declares (KMC-008).
static MODE: Decl = Decl {
    name: "consumer-mode",
    doc: "mode and POSIX ACL of every file the installed nova, cinder, glance and octavia programs read",
    vars: &[
        VARS[0], VARS[1], VARS[2], VARS[3], VARS[4], VARS[5], VARS[6], VARS[7], VARS[8],
        VARS[9], VARS[10], VARS[11], VARS[12], VARS[13], VARS[16], VARS[17], VARS[18],
        SERVICE_VARS[0], SERVICE_VARS[1],
    ],
    fix_style: FixStyle::Shell,
    inputs: &[Input::ConsumerConfig, Input::Users],
    parse: false,
    gate: Gate::Add,
    judged_bools: &[],
};

impl Probe for ConsumerOwnership {
    fn decl(&self) -> &'static Decl {
        &OWNERSHIP
    }

    fn observe(&self, _: &super::Params, facts: &Facts<'_>) -> Observed {
        observe(Rule::Ownership, facts)
    }
}

impl Probe for ConsumerMode {
    fn decl(&self) -> &'static Decl {
        &MODE
    }

    fn observe(&self, _: &super::Params, facts: &Facts<'_>) -> Observed {
        observe(Rule::Mode, facts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_per_kind() {
        let p = params(Rule::Ownership, Kind::Secret, "nova").unwrap();
        assert_eq!(
            (p.owner.as_deref(), p.group.as_deref()),
            (Some("root"), Some("nova"))
        );
        assert_eq!(p.mode_max, None);
        let p = params(Rule::Ownership, Kind::Privileged, "nova").unwrap();
        assert_eq!((p.owner.as_deref(), p.group), (Some("root"), None));
        let p = params(Rule::Ownership, Kind::ConfigDir, "cinder").unwrap();
        assert_eq!(p.mode_max, Some(0o750));
        assert_eq!(p.group.as_deref(), Some("cinder"));
        assert_eq!(
            params(Rule::Mode, Kind::Secret, "glance").unwrap().mode_max,
            Some(0o640)
        );
        // rootwrap and policy: 0644 passes, group or other write fails.
        let max = params(Rule::Mode, Kind::Privileged, "nova")
            .unwrap()
            .mode_max
            .unwrap();
        assert_eq!(0o644 & !max, 0);
        assert_ne!(0o664 & !max, 0);
        assert_ne!(0o646 & !max, 0);
        assert!(params(Rule::Mode, Kind::ConfigDir, "nova").is_none());
    }

    #[test]
    fn the_fix_quotes_its_paths() {
        let mut v = BTreeMap::new();
        v.insert("path".to_string(), "/r/etc/nova/a b.conf".to_string());
        v.insert("expected_owner".to_string(), "root".to_string());
        v.insert("expected_group".to_string(), "nova".to_string());
        v.insert("fixed_mode".to_string(), "0750".to_string());
        v.insert("acl_fix".to_string(), String::new());
        assert_eq!(
            ownership_fix(&v, Kind::Secret),
            "chown root:nova '/r/etc/nova/a b.conf'"
        );
        assert!(
            ownership_fix(&v, Kind::ConfigDir).ends_with("&& chmod 0750 '/r/etc/nova/a b.conf'")
        );
    }
}
