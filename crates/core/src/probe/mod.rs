//! Probes: Rust code that observes the host for a check. The TOML names a
//! probe kind and its parameters; [`validate`] turns the parameters into a
//! typed [`ProbeSpec`] (unknown kind or parameter = lint error), and
//! [`run`] returns one [`Observation`] per subject.
pub mod config_loads;
pub mod config_shadowing;
pub mod file_metadata;
pub mod kek_in_config;
pub mod kek_published;
pub mod kek_scan;
pub mod keystone_tls;
pub mod paste_authtoken;
pub mod policy_creator;
pub mod secret_backend;
pub mod service_env;

use std::collections::BTreeMap;

use crate::barbican::{version::Installed, Config, EffectiveFiles};
use crate::host::Host;
use crate::report::Status;

/// What the probes share for one run: computed once, read by every check.
#[derive(Debug)]
pub struct Context<'a> {
    /// The rooted host.
    pub host: &'a Host,
    /// What `barbican` (API and plugins) reads.
    pub config: Config,
    /// What barbican-worker, -keystone-listener and -retry read besides.
    pub prog_configs: Vec<Config>,
    /// Every file Barbican reads.
    pub files: EffectiveFiles,
    /// Installed Barbican, if any.
    pub installed: Installed,
    /// The paste file Barbican serves, if any.
    pub api: Option<crate::barbican::api::Api>,
    /// Barbican's systemd service units with their effective environment.
    pub units: Vec<crate::barbican::systemd::Unit>,
    /// The disk scan to run for BAR-013 (`None`: not requested).
    pub scan: Option<ScanRequest>,
    /// What the scan covered, once it ran (for the report and metrics).
    pub scan_summary: std::sync::OnceLock<crate::report::ScanSummary>,
    /// Problems with the scan cache, for the report's warnings.
    pub scan_warnings: std::sync::OnceLock<Vec<String>>,
    /// Inputs that could not be read or parsed: every check judging one of
    /// them says `error` naming it (see [`inputs`] and [`gate`]).
    pub problems: Vec<InputProblem>,
}

/// A kind of input the checks judge, for failing closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// What `barbican` (API and plugins) reads: barbican.conf, barbican.conf.d.
    Config,
    /// What barbican-worker, -keystone-listener and -retry read besides.
    ProgConfig,
    /// The policy files and policy directories.
    Policy,
    /// The paste file served, and what names it (uwsgi, gunicorn units).
    Paste,
    /// Barbican's systemd units, drop-ins and EnvironmentFiles.
    Units,
    /// The root's passwd and group (owner names, the service user's home).
    Users,
}

/// An input that could not be read (or, with `parse`, was read but not
/// understood), named by its in-root path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputProblem {
    /// What kind of input.
    pub input: Input,
    /// In-root path.
    pub path: std::path::PathBuf,
    /// Why (never file content).
    pub reason: String,
    /// Read, but refused by the parser (the check judging the parse itself,
    /// BAR-012, reports these as its own verdict).
    pub parse: bool,
    /// Only these probe kinds read it (one option); `None`: every probe
    /// judging this kind of input.
    pub probes: Option<&'static [&'static str]>,
}

/// The probes that read a boolean option whose value decides a verdict.
fn bool_readers(group: &str, key: &str) -> Option<&'static [&'static str]> {
    match (group, key) {
        ("keystone_authtoken", "insecure") => Some(&[keystone_tls::NAME]),
        ("keystone_authtoken", "delay_auth_decision") | ("DEFAULT", "allow_anonymous_access") => {
            Some(&[paste_authtoken::NAME])
        }
        ("oslo_policy", "enforce_new_defaults") => Some(&[policy_creator::NAME]),
        ("secretstore", "enable_multiple_secret_stores") => Some(&[
            secret_backend::NAME,
            kek_in_config::NAME,
            kek_published::NAME,
            kek_scan::NAME,
        ]),
        _ => None,
    }
}

