//! `[probe.kek-in-config]` (BAR-006): every `[simple_crypto_plugin] kek`
//! written in a config file is a plaintext master KEK on the host. Each is
//! reported with file, line and fingerprint, never the value.
use super::{Decl, Facts, FixStyle, Gate, Input, Observation, Observed, Params, Probe, Var};
use crate::barbican::config::Source;
use crate::barbican::crypto;
use crate::report::Status;

/// Plaintext `kek` in config files (BAR-006).
pub struct KekInConfig;

/// What this probe declares about itself.
static DECL: Decl = Decl {
    name: "kek-in-config",
    doc: "every [simple_crypto_plugin] kek written in a config file",
    vars: &[
        Var::SUBJECT,
        Var::DETAIL,
        Var::quoted("line", "line of the kek"),
        Var::quoted("fingerprint", "fingerprint of the KEK"),
        Var::quoted("file", "the file that sets it"),
    ],
    // The remediation is prose naming a file or option, not a command
    // line: quoting would only garble it.
    fix_style: FixStyle::Prose,
    inputs: &[Input::Config, Input::Units, Input::Users],
    parse: true,
    gate: Gate::KeepFails,
    judged_bools: &[("secretstore", "enable_multiple_secret_stores")],
};

impl Probe for KekInConfig {
    fn decl(&self) -> &'static Decl {
        &DECL
    }

    fn observe(&self, _: &Params, facts: &Facts<'_>) -> Observed {
        find_plaintext_keks(facts).into()
    }
}

/// One failure per `kek` line of a config file, or a pass.
fn find_plaintext_keks(facts: &Facts<'_>) -> Vec<Observation> {
    let keks = crypto::config_keks(facts.config());
    if keks.is_empty() {
        let files: Vec<String> = facts
            .config()
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
