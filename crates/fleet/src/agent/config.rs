//! Agent settings: command-line flags over a TOML file over defaults.
//! The names are the contract of interface.md "Collector and agent
//! settings" (packaging and scripts rely on them), so the file keys and the
//! flags are spelled the same, and a key we do not know is an error rather
//! than a silently ignored typo (`colector = ...` would otherwise mean
//! "textfile only" without a word).
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

const AFTER_HELP: &str = "\
Every setting can also come from the --config file (TOML, the same names with underscores: \
collector, token_file, ca_file, spool_dir, spool_max_files, spool_max_bytes, root, scan, \
scan_cache, scan_paths, textfile, interval, retries, checks, waivers); a flag beats the file, the file beats the default.

Each round audits the host, writes the report into the spool directory first (atomically), \
then sends the spooled reports oldest-first to COLLECTOR/api/v1/reports and deletes each one \
only after the collector stored it. While the collector is down reports wait in the spool \
(bounded: the oldest are dropped and counted in barbican_audit_spool_dropped_reports).

Exit status: 0 the report was delivered or spooled (failing checks do not change it: they are \
in the report and the metrics); 2 the audit could not run, the settings are wrong, or the \
report could not even be spooled.

Examples:
  barbican-audit agent --once --config /etc/barbican-audit/agent.toml     (the systemd timer)
  barbican-audit agent --collector https://collector.example:9747 --interval 15m
  barbican-audit agent --once --textfile /var/lib/prometheus/node-exporter/barbican-audit.prom";

/// Runs the audit on a schedule, writes the textfile metrics and sends each
/// report to the collector, keeping it in a local spool until the collector
/// has stored it.
#[derive(Debug, Default, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct AgentArgs {
    /// Settings file (TOML) with any of the settings below; unknown keys are an error.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// One round (audit, metrics, spool, send), then exit: what the systemd timer runs.
    /// Without it the agent runs a round every --interval and retries the
    /// collector with backoff in between.
    #[arg(long)]
    pub(crate) once: bool,
    /// Collector base URL, e.g. https://collector.example:9747. Plain http is
    /// refused except to loopback (reports show where the weak nodes are).
    /// Default: none, i.e. textfile metrics only.
    #[arg(long, value_name = "URL")]
    pub(crate) collector: Option<String>,
    /// File holding this node's token (from `collector enroll NODE`). Must not
    /// be readable by group or others (chmod 600). [default: /etc/barbican-audit/token]
    #[arg(long, value_name = "FILE")]
    pub(crate) token_file: Option<PathBuf>,
    /// PEM bundle of the CA(s) that signed the collector's certificate.
    /// [default: the system's trusted roots]
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_file: Option<PathBuf>,
    /// Directory of reports not yet stored by the collector, and the agent's
    /// small state file. [default: /var/lib/barbican-audit/spool]
    #[arg(long, value_name = "DIR")]
    pub(crate) spool_dir: Option<PathBuf>,
    /// At most N reports in the spool; the oldest are dropped beyond. [default: 500]
    #[arg(long, value_name = "N")]
    pub(crate) spool_max_files: Option<usize>,
    /// At most N bytes of reports in the spool; the oldest are dropped beyond
    /// (the newest report is always kept). [default: 52428800 = 50 MiB]
    #[arg(long, value_name = "N")]
    pub(crate) spool_max_bytes: Option<u64>,
    /// Root filesystem to audit, as for `audit --root`. [default: /]
    #[arg(long, value_name = "DIR")]
    pub(crate) root: Option<PathBuf>,
    /// Include the disk scan for copies of the master KEK (BAR-013).
    #[arg(long)]
    pub(crate) scan: bool,
    /// Do not run the disk scan even if the config file turns it on.
    #[arg(long, conflicts_with = "scan")]
    pub(crate) no_scan: bool,
    /// With the scan: remember the files found clean in FILE and read only
    /// what changed next round, e.g. /var/cache/barbican-audit/scan-cache
    /// (see `barbican-audit scan --help`).
    #[arg(long, value_name = "FILE")]
    pub(crate) scan_cache: Option<PathBuf>,
    /// With the scan: these paths (inside the root) instead of the whole
    /// root, one filesystem each; repeatable (file: scan_paths = ["/", "/var"]).
    #[arg(long = "scan-path", value_name = "P")]
    pub(crate) scan_paths: Vec<PathBuf>,
    /// Write Prometheus metrics here each round (atomically), with the spool
    /// and upload series added, e.g. /var/lib/prometheus/node-exporter/barbican-audit.prom.
    #[arg(long, value_name = "FILE")]
    pub(crate) textfile: Option<PathBuf>,
    /// Time between rounds without --once, e.g. 15m, 1h, 1h30m. [default: 1h]
    #[arg(long, value_name = "DURATION")]
    pub(crate) interval: Option<String>,
    /// With --once: retries of a send that failed because the collector was
    /// unreachable or busy (1 s, then 2 s, with jitter). [default: 2]
    #[arg(long, value_name = "N")]
    pub(crate) retries: Option<u32>,
    /// Use the check definitions in DIR instead of the built-in catalog.
    #[arg(long, value_name = "DIR")]
    pub(crate) checks: Option<PathBuf>,
    /// Waivers (TOML), as for `audit --waivers`.
    #[arg(long, value_name = "FILE")]
    pub(crate) waivers: Option<PathBuf>,
}

