//! `[probe.kek-in-config]` (BAR-006): every `[simple_crypto_plugin] kek`
//! written in a config file is a plaintext master KEK on the host. Each is
//! reported with file, line and fingerprint, never the value.
use super::{Context, Observation};
use crate::barbican::config::Source;
use crate::barbican::crypto;
use crate::report::Status;

/// TOML name.
pub const NAME: &str = "kek-in-config";
/// Template variables.
pub const VARS: &[&str] = &["subject", "detail", "line", "fingerprint", "file"];

/// Runs the probe (no parameters).
pub fn run(ctx: &Context<'_>) -> Vec<Observation> {
    let keks = crypto::config_keks(&ctx.config);
    if keks.is_empty() {
        let files: Vec<String> = ctx
            .config
            .files
            .iter()
            .map(|f| f.path.display().to_string())
            .collect();
        let subject = files
            .first()
            .cloned()
            .unwrap_or_else(|| "barbican.conf".into());
        return vec![Observation::new(
            subject,
            Status::Pass,
            "no [simple_crypto_plugin] kek in any config file",
        )
        .ev("files_read", files)];
    }
    keks.into_iter()
        .map(|k| {
            let (file, line) = match &k.source {
                Source::File { path, line } => (path.display().to_string(), *line),
                other => (other.to_string(), 0),
            };
            let fp = k.kek.fingerprint();
            Observation::new(
                file.clone(),
                Status::Fail,
                format!("plaintext master KEK {fp} in [simple_crypto_plugin] kek at line {line}"),
            )
            .var("line", line.to_string())
            .var("fingerprint", fp.clone())
            .var("file", file)
            .ev("option", "[simple_crypto_plugin] kek")
            .ev("line", line)
            .ev("fingerprint", fp)
        })
        .collect()
}
