//! Probes: Rust code that observes the host for a check. The TOML names a
//! probe by its [`Probe::name`]; [`validate`] finds it in [`PROBES`] and
//! checks its parameters into a [`ProbeSpec`] (unknown probe or parameter =
//! lint error), and [`ProbeSpec::observe`] returns one [`Observation`] per
//! subject, read from the host [`Facts`].
//!
//! Adding a probe: its file (a unit struct implementing [`Probe`]), one
//! `mod` line below and one line in [`PROBES`]. Everything else (the
//! inputs it judges, its gate, its template variables, its parameters) is
//! declared on the probe itself.
pub mod castellan;
pub mod conditions;
pub mod config_loads;
pub mod config_shadowing;
pub mod consumer_files;
mod facts;
pub mod file_metadata;
pub mod kek_in_config;
pub mod kek_published;
pub mod kek_scan;
pub mod key_manager;
pub mod keystone_tls;
pub mod octavia;
pub mod paste_authtoken;
pub mod policy_creator;
pub mod secret_backend;
pub mod service_env;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::report::Status;

pub use facts::{Facts, Input, InputProblem};
pub use kek_scan::{target_keks, ScanRequest, ScanResult, TargetKeks};

/// Every probe, by the order `checks lint` lists them (the registry).
pub static PROBES: &[&dyn Probe] = &[
    &file_metadata::FileMetadata,
    &kek_in_config::KekInConfig,
    &kek_published::KekPublished,
    &config_shadowing::ConfigShadowing,
    &config_loads::ConfigLoads,
    &secret_backend::SecretBackend,
    &paste_authtoken::PasteAuthtoken,
    &keystone_tls::KeystoneTls,
    &service_env::ServiceEnvironment,
    &policy_creator::PolicyCreator,
    &kek_scan::KekScan,
    &key_manager::KeyManager,
    &key_manager::FixedKey,
    &castellan::CastellanTls,
    &castellan::CastellanVerify,
    &castellan::BarbicanInterface,
    &castellan::KeyManagerCredentials,
    &castellan::ImageSignatures,
    &octavia::CertManager,
    &octavia::BarbicanTls,
    &octavia::Passphrase,
    &consumer_files::ConsumerOwnership,
    &consumer_files::ConsumerMode,
];

/// What a probe declares about itself, once: a probe file holds one
/// `static DECL: Decl` beside its [`Probe`] impl.
#[derive(Debug)]
pub struct Decl {
    /// The TOML name (`file-metadata`).
    pub name: &'static str,
    /// What it observes, in one line (`checks explain` shows it).
    pub doc: &'static str,
    /// Every template variable its observations set. Each observation sets
    /// only these, and each is set by some observation (probe/tests.rs).
    pub vars: &'static [Var],
    /// How its checks' remediation is written: shell commands (variables
    /// not declared `raw` are shell-quoted) or prose (nothing is quoted).
    pub fix_style: FixStyle,
    /// The inputs it judges: a problem reading one of them gates its
    /// findings (fail closed, see `gate`).
    pub inputs: &'static [Input],
    /// Whether files read but refused by the parser count as problems too.
    pub parse: bool,
    /// How its findings are gated when an input it reads has a problem.
    pub gate: Gate,
    /// The boolean options (`[group] key`) whose value decides its verdict:
    /// a value oslo.config cannot convert is an input problem of this probe.
    pub judged_bools: &'static [(&'static str, &'static str)],
}

/// One kind of observation of the host, named in a check's `[probe.<name>]`.
pub trait Probe: Sync {
    /// Its declaration.
    fn decl(&self) -> &'static Decl;
    /// The TOML name (`file-metadata`).
    fn name(&self) -> &'static str {
        self.decl().name
    }
    /// What it observes, in one line.
    fn doc(&self) -> &'static str {
        self.decl().doc
    }
    /// Every template variable its observations set.
    fn vars(&self) -> &'static [Var] {
        self.decl().vars
    }
    /// How its checks' remediation is written.
    fn fix_style(&self) -> FixStyle {
        self.decl().fix_style
    }
    /// The inputs it judges for these parameters and this host; by
    /// default the declared ones.
    fn reads(&self, _params: &Params, _facts: &Facts<'_>) -> Reads {
        Reads {
            inputs: self.decl().inputs,
            parse: self.decl().parse,
        }
    }
    /// How its findings are gated when an input it reads has a problem.
    fn gate(&self) -> Gate {
        self.decl().gate
    }
    /// The boolean options whose value decides its verdict.
    fn judged_bools(&self) -> &'static [(&'static str, &'static str)] {
        self.decl().judged_bools
    }
    /// Validates the `[probe.<name>]` table; by default no key is accepted.
    fn params(&self, table: toml::Table) -> Result<Params, String> {
        match table.keys().next() {
            Some(k) => Err(format!(
                "probe {} takes no parameters (found {k:?})",
                self.name()
            )),
            None => Ok(Params::NONE),
        }
    }
    /// Observes the host: one observation per subject judged.
    fn observe(&self, params: &Params, facts: &Facts<'_>) -> Observed;
    /// Whether it judges this host whatever its check's `applies-if` says
    /// (the disk scan of a host for its targets' KEKs: the host itself
    /// runs no Barbican). By default never.
    fn applies_regardless(&self, _params: &Params, _facts: &Facts<'_>) -> bool {
        false
    }
}

/// A template variable a probe declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var {
    /// Its `{name}` in templates.
    pub name: &'static str,
    /// What it holds.
    pub doc: &'static str,
    /// Safe to paste unquoted into a shell command (composed by the probe
    /// from validated data or already quoted); otherwise it is shell-quoted
    /// in a shell remediation.
    pub raw: bool,
}

