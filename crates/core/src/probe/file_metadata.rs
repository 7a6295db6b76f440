//! `[probe.file-metadata]`: owner, group, mode and POSIX ACL of the
//! effective file set, or of the config directory and the directories
//! Barbican loads files from (`.conf.d`, `policy_dirs`: [`crate::barbican::dirs`]).
//!
//! Modes are compared as bitmasks ("0640 or stricter" means no bit outside
//! `rw-r-----`): 0440 and 0600 pass, 0604, 0660, 2640 and 0740 fail. Symlinks
//! are judged by their target, and both paths are reported.
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use regex::Regex;
use serde::Deserialize;
use serde_json::json;

use super::{Decl, Facts, FixStyle, Gate, Input, Observation, Observed, Probe, Reads, Var};
use crate::host::acl::Acl;
use crate::report::Status;

/// Ownership, mode and ACL of files or directories.
pub struct FileMetadata;

/// What this probe declares about itself.
static DECL: Decl = Decl {
    name: "file-metadata",
    doc: "owner, group, mode and POSIX ACL of the effective file set, or of the config directory and the .conf.d and policy directories Barbican loads",
    vars: VARS,
    fix_style: FixStyle::Shell,
    // The effective file set's inputs; `subjects = "config-dir"` reads the
    // users and the configs (see `reads` below).
    inputs: &[
        Input::Config,
        Input::ProgConfig,
        Input::Policy,
        Input::Paste,
        Input::Users,
    ],
    parse: false,
    gate: Gate::Add,
    judged_bools: &[],
};

impl Probe for FileMetadata {
    fn decl(&self) -> &'static Decl {
        &DECL
    }

    fn reads(&self, params: &super::Params, _: &Facts<'_>) -> Reads {
        let inputs: &'static [Input] = match params.get::<Params>().map(|p| p.subjects) {
            // The users, and the configs that say which .conf.d and policy
            // directories are loaded (a config that cannot be read or
            // parsed leaves policy_dirs unknown: error).
            Some(Subjects::ConfigDir) => &[Input::Users, Input::Config, Input::ProgConfig],
            // Unknown parameters (never, after validation): every input.
            Some(Subjects::EffectiveFileSet) | None => DECL.inputs,
        };
        Reads {
            inputs,
            // policy_dirs comes from a parsed barbican.conf.
            parse: matches!(
                params.get::<Params>().map(|p| p.subjects),
                Some(Subjects::ConfigDir)
            ),
        }
    }

    fn params(&self, table: toml::Table) -> Result<super::Params, String> {
        Params::validate(table).map(super::Params::new)
    }

    fn observe(&self, params: &super::Params, facts: &Facts<'_>) -> Observed {
        match params.get::<Params>() {
            Some(p) => judge_subjects(p, facts).into(),
            // Fail closed: a check must never pass on parameters it did not get.
            None => vec![Observation::new(
                "/etc/barbican",
                Status::Error,
                "file-metadata probe without its parameters (a bug in barbican-audit)",
            )]
            .into(),
        }
    }
}

/// Variables for message and remediation templates. Those generated from
/// validated data are pasted unquoted. (The consumers pack's file probes
/// declare them too: they judge with [`judge_path`].)
pub(crate) const VARS: &[Var] = &[
    Var::SUBJECT,
    Var::quoted(
        "path",
        "where to apply a fix on the auditing machine (inside the root)",
    ),
    Var::quoted("link", "the symlink judged by its target, or empty"),
    Var::quoted("target", "the in-root path judged"),
    Var::quoted("owner", "owner name (`?` if unknown)"),
    Var::quoted("group", "group name (`?` if unknown)"),
    Var::raw("uid", "owner uid"),
    Var::raw("gid", "group gid"),
    Var::raw("mode", "mode, four octal digits"),
    Var::raw("mode_max", "loosest mode allowed"),
    Var::raw("fixed_mode", "the mode with the excess bits removed"),
    Var::quoted("excess", "the excess bits in words"),
    Var::quoted("acl", "the widening POSIX ACL as text"),
    Var::raw(
        "acl_fix",
        "` && setfacl -b PATH` when the ACL widens, else empty",
    ),
    Var::raw("expected_owner", "the owner required"),
    Var::raw("expected_group", "the group required"),
    Var::quoted("why", "how the path was found"),
    Var::quoted("role", "its role: config, policy, paste, key-file..."),
    Var::DETAIL,
];

