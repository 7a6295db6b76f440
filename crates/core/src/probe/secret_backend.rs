//! `[probe.secret-backend]` (BAR-010): transport and credentials of the
//! secret backends in use: Vault, KMIP, Dogtag, PKCS#11.
//! See: barbican.md §4.1 (which plugins are enabled) and §4.3 (options).
use std::path::PathBuf;

use super::file_metadata::{judge_path, key_file_params, Subject};
use super::{Decl, Facts, FixStyle, Gate, Input, Observation, Observed, Params, Probe, Var};
use crate::barbican::config::{Config, Source};
use crate::barbican::kek::fingerprint;
use crate::report::Status;
use barbican_audit_support::shell_quote;

/// Transport and credentials of the secret backends (BAR-010).
pub struct SecretBackend;

/// What this probe declares about itself.
static DECL: Decl = Decl {
    name: "secret-backend",
    doc: "transport and credentials of the Vault, KMIP, Dogtag and PKCS#11 backends in use",
    vars: &[
        Var::SUBJECT,
        Var::DETAIL,
        Var::quoted("path", "where to apply a fix to a key file"),
        Var::quoted("source", "where the option is set"),
        Var::raw("fix", "the fix, composed with paths shell-quoted"),
    ],
    fix_style: FixStyle::Shell,
    inputs: &[Input::Config, Input::Units, Input::Users],
    parse: true,
    gate: Gate::KeepFails,
    judged_bools: &[("secretstore", "enable_multiple_secret_stores")],
};

impl Probe for SecretBackend {
    fn decl(&self) -> &'static Decl {
        &DECL
    }

    fn observe(&self, _: &Params, facts: &Facts<'_>) -> Observed {
        judge_backends(facts).into()
    }
}

fn opt(cfg: &Config, group: &str, key: &str) -> Option<(String, Source)> {
    cfg.effective(group, key)
        .filter(|e| !e.raw.trim().is_empty())
        .map(|e| {
            (
                cfg.substitute(&e.raw, group, 0).unwrap_or(e.raw.clone()),
                e.source,
            )
        })
}

fn key_file(
    facts: &Facts<'_>,
    group: &str,
    key: &str,
    default: Option<&str>,
) -> Option<Observation> {
    let (path, why) = match (opt(facts.config(), group, key), default) {
        (Some((p, src)), _) => (p, format!("[{group}] {key} at {src}")),
        (None, Some(d)) => (d.to_string(), format!("[{group}] {key} (default)")),
        (None, None) => return None,
    };
    let subject = Subject {
        path: PathBuf::from(path.trim()),
        why,
        role: "key-file",
        named: true,
    };
    Some(with_file_fix(judge_path(
        &key_file_params(),
        facts,
        &subject,
    )))
}

/// Adds a pasteable fix to a file observation from `file_metadata::judge_path`,
/// keeping of its variables only those this probe declares (the others,
/// owner, mode and so on, are file-metadata's).
fn with_file_fix(mut o: Observation) -> Observation {
    let q = shell_quote(o.vars.get("path").map(String::as_str).unwrap_or(""));
    let mode = o
        .vars
        .get("fixed_mode")
        .cloned()
        .unwrap_or_else(|| "0640".into());
    let fix = format!("chown root:barbican {q} && chmod {mode} {q}");
    o.vars
        .retain(|k, _| SecretBackend.vars().iter().any(|v| v.name == k));
    o.var("fix", fix)
}

