//! What serves `/v1` on a root: the starter (a systemd unit's or init script's
//! `ExecStart`, kolla's `/run_command` or `config.json` `command`, an httpd
//! vhost's `WSGIScriptAlias`), the uwsgi ini, vassal or gunicorn config it
//! names, and the paste file that path loads, each with where it was found.
//!
//! Every WSGI entry point the tools use (`barbican.wsgi.api:application`,
//! `barbican/api/app.wsgi`, `/usr/bin/barbican-wsgi-api`) loads the hard-coded
//! `/etc/barbican/barbican-api-paste.ini` (barbican `api/app.py`
//! `get_api_wsgi_script`); only a uwsgi `paste =` (or `--paste`) or a gunicorn
//! `--paste` names another file. A uwsgi vassal is served only when an emperor
//! points at its directory or an `--ini` names it.
//!
//! The audit map is read only by keystonemiddleware's `audit` filter
//! (`audit_map_file`, barbican etc/barbican/barbican-api-paste.ini), so it is
//! in the set only when a served `/v1` chain has that filter.
use std::path::{Path, PathBuf};

use super::paste;
use super::systemd::UNIT_DIRS;
use crate::host::Host;

/// The paste file Barbican hard-codes (`barbican/api/app.py`).
pub const DEFAULT_PASTE: &str = "/etc/barbican/barbican-api-paste.ini";

/// The audit map of Barbican's stock paste file (`[filter:audit] audit_map_file`).
pub const DEFAULT_AUDIT_MAP: &str = "/etc/barbican/api_audit_map.conf";

/// Where kolla_set_configs writes the container's command (set_configs.py).
const RUN_COMMAND: &str = "/run_command";
/// kolla's (and TripleO's) container config, whose `command` `/run_command` copies.
const KOLLA_CONFIG: &str = "/var/lib/kolla/config_files/config.json";
/// The container's init command line, seen through `--root /proc/PID/root`.
const PID1_CMDLINE: &str = "/proc/1/cmdline";
/// httpd directories whose `*.conf` httpd includes: RDO/TripleO, Debian/Ubuntu.
const HTTPD_DIRS: &[&str] = &[
    "/etc/httpd/conf.d",
    "/etc/apache2/conf-enabled",
    "/etc/apache2/sites-enabled",
];

/// What a starter file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A systemd unit whose `ExecStart` starts the API.
    SystemdUnit,
    /// A SysV init script the unit runs (Debian's `/etc/init.d/barbican-api`).
    InitScript,
    /// The container command kolla_set_configs runs.
    KollaCommand,
    /// A uwsgi ini named by `--ini` (or as uwsgi's lone argument).
    UwsgiIni,
    /// A uwsgi vassal of an emperor's directory.
    UwsgiVassal,
    /// gunicorn's `-c` config (Python run by gunicorn).
    GunicornConfig,
    /// An httpd vhost whose `WSGIScriptAlias` names Barbican's WSGI script.
    HttpdVhost,
}

impl Kind {
    /// Whether BAR-001/BAR-002 judge it: the server's own configuration (it
    /// decides what is loaded), not the unit, init script or kolla command,
    /// which root reads and which the packages ship root:root 0644/0755.
    pub fn judged(self) -> bool {
        matches!(
            self,
            Kind::UwsgiIni | Kind::UwsgiVassal | Kind::GunicornConfig | Kind::HttpdVhost
        )
    }

    /// The role it has in the effective file set.
    pub fn role(self) -> &'static str {
        match self {
            Kind::SystemdUnit => "systemd-unit",
            Kind::InitScript => "init-script",
            Kind::KollaCommand => "kolla-command",
            Kind::UwsgiIni => "uwsgi",
            Kind::UwsgiVassal => "uwsgi-vassal",
            Kind::GunicornConfig => "gunicorn-config",
            Kind::HttpdVhost => "httpd-vhost",
        }
    }
}

/// One file on a serving path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Starter {
    /// In-root path.
    pub path: PathBuf,
    /// What it is.
    pub kind: Kind,
    /// Where it was found (`--ini in ExecStart at /lib/systemd/system/x.service:15`).
    pub why: String,
}