/// The TOML name of a probe.
pub fn kind_name(spec: &ProbeSpec) -> &'static str {
    match spec {
        ProbeSpec::FileMetadata(_) => file_metadata::NAME,
        ProbeSpec::KekInConfig => kek_in_config::NAME,
        ProbeSpec::KekPublished => kek_published::NAME,
        ProbeSpec::ConfigShadowing => config_shadowing::NAME,
        ProbeSpec::ConfigLoads => config_loads::NAME,
        ProbeSpec::SecretBackend => secret_backend::NAME,
        ProbeSpec::PasteAuthtoken => paste_authtoken::NAME,
        ProbeSpec::KeystoneTls => keystone_tls::NAME,
        ProbeSpec::ServiceEnvironment => service_env::NAME,
        ProbeSpec::PolicyCreator => policy_creator::NAME,
        ProbeSpec::KekScan => kek_scan::NAME,
    }
}

/// How a check treats a problem with one of its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Only `error` findings naming the inputs: whatever the probe would say
    /// rests on a default or on an absence that is not known (BAR-007 would
    /// judge the code default KEK, BAR-008 the default creator rule).
    Replace,
    /// The probe's failures stay (each is a fact about a file that was read),
    /// its passes and n/a go (they claim an absence), errors are added.
    KeepFails,
    /// Everything the probe says stays and errors are added (findings are
    /// per file and each stands on its own, as ownership and mode do).
    Add,
}

/// The inputs a probe judges, and whether parse problems count too.
pub fn inputs(spec: &ProbeSpec) -> (&'static [Input], bool) {
    use Input::*;
    match spec {
        ProbeSpec::FileMetadata(p) => match p.subjects {
            file_metadata::Subjects::ConfigDir => (&[Users], false),
            file_metadata::Subjects::EffectiveFileSet => {
                (&[Config, ProgConfig, Policy, Paste, Users], false)
            }
        },
        ProbeSpec::ConfigLoads => (&[Config, ProgConfig, Paste, Users], false),
        ProbeSpec::KekInConfig | ProbeSpec::KekPublished | ProbeSpec::KekScan => {
            (&[Config, Units, Users], true)
        }
        ProbeSpec::ConfigShadowing => (&[Config, Users], false),
        ProbeSpec::SecretBackend => (&[Config, Units, Users], true),
        ProbeSpec::PasteAuthtoken => (&[Paste, Config, Units, Users], true),
        ProbeSpec::KeystoneTls => (&[Config, Paste, Units, Users], true),
        ProbeSpec::ServiceEnvironment => (&[Units], true),
        ProbeSpec::PolicyCreator => (&[Config, Policy, Units, Users], true),
    }
}

/// How a probe's findings are gated when an input has a problem.
pub fn gate(spec: &ProbeSpec) -> Gate {
    match spec {
        ProbeSpec::KekPublished | ProbeSpec::PolicyCreator => Gate::Replace,
        ProbeSpec::FileMetadata(_) | ProbeSpec::ConfigLoads => Gate::Add,
        ProbeSpec::KekInConfig
        | ProbeSpec::KekScan
        | ProbeSpec::ConfigShadowing
        | ProbeSpec::SecretBackend
        | ProbeSpec::PasteAuthtoken
        | ProbeSpec::KeystoneTls
        | ProbeSpec::ServiceEnvironment => Gate::KeepFails,
    }
}

impl Context<'_> {
    /// The problems with the inputs `spec` judges.
    pub fn problems_for(&self, spec: &ProbeSpec) -> Vec<&InputProblem> {
        // BAR-013 without a scan request only says so; it reads nothing.
        if matches!(spec, ProbeSpec::KekScan) && self.scan.is_none() {
            return Vec::new();
        }
        let (kinds, with_parse) = inputs(spec);
        let mut out: Vec<&InputProblem> = Vec::new();
        for p in &self.problems {
            if kinds.contains(&p.input)
                && (with_parse || !p.parse)
                && p.probes.is_none_or(|only| only.contains(&kind_name(spec)))
                && !out.iter().any(|o| o.path == p.path)
            {
                out.push(p);
            }
        }
        out
    }
}

