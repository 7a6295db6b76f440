//! The oslo.config default search and the merged view of barbican.conf.
//!
//! Barbican's API and every plugin call `parse_args(CONF)` with
//! `project='barbican', prog='barbican'` and no CLI arguments, so only the
//! default search counts: the first existing `barbican.conf` of
//! `~/.barbican/`, `~/`, `/etc/barbican/`, `/etc/`, then every `*.conf` of the
//! first existing `barbican.conf.d` there, sorted.
//! See: oslo.config 9.0.0 `cfg.py` `_search_dirs`, `find_config_files`,
//! `find_config_dirs`, `_parse_config_files`; barbican 15.0.1
//! `barbican/common/config.py` `parse_args`.
//!
//! `~` is the service user's home from the root's passwd (`barbican`,
//! falling back to `/var/lib/barbican`, Debian's and RDO's home for it).
//!
//! Values: `OS_<GROUP>__<OPT>` environment overrides (from the barbican
//! systemd units) beat every file; across files the last parsed wins; MultiStr
//! options take every value, oldest file first; `$name` interpolation is
//! applied on read, against registered options only (see [`super::options`]).
//!
//! Not modelled: the double parse of `barbican.conf` that `project == prog ==
//! 'barbican'` causes (barbican.md §1.1): it duplicates MultiStr values
//! (`['a','b','a','b']`) but changes no verdict, since the first KEK and
//! the set of enabled plugins stay the same.
use std::path::{Path, PathBuf};

use super::oslo;
use crate::host::Host;

/// Home of the barbican user when the root's passwd does not name one.
pub const FALLBACK_HOME: &str = "/var/lib/barbican";

/// A config file that was found, with what oslo.config made of it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// In-root path.
    pub path: PathBuf,
    /// Parsed content, or the read error.
    pub parsed: Result<oslo::File, String>,
}

/// The files one oslo.config program reads, in parse order.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Files in parse order (the main file first, then the `.conf.d` files sorted).
    pub files: Vec<Loaded>,
    /// Every existing `barbican.conf` of the search path, first = the one read (for BAR-009).
    pub candidates: Vec<PathBuf>,
    /// The `.conf.d` directories whose `*.conf` files oslo.config reads (for
    /// BAR-003: whoever may write there sets any option).
    pub conf_dirs: Vec<PathBuf>,
    /// `OS_<GROUP>__<OPT>` overrides from the service environment.
    pub env: Vec<EnvOverride>,
    /// Paths of the search the auditor could not stat or list, with why:
    /// what Barbican reads there is unknown, so checks must say error.
    pub problems: Vec<(PathBuf, String)>,
}

/// An option set through the service environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvOverride {
    /// Group (`DEFAULT` or lowercase).
    pub group: String,
    /// Option name.
    pub key: String,
    /// Value.
    pub value: String,
    /// The variable (`OS_SIMPLE_CRYPTO_PLUGIN__KEK`).
    pub var: String,
    /// Where it is set: unit file or EnvironmentFile.
    pub file: PathBuf,
    /// Line in that file.
    pub line: usize,
}

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A config file line.
    File {
        /// In-root path.
        path: PathBuf,
        /// 1-based line.
        line: usize,
    },
    /// The service environment.
    Env {
        /// Variable name.
        var: String,
        /// Unit or environment file.
        file: PathBuf,
        /// Line.
        line: usize,
    },
    /// The option's code default.
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File { path, line } => write!(f, "{}:{line}", path.display()),
            Source::Env { var, file, line } => write!(f, "{var} in {}:{line}", file.display()),
            Source::Default => write!(f, "code default"),
        }
    }
}

/// One effective value with its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    /// The option's name as written where the value was found: a
    /// deprecated name (`auth_uri` for `www_authenticate_uri`) stays itself.
    pub name: String,
    /// The value as written (quotes stripped), before interpolation.
    pub raw: String,
    /// Where it came from.
    pub source: Source,
}

/// A `$name` that oslo.config could not substitute (`NoSuchOptError` or a cycle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterpolationError {
    /// The name as written after `$`.
    pub name: String,
    /// Why.
    pub message: String,
}