/// Which paths the probe judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subjects {
    /// Every file Barbican reads (catalog.md, "The effective file set").
    EffectiveFileSet,
    /// The configuration directory `/etc/barbican`, and the `.conf.d` and
    /// `policy_dirs` directories Barbican loads files from.
    ConfigDir,
}

/// What to do with POSIX access ACLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclRule {
    /// Not judged.
    Ignore,
    /// Named user/group entries, or a mask wider than the mode's group bits, fail.
    NoWidening,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawParams {
    subjects: String,
    owner: Option<String>,
    group: Option<String>,
    mode_max: Option<String>,
    acl: Option<String>,
    subjects_exclude: Option<String>,
}

/// Validated parameters.
#[derive(Debug, Clone)]
pub struct Params {
    /// Which paths.
    pub subjects: Subjects,
    /// Required owner name.
    pub owner: Option<String>,
    /// Required group name.
    pub group: Option<String>,
    /// Loosest allowed mode (permission and special bits).
    pub mode_max: Option<u32>,
    /// ACL rule.
    pub acl: AclRule,
    /// Subjects whose path matches are not judged by this check.
    pub exclude: Option<Regex>,
}

fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_lowercase() || f == '_')
        && c.all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_' || ch == '-')
}

impl Params {
    /// Validates TOML parameters.
    pub fn validate(t: toml::Table) -> Result<Params, String> {
        let raw = RawParams::deserialize(toml::Value::Table(t))
            .map_err(|e| e.message().trim().to_string())?;
        let subjects = match raw.subjects.as_str() {
            "effective-file-set" => Subjects::EffectiveFileSet,
            "config-dir" => Subjects::ConfigDir,
            other => {
                return Err(format!(
                    "unknown subjects {other:?} (known: effective-file-set, config-dir)"
                ))
            }
        };
        for name in raw.owner.iter().chain(raw.group.iter()) {
            if !is_name(name) {
                return Err(format!("bad user or group name {name:?}"));
            }
        }
        let mode_max = match &raw.mode_max {
            None => None,
            Some(m) => {
                let ok = (3..=4).contains(&m.len()) && m.chars().all(|c| ('0'..='7').contains(&c));
                match u32::from_str_radix(m, 8) {
                    Ok(v) if ok => Some(v),
                    _ => {
                        return Err(format!(
                            "bad mode-max {m:?}: expected octal such as \"0640\""
                        ))
                    }
                }
            }
        };
        let acl = match raw.acl.as_deref() {
            None | Some("ignore") => AclRule::Ignore,
            Some("no-widening") => AclRule::NoWidening,
            Some(other) => return Err(format!("bad acl {other:?} (known: no-widening, ignore)")),
        };
        let exclude = match &raw.subjects_exclude {
            None => None,
            Some(r) => {
                Some(Regex::new(r).map_err(|e| {
                    // regex errors are multi-line drawings; keep the last line, the reason.
                    let text = e.to_string();
                    let reason = text
                        .lines()
                        .last()
                        .unwrap_or("")
                        .trim_start_matches("error: ")
                        .to_string();
                    format!("bad regex in subjects-exclude: {reason}")
                })?)
            }
        };
        if raw.owner.is_none()
            && raw.group.is_none()
            && mode_max.is_none()
            && acl == AclRule::Ignore
        {
            return Err("nothing to check: set owner, group, mode-max or acl".into());
        }
        Ok(Params {
            subjects,
            owner: raw.owner,
            group: raw.group,
            mode_max,
            acl,
            exclude,
        })
    }
}

/// One path to judge and why it is judged.
pub(crate) struct Subject {
    /// In-root path.
    pub(crate) path: std::path::PathBuf,
    /// How it was found (evidence).
    pub(crate) why: String,
    /// Its role (`config`, `key-file`, ...).
    pub(crate) role: &'static str,
    /// Named explicitly by configuration: missing is an error, not silence.
    pub(crate) named: bool,
}

/// Judges every subject the parameters name.
fn judge_subjects(p: &Params, facts: &Facts<'_>) -> Vec<Observation> {
    let subjects: Vec<Subject> = match p.subjects {
        Subjects::EffectiveFileSet => facts
            .files()
            .files
            .iter()
            .map(|f| Subject {
                path: f.path.clone(),
                why: f.why.clone(),
                role: f.role,
                named: f.named,
            })
            .collect(),
        Subjects::ConfigDir => {
            let (subjects, errors) = config_dir_subjects(facts);
            if subjects.is_empty() && errors.is_empty() {
                return vec![na(
                    "/etc/barbican",
                    "no /etc/barbican directory on this root",
                )];
            }
            let mut out = errors;
            out.extend(
                subjects
                    .iter()
                    .filter(|s| !excluded(p, s))
                    .map(|s| judge_path(p, facts, s)),
            );
            return out;
        }
    };
    let subjects: Vec<Subject> = subjects.into_iter().filter(|s| !excluded(p, s)).collect();
    if subjects.is_empty() {
        return vec![na(
            "/etc/barbican",
            "no Barbican configuration files found on this root",
        )];
    }
    subjects.iter().map(|s| judge_path(p, facts, s)).collect()
}

