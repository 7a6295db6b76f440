//! `[probe.octavia-cert-manager]` (KMC-010), `[probe.octavia-barbican-tls]`
//! (KMC-011) and `[probe.octavia-passphrase]` (KMC-012): how Octavia keeps
//! the TLS certificates of its load balancers, per installed octavia program,
//! judged on the files it reads and its systemd unit's environment.
//!
//! octavia 11.0.0 (Debian bookworm), `octavia/common/config.py:601-627`:
//! `[certificates] cert_manager` (default `barbican_cert_manager`) is a
//! stevedore name of `octavia.cert_manager` (`barbican_cert_manager`,
//! `castellan_cert_manager`, `local_cert_manager`; anything else raises
//! NoMatches); `barbican_auth` one of `octavia.barbican_auth` (only
//! `barbican_acl_auth`). BarbicanACLAuth's service client uses the
//! `[service_auth]` keystoneauth session (`insecure`), its per-user client
//! `Session(verify=[certificates] ca_certificates_file)`;
//! `[certificates] insecure` is registered and never read (F16).
//! `castellan_cert_manager` uses castellan's key manager (KMC-001's
//! resolution) and hands it a context class castellan's Barbican manager
//! refuses (F17). `[certificates] server_certs_key_passphrase`
//! (`octavia/certificates/common/local.py:32-62`) defaults to
//! `$TLS_PASS_AMPS_DEFAULT` or the published `insecure-key-do-not-use-this-key`
//! and must match `^[A-Za-z0-9\-_=]{32}$` (an invalid environment default
//! fails at import: oslo.config checks defaults, `cfg.py:607-613`).
//! oslo.config reads `OS_<GROUP>__<OPT>` from the environment before any file.
//! The verdicts were confirmed with Debian's octavia and castellan
//! (tests/confirm/consumers_confirm.py, tests/consumers_confirm.rs).
use std::path::{Path, PathBuf};

use super::key_manager::judge_backend;
use super::{Decl, Facts, FixStyle, Gate, Input, Observation, Observed, Params, Probe, Reads, Var};
use crate::barbican::config::{Config, Effective, Source};
use crate::barbican::oslo::parse_bool;
use crate::barbican::systemd::{Assignment, Unit, Via};
use crate::consumers::{ProgramConfig, OCTAVIA};
use crate::host::Host;
use crate::report::Status;

/// Octavia keeps its certificates in Barbican (KMC-010).
pub struct CertManager;
/// Octavia's Barbican client verifies TLS (KMC-011).
pub struct BarbicanTls;
/// The amphora certificate passphrase is not the published default (KMC-012).
pub struct Passphrase;

/// The passphrase octavia uses when neither a file nor the environment sets one.
const PUBLISHED_PASSPHRASE: &str = "insecure-key-do-not-use-this-key";

/// One octavia program as it runs: the files it reads, with its unit's
/// `OS_<GROUP>__<OPT>` variables as oslo.config's environment source, and
/// what the auditor could not read of either.
pub struct OctaviaProgram<'a> {
    /// The program (its `config.env` holds the unit's oslo.config variables).
    pub program: ProgramConfig,
    /// The root, for the paths the options name.
    pub host: &'a Host,
    /// Its unit's whole environment (`TLS_PASS_AMPS_DEFAULT`).
    pub unit_env: Vec<Assignment>,
    /// Inputs that could not be read or parsed: what runs is unknown.
    pub problems: Vec<(PathBuf, String)>,
}

