//! Collector settings: a TOML file (`--config`) overridden by the flag of
//! the same name (interface.md, "Collector and agent settings").
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::store::Retention;

/// Retention default: the newest 100 reports of each node (four days of an
/// hourly agent) are kept whatever their age...
pub const DEFAULT_KEEP_REPORTS: u32 = 100;
/// ...plus everything received in the last 30 days.
pub const DEFAULT_KEEP_DAYS: u32 = 30;

/// Default database: one SQLite file in the state directory.
pub const DEFAULT_DATABASE: &str = "sqlite:///var/lib/barbican-audit-collector/collector.db";

/// `barbican-audit collector ...`
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, after_help = COLLECTOR_HELP)]
pub struct CollectorArgs {
    /// Enrol or revoke a node or viewer (without one: serve).
    #[command(subcommand)]
    pub action: Option<Action>,
    /// Settings file (TOML); each flag below overrides its key.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address:port to listen on; port 0 picks a free one (printed as `listening on ADDR`). [default: 127.0.0.1:9747]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// `sqlite:///PATH` (default, embedded) or `postgres://user@host/db`. [default: sqlite:///var/lib/barbican-audit-collector/collector.db]
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// Server certificate chain (PEM); with --tls-key turns on HTTPS.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// Server private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// CA bundle (PEM) that client certificates must chain to: turns on mTLS (tokens are still required).
    #[arg(long, value_name = "FILE")]
    pub client_ca: Option<PathBuf>,
    /// Largest request body accepted; larger gets 413. [default: 1048576]
    #[arg(long, value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,
    /// A node with no report for this long is stale (e.g. 3h, 90m). [default: 3h]
    #[arg(long, value_name = "DURATION")]
    pub stale_after: Option<String>,
    /// Time a client has to send its request headers (and TLS handshake);
    /// slower connections are closed. [default: 10s]
    #[arg(long, value_name = "DURATION")]
    pub header_timeout: Option<String>,
    /// Time a client has to send the whole request body; slower gets 408. [default: 30s]
    #[arg(long, value_name = "DURATION")]
    pub body_timeout: Option<String>,
    /// Retention: keep the newest N reports of each node (0: no such rule). [default: 100]
    #[arg(long, value_name = "N")]
    pub retention_keep_reports: Option<u32>,
    /// Retention: keep every report received in the last D days (0: no such rule);
    /// with both rules 0 nothing is deleted. [default: 30]
    #[arg(long, value_name = "DAYS")]
    pub retention_keep_days: Option<u32>,
    /// How often retention runs (in batches of 500 reports). [default: 10m]
    #[arg(long, value_name = "DURATION")]
    pub retention_interval: Option<String>,
}

const COLLECTOR_HELP: &str = "\
Examples:
  barbican-audit collector --config /etc/barbican-audit/collector.toml
  barbican-audit collector enroll ctl-1 --database sqlite:///var/lib/barbican-audit-collector/collector.db > ctl-1.token
  barbican-audit collector enroll --viewer secteam --database postgres://audit@db/audit
  barbican-audit collector revoke ctl-1 --database sqlite:///var/lib/barbican-audit-collector/collector.db

Without --tls-cert/--tls-key the collector speaks plain HTTP and only on a loopback address
(put it behind a TLS proxy or give it a certificate).";

/// Token administration.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Enrol NAME and print its new token once on stdout (only a hash is
    /// stored). Enrolling an enrolled name rotates its token.
    Enroll {
        /// A viewer token (reads the fleet views) instead of a node token (posts reports).
        #[arg(long)]
        viewer: bool,
        /// Node or viewer name.
        name: String,
        /// Settings file (for its `database`).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Database URL (overrides the settings file).
        #[arg(long, value_name = "URL")]
        database: Option<String>,
    },
    /// Revoke NAME's token: its requests get 401 from now on; its reports stay.
    Revoke {
        /// Node or viewer name.
        name: String,
        /// Settings file (for its `database`).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Database URL (overrides the settings file).
        #[arg(long, value_name = "URL")]
        database: Option<String>,
    },
}

/// The settings file; every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    database: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    client_ca: Option<PathBuf>,
    max_body_bytes: Option<usize>,
    stale_after: Option<String>,
    header_timeout: Option<String>,
    body_timeout: Option<String>,
    retention_keep_reports: Option<u32>,
    retention_keep_days: Option<u32>,
    retention_interval: Option<String>,
}

fn duration(key: &str, value: Option<String>, default: &str) -> Result<Duration, String> {
    let s = value.unwrap_or_else(|| default.into());
    let d = humantime::parse_duration(&s)
        .map_err(|e| format!("{key} {s:?}: {e} (e.g. 3h, 90m, 10s)"))?;
    if d.is_zero() {
        return Err(format!("{key} {s:?}: must be longer than zero"));
    }
    Ok(d)
}

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Listen address.
    pub listen: SocketAddr,
    /// Database URL.
    pub database: String,
    /// Certificate and key, when serving HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Client CA for mTLS.
    pub client_ca: Option<PathBuf>,
    /// Request body limit.
    pub max_body_bytes: usize,
    /// Staleness threshold.
    pub stale_after: Duration,
    /// Time a client has to send the request headers (slowloris).
    pub header_timeout: Duration,
    /// Time a client has to send the whole body.
    pub body_timeout: Duration,
    /// Connections served at once; more wait in the kernel backlog.
    pub max_connections: usize,
    /// Which reports are kept.
    pub retention: Retention,
    /// Time between retention passes.
    pub retention_interval: Duration,
}

fn read_file(path: &Path) -> Result<FileSettings, String> {
    let text = crate::userfile::read_user_text(path, 1 << 20).map_err(|e| e.to_string())?;
    toml::from_str(&text).map_err(|e| {
        // toml's message carries line and column; keep it whole.
        format!("{}: {}", path.display(), e.to_string().trim_end())
    })
}