/// Every input problem of a freshly loaded context.
fn collect_problems(
    host: &Host,
    config: &Config,
    prog_configs: &[Config],
    files: &EffectiveFiles,
    api: Option<&crate::barbican::api::Api>,
    unit_problems: Vec<(std::path::PathBuf, String)>,
) -> Vec<InputProblem> {
    let mut out = Vec::new();
    let mut bad_bools = Vec::new();
    let mut push = |input: Input, path: &std::path::Path, reason: String, parse: bool| {
        out.push(InputProblem {
            input,
            path: path.to_path_buf(),
            reason,
            parse,
            probes: None,
        })
    };
    for (p, why) in &host.users.unreadable {
        push(Input::Users, p, why.clone(), false);
    }
    let progs = prog_configs.iter().map(|c| (Input::ProgConfig, c));
    for (input, cfg) in std::iter::once((Input::Config, config)).chain(progs) {
        for (p, why) in &cfg.problems {
            push(input, p, why.clone(), false);
        }
        for f in &cfg.files {
            match &f.parsed {
                Err(e) => push(input, &f.path, format!("cannot read it: {e}"), false),
                Ok(parsed) => {
                    // A judged boolean oslo.config cannot convert raises
                    // ConfigFileValueError when read: the probes that read it
                    // would judge the default instead of what runs. The value
                    // is never quoted (it may hold a pasted secret).
                    for v in &parsed.values {
                        let Some(probes) = bool_readers(&v.group, &v.key) else {
                            continue;
                        };
                        if crate::barbican::oslo::parse_bool(&v.value).is_none() {
                            bad_bools.push(InputProblem {
                                input,
                                path: f.path.clone(),
                                reason: format!(
                                    "line {}: [{}] {} is not a boolean oslo.config accepts (ConfigFileValueError when read)",
                                    v.line, v.group, v.key
                                ),
                                parse: true,
                                probes: Some(probes),
                            });
                        }
                    }
                    if let Some(e) = &parsed.error {
                        push(
                            input,
                            &f.path,
                            format!(
                                "line {}: {}; oslo.config refuses the whole file, so what it sets is unknown",
                                e.line, e.message
                            ),
                            true,
                        );
                    }
                }
            }
        }
    }
    for (role, p, why) in &files.problems {
        let input = if *role == "paste" {
            Input::Paste
        } else {
            Input::Policy
        };
        push(input, p, why.clone(), false);
    }
    if let Some(api) = api {
        if let Err(e) = &api.parsed {
            let parse = !matches!(e, crate::barbican::api::ApiError::Read(_));
            push(Input::Paste, &api.path, e.to_string(), parse);
        }
    }
    for (p, why) in unit_problems {
        push(Input::Units, &p, why, false);
    }
    out.extend(bad_bools);
    out
}

/// How to run the disk scan (BAR-013).
pub struct ScanRequest {
    /// In-root paths to scan (default `/`).
    pub paths: Vec<std::path::PathBuf>,
    /// Globs to leave out.
    pub excludes: Vec<String>,
    /// Worker threads (0 = cores).
    pub threads: usize,
    /// Only the KEK with this fingerprint (`sha256:...`), if set.
    pub fingerprint: Option<String>,
    /// The scan cache file (`scan --cache`), if any.
    pub cache: Option<std::path::PathBuf>,
    /// Progress callback (files, bytes), e.g. a progress bar.
    pub progress: Box<dyn Fn(u64, u64) + Sync>,
}

impl std::fmt::Debug for ScanRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanRequest")
            .field("paths", &self.paths)
            .field("excludes", &self.excludes)
            .finish()
    }
}