impl<'a> OctaviaProgram<'a> {
    /// `p` with the environment of its unit `<program>.service` (if any) from
    /// `units`; `unlistable` are the unit directories that could not be read.
    pub fn new(
        host: &'a Host,
        p: &ProgramConfig,
        units: &[Unit],
        unlistable: &[(PathBuf, String)],
    ) -> OctaviaProgram<'a> {
        let unit_name = format!("{}.service", p.program.name);
        let unit = units.iter().find(|u| u.name == unit_name);
        let unit_env: Vec<Assignment> = unit.map(|u| u.env.clone()).unwrap_or_default();
        let mut config: Config = p.config.clone();
        config.env = unit_env
            .iter()
            .filter_map(super::facts::env_override)
            .collect();
        let mut problems: Vec<(PathBuf, String)> = config.problems.clone();
        for f in &config.files {
            match &f.parsed {
                Err(e) => problems.push((f.path.clone(), format!("cannot read it: {e}"))),
                Ok(parsed) => {
                    if let Some(e) = &parsed.error {
                        problems.push((
                            f.path.clone(),
                            format!(
                                "line {}: {}; oslo.config refuses the whole file",
                                e.line, e.message
                            ),
                        ));
                    }
                }
            }
        }
        problems.extend(unlistable.iter().cloned());
        if let Some(u) = unit {
            problems.extend(u.unreadable.iter().cloned());
        }
        OctaviaProgram {
            program: ProgramConfig {
                program: p.program,
                found_by: p.found_by.clone(),
                config,
            },
            host,
            unit_env,
            problems,
        }
    }

    fn name(&self) -> &'static str {
        self.program.program.name
    }

    fn effective(&self, group: &str, key: &str) -> Option<Effective> {
        self.program.config.effective(group, key)
    }

    /// `error` naming what could not be read, if anything.
    fn unreadable(&self) -> Option<Observation> {
        let (path, why) = self.problems.first()?;
        Some(self.observation(
            Status::Error,
            format!(
                "{} cannot be judged: {}: {why}",
                self.name(),
                path.display()
            ),
        ))
    }

    fn observation(&self, status: Status, detail: String) -> Observation {
        let p = &self.program;
        Observation::new(p.program.name, status, detail)
            .var("program", p.program.name)
            .var("service", p.service())
            .var("main_file", p.program.service.main)
            .ev("found_by", p.found_by.clone())
            .ev(
                "files_read",
                p.config
                    .files
                    .iter()
                    .map(|f| f.path.display().to_string())
                    .collect::<Vec<_>>(),
            )
    }
}

/// An option's value and where it came from (`code default` when unset).
fn value_at(o: &OctaviaProgram<'_>, group: &str, key: &str, default: &str) -> (String, String) {
    match o.effective(group, key) {
        Some(e) => (
            e.raw.trim().to_string(),
            format!("[{group}] {} at {}", e.name, e.source),
        ),
        None => (default.to_string(), "code default".to_string()),
    }
}

/// What `[certificates] cert_manager` makes of the program.
enum Manager {
    /// barbican_cert_manager with barbican_acl_auth.
    Barbican(String),
    /// castellan_cert_manager whose castellan backend is Barbican.
    CastellanBarbican(String),
    /// Certificates kept elsewhere than Barbican (local disk, Vault, a fixed key).
    Elsewhere(String),
    /// Octavia would not load its certificate manager.
    Broken(String),
}

