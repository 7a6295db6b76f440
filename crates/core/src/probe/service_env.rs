//! `[probe.service-environment]` (BAR-011): secrets handed to Barbican
//! through its systemd units. oslo.config reads `OS_<GROUP>__<OPT>` from the
//! environment before any file, so `Environment=OS_SIMPLE_CRYPTO_PLUGIN__KEK=`
//! in a drop-in is the effective KEK; but unit files are world-readable and
//! `systemctl show` prints `Environment=` to any local user. A secret may come
//! from an `EnvironmentFile=` only if that file is root-owned, group root or
//! barbican, mode 0640 or stricter, no ACL widening (systemd reads it as root).
use std::os::unix::fs::MetadataExt;

use super::{Decl, Facts, FixStyle, Gate, Input, Observation, Observed, Params, Probe, Var};
use crate::barbican::kek::fingerprint;
use crate::barbican::options;
use crate::barbican::systemd::{oslo_env_option, Via};
use crate::host::acl::Acl;
use crate::report::Status;

/// Secrets through the service environment (BAR-011).
pub struct ServiceEnvironment;

/// What this probe declares about itself.
static DECL: Decl = Decl {
    name: "service-environment",
    doc: "secrets handed to Barbican through its systemd units' environment",
    vars: &[
        Var::SUBJECT,
        Var::DETAIL,
        Var::quoted("variable", "the environment variable"),
        Var::quoted("unit", "the unit that sets it"),
        Var::raw("fix", "the fix, composed with paths shell-quoted"),
    ],
    fix_style: FixStyle::Shell,
    inputs: &[Input::Units],
    parse: true,
    gate: Gate::KeepFails,
    judged_bools: &[],
};

impl Probe for ServiceEnvironment {
    fn decl(&self) -> &'static Decl {
        &DECL
    }

    fn observe(&self, _: &Params, facts: &Facts<'_>) -> Observed {
        judge_unit_env(facts).into()
    }
}

/// Whether an environment variable hands a secret to Barbican.
fn secret_option(var: &str) -> Option<(String, String)> {
    let (g, k) = oslo_env_option(var)?;
    options::is_secret(&g, &k).then_some((g, k))
}

/// Secrets each barbican unit gets through its environment.
fn judge_unit_env(facts: &Facts<'_>) -> Vec<Observation> {
    if facts.units().is_empty() {
        return vec![Observation::new(
            "systemd",
            Status::Na,
            "no barbican service units on this root",
        )];
    }
    let mut out = Vec::new();
    for u in facts.units() {
        let mut found = false;
        for a in &u.env {
            let Some((group, key)) = secret_option(&a.name) else {
                continue;
            };
            found = true;
            // A KEK is named by the fingerprint of its decoded key bytes, as BAR-006/007/013
            // name it; other secrets (passwords) by that of their text.
            let fp = if (group.as_str(), key.as_str()) == ("simple_crypto_plugin", "kek") {
                crate::barbican::crypto::decode_kek(facts.config(), &a.value).fingerprint()
            } else {
                fingerprint(a.value.as_bytes())
            };
            match &a.via {
                Via::Environment => out.push(
                    Observation::new(
                        u.name.clone(),
                        Status::Fail,
                        format!(
                            "{} ([{group}] {key}, {fp}) is set with Environment= at {}:{}: unit files are world-readable and systemctl show prints it to any user",
                            a.name,
                            a.file.display(),
                            a.line
                        ),
                    )
                    .var("variable", a.name.clone())
                    .var("unit", u.name.clone())
                    .var(
                        "fix",
                        format!(
                            "move {} from {} into a root-owned 0600 EnvironmentFile= (or out of the environment), then systemctl daemon-reload",
                            a.name,
                            barbican_audit_support::shell_quote(&facts.host.real(&a.file).to_string_lossy())
                        ),
                    )
                    .ev("variable", a.name.clone())
                    .ev("fingerprint", fp)
                    .ev("file", format!("{}:{}", a.file.display(), a.line)),
                ),
                Via::EnvironmentFile(env_file) => out.push(env_file_obs(facts, &u.name, &a.name, env_file, &fp)),
            }
        }
        if !found {
            out.push(
                Observation::new(
                    u.name.clone(),
                    Status::Pass,
                    "no secret option set through the service environment",
                )
                .ev("unit", u.name.clone()),
            );
        }
    }
    out
}

fn env_file_obs(
    facts: &Facts<'_>,
    unit: &str,
    var: &str,
    env_file: &std::path::Path,
    fp: &str,
) -> Observation {
    let subject = env_file.display().to_string();
    let real = facts.host.real(env_file);
    let meta = match facts
        .host
        .resolve(env_file)
        .and_then(|r| facts.host.lstat(&r.target))
    {
        Ok(m) => m,
        Err(e) => {
            return Observation::new(
                subject,
                Status::Error,
                format!(
                    "{var} comes from {} but it cannot be read: {e}",
                    env_file.display()
                ),
            )
        }
    };
    let users = &facts.host.users;
    let (uid, gid, mode) = (meta.uid(), meta.gid(), meta.mode() & 0o7777);
    let group = users.group_name(gid).unwrap_or("?").to_string();
    let mut problems = Vec::new();
    if uid != 0 {
        problems.push(format!("owned by uid {uid}, not root"));
    }
    if !(gid == 0 || Some(gid) == users.group_gid("barbican")) {
        problems.push(format!("group {group} is neither root nor barbican"));
    }
    if mode & !0o640 != 0 {
        problems.push(format!("mode {mode:04o} is looser than 0640"));
    }
    match Acl::read(&real) {
        Ok(Some(acl)) if acl.named().next().is_some() => problems.push(format!(
            "POSIX ACL grants {}",
            acl.to_text(users).replace('\n', ", ")
        )),
        Err(e) => problems.push(format!("cannot read its ACL: {e}")),
        _ => {}
    }
    let q = barbican_audit_support::shell_quote(&real.to_string_lossy());
    let base = Observation::new(
        subject,
        if problems.is_empty() {
            Status::Pass
        } else {
            Status::Fail
        },
        if problems.is_empty() {
            format!("{var} ({fp}) for {unit} comes from a protected EnvironmentFile ({group}, {mode:04o})")
        } else {
            format!(
                "{var} ({fp}) for {unit} comes from this EnvironmentFile, which is {}",
                problems.join("; ")
            )
        },
    );
    base.var("variable", var.to_string())
        .var("unit", unit.to_string())
        .var(
            "fix",
            format!("chown root:root {q} && chmod 0600 {q} && setfacl -b {q}"),
        )
        .ev("variable", var.to_string())
        .ev("fingerprint", fp.to_string())
        .ev("mode", format!("{mode:04o}"))
}