/// The settings file; every key optional, none unknown.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    collector: Option<String>,
    token_file: Option<PathBuf>,
    ca_file: Option<PathBuf>,
    spool_dir: Option<PathBuf>,
    spool_max_files: Option<usize>,
    spool_max_bytes: Option<u64>,
    root: Option<PathBuf>,
    scan: Option<bool>,
    scan_cache: Option<PathBuf>,
    scan_paths: Option<Vec<PathBuf>>,
    textfile: Option<PathBuf>,
    interval: Option<String>,
    retries: Option<u32>,
    checks: Option<PathBuf>,
    waivers: Option<PathBuf>,
}

/// Where the collector is, checked once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collector {
    /// The report endpoint, `<base>/api/v1/reports`.
    pub endpoint: String,
    /// TLS (https) or plain http to loopback.
    pub https: bool,
}

/// Resolved settings of the agent.
#[derive(Debug)]
pub struct Settings {
    /// The collector; `None` = textfile metrics only.
    pub collector: Option<Collector>,
    /// Node token file.
    pub token_file: PathBuf,
    /// CA bundle; `None` = system roots.
    pub ca_file: Option<PathBuf>,
    /// Spool directory.
    pub spool_dir: PathBuf,
    /// Spool bound (files, at least 1).
    pub spool_max_files: usize,
    /// Spool bound (bytes).
    pub spool_max_bytes: u64,
    /// Root filesystem to audit.
    pub root: PathBuf,
    /// Run BAR-013's disk scan.
    pub scan: bool,
    /// The scan cache file.
    pub scan_cache: Option<PathBuf>,
    /// Paths to scan (empty: the whole root).
    pub scan_paths: Vec<PathBuf>,
    /// Prometheus textfile.
    pub textfile: Option<PathBuf>,
    /// One round only.
    pub once: bool,
    /// Daemon period.
    pub interval: Duration,
    /// `--once` send retries.
    pub retries: u32,
    /// Check directory.
    pub checks: Option<PathBuf>,
    /// Waiver file.
    pub waivers: Option<PathBuf>,
}

/// Spool bounds when nothing says otherwise (interface.md).
pub const DEFAULT_MAX_FILES: usize = 500;
/// 50 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 50 * 1024 * 1024;