fn manager(o: &OctaviaProgram<'_>) -> Manager {
    let (value, at) = value_at(o, "certificates", "cert_manager", "barbican_cert_manager");
    let name = o.name();
    match value.as_str() {
        "barbican_cert_manager" => {
            let (auth, auth_at) = value_at(o, "certificates", "barbican_auth", "barbican_acl_auth");
            if auth == "barbican_acl_auth" {
                Manager::Barbican(format!(
                    "{name} keeps TLS certificates in Barbican (barbican_cert_manager from {at})"
                ))
            } else {
                Manager::Broken(format!(
                    "{name}'s certificate manager would not load: barbican_auth \
                     {auth:?} (from {auth_at}) is not an octavia.barbican_auth name \
                     (barbican_acl_auth; stevedore NoMatches)"
                ))
            }
        }
        "castellan_cert_manager" => {
            let km = judge_backend(&o.program);
            let class = km
                .evidence
                .get("class")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string();
            match km.status {
                Status::Pass if class.ends_with("BarbicanKeyManager") => {
                    Manager::CastellanBarbican(format!(
                        "{name} keeps TLS certificates in Barbican through castellan \
                         (castellan_cert_manager from {at}, key manager {class}); note: octavia 11 \
                         hands castellan its own context class, which castellan's Barbican \
                         manager refuses (Forbidden), so certificates cannot be fetched this way \
                         until that is fixed: barbican_cert_manager works"
                    ))
                }
                Status::Error => Manager::Broken(format!(
                    "castellan_cert_manager (from {at}): {}",
                    km.vars.get("detail").map_or("", String::as_str)
                )),
                _ => Manager::Elsewhere(format!(
                    "{name} keeps TLS certificates and keys through castellan's {} \
                     (castellan_cert_manager from {at}), not in Barbican",
                    if class.is_empty() {
                        "ConfKeyManager".to_string()
                    } else {
                        class
                    }
                )),
            }
        }
        "local_cert_manager" => Manager::Elsewhere(format!(
            "{name} keeps TLS certificates and private keys as files on the controller's disk \
             (local_cert_manager from {at}), not in Barbican"
        )),
        _ => Manager::Broken(format!(
            "{name}'s certificate manager would not load: cert_manager {value:?} \
             (from {at}) is not an octavia.cert_manager name (barbican_cert_manager, \
             castellan_cert_manager, local_cert_manager; stevedore NoMatches)"
        )),
    }
}

/// The program variables every octavia observation sets.
const VARS: &[Var] = &[
    Var::SUBJECT,
    Var::DETAIL,
    Var::quoted(
        "program",
        "the octavia program judged (octavia-worker, octavia-api)",
    ),
    Var::quoted("service", "its service (octavia)"),
    Var::quoted("main_file", "octavia's main config file"),
];

/// The octavia programs installed, with their units' environment.
fn programs<'a>(facts: &Facts<'a>) -> Vec<OctaviaProgram<'a>> {
    let ours: Vec<&ProgramConfig> =
        crate::consumers::of_service(facts.consumers(), &OCTAVIA).collect();
    if ours.is_empty() {
        return Vec::new();
    }
    let (units, unlistable) = crate::barbican::systemd::units_checked(facts.host, "octavia");
    ours.into_iter()
        .map(|p| OctaviaProgram::new(facts.host, p, &units, &unlistable))
        .collect()
}

/// What an octavia probe reads besides what it judges itself: the root's
/// passwd (the octavia user's home is a search directory) where octavia is
/// installed. Its own config files and unit files are judged per program
/// in `observe` (an unreadable nova.conf says nothing about octavia).
fn octavia_reads(facts: &Facts<'_>) -> Reads {
    let installed = crate::consumers::of_service(facts.consumers(), &OCTAVIA)
        .next()
        .is_some();
    Reads {
        inputs: if installed { &[Input::Users] } else { &[] },
        parse: false,
    }
}

static CERT_MANAGER: Decl = Decl {
    name: "octavia-cert-manager",
    doc: "per octavia program, where [certificates] cert_manager keeps load balancers' TLS certificates and keys",
    vars: VARS,
    fix_style: FixStyle::Prose,
    // with the users when octavia is installed (`octavia_reads`); config and
    // unit files are judged per program
    inputs: &[Input::Users],
    parse: false,
    gate: Gate::Replace,
    judged_bools: &[],
};

impl Probe for CertManager {
    fn decl(&self) -> &'static Decl {
        &CERT_MANAGER
    }

    fn reads(&self, _: &Params, facts: &Facts<'_>) -> Reads {
        octavia_reads(facts)
    }

    fn observe(&self, _: &Params, facts: &Facts<'_>) -> Observed {
        programs(facts)
            .iter()
            .map(judge_cert_manager)
            .collect::<Vec<_>>()
            .into()
    }
}

/// KMC-010 for one program.
pub fn judge_cert_manager(o: &OctaviaProgram<'_>) -> Observation {
    if let Some(e) = o.unreadable() {
        return e;
    }
    match manager(o) {
        Manager::Barbican(d) | Manager::CastellanBarbican(d) => o.observation(Status::Pass, d),
        Manager::Elsewhere(d) => o.observation(Status::Fail, d),
        Manager::Broken(d) => o.observation(Status::Error, d),
    }
}

