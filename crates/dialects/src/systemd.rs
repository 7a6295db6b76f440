//! systemd unit discovery and environment evaluation for `barbican-audit` (BAR-011).
//!
//! Finds every `*.service` unit whose name contains "barbican", resolves its fragment and
//! drop-ins the way systemd's unit loader does, and evaluates the effective service
//! environment (`Environment=` then `EnvironmentFile=`) so that `OS_<GROUP>__<OPTION>`
//! overrides of oslo.config options (which take precedence over every config file: see
//! oslo.config's environment source, `oslo_config/sources/_environment.py`) can be judged.
//!
//! Behaviour was checked against systemd 252 (Debian bookworm): the unit loader through
//! `systemd-analyze --root=<tmp> verify` with `SYSTEMD_LOG_LEVEL=debug` (which dumps the
//! fragment, drop-in paths and effective `Environment:` list), and the environment-file
//! reader through `load_env_file()` + `strv_env_clean_with_callback()` of
//! `libsystemd-shared-252.so`. Where newer systemd differs, the more permissive reading
//! (the one that reports more variables) is used and the difference is noted.
//!
//! Not modelled (kept literal or out of scope, all noted where they matter):
//! - specifiers (`%i`, `%n`, `%%`, ...) are kept literal; systemd expands them at load time;
//! - unit aliases (symlinks to a differently named unit) are read through, but drop-ins of
//!   the alias target's name are not merged;
//! - template instances are not enumerated (templates are reported under the template name);
//! - manager-wide environment (`DefaultEnvironment=` in system.conf, environment generators,
//!   `PassEnvironment=`) is not part of a unit and is not evaluated here.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Component, Path, PathBuf};

pub use crate::fs::Fs;

/// One effective environment variable of a unit.
///
/// `file`/`line` locate the text that set the value: the unit file (fragment or drop-in) for
/// `Via::Environment`, the environment file itself for `Via::EnvironmentFile` (the directive
/// that named the env file is in [`Unit::env_files`]). `line` is 1-based; for a directive
/// continued with a trailing backslash it is the first physical line (systemd's own log
/// messages cite the last one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// Variable name.
    pub name: String,
    /// Value (never shown for secrets).
    pub value: String,
    /// The file whose text set it.
    pub file: PathBuf,
    /// 1-based line there.
    pub line: usize,
    /// Directive kind.
    pub via: Via,
}

/// How a variable was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// `Environment=` in a unit file or drop-in.
    Environment,
    /// `EnvironmentFile=`, with the env file.
    EnvironmentFile(PathBuf /* the env file */),
}

/// One barbican service unit as systemd would load it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// e.g. `barbican-api.service`
    pub name: String,
    /// The unit file systemd would load (first unit directory holding the name), `None` when
    /// only drop-in directories exist for the name.
    pub fragment: Option<PathBuf>,
    /// Drop-ins in the order systemd applies them.
    pub dropins: Vec<PathBuf>,
    /// Effective environment, in systemd's order, after resets; env-file values override
    /// `Environment=` ones in place.
    pub env: Vec<Assignment>,
    /// Effective `EnvironmentFile=` entries: (env file or glob, optional, unit file, line).
    pub env_files: Vec<(
        PathBuf, /*env file*/
        bool,    /*optional*/
        PathBuf, /*unit file*/
        usize,   /*line*/
    )>,
    /// Unreadable files, masks, bad quoting, ignored assignments ... each with file:line.
    pub problems: Vec<String>,
    /// Files systemd reads for this unit that the auditor could not read or
    /// parse (unit file, drop-in, EnvironmentFile), with why: the unit's
    /// environment is then unknown and the checks judging it say error.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// Unit search path of the system manager, highest priority first.
// See: systemd.unit(5) "UNIT FILE LOAD PATH" (Table 1) and `systemd-analyze unit-paths` on
// systemd 252, which adds the `*.attached` portable-service directories and, on Debian,
// both /lib/systemd/system and /usr/lib/systemd/system. The brief's four directories are a
// subset; the others are where `systemctl set-property`, `systemctl edit --runtime`,
// portablectl and generators put units, and /usr/local/lib beats /lib (verified).
pub const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system.control",
    "/run/systemd/system.control",
    "/run/systemd/transient",
    "/run/systemd/generator.early",
    "/etc/systemd/system",
    "/etc/systemd/system.attached",
    "/run/systemd/system",
    "/run/systemd/system.attached",
    "/run/systemd/generator",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/run/systemd/generator.late",
];

const SERVICE_SUFFIX: &str = ".service";

/// Every service unit whose name contains "barbican" found in the unit search path
/// ([`UNIT_DIRS`]: /etc/systemd/system, /run/systemd/system, /lib/systemd/system,
/// /usr/lib/systemd/system and the other directories of systemd's search path; first dir wins
/// for the fragment; drop-ins from all dirs, merged by file name with the same precedence,
/// applied in file-name order), with its effective environment.
///
/// Masks: a fragment whose target (via [`Fs::read_link`]) is `/dev/null`, or that reads as
/// empty (systemd masks empty unit files too, and a symlink to `/dev/null` read on a live
/// root is empty), is masked: no drop-ins or environment apply. A fragment that is listed but
/// cannot be read with `NotFound` is a dangling symlink; in an offline root a symlink to
/// `/dev/null` looks exactly like that. systemd does not fall back to a lower-priority copy in
/// either case (verified), so the unit is masked or not-found and its environment is empty;
/// a problem says so. Problems that concern the whole scan (an unlistable unit directory) are
/// repeated in every unit; [`barbican_units_report`] returns them separately.
pub fn barbican_units(fs: &dyn Fs) -> Vec<Unit> {
    let (mut units, scan_problems) = barbican_units_report(fs);
    for u in &mut units {
        u.problems.extend(scan_problems.iter().cloned());
    }
    units
}

/// The units, and every file or directory the auditor could not read while
/// finding them and computing their environment (unit directories that
/// cannot be listed, unit files, drop-ins, EnvironmentFiles). Fail closed:
/// with a unit directory unlistable, "no barbican unit" is not known.
pub fn barbican_units_checked(fs: &dyn Fs) -> (Vec<Unit>, Vec<(PathBuf, String)>) {
    let mut scan = Scanner {
        fs,
        listings: BTreeMap::new(),
        scan_problems: Vec::new(),
        unlistable: Vec::new(),
    };
    let mut units = all_units(&mut scan);
    let mut unreadable = scan.unlistable.clone();
    for u in &mut units {
        u.problems.extend(scan.scan_problems.iter().cloned());
        for x in &u.unreadable {
            if !unreadable.contains(x) {
                unreadable.push(x.clone());
            }
        }
    }
    (units, unreadable)
}

/// Like [`barbican_units`] but returns scan-wide problems separately instead of copying them
/// into every unit (so they are not lost when no unit is found).
pub fn barbican_units_report(fs: &dyn Fs) -> (Vec<Unit>, Vec<String>) {
    let mut scan = Scanner {
        fs,
        listings: BTreeMap::new(),
        scan_problems: Vec::new(),
        unlistable: Vec::new(),
    };
    let units = all_units(&mut scan);
    (units, scan.scan_problems)
}

/// Every barbican service unit of the search path.
fn all_units(scan: &mut Scanner<'_>) -> Vec<Unit> {
    let mut names = BTreeSet::new();
    for dir in UNIT_DIRS {
        for entry in scan.listing(Path::new(dir)) {
            if !entry.contains("barbican") || is_auditor_unit(&entry) {
                continue;
            }
            if let Some(unit) = entry.strip_suffix(".d") {
                // A drop-in directory for a unit without a fragment in the search path still
                // matters: the fragment may come from a generator that only runs on a live
                // system. Prefix directories (`barbican-.service.d`) are not units.
                // See: systemd.unit(5) on "foo-.service.d/" prefix drop-ins.
                if service_name_kind(unit).is_some() && !unit_name_prefix(unit).ends_with('-') {
                    names.insert(unit.to_string());
                }
            } else if service_name_kind(&entry).is_some() {
                names.insert(entry);
            }
        }
    }
    names.iter().map(|n| scan.unit(n)).collect()
}

/// This program's own units (`barbican-audit.service`, `barbican-audit-agent.service`,
/// `barbican-audit-collector.service`, their drop-in directories and any `barbican-audit-*`
/// or `barbican-audit@` unit): their names contain "barbican" but they are not Barbican
/// services, and oslo.config never reads their environment. Judging them made BAR-011 list
/// the auditor itself on every node where it is installed.
fn is_auditor_unit(entry: &str) -> bool {
    let unit = entry.strip_suffix(".d").unwrap_or(entry);
    let prefix = unit_name_prefix(unit);
    prefix == "barbican-audit" || prefix.starts_with("barbican-audit-")
}

struct Scanner<'a> {
    fs: &'a dyn Fs,
    listings: BTreeMap<PathBuf, Vec<String>>,
    scan_problems: Vec<String>,
    /// Directories that could not be listed, with why.
    unlistable: Vec<(PathBuf, String)>,
}

