//! `[probe.key-manager]` (KMC-001) and `[probe.fixed-key]` (KMC-002): the
//! key manager nova, cinder and glance use, per installed program, judged
//! on the files that program reads (see [`crate::consumers`]).
//!
//! castellan (4.0.0, `castellan/key_manager/__init__.py:24-52`) reads
//! `[key_manager] backend` (deprecated name `api_class`, default
//! `barbican`): a stevedore name of `castellan.drivers` (only `barbican` and
//! `vault`, case-sensitive), else an importable `module.Class`. It decides
//! "ConfKeyManager" on the string (`backend.endswith('ConfKeyManager')`,
//! `migration.py:30-31`). A `fixed_key` left beside any other backend is
//! still served by castellan's MigrationKeyManager (`migration.py:30-70`);
//! `[keymgr]` is its deprecated group for nova and cinder, not for glance.
//! Every verdict here was confirmed with Debian's nova, cinder, glance and
//! castellan (tests/confirm/consumers_confirm.py, tests/consumers_confirm.rs).
use super::{Decl, Facts, FixStyle, Gate, Input, Observation, Observed, Params, Probe, Reads, Var};
use crate::barbican::config::Config;
use crate::consumers::ProgramConfig;
use crate::report::Status;

/// The effective key manager is not ConfKeyManager (KMC-001).
pub struct KeyManager;

/// No `fixed_key` with a value in any file a program reads (KMC-002).
pub struct FixedKey;

/// The key manager classes castellan loads for the names it accepts.
const LOADABLE: &[(&str, &str)] = &[
    (
        "barbican",
        "castellan.key_manager.barbican_key_manager.BarbicanKeyManager",
    ),
    (
        "vault",
        "castellan.key_manager.vault_key_manager.VaultKeyManager",
    ),
];

/// What a consumer probe reads: the programs' files, and the root's passwd
/// (the service user's home is a search directory) only where a program is
/// installed, so a root without one is plainly `na`.
pub(super) fn consumer_reads(facts: &Facts<'_>) -> Reads {
    let inputs: &'static [Input] = if crate::consumers::key_manager_users(facts.consumers())
        .next()
        .is_none()
    {
        &[Input::ConsumerConfig]
    } else {
        &[Input::ConsumerConfig, Input::Users]
    };
    Reads {
        inputs,
        parse: true,
    }
}

/// The program's own variables, shared by both probes.
pub(super) const PROGRAM_VARS: [Var; 3] = [
    Var::quoted(
        "program",
        "the program judged (nova-compute, cinder-api, ...)",
    ),
    Var::quoted("service", "its service (nova, cinder, glance)"),
    Var::quoted("main_file", "the service's main config file"),
];

pub(super) fn observation(p: &ProgramConfig, status: Status, detail: String) -> Observation {
    Observation::new(p.program.name, status, detail)
        .var("program", p.program.name)
        .var("service", p.service())
        .var("main_file", p.program.service.main)
        .ev("found_by", p.found_by.clone())
        .ev("files_read", files_read(&p.config))
}

fn files_read(c: &Config) -> Vec<String> {
    c.files
        .iter()
        .map(|f| f.path.display().to_string())
        .collect()
}

/// The effective `[key_manager] backend`: newest file first, the new name
/// before the deprecated `api_class` within a file (oslo.config
/// `_Namespace._get_file_value`). `None`: the default, `barbican`.
pub(super) fn backend(c: &Config) -> Option<(String, String)> {
    for f in c.files.iter().rev() {
        let Ok(parsed) = &f.parsed else { continue };
        for key in ["backend", "api_class"] {
            if let Some(v) = parsed.get_all("key_manager", key).pop() {
                let at = format!("{}:{} ([key_manager] {key})", f.path.display(), v.line);
                return Some((v.value.trim().to_string(), at));
            }
        }
    }
    None
}