impl<'a> Context<'a> {
    /// Builds the shared view of the host.
    pub fn new(host: &'a Host) -> Context<'a> {
        // Units first: their OS_<GROUP>__<OPT> variables beat every config file.
        let (units, unit_problems) = crate::barbican::systemd::barbican_units_checked(host);
        let env = env_overrides(&units);
        let mut config = Config::load(host, "barbican");
        config.env = env.clone();
        let prog_configs: Vec<Config> = crate::barbican::files::PROGS
            .iter()
            .map(|p| {
                let mut c = Config::load(host, p);
                c.env = env.clone();
                c
            })
            .collect();
        let files = EffectiveFiles::resolve(host, &config, &prog_configs);
        let installed = crate::barbican::version::detect(host);
        let api = crate::barbican::api::Api::load(host, &files);
        let problems = collect_problems(
            host,
            &config,
            &prog_configs,
            &files,
            api.as_ref(),
            unit_problems,
        );
        Context {
            host,
            config,
            prog_configs,
            files,
            installed,
            api,
            units,
            scan: None,
            scan_summary: std::sync::OnceLock::new(),
            scan_warnings: std::sync::OnceLock::new(),
            problems,
        }
    }
}

/// Every `OS_<GROUP>__<OPT>` variable of the barbican units, as oslo.config
/// reads it from the process environment.
fn env_overrides(
    units: &[crate::barbican::systemd::Unit],
) -> Vec<crate::barbican::config::EnvOverride> {
    let mut out = Vec::new();
    for u in units {
        for a in &u.env {
            if let Some((group, key)) = crate::barbican::systemd::oslo_env_option(&a.name) {
                out.push(crate::barbican::config::EnvOverride {
                    group,
                    key,
                    value: a.value.clone(),
                    var: a.name.clone(),
                    file: a.file.clone(),
                    line: a.line,
                });
            }
        }
    }
    out
}

/// One observation about one subject.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// What was judged.
    pub subject: String,
    /// Outcome.
    pub status: Status,
    /// Template variables (always includes `detail`).
    pub vars: BTreeMap<String, String>,
    /// Facts for the report.
    pub evidence: BTreeMap<String, serde_json::Value>,
    /// A lower severity than the check's for this finding (e.g. a foreign
    /// `kek =` found by the scan); `None` = the check's severity.
    pub severity: Option<crate::report::Severity>,
}

impl Observation {
    /// An observation with `subject` and `detail` set.
    pub fn new(
        subject: impl Into<String>,
        status: Status,
        detail: impl Into<String>,
    ) -> Observation {
        let subject = subject.into();
        let mut vars = BTreeMap::new();
        vars.insert("subject".to_string(), subject.clone());
        vars.insert("detail".to_string(), detail.into());
        Observation {
            subject,
            status,
            vars,
            evidence: BTreeMap::new(),
            severity: None,
        }
    }

    /// Adds a template variable.
    pub fn var(mut self, k: &str, v: impl Into<String>) -> Observation {
        self.vars.insert(k.to_string(), v.into());
        self
    }

    /// Adds an evidence entry.
    pub fn ev(mut self, k: &str, v: impl Into<serde_json::Value>) -> Observation {
        self.evidence.insert(k.to_string(), v.into());
        self
    }
}

/// A validated probe with its parameters.
#[derive(Debug, Clone)]
pub enum ProbeSpec {
    /// Ownership, mode and ACL of files or directories.
    FileMetadata(file_metadata::Params),
    /// Plaintext `kek` in config files (BAR-006).
    KekInConfig,
    /// Effective KEK is a published value (BAR-007).
    KekPublished,
    /// Shadowing barbican.conf, overriding conf.d files (BAR-009).
    ConfigShadowing,
    /// Config files load as oslo.config loads them (BAR-012).
    ConfigLoads,
    /// Transport and credentials of the secret backends (BAR-010).
    SecretBackend,
    /// Authtoken in every served /v1 chain (BAR-004).
    PasteAuthtoken,
    /// TLS to Keystone (BAR-005).
    KeystoneTls,
    /// Secrets through the service environment (BAR-011).
    ServiceEnvironment,
    /// member may act as creator (BAR-008).
    PolicyCreator,
    /// Copies of the KEK on disk (BAR-013).
    KekScan,
}

/// Every probe kind by its TOML name (the registry).
pub const KINDS: &[&str] = &[
    file_metadata::NAME,
    kek_in_config::NAME,
    kek_published::NAME,
    config_shadowing::NAME,
    config_loads::NAME,
    secret_backend::NAME,
    paste_authtoken::NAME,
    keystone_tls::NAME,
    service_env::NAME,
    policy_creator::NAME,
    kek_scan::NAME,
];

/// Probes without parameters refuse any key.
fn no_params(kind: &str, params: &toml::Table, spec: ProbeSpec) -> Result<ProbeSpec, String> {
    match params.keys().next() {
        Some(k) => Err(format!("probe {kind} takes no parameters (found {k:?})")),
        None => Ok(spec),
    }
}