impl Scanner<'_> {
    /// File names in `dir`, sorted; missing directories are empty. Names that are not UTF-8
    /// are skipped: they cannot be valid unit names or `.conf` drop-ins systemd would match
    /// against our names.
    fn listing(&mut self, dir: &Path) -> Vec<String> {
        if let Some(l) = self.listings.get(dir) {
            return l.clone();
        }
        let mut names: Vec<String> = match self.fs.list_dir(dir) {
            Ok(entries) => entries
                .iter()
                .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_string))
                .collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            // ENOTDIR: a file where a directory would be holds no units.
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOTDIR) => Vec::new(),
            Err(e) => {
                self.scan_problems.push(format!(
                    "{}: cannot list directory ({}); units or drop-ins in it are not audited",
                    dir.display(),
                    e
                ));
                self.unlistable.push((
                    dir.to_path_buf(),
                    format!("cannot list the unit directory: {e}"),
                ));
                Vec::new()
            }
        };
        names.sort();
        names.dedup();
        self.listings.insert(dir.to_path_buf(), names.clone());
        names
    }

    fn unit(&mut self, name: &str) -> Unit {
        let mut unit = Unit {
            name: name.to_string(),
            fragment: None,
            dropins: Vec::new(),
            env: Vec::new(),
            env_files: Vec::new(),
            problems: Vec::new(),
            unreadable: Vec::new(),
        };
        // See: systemd.unit(5) "UNIT FILE LOAD PATH": units found in directories listed
        // earlier override files with the same name in directories lower in the list.
        // Hidden files are never units. See: src/basic/path-util.c hidden_or_backup_file().
        for dir in UNIT_DIRS {
            if self.listing(Path::new(dir)).iter().any(|e| e == name) {
                unit.fragment = Some(Path::new(dir).join(name));
                break;
            }
        }

        let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        match unit.fragment.clone() {
            Some(frag) => match self.load_fragment(&frag, &mut unit.problems) {
                Fragment::Masked => return unit,
                Fragment::Text(t) => files.push((frag, t)),
                Fragment::Unreadable(why) => unit
                    .unreadable
                    .push((frag, format!("cannot read the unit file: {why}"))),
            },
            None => unit.problems.push(format!(
                "{}: no unit file in the unit search path, only drop-ins; systemd reports it \
                 not-found unless a generator creates it at boot; environment computed from \
                 the drop-ins alone",
                name
            )),
        }

        for dropin in self.dropins(name) {
            match self.read_dropin(&dropin, &mut unit.problems) {
                Ok(Some(text)) => files.push((dropin.clone(), text)),
                Ok(None) => {}
                Err(why) => unit
                    .unreadable
                    .push((dropin.clone(), format!("cannot read the drop-in: {why}"))),
            }
            unit.dropins.push(dropin);
        }

        let mut env: Vec<Assignment> = Vec::new();
        let mut env_files: Vec<(PathBuf, bool, PathBuf, usize)> = Vec::new();
        for (path, text) in &files {
            for d in parse_unit_file(text, path, &mut unit.problems) {
                let at = format!("{}:{}", path.display(), d.line);
                if d.value.contains('%') {
                    unit.problems.push(format!(
                        "{}: {}= contains '%' specifiers; kept literal here, systemd expands \
                         them (%% -> %, %i -> instance, unknown ones drop the word)",
                        at, d.key
                    ));
                }
                match d.key.as_str() {
                    "Environment" => {
                        // See: systemd.exec(5) Environment=: "If the empty string is assigned
                        // to this option, the list of environment variables is reset".
                        if d.value.is_empty() {
                            env.clear();
                            continue;
                        }
                        let p = parse_environment_value_detailed(&d.value);
                        for (name, value) in p.pairs {
                            set_env(
                                &mut env,
                                Assignment {
                                    name,
                                    value,
                                    file: path.clone(),
                                    line: d.line,
                                    via: Via::Environment,
                                },
                            );
                        }
                        for bad in p.ignored {
                            unit.problems.push(format!("{}: {}", at, bad));
                        }
                        if let Some(err) = p.error {
                            unit.problems.push(format!(
                                "{}: Environment= {}; systemd ignores the rest of this line \
                                 (assignments before it still apply)",
                                at, err
                            ));
                        }
                    }
                    "EnvironmentFile" => {
                        if d.value.is_empty() {
                            env_files.clear();
                            continue;
                        }
                        // See: src/core/load-fragment.c config_parse_unit_env_file(): the
                        // whole value is one path, optionally prefixed with "-", no quoting;
                        // path_simplify_and_warn(PATH_CHECK_ABSOLUTE) drops relative or
                        // non-normalized ("..") paths.
                        let (optional, raw) = match d.value.strip_prefix('-') {
                            Some(rest) => (true, rest),
                            None => (false, d.value.as_str()),
                        };
                        match simplify_abs_path(raw) {
                            Ok(p) => env_files.push((p, optional, path.clone(), d.line)),
                            Err(why) => unit.problems.push(format!(
                                "{}: EnvironmentFile={} {}; systemd ignores this directive",
                                at, d.value, why
                            )),
                        }
                    }
                    _ => {}
                }
            }
        }

        // See: systemd.exec(5) EnvironmentFile=: "Settings from these files override settings
        // made with Environment=", files read in the order specified. The merge keeps the
        // position of a variable's first occurrence. See: src/basic/env-util.c env_append().
        for (pattern, optional, ufile, uline) in &env_files {
            for envfile in
                self.expand_env_file(pattern, *optional, ufile, *uline, &mut unit.problems)
            {
                let data = match self.fs.read(&envfile) {
                    Ok(d) => d,
                    Err(e) if e.kind() == io::ErrorKind::NotFound && *optional => continue,
                    Err(e) => {
                        // Missing and required is a fact (the unit does not start);
                        // anything else leaves the environment unknown.
                        if e.kind() != io::ErrorKind::NotFound {
                            unit.unreadable.push((
                                envfile.clone(),
                                format!("cannot read the EnvironmentFile: {e}"),
                            ));
                        }
                        let effect = if *optional {
                            "optional, systemd would skip it if it cannot read it either; the auditor could not check it"
                        } else if e.kind() == io::ErrorKind::NotFound {
                            "required and missing: systemd refuses to start the unit"
                        } else {
                            "required: the auditor could not read it"
                        };
                        unit.problems.push(format!(
                            "{}:{}: EnvironmentFile {}: {} ({})",
                            ufile.display(),
                            uline,
                            envfile.display(),
                            e,
                            effect
                        ));
                        continue;
                    }
                };
                let parsed = parse_env_file_bytes(&data);
                if let Some(err) = &parsed.error {
                    unit.unreadable.push((
                        envfile.clone(),
                        format!("cannot parse the EnvironmentFile: {err}"),
                    ));
                    let effect = if *optional {
                        "systemd skips the whole file"
                    } else {
                        "systemd fails to start the unit"
                    };
                    unit.problems
                        .push(format!("{}: {}; {}", envfile.display(), err, effect));
                    continue;
                }
                for (line, msg) in parsed.notes {
                    unit.problems
                        .push(format!("{}:{}: {}", envfile.display(), line, msg));
                }
                for (name, value, line) in parsed.pairs {
                    set_env(
                        &mut env,
                        Assignment {
                            name,
                            value,
                            file: envfile.clone(),
                            line,
                            via: Via::EnvironmentFile(envfile.clone()),
                        },
                    );
                }
            }
        }
        unit.env = env;
        unit.env_files = env_files;
        unit
    }

    fn load_fragment(&mut self, frag: &Path, problems: &mut Vec<String>) -> Fragment {
        if self
            .fs
            .read_link(frag)
            .is_ok_and(|target| target == Path::new("/dev/null"))
        {
            problems.push(format!(
                "{}: masked (symlink to /dev/null); systemd will not start the unit, its \
                     drop-ins and environment are not effective",
                frag.display()
            ));
            return Fragment::Masked;
        }
        match self.fs.read(frag) {
            // See: systemd.unit(5): "If a unit file is empty (i.e. has the file size 0) or is
            // symlinked to /dev/null, its configuration will not be loaded and it appears with
            // a load state of "masked"".
            Ok(t) if t.is_empty() => {
                problems.push(format!(
                    "{}: masked (empty file or symlink to /dev/null); systemd will not start \
                     the unit, its drop-ins and environment are not effective",
                    frag.display()
                ));
                Fragment::Masked
            }
            Ok(t) => Fragment::Text(t),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let target = match self.fs.read_link(frag) {
                    Ok(t) => format!(" -> {}", t.display()),
                    Err(_) => String::new(),
                };
                problems.push(format!(
                    "{}{}: listed but not readable (dangling symlink; in an offline root a mask, \
                     i.e. a symlink to /dev/null, looks like this); systemd does not fall back \
                     to lower-priority copies, so the unit is masked or not-found and no \
                     environment is effective",
                    frag.display(),
                    target
                ));
                Fragment::Masked
            }
            Err(e) => {
                problems.push(format!(
                    "{}: cannot read unit file ({}); its Environment= settings are not audited",
                    frag.display(),
                    e
                ));
                Fragment::Unreadable(e.to_string())
            }
        }
    }

    /// Drop-in files for `name`, in application order.
    // See: src/shared/dropin.c unit_file_find_dropin_paths()/unit_file_find_dirs(): for each
    // search directory (in priority order) the name's own `.d`, its template's, then each
    // dash-prefix (`barbican-api.service` -> `barbican-.service.d`); after all of those the
    // top-level `service.d` of every directory. conf_files_list_strv() keeps the first file of
    // each basename in that directory order and sorts the survivors by basename. Verified with
    // systemd-analyze verify: /etc/.../barbican-.service.d/50-x.conf beats
    // /lib/.../barbican-api.service.d/50-x.conf, and /lib/.../barbican-.service.d/15-p.conf
    // beats /etc/.../service.d/15-p.conf.
    fn dropins(&mut self, name: &str) -> Vec<PathBuf> {
        let expanded = dropin_names(name);
        let mut dirs: Vec<PathBuf> = Vec::new();
        for dir in UNIT_DIRS {
            for n in &expanded {
                dirs.push(Path::new(dir).join(format!("{}.d", n)));
            }
        }
        for dir in UNIT_DIRS {
            dirs.push(Path::new(dir).join("service.d"));
        }
        let mut chosen: BTreeMap<String, PathBuf> = BTreeMap::new();
        for d in dirs {
            for entry in self.listing(&d) {
                // See: src/basic/conf-files.c files_add(): only "*.conf", hidden files
                // (leading '.') skipped.
                if entry.starts_with('.') || !entry.ends_with(".conf") {
                    continue;
                }
                let path = d.join(&entry);
                chosen.entry(entry).or_insert(path);
            }
        }
        chosen.into_values().collect()
    }

    fn read_dropin(
        &mut self,
        path: &Path,
        problems: &mut Vec<String>,
    ) -> Result<Option<Vec<u8>>, String> {
        // A drop-in symlinked to /dev/null (or empty) masks same-named lower drop-ins and
        // contributes nothing. See: systemd.unit(5) example "ln -s /dev/null .../10-all.conf".
        if self
            .fs
            .read_link(path)
            .is_ok_and(|t| t == Path::new("/dev/null"))
        {
            return Ok(None);
        }
        match self.fs.read(path) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                problems.push(format!(
                    "{}: listed but not readable (dangling symlink, e.g. a mask to /dev/null in \
                     an offline root); systemd reads nothing from it, but it still hides \
                     same-named drop-ins of lower priority",
                    path.display()
                ));
                Ok(None)
            }
            Err(e) => {
                problems.push(format!(
                    "{}: cannot read drop-in ({}); its Environment= settings are not audited",
                    path.display(),
                    e
                ));
                Err(e.to_string())
            }
        }
    }

    /// Expands an `EnvironmentFile=` path that may be a glob.
    // See: systemd.exec(5) EnvironmentFile=: "an absolute filename or wildcard expression";
    // src/core/execute.c exec_context_load_environment() uses safe_glob(): no match is
    // ENOENT (fatal unless "-"), results sorted, wildcards do not match a leading '.'.
    fn expand_env_file(
        &mut self,
        pattern: &Path,
        optional: bool,
        ufile: &Path,
        uline: usize,
        problems: &mut Vec<String>,
    ) -> Vec<PathBuf> {
        let s = pattern.to_string_lossy();
        if !s.contains(['*', '?', '[']) {
            return vec![pattern.to_path_buf()];
        }
        let (parent, last) = match (
            pattern.parent(),
            pattern.file_name().and_then(|n| n.to_str()),
        ) {
            (Some(p), Some(l)) => (p.to_path_buf(), l.to_string()),
            _ => return Vec::new(),
        };
        if parent.to_string_lossy().contains(['*', '?', '[']) {
            problems.push(format!(
                "{}:{}: EnvironmentFile={}: wildcards in directory components are not expanded \
                 by the auditor; files it matches are not audited",
                ufile.display(),
                uline,
                pattern.display()
            ));
            return Vec::new();
        }
        let found: Vec<PathBuf> = self
            .listing(&parent)
            .iter()
            .filter(|n| glob_match(last.as_bytes(), n.as_bytes()))
            .map(|n| parent.join(n))
            .collect();
        if found.is_empty() && !optional {
            problems.push(format!(
                "{}:{}: EnvironmentFile={} matches no file (required: systemd refuses to start \
                 the unit)",
                ufile.display(),
                uline,
                pattern.display()
            ));
        }
        found
    }
}

enum Fragment {
    Masked,
    Text(Vec<u8>),
    Unreadable(String),
}

fn set_env(env: &mut Vec<Assignment>, a: Assignment) {
    // See: src/basic/env-util.c strv_env_replace_consume(): a later setting of the same name
    // replaces the earlier one in place (verified: `DUP=1 OTHER=x` then `DUP=2` dumps DUP
    // before OTHER).
    match env.iter_mut().find(|x| x.name == a.name) {
        Some(slot) => *slot = a,
        None => env.push(a),
    }
}

// ---------------------------------------------------------------------------------------
// Unit names
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameKind {
    Plain,
    Template,
    Instance,
}