static BARBICAN_TLS: Decl = Decl {
    name: "octavia-barbican-tls",
    doc: "per octavia program whose certificate manager is Barbican, whether its Barbican clients verify TLS",
    vars: VARS,
    fix_style: FixStyle::Prose,
    inputs: &[Input::Users],
    parse: false,
    gate: Gate::Replace,
    judged_bools: &[],
};

impl Probe for BarbicanTls {
    fn decl(&self) -> &'static Decl {
        &BARBICAN_TLS
    }

    fn reads(&self, _: &Params, facts: &Facts<'_>) -> Reads {
        octavia_reads(facts)
    }

    fn observe(&self, _: &Params, facts: &Facts<'_>) -> Observed {
        programs(facts)
            .iter()
            .map(judge_barbican_tls)
            .collect::<Vec<_>>()
            .into()
    }
}

/// One part of KMC-011's verdict.
enum Part {
    Ok,
    Fail(String),
    Error(String),
}

/// A boolean option that decides the verdict; an unconvertible value is
/// what oslo.config refuses (ConfigFileValueError). The value is never quoted.
fn bool_opt(
    o: &OctaviaProgram<'_>,
    group: &str,
    key: &str,
    default: bool,
) -> Result<(bool, String), String> {
    match o.effective(group, key) {
        None => Ok((default, "code default".to_string())),
        Some(e) => match parse_bool(&e.raw) {
            Some(b) => Ok((b, e.source.to_string())),
            None => Err(format!(
                "[{group}] {key} at {} is not a boolean oslo.config accepts (ConfigFileValueError when read)",
                e.source
            )),
        },
    }
}

/// A CA path option: set and missing fails, unknown is an error. An empty
/// value: `empty_disables` for octavia's per-user client, which hands it to
/// keystoneauth as `Session(verify='')`; requests treats the empty string as
/// false and skips verification (`adapters.py` `cert_verify`, checked with
/// Debian's python3-requests 2.28 and keystoneauth1 5.0). castellan uses
/// `verify_ssl and verify_ssl_path or verify_ssl`, so an empty path is True.
fn ca_path(o: &OctaviaProgram<'_>, group: &str, key: &str, empty_disables: bool) -> Part {
    let Some(e) = o.effective(group, key) else {
        return Part::Ok;
    };
    let path = e.raw.trim();
    if path.is_empty() {
        if empty_disables {
            return Part::Fail(format!(
                "[{group}] {key} is set empty (at {}): keystoneauth passes verify='' to requests, \
                 which then skips certificate verification for the per-user Barbican client",
                e.source
            ));
        }
        return Part::Ok;
    }
    match o.host.exists_checked(Path::new(path)) {
        Ok(true) => Part::Ok,
        Ok(false) => Part::Fail(format!(
            "[{group}] {key} = {path} (from {}) does not exist: the Barbican client cannot load its CA bundle, so TLS to Barbican fails",
            e.source
        )),
        Err(err) => Part::Error(format!(
            "[{group}] {key} = {path} (from {}) cannot be checked: {err}",
            e.source
        )),
    }
}

/// The CA a client verifies against, in words (for a pass).
fn ca_named(o: &OctaviaProgram<'_>, group: &str, key: &str) -> String {
    match o.effective(group, key) {
        Some(e) if !e.raw.trim().is_empty() => {
            format!("{} ([{group}] {key} at {})", e.raw.trim(), e.source)
        }
        _ => format!("the system CAs ([{group}] {key} unset)"),
    }
}