fn excluded(p: &Params, s: &Subject) -> bool {
    p.exclude
        .as_ref()
        .is_some_and(|r| r.is_match(&s.path.to_string_lossy()))
}

/// `/etc/barbican` and every directory Barbican loads files from (the
/// `.conf.d` directories oslo.config reads, the `policy_dirs` oslo.policy
/// walks: [`crate::barbican::dirs`]), with an error for each path whose
/// existence cannot be told. A directory that does not exist is not
/// judged: oslo.config and oslo.policy skip it.
fn config_dir_subjects(facts: &Facts<'_>) -> (Vec<Subject>, Vec<Observation>) {
    let mut subjects = Vec::new();
    let mut errors = Vec::new();
    let etc = Path::new("/etc/barbican");
    match facts.host.exists_checked(etc) {
        Ok(true) => subjects.push(Subject {
            path: etc.to_path_buf(),
            why: "Barbican configuration directory".into(),
            role: "config-dir",
            named: false,
        }),
        Ok(false) => {}
        // Not knowing is not "absent" (fail closed).
        Err(e) => errors.push(Observation::new(
            "/etc/barbican",
            Status::Error,
            format!("cannot tell whether it exists: {e}"),
        )),
    }
    let dirs = crate::barbican::dirs::load_dirs(facts.host, facts.config(), facts.prog_configs());
    for (path, why) in dirs.problems {
        errors.push(Observation::new(path.to_string_lossy(), Status::Error, why));
    }
    for d in dirs.dirs {
        if subjects.iter().any(|s| s.path == d.path) {
            continue;
        }
        subjects.push(Subject {
            path: d.path,
            why: d.why,
            role: d.role,
            // Found existing a moment ago: gone now is "vanished", an error.
            named: false,
        });
    }
    (subjects, errors)
}

fn na(subject: &str, detail: &str) -> Observation {
    let mut vars = BTreeMap::new();
    vars.insert("subject".into(), subject.to_string());
    vars.insert("detail".into(), detail.to_string());
    Observation {
        subject: subject.to_string(),
        status: Status::Na,
        vars,
        evidence: BTreeMap::new(),
        severity: None,
    }
}

/// The BAR-001 + BAR-002 rule together: root:barbican, 0640 or stricter, no
/// ACL widening (for key files other probes find, e.g. BAR-010).
pub(crate) fn key_file_params() -> Params {
    Params {
        subjects: Subjects::EffectiveFileSet,
        owner: Some("root".into()),
        group: Some("barbican".into()),
        mode_max: Some(0o640),
        acl: AclRule::NoWidening,
        exclude: None,
    }
}