/// Classifies a `*.service` name, `None` if systemd would not accept it as a unit name.
// See: src/basic/unit-name.c unit_name_is_valid(): at most 255 bytes, characters
// [A-Za-z0-9:_.\-] plus one '@', non-empty prefix, known type suffix.
fn service_name_kind(name: &str) -> Option<NameKind> {
    if name.len() > 255 || name.starts_with('.') {
        return None;
    }
    let stem = name.strip_suffix(SERVICE_SUFFIX)?;
    if stem.is_empty() {
        return None;
    }
    if !stem
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b":-_.\\@".contains(&b))
    {
        return None;
    }
    match stem.split_once('@') {
        None => Some(NameKind::Plain),
        Some((prefix, inst)) => {
            if prefix.is_empty() || inst.contains('@') {
                None
            } else if inst.is_empty() {
                Some(NameKind::Template)
            } else {
                Some(NameKind::Instance)
            }
        }
    }
}

/// Part before '@' (or before the type suffix). See: src/basic/unit-name.c unit_name_to_prefix().
fn unit_name_prefix(name: &str) -> &str {
    let stem = name.strip_suffix(SERVICE_SUFFIX).unwrap_or(name);
    match stem.split_once('@') {
        Some((p, _)) => p,
        None => stem,
    }
}

/// The names whose `.d` directories hold drop-ins for `name`, most specific first.
// See: src/shared/dropin.c unit_file_find_dirs(): the name, its template (for instances),
// then recursively the name truncated after each dash ("foo-bar-baz" -> "foo-bar-", "foo-"),
// keeping the instance, with the exact chop rules reproduced below.
fn dropin_names(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    expand_dropin_names(name, &mut out, 0);
    out
}

fn expand_dropin_names(name: &str, out: &mut Vec<String>, depth: usize) {
    // Each step strictly shortens the prefix; the depth bound only guards against a logic
    // error turning into unbounded recursion on hostile names.
    if depth > 300 {
        return;
    }
    out.push(name.to_string());
    let kind = match service_name_kind(name) {
        Some(k) => k,
        None => return,
    };
    let stem = name.strip_suffix(SERVICE_SUFFIX).unwrap_or(name);
    let instance = match stem.split_once('@') {
        Some((_, i)) if kind == NameKind::Instance => Some(i.to_string()),
        _ => None,
    };
    if instance.is_some() {
        let template = format!("{}@{}", unit_name_prefix(name), SERVICE_SUFFIX);
        expand_dropin_names(&template, out, depth + 1);
    }
    let mut prefix = unit_name_prefix(name).to_string();
    let mut chopped = false;
    loop {
        let n = match prefix.rfind('-') {
            Some(n) => n,
            None => return,
        };
        if n == 0 {
            return;
        }
        if n + 1 < prefix.len() || chopped {
            prefix.truncate(n + 1);
            break;
        }
        prefix.truncate(n);
        chopped = true;
    }
    let built = match &instance {
        Some(i) => format!("{}@{}{}", prefix, i, SERVICE_SUFFIX),
        None => format!("{}{}", prefix, SERVICE_SUFFIX),
    };
    expand_dropin_names(&built, out, depth + 1);
}

// ---------------------------------------------------------------------------------------
// Unit file syntax
// ---------------------------------------------------------------------------------------

/// One `Environment=`/`EnvironmentFile=` directive of the `[Service]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Directive {
    key: String,
    value: String,
    line: usize,
}

/// systemd's whitespace set. See: src/basic/string-util.h WHITESPACE.
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn trim_ws(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_ws(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_ws(b)).map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

/// Splits into physical lines like systemd's read_line(): "\n", "\r", "\0" and the pairs
/// "\r\n"/"\n\r" (each optionally followed by "\0") end a line.
// See: src/basic/fileio.c read_line_full() comment listing the accepted EOL markers.
fn physical_lines(data: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < data.len() {
        let c = data[i];
        if c == b'\n' || c == b'\r' || c == 0 {
            lines.push(&data[start..i]);
            i += 1;
            if c != 0 {
                let other = if c == b'\n' { b'\r' } else { b'\n' };
                if data.get(i) == Some(&other) {
                    i += 1;
                }
                if data.get(i) == Some(&0) {
                    i += 1;
                }
            }
            start = i;
        } else {
            i += 1;
        }
    }
    if start < data.len() {
        lines.push(&data[start..]);
    }
    lines
}

/// Parses one unit file / drop-in and returns the `[Service]` `Environment=` and
/// `EnvironmentFile=` directives in order. Syntax problems go to `problems`.
// See: systemd.syntax(7) and src/shared/conf-parser.c config_parse()/parse_line():
// - a line ending in an unescaped backslash is joined with the next, the backslash becoming
//   a space; comment lines inside such a continuation are skipped;
// - a comment line is never itself continued (verified: a "# ... \" line does not swallow
//   the next directive);
// - a pending continuation at EOF is still parsed (verified);
// - sections and keys are case-sensitive; whitespace around '=' is stripped;
// - a UTF-8 BOM at the very start is skipped.
fn parse_unit_file(data: &[u8], path: &Path, problems: &mut Vec<String>) -> Vec<Directive> {
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    let mut out = Vec::new();
    let mut section: Option<String> = None;
    let mut continuation: Option<(Vec<u8>, usize)> = None;
    let lines = physical_lines(data);
    let mut handle = |logical: &[u8],
                      line: usize,
                      section: &mut Option<String>,
                      out: &mut Vec<Directive>| {
        let l = trim_ws(logical);
        if l.is_empty() || l[0] == b'#' || l[0] == b';' {
            return;
        }
        let text = match std::str::from_utf8(l) {
            Ok(t) => t,
            Err(_) => {
                // See: src/shared/conf-parser.c parse_line(): "String is not UTF-8 clean";
                // on systemd 252 the unit then fails to load (verified). Keep going so that
                // the rest of the file is still audited.
                problems.push(format!(
                    "{}:{}: line is not valid UTF-8; systemd fails to load this unit",
                    path.display(),
                    line
                ));
                return;
            }
        };
        if let Some(rest) = text.strip_prefix('[') {
            match rest.strip_suffix(']') {
                Some(name) => *section = Some(name.to_string()),
                None => {
                    // The line is not quoted: it may be a pasted secret.
                    problems.push(format!(
                            "{}:{}: invalid section header (a '[' line without ']'; not shown); systemd fails to load this unit",
                            path.display(),
                            line,
                        ));
                    *section = None;
                }
            }
            return;
        }
        let (key, value) = match text.split_once('=') {
            Some((k, v)) => (trim_ws_str(k), trim_ws_str(v)),
            None => return, // systemd: "Missing '=', ignoring line."
        };
        if section.as_deref() == Some("Service")
            && (key == "Environment" || key == "EnvironmentFile")
        {
            out.push(Directive {
                key: key.to_string(),
                value: value.to_string(),
                line,
            });
        }
    };
    for (idx, raw) in lines.iter().enumerate() {
        let line = idx + 1;
        let (mut logical, start) = match continuation.take() {
            Some((mut acc, start)) => {
                let first = raw.iter().copied().find(|&b| !is_ws(b));
                if matches!(first, Some(b'#') | Some(b';')) {
                    continuation = Some((acc, start));
                    continue;
                }
                acc.extend_from_slice(raw);
                (acc, start)
            }
            None => {
                let first = raw.iter().copied().find(|&b| !is_ws(b));
                if matches!(first, Some(b'#') | Some(b';')) {
                    continue;
                }
                (raw.to_vec(), line)
            }
        };
        // Only the newly read physical line needs scanning: the previous part ended in a
        // backslash that became a space, which leaves the escape state "not escaped". This
        // keeps long continuation chains linear.
        let mut escaped = false;
        for &b in *raw {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            }
        }
        if escaped {
            if let Some(last) = logical.last_mut() {
                *last = b' ';
            }
            continuation = Some((logical, start));
            continue;
        }
        handle(&logical, start, &mut section, &mut out);
    }
    if let Some((logical, start)) = continuation.take() {
        handle(&logical, start, &mut section, &mut out);
    }
    out
}

fn trim_ws_str(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t' || c == '\n' || c == '\r')
}

// ---------------------------------------------------------------------------------------
// Environment= values
// ---------------------------------------------------------------------------------------

/// Detailed result of parsing one `Environment=` value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvValueParse {
    /// Valid assignments in order (a later duplicate is also listed; it wins).
    pub pairs: Vec<(String, String)>,
    /// Words systemd ignores with "Invalid environment assignment" (bad name, no '=',
    /// invalid UTF-8 after unescaping), as messages.
    pub ignored: Vec<String>,
    /// Syntax error (unbalanced quote, bad escape): systemd stops at that word and ignores the
    /// rest of the line; `pairs` holds what came before.
    pub error: Option<String>,
}

/// Parses the value of one `Environment=` line into (name, value) pairs (systemd quoting rules).
///
/// Errors on what systemd would log: unbalanced quotes or an unknown/invalid escape (systemd
/// then ignores the rest of the line) and assignments it ignores (invalid name, missing '=').
/// Use [`parse_environment_value_detailed`] for the partial result systemd actually applies.
pub fn parse_environment_value(v: &str) -> Result<Vec<(String, String)>, String> {
    let p = parse_environment_value_detailed(v);
    if let Some(e) = p.error {
        return Err(e);
    }
    if let Some(first) = p.ignored.into_iter().next() {
        return Err(first);
    }
    Ok(p.pairs)
}

/// Splits like `extract_first_word(..., EXTRACT_CUNESCAPE|EXTRACT_UNQUOTE)` and validates
/// each word like `env_assignment_is_valid()`.
// See: src/core/load-fragment.c config_parse_environ(); src/basic/extract-word.c;
// systemd.syntax(7) "QUOTING". Verified on systemd 252:
//   "A=b c" 'D=e f'        -> A="b c", D="e f"
//   MID="x y"z             -> MID="x yz"   (quotes may open mid-word, as in a shell)
//   '\t' inside '...'      -> TAB          (escapes are processed in single quotes too)
//   \q, \0, \x4, \777, \x00, \u0000, \U00110000, \Ud800, unbalanced quote -> syntax error
//   \xc3\xa9 / \303\251    -> "é"          (\x and octal insert raw bytes)
//   \x80, \ud800           -> invalid UTF-8 -> that word ignored, line continues
//   1BAD=x, -X=z, NOEQ, =v, ""           -> word ignored, line continues
//   control characters (\x01, \n) are accepted in values despite systemd.exec(5)'s wording.
pub fn parse_environment_value_detailed(v: &str) -> EnvValueParse {
    let mut res = EnvValueParse::default();
    let b = v.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            return res;
        }
        let mut word: Vec<u8> = Vec::new();
        let mut quote: Option<u8> = None;
        while i < b.len() {
            let c = b[i];
            if c == b'\\' {
                match cunescape_one(&b[i + 1..]) {
                    Some((bytes, used)) => {
                        word.extend_from_slice(&bytes);
                        i += 1 + used;
                    }
                    None => {
                        // The sequence is part of the value (maybe a secret): not quoted.
                        res.error = Some(
                            "invalid escape sequence (a backslash systemd does not accept; the value is not shown)"
                                .to_string(),
                        );
                        return res;
                    }
                }
                continue;
            }
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => word.push(c),
                None if c == b'"' || c == b'\'' => quote = Some(c),
                None if is_ws(c) => break,
                None => word.push(c),
            }
            i += 1;
        }
        if quote.is_some() {
            res.error = Some("unbalanced quoting".to_string());
            return res;
        }
        match env_assignment(&word) {
            Some(pair) => res.pairs.push(pair),
            // The word may be a secret pasted without a name: never quoted.
            None => res.ignored.push(
                "invalid environment assignment (no NAME= before the value; the word is not shown), systemd ignores it"
                    .to_string(),
            ),
        }
    }
}

