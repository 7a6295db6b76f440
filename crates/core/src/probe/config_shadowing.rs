//! `[probe.config-shadowing]` (BAR-009): a `barbican.conf` in the service
//! user's home silently replaces `/etc/barbican/barbican.conf` (oslo.config
//! reads only the first one it finds), and a `barbican.conf.d` file can
//! override what an operator reviewed in barbican.conf.
use std::path::Path;

use super::{Decl, Facts, FixStyle, Gate, Input, Observation, Observed, Params, Probe, Var};
use crate::barbican::options;
use crate::report::Status;

/// Shadowing barbican.conf, overriding conf.d files (BAR-009).
pub struct ConfigShadowing;

/// What this probe declares about itself.
static DECL: Decl = Decl {
    name: "config-shadowing",
    doc: "a barbican.conf in the service user's home, and conf.d files overriding judged options",
    vars: &[
        Var::SUBJECT,
        Var::DETAIL,
        Var::quoted(
            "option",
            "the first judged option the file sets, `[group] key`",
        ),
        Var::quoted("line", "its line"),
    ],
    // The remediation is prose naming a file or option, not a command
    // line: quoting would only garble it.
    fix_style: FixStyle::Prose,
    inputs: &[Input::Config, Input::Users],
    parse: false,
    gate: Gate::KeepFails,
    judged_bools: &[],
};

impl Probe for ConfigShadowing {
    fn decl(&self) -> &'static Decl {
        &DECL
    }

    fn observe(&self, _: &Params, facts: &Facts<'_>) -> Observed {
        find_shadowing(facts).into()
    }
}

/// Options other checks judge: overriding them in `barbican.conf.d` hides
/// the change from a review of barbican.conf.
pub const JUDGED: &[(&str, &str)] = &[
    ("simple_crypto_plugin", "kek"),
    ("keystone_authtoken", "auth_url"),
    ("keystone_authtoken", "www_authenticate_uri"),
    ("keystone_authtoken", "auth_uri"),
    ("keystone_authtoken", "insecure"),
    ("keystone_authtoken", "cafile"),
    ("keystone_authtoken", "identity_uri"),
    ("keystone_authtoken", "auth_protocol"),
    ("keystone_authtoken", "auth_type"),
    ("keystone_authtoken", "auth_section"),
    ("keystone_authtoken", "delay_auth_decision"),
    ("DEFAULT", "allow_anonymous_access"),
    ("oslo_policy", "enforce_new_defaults"),
    ("oslo_policy", "policy_file"),
    ("oslo_policy", "policy_dirs"),
    ("crypto", "enabled_crypto_plugins"),
    ("secretstore", "enabled_secretstore_plugins"),
    ("secretstore", "enable_multiple_secret_stores"),
    ("vault_plugin", "vault_url"),
    ("vault_plugin", "root_token_id"),
    ("p11_crypto_plugin", "login"),
    ("kmip_plugin", "keyfile"),
];

/// A shadowing barbican.conf, and each conf.d file setting a judged option.
fn find_shadowing(facts: &Facts<'_>) -> Vec<Observation> {
    let mut out = Vec::new();
    let etc = Path::new("/etc/barbican/barbican.conf");
    let etc_exists = facts.config().candidates.iter().any(|c| c == etc);
    for c in &facts.config().candidates {
        if c.starts_with("/etc") {
            break;
        }
        let detail = if etc_exists {
            "shadows /etc/barbican/barbican.conf: oslo.config reads only the first barbican.conf of ~/.barbican, ~, /etc/barbican, /etc, so /etc/barbican/barbican.conf is ignored entirely".to_string()
        } else {
            "is the barbican.conf Barbican reads, from the service user's home instead of /etc/barbican".to_string()
        };
        out.push(
            Observation::new(c.display().to_string(), Status::Fail, detail)
                .ev("search_order", "~/.barbican, ~, /etc/barbican, /etc"),
        );
    }
    for (i, f) in facts.config().files.iter().enumerate().skip(1) {
        let Ok(parsed) = &f.parsed else { continue };
        // One finding per file (a report holds one finding per check and
        // subject; the collector refuses duplicates), naming every judged
        // option the file sets.
        let mut lines: Vec<String> = Vec::new();
        let mut first: Option<(String, usize)> = None;
        let mut opts: Vec<String> = Vec::new();
        for v in &parsed.values {
            if !JUDGED.contains(&(v.group.as_str(), v.key.as_str())) {
                continue;
            }
            let earlier = facts.config().files[..i].iter().rev().find_map(|e| {
                e.parsed.as_ref().ok().and_then(|p| {
                    p.get_all(&v.group, &v.key)
                        .pop()
                        .map(|x| format!("{}:{}", e.path.display(), x.line))
                })
            });
            let multi =
                options::find(&v.group, &v.key).is_some_and(|o| o.kind == options::Kind::Multi);
            let what = match (&earlier, multi) {
                (Some(e), true) => format!("adds to the value set at {e} (multi-valued option)"),
                (Some(e), false) => format!("overrides the value set at {e}"),
                (None, _) => "sets it outside barbican.conf".to_string(),
            };
            // Quoted only by the one rule (known, not secret, no userinfo).
            let shown = crate::barbican::redact::quotable(&v.group, &v.key, &v.value)
                .map(|q| format!(" = {q}"))
                .unwrap_or_default();
            let option = format!("[{}] {}", v.group, v.key);
            lines.push(format!("line {}: {option}{shown} {what}", v.line));
            first.get_or_insert((option.clone(), v.line));
            opts.push(option);
        }
        if let Some((option, line)) = first {
            out.push(
                Observation::new(f.path.display().to_string(), Status::Fail, lines.join("; "))
                    .var("option", option.clone())
                    .var("line", line.to_string())
                    .ev("option", option)
                    .ev("line", line)
                    .ev("options", opts),
            );
        }
    }
    if out.is_empty() {
        let read: Vec<String> = facts
            .config()
            .files
            .iter()
            .map(|f| f.path.display().to_string())
            .collect();
        let subject = read
            .first()
            .cloned()
            .unwrap_or_else(|| etc.display().to_string());
        out.push(
            Observation::new(subject, Status::Pass, "no barbican.conf in the service user's home, and no barbican.conf.d file sets an option other checks judge")
                .ev("files_read", read),
        );
    }
    out
}