/// KMC-011 for one program.
pub fn judge_barbican_tls(o: &OctaviaProgram<'_>) -> Observation {
    if let Some(e) = o.unreadable() {
        return e;
    }
    let name = o.name();
    let mut parts: Vec<Part> = Vec::new();
    let via = match manager(o) {
        Manager::Elsewhere(d) => {
            return o.observation(
                Status::Na,
                format!("{d}: no Barbican client to judge (KMC-010)"),
            )
        }
        Manager::Broken(d) => return o.observation(Status::Error, d),
        Manager::Barbican(_) => {
            match bool_opt(o, "service_auth", "insecure", false) {
                Ok((true, at)) => parts.push(Part::Fail(format!(
                    "[service_auth] insecure = true (from {at}): the service's Barbican client skips certificate verification"
                ))),
                Ok(_) => parts.push(Part::Ok),
                Err(e) => parts.push(Part::Error(e)),
            }
            parts.push(ca_path(o, "certificates", "ca_certificates_file", true));
            format!(
                "barbican_cert_manager: [service_auth] insecure is not true; the per-user \
                 client verifies against {}",
                ca_named(o, "certificates", "ca_certificates_file")
            )
        }
        Manager::CastellanBarbican(_) => {
            match bool_opt(o, "barbican", "verify_ssl", true) {
                Ok((false, at)) => parts.push(Part::Fail(format!(
                    "[barbican] verify_ssl = false (from {at}): castellan's Barbican client skips certificate verification"
                ))),
                Ok(_) => parts.push(Part::Ok),
                Err(e) => parts.push(Part::Error(e)),
            }
            parts.push(ca_path(o, "barbican", "verify_ssl_path", false));
            format!(
                "castellan_cert_manager: [barbican] verify_ssl is not false; castellan verifies \
                 against {}",
                ca_named(o, "barbican", "verify_ssl_path")
            )
        }
    };
    let dead = match bool_opt(o, "certificates", "insecure", false) {
        Ok((true, at)) => format!(
            "; [certificates] insecure = true (from {at}) is ignored: octavia 11 never reads it"
        ),
        _ => String::new(),
    };
    let errors: Vec<&String> = parts
        .iter()
        .filter_map(|p| match p {
            Part::Error(s) => Some(s),
            _ => None,
        })
        .collect();
    let fails: Vec<&String> = parts
        .iter()
        .filter_map(|p| match p {
            Part::Fail(s) => Some(s),
            _ => None,
        })
        .collect();
    if !errors.is_empty() {
        let all: Vec<&str> = errors.iter().chain(&fails).map(|s| s.as_str()).collect();
        return o.observation(Status::Error, format!("{name}: {}{dead}", all.join("; ")));
    }
    if !fails.is_empty() {
        let all: Vec<&str> = fails.iter().map(|s| s.as_str()).collect();
        return o.observation(Status::Fail, format!("{name}: {}{dead}", all.join("; ")));
    }
    o.observation(
        Status::Pass,
        format!("{name} verifies Barbican's TLS certificate ({via}){dead}"),
    )
}

static PASSPHRASE: Decl = Decl {
    name: "octavia-passphrase",
    doc: "per octavia program, the [certificates] server_certs_key_passphrase in effect (files, unit environment, default), by fingerprint",
    vars: VARS,
    fix_style: FixStyle::Prose,
    inputs: &[Input::Users],
    parse: false,
    gate: Gate::Replace,
    judged_bools: &[],
};

impl Probe for Passphrase {
    fn decl(&self) -> &'static Decl {
        &PASSPHRASE
    }

    fn reads(&self, _: &Params, facts: &Facts<'_>) -> Reads {
        octavia_reads(facts)
    }

    fn observe(&self, _: &Params, facts: &Facts<'_>) -> Observed {
        programs(facts)
            .iter()
            .map(judge_passphrase)
            .collect::<Vec<_>>()
            .into()
    }
}

/// The option's regex, `^[A-Za-z0-9\-_=]{32}$`.
fn passphrase_valid(v: &str) -> bool {
    v.len() == 32
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'='))
}