/// One C-style escape after a backslash: returns the bytes it stands for and how many input
/// bytes it used, `None` if systemd rejects it.
// See: src/basic/escape.c cunescape_one() and systemd.syntax(7) Table 1. \x and octal give a
// raw byte ("eight_bit"), \u/\U a UTF-8 encoded code point; NUL is never allowed; \U checks
// unichar_is_valid(), \u does not (a surrogate then fails the later UTF-8 check).
fn cunescape_one(p: &[u8]) -> Option<(Vec<u8>, usize)> {
    let c = *p.first()?;
    let simple = match c {
        b'a' => Some(0x07),
        b'b' => Some(0x08),
        b'f' => Some(0x0c),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'v' => Some(0x0b),
        b'\\' => Some(b'\\'),
        b'"' => Some(b'"'),
        b'\'' => Some(b'\''),
        b's' => Some(b' '),
        _ => None,
    };
    if let Some(s) = simple {
        return Some((vec![s], 1));
    }
    let hex = |n: usize| -> Option<u32> {
        let digits = p.get(1..1 + n)?;
        let mut v: u32 = 0;
        for &d in digits {
            v = (v << 4) | (d as char).to_digit(16)?;
        }
        Some(v)
    };
    match c {
        b'x' => {
            let v = hex(2)?;
            if v == 0 {
                return None;
            }
            Some((vec![v as u8], 3))
        }
        b'u' => {
            let v = hex(4)?;
            if v == 0 {
                return None;
            }
            Some((encode_utf8_raw(v), 5))
        }
        b'U' => {
            let v = hex(8)?;
            if v == 0 || !unichar_is_valid(v) {
                return None;
            }
            Some((encode_utf8_raw(v), 9))
        }
        b'0'..=b'7' => {
            let digits = p.get(0..3)?;
            let mut v: u32 = 0;
            for &d in digits {
                if !(b'0'..=b'7').contains(&d) {
                    return None;
                }
                v = (v << 3) | u32::from(d - b'0');
            }
            if v == 0 || v > 255 {
                return None;
            }
            Some((vec![v as u8], 3))
        }
        _ => None,
    }
}

/// UTF-8 encoding without validity checks (surrogates included), like utf8_encode_unichar().
fn encode_utf8_raw(cp: u32) -> Vec<u8> {
    if cp < 0x80 {
        vec![cp as u8]
    } else if cp < 0x800 {
        vec![0xc0 | (cp >> 6) as u8, 0x80 | (cp & 0x3f) as u8]
    } else if cp < 0x10000 {
        vec![
            0xe0 | (cp >> 12) as u8,
            0x80 | ((cp >> 6) & 0x3f) as u8,
            0x80 | (cp & 0x3f) as u8,
        ]
    } else {
        vec![
            0xf0 | ((cp >> 18) & 0x07) as u8,
            0x80 | ((cp >> 12) & 0x3f) as u8,
            0x80 | ((cp >> 6) & 0x3f) as u8,
            0x80 | (cp & 0x3f) as u8,
        ]
    }
}

// See: src/basic/utf8.c unichar_is_valid(): no surrogates, no U+FDD0..U+FDEF, no U+xFFFE/xFFFF.
fn unichar_is_valid(c: u32) -> bool {
    c < 0x110000
        && (c & 0xffff_f800) != 0xd800
        && !(0xfdd0..=0xfdef).contains(&c)
        && (c & 0xfffe) != 0xfffe
}

/// systemd's utf8_is_valid(): well-formed UTF-8 whose code points pass unichar_is_valid().
fn sd_utf8(bytes: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(bytes).ok()?;
    if s.chars().all(|c| unichar_is_valid(c as u32)) {
        Some(s)
    } else {
        None
    }
}

/// See: src/basic/env-util.c env_name_is_valid(): non-empty, not starting with a digit,
/// only ASCII letters, digits and '_'.
fn env_name_is_valid(name: &str) -> bool {
    !name.is_empty()
        && !name.as_bytes()[0].is_ascii_digit()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// See: src/basic/env-util.c env_assignment_is_valid().
fn env_assignment(word: &[u8]) -> Option<(String, String)> {
    let s = sd_utf8(word)?;
    let (name, value) = s.split_once('=')?;
    if !env_name_is_valid(name) {
        return None;
    }
    Some((name.to_string(), value.to_string()))
}

// ---------------------------------------------------------------------------------------
// EnvironmentFile= contents
// ---------------------------------------------------------------------------------------

/// Detailed result of parsing an environment file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvFileParse {
    /// (name, value, line of the name) for every assignment systemd keeps, in file order; a
    /// later duplicate is listed too and wins.
    pub pairs: Vec<(String, String, usize)>,
    /// (line, message) for assignments systemd drops (invalid names such as `export FOO`)
    /// and version-dependent readings.
    pub notes: Vec<(usize, String)>,
    /// The file as a whole is rejected by systemd (invalid UTF-8 in a key or value, NUL byte).
    pub error: Option<String>,
}

/// Parses an EnvironmentFile.
///
/// Returns (name, value, 1-based line) for every assignment systemd would export, in file
/// order (for duplicates the last one wins). `export KEY=VAL` lines are **not** exported by
/// systemd (the key "export KEY" is not a valid name and is dropped), so they are not
/// returned; see [`parse_environment_file_detailed`] for the dropped lines.
pub fn parse_environment_file(text: &str) -> Vec<(String, String, usize)> {
    parse_env_file_bytes(text.as_bytes()).pairs
}

/// [`parse_environment_file`] with dropped lines and whole-file errors.
pub fn parse_environment_file_detailed(data: &[u8]) -> EnvFileParse {
    parse_env_file_bytes(data)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EnvState {
    PreKey,
    Key,
    PreValue,
    Value,
    ValueEscape,
    SingleQuote,
    DoubleQuote,
    DoubleQuoteEscape,
    Comment,
    CommentEscape,
}

// See: src/basic/env-file.c parse_env_file_internal() (state machine reproduced here) and
// load_env_file_push(); src/core/execute.c exec_context_load_environment() then drops invalid
// names via strv_env_clean_with_callback(). Verified with libsystemd-shared-252.so:
//   "export FOO=bar"            -> dropped ("export FOO" is not a valid name)
//   "  KEY = value with  spaces  " -> KEY="value with  spaces"
//   Q1="a \"b\" \$x \n"         -> a "b" $x \n   (only \" \\ \` \$ and \<newline> unescape)
//   Q2='sq \n x'                -> verbatim
//   U=a\ b\\c\qd                -> "a b\cqd"     (unquoted: backslash keeps next char)
//   MIX=x"y z"w                 -> x"y z"w       (quotes after the first char are literal)
//   TRAIL="q" junk              -> qjunk
//   invalid UTF-8 in a key or value, or a NUL byte -> the whole file is rejected.
// systemd < 254 also continued a comment ending in a backslash onto the next line; newer
// versions do not (src/basic/env-file.c COMMENT_ESCAPE, "since v254"). The newer reading is
// used because it reports more variables; such lines get a note.
fn parse_env_file_bytes(data: &[u8]) -> EnvFileParse {
    let mut res = EnvFileParse::default();
    if let Some(pos) = data.iter().position(|&b| b == 0) {
        // See: src/basic/fileio.c read_full_file(): embedded NUL -> EBADMSG (verified: -74).
        res.error = Some(format!("NUL byte at offset {}", pos));
        return res;
    }
    let mut state = EnvState::PreKey;
    let mut key: Vec<u8> = Vec::new();
    let mut value: Vec<u8> = Vec::new();
    let mut last_key_ws: Option<usize> = None;
    let mut last_value_ws: Option<usize> = None;
    let mut line = 1usize;
    let mut key_line = 1usize;
    let mut comment_continued = false;
    let mut raw: Vec<(Vec<u8>, Vec<u8>, usize)> = Vec::new();

    let finish = |key: &mut Vec<u8>,
                  value: &mut Vec<u8>,
                  last_key_ws: Option<usize>,
                  key_line: usize,
                  raw: &mut Vec<(Vec<u8>, Vec<u8>, usize)>| {
        if let Some(k) = last_key_ws {
            key.truncate(k);
        }
        raw.push((std::mem::take(key), std::mem::take(value), key_line));
    };

    for &c in data {
        let newline = c == b'\n' || c == b'\r';
        match state {
            EnvState::PreKey => {
                if c == b'#' || c == b';' {
                    state = EnvState::Comment;
                    comment_continued = false;
                } else if !is_ws(c) {
                    state = EnvState::Key;
                    last_key_ws = None;
                    key_line = line;
                    if comment_continued {
                        res.notes.push((
                            line,
                            "follows a comment ending in a backslash: systemd >= 254 reads this \
                             line, systemd < 254 treats it as part of the comment"
                                .to_string(),
                        ));
                    }
                    comment_continued = false;
                    key.push(c);
                } else if c == b'\n' {
                    // systemd < 254 swallowed only the line right after the comment.
                    comment_continued = false;
                }
            }
            EnvState::Key => {
                if newline {
                    // A line without '=' is ignored. See: systemd.exec(5) EnvironmentFile=.
                    state = EnvState::PreKey;
                    key.clear();
                } else if c == b'=' {
                    state = EnvState::PreValue;
                    last_value_ws = None;
                } else {
                    if !is_ws(c) {
                        last_key_ws = None;
                    } else if last_key_ws.is_none() {
                        last_key_ws = Some(key.len());
                    }
                    key.push(c);
                }
            }
            EnvState::PreValue => {
                if newline {
                    state = EnvState::PreKey;
                    finish(&mut key, &mut value, last_key_ws, key_line, &mut raw);
                } else if c == b'\'' {
                    state = EnvState::SingleQuote;
                } else if c == b'"' {
                    state = EnvState::DoubleQuote;
                } else if c == b'\\' {
                    state = EnvState::ValueEscape;
                } else if !is_ws(c) {
                    state = EnvState::Value;
                    value.push(c);
                }
            }
            EnvState::Value => {
                if newline {
                    state = EnvState::PreKey;
                    if let Some(v) = last_value_ws {
                        value.truncate(v);
                    }
                    finish(&mut key, &mut value, last_key_ws, key_line, &mut raw);
                } else if c == b'\\' {
                    state = EnvState::ValueEscape;
                    last_value_ws = None;
                } else {
                    if !is_ws(c) {
                        last_value_ws = None;
                    } else if last_value_ws.is_none() {
                        last_value_ws = Some(value.len());
                    }
                    value.push(c);
                }
            }
            EnvState::ValueEscape => {
                state = EnvState::Value;
                if !newline {
                    value.push(c);
                }
            }
            EnvState::SingleQuote => {
                if c == b'\'' {
                    state = EnvState::PreValue;
                } else {
                    value.push(c);
                }
            }
            EnvState::DoubleQuote => {
                if c == b'"' {
                    state = EnvState::PreValue;
                } else if c == b'\\' {
                    state = EnvState::DoubleQuoteEscape;
                } else {
                    value.push(c);
                }
            }
            EnvState::DoubleQuoteEscape => {
                state = EnvState::DoubleQuote;
                // See: src/basic/string-util.h SHELL_NEED_ESCAPE "\"\\`$".
                if b"\"\\`$".contains(&c) {
                    value.push(c);
                } else if c != b'\n' {
                    value.push(b'\\');
                    value.push(c);
                }
            }
            EnvState::Comment => {
                if c == b'\\' {
                    state = EnvState::CommentEscape;
                } else if newline {
                    state = EnvState::PreKey;
                }
            }
            EnvState::CommentEscape => {
                if newline {
                    state = EnvState::PreKey;
                    comment_continued = true;
                } else {
                    state = EnvState::Comment;
                }
            }
        }
        if c == b'\n' {
            line += 1;
        }
    }
    match state {
        EnvState::PreValue
        | EnvState::Value
        | EnvState::ValueEscape
        | EnvState::SingleQuote
        | EnvState::DoubleQuote
        | EnvState::DoubleQuoteEscape => {
            if let (EnvState::Value, Some(v)) = (state, last_value_ws) {
                value.truncate(v);
            }
            finish(&mut key, &mut value, last_key_ws, key_line, &mut raw);
        }
        _ => {}
    }

    for (k, v, l) in raw {
        // See: src/basic/env-file.c check_utf8ness_and_warn(): an invalid key or value
        // fails the whole load_env_file() call (verified: -EINVAL, nothing exported).
        let (ks, vs) = match (sd_utf8(&k), sd_utf8(&v)) {
            (Some(ks), Some(vs)) => (ks, vs),
            _ => {
                res.pairs.clear();
                res.error = Some(format!("line {}: invalid UTF-8 in key or value", l));
                return res;
            }
        };
        if env_name_is_valid(ks) {
            res.pairs.push((ks.to_string(), vs.to_string(), l));
        } else {
            let hint = if ks.starts_with("export") && ks.len() > 6 && is_ws(ks.as_bytes()[6]) {
                " (systemd does not understand the shell 'export' prefix)"
            } else {
                ""
            };
            res.notes.push((
                l,
                // The "name" may be a secret pasted onto a line: never quoted.
                format!(
                    "not a valid variable name (not shown); systemd ignores this assignment{}",
                    hint
                ),
            ));
        }
    }
    res
}

// ---------------------------------------------------------------------------------------
// Paths and globs
// ---------------------------------------------------------------------------------------

/// See: src/basic/path-util.c path_simplify_and_warn(PATH_CHECK_ABSOLUTE): absolute, "//"
/// and "/./" collapsed, ".." refused (not normalized).
fn simplify_abs_path(raw: &str) -> Result<PathBuf, &'static str> {
    if !raw.starts_with('/') {
        return Err("is not an absolute path");
    }
    let mut out = PathBuf::from("/");
    for comp in Path::new(raw).components() {
        match comp {
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir => return Err("contains '..' (not normalized)"),
            Component::Normal(n) => out.push(n),
            Component::Prefix(_) => return Err("is not a valid path"),
        }
    }
    Ok(out)
}

