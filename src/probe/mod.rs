//! Probes: Rust code that observes the host for a check. The TOML names a
//! probe kind and its parameters; [`validate`] turns the parameters into a
//! typed [`ProbeSpec`] (unknown kind or parameter = lint error), and
//! [`run`] returns one [`Observation`] per subject.
pub mod file_metadata;

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
    /// Every file Barbican reads.
    pub files: EffectiveFiles,
    /// Installed Barbican, if any.
    pub installed: Installed,
}

impl<'a> Context<'a> {
    /// Builds the shared view of the host.
    pub fn new(host: &'a Host) -> Context<'a> {
        let config = Config::load(host, "barbican");
        let files = EffectiveFiles::resolve(host, &config);
        let installed = crate::barbican::version::detect(host);
        Context {
            host,
            config,
            files,
            installed,
        }
    }
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
}

/// A validated probe with its parameters.
#[derive(Debug, Clone)]
pub enum ProbeSpec {
    /// Ownership, mode and ACL of files or directories.
    FileMetadata(file_metadata::Params),
}

/// Every probe kind by its TOML name (the registry).
pub const KINDS: &[&str] = &[file_metadata::NAME];

/// Validates `[probe.<kind>]` parameters.
pub fn validate(kind: &str, params: toml::Table) -> Result<ProbeSpec, String> {
    match kind {
        file_metadata::NAME => file_metadata::Params::validate(params).map(ProbeSpec::FileMetadata),
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
    }
}

/// Variables a probe fills itself and that are safe to paste unquoted into
/// a shell command (everything else is shell-quoted in remediation).
pub fn raw_vars(spec: &ProbeSpec) -> &'static [&'static str] {
    match spec {
        ProbeSpec::FileMetadata(_) => file_metadata::RAW_VARS,
    }
}

/// Runs a probe.
pub fn run(spec: &ProbeSpec, ctx: &Context<'_>) -> Vec<Observation> {
    match spec {
        ProbeSpec::FileMetadata(p) => file_metadata::run(p, ctx),
    }
}