/// KMC-012 for one program. The passphrase is shown by fingerprint only.
pub fn judge_passphrase(o: &OctaviaProgram<'_>) -> Observation {
    if let Some(e) = o.unreadable() {
        return e;
    }
    let name = o.name();
    let fp = |v: &str| crate::barbican::kek::fingerprint(v.as_bytes());
    // The default octavia computes at import: the unit's TLS_PASS_AMPS_DEFAULT
    // (the last assignment wins), else the published value.
    let env_default = o
        .unit_env
        .iter()
        .rev()
        .find(|a| a.name == "TLS_PASS_AMPS_DEFAULT");
    if let Some(a) = env_default {
        if !passphrase_valid(&a.value) {
            return o
                .observation(
                    Status::Error,
                    format!(
                        "{name} would not start: TLS_PASS_AMPS_DEFAULT ({}, {} characters) at {}:{} \
                         does not match ^[A-Za-z0-9\\-_=]{{32}}$, and oslo.config checks the \
                         option's default when octavia registers it (DefaultValueError)",
                        fp(&a.value),
                        a.value.chars().count(),
                        a.file.display(),
                        a.line
                    ),
                )
                .ev("fingerprint", fp(&a.value));
        }
    }
    let effective = o.effective("certificates", "server_certs_key_passphrase");
    // The unit assignment the value comes from, if it comes from the environment.
    let from_env: Option<&Assignment> = match &effective {
        Some(Effective {
            source: Source::Env { var, .. },
            ..
        }) => o.unit_env.iter().rev().find(|a| &a.name == var),
        Some(_) => None,
        None => env_default,
    };
    let (value, at) = match effective {
        Some(e) => (e.raw, format!("{}", e.source)),
        None => match env_default {
            Some(a) => (
                a.value.clone(),
                format!("TLS_PASS_AMPS_DEFAULT in {}:{}", a.file.display(), a.line),
            ),
            None => (PUBLISHED_PASSPHRASE.to_string(), "code default".to_string()),
        },
    };
    // Not a verdict of its own (BAR-011 judges Barbican's units), but worth saying.
    let exposed = match from_env {
        Some(a) if a.via == Via::Environment => format!(
            "; it is set with Environment= at {}:{}, which any local user can read (unit files \
             are world-readable, systemctl show prints it): a root-only EnvironmentFile= or \
             octavia.conf keeps it",
            a.file.display(),
            a.line
        ),
        _ => String::new(),
    };
    let f = fp(&value);
    let (status, detail) = if value == PUBLISHED_PASSPHRASE {
        (
            Status::Fail,
            format!(
                "{name} encrypts amphora certificates and keys with octavia's published default \
                 passphrase ({f}, from {at}): anyone with a copy of them can decrypt them"
            ),
        )
    } else if !passphrase_valid(&value) {
        (
            Status::Error,
            format!(
                "{name}'s [certificates] server_certs_key_passphrase ({f}, {} characters, from \
                 {at}) does not match ^[A-Za-z0-9\\-_=]{{32}}$: oslo.config refuses it when read",
                value.chars().count()
            ),
        )
    } else {
        (
            Status::Pass,
            format!("{name}'s amphora certificate passphrase is {f} (from {at}), not the published default"),
        )
    };
    o.observation(status, format!("{detail}{exposed}"))
        .ev("fingerprint", f)
        .ev("set_at", at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passphrase_regex() {
        assert!(passphrase_valid(PUBLISHED_PASSPHRASE));
        assert!(passphrase_valid("AbCdEfGhIjKlMnOpQrStUvWxYz012-_="));
        assert!(!passphrase_valid("AbCdEfGhIjKlMnOpQrStUvWxYz012-_"));
        assert!(!passphrase_valid("AbCdEfGhIjKlMnOpQrStUvWxYz012-_=x"));
        assert!(!passphrase_valid("AbCdEfGhIjKlMnOpQrStUvWxYz012-+="));
    }

    #[test]
    fn published_default_fingerprint() {
        // The oracle's server_certs_key_passphrase for octavia-stock-debian.
        assert_eq!(
            crate::barbican::kek::fingerprint(PUBLISHED_PASSPHRASE.as_bytes()),
            "sha256:a52bba070dfe"
        );
    }
}