/// Judges one path.
pub(crate) fn judge_path(p: &Params, facts: &Facts<'_>, s: &Subject) -> Observation {
    let subject = s.path.to_string_lossy().into_owned();
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let mut ev: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    vars.insert("subject".into(), subject.clone());
    vars.insert("why".into(), s.why.clone());
    vars.insert("role".into(), s.role.to_string());
    ev.insert("source".into(), json!(s.why));
    let error = |mut vars: BTreeMap<String, String>, ev, detail: String| {
        vars.insert("detail".into(), detail);
        Observation {
            subject: subject.clone(),
            status: Status::Error,
            vars,
            evidence: ev,
            severity: None,
        }
    };
    let resolved = match facts.host.resolve(&s.path) {
        Ok(r) => r,
        Err(e) => return error(vars, ev, format!("cannot resolve {subject}: {e}")),
    };
    let target = resolved.target.to_string_lossy().into_owned();
    // `path` is where a fix must be applied on the auditing machine: under
    // --root that is inside the root, never the auditing host's own /etc.
    // A container seen from the host (kolla): the fix applies to the
    // container's path, not to the host file its copy comes from.
    let mapped = facts.host.mapped(&resolved.target);
    let real = if mapped.is_some() {
        target.clone()
    } else {
        facts
            .host
            .real(&resolved.target)
            .to_string_lossy()
            .into_owned()
    };
    vars.insert("path".into(), real.clone());
    vars.insert("target".into(), target.clone());
    vars.insert(
        "link".into(),
        if resolved.via_symlink {
            subject.clone()
        } else {
            String::new()
        },
    );
    if resolved.via_symlink {
        ev.insert("link".into(), json!(subject));
        ev.insert("target".into(), json!(target));
    }
    let meta = match facts.host.lstat(&resolved.target) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let detail = if resolved.via_symlink {
                format!("symlink target {target} does not exist")
            } else if s.named {
                format!("named by {} but does not exist", s.why)
            } else {
                "vanished while auditing".to_string()
            };
            return error(vars, ev, detail);
        }
        Err(e) => return error(vars, ev, format!("cannot stat {target}: {e}")),
    };
    let (uid, gid, mode) = match mapped {
        // Not the host file's: what kolla_set_configs sets on the copy.
        Some(m) => {
            ev.insert("set_by".into(), json!(m.origin));
            (m.uid, m.gid, m.mode & 0o7777)
        }
        None => (meta.uid(), meta.gid(), meta.mode() & 0o7777),
    };
    let users = &facts.host.users;
    let owner = users.user_name(uid).unwrap_or("?").to_string();
    let group = users.group_name(gid).unwrap_or("?").to_string();
    vars.insert("owner".into(), owner.clone());
    vars.insert("group".into(), group.clone());
    vars.insert("uid".into(), uid.to_string());
    vars.insert("gid".into(), gid.to_string());
    vars.insert("mode".into(), format!("{mode:04o}"));
    ev.insert("owner".into(), json!(owner));
    ev.insert("group".into(), json!(group));
    ev.insert("uid".into(), json!(uid));
    ev.insert("gid".into(), json!(gid));
    ev.insert("mode".into(), json!(format!("{mode:04o}")));

    let mut problems: Vec<String> = Vec::new();
    if p.owner.is_some() || p.group.is_some() {
        let want_owner = p.owner.clone().unwrap_or_else(|| owner.clone());
        let want_group = p.group.clone().unwrap_or_else(|| group.clone());
        vars.insert("expected_owner".into(), want_owner.clone());
        vars.insert("expected_group".into(), want_group.clone());
        ev.insert(
            "expected".into(),
            json!(format!("{want_owner}:{want_group}")),
        );
        if let Some(o) = &p.owner {
            // uid 0 is root even in an image whose passwd lacks the line.
            let want_uid = users.user(o).map(|u| u.uid).or((o == "root").then_some(0));
            match want_uid {
                None => {
                    return error(
                        vars,
                        ev,
                        format!(
                            "user {o} does not exist in {}/etc/passwd",
                            root_shown(facts)
                        ),
                    )
                }
                Some(w) if w != uid => {
                    problems.push(format!("owner is {owner} (uid {uid}), expected {o}"))
                }
                Some(_) => {}
            }
        }
        if let Some(g) = &p.group {
            match users.group_gid(g) {
                None => {
                    return error(
                        vars,
                        ev,
                        format!(
                            "group {g} does not exist in {}/etc/group",
                            root_shown(facts)
                        ),
                    )
                }
                Some(w) if w != gid => {
                    problems.push(format!("group is {group} (gid {gid}), expected {g}"))
                }
                Some(_) => {}
            }
        }
    }
    if let Some(max) = p.mode_max {
        let excess = mode & !max;
        vars.insert("mode_max".into(), format!("{max:04o}"));
        vars.insert("fixed_mode".into(), format!("{:04o}", mode & max));
        ev.insert("mode_max".into(), json!(format!("{max:04o}")));
        if excess != 0 {
            let words = describe_bits(excess);
            vars.insert("excess".into(), words.clone());
            problems.push(format!(
                "mode {mode:04o} grants {words}; expected {max:04o} or stricter"
            ));
        }
    }
    vars.insert("acl_fix".into(), String::new());
    // kolla_set_configs' copy (shutil.copy) carries no ACL of its source.
    if p.acl == AclRule::NoWidening && mapped.is_none() {
        match Acl::read(&facts.host.real(&resolved.target)) {
            Err(e) => {
                return error(
                    vars,
                    ev,
                    format!("cannot read the POSIX ACL of {target}: {e}"),
                )
            }
            Ok(None) => {}
            Ok(Some(acl)) => {
                let text = acl.to_text(users);
                let mut acl_problems = Vec::new();
                let named: Vec<String> = text
                    .lines()
                    .filter(|l| {
                        (l.starts_with("user:") && !l.starts_with("user::"))
                            || (l.starts_with("group:") && !l.starts_with("group::"))
                    })
                    .map(str::to_string)
                    .collect();
                if !named.is_empty() {
                    acl_problems.push(format!("POSIX ACL grants {}", named.join(", ")));
                }
                let group_bits = u16::try_from((mode >> 3) & 7).unwrap_or(7);
                if let Some(m) = acl.mask() {
                    if m & !group_bits != 0 {
                        acl_problems.push(format!(
                            "ACL mask {} is wider than the mode's group bits {}",
                            rwx(m),
                            rwx(group_bits)
                        ));
                    }
                }
                if !acl_problems.is_empty() {
                    ev.insert("acl".into(), json!(text));
                    vars.insert("acl".into(), text);
                    vars.insert(
                        "acl_fix".into(),
                        format!(
                            " && setfacl -b {}",
                            barbican_audit_support::shell_quote(&real)
                        ),
                    );
                    problems.extend(acl_problems);
                }
            }
        }
    }
    let link_note = if resolved.via_symlink {
        format!(" (symlink to {target})")
    } else {
        String::new()
    };
    let status = if problems.is_empty() {
        Status::Pass
    } else {
        Status::Fail
    };
    let detail = if problems.is_empty() {
        format!("{owner}:{group} ({uid}:{gid}), mode {mode:04o}{link_note}")
    } else {
        format!("{}{link_note}", problems.join("; "))
    };
    vars.insert("detail".into(), detail);
    Observation {
        subject,
        status,
        vars,
        evidence: ev,
        severity: None,
    }
}

