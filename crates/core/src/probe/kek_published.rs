//! `[probe.kek-published]` (BAR-007): the effective master KEK(s) must not
//! be a value published upstream. With no `kek`, Barbican <= 20.x uses its
//! code default, which is public; >= 21 cannot load simple_crypto at all.
use super::{Decl, Facts, FixStyle, Gate, Input, Observation, Observed, Params, Probe, Var};
use crate::barbican::config::Source;
use crate::barbican::crypto::{self, KekSemantics};
use crate::report::Status;

/// Effective KEK is a published value (BAR-007).
pub struct KekPublished;

/// What this probe declares about itself.
static DECL: Decl = Decl {
    name: "kek-published",
    doc: "whether the effective master KEKs are values published upstream",
    vars: &[
        Var::SUBJECT,
        Var::DETAIL,
        Var::quoted("fingerprint", "fingerprint of the KEK"),
        Var::quoted("published", "where the value is published"),
        Var::quoted("source", "where the KEK is set"),
        Var::quoted("version", "the installed Barbican version"),
    ],
    // The remediation is prose naming a file or option, not a command
    // line: quoting would only garble it.
    fix_style: FixStyle::Prose,
    inputs: &[Input::Config, Input::Units, Input::Users],
    parse: true,
    gate: Gate::Replace,
    judged_bools: &[("secretstore", "enable_multiple_secret_stores")],
};

impl Probe for KekPublished {
    fn decl(&self) -> &'static Decl {
        &DECL
    }

    fn observe(&self, _: &Params, facts: &Facts<'_>) -> Observed {
        judge_effective_keks(facts).into()
    }
}

/// One observation per effective KEK: published or not.
fn judge_effective_keks(facts: &Facts<'_>) -> Vec<Observation> {
    let version = facts.installed().version.clone();
    let shown_version = version.clone().unwrap_or_else(|| "unknown".into());
    let sem = crypto::semantics(version.as_deref());
    let sem_text = match sem {
        KekSemantics::Single => {
            "kek is single-valued: the last value read wins (Barbican <= 19.x, or version unknown)"
        }
        KekSemantics::MultiWithDefault => {
            "kek is multi-valued: the first encrypts, the others still decrypt (Barbican 20.x)"
        }
        KekSemantics::MultiNoDefault => "kek is multi-valued with no default (Barbican >= 21)",
    };
    let keks = match crypto::effective_keks(facts.config(), sem) {
        Ok(k) => k,
        Err(why) => {
            return vec![
                Observation::new("[simple_crypto_plugin] kek", Status::Error, why)
                    .ev("barbican_version", shown_version)
                    .var("version", version.unwrap_or_default()),
            ]
        }
    };
    keks.into_iter()
        .enumerate()
        .map(|(i, k)| {
            let fp = k.kek.fingerprint();
            let role = if i == 0 { "encrypting" } else { "decrypt-only" };
            let subject = match &k.source {
                Source::File { path, .. } => format!("[simple_crypto_plugin] kek #{} ({})", i + 1, path.display()),
                Source::Env { var, .. } => format!("[simple_crypto_plugin] kek #{} ({var})", i + 1),
                Source::Default => "[simple_crypto_plugin] kek (code default)".to_string(),
            };
            let source = k.source.to_string();
            let obs = match k.kek.published() {
                Some(where_) if k.kek.is_code_default() => Observation::new(
                    subject,
                    Status::Fail,
                    format!(
                        "no kek is set, so Barbican {shown_version} uses its code default {fp}, which is published: {where_}"
                    ),
                )
                .var("published", where_),
                Some(where_) => Observation::new(
                    subject,
                    Status::Fail,
                    format!("the {role} KEK {fp} set at {source} is published: {where_}"),
                )
                .var("published", where_),
                None => Observation::new(subject, Status::Pass, format!("the {role} KEK {fp} set at {source} is not a published value")),
            };
            obs.var("fingerprint", fp.clone())
                .var("source", source.clone())
                .var("version", shown_version.clone())
                .ev("fingerprint", fp)
                .ev("source", source)
                .ev("barbican_version", shown_version.clone())
                .ev("semantics", sem_text)
        })
        .collect()
}