/// Validates `[probe.<kind>]` parameters.
pub fn validate(kind: &str, params: toml::Table) -> Result<ProbeSpec, String> {
    match kind {
        file_metadata::NAME => file_metadata::Params::validate(params).map(ProbeSpec::FileMetadata),
        kek_in_config::NAME => no_params(kind, &params, ProbeSpec::KekInConfig),
        kek_published::NAME => no_params(kind, &params, ProbeSpec::KekPublished),
        config_shadowing::NAME => no_params(kind, &params, ProbeSpec::ConfigShadowing),
        config_loads::NAME => no_params(kind, &params, ProbeSpec::ConfigLoads),
        secret_backend::NAME => no_params(kind, &params, ProbeSpec::SecretBackend),
        paste_authtoken::NAME => no_params(kind, &params, ProbeSpec::PasteAuthtoken),
        keystone_tls::NAME => no_params(kind, &params, ProbeSpec::KeystoneTls),
        service_env::NAME => no_params(kind, &params, ProbeSpec::ServiceEnvironment),
        policy_creator::NAME => no_params(kind, &params, ProbeSpec::PolicyCreator),
        kek_scan::NAME => no_params(kind, &params, ProbeSpec::KekScan),
        other => Err(format!(
            "unknown probe {other:?} (known: {})",
            KINDS.join(", ")
        )),
    }
}

/// Template variables a probe provides.
pub fn vars(spec: &ProbeSpec) -> &'static [&'static str] {
    match spec {
        ProbeSpec::FileMetadata(_) => file_metadata::VARS,
        ProbeSpec::KekInConfig => kek_in_config::VARS,
        ProbeSpec::KekPublished => kek_published::VARS,
        ProbeSpec::ConfigShadowing => config_shadowing::VARS,
        ProbeSpec::ConfigLoads => config_loads::VARS,
        ProbeSpec::SecretBackend => secret_backend::VARS,
        ProbeSpec::PasteAuthtoken => paste_authtoken::VARS,
        ProbeSpec::KeystoneTls => keystone_tls::VARS,
        ProbeSpec::ServiceEnvironment => service_env::VARS,
        ProbeSpec::PolicyCreator => policy_creator::VARS,
        ProbeSpec::KekScan => kek_scan::VARS,
    }
}

/// Variables a probe fills itself and that are safe to paste unquoted into
/// a shell command (everything else is shell-quoted in remediation).
pub fn raw_vars(spec: &ProbeSpec) -> &'static [&'static str] {
    match spec {
        ProbeSpec::FileMetadata(_) => file_metadata::RAW_VARS,
        ProbeSpec::SecretBackend => secret_backend::RAW_VARS,
        ProbeSpec::ServiceEnvironment => service_env::RAW_VARS,
        ProbeSpec::KekScan => kek_scan::RAW_VARS,
        // These checks' remediation is prose naming a file or option, not a
        // command line: quoting would only garble it.
        ProbeSpec::KekInConfig
        | ProbeSpec::KekPublished
        | ProbeSpec::ConfigShadowing
        | ProbeSpec::ConfigLoads
        | ProbeSpec::PasteAuthtoken
        | ProbeSpec::KeystoneTls
        | ProbeSpec::PolicyCreator => vars(spec),
    }
}

/// Runs a probe.
pub fn run(spec: &ProbeSpec, ctx: &Context<'_>) -> Vec<Observation> {
    match spec {
        ProbeSpec::FileMetadata(p) => file_metadata::run(p, ctx),
        ProbeSpec::KekInConfig => kek_in_config::run(ctx),
        ProbeSpec::KekPublished => kek_published::run(ctx),
        ProbeSpec::ConfigShadowing => config_shadowing::run(ctx),
        ProbeSpec::ConfigLoads => config_loads::run(ctx),
        ProbeSpec::SecretBackend => secret_backend::run(ctx),
        ProbeSpec::PasteAuthtoken => paste_authtoken::run(ctx),
        ProbeSpec::KeystoneTls => keystone_tls::run(ctx),
        ProbeSpec::ServiceEnvironment => service_env::run(ctx),
        ProbeSpec::PolicyCreator => policy_creator::run(ctx),
        ProbeSpec::KekScan => kek_scan::run(ctx),
    }
}