/// The search directories in oslo.config's order for a given home.
pub fn search_dirs(home: &str) -> Vec<PathBuf> {
    let home = Path::new(home);
    vec![
        home.join(".barbican"),
        home.to_path_buf(),
        PathBuf::from("/etc/barbican"),
        PathBuf::from("/etc"),
    ]
}

/// oslo.config's search directories for `project`: `~/.<project>/`, `~/`,
/// `/etc/<project>/`, `/etc/`.
pub fn project_search_dirs(home: &str, project: &str) -> Vec<PathBuf> {
    let home = Path::new(home);
    vec![
        home.join(format!(".{project}")),
        home.to_path_buf(),
        PathBuf::from("/etc").join(project),
        PathBuf::from("/etc"),
    ]
}

/// How an oslo.config program is started, for [`Config::load_invocation`].
#[derive(Debug, Clone)]
pub struct Invocation<'a> {
    /// The `project` it passes (`nova`).
    pub project: &'a str,
    /// `prog`: `basename(argv[0])` without `.py` (`nova-compute`, `uwsgi`).
    pub prog: &'a str,
    /// The program as named in messages (`nova-compute`, `nova-api`).
    pub prog_label: &'a str,
    /// `$HOME` of the process (the service user's home).
    pub home: &'a str,
    /// Its `--config-file` arguments, in order.
    pub config_files: &'a [PathBuf],
    /// `default_config_files` the program passes itself (nova-api's WSGI
    /// loader), replacing the default search for files.
    pub default_config_files: Option<&'a [&'a str]>,
}

/// A service user's home inside the root (`fallback` when the root's passwd
/// does not name one).
pub fn user_home(host: &Host, user: &str, fallback: &str) -> String {
    host.users
        .user(user)
        .map(|u| u.home.clone())
        .filter(|h| h.starts_with('/'))
        .unwrap_or_else(|| fallback.to_string())
}

/// The service user's home inside the root.
pub fn service_home(host: &Host) -> String {
    host.users
        .user("barbican")
        .map(|u| u.home.clone())
        .filter(|h| h.starts_with('/'))
        .unwrap_or_else(|| FALLBACK_HOME.to_string())
}

impl Config {
    /// Loads what program `prog` reads (`barbican`, `barbican-worker`, ...).
    /// For `barbican` this is the file the API and all plugins see.
    ///
    /// Fail closed: a search path entry the auditor cannot stat (`EACCES`),
    /// a `.conf.d` it cannot list, and a directory where oslo.config expects
    /// a file are recorded (in [`Config::problems`] or as a [`Loaded`] whose
    /// `parsed` is an error), never skipped as if absent.
    pub fn load(host: &Host, prog: &str) -> Config {
        let home = service_home(host);
        let dirs = search_dirs(&home);
        let mut cfg = Config::default();
        let name = format!("{prog}.conf");
        let mut existing: Vec<PathBuf> = Vec::new();
        for p in dirs.iter().map(|d| d.join(&name)) {
            match host.exists_checked(&p) {
                Ok(true) => existing.push(p),
                Ok(false) => {}
                // Past the file oslo.config reads, this only blurs BAR-009's wording.
                Err(e) if existing.is_empty() => cfg.problems.push((
                    p.clone(),
                    format!("cannot tell whether it exists ({e}), so which {name} Barbican reads is unknown"),
                )),
                Err(_) => {}
            }
        }
        // oslo.config takes the first path where os.path.exists() holds, a
        // directory included, and then fails to open it (IsADirectoryError:
        // confirmed with Debian's oslo.config 9.0.0).
        if let Some(first) = existing.first() {
            cfg.files.push(load_file(host, first));
        }
        cfg.candidates = existing;
        let dname = format!("{prog}.conf.d");
        let mut conf_d = None;
        for p in dirs.iter().map(|d| d.join(&dname)) {
            match host.exists_checked(&p) {
                Ok(true) => {
                    conf_d = Some(p);
                    break;
                }
                Ok(false) => {}
                Err(e) => {
                    cfg.problems.push((
                        p.clone(),
                        format!("cannot tell whether it exists ({e}), so which {dname} Barbican reads is unknown"),
                    ));
                    break;
                }
            }
        }
        if let Some(dir) = conf_d {
            cfg.read_conf_d(host, &dir);
        }
        cfg
    }

