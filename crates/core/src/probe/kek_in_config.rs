//! `[probe.kek-in-config]` (BAR-006): every `[simple_crypto_plugin] kek`
//! written in a config file is a plaintext master KEK on the host. Each is
//! reported with file, line and fingerprint, never the value.
use super::{Decl, Facts, FixStyle, Gate, Input, Observation, Observed, Params, Probe, Var};
use crate::barbican::config::{load_file, Config, Source};
use crate::barbican::{crypto, kolla};
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
    let mut out = in_config(facts);
    out.extend(in_sources(facts));
    out
}

/// In a kolla-built container, the source kolla_set_configs copies to the
/// config at every start ([`crate::barbican::kolla`]) holds the same key:
/// the deployment's own copy, reported here like the config (BAR-013 leaves
/// it out). config.json unreadable: error naming it (which files are such
/// sources is unknown, and BAR-013 exempts none of them).
fn in_sources(facts: &Facts<'_>) -> Vec<Observation> {
    let sources = match kolla::config_sources(facts.host, facts.config()) {
        Ok(s) => s,
        Err(why) => {
            return vec![Observation::new(
                kolla::CONFIG_JSON,
                Status::Error,
                format!("{why}: which files are the source of the served config is unknown"),
            )]
        }
    };
    let mut out = Vec::new();
    for c in sources {
        let src = c.source.display().to_string();
        let loaded = load_file(facts.host, &c.source);
        if let Err(e) = &loaded.parsed {
            out.push(Observation::new(
                src.clone(),
                Status::Error,
                format!(
                    "cannot read it ({e}); it is the source kolla_set_configs copies to {}",
                    c.dest.display()
                ),
            ));
            continue;
        }
        let cfg = Config {
            files: vec![loaded],
            ..Config::default()
        };
        for k in crypto::config_keks(&cfg) {
            let line = match &k.source {
                Source::File { line, .. } => *line,
                _ => 0,
            };
            let fp = k.kek.fingerprint();
            out.push(
                Observation::new(
                    src.clone(),
                    Status::Fail,
                    format!(
                        "plaintext master KEK {fp} in [simple_crypto_plugin] kek at line {line} of the source kolla_set_configs copies to {} at every start",
                        c.dest.display()
                    ),
                )
                .var("line", line.to_string())
                .var("fingerprint", fp.clone())
                .var("file", src.clone())
                .ev("option", "[simple_crypto_plugin] kek")
                .ev("line", line)
                .ev("fingerprint", fp)
                .ev("copied_to", c.dest.display().to_string()),
            );
        }
    }
    out
}

/// The `kek` lines of the config files Barbican reads.
fn in_config(facts: &Facts<'_>) -> Vec<Observation> {
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