impl Settings {
    /// Flags over the file over defaults; every error names the file or flag.
    pub fn resolve(args: AgentArgs) -> Result<Settings, String> {
        let file = match &args.config {
            Some(p) => load_file(p)?,
            None => FileConfig::default(),
        };
        // Where a value came from, so an error points at what to edit.
        let origin = |flag: &str, key: &str, from_flag: bool| match (&args.config, from_flag) {
            (Some(p), false) => format!("{}: {key}", p.display()),
            _ => format!("--{flag}"),
        };
        let collector = match (&args.collector, &file.collector) {
            (Some(url), _) => Some(
                parse_collector(url)
                    .map_err(|e| format!("{}: {e}", origin("collector", "collector", true)))?,
            ),
            (None, Some(url)) => Some(
                parse_collector(url)
                    .map_err(|e| format!("{}: {e}", origin("collector", "collector", false)))?,
            ),
            (None, None) => None,
        };
        let (interval_text, interval_from_flag) = match (&args.interval, &file.interval) {
            (Some(i), _) => (Some(i.clone()), true),
            (None, Some(i)) => (Some(i.clone()), false),
            (None, None) => (None, true),
        };
        let interval = match interval_text {
            None => Duration::from_secs(3600),
            Some(t) => parse_interval(&t).map_err(|e| {
                format!(
                    "{}: {e}",
                    origin("interval", "interval", interval_from_flag)
                )
            })?,
        };
        let spool_max_files = args
            .spool_max_files
            .or(file.spool_max_files)
            .unwrap_or(DEFAULT_MAX_FILES);
        if spool_max_files == 0 {
            return Err(format!(
                "{}: must be at least 1 (the report of this round is always spooled)",
                origin(
                    "spool-max-files",
                    "spool_max_files",
                    args.spool_max_files.is_some()
                )
            ));
        }
        let scan = if args.scan {
            true
        } else if args.no_scan {
            false
        } else {
            file.scan.unwrap_or(false)
        };
        let scan_cache = args.scan_cache.or(file.scan_cache);
        if let Some(c) = &scan_cache {
            crate::userfile::check_optional_regular("scan_cache", c)?;
        }
        Ok(Settings {
            collector,
            token_file: args
                .token_file
                .or(file.token_file)
                .unwrap_or_else(|| PathBuf::from("/etc/barbican-audit/token")),
            ca_file: args.ca_file.or(file.ca_file),
            spool_dir: args
                .spool_dir
                .or(file.spool_dir)
                .unwrap_or_else(|| PathBuf::from("/var/lib/barbican-audit/spool")),
            spool_max_files,
            spool_max_bytes: args
                .spool_max_bytes
                .or(file.spool_max_bytes)
                .unwrap_or(DEFAULT_MAX_BYTES),
            root: args
                .root
                .or(file.root)
                .unwrap_or_else(|| PathBuf::from("/")),
            scan,
            scan_cache,
            scan_paths: if args.scan_paths.is_empty() {
                file.scan_paths.unwrap_or_default()
            } else {
                args.scan_paths
            },
            textfile: args.textfile.or(file.textfile),
            once: args.once,
            interval,
            retries: args.retries.or(file.retries).unwrap_or(2),
            checks: args.checks.or(file.checks),
            waivers: args.waivers.or(file.waivers),
        })
    }
}

fn load_file(path: &Path) -> Result<FileConfig, String> {
    let text = crate::userfile::read_user_text(path, 1 << 20).map_err(|e| e.to_string())?;
    // toml's message names the key and shows the line, e.g. "unknown field `colector`".
    toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.to_string().trim_end()))
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|e| format!("{text:?} is not a duration like 15m or 1h ({e})"))?;
    if d < Duration::from_secs(1) {
        return Err(format!("{text:?}: must be at least 1s"));
    }
    Ok(d)
}