    /// Every `*.conf` of a `.conf.d` directory, sorted, as oslo.config's
    /// `sorted(glob('*.conf'))` reads them.
    fn read_conf_d(&mut self, host: &Host, dir: &Path) {
        self.conf_dirs.push(dir.to_path_buf());
        match host.list_dir(dir) {
            Ok(entries) => {
                for p in entries {
                    // glob('*.conf'): no hidden names; a directory matches
                    // too, and oslo.config then fails to open it.
                    let is_conf = p.extension().is_some_and(|e| e == "conf")
                        && p.file_name()
                            .is_some_and(|n| !n.to_string_lossy().starts_with('.'));
                    if is_conf {
                        self.files.push(load_file(host, &p));
                    }
                }
            }
            // glob() of a file that is no directory finds nothing, as here.
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOTDIR) => {}
            Err(e) => self
                .problems
                .push((dir.to_path_buf(), format!("cannot list the directory: {e}"))),
        }
    }

    /// Loads what any oslo.config program reads, from how it is started
    /// (oslo.config 9.0.0 `cfg.py` `_search_dirs`, `find_config_files`,
    /// `find_config_dirs`, `ConfigOpts._parse_config_files`): the default
    /// files (the first existing `<project>.conf` and `<prog>.conf` of
    /// `~/.<project>/`, `~/`, `/etc/<project>/`, `/etc/`, or the program's
    /// own `default_config_files`) only without `--config-file`; then the
    /// first existing `<project>.conf.d` and `<prog>.conf.d` of the same
    /// dirs (no program here takes `--config-dir`); then the command line's
    /// files. Later wins. A command-line or explicit default file that is
    /// missing stops the program (`ConfigFilesNotFoundError`): a problem.
    ///
    /// Not modelled here: environment overrides (`OS_<GROUP>__<OPT>`), since
    /// the consumer services are not started with them on the layouts we know.
    pub fn load_invocation(host: &Host, inv: &Invocation<'_>) -> Config {
        let dirs = project_search_dirs(inv.home, inv.project);
        let mut cfg = Config::default();
        let who = inv.prog_label;
        let first_existing = |cfg: &mut Config, name: &str| -> Option<PathBuf> {
            for p in dirs.iter().map(|d| d.join(name)) {
                match host.exists_checked(&p) {
                    Ok(true) => return Some(p),
                    Ok(false) => {}
                    Err(e) => {
                        cfg.problems.push((
                            p.clone(),
                            format!("cannot tell whether it exists ({e}), so which {name} {who} reads is unknown"),
                        ));
                        return None;
                    }
                }
            }
            None
        };
        let names = [inv.project, inv.prog];
        if inv.config_files.is_empty() {
            match inv.default_config_files {
                Some(files) => {
                    for f in files {
                        cfg.push_required(host, Path::new(f), who);
                    }
                }
                None => {
                    for n in names {
                        if let Some(p) = first_existing(&mut cfg, &format!("{n}.conf")) {
                            cfg.candidates.push(p.clone());
                            cfg.files.push(load_file(host, &p));
                        }
                    }
                }
            }
        }
        for n in names {
            if let Some(dir) = first_existing(&mut cfg, &format!("{n}.conf.d")) {
                cfg.read_conf_d(host, &dir);
            }
        }
        for f in inv.config_files {
            cfg.push_required(host, f, who);
        }
        cfg
    }

    /// A file the program is told to read: missing, it does not start.
    fn push_required(&mut self, host: &Host, path: &Path, who: &str) {
        match host.exists_checked(path) {
            Ok(true) => self.files.push(load_file(host, path)),
            Ok(false) => self.problems.push((
                path.to_path_buf(),
                format!("{who} is told to read it and it does not exist: the program does not start (ConfigFilesNotFoundError)"),
            )),
            Err(e) => self.problems.push((
                path.to_path_buf(),
                format!("cannot tell whether it exists ({e})"),
            )),
        }
    }

    /// The last value of a single-valued option across files, with its file
    /// (last parsed wins; within a file, the last assignment wins).
    pub fn get(&self, group: &str, key: &str) -> Option<(&oslo::Value, &Path)> {
        self.get_multi(group, key).pop()
    }

    /// Every value of a MultiStr option across files, oldest file first.
    pub fn get_multi(&self, group: &str, key: &str) -> Vec<(&oslo::Value, &Path)> {
        let mut out = Vec::new();
        for f in &self.files {
            if let Ok(parsed) = &f.parsed {
                for v in parsed.get_all(group, key) {
                    out.push((v, f.path.as_path()));
                }
            }
        }
        out
    }

    /// `[oslo_policy] policy_dirs` as oslo.policy walks them: each name with
    /// where it is set, or its default `policy.d` when no file sets it.
    pub fn policy_dirs(&self) -> Vec<(String, String)> {
        let named = self.get_multi("oslo_policy", "policy_dirs");
        if named.is_empty() {
            return vec![(
                "policy.d".to_string(),
                "oslo.policy default policy_dirs".to_string(),
            )];
        }
        named
            .iter()
            .map(|(v, f)| {
                (
                    v.value.trim().to_string(),
                    format!("[oslo_policy] policy_dirs at {}:{}", f.display(), v.line),
                )
            })
            .collect()
    }

    /// The effective value of a single-valued option: environment first,
    /// then the last file value (a deprecated name counts where oslo.config
    /// would read it: newer files first, new name first within a file).
    pub fn effective(&self, group: &str, key: &str) -> Option<Effective> {
        if let Some(e) = self
            .env
            .iter()
            .rev()
            .find(|e| e.group == group && e.key == key)
        {
            return Some(Effective {
                name: e.key.clone(),
                raw: e.value.clone(),
                source: Source::Env {
                    var: e.var.clone(),
                    file: e.file.clone(),
                    line: e.line,
                },
            });
        }
        let deprecated: Vec<(String, String)> = super::options::find(group, key)
            .map(|o| o.deprecated.clone())
            .unwrap_or_default();
        for f in self.files.iter().rev() {
            let Ok(parsed) = &f.parsed else { continue };
            let mut hit = parsed.get_all(group, key).pop();
            for (g, n) in &deprecated {
                if hit.is_none() {
                    hit = parsed.get_all(g, n).pop();
                }
            }
            if let Some(v) = hit {
                return Some(Effective {
                    name: v.key.clone(),
                    raw: v.value.clone(),
                    source: Source::File {
                        path: f.path.clone(),
                        line: v.line,
                    },
                });
            }
        }
        None
    }

    /// Every effective value of a MultiStr option: the environment replaces
    /// the files; otherwise every value of every file, oldest first.
    pub fn effective_multi(&self, group: &str, key: &str) -> Vec<Effective> {
        let env: Vec<Effective> = self
            .env
            .iter()
            .filter(|e| e.group == group && e.key == key)
            .map(|e| Effective {
                name: e.key.clone(),
                raw: e.value.clone(),
                source: Source::Env {
                    var: e.var.clone(),
                    file: e.file.clone(),
                    line: e.line,
                },
            })
            .collect();
        if !env.is_empty() {
            return env;
        }
        self.get_multi(group, key)
            .into_iter()
            .map(|(v, p)| Effective {
                name: v.key.clone(),
                raw: v.value.clone(),
                source: Source::File {
                    path: p.to_path_buf(),
                    line: v.line,
                },
            })
            .collect()
    }

    /// The group keystonemiddleware loads the auth plugin from: the
    /// `auth_section` of `[keystone_authtoken]` if set, else
    /// `keystone_authtoken`. See: keystonemiddleware 10.1.0
    /// `auth_token/__init__.py` `_create_auth_plugin`.
    pub fn auth_group(&self) -> String {
        self.effective("keystone_authtoken", "auth_section")
            .map(|e| e.raw.trim().to_string())
            .filter(|s| !s.is_empty())
            .map(|s| super::oslo::normalize_group(&s))
            .unwrap_or_else(|| "keystone_authtoken".to_string())
    }

    /// The keystoneauth plugin `auth_type` (or its deprecated name
    /// `auth_plugin`) names in the auth group, if any.
    pub fn auth_plugin(&self) -> Option<String> {
        let g = self.auth_group();
        self.effective(&g, "auth_type")
            .or_else(|| self.effective(&g, "auth_plugin"))
            .map(|e| e.raw.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    /// The option oslo.config has registered under `group`/`name` once
    /// keystonemiddleware has run: the static registry, plus the options of
    /// the auth plugin `auth_type` selects, in the auth group (registered at
    /// run time, so `$` in `[keystone_authtoken] password` is interpolated
    /// and can raise NoSuchOptError).
    pub fn registered(&self, group: &str, name: &str) -> Option<&'static super::options::Opt> {
        if let Some(o) = super::options::find(group, name) {
            return Some(o);
        }
        if group != self.auth_group() {
            return None;
        }
        super::options::find_plugin_opt(&self.auth_plugin()?, name)
    }

    /// The value oslo.config returns: effective raw value (or the registered
    /// default), then `$name` substitution.
    pub fn resolve(&self, group: &str, key: &str) -> Result<Option<String>, InterpolationError> {
        self.resolve_at(group, key, 0)
    }

    /// `string.Template.safe_substitute` with oslo.config's lookup: `$$` and
    /// `\$` are a literal `$`; `$name`/`${name}` is the option in the same
    /// group, else in DEFAULT; `${group.name}` another group; a name that is
    /// not a registered option is an error (`NoSuchOptError`), and so is a
    /// reference cycle (Python would recurse until RecursionError).
    /// See: oslo.config 9.0.0 `cfg.py` `_substitute`, `StrSubWrapper.__getitem__`.
    pub fn substitute(
        &self,
        value: &str,
        group: &str,
        depth: usize,
    ) -> Result<String, InterpolationError> {
        if depth > 16 {
            return Err(InterpolationError {
                name: String::new(),
                message: "substitution nests more than 16 levels (a reference cycle?)".into(),
            });
        }
        let value = value.replace("\\$", "$$");
        let b = value.as_bytes();
        let mut out = String::with_capacity(value.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'$' {
                let next = value[i..].find('$').map(|n| i + n).unwrap_or(b.len());
                out.push_str(&value[i..next]);
                i = next;
                continue;
            }
            // b[i] == '$'
            if b.get(i + 1) == Some(&b'$') {
                out.push('$');
                i += 2;
                continue;
            }
            let (name, end) = if b.get(i + 1) == Some(&b'{') {
                match value[i + 2..].find('}') {
                    Some(close) if is_ident(&value[i + 2..i + 2 + close]) => {
                        (value[i + 2..i + 2 + close].to_string(), i + 3 + close)
                    }
                    _ => {
                        out.push('$');
                        i += 1;
                        continue;
                    }
                }
            } else {
                let len = ident_len(&value[i + 1..]);
                if len == 0 {
                    // safe_substitute leaves a lone `$` as it is.
                    out.push('$');
                    i += 1;
                    continue;
                }
                (value[i + 1..i + 1 + len].to_string(), i + 1 + len)
            };
            out.push_str(&self.lookup(&name, group, depth)?);
            i = end;
        }
        Ok(out)
    }

    fn lookup(&self, name: &str, group: &str, depth: usize) -> Result<String, InterpolationError> {
        let candidates: Vec<(String, String)> = match name.split_once('.') {
            Some((g, n)) => vec![
                (super::oslo::normalize_group(g), n.to_string()),
                ("DEFAULT".into(), name.to_string()),
            ],
            None => vec![
                (group.to_string(), name.to_string()),
                ("DEFAULT".into(), name.to_string()),
            ],
        };
        for (g, n) in candidates {
            if self.registered(&g, &n).is_some() {
                return match self.resolve_at(&g, &n, depth + 1) {
                    Ok(v) => Ok(v.unwrap_or_default()),
                    // The failing name came from inside that option's value:
                    // never pass a fragment of a secret on.
                    Err(_) if super::options::is_secret(&g, &n) => Err(InterpolationError {
                        name: String::new(),
                        message: format!(
                            "the value of [{g}] {n} it refers to has a substitution that fails"
                        ),
                    }),
                    Err(e) => Err(e),
                };
            }
        }
        Err(InterpolationError {
            name: name.to_string(),
            message: format!("no such option {name}"),
        })
    }

    fn resolve_at(
        &self,
        group: &str,
        key: &str,
        depth: usize,
    ) -> Result<Option<String>, InterpolationError> {
        let raw = match self.effective(group, key) {
            Some(e) => e.raw,
            None => match self.registered(group, key) {
                Some(o) if !o.default.is_empty() => o.default.clone(),
                _ => return Ok(None),
            },
        };
        self.substitute(&raw, group, depth).map(Some)
    }

    /// Directories of the parsed config files, last parsed first
    /// (oslo.config `find_file` looks there before the default dirs).
    pub fn file_dirs(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for f in self.files.iter().rev() {
            if let Some(d) = f.path.parent() {
                if !out.iter().any(|x| x == d) {
                    out.push(d.to_path_buf());
                }
            }
        }
        out
    }
}