/// Transport and credentials of each secret backend in use.
fn judge_backends(facts: &Facts<'_>) -> Vec<Observation> {
    let cfg = facts.config();
    let plugins = crate::barbican::crypto::enabled_plugins(cfg);
    let has = |p: &str| plugins.iter().any(|x| x == p);
    let mut out = Vec::new();
    if has("vault_plugin") {
        let (url, src) = opt(cfg, "vault_plugin", "vault_url")
            .map(|(u, s)| (u, s.to_string()))
            .unwrap_or_else(|| ("http://127.0.0.1:8200".into(), "code default".into()));
        let tls = url.trim().to_lowercase().starts_with("https://");
        // Userinfo in vault_url never reaches a message or evidence.
        let url = crate::barbican::redact::url(&url);
        let use_ssl = cfg
            .effective("vault_plugin", "use_ssl")
            // A boolean is shown; anything else may be a pasted secret.
            .map(|e| match crate::barbican::oslo::parse_bool(&e.raw) {
                Some(_) => e.raw.trim().to_string(),
                None => "(not a boolean; value not shown)".to_string(),
            });
        let note = match &use_ssl {
            Some(v) => format!(" (use_ssl = {v} has no effect: castellan verifies TLS only when vault_url starts with https://)"),
            None => String::new(),
        };
        let o = if tls {
            Observation::new(
                "[vault_plugin] vault_url",
                Status::Pass,
                format!("{url} uses TLS{note}"),
            )
        } else {
            Observation::new(
                "[vault_plugin] vault_url",
                Status::Fail,
                format!("{url} ({src}) is not https://: secrets travel to Vault in cleartext and the server is not verified{note}"),
            )
        };
        let o = o.var("fix", "set [vault_plugin] vault_url to the https:// URL of Vault (and ssl_ca_crt_file to its CA)");
        out.push(
            o.var("source", src.clone())
                .ev("vault_url", url)
                .ev("source", src),
        );
        if let Some((token, src)) = opt(cfg, "vault_plugin", "root_token_id") {
            out.push(
                Observation::new(
                    "[vault_plugin] root_token_id",
                    Status::Fail,
                    format!("a Vault token {} is set in config at {src}: use AppRole (approle_role_id, approle_secret_id) with a narrow policy", fingerprint(token.as_bytes())),
                )
                .var("source", src.to_string())
                .var("fix", "remove root_token_id and configure approle_role_id / approle_secret_id for a Vault AppRole limited to Barbican's KV path")
                .ev("fingerprint", fingerprint(token.as_bytes())),
            );
        }
        out.extend(key_file(facts, "vault_plugin", "ssl_ca_crt_file", None));
    }
    if has("kmip_plugin") {
        for key in ["keyfile", "certfile"] {
            match key_file(facts, "kmip_plugin", key, None) {
                Some(o) => out.push(o),
                None if key == "keyfile" => out.push(Observation::new(
                    "[kmip_plugin] keyfile",
                    Status::Pass,
                    "no client key file configured (KMIP authenticates by username/password only)",
                )),
                None => {}
            }
        }
        if let Some((pw, src)) = opt(cfg, "kmip_plugin", "password") {
            out.push(
                Observation::new(
                    "[kmip_plugin] password",
                    Status::Pass,
                    format!("KMIP password {} is stored in config at {src} (note: protect the file, BAR-001/002)", fingerprint(pw.as_bytes())),
                )
                .ev("fingerprint", fingerprint(pw.as_bytes())),
            );
        }
    }
    if has("dogtag_crypto") || has("dogtag_plugin") {
        out.extend(key_file(
            facts,
            "dogtag_plugin",
            "pem_path",
            Some("/etc/barbican/kra_admin_cert.pem"),
        ));
        let nss = opt(cfg, "dogtag_plugin", "nss_db_path")
            .map(|(p, _)| p)
            .unwrap_or_else(|| "/etc/barbican/alias".into());
        let subject = Subject {
            path: PathBuf::from(nss),
            why: "[dogtag_plugin] nss_db_path".into(),
            role: "key-dir",
            named: true,
        };
        let mut p = key_file_params();
        p.mode_max = Some(0o750);
        out.push(with_file_fix(judge_path(&p, facts, &subject)));
    }
    if has("p11_crypto") {
        match opt(cfg, "p11_crypto_plugin", "login") {
            Some((pin, src)) => out.push(
                Observation::new(
                    "[p11_crypto_plugin] login",
                    Status::Fail,
                    format!("the HSM PIN {} is stored in plaintext at {src}", fingerprint(pin.as_bytes())),
                )
                .var("source", src.to_string())
                .var("fix", "keep the PIN out of barbican.conf (e.g. OS_P11_CRYPTO_PLUGIN__LOGIN from a root-only EnvironmentFile), or waive this finding with the reason")
                .ev("fingerprint", fingerprint(pin.as_bytes())),
            ),
            None => out.push(Observation::new("[p11_crypto_plugin] login", Status::Pass, "no HSM PIN in config")),
        }
        out.extend(key_file(facts, "p11_crypto_plugin", "seed_file", None));
    }
    if out.is_empty() {
        out.push(
            Observation::new(
                "[secretstore]",
                Status::Na,
                format!(
                    "no Vault, KMIP, Dogtag or PKCS#11 backend in use (enabled: {})",
                    plugins
                        .iter()
                        .map(|p| crate::barbican::redact::url(p))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .ev(
                "enabled_plugins",
                plugins
                    .iter()
                    .map(|p| crate::barbican::redact::url(p))
                    .collect::<Vec<_>>(),
            ),
        );
    }
    out
}