fn root_shown(facts: &Facts<'_>) -> String {
    if facts.host.is_live() {
        String::new()
    } else {
        facts.host.root().display().to_string()
    }
}

fn rwx(p: u16) -> String {
    [(4, 'r'), (2, 'w'), (1, 'x')]
        .iter()
        .map(|&(b, c)| if p & b != 0 { c } else { '-' })
        .collect()
}

/// Names the excess bits: `read to others`, `write to group`, `setgid`...
pub fn describe_bits(bits: u32) -> String {
    let mut out = Vec::new();
    for (bit, name) in [(0o4000, "setuid"), (0o2000, "setgid"), (0o1000, "sticky")] {
        if bits & bit != 0 {
            out.push(name.to_string());
        }
    }
    for (shift, who) in [(6, "owner"), (3, "group"), (0, "others")] {
        let b = (bits >> shift) & 7;
        let perms: Vec<&str> = [(4, "read"), (2, "write"), (1, "execute")]
            .iter()
            .filter(|(m, _)| b & m != 0)
            .map(|(_, n)| *n)
            .collect();
        if !perms.is_empty() {
            out.push(format!("{} to {who}", perms.join("+")));
        }
    }
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(t: &str) -> Result<Params, String> {
        Params::validate(toml::from_str(t).unwrap())
    }

    #[test]
    fn bitmask_semantics_of_or_stricter() {
        let max = 0o640;
        for ok in [0o640, 0o600, 0o440, 0o400, 0o000] {
            assert_eq!(ok & !max, 0, "{ok:o} must pass");
        }
        for bad in [0o644, 0o660, 0o604, 0o2640, 0o740, 0o1640] {
            assert_ne!(bad & !max, 0, "{bad:o} must fail");
        }
        assert_eq!(describe_bits(0o644 & !max), "read to others");
        assert_eq!(describe_bits(0o2660 & !max), "setgid, write to group");
        assert_eq!(describe_bits(0o740 & !max), "execute to owner");
    }

    #[test]
    fn params_validation() {
        assert!(params("subjects = \"effective-file-set\"\nmode-max = \"0640\"").is_ok());
        assert!(params("subjects = \"nope\"\nmode-max = \"0640\"")
            .unwrap_err()
            .contains("unknown subjects"));
        assert!(params("subjects = \"config-dir\"\nmode-max = \"0980\"")
            .unwrap_err()
            .contains("bad mode-max"));
        assert!(
            params("subjects = \"config-dir\"\nmode-max = \"0640\"\nsubjects-exclude = \"(\"")
                .unwrap_err()
                .contains("bad regex")
        );
        assert!(
            params("subjects = \"config-dir\"\nmode-max = \"0640\"\nbogus = 1")
                .unwrap_err()
                .contains("bogus")
        );
        assert!(params("subjects = \"config-dir\"")
            .unwrap_err()
            .contains("nothing to check"));
        assert!(
            params("subjects = \"config-dir\"\nowner = \"root; rm -rf /\"")
                .unwrap_err()
                .contains("bad user")
        );
    }
}
