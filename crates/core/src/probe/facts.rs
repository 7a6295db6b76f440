//! What the probes read about the host, each fact computed on first use:
//! a probe that reads only the units never loads the config, resolves the
//! effective file set or parses the paste file. The input problems (for
//! failing closed) are computed per kind of input, with the facts they
//! come from.
use std::path::PathBuf;
use std::sync::OnceLock;

use super::{Reads, ScanRequest, PROBES};
use crate::barbican::api::Api;
use crate::barbican::config::EnvOverride;
use crate::barbican::systemd::Unit;
use crate::barbican::{version::Installed, Config, EffectiveFiles};
use crate::consumers::ProgramConfig;
use crate::host::Host;

/// A path that could not be read, and why.
type PathProblem = (PathBuf, String);

/// The host as the probes see it, for one run.
pub struct Facts<'a> {
    /// The rooted host.
    pub host: &'a Host,
    /// The disk scan to run for BAR-013 (`None`: not requested).
    pub scan: Option<ScanRequest>,
    units: OnceLock<(Vec<Unit>, Vec<PathProblem>)>,
    env: OnceLock<Vec<EnvOverride>>,
    config: OnceLock<Config>,
    prog_configs: OnceLock<Vec<Config>>,
    files: OnceLock<EffectiveFiles>,
    installed: OnceLock<Installed>,
    api: OnceLock<Option<Api>>,
    layout: OnceLock<crate::layout::Layout>,
    consumers: OnceLock<Vec<ProgramConfig>>,
    problems: Problems,
}

/// The input problems, by group, in the order a report has always listed
/// them (the first problem of a path is the one reported).
#[derive(Default)]
struct Problems {
    users: OnceLock<Vec<InputProblem>>,
    /// `barbican`'s config: what it could not read or parse, and its
    /// judged booleans oslo.config cannot convert.
    config: OnceLock<(Vec<InputProblem>, Vec<InputProblem>)>,
    /// The same for the other programs' configs.
    prog_configs: OnceLock<(Vec<InputProblem>, Vec<InputProblem>)>,
    files: OnceLock<Vec<InputProblem>>,
    api: OnceLock<Vec<InputProblem>>,
    units: OnceLock<Vec<InputProblem>>,
    /// What the consumer programs read (nova, cinder, glance).
    consumers: OnceLock<(Vec<InputProblem>, Vec<InputProblem>)>,
}

impl std::fmt::Debug for Facts<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Facts")
            .field("root", &self.host.root())
            .field("scan", &self.scan)
            .finish_non_exhaustive()
    }
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
    /// What the programs of the services that keep their keys in Barbican
    /// (nova, cinder, glance) read: their config files and `.conf.d` dirs.
    ConsumerConfig,
}

/// An input that could not be read (or, with `parse`, was read but not
/// understood), named by its in-root path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputProblem {
    /// What kind of input.
    pub input: Input,
    /// In-root path.
    pub path: PathBuf,
    /// Why (never file content).
    pub reason: String,
    /// Read, but refused by the parser (the check judging the parse itself,
    /// BAR-012, reports these as its own verdict).
    pub parse: bool,
    /// Only these probes read it (one option); `None`: every probe judging
    /// this kind of input.
    pub probes: Option<Vec<&'static str>>,
}

impl InputProblem {
    fn new(input: Input, path: &std::path::Path, reason: String, parse: bool) -> InputProblem {
        InputProblem {
            input,
            path: path.to_path_buf(),
            reason,
            parse,
            probes: None,
        }
    }
}