/// How the served paste file is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasteFrom {
    /// Barbican's hard-coded path.
    HardCoded,
    /// A uwsgi `paste =` option or `--paste` flag.
    Uwsgi,
    /// gunicorn `--paste`.
    Gunicorn,
}

/// The paste file one serving path loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedPaste {
    /// In-root path.
    pub path: PathBuf,
    /// How it was chosen.
    pub from: PasteFrom,
    /// The chain of evidence, for the report.
    pub why: String,
}

/// What serves the API on a root.
#[derive(Debug, Clone, Default)]
pub struct Served {
    /// Every file on a serving path, outermost first, without duplicates.
    pub starters: Vec<Starter>,
    /// The paste files loaded, without duplicates (the first is what BAR-004 judges).
    pub pastes: Vec<ServedPaste>,
    /// Starters that exist but cannot be read or parsed, and directories that
    /// cannot be listed: what serves the API is then not known (fail closed).
    pub problems: Vec<(PathBuf, String)>,
}

impl Served {
    /// Whether anything was found that serves the API (a starter whose paste
    /// file is unknown counts: its problem says why).
    pub fn found(&self) -> bool {
        !self.pastes.is_empty() || !self.starters.is_empty()
    }

    /// Finds what serves `/v1` on the root.
    pub fn find(host: &Host) -> Served {
        let mut f = Finder {
            host,
            out: Served::default(),
        };
        // A container has no units: kolla_set_configs runs its command.
        if !f.units() {
            f.kolla();
        }
        // A pod audited as `--root /proc/PID/root` (OpenStack-Helm: the container
        // command is only in the pod spec) shows its PID 1's command line.
        if !f.out.found() {
            f.pid1();
        }
        // httpd is not a barbican unit: an enabled vhost naming Barbican's WSGI
        // script serves it (charm: conf-enabled; TripleO: conf.d).
        f.vhosts();
        f.out
    }
}

struct Finder<'a> {
    host: &'a Host,
    out: Served,
}