/// How castellan resolves a backend value.
pub(super) enum Backend {
    /// Ends in `ConfKeyManager`: one fixed key for every tenant.
    Conf,
    /// A key manager castellan loads (its class).
    Loads(&'static str),
    /// castellan raises when it builds the key manager.
    WouldNotLoad,
}

pub(super) fn resolve(value: &str) -> Backend {
    if value.ends_with("ConfKeyManager") {
        return Backend::Conf;
    }
    LOADABLE
        .iter()
        .find(|(name, class)| value == *name || value == *class)
        .map_or(Backend::WouldNotLoad, |(_, class)| Backend::Loads(class))
}

/// What `key-manager` declares (KMC-001).
static KEY_MANAGER: Decl = Decl {
    name: "key-manager",
    doc: "per nova, cinder and glance program, the [key_manager] backend castellan builds from the files it reads",
    vars: &[
        Var::SUBJECT,
        Var::DETAIL,
        PROGRAM_VARS[0],
        PROGRAM_VARS[1],
        PROGRAM_VARS[2],
    ],
    fix_style: FixStyle::Prose,
    // with the users when a consumer program is installed (`consumer_reads`)
    inputs: &[Input::ConsumerConfig, Input::Users],
    parse: true,
    // The backend is the last value across the files: an unread file
    // may hold it, so nothing but the errors stands.
    gate: Gate::Replace,
    judged_bools: &[],
};

impl Probe for KeyManager {
    fn decl(&self) -> &'static Decl {
        &KEY_MANAGER
    }

    fn reads(&self, _: &Params, facts: &Facts<'_>) -> Reads {
        consumer_reads(facts)
    }

    fn observe(&self, _: &Params, facts: &Facts<'_>) -> Observed {
        crate::consumers::key_manager_users(facts.consumers())
            .map(judge_backend)
            .collect::<Vec<_>>()
            .into()
    }
}

/// KMC-001 for one program.
pub fn judge_backend(p: &ProgramConfig) -> Observation {
    let (value, at) =
        backend(&p.config).unwrap_or_else(|| ("barbican".to_string(), "code default".to_string()));
    let (status, detail, class) = match resolve(&value) {
        Backend::Conf => (
            Status::Fail,
            format!(
                "{} uses ConfKeyManager ({value} from {at}): one fixed key encrypts every tenant's volumes",
                p.program.name
            ),
            value.clone(),
        ),
        Backend::Loads(class) => (
            Status::Pass,
            format!("{} uses {class} ({value} from {at})", p.program.name),
            class.to_string(),
        ),
        Backend::WouldNotLoad => (
            Status::Error,
            format!(
                "{}'s key manager would not load: {value:?} (from {at}) is neither a castellan \
                 driver name (barbican, vault; case-sensitive) nor the class path of one",
                p.program.name
            ),
            String::new(),
        ),
    };
    observation(p, status, detail)
        .ev("backend", value)
        .ev("set_at", at)
        .ev("class", class)
}

/// What `fixed-key` declares (KMC-002).
static FIXED_KEY: Decl = Decl {
    name: "fixed-key",
    doc: "per nova, cinder and glance program, every [key_manager]/[keymgr] fixed_key with a value in the files it reads, by fingerprint",
    vars: &[
        Var::SUBJECT,
        Var::DETAIL,
        PROGRAM_VARS[0],
        PROGRAM_VARS[1],
        PROGRAM_VARS[2],
        Var::quoted("files", "the files (with lines) that hold a fixed_key"),
    ],
    fix_style: FixStyle::Prose,
    // with the users when a consumer program is installed (`consumer_reads`)
    inputs: &[Input::ConsumerConfig, Input::Users],
    parse: true,
    // Each key found is a fact about a file that was read; a pass
    // claims an absence an unread file may contradict.
    gate: Gate::KeepFails,
    judged_bools: &[],
};

impl Probe for FixedKey {
    fn decl(&self) -> &'static Decl {
        &FIXED_KEY
    }

    fn reads(&self, _: &Params, facts: &Facts<'_>) -> Reads {
        consumer_reads(facts)
    }

    fn observe(&self, _: &Params, facts: &Facts<'_>) -> Observed {
        crate::consumers::key_manager_users(facts.consumers())
            .map(judge_fixed_key)
            .collect::<Vec<_>>()
            .into()
    }
}

/// One `fixed_key` assignment with a value.
struct Found {
    file: String,
    line: usize,
    group: String,
    fingerprint: String,
}