/// `[_a-z][._a-z0-9]*`, case-insensitive (string.Template's re.IGNORECASE).
fn ident_len(s: &str) -> usize {
    let mut n = 0;
    for (i, c) in s.char_indices() {
        let ok = if i == 0 {
            c.is_ascii_alphabetic() || c == '_'
        } else {
            c.is_ascii_alphanumeric() || c == '_' || c == '.'
        };
        if !ok {
            break;
        }
        n = i + c.len_utf8();
    }
    n
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && ident_len(s) == s.len()
}

impl Config {
    /// A config of one already parsed file (benchmarks).
    pub fn from_parsed(path: &str, parsed: oslo::File) -> Config {
        Config {
            files: vec![Loaded {
                path: PathBuf::from(path),
                parsed: Ok(parsed),
            }],
            ..Config::default()
        }
    }

    /// A config from in-memory files (tests, and confirming verdicts).
    pub fn from_texts(files: &[(&str, &str)]) -> Config {
        Config {
            files: files
                .iter()
                .map(|(p, t)| Loaded {
                    path: PathBuf::from(p),
                    parsed: Ok(oslo::parse(t)),
                })
                .collect(),
            ..Config::default()
        }
    }
}

pub(crate) fn load_file(host: &Host, path: &Path) -> Loaded {
    let parsed = if host.is_dir(path) {
        Err(
            "is a directory: oslo.config picks it and Barbican fails to start (IsADirectoryError)"
                .to_string(),
        )
    } else {
        host.read(path)
            .map(|b| oslo::parse_bytes(&b))
            .map_err(|e| e.to_string())
    };
    Loaded {
        path: path.to_path_buf(),
        parsed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> Config {
        Config::from_texts(&[("/etc/barbican/barbican.conf", text)])
    }

    // Each expectation below was confirmed with Debian's oslo.config 9.0.0
    // (tests/confirm/oslo_confirm.py prints the same values).
    #[test]
    fn interpolation_like_oslo() {
        let c = conf("[DEFAULT]\nhost_href = http://api:9311\n[keystone_authtoken]\nwww_authenticate_uri = ${host_href}/x\n");
        assert_eq!(
            c.resolve("keystone_authtoken", "www_authenticate_uri")
                .unwrap()
                .as_deref(),
            Some("http://api:9311/x")
        );
        let c = conf("[DEFAULT]\ntransport_url = a$$b\\$c\n");
        assert_eq!(
            c.resolve("DEFAULT", "transport_url").unwrap().as_deref(),
            Some("a$b$c")
        );
        let c = conf("[p11_crypto_plugin]\nlogin = pa$word\n");
        assert_eq!(
            c.resolve("p11_crypto_plugin", "login").unwrap_err().message,
            "no such option word"
        );
        let c = conf("[DEFAULT]\nhost_href = $host_href\n");
        assert!(c.resolve("DEFAULT", "host_href").is_err());
        let c = conf("[DEFAULT]\nhost_href = ${simple_crypto_plugin.plugin_name}!\n");
        assert_eq!(
            c.resolve("DEFAULT", "host_href").unwrap().as_deref(),
            Some("Software Only Crypto!")
        );
        // A trailing or lone `$` is left alone by safe_substitute.
        let c = conf("[DEFAULT]\nhost_href = cost $ 5$\n");
        assert_eq!(
            c.resolve("DEFAULT", "host_href").unwrap().as_deref(),
            Some("cost $ 5$")
        );
        // An unregistered key in a file cannot be substituted.
        let c = conf("[DEFAULT]\nmy_own = x\nhost_href = $my_own\n");
        assert!(c.resolve("DEFAULT", "host_href").is_err());
    }

    #[test]
    fn env_beats_files_and_multi_accumulates() {
        let mut c = Config::from_texts(&[
            ("/etc/barbican/barbican.conf", "[crypto]\nenabled_crypto_plugins = simple_crypto\n[keystone_authtoken]\ninsecure = false\n"),
            ("/etc/barbican/barbican.conf.d/10.conf", "[crypto]\nenabled_crypto_plugins = p11_crypto\n[keystone_authtoken]\ninsecure = true\n"),
        ]);
        let e = c.effective("keystone_authtoken", "insecure").unwrap();
        assert_eq!(
            (e.raw.as_str(), e.source.to_string().as_str()),
            ("true", "/etc/barbican/barbican.conf.d/10.conf:4")
        );
        let m: Vec<String> = c
            .effective_multi("crypto", "enabled_crypto_plugins")
            .into_iter()
            .map(|e| e.raw)
            .collect();
        assert_eq!(m, ["simple_crypto", "p11_crypto"]);
        c.env.push(EnvOverride {
            group: "keystone_authtoken".into(),
            key: "insecure".into(),
            value: "false".into(),
            var: "OS_KEYSTONE_AUTHTOKEN__INSECURE".into(),
            file: PathBuf::from("/etc/systemd/system/barbican-api.service.d/x.conf"),
            line: 2,
        });
        assert_eq!(
            c.effective("keystone_authtoken", "insecure").unwrap().raw,
            "false"
        );
    }

    // Confirmed with Debian's keystonemiddleware 10.1.0 and keystoneauth1
    // 5.0.0 (tests/confirm/authplugin_confirm.py).
    #[test]
    fn auth_plugin_options_are_registered_for_the_plugin_in_use() {
        let c = conf("[keystone_authtoken]\nauth_type = password\npassword = pa$word\n");
        assert!(c.registered("keystone_authtoken", "password").is_some());
        assert!(c.resolve("keystone_authtoken", "password").is_err());
        let c =
            conf("[keystone_authtoken]\nauth_type = v3applicationcredential\npassword = pa$word\n");
        assert!(c.registered("keystone_authtoken", "password").is_none());
        assert!(c
            .registered("keystone_authtoken", "application_credential_secret")
            .is_some());
        let c = conf("[keystone_authtoken]\nauth_section = Svc\n[svc]\nauth_type = password\n");
        assert_eq!(c.auth_group(), "svc");
        assert!(c.registered("svc", "password").is_some());
        assert!(c.registered("keystone_authtoken", "password").is_none());
        let c = conf("[keystone_authtoken]\npassword = pa$word\n");
        assert!(c.registered("keystone_authtoken", "password").is_none());
    }

    #[test]
    fn deprecated_name_counts() {
        let c = conf("[keystone_authtoken]\nauth_uri = http://old:5000\n");
        let e = c
            .effective("keystone_authtoken", "www_authenticate_uri")
            .unwrap();
        assert_eq!(e.raw, "http://old:5000");
    }
}