impl Finder<'_> {
    fn starter(&mut self, path: &Path, kind: Kind, why: String) {
        if !self.out.starters.iter().any(|s| s.path == path) {
            self.out.starters.push(Starter {
                path: path.to_path_buf(),
                kind,
                why,
            });
        }
    }

    fn paste(&mut self, path: PathBuf, from: PasteFrom, why: String) {
        if !self.out.pastes.iter().any(|p| p.path == path) {
            self.out.pastes.push(ServedPaste { path, from, why });
        }
    }

    fn problem(&mut self, path: &Path, why: String) {
        self.out.problems.push((path.to_path_buf(), why));
    }

    /// Reads a starter; a read error is a problem naming it.
    fn read(&mut self, path: &Path, what: &str) -> Option<String> {
        match self.host.read(path) {
            Ok(b) => Some(String::from_utf8_lossy(&b).into_owned()),
            Err(e) => {
                self.problem(
                    path,
                    format!("cannot read the {what} ({e}), so what serves the API is unknown"),
                );
                None
            }
        }
    }

    /// Whether a starter path exists; "cannot tell" is a problem, and false.
    fn exists(&mut self, p: &Path) -> bool {
        match self.host.exists_checked(p) {
            Ok(b) => b,
            Err(e) => {
                self.problem(
                    p,
                    format!(
                        "cannot tell whether it exists ({e}), so what serves the API is unknown"
                    ),
                );
                false
            }
        }
    }

    /// Barbican's systemd units: the effective `ExecStart` of each (fragment,
    /// then drop-ins; an empty `ExecStart=` resets). Returns whether one serves the API.
    fn units(&mut self) -> bool {
        let (units, unreadable) = super::systemd::barbican_units_checked(self.host);
        for (p, why) in unreadable {
            if UNIT_DIRS.iter().any(|d| Path::new(d) == p) {
                self.problem(
                    &p,
                    format!(
                        "cannot list the unit directory ({why}), so which unit serves the API is unknown"
                    ),
                );
            }
        }
        let mut served = false;
        for u in units {
            let mut exec: Option<(Vec<String>, String)> = None;
            let mut unreadable = false;
            for file in u.fragment.iter().chain(u.dropins.iter()) {
                let Some(text) = self.read(file, "unit file") else {
                    unreadable = true;
                    continue;
                };
                for (n, line) in logical_lines(&text) {
                    let Some(v) = line.strip_prefix("ExecStart") else {
                        continue;
                    };
                    let Some(v) = v.trim_start().strip_prefix('=') else {
                        continue;
                    };
                    // systemd.service(5): the prefixes `-@:+!` before the path.
                    let words = split_words(v.trim_start_matches(['-', '@', ':', '+', '!', ' ']));
                    exec = if words.is_empty() {
                        None
                    } else {
                        Some((words, format!("ExecStart at {}:{n}", file.display())))
                    };
                }
            }
            let (Some((words, origin)), Some(frag), false) = (exec, &u.fragment, unreadable) else {
                continue;
            };
            let at = self.out.starters.len();
            if self.command(&words, &origin) {
                served = true;
                if !self.out.starters.iter().any(|s| &s.path == frag) {
                    self.out.starters.insert(
                        at,
                        Starter {
                            path: frag.clone(),
                            kind: Kind::SystemdUnit,
                            why: origin,
                        },
                    );
                }
            }
        }
        served
    }

    /// kolla's `/run_command` (what kolla_set_configs runs), else `config.json` `command`.
    fn kolla(&mut self) {
        let run = Path::new(RUN_COMMAND);
        if self.exists(run) {
            if let Some(text) = self.read(run, "kolla command") {
                let words = split_words(text.trim());
                let origin = format!("the command in {RUN_COMMAND}");
                let at = self.out.starters.len();
                if self.command(&words, &origin) {
                    self.insert_at(at, run, Kind::KollaCommand, origin);
                }
            }
            return;
        }
        let cfg = Path::new(KOLLA_CONFIG);
        if !self.exists(cfg) {
            return;
        }
        let Some(text) = self.read(cfg, "kolla config.json") else {
            return;
        };
        let command = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) => v["command"].as_str().map(str::to_string),
            Err(e) => {
                self.problem(
                    cfg,
                    format!("cannot parse it as JSON ({e}), so what serves the API is unknown"),
                );
                return;
            }
        };
        if let Some(c) = command {
            let origin = format!("\"command\" in {KOLLA_CONFIG}");
            let at = self.out.starters.len();
            if self.command(&split_words(&c), &origin) {
                self.insert_at(at, cfg, Kind::KollaCommand, origin);
            }
        }
    }

    /// `/proc/1/cmdline` of the root (a live container's root shows its own
    /// procfs there). Absent or unreadable says nothing: it is only a hint, and
    /// the fallback then judges every file that exists.
    fn pid1(&mut self) {
        let Ok(bytes) = self.host.read(Path::new(PID1_CMDLINE)) else {
            return;
        };
        let words: Vec<String> = bytes
            .split(|b| *b == 0)
            .filter(|w| !w.is_empty())
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect();
        // The auditing host's own PID 1 (`--root /`), or another service's
        // container, is not Barbican's: only a command naming barbican counts.
        if !words.iter().any(|w| w.contains("barbican")) {
            return;
        }
        self.command(&words, &format!("PID 1's command line ({PID1_CMDLINE})"));
    }

    fn insert_at(&mut self, at: usize, path: &Path, kind: Kind, why: String) {
        if !self.out.starters.iter().any(|s| s.path == path) {
            self.out.starters.insert(
                at,
                Starter {
                    path: path.to_path_buf(),
                    kind,
                    why,
                },
            );
        }
    }

    /// One command line. Returns whether it serves the API (httpd: its vhosts
    /// are read by [`Finder::vhosts`]).
    fn command(&mut self, words: &[String], origin: &str) -> bool {
        let Some(first) = words.first() else {
            return false;
        };
        let prog = first.rsplit('/').next().unwrap_or(first);
        let opt = |i: usize, name: &str| -> Option<String> {
            let w = &words[i];
            if w == name {
                words.get(i + 1).cloned()
            } else {
                w.strip_prefix(&format!("{name}=")).map(str::to_string)
            }
        };
        if prog.starts_with("uwsgi") {
            let mut named = false;
            for (i, w) in words.iter().enumerate().skip(1) {
                if let Some(p) = opt(i, "--paste") {
                    if let Some(p) = paste_uri_path(&p) {
                        self.paste(p, PasteFrom::Uwsgi, format!("uwsgi --paste in {origin}"));
                        named = true;
                    }
                } else if let Some(ini) = opt(i, "--ini") {
                    named |= self.uwsgi_ini(
                        Path::new(&ini),
                        Kind::UwsgiIni,
                        &format!("--ini in {origin}"),
                    );
                } else if let Some(dir) = opt(i, "--emperor") {
                    named |= self.emperor(Path::new(&dir), origin);
                } else if i == 1 && w.starts_with('/') && w.ends_with(".ini") {
                    // `uwsgi FILE.ini`: uwsgi loads a lone config argument by its extension.
                    named |= self.uwsgi_ini(
                        Path::new(w),
                        Kind::UwsgiIni,
                        &format!("uwsgi's argument in {origin}"),
                    );
                }
            }
            if !named {
                self.hard_coded(&format!("uwsgi in {origin}"));
            }
            return true;
        }
        if prog.starts_with("gunicorn") {
            let mut pasted = false;
            for i in 1..words.len() {
                if let Some(p) = opt(i, "--paste") {
                    if let Some(p) = paste_uri_path(&p) {
                        self.paste(
                            p,
                            PasteFrom::Gunicorn,
                            format!("gunicorn --paste in {origin}"),
                        );
                        pasted = true;
                    }
                } else if let Some(c) = opt(i, "-c").or_else(|| opt(i, "--config")) {
                    let c = PathBuf::from(c);
                    if c.is_absolute() {
                        self.starter(&c, Kind::GunicornConfig, format!("gunicorn -c in {origin}"));
                    }
                }
            }
            if !pasted {
                self.hard_coded(&format!("gunicorn in {origin}"));
            }
            return true;
        }
        if matches!(prog, "httpd" | "apache2" | "apachectl" | "apache2ctl") {
            return true;
        }
        if first.starts_with("/etc/init.d/") && prog.contains("barbican") && prog.contains("api") {
            self.init_script(Path::new(first), origin);
            return true;
        }
        if prog == "barbican-api" || prog == "barbican-wsgi-api" {
            self.hard_coded(&format!("{prog} in {origin}"));
            return true;
        }
        // Anything else (barbican-worker, a shell) does not serve the API.
        false
    }

    fn hard_coded(&mut self, how: &str) {
        self.paste(
            PathBuf::from(DEFAULT_PASTE),
            PasteFrom::HardCoded,
            format!("hard-coded in barbican.api.app, served by {how}"),
        );
    }

    /// Debian's init script: `UWSGI_INI_PATH=` (openstack-pkg-tools' init-script template).
    fn init_script(&mut self, path: &Path, origin: &str) {
        if !self.exists(path) {
            return;
        }
        let Some(text) = self.read(path, "init script") else {
            return;
        };
        let here = format!("{} (run by {origin})", path.display());
        self.starter(path, Kind::InitScript, format!("run by {origin}"));
        for (n, line) in logical_lines(&text) {
            if let Some(v) = line.strip_prefix("UWSGI_INI_PATH=") {
                let v = v.trim().trim_matches(['"', '\'']);
                if v.starts_with('/') {
                    let why = format!("UWSGI_INI_PATH at {}:{n} (run by {origin})", path.display());
                    self.uwsgi_ini(Path::new(v), Kind::UwsgiIni, &why);
                    return;
                }
            }
        }
        self.hard_coded(&here);
    }

    /// A uwsgi emperor's vassal directory: every `*.ini` there is served.
    fn emperor(&mut self, dir: &Path, origin: &str) -> bool {
        let list = match self.host.list_dir(dir) {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return false,
            Err(e) => {
                self.problem(
                    dir,
                    format!(
                        "cannot list the uwsgi emperor's directory ({e}), so which vassal serves the API is unknown"
                    ),
                );
                return true;
            }
        };
        let mut named = false;
        for p in list
            .iter()
            .filter(|p| p.extension().is_some_and(|x| x == "ini"))
        {
            named |= self.uwsgi_ini(
                p,
                Kind::UwsgiVassal,
                &format!("vassal of --emperor in {origin}"),
            );
        }
        named
    }

    /// A served uwsgi ini: its `[uwsgi] paste` names the paste file, else
    /// Barbican's entry point loads the hard-coded one. Returns true (what it
    /// serves is settled, or unknown and a problem says so).
    fn uwsgi_ini(&mut self, path: &Path, kind: Kind, why: &str) -> bool {
        self.starter(path, kind, why.to_string());
        if !self.exists(path) {
            // Missing: uwsgi would not start. The starter is in the set and
            // named, so BAR-001/BAR-002 say it is missing.
            return true;
        }
        let Some(text) = self.read(path, "uwsgi ini") else {
            return true;
        };
        let opt = ini::ParseOption {
            enabled_quote: false,
            enabled_escape: false,
            ..Default::default()
        };
        let ini = match ini::Ini::load_from_str_opt(&text, opt) {
            Ok(i) => i,
            Err(e) => {
                self.problem(
                    path,
                    format!(
                        "cannot parse the uwsgi ini ({e}), so which paste file is served is unknown"
                    ),
                );
                return true;
            }
        };
        let named = ini
            .section(Some("uwsgi"))
            .and_then(|s| s.get("paste"))
            .and_then(paste_uri_path);
        match named {
            Some(p) => self.paste(
                p,
                PasteFrom::Uwsgi,
                format!("paste = in {} ({why})", path.display()),
            ),
            None => self.hard_coded(&format!("{} ({why})", path.display())),
        }
        true
    }

    /// Enabled httpd config naming Barbican's WSGI script in `WSGIScriptAlias`.
    fn vhosts(&mut self) {
        for dir in HTTPD_DIRS {
            let dir = Path::new(dir);
            let list = match self.host.list_dir(dir) {
                Ok(l) => l,
                Err(e)
                    if e.kind() == std::io::ErrorKind::NotFound
                        || e.raw_os_error() == Some(nix::libc::ENOTDIR) =>
                {
                    continue
                }
                Err(e) => {
                    self.problem(
                        dir,
                        format!(
                            "cannot list the httpd config directory ({e}), so whether httpd serves the API is unknown"
                        ),
                    );
                    continue;
                }
            };
            for p in list
                .iter()
                .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            {
                if self.host.is_dir(p) {
                    continue;
                }
                let Some(text) = self.read(p, "httpd config") else {
                    continue;
                };
                for (n, line) in logical_lines(&text) {
                    let words = split_words(&line);
                    if !words
                        .first()
                        .is_some_and(|w| w.eq_ignore_ascii_case("WSGIScriptAlias"))
                    {
                        continue;
                    }
                    let (Some(url), Some(script)) = (words.get(1), words.get(2)) else {
                        continue;
                    };
                    if !script.contains("barbican") {
                        continue;
                    }
                    let why = format!("WSGIScriptAlias {url} {script} at {}:{n}", p.display());
                    self.starter(p, Kind::HttpdVhost, why.clone());
                    self.hard_coded(&format!("httpd ({why})"));
                    break;
                }
            }
        }
    }
}