/// KMC-002 for one program.
pub fn judge_fixed_key(p: &ProgramConfig) -> Observation {
    let mut found = Vec::new();
    for f in &p.config.files {
        let Ok(parsed) = &f.parsed else { continue };
        for v in &parsed.values {
            let in_group = v.group == "key_manager" || v.group == "keymgr";
            if in_group && v.key == "fixed_key" && !v.value.trim().is_empty() {
                found.push(Found {
                    file: f.path.display().to_string(),
                    line: v.line,
                    group: v.group.clone(),
                    fingerprint: key_fingerprint(&v.value),
                });
            }
        }
    }
    if found.is_empty() {
        return observation(
            p,
            Status::Pass,
            format!(
                "no fixed_key with a value in [key_manager] or [keymgr] of the {} files {} reads",
                p.config.files.len(),
                p.program.name
            ),
        )
        .var("files", "");
    }
    let served = match effective_fixed_key(p) {
        Some(_) => match backend(&p.config).map(|(v, _)| resolve(&v)) {
            Some(Backend::Conf) => "; in effect: ConfKeyManager encrypts with it",
            _ => "; in effect: castellan's MigrationKeyManager still serves it for key id 00000000-0000-0000-0000-000000000000",
        },
        None => "; not in effect, but the key is on disk",
    };
    let listed: Vec<String> = found
        .iter()
        .map(|k| {
            format!(
                "{} in [{}] at {}:{}",
                k.fingerprint, k.group, k.file, k.line
            )
        })
        .collect();
    let files: Vec<String> = found
        .iter()
        .map(|k| format!("{}:{}", k.file, k.line))
        .collect();
    let evidence: Vec<serde_json::Value> = found
        .iter()
        .map(|k| {
            serde_json::json!({
                "file": k.file,
                "line": k.line,
                "group": k.group,
                "fingerprint": k.fingerprint,
            })
        })
        .collect();
    observation(
        p,
        Status::Fail,
        format!(
            "{} reads a fixed key: {}{served}",
            p.program.name,
            listed.join(", ")
        ),
    )
    .var("files", files.join(", "))
    .ev("fixed_keys", evidence)
}

/// The effective, non-empty `fixed_key` (its file index): `[key_manager]`,
/// and `[keymgr]` for nova and cinder, newest file first.
fn effective_fixed_key(p: &ProgramConfig) -> Option<usize> {
    let groups: &[&str] = if p.service() == "glance" {
        &["key_manager"]
    } else {
        &["key_manager", "keymgr"]
    };
    for (i, f) in p.config.files.iter().enumerate().rev() {
        let Ok(parsed) = &f.parsed else { continue };
        for g in groups {
            if let Some(v) = parsed.get_all(g, "fixed_key").pop() {
                return (!v.value.trim().is_empty()).then_some(i);
            }
        }
    }
    None
}

/// `sha256:` + 12 hex of the hex-decoded key (nova's and cinder's
/// ConfKeyManager `binascii.unhexlify` it); a value that is not hex is
/// fingerprinted as text, marked `not-hex:`. Never the value itself.
pub fn key_fingerprint(value: &str) -> String {
    match unhex(value) {
        Some(bytes) => crate::barbican::kek::fingerprint(&bytes),
        None => format!(
            "not-hex:{}",
            crate::barbican::kek::fingerprint(value.as_bytes())
        ),
    }
}

/// `binascii.unhexlify`: an even number of hex digits, nothing else.
fn unhex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks(2)
        .map(|pair| {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_spellings() {
        assert!(matches!(resolve("barbican"), Backend::Loads(_)));
        assert!(matches!(resolve("vault"), Backend::Loads(_)));
        assert!(matches!(
            resolve("castellan.key_manager.barbican_key_manager.BarbicanKeyManager"),
            Backend::Loads(_)
        ));
        assert!(matches!(
            resolve("nova.keymgr.conf_key_mgr.ConfKeyManager"),
            Backend::Conf
        ));
        assert!(matches!(resolve("ConfKeyManager"), Backend::Conf));
        assert!(matches!(resolve("Barbican"), Backend::WouldNotLoad));
        assert!(matches!(
            resolve("nova.keymgr.barbican.BarbicanKeyManager"),
            Backend::WouldNotLoad
        ));
    }

    #[test]
    fn fingerprint_of_the_decoded_key() {
        // sha256 of the bytes 00 01 ff.
        let fp = key_fingerprint("0001ff");
        assert_eq!(fp, crate::barbican::kek::fingerprint(&[0, 1, 0xff]));
        assert!(key_fingerprint("0001f").starts_with("not-hex:sha256:"));
        assert!(key_fingerprint("zz").starts_with("not-hex:"));
    }
}