impl Var {
    /// A variable shell-quoted in a shell remediation.
    pub const fn quoted(name: &'static str, doc: &'static str) -> Var {
        Var {
            name,
            doc,
            raw: false,
        }
    }

    /// A variable pasted unquoted.
    pub const fn raw(name: &'static str, doc: &'static str) -> Var {
        Var {
            name,
            doc,
            raw: true,
        }
    }

    /// What was judged (every observation sets it).
    pub const SUBJECT: Var = Var::quoted("subject", "what was judged");
    /// The finding in words (every observation sets it).
    pub const DETAIL: Var = Var::quoted("detail", "what was found, in words");
}

/// How a check's remediation template is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixStyle {
    /// A command line: variables not declared `raw` are shell-quoted.
    Shell,
    /// Prose naming a file or option: quoting would only garble it.
    Prose,
}

/// The inputs a probe judges, for failing closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reads {
    /// The kinds of input.
    pub inputs: &'static [Input],
    /// Whether files read but refused by the parser count too.
    pub parse: bool,
}

impl Reads {
    /// Reads nothing (e.g. a scan that was not requested).
    pub const NOTHING: Reads = Reads {
        inputs: &[],
        parse: false,
    };
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

/// Any validated parameter set (see [`Params`]).
pub trait ParamValue: Any + std::fmt::Debug + Send + Sync {}
impl<T: Any + std::fmt::Debug + Send + Sync> ParamValue for T {}

/// A probe's validated parameters, typed by the probe that made them
/// (only `file-metadata` takes any today).
#[derive(Debug, Clone, Default)]
pub struct Params(Option<Arc<dyn ParamValue>>);

impl Params {
    /// No parameters.
    pub const NONE: Params = Params(None);

    /// Wraps a probe's parameter type.
    pub fn new<T: ParamValue>(value: T) -> Params {
        Params(Some(Arc::new(value)))
    }

    /// The parameters as the probe's type, if they are of that type.
    pub fn get<T: Any>(&self) -> Option<&T> {
        let value: &dyn Any = self.0.as_deref()?;
        value.downcast_ref()
    }
}

/// A check's probe with its validated parameters.
#[derive(Clone)]
pub struct ProbeSpec {
    /// The probe.
    pub probe: &'static dyn Probe,
    /// Its parameters.
    pub params: Params,
}

impl std::fmt::Debug for ProbeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProbeSpec")
            .field("probe", &self.probe.name())
            .field("params", &self.params)
            .finish()
    }
}

impl ProbeSpec {
    /// The probe's TOML name.
    pub fn name(&self) -> &'static str {
        self.probe.name()
    }

    /// Its template variables.
    pub fn vars(&self) -> &'static [Var] {
        self.probe.vars()
    }

    /// The inputs it judges on this host.
    pub fn reads(&self, facts: &Facts<'_>) -> Reads {
        self.probe.reads(&self.params, facts)
    }

    /// How its findings are gated.
    pub fn gate(&self) -> Gate {
        self.probe.gate()
    }

    /// Whether `{name}` is shell-quoted in the remediation.
    pub fn quotes(&self, name: &str) -> bool {
        match self.probe.fix_style() {
            FixStyle::Prose => false,
            FixStyle::Shell => !self.vars().iter().any(|v| v.raw && v.name == name),
        }
    }

    /// Whether it judges this host whatever `applies-if` says.
    pub fn applies_regardless(&self, facts: &Facts<'_>) -> bool {
        self.probe.applies_regardless(&self.params, facts)
    }

    /// Observes the host.
    pub fn observe(&self, facts: &Facts<'_>) -> Observed {
        let observed = self.probe.observe(&self.params, facts);
        if cfg!(debug_assertions) {
            for o in &observed.observations {
                let undeclared = self.undeclared(o);
                assert!(
                    undeclared.is_empty(),
                    "probe {} set undeclared variables {undeclared:?}",
                    self.name()
                );
            }
        }
        observed
    }

    /// The variables `o` sets that the probe does not declare (none, for a
    /// probe that keeps its declaration).
    pub fn undeclared<'o>(&self, o: &'o Observation) -> Vec<&'o str> {
        o.vars
            .keys()
            .map(String::as_str)
            .filter(|k| !self.vars().iter().any(|v| v.name == *k))
            .collect()
    }
}

/// The probe named `name`.
pub fn find(name: &str) -> Option<&'static dyn Probe> {
    PROBES.iter().copied().find(|p| p.name() == name)
}

/// Validates `[probe.<name>]` parameters.
pub fn validate(name: &str, params: toml::Table) -> Result<ProbeSpec, String> {
    let Some(probe) = find(name) else {
        return Err(format!(
            "unknown probe {name:?} (known: {})",
            PROBES
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    Ok(ProbeSpec {
        probe,
        params: probe.params(params)?,
    })
}

/// What a probe returns: its observations, and what the disk scan covered
/// when the probe ran one (for the report's `scan` and warnings).
#[derive(Debug, Default)]
pub struct Observed {
    /// One per subject judged.
    pub observations: Vec<Observation>,
    /// The disk scan's coverage and warnings, if this probe scanned.
    pub scan: Option<ScanResult>,
}

impl From<Vec<Observation>> for Observed {
    fn from(observations: Vec<Observation>) -> Observed {
        Observed {
            observations,
            scan: None,
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
    /// Template variables (always includes `subject` and `detail`).
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
        vars.insert(Var::SUBJECT.name.to_string(), subject.clone());
        vars.insert(Var::DETAIL.name.to_string(), detail.into());
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