impl<'a> Facts<'a> {
    /// The host's facts, none computed yet.
    pub fn new(host: &'a Host, scan: Option<ScanRequest>) -> Facts<'a> {
        Facts {
            host,
            scan,
            units: OnceLock::new(),
            env: OnceLock::new(),
            config: OnceLock::new(),
            prog_configs: OnceLock::new(),
            files: OnceLock::new(),
            installed: OnceLock::new(),
            api: OnceLock::new(),
            layout: OnceLock::new(),
            consumers: OnceLock::new(),
            problems: Problems::default(),
        }
    }

    /// Barbican's systemd service units with their effective environment.
    pub fn units(&self) -> &[Unit] {
        &self.units_checked().0
    }

    fn units_checked(&self) -> &(Vec<Unit>, Vec<PathProblem>) {
        self.units
            .get_or_init(|| crate::barbican::systemd::barbican_units_checked(self.host))
    }

    /// The units' `OS_<GROUP>__<OPT>` variables: they beat every config file.
    fn env(&self) -> &[EnvOverride] {
        self.env.get_or_init(|| env_overrides(self.units()))
    }

    /// What `barbican` (API and plugins) reads.
    pub fn config(&self) -> &Config {
        self.config.get_or_init(|| self.load_config("barbican"))
    }

    /// What barbican-worker, -keystone-listener and -retry read besides.
    pub fn prog_configs(&self) -> &[Config] {
        self.prog_configs.get_or_init(|| {
            crate::barbican::files::PROGS
                .iter()
                .map(|p| self.load_config(p))
                .collect()
        })
    }

    fn load_config(&self, prog: &str) -> Config {
        let mut c = Config::load(self.host, prog);
        c.env = self.env().to_vec();
        c
    }

    /// Every file Barbican reads.
    pub fn files(&self) -> &EffectiveFiles {
        self.files
            .get_or_init(|| EffectiveFiles::resolve(self.host, self.config(), self.prog_configs()))
    }

    /// The deployment layout of the root (which tool's files these are).
    pub fn layout(&self) -> crate::layout::Layout {
        *self
            .layout
            .get_or_init(|| crate::layout::recognise(self.host))
    }

    /// The container a fix names (`{container}`): the one the target's
    /// discovery named, else Barbican's API container.
    pub fn container(&self) -> &str {
        self.host.container().unwrap_or("barbican_api")
    }

    /// The installed programs of nova, cinder and glance, each with the
    /// files it reads.
    pub fn consumers(&self) -> &[ProgramConfig] {
        self.consumers
            .get_or_init(|| crate::consumers::load(self.host))
    }

    /// Installed Barbican, if any.
    pub fn installed(&self) -> &Installed {
        self.installed
            .get_or_init(|| crate::barbican::version::detect(self.host))
    }

    /// The paste file Barbican serves, if any.
    pub fn api(&self) -> Option<&Api> {
        self.api
            .get_or_init(|| Api::load(self.host, self.files()))
            .as_ref()
    }

    /// The problems of one consumer program's own files (what it could not
    /// read or parse, its judged booleans oslo.config cannot convert),
    /// filtered as [`Facts::problems_for`] filters them. `None` when
    /// `program` names no installed consumer program: then every consumer
    /// problem applies to whatever was said about it.
    pub fn consumer_problems_of(
        &self,
        program: &str,
        reads: Reads,
        probe: &str,
    ) -> Option<Vec<InputProblem>> {
        let p = self
            .consumers()
            .iter()
            .find(|c| c.program.name == program)?;
        let (unread, bools) =
            config_problems(Input::ConsumerConfig, std::slice::from_ref(&p.config));
        let mut out: Vec<InputProblem> = Vec::new();
        for x in unread.into_iter().chain(bools) {
            if (reads.parse || !x.parse)
                && x.probes.as_ref().is_none_or(|only| only.contains(&probe))
                && !out.iter().any(|o| o.path == x.path)
            {
                out.push(x);
            }
        }
        Some(out)
    }

    /// The problems with the inputs a probe reads, one per path, in the
    /// order they have always been reported. Only the facts of those
    /// inputs are computed.
    pub fn problems_for(&self, reads: Reads, probe: &str) -> Vec<&InputProblem> {
        let wants = |i: Input| reads.inputs.contains(&i);
        let mut groups: Vec<&[InputProblem]> = Vec::new();
        if wants(Input::Users) {
            groups.push(self.problems.users.get_or_init(|| self.user_problems()));
        }
        let config = wants(Input::Config).then(|| {
            self.problems
                .config
                .get_or_init(|| config_problems(Input::Config, std::slice::from_ref(self.config())))
        });
        let progs = wants(Input::ProgConfig).then(|| {
            self.problems
                .prog_configs
                .get_or_init(|| config_problems(Input::ProgConfig, self.prog_configs()))
        });
        let consumers = wants(Input::ConsumerConfig).then(|| {
            self.problems.consumers.get_or_init(|| {
                let configs: Vec<Config> =
                    self.consumers().iter().map(|c| c.config.clone()).collect();
                config_problems(Input::ConsumerConfig, &configs)
            })
        });
        groups.extend(config.map(|c| c.0.as_slice()));
        groups.extend(progs.map(|c| c.0.as_slice()));
        groups.extend(consumers.map(|c| c.0.as_slice()));
        if wants(Input::Paste) || wants(Input::Policy) {
            groups.push(self.problems.files.get_or_init(|| self.file_problems()));
        }
        if wants(Input::Paste) {
            groups.push(self.problems.api.get_or_init(|| self.api_problems()));
        }
        if wants(Input::Units) {
            groups.push(self.problems.units.get_or_init(|| {
                self.units_checked()
                    .1
                    .iter()
                    .map(|(p, why)| InputProblem::new(Input::Units, p, why.clone(), false))
                    .collect()
            }));
        }
        groups.extend(config.map(|c| c.1.as_slice()));
        groups.extend(progs.map(|c| c.1.as_slice()));
        groups.extend(consumers.map(|c| c.1.as_slice()));
        let mut out: Vec<&InputProblem> = Vec::new();
        for p in groups.into_iter().flatten() {
            if wants(p.input)
                && (reads.parse || !p.parse)
                && p.probes.as_ref().is_none_or(|only| only.contains(&probe))
                && !out.iter().any(|o| o.path == p.path)
            {
                out.push(p);
            }
        }
        out
    }

    /// The facts computed so far, in dependency order (for tests).
    #[cfg(test)]
    pub(super) fn computed(&self) -> Vec<&'static str> {
        [
            ("units", self.units.get().is_some()),
            ("env", self.env.get().is_some()),
            ("config", self.config.get().is_some()),
            ("prog_configs", self.prog_configs.get().is_some()),
            ("files", self.files.get().is_some()),
            ("installed", self.installed.get().is_some()),
            ("api", self.api.get().is_some()),
            ("consumers", self.consumers.get().is_some()),
        ]
        .into_iter()
        .filter_map(|(name, done)| done.then_some(name))
        .collect()
    }