/// Lines with 1-based numbers, trimmed, `#`/`;` comments dropped, backslash
/// continuations joined (numbered by their first line).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let (n, mut acc) = cur.take().unwrap_or((i + 1, String::new()));
        if acc.is_empty() && (line.starts_with('#') || line.starts_with(';')) {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            acc.push_str(head);
            acc.push(' ');
            cur = Some((n, acc));
            continue;
        }
        acc.push_str(line);
        let acc = acc.trim();
        if !acc.is_empty() {
            out.push((n, acc.to_string()));
        }
    }
    if let Some((n, acc)) = cur {
        out.push((n, acc.trim().to_string()));
    }
    out
}

/// Whitespace-separated words, one level of quotes removed.
fn split_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                any = true;
            }
            None if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            None => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `config:/etc/barbican/x.ini#main` → `/etc/barbican/x.ini`.
pub fn paste_uri_path(v: &str) -> Option<PathBuf> {
    let v = v.trim();
    let v = v.strip_prefix("config:").unwrap_or(v);
    let v = v.split('#').next().unwrap_or(v);
    v.starts_with('/').then(|| PathBuf::from(v))
}

/// The audit map a served paste file's `/v1` chains read: `Ok(Some((map,
/// why)))` when a chain has keystonemiddleware's audit filter, `Ok(None)` when
/// none has, `Err(why)` when that cannot be told (the paste file cannot be
/// read, parsed or resolved).
pub fn audit_map(host: &Host, paste_file: &Path) -> Result<Option<(PathBuf, String)>, String> {
    let shown = paste_file.display();
    let bytes = host
        .read(paste_file)
        .map_err(|e| format!("{shown} cannot be read ({e})"))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{shown} is not valid UTF-8"))?;
    let parsed = paste::parse(&text).map_err(|e| format!("{shown} does not parse ({e})"))?;
    let here = paste_file
        .parent()
        .unwrap_or(Path::new("/"))
        .to_string_lossy()
        .into_owned();
    let chains = paste::served_v1_chains_at(&parsed, "main", &here, &paste_file.to_string_lossy())
        .map_err(|e| format!("{shown}: {}", e.message()))?;
    for chain in &chains {
        for el in &chain.elements {
            if !el.factory_ref.starts_with("keystonemiddleware.audit") {
                continue;
            }
            // keystonemiddleware's filter_factory: global_conf updated by local_conf.
            let set = el
                .local_conf
                .iter()
                .rev()
                .chain(el.global_conf.iter().rev())
                .find(|(k, _)| k == "audit_map_file")
                .map(|(_, v)| v.trim().to_string())
                .filter(|v| !v.is_empty());
            let why = format!(
                "audit filter [{}] served at {} in {shown}",
                el.section, chain.url_key
            );
            return Ok(Some(match set {
                Some(v) if v.starts_with('/') => {
                    (PathBuf::from(&v), format!("audit_map_file of the {why}"))
                }
                // A relative name: oslo.config's find_file, in Barbican's config directory.
                Some(v) => (
                    Path::new("/etc/barbican").join(&v),
                    format!("audit_map_file {v} of the {why}"),
                ),
                None => (
                    PathBuf::from(DEFAULT_AUDIT_MAP),
                    format!("keystonemiddleware's default audit map of the {why}"),
                ),
            }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_lines() {
        assert_eq!(
            split_words(r#"/usr/bin/uwsgi --ini "/etc/a b.ini" x"#),
            ["/usr/bin/uwsgi", "--ini", "/etc/a b.ini", "x"]
        );
        let l = logical_lines("# c\nExecStart=/bin/a \\\n  --ini /x.ini\nB=1\n");
        assert_eq!(
            l,
            [
                (2, "ExecStart=/bin/a  --ini /x.ini".to_string()),
                (4, "B=1".to_string())
            ]
        );
    }

    /// A root holding `files` (in-root path, text).
    fn root(files: &[(&str, &str)]) -> (tempfile::TempDir, Host) {
        let dir = tempfile::tempdir().unwrap();
        for (p, text) in files {
            let real = dir.path().join(p.trim_start_matches('/'));
            std::fs::create_dir_all(real.parent().unwrap()).unwrap();
            std::fs::write(real, text).unwrap();
        }
        let host = Host::open(dir.path()).unwrap();
        (dir, host)
    }

    fn kinds(s: &Served) -> Vec<(String, Kind)> {
        s.starters
            .iter()
            .map(|x| (x.path.to_string_lossy().into_owned(), x.kind))
            .collect()
    }

    #[test]
    fn an_emperor_serves_its_vassals_and_their_paste() {
        let (_d, host) = root(&[
            (
                "/lib/systemd/system/barbican-api.service",
                "[Service]\nExecStart=/usr/bin/uwsgi --emperor /etc/barbican/vassals\n",
            ),
            (
                "/etc/barbican/vassals/barbican-api.ini",
                "[uwsgi]\npaste = config:/srv/p.ini#main\n",
            ),
        ]);
        let s = Served::find(&host);
        assert_eq!(
            kinds(&s),
            [
                (
                    "/lib/systemd/system/barbican-api.service".to_string(),
                    Kind::SystemdUnit
                ),
                (
                    "/etc/barbican/vassals/barbican-api.ini".to_string(),
                    Kind::UwsgiVassal
                ),
            ]
        );
        assert_eq!(s.pastes.len(), 1);
        assert_eq!(s.pastes[0].path, Path::new("/srv/p.ini"));
        assert_eq!(s.pastes[0].from, PasteFrom::Uwsgi);
        assert!(s.problems.is_empty(), "{:?}", s.problems);
    }

    #[test]
    fn a_kolla_httpd_command_serves_the_vhost_and_a_worker_serves_nothing() {
        let (_d, host) = root(&[
            (
                KOLLA_CONFIG,
                r#"{"command": "/usr/sbin/httpd -DFOREGROUND"}"#,
            ),
            (
                "/etc/httpd/conf.d/10-barbican_wsgi_main.conf",
                "<VirtualHost *:9311>\n  WSGIScriptAlias / \"/var/www/cgi-bin/barbican/main\"\n</VirtualHost>\n",
            ),
        ]);
        let s = Served::find(&host);
        assert_eq!(
            kinds(&s),
            [
                (KOLLA_CONFIG.to_string(), Kind::KollaCommand),
                (
                    "/etc/httpd/conf.d/10-barbican_wsgi_main.conf".to_string(),
                    Kind::HttpdVhost
                ),
            ]
        );
        assert_eq!(s.pastes[0].from, PasteFrom::HardCoded);
        assert!(s.pastes[0].why.contains("10-barbican_wsgi_main.conf:2"));

        let (_d, host) = root(&[(RUN_COMMAND, "barbican-worker\n")]);
        let s = Served::find(&host);
        assert!(!s.found(), "{s:?}");
    }

    #[test]
    fn gunicorn_paste_and_config() {
        let (_d, host) = root(&[(
            "/usr/lib/systemd/system/openstack-barbican-api.service",
            "[Service]\nExecStart=/usr/bin/gunicorn -c /etc/barbican/gunicorn-config.py --paste /etc/barbican/other-paste.ini\n",
        )]);
        let s = Served::find(&host);
        assert!(kinds(&s).contains(&(
            "/etc/barbican/gunicorn-config.py".to_string(),
            Kind::GunicornConfig
        )));
        assert_eq!(s.pastes[0].path, Path::new("/etc/barbican/other-paste.ini"));
        assert_eq!(s.pastes[0].from, PasteFrom::Gunicorn);
    }

    #[test]
    fn the_audit_map_follows_a_served_audit_filter() {
        let paste = |pipeline: &str, map: &str| {
            format!(
                "[composite:main]\nuse = egg:Paste#urlmap\n/v1: api\n\n\
                 [pipeline:api]\npipeline = {pipeline} apiapp\n\n\
                 [app:apiapp]\npaste.app_factory = barbican.api.app:create_main_app\n\n\
                 [filter:audit]\npaste.filter_factory = keystonemiddleware.audit:filter_factory\n{map}\n"
            )
        };
        let p = Path::new(DEFAULT_PASTE);
        let (_d, host) = root(&[(DEFAULT_PASTE, &paste("audit", ""))]);
        let got = audit_map(&host, p).unwrap().unwrap();
        assert_eq!(got.0, Path::new(DEFAULT_AUDIT_MAP));
        let (_d, host) = root(&[(
            DEFAULT_PASTE,
            &paste("audit", "audit_map_file = /srv/map.conf"),
        )]);
        assert_eq!(
            audit_map(&host, p).unwrap().unwrap().0,
            Path::new("/srv/map.conf")
        );
        let (_d, host) = root(&[(DEFAULT_PASTE, &paste("", ""))]);
        assert_eq!(audit_map(&host, p).unwrap(), None);
        // Unparsable: unknown, never "not served".
        let (_d, host) = root(&[(DEFAULT_PASTE, "[composite:main\n")]);
        assert!(audit_map(&host, p).is_err());
    }

    #[test]
    fn a_pods_pid_1_names_its_uwsgi_ini() {
        // openstack-helm barbican/templates/deployment-api.yaml:78-81.
        let (_d, host) = root(&[
            (
                PID1_CMDLINE,
                "uwsgi\0--ini\0/etc/barbican/barbican-api-uwsgi.ini\0",
            ),
            (
                "/etc/barbican/barbican-api-uwsgi.ini",
                "[uwsgi]\nmodule = barbican.wsgi.api:application\n",
            ),
        ]);
        let s = Served::find(&host);
        assert_eq!(
            kinds(&s),
            [(
                "/etc/barbican/barbican-api-uwsgi.ini".to_string(),
                Kind::UwsgiIni
            )]
        );
        assert!(s.pastes[0].why.contains("/proc/1/cmdline"), "{s:?}");
    }
}