/// The database URL for `enroll`/`revoke`: flag, then file, then default.
pub fn database_for(config: Option<&Path>, database: Option<&str>) -> Result<String, String> {
    if let Some(d) = database {
        return Ok(d.to_string());
    }
    let file = match config {
        Some(p) => read_file(p)?,
        None => FileSettings::default(),
    };
    Ok(file.database.unwrap_or_else(|| DEFAULT_DATABASE.into()))
}

/// Flag over file over default; checks what can be checked before binding.
pub fn resolve(a: &CollectorArgs) -> Result<Settings, String> {
    let file = match &a.config {
        Some(p) => read_file(p)?,
        None => FileSettings::default(),
    };
    let listen_s = a
        .listen
        .clone()
        .or(file.listen)
        .unwrap_or_else(|| "127.0.0.1:9747".into());
    let listen: SocketAddr = listen_s
        .parse()
        .map_err(|e| format!("listen {listen_s:?}: {e} (expected ADDR:PORT, e.g. 0.0.0.0:9747)"))?;
    let cert = a.tls_cert.clone().or(file.tls_cert);
    let key = a.tls_key.clone().or(file.tls_key);
    let tls = match (cert, key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => return Err("tls_cert and tls_key go together: give both or neither".into()),
    };
    let client_ca = a.client_ca.clone().or(file.client_ca);
    if client_ca.is_some() && tls.is_none() {
        return Err("client_ca (mTLS) needs tls_cert and tls_key".into());
    }
    if tls.is_none() && !listen.ip().is_loopback() {
        return Err(format!(
            "listen {listen}: plain HTTP is served on loopback only (reports show where the \
             weak nodes are); give tls_cert and tls_key, or listen on 127.0.0.1 behind a TLS proxy"
        ));
    }
    let stale_after = duration(
        "stale_after",
        a.stale_after.clone().or(file.stale_after),
        "3h",
    )?;
    let header_timeout = duration(
        "header_timeout",
        a.header_timeout.clone().or(file.header_timeout),
        "10s",
    )?;
    let body_timeout = duration(
        "body_timeout",
        a.body_timeout.clone().or(file.body_timeout),
        "30s",
    )?;
    let retention = Retention {
        keep_reports: a
            .retention_keep_reports
            .or(file.retention_keep_reports)
            .unwrap_or(DEFAULT_KEEP_REPORTS),
        keep_days: a
            .retention_keep_days
            .or(file.retention_keep_days)
            .unwrap_or(DEFAULT_KEEP_DAYS),
    };
    let retention_interval = duration(
        "retention_interval",
        a.retention_interval.clone().or(file.retention_interval),
        "10m",
    )?;
    let max_body_bytes = a.max_body_bytes.or(file.max_body_bytes).unwrap_or(1 << 20);
    if max_body_bytes < 1024 {
        return Err(format!(
            "max_body_bytes {max_body_bytes}: a report needs more than 1 KiB"
        ));
    }
    Ok(Settings {
        listen,
        database: a
            .database
            .clone()
            .or(file.database)
            .unwrap_or_else(|| DEFAULT_DATABASE.into()),
        tls,
        client_ca,
        max_body_bytes,
        stale_after,
        header_timeout,
        body_timeout,
        max_connections: 1024,
        retention,
        retention_interval,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: CollectorArgs,
    }

    fn args(v: &[&str]) -> CollectorArgs {
        T::parse_from(std::iter::once("t").chain(v.iter().copied())).a
    }

    #[test]
    fn shipped_example_resolves() {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../packaging/collector.toml"
        );
        let s = resolve(&args(&["--config", p])).expect("packaging/collector.toml");
        assert_eq!(s.listen.port(), 9747);
        assert!(s.tls.is_some());
        assert_eq!(s.stale_after, Duration::from_secs(3 * 3600));
    }

    #[test]
    fn flags_override_the_file_and_defaults_hold() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "listen = \"127.0.0.1:1\"\nstale_after = \"2h\"\n").expect("write");
        let ps = p.to_str().expect("utf-8");
        let s = resolve(&args(&["--config", ps, "--listen", "127.0.0.1:2"])).expect("resolve");
        assert_eq!(s.listen.port(), 2);
        assert_eq!(s.stale_after, Duration::from_secs(7200));
        assert_eq!(s.database, DEFAULT_DATABASE);
        assert_eq!(s.max_body_bytes, 1 << 20);
        assert!(
            resolve(&args(&["--tls-cert", "/x"])).is_err(),
            "cert without key"
        );
        assert!(resolve(&args(&["--stale-after", "soon"])).is_err());
        assert_eq!(
            s.retention,
            Retention {
                keep_reports: DEFAULT_KEEP_REPORTS,
                keep_days: DEFAULT_KEEP_DAYS
            }
        );
        assert_eq!(s.retention_interval, Duration::from_secs(600));
    }

    #[test]
    fn retention_keys_from_file_and_flags() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "retention_keep_reports = 0\nretention_keep_days = 7\nretention_interval = \"1m\"\n",
        )
        .expect("write");
        let ps = p.to_str().expect("utf-8");
        let s = resolve(&args(&["--config", ps])).expect("resolve");
        assert_eq!(
            s.retention,
            Retention {
                keep_reports: 0,
                keep_days: 7
            }
        );
        assert_eq!(s.retention_interval, Duration::from_secs(60));
        let s = resolve(&args(&["--config", ps, "--retention-keep-days", "0"])).expect("resolve");
        assert!(s.retention.is_off());
        assert!(resolve(&args(&["--retention-interval", "0s"])).is_err());
    }
}