    fn user_problems(&self) -> Vec<InputProblem> {
        self.host
            .users
            .unreadable
            .iter()
            .map(|(p, why)| InputProblem::new(Input::Users, p, why.clone(), false))
            .collect()
    }

    fn file_problems(&self) -> Vec<InputProblem> {
        self.files()
            .problems
            .iter()
            .map(|(role, p, why)| {
                let input = if *role == "paste" {
                    Input::Paste
                } else {
                    Input::Policy
                };
                InputProblem::new(input, p, why.clone(), false)
            })
            .collect()
    }

    fn api_problems(&self) -> Vec<InputProblem> {
        let mut out = Vec::new();
        if let Some(api) = self.api() {
            if let Err(e) = &api.parsed {
                let parse = !matches!(e, crate::barbican::api::ApiError::Read(_));
                out.push(InputProblem::new(
                    Input::Paste,
                    &api.path,
                    e.to_string(),
                    parse,
                ));
            }
        }
        out
    }
}

/// The problems of some configs: what could not be read or parsed, and
/// (second) the judged booleans oslo.config cannot convert.
fn config_problems(input: Input, configs: &[Config]) -> (Vec<InputProblem>, Vec<InputProblem>) {
    let mut out = Vec::new();
    let mut bad_bools = Vec::new();
    for cfg in configs {
        for (p, why) in &cfg.problems {
            out.push(InputProblem::new(input, p, why.clone(), false));
        }
        for f in &cfg.files {
            match &f.parsed {
                Err(e) => out.push(InputProblem::new(
                    input,
                    &f.path,
                    format!("cannot read it: {e}"),
                    false,
                )),
                Ok(parsed) => {
                    // A judged boolean oslo.config cannot convert raises
                    // ConfigFileValueError when read: the probes that read it
                    // would judge the default instead of what runs. The value
                    // is never quoted (it may hold a pasted secret).
                    for v in &parsed.values {
                        let readers = bool_readers(&v.group, &v.key);
                        if readers.is_empty() {
                            continue;
                        }
                        if crate::barbican::oslo::parse_bool(&v.value).is_none() {
                            bad_bools.push(InputProblem {
                                input,
                                path: f.path.clone(),
                                reason: format!(
                                    "line {}: [{}] {} is not a boolean oslo.config accepts (ConfigFileValueError when read)",
                                    v.line, v.group, v.key
                                ),
                                parse: true,
                                probes: Some(readers),
                            });
                        }
                    }
                    if let Some(e) = &parsed.error {
                        out.push(InputProblem::new(
                            input,
                            &f.path,
                            format!(
                                "line {}: {}; oslo.config refuses the whole file, so what it sets is unknown",
                                e.line, e.message
                            ),
                            true,
                        ));
                    }
                }
            }
        }
    }
    (out, bad_bools)
}

/// The probes that read a boolean option whose value decides a verdict.
fn bool_readers(group: &str, key: &str) -> Vec<&'static str> {
    PROBES
        .iter()
        .filter(|p| p.judged_bools().contains(&(group, key)))
        .map(|p| p.name())
        .collect()
}

/// The oslo.config option a unit's `OS_<GROUP>__<KEY>` assignment sets,
/// if it names one.
pub(crate) fn env_override(a: &crate::barbican::systemd::Assignment) -> Option<EnvOverride> {
    let (group, key) = crate::barbican::systemd::oslo_env_option(&a.name)?;
    Some(EnvOverride {
        group,
        key,
        value: a.value.clone(),
        var: a.name.clone(),
        file: a.file.clone(),
        line: a.line,
    })
}

/// Every `OS_<GROUP>__<OPT>` variable of the barbican units, as oslo.config
/// reads it from the process environment.
fn env_overrides(units: &[Unit]) -> Vec<EnvOverride> {
    units
        .iter()
        .flat_map(|u| u.env.iter().filter_map(env_override))
        .collect::<Vec<_>>()
}