/// fnmatch(3)-style match of one path component: `*`, `?`, `[...]` (with `!`/`^` negation
/// and ranges), `\` escapes; a leading '.' must be matched literally (glob(3) default).
/// Greedy with a single backtrack point, so hostile patterns cost O(pattern * name).
fn glob_match(pat: &[u8], name: &[u8]) -> bool {
    if name.first() == Some(&b'.') && pat.first() != Some(&b'.') {
        return false;
    }
    let (mut p, mut n) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pat.len() {
            if pat[p] == b'*' {
                star = Some((p + 1, n));
                p += 1;
                continue;
            }
            if let Some(used) = glob_one(pat, p, name[n]) {
                p += used;
                n += 1;
                continue;
            }
        }
        match star {
            Some((sp, sn)) => {
                p = sp;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    while p < pat.len() && pat[p] == b'*' {
        p += 1;
    }
    p == pat.len()
}

/// Matches the single pattern element at `pat[p]` (not `*`) against `c`; returns how many
/// pattern bytes it used.
fn glob_one(pat: &[u8], p: usize, c: u8) -> Option<usize> {
    match pat[p] {
        b'?' => Some(1),
        b'[' => {
            let mut q = p + 1;
            let negate = matches!(pat.get(q), Some(b'!') | Some(b'^'));
            if negate {
                q += 1;
            }
            let mut matched = false;
            let mut first = true;
            while q < pat.len() {
                if pat[q] == b']' && !first {
                    return if matched != negate {
                        Some(q + 1 - p)
                    } else {
                        None
                    };
                }
                first = false;
                let lo = pat[q];
                if pat.get(q + 1) == Some(&b'-') && pat.get(q + 2).is_some_and(|&h| h != b']') {
                    let hi = pat[q + 2];
                    matched |= lo <= c && c <= hi;
                    q += 3;
                } else {
                    matched |= lo == c;
                    q += 1;
                }
            }
            // An unterminated '[' is a literal character.
            if c == b'[' {
                Some(1)
            } else {
                None
            }
        }
        b'\\' if p + 1 < pat.len() => {
            if pat[p + 1] == c {
                Some(2)
            } else {
                None
            }
        }
        lit => {
            if lit == c {
                Some(1)
            } else {
                None
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// oslo.config environment names
// ---------------------------------------------------------------------------------------

/// `OS_SIMPLE_CRYPTO_PLUGIN__KEK` -> Some(("simple_crypto_plugin", "kek")); `OS_DEFAULT__X` -> ("DEFAULT", "x"); others None.
///
/// oslo.config builds the name as `'OS_{}__{}'.format(group.upper(), dest.upper())` with a
/// missing group written `DEFAULT`, and looks it up in `os.environ` case-sensitively, so only
/// names consisting of `[A-Z0-9_]` can ever be read. Option names with dashes are looked up by
/// their `dest` (dashes become underscores), so `auth-url` is `..__AUTH_URL` and is returned
/// as `auth_url`. The split is at the first `__` (group names do not contain `__`). The group
/// is returned lowercased (oslo group names are lowercase by convention; the mapping itself
/// is not invertible for mixed-case groups), except `DEFAULT`.
// See: oslo.config's oslo_config/sources/_environment.py get_name(), and cfg.py
// ConfigOpts._do_get() which passes the option's dest. Verified with Debian 12's
// python3-oslo.config (oslo.config 9.0.0): OS_SIMPLE_CRYPTO_PLUGIN__KEK, OS_DEFAULT__TRANSPORT_URL and
// OS_KEYSTONE_AUTHTOKEN__AUTH_URL (opt 'auth-url') are read; OS_VAULT_PLUGIN__root_token_id
// is not.
pub fn oslo_env_option(var: &str) -> Option<(String, String)> {
    let rest = var.strip_prefix("OS_")?;
    if !rest
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    let (group, option) = rest.split_once("__")?;
    if group.is_empty() || option.is_empty() {
        return None;
    }
    let group = if group == "DEFAULT" {
        "DEFAULT".to_string()
    } else {
        group.to_ascii_lowercase()
    };
    Some((group, option.to_ascii_lowercase()))
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    enum Node {
        File(Vec<u8>),
        Link(PathBuf),
        Dir,
        Denied,
    }

    /// In-memory root. Symlinks are resolved inside the root (like an offline audit of an
    /// image), so a link to /dev/null is dangling unless /dev/null is added.
    #[derive(Default)]
    struct MemFs {
        nodes: BTreeMap<PathBuf, Node>,
        with_read_link: bool,
    }

    impl MemFs {
        fn new() -> Self {
            Self::default()
        }
        fn add_parents(&mut self, p: &Path) {
            let mut cur = p.parent();
            while let Some(d) = cur {
                self.nodes.entry(d.to_path_buf()).or_insert(Node::Dir);
                cur = d.parent();
            }
        }
        fn file(mut self, p: &str, data: &str) -> Self {
            self.add_parents(Path::new(p));
            self.nodes
                .insert(PathBuf::from(p), Node::File(data.as_bytes().to_vec()));
            self
        }
        fn bytes(mut self, p: &str, data: &[u8]) -> Self {
            self.add_parents(Path::new(p));
            self.nodes
                .insert(PathBuf::from(p), Node::File(data.to_vec()));
            self
        }
        fn link(mut self, p: &str, target: &str) -> Self {
            self.add_parents(Path::new(p));
            self.nodes
                .insert(PathBuf::from(p), Node::Link(PathBuf::from(target)));
            self
        }
        fn denied(mut self, p: &str) -> Self {
            self.add_parents(Path::new(p));
            self.nodes.insert(PathBuf::from(p), Node::Denied);
            self
        }
    }

    impl Fs for MemFs {
        fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
            let mut p = path.to_path_buf();
            for _ in 0..10 {
                match self.nodes.get(&p) {
                    Some(Node::File(d)) => return Ok(d.clone()),
                    Some(Node::Link(t)) => p = t.clone(),
                    Some(Node::Dir) => return Err(io::Error::other("is a directory")),
                    Some(Node::Denied) => {
                        return Err(io::Error::new(io::ErrorKind::PermissionDenied, "denied"));
                    }
                    None => return Err(io::Error::new(io::ErrorKind::NotFound, "not found")),
                }
            }
            Err(io::Error::other("too many links"))
        }
        fn list_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
            match self.nodes.get(path) {
                Some(Node::Dir) => {}
                Some(Node::Denied) => {
                    return Err(io::Error::new(io::ErrorKind::PermissionDenied, "denied"));
                }
                Some(_) => return Err(io::Error::other("not a directory")),
                None => return Err(io::Error::new(io::ErrorKind::NotFound, "not found")),
            }
            Ok(self
                .nodes
                .keys()
                .filter(|k| k.parent() == Some(path))
                .cloned()
                .collect())
        }
        fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
            if !self.with_read_link {
                return Err(io::Error::new(io::ErrorKind::Unsupported, "no"));
            }
            match self.nodes.get(path) {
                Some(Node::Link(t)) => Ok(t.clone()),
                _ => Err(io::Error::new(io::ErrorKind::InvalidInput, "not a link")),
            }
        }
    }

    const VENDOR: &str = "[Unit]\nDescription=Barbican API\n[Service]\nExecStart=/usr/bin/barbican-api\nEnvironment=LANG=C.UTF-8\n";

    fn unit<'a>(units: &'a [Unit], name: &str) -> &'a Unit {
        match units.iter().find(|u| u.name == name) {
            Some(u) => u,
            None => panic!(
                "unit {} not found in {:?}",
                name,
                units.iter().map(|u| &u.name).collect::<Vec<_>>()
            ),
        }
    }

    fn env_of(u: &Unit) -> Vec<(String, String)> {
        u.env
            .iter()
            .map(|a| (a.name.clone(), a.value.clone()))
            .collect()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn the_auditors_own_units_are_not_barbican_services() {
        let auditor = "[Service]\nExecStart=/usr/bin/barbican-audit audit\n";
        let fs = MemFs::new()
            .file("/lib/systemd/system/barbican-api.service", VENDOR)
            .file("/lib/systemd/system/barbican-audit.service", auditor)
            .file("/lib/systemd/system/barbican-audit.timer", "[Timer]\n")
            .file("/lib/systemd/system/barbican-audit-agent.service", auditor)
            .file(
                "/lib/systemd/system/barbican-audit-collector.service",
                auditor,
            )
            .file("/etc/systemd/system/barbican-audit@.service", auditor)
            .file(
                "/etc/systemd/system/barbican-audit.service.d/override.conf",
                "[Service]\nEnvironment=OS_SIMPLE_CRYPTO_PLUGIN__KEK=x\n",
            )
            // Barbican services whose names merely start alike are still judged.
            .file("/etc/systemd/system/barbican-auditd-proxy.service", VENDOR)
            .file("/etc/systemd/system/barbican-worker.service", VENDOR);
        let (units, problems) = barbican_units_report(&fs);
        let names: Vec<&str> = units.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "barbican-api.service",
                "barbican-auditd-proxy.service",
                "barbican-worker.service"
            ]
        );
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn dropin_override_conf_sets_os_simple_crypto_plugin_kek_absent_from_vendor_unit() {
        let fs = MemFs::new()
            .file("/lib/systemd/system/barbican-api.service", VENDOR)
            .file(
                "/etc/systemd/system/barbican-api.service.d/override.conf",
                "[Service]\nEnvironment=OS_SIMPLE_CRYPTO_PLUGIN__KEK=dGhpcnR5dHdvYnl0ZXNrZXk=\n",
            );
        let units = barbican_units(&fs);
        assert_eq!(units.len(), 1);
        let u = unit(&units, "barbican-api.service");
        assert_eq!(
            u.fragment,
            Some(PathBuf::from("/lib/systemd/system/barbican-api.service"))
        );
        assert_eq!(
            u.dropins,
            vec![PathBuf::from(
                "/etc/systemd/system/barbican-api.service.d/override.conf"
            )]
        );
        let kek = u
            .env
            .iter()
            .find(|a| a.name == "OS_SIMPLE_CRYPTO_PLUGIN__KEK");
        let kek = match kek {
            Some(k) => k,
            None => panic!("KEK not found: {:?}", u.env),
        };
        assert_eq!(kek.value, "dGhpcnR5dHdvYnl0ZXNrZXk=");
        assert_eq!(
            kek.file,
            PathBuf::from("/etc/systemd/system/barbican-api.service.d/override.conf")
        );
        assert_eq!(kek.line, 2);
        assert_eq!(kek.via, Via::Environment);
        assert_eq!(
            oslo_env_option(&kek.name),
            Some(("simple_crypto_plugin".into(), "kek".into()))
        );
        assert_eq!(
            env_of(u),
            pairs(&[
                ("LANG", "C.UTF-8"),
                ("OS_SIMPLE_CRYPTO_PLUGIN__KEK", "dGhpcnR5dHdvYnl0ZXNrZXk=")
            ])
        );
        assert!(u.problems.is_empty(), "{:?}", u.problems);
    }

    #[test]
    fn double_and_single_quoted_assignments_keep_spaces() {
        assert_eq!(
            parse_environment_value(r#""A=b c" 'D=e f'"#),
            Ok(pairs(&[("A", "b c"), ("D", "e f")]))
        );
        // Verified on systemd 252: quotes may open mid-word and escapes work in both quotes.
        assert_eq!(
            parse_environment_value(r#"MID="x y"z NEXT=1"#),
            Ok(pairs(&[("MID", "x yz"), ("NEXT", "1")]))
        );
        assert_eq!(
            parse_environment_value(r#"SQ='a\tb' Q="a\"b\\c""#),
            Ok(pairs(&[("SQ", "a\tb"), ("Q", "a\"b\\c")]))
        );
        assert_eq!(
            parse_environment_value(r#""VAR1=word1 word2" VAR2=word3 "VAR3=$word 5 6""#),
            Ok(pairs(&[
                ("VAR1", "word1 word2"),
                ("VAR2", "word3"),
                ("VAR3", "$word 5 6")
            ]))
        );
    }

    #[test]
    fn c_escapes_follow_systemd_252() {
        assert_eq!(
            parse_environment_value(
                r"ESC=a\x41\tb\\c\sd\u00e9 OCT=\101 U1=\xc3\xa9 U2=\303\251 BIG=\U0001F600"
            ),
            Ok(pairs(&[
                ("ESC", "aA\tb\\c dé"),
                ("OCT", "A"),
                ("U1", "é"),
                ("U2", "é"),
                ("BIG", "😀")
            ]))
        );
        for bad in [
            r"A=\q",
            r"A=\0 X=1",
            r"A=\x4",
            r"A=\777",
            r"A=\x00",
            r"A=\u0000",
            r"A=\U00110000",
            r"A=\Ud800",
            "A=b\\",
        ] {
            let d = parse_environment_value_detailed(bad);
            assert!(d.error.is_some(), "{} should be a syntax error", bad);
            assert!(d.pairs.is_empty());
        }
        // Raw invalid UTF-8 or a surrogate via \u only drops that word.
        let d = parse_environment_value_detailed(r"EIGHT=\x80 SUR=\ud800 E2=ok");
        assert_eq!(d.pairs, pairs(&[("E2", "ok")]));
        assert_eq!(d.ignored.len(), 2);
        assert_eq!(d.error, None);
        // Control characters are accepted (verified), '$' is literal.
        assert_eq!(
            parse_environment_value(r"CTRL=a\x01b D=$HOME"),
            Ok(pairs(&[("CTRL", "a\u{1}b"), ("D", "$HOME")]))
        );
    }

    #[test]
    fn syntax_error_keeps_assignments_before_it_and_invalid_names_are_skipped() {
        let d = parse_environment_value_detailed(r#"FIRST=1 B="x"y"z" "UNBAL=2 LATER=3"#);
        assert_eq!(d.pairs, pairs(&[("FIRST", "1"), ("B", "xyz")]));
        assert!(d.error.is_some());
        assert!(parse_environment_value(r#"FIRST=1 "UNBAL=2"#).is_err());
        let d = parse_environment_value_detailed(r#"1BAD=x GOOD=y -X=z NOEQ =v EMPTYV= """#);
        assert_eq!(d.pairs, pairs(&[("GOOD", "y"), ("EMPTYV", "")]));
        assert_eq!(d.ignored.len(), 5);
        assert!(parse_environment_value("1BAD=x GOOD=y").is_err());
        assert_eq!(parse_environment_value(""), Ok(vec![]));
        assert_eq!(parse_environment_value("  \t "), Ok(vec![]));
    }

    #[test]
    fn empty_environment_in_later_dropin_resets_earlier_assignments() {
        let fs = MemFs::new()
            .file(
                "/lib/systemd/system/barbican-worker.service",
                "[Service]\nEnvironment=A=1 B=2\n",
            )
            .file(
                "/etc/systemd/system/barbican-worker.service.d/10-kek.conf",
                "[Service]\nEnvironment=OS_SIMPLE_CRYPTO_PLUGIN__KEK=secret\n",
            )
            .file(
                "/etc/systemd/system/barbican-worker.service.d/20-reset.conf",
                "[Service]\nEnvironment=\nEnvironment=C=3\n",
            );
        let units = barbican_units(&fs);
        let u = unit(&units, "barbican-worker.service");
        assert_eq!(env_of(u), pairs(&[("C", "3")]));
        assert_eq!(
            u.env[0].file,
            PathBuf::from("/etc/systemd/system/barbican-worker.service.d/20-reset.conf")
        );
        assert_eq!(u.env[0].line, 3);
        assert_eq!(u.dropins.len(), 2);
    }

    #[test]
    fn etc_fragment_shadows_lib_fragment() {
        let fs = MemFs::new()
            .file(
                "/lib/systemd/system/barbican-api.service",
                "[Service]\nEnvironment=FROM=lib OS_DEFAULT__TRANSPORT_URL=rabbit://x:pw@h\n",
            )
            .file(
                "/usr/lib/systemd/system/barbican-api.service",
                "[Service]\nEnvironment=FROM=usrlib\n",
            )
            .file(
                "/etc/systemd/system/barbican-api.service",
                "[Service]\nEnvironment=FROM=etc\n",
            );
        let units = barbican_units(&fs);
        assert_eq!(units.len(), 1);
        let u = unit(&units, "barbican-api.service");
        assert_eq!(
            u.fragment,
            Some(PathBuf::from("/etc/systemd/system/barbican-api.service"))
        );
        assert_eq!(env_of(u), pairs(&[("FROM", "etc")]));
        // /usr/local/lib sits above /lib in systemd's search path (verified).
        let fs = MemFs::new()
            .file(
                "/lib/systemd/system/barbican-api.service",
                "[Service]\nEnvironment=FROM=lib\n",
            )
            .file(
                "/usr/local/lib/systemd/system/barbican-api.service",
                "[Service]\nEnvironment=FROM=usrlocal\n",
            );
        let units = barbican_units(&fs);
        assert_eq!(
            env_of(unit(&units, "barbican-api.service")),
            pairs(&[("FROM", "usrlocal")])
        );
    }

    #[test]
    fn etc_dropin_with_same_name_shadows_lib_dropin_and_order_is_by_file_name() {
        // Mirrors the /tmp root checked with `systemd-analyze --root=... verify`.
        let fs = MemFs::new()
            .file(
                "/lib/systemd/system/barbican-api.service",
                "[Service]\nEnvironment=FROM=lib-fragment\n",
            )
            .file(
                "/etc/systemd/system/barbican-api.service",
                "[Service]\nEnvironment=FROM=etc-fragment\n",
            )
            .file(
                "/lib/systemd/system/barbican-api.service.d/10-a.conf",
                "[Service]\nEnvironment=X=lib-10\n",
            )
            .file(
                "/etc/systemd/system/barbican-api.service.d/10-a.conf",
                "[Service]\nEnvironment=X=etc-10\n",
            )
            .file(
                "/lib/systemd/system/barbican-api.service.d/05-b.conf",
                "[Service]\nEnvironment=Y=lib-05\n",
            )
            .file(
                "/run/systemd/system/barbican-api.service.d/20-c.conf",
                "[Service]\nEnvironment=Z=run-20\n",
            )
            .file(
                "/lib/systemd/system/barbican-.service.d/10-a.conf",
                "[Service]\nEnvironment=P=prefix-10\n",
            )
            .file(
                "/lib/systemd/system/barbican-.service.d/15-p.conf",
                "[Service]\nEnvironment=P=prefix-15\n",
            )
            .file(
                "/etc/systemd/system/service.d/15-p.conf",
                "[Service]\nEnvironment=T=type-15\n",
            )
            .file(
                "/etc/systemd/system/service.d/01-t.conf",
                "[Service]\nEnvironment=T=type-01\n",
            );
        let units = barbican_units(&fs);
        assert_eq!(
            units.len(),
            1,
            "prefix dir barbican-.service.d is not a unit"
        );
        let u = unit(&units, "barbican-api.service");
        let expect_dropins: Vec<PathBuf> = [
            "/etc/systemd/system/service.d/01-t.conf",
            "/lib/systemd/system/barbican-api.service.d/05-b.conf",
            "/etc/systemd/system/barbican-api.service.d/10-a.conf",
            "/lib/systemd/system/barbican-.service.d/15-p.conf",
            "/run/systemd/system/barbican-api.service.d/20-c.conf",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(u.dropins, expect_dropins);
        assert_eq!(
            env_of(u),
            pairs(&[
                ("FROM", "etc-fragment"),
                ("T", "type-01"),
                ("Y", "lib-05"),
                ("X", "etc-10"),
                ("P", "prefix-15"),
                ("Z", "run-20")
            ])
        );
    }

    #[test]
    fn etc_prefix_dropin_beats_lib_exact_name_dropin_of_same_file_name() {
        let fs = MemFs::new()
            .file(
                "/lib/systemd/system/barbican-keystone-listener.service",
                "[Service]\n",
            )
            .file(
                "/etc/systemd/system/barbican-.service.d/50-x.conf",
                "[Service]\nEnvironment=X=etc-prefix\n",
            )
            .file(
                "/lib/systemd/system/barbican-keystone-listener.service.d/50-x.conf",
                "[Service]\nEnvironment=X=lib-specific\n",
            )
            .file(
                "/lib/systemd/system/barbican-keystone-.service.d/60-y.conf",
                "[Service]\nEnvironment=Y=mid-prefix\n",
            );
        let units = barbican_units(&fs);
        let u = unit(&units, "barbican-keystone-listener.service");
        assert_eq!(
            env_of(u),
            pairs(&[("X", "etc-prefix"), ("Y", "mid-prefix")])
        );
        assert_eq!(
            dropin_names("barbican-keystone-listener.service"),
            vec![
                "barbican-keystone-listener.service",
                "barbican-keystone-.service",
                "barbican-.service"
            ]
        );
        assert_eq!(
            dropin_names("a-b@i.service"),
            vec![
                "a-b@i.service",
                "a-b@.service",
                "a-.service",
                "a-@i.service",
                "a-@.service"
            ]
        );
        assert_eq!(
            dropin_names("a--b.service"),
            vec!["a--b.service", "a--.service", "a-.service"]
        );
    }

    #[test]
    fn optional_missing_environment_file_is_not_a_problem() {
        let fs = MemFs::new().file(
            "/lib/systemd/system/barbican-api.service",
            "[Service]\nEnvironmentFile=-/etc/barbican/env\nEnvironment=A=1\n",
        );
        let units = barbican_units(&fs);
        let u = unit(&units, "barbican-api.service");
        assert_eq!(
            u.env_files,
            vec![(
                PathBuf::from("/etc/barbican/env"),
                true,
                PathBuf::from("/lib/systemd/system/barbican-api.service"),
                2
            )]
        );
        assert!(u.problems.is_empty(), "{:?}", u.problems);
        assert_eq!(env_of(u), pairs(&[("A", "1")]));
    }

    #[test]
    fn required_missing_environment_file_is_a_problem() {
        let fs = MemFs::new().file(
            "/lib/systemd/system/barbican-api.service",
            "[Service]\nEnvironmentFile=/etc/barbican/env\n",
        );
        let units = barbican_units(&fs);
        let u = unit(&units, "barbican-api.service");
        assert_eq!(u.env_files.len(), 1);
        assert!(!u.env_files[0].1);
        assert_eq!(u.problems.len(), 1, "{:?}", u.problems);
        assert!(
            u.problems[0].contains("/lib/systemd/system/barbican-api.service:2"),
            "{}",
            u.problems[0]
        );
        assert!(
            u.problems[0].contains("refuses to start"),
            "{}",
            u.problems[0]
        );
    }

    #[test]
    fn optional_but_unreadable_environment_file_is_reported() {
        let fs = MemFs::new()
            .file(
                "/lib/systemd/system/barbican-api.service",
                "[Service]\nEnvironmentFile=-/etc/barbican/env\n",
            )
            .denied("/etc/barbican/env");
        let u = &barbican_units(&fs)[0];
        assert_eq!(u.problems.len(), 1, "{:?}", u.problems);
        assert!(u.problems[0].contains("could not check"));
    }

    #[test]
    fn environment_file_overrides_environment_in_place_and_records_its_location() {
        let fs = MemFs::new()
            .file(
                "/lib/systemd/system/barbican-api.service",
                "[Service]\nEnvironment=A=1 OS_P11_CRYPTO_PLUGIN__LOGIN=unit B=2\nEnvironmentFile=/etc/barbican/env\n",
            )
            .file("/etc/barbican/env", "# secrets\nOS_P11_CRYPTO_PLUGIN__LOGIN=pin1234\nC=3\n");
        let u = &barbican_units(&fs)[0];
        assert_eq!(
            env_of(u),
            pairs(&[
                ("A", "1"),
                ("OS_P11_CRYPTO_PLUGIN__LOGIN", "pin1234"),
                ("B", "2"),
                ("C", "3")
            ])
        );
        let login = &u.env[1];
        assert_eq!(login.file, PathBuf::from("/etc/barbican/env"));
        assert_eq!(login.line, 2);
        assert_eq!(
            login.via,
            Via::EnvironmentFile(PathBuf::from("/etc/barbican/env"))
        );
        // An empty EnvironmentFile= resets the list.
        let fs = MemFs::new()
            .file(
                "/lib/systemd/system/barbican-api.service",
                "[Service]\nEnvironmentFile=/etc/barbican/env\n",
            )
            .file(
                "/etc/systemd/system/barbican-api.service.d/x.conf",
                "[Service]\nEnvironmentFile=\n",
            )
            .file("/etc/barbican/env", "K=v\n");
        let u = &barbican_units(&fs)[0];
        assert!(
            u.env_files.is_empty() && u.env.is_empty() && u.problems.is_empty(),
            "{:?}",
            u
        );
    }

    #[test]
    fn environment_file_glob_and_bad_paths() {
        let fs = MemFs::new()
            .file(
                "/lib/systemd/system/barbican-api.service",
                "[Service]\nEnvironmentFile=/etc/barbican/env.d/*.env\nEnvironmentFile=-relative/env\nEnvironmentFile=/etc/../etc/x\nEnvironmentFile=/etc/none/*.env\n",
            )
            .file("/etc/barbican/env.d/b.env", "B=2\n")
            .file("/etc/barbican/env.d/a.env", "A=1\nB=1\n")
            .file("/etc/barbican/env.d/.hidden.env", "H=1\n")
            .file("/etc/barbican/env.d/c.txt", "C=1\n");
        let u = &barbican_units(&fs)[0];
        assert_eq!(env_of(u), pairs(&[("A", "1"), ("B", "2")]));
        assert_eq!(u.env_files.len(), 2);
        assert_eq!(u.problems.len(), 3, "{:?}", u.problems);
        assert!(glob_match(b"[a-c]?.env", b"b1.env"));
        assert!(!glob_match(b"[!a-c]*", b"b1.env"));
        assert!(glob_match(b"x\\*", b"x*"));
    }

    #[test]
    fn continuation_lines_are_joined_with_a_space() {
        let fs = MemFs::new().file(
            "/lib/systemd/system/barbican-api.service",
            "[Service]\nEnvironment=CONT=one \\\n   two\nEnvironment=G=a\\\nH=1\nEnvironment=TRAILBS=a\\\\\nEnvironment=\"Q=x \\\n y\"\nEnvironment=LAST=1 \\",
        );
        let u = &barbican_units(&fs)[0];
        // "two" alone is an invalid assignment (verified on systemd 252).
        assert_eq!(
            env_of(u),
            pairs(&[
                ("CONT", "one"),
                ("G", "a"),
                ("H", "1"),
                ("TRAILBS", "a\\"),
                ("Q", "x   y"),
                ("LAST", "1")
            ])
        );
        assert_eq!(u.env[0].line, 2);
        assert_eq!(u.env[2].line, 4);
        assert_eq!(u.problems.len(), 1, "{:?}", u.problems);
        assert!(
            // The word is never quoted (it may be a secret without a name).
            u.problems[0].contains(":2: invalid environment assignment (no NAME=")
                && !u.problems[0].contains("two"),
            "{}",
            u.problems[0]
        );
    }

    #[test]
    fn comments_are_ignored_also_inside_continuations() {
        let fs = MemFs::new().file(
            "/lib/systemd/system/barbican-api.service",
            "# Environment=HASH=1\n; Environment=SEMI=1\n[Service]\n  # Environment=INDENTED=1\nEnvironment=C2=x\\\n# comment inside continuation\n; another\n  y\n# comment ending in backslash \\\nEnvironment=NOT_SWALLOWED=1\nEnvironment=A=1 #not-a-comment\n",
        );
        let u = &barbican_units(&fs)[0];
        assert_eq!(
            env_of(u),
            pairs(&[("C2", "x"), ("NOT_SWALLOWED", "1"), ("A", "1")])
        );
        // "y" and "#not-a-comment" are invalid assignments systemd ignores.
        assert_eq!(u.problems.len(), 2, "{:?}", u.problems);
    }

    #[test]
    fn sections_and_keys_are_case_sensitive_and_only_service_counts() {
        let fs = MemFs::new().file(
            "/lib/systemd/system/barbican-api.service",
            "Environment=OUTSIDE=1\n[Unit]\nEnvironment=INUNIT=1\n[service]\nEnvironment=LOWERSEC=1\n[Service]\nenvironment=LOWERKEY=1\n  Environment  =  SP=1  \nEnvironment = SPACED = v\n[Install]\nEnvironment=INSTALL=1\n",
        );
        let u = &barbican_units(&fs)[0];
        assert_eq!(env_of(u), pairs(&[("SP", "1")]));
    }

    #[test]
    fn export_prefix_in_environment_file_is_dropped_like_systemd() {
        // Verified with load_env_file() of libsystemd-shared-252: "export FOO=bar" yields the
        // assignment "export FOO=bar", which strv_env_clean() drops as an invalid name.
        let text = "export FOO=bar\nexport\tBAZ=1\nPLAIN=ok\n";
        assert_eq!(
            parse_environment_file(text),
            vec![("PLAIN".to_string(), "ok".to_string(), 3)]
        );
        let d = parse_environment_file_detailed(text.as_bytes());
        assert_eq!(d.notes.len(), 2);
        assert!(d.notes[0].1.contains("export"));
        let fs = MemFs::new()
            .file(
                "/lib/systemd/system/barbican-api.service",
                "[Service]\nEnvironmentFile=/etc/default/barbican\n",
            )
            .file(
                "/etc/default/barbican",
                "export OS_SIMPLE_CRYPTO_PLUGIN__KEK=abc\n",
            );
        let u = &barbican_units(&fs)[0];
        assert!(u.env.is_empty());
        assert_eq!(u.problems.len(), 1);
        assert!(
            u.problems[0].starts_with("/etc/default/barbican:1: not a valid variable name")
                && u.problems[0].contains("'export' prefix")
                && !u.problems[0].contains("OS_SIMPLE"),
            "{}",
            u.problems[0]
        );
    }

    #[test]
    fn environment_file_quoting_matches_systemd_252() {
        // Same input as the libsystemd-shared-252 check (misc.env).
        let text = "# c\n; c2\n  KEY = value with  spaces  \nQ1=\"a \\\"b\\\" \\$x \\n\"\nQ2='sq \\n x'\nU=a\\ b\\\\c\\qd\nCONT=abc\\\ndef\nML=\"line1\nline2\"\nNOEQ\nEMPTY=\nDUP=1\nDUP=2\n1BAD=x\nA-B=y\nMIX=x\"y z\"w\nTRAIL=\"q\" junk\n";
        let got: Vec<(String, String)> = parse_environment_file(text)
            .into_iter()
            .map(|(k, v, _)| (k, v))
            .collect();
        assert_eq!(
            got,
            pairs(&[
                ("KEY", "value with  spaces"),
                ("Q1", "a \"b\" $x \\n"),
                ("Q2", "sq \\n x"),
                ("U", "a b\\cqd"),
                ("CONT", "abcdef"),
                ("ML", "line1\nline2"),
                ("EMPTY", ""),
                ("DUP", "1"),
                ("DUP", "2"),
                ("MIX", "x\"y z\"w"),
                ("TRAIL", "qjunk"),
            ])
        );
        let lines: Vec<usize> = parse_environment_file(text).iter().map(|p| p.2).collect();
        assert_eq!(lines, vec![3, 4, 5, 6, 7, 9, 12, 13, 14, 17, 18]);
        assert_eq!(parse_environment_file("A=1\r\nB=2\r\n").len(), 2);
        assert_eq!(
            parse_environment_file("LAST=noeol"),
            vec![("LAST".into(), "noeol".into(), 1)]
        );
        assert_eq!(
            parse_environment_file("UQ=\"unterminated\nX=1\n"),
            vec![("UQ".into(), "unterminated\nX=1\n".into(), 1)]
        );
        // A comment ending in a backslash: systemd >= 254 reads the next line (noted).
        let d = parse_environment_file_detailed(b"# c \\\nAFTER=1\n");
        assert_eq!(d.pairs, vec![("AFTER".into(), "1".into(), 2)]);
        assert_eq!(d.notes.len(), 1);
        // Whole-file rejections (verified: -EINVAL / -EBADMSG).
        assert!(parse_environment_file_detailed(b"A=\xff\xfe\nB=ok\n")
            .error
            .is_some());
        assert!(parse_environment_file_detailed(b"A=1\nB=x\0y\n")
            .error
            .is_some());
        // Invalid UTF-8 inside a comment is fine.
        assert_eq!(
            parse_environment_file_detailed(b"# \xff\nA=1\n")
                .pairs
                .len(),
            1
        );
    }

    #[test]
    fn masked_unit_via_dev_null_symlink_has_no_effective_environment() {
        let base = || {
            MemFs::new()
                .file(
                    "/lib/systemd/system/barbican-keystone-listener.service",
                    "[Service]\nEnvironment=OS_X__PASSWORD=v\n",
                )
                .file(
                    "/lib/systemd/system/barbican-keystone-listener.service.d/a.conf",
                    "[Service]\nEnvironment=B=1\n",
                )
                .link(
                    "/etc/systemd/system/barbican-keystone-listener.service",
                    "/dev/null",
                )
        };
        // With read_link: exact.
        let mut fs = base();
        fs.with_read_link = true;
        let u = &barbican_units(&fs)[0];
        assert_eq!(
            u.fragment,
            Some(PathBuf::from(
                "/etc/systemd/system/barbican-keystone-listener.service"
            ))
        );
        assert!(u.env.is_empty() && u.dropins.is_empty());
        assert!(
            u.problems[0].contains("masked (symlink to /dev/null)"),
            "{:?}",
            u.problems
        );
        // Without read_link, offline root: dangling -> reported, no fallback to /lib.
        let u = &barbican_units(&base())[0];
        assert!(u.env.is_empty());
        assert!(
            u.problems[0].contains("dangling symlink"),
            "{:?}",
            u.problems
        );
        // Live root: /dev/null reads empty -> masked.
        let fs = base().file("/dev/null", "");
        let u = &barbican_units(&fs)[0];
        assert!(u.env.is_empty());
        assert!(
            u.problems[0].contains("masked (empty file"),
            "{:?}",
            u.problems
        );
        // Empty unit file masks too.
        let fs = MemFs::new()
            .file(
                "/lib/systemd/system/barbican-retry.service",
                "[Service]\nEnvironment=V=1\n",
            )
            .file("/etc/systemd/system/barbican-retry.service", "");
        let u = &barbican_units(&fs)[0];
        assert!(u.env.is_empty());
        assert!(u.problems[0].contains("masked"));
    }

    #[test]
    fn masked_or_dangling_dropin_hides_same_named_lower_dropin() {
        let mut fs = MemFs::new()
            .file("/lib/systemd/system/barbican-worker.service", "[Service]\n")
            .file(
                "/lib/systemd/system/barbican-worker.service.d/70-m.conf",
                "[Service]\nEnvironment=M=1\n",
            )
            .link(
                "/etc/systemd/system/barbican-worker.service.d/70-m.conf",
                "/dev/null",
            )
            .file(
                "/lib/systemd/system/barbican-worker.service.d/71-e.conf",
                "[Service]\nEnvironment=E=1\n",
            )
            .file(
                "/etc/systemd/system/barbican-worker.service.d/71-e.conf",
                "",
            )
            .file(
                "/etc/systemd/system/barbican-worker.service.d/.80-h.conf",
                "[Service]\nEnvironment=H=1\n",
            )
            .file(
                "/etc/systemd/system/barbican-worker.service.d/80-n.conf.bak",
                "[Service]\nEnvironment=N=1\n",
            );
        fs.with_read_link = true;
        let u = &barbican_units(&fs)[0];
        assert!(u.env.is_empty(), "{:?}", u.env);
        assert_eq!(u.dropins.len(), 2);
        assert!(u.problems.is_empty(), "{:?}", u.problems);
        fs.with_read_link = false;
        let u = &barbican_units(&fs)[0];
        assert!(u.env.is_empty());
        assert_eq!(u.problems.len(), 1, "{:?}", u.problems);
    }

    #[test]
    fn only_barbican_service_units_are_reported_including_dropin_only_ones() {
        let fs = MemFs::new()
            .file("/lib/systemd/system/barbican-api.service", "[Service]\n")
            .file("/lib/systemd/system/barbican-api.socket", "[Socket]\n")
            .file(
                "/lib/systemd/system/apache2.service",
                "[Service]\nEnvironment=X=1\n",
            )
            .file(
                "/lib/systemd/system/openstack-barbican-api.service",
                "[Service]\n",
            )
            .file(
                "/lib/systemd/system/barbican-worker@.service",
                "[Service]\nEnvironment=I=%i\n",
            )
            .file(
                "/lib/systemd/system/.barbican-hidden.service",
                "[Service]\n",
            )
            .file("/lib/systemd/system/barbican bad.service", "[Service]\n")
            .file(
                "/etc/systemd/system/barbican-gen.service.d/x.conf",
                "[Service]\nEnvironment=OS_VAULT_PLUGIN__ROOT_TOKEN_ID=s.abc\n",
            );
        let units = barbican_units(&fs);
        let names: Vec<&str> = units.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "barbican-api.service",
                "barbican-gen.service",
                "barbican-worker@.service",
                "openstack-barbican-api.service"
            ]
        );
        let generated = unit(&units, "barbican-gen.service");
        assert_eq!(generated.fragment, None);
        assert_eq!(
            env_of(generated),
            pairs(&[("OS_VAULT_PLUGIN__ROOT_TOKEN_ID", "s.abc")])
        );
        assert_eq!(generated.problems.len(), 1);
        let tpl = unit(&units, "barbican-worker@.service");
        assert_eq!(env_of(tpl), pairs(&[("I", "%i")]));
        assert!(tpl.problems[0].contains("specifiers"), "{:?}", tpl.problems);
    }

    #[test]
    fn unreadable_files_and_directories_are_problems() {
        let fs = MemFs::new()
            .file(
                "/etc/systemd/system/barbican-api.service.d/a.conf",
                "[Service]\nEnvironment=A=1\n",
            )
            .denied("/lib/systemd/system/barbican-api.service")
            .denied("/usr/lib/systemd/system");
        let (units, scan) = barbican_units_report(&fs);
        assert_eq!(scan.len(), 1, "{:?}", scan);
        let u = &units[0];
        assert_eq!(env_of(u), pairs(&[("A", "1")]));
        assert!(
            u.problems
                .iter()
                .any(|p| p.contains("cannot read unit file")),
            "{:?}",
            u.problems
        );
        let units = barbican_units(&fs);
        assert!(units[0]
            .problems
            .iter()
            .any(|p| p.contains("cannot list directory")));
    }

    #[test]
    fn invalid_section_header_and_non_utf8_lines_are_reported_but_rest_is_audited() {
        let fs = MemFs::new().bytes(
            "/lib/systemd/system/barbican-api.service",
            b"\xef\xbb\xbf[Service]\nEnvironment=\xff\xfeBAD=1\nEnvironment=AFTER=1\n[Service\nEnvironment=NOSECTION=1\n",
        );
        let u = &barbican_units(&fs)[0];
        assert_eq!(env_of(u), pairs(&[("AFTER", "1")]));
        assert_eq!(u.problems.len(), 2, "{:?}", u.problems);
        assert!(u.problems[0].contains(":2: line is not valid UTF-8"));
        assert!(u.problems[1].contains(":4: invalid section header"));
    }

    #[test]
    fn oslo_env_option_maps_like_oslo_config() {
        assert_eq!(
            oslo_env_option("OS_SIMPLE_CRYPTO_PLUGIN__KEK"),
            Some(("simple_crypto_plugin".into(), "kek".into()))
        );
        assert_eq!(
            oslo_env_option("OS_DEFAULT__X"),
            Some(("DEFAULT".into(), "x".into()))
        );
        assert_eq!(
            oslo_env_option("OS_DEFAULT__TRANSPORT_URL"),
            Some(("DEFAULT".into(), "transport_url".into()))
        );
        assert_eq!(
            oslo_env_option("OS_KEYSTONE_AUTHTOKEN__AUTH_URL"),
            Some(("keystone_authtoken".into(), "auth_url".into()))
        );
        assert_eq!(
            oslo_env_option("OS_VAULT_PLUGIN__ROOT_TOKEN_ID"),
            Some(("vault_plugin".into(), "root_token_id".into()))
        );
        assert_eq!(
            oslo_env_option("OS_A__B__C"),
            Some(("a".into(), "b__c".into()))
        );
        for none in [
            "OS_VAULT_PLUGIN__root_token_id",
            "os_default__x",
            "OS_DEFAULT_X",
            "OS___X",
            "OS_X__",
            "OS_",
            "",
            "PATH",
            "XOS_A__B",
            "OS_A-B__C",
        ] {
            assert_eq!(oslo_env_option(none), None, "{}", none);
        }
    }

    /// Deterministic pseudo-random bytes (xorshift) - no external crates.
    fn noise(seed: &mut u64, len: usize, alphabet: &[u8]) -> Vec<u8> {
        (0..len)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                alphabet[(*seed % alphabet.len() as u64) as usize]
            })
            .collect()
    }

    #[test]
    fn garbage_and_binary_input_do_not_panic() {
        let all: Vec<u8> = (0..=255u8).collect();
        let tricky = b"=\\\"' \t\r\n#;[]-%@xuU0123456789abcdefAZ_\xc3\xa9\xff";
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for round in 0..400 {
            let alphabet: &[u8] = if round % 2 == 0 { &all } else { tricky };
            let data = noise(&mut seed, (round * 7) % 300, alphabet);
            let _ = parse_environment_file_detailed(&data);
            let text = String::from_utf8_lossy(&data).into_owned();
            let _ = parse_environment_file(&text);
            let _ = parse_environment_value(&text);
            let _ = oslo_env_option(&text);
            let mut unit_file = b"[Service]\nEnvironment=".to_vec();
            unit_file.extend_from_slice(&data);
            let mut envf = b"[Service]\nEnvironmentFile=".to_vec();
            envf.extend_from_slice(&data);
            let fs = MemFs::new()
                .bytes("/lib/systemd/system/barbican-api.service", &unit_file)
                .bytes("/etc/systemd/system/barbican-api.service.d/x.conf", &envf)
                .bytes("/etc/systemd/system/barbican-api.service.d/y.conf", &data);
            let _ = barbican_units(&fs);
            let _ = glob_match(&data, b"name");
            let _ = glob_match(b"*", &data);
        }
        // Pathological but legal inputs.
        let _ = parse_environment_value(&"\\".repeat(1001));
        let _ = parse_environment_value(&"\"".repeat(1001));
        let _ = parse_unit_file(&b"\\\n".repeat(500), Path::new("/x"), &mut Vec::new());
        let long_name = format!("barbican{}.service", "-a".repeat(100));
        assert!(dropin_names(&long_name).len() == 101);
        let _ = glob_match(&b"*".repeat(40), &b"a".repeat(40));
        let mut hostile = b"*a".repeat(2000);
        hostile.push(b'b');
        assert!(!glob_match(&hostile, &b"a".repeat(5000)));
        let mut unit_file = b"[Service]\nEnvironment=A=1 \\\n".to_vec();
        unit_file.extend_from_slice(&b"x \\\n".repeat(100_000));
        assert_eq!(
            parse_unit_file(&unit_file, Path::new("/x"), &mut Vec::new()).len(),
            1
        );
    }
}