/// Checks the collector URL: http or https, a host, no credentials in it,
/// and plain http only to loopback, because a report tells whoever reads
/// the wire which checks fail on this node and the token would travel in clear.
pub fn parse_collector(url: &str) -> Result<Collector, String> {
    let url = url.trim();
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{url:?}: expected http://HOST:PORT or https://HOST:PORT"))?;
    let https = match scheme.to_ascii_lowercase().as_str() {
        "https" => true,
        "http" => false,
        other => return Err(format!("{url:?}: scheme {other:?} is not http or https")),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(format!(
            "{url:?}: no user or password in the URL; the node token goes in token_file"
        ));
    }
    if rest.contains(['?', '#']) {
        return Err(format!(
            "{url:?}: no query or fragment in the collector URL"
        ));
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    if host.is_empty() {
        return Err(format!("{url:?}: no host"));
    }
    if !https && !is_loopback(host) {
        return Err(format!(
            "{url:?}: plain http is only allowed to loopback (127.0.0.0/8, ::1, localhost); \
             use https: reports tell whoever reads the wire where the weak nodes are"
        ));
    }
    let base = format!("{scheme}://{rest}");
    let base = base.trim_end_matches('/');
    Ok(Collector {
        endpoint: format!("{base}/api/v1/reports"),
        https,
    })
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The node token. Never printed: `Debug` is redacted and there is no `Display`.
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// The header value `Bearer <token>`; only the HTTP client calls this.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

/// Reads the token file, refusing one that group or others can read (as
/// ssh refuses a private key): a token others can read is a token others
/// can use to post reports in this node's name. The content never appears
/// in an error.
pub fn read_token(path: &Path) -> Result<Token, String> {
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display();
    // Opened without blocking and checked to be a regular file on the
    // descriptor (a FIFO here hung the agent); the mode is that of the file
    // we opened, not of whatever the path points to later.
    let (mut f, meta) = crate::userfile::open_regular(path)
        .map_err(|e| format!("token file {shown}: {}", e.reason()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "token file {shown}: mode {mode:04o} lets group or others read it; \
             refusing to use it (chmod 600 {shown})"
        ));
    }
    if !meta.is_file() {
        return Err(format!("token file {shown}: not a regular file"));
    }
    let mut text = String::new();
    f.by_ref()
        .take(4097)
        .read_to_string(&mut text)
        .map_err(|e| format!("token file {shown}: {e}"))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!("token file {shown}: empty"));
    }
    if token.len() > 4096 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "token file {shown}: not a token (expected one line of printable ASCII \
             as printed by `collector enroll`)"
        ));
    }
    Ok(Token(token.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::os::unix::fs::PermissionsExt;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: AgentArgs,
    }

    fn args(v: &[&str]) -> AgentArgs {
        T::try_parse_from(std::iter::once("agent").chain(v.iter().copied()))
            .expect("parse")
            .a
    }

    fn config(text: &str) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("agent.toml");
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    #[test]
    fn defaults_match_the_contract() {
        let s = Settings::resolve(args(&[])).unwrap();
        assert_eq!(s.collector, None);
        assert_eq!(s.token_file, Path::new("/etc/barbican-audit/token"));
        assert_eq!(s.spool_dir, Path::new("/var/lib/barbican-audit/spool"));
        assert_eq!(s.spool_max_files, 500);
        assert_eq!(s.spool_max_bytes, 50 * 1024 * 1024);
        assert_eq!(s.root, Path::new("/"));
        assert_eq!(s.interval, Duration::from_secs(3600));
        assert_eq!(s.retries, 2);
        assert!(!s.scan && !s.once);
    }

    #[test]
    fn flag_beats_file_beats_default() {
        let (_d, p) = config(
            "collector = \"https://c.example:9747/\"\nspool_max_files = 7\n\
             interval = \"15m\"\nscan = true\nroot = \"/srv/r\"\n\
             scan_cache = \"/c/sc\"\nscan_paths = [\"/\", \"/var\"]\n",
        );
        let p = p.to_str().unwrap();
        let s = Settings::resolve(args(&["--config", p])).unwrap();
        assert_eq!(
            s.collector.as_ref().unwrap().endpoint,
            "https://c.example:9747/api/v1/reports"
        );
        assert_eq!(s.spool_max_files, 7);
        assert_eq!(s.interval, Duration::from_secs(900));
        assert!(s.scan);
        assert_eq!(s.root, Path::new("/srv/r"));
        assert_eq!(s.scan_cache.as_deref(), Some(Path::new("/c/sc")));
        assert_eq!(s.scan_paths, [Path::new("/"), Path::new("/var")]);
        let s = Settings::resolve(args(&[
            "--config",
            p,
            "--spool-max-files",
            "9",
            "--interval",
            "1h30m",
            "--no-scan",
            "--collector",
            "http://127.0.0.1:9747",
            "--scan-path",
            "/home",
        ]))
        .unwrap();
        assert_eq!(
            s.scan_paths,
            [Path::new("/home")],
            "the flags replace the file's list"
        );
        assert_eq!(s.spool_max_files, 9);
        assert_eq!(s.interval, Duration::from_secs(5400));
        assert!(!s.scan);
        assert_eq!(
            s.collector.unwrap().endpoint,
            "http://127.0.0.1:9747/api/v1/reports"
        );
        assert_eq!(
            s.root,
            Path::new("/srv/r"),
            "unset flag keeps the file's value"
        );
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let (_d, p) = config("colector = \"https://c:1\"\n");
        let e = Settings::resolve(args(&["--config", p.to_str().unwrap()])).unwrap_err();
        assert!(e.contains(p.to_str().unwrap()), "{e}");
        assert!(e.contains("colector"), "{e}");
    }

    #[test]
    fn bad_values_name_their_origin() {
        let (_d, p) = config("interval = \"soon\"\n");
        let e = Settings::resolve(args(&["--config", p.to_str().unwrap()])).unwrap_err();
        assert!(e.contains("agent.toml: interval"), "{e}");
        let e = Settings::resolve(args(&["--collector", "ftp://x"])).unwrap_err();
        assert!(e.starts_with("--collector"), "{e}");
        let e = Settings::resolve(args(&["--spool-max-files", "0"])).unwrap_err();
        assert!(e.contains("at least 1"), "{e}");
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "http://127.0.0.1:9747",
            "http://127.8.9.1",
            "http://[::1]:9747/",
            "http://localhost:1",
            "https://collector.example:9747",
            "https://10.0.0.5",
        ] {
            parse_collector(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "http://collector.example:9747",
            "http://10.0.0.5:9747",
            "http://[2001:db8::1]:9747",
            "http://localhost.evil.example",
            "https://user:pw@c.example",
            "collector:9747",
            "https://",
        ] {
            assert!(parse_collector(bad).is_err(), "{bad} accepted");
        }
        let e = parse_collector("http://collector.example").unwrap_err();
        assert!(e.contains("loopback"), "{e}");
    }

    #[test]
    fn token_readable_by_others_is_refused_without_showing_it() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("token");
        std::fs::write(&p, "s3cret-token-value\n").unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = read_token(&p).unwrap_err();
            assert!(e.contains("chmod 600"), "{e}");
            assert!(!e.contains("s3cret"), "{e}");
        }
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let t = read_token(&p).unwrap();
        assert_eq!(t.bearer(), "Bearer s3cret-token-value");
        assert!(!format!("{t:?}").contains("s3cret"));
        std::fs::write(&p, "two words\n").unwrap();
        let e = read_token(&p).unwrap_err();
        assert!(!e.contains("words"), "{e}");
    }

    #[test]
    fn packaged_example_config_is_valid() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/agent.toml");
        let s = Settings::resolve(args(&["--config", p.to_str().unwrap()])).unwrap();
        assert!(s.collector.unwrap().https);
        assert_eq!(s.spool_max_bytes, DEFAULT_MAX_BYTES);
        assert_eq!(s.spool_max_files, DEFAULT_MAX_FILES);
        assert_eq!(s.interval, Duration::from_secs(3600));
    }
}
