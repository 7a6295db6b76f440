//! `[probe.policy-creator]` (BAR-008, SCS-0116): a user whose only Keystone
//! role is `member` must be able to act as Barbican's `creator`. With Secure
//! RBAC (`[oslo_policy] enforce_new_defaults = true`) the new defaults grant
//! it; otherwise the legacy rules decide and `creator` defaults to
//! `role:creator`, so a policy file must say `"creator": "role:member"` (alone
//! or in an `or`). See barbican.md §5.
use std::collections::BTreeMap;

use super::{Decl, Facts, FixStyle, Gate, Input, Observation, Observed, Params, Probe, Var};
use crate::barbican::oslo::parse_bool;
use crate::barbican::policy::{self, Verdict};
use crate::barbican::version::at_least;
use crate::report::Status;

/// member may act as creator (BAR-008).
pub struct PolicyCreator;

/// What this probe declares about itself.
static DECL: Decl = Decl {
    name: "policy-creator",
    doc: "whether a member-only user may act as Barbican's creator",
    vars: &[
        Var::SUBJECT,
        Var::DETAIL,
        Var::quoted("rule", "the effective creator rule"),
        Var::quoted("source", "where it comes from"),
    ],
    // The remediation is prose naming a file or option, not a command
    // line: quoting would only garble it.
    fix_style: FixStyle::Prose,
    inputs: &[Input::Config, Input::Policy, Input::Units, Input::Users],
    parse: true,
    gate: Gate::Replace,
    judged_bools: &[("oslo_policy", "enforce_new_defaults")],
};

impl Probe for PolicyCreator {
    fn decl(&self) -> &'static Decl {
        &DECL
    }

    fn observe(&self, _: &Params, facts: &Facts<'_>) -> Observed {
        judge_creator(facts).into()
    }
}

/// Barbican's legacy (pre-SRBAC) defaults the `creator` rule may reach.
/// See: barbican 15.0.1 `barbican/common/policies/base.py`.
const LEGACY_DEFAULTS: &[(&str, &str)] = &[
    ("admin", "role:admin"),
    ("observer", "role:observer"),
    ("creator", "role:creator"),
    ("audit", "role:audit"),
    ("service_admin", "role:key-manager:service-admin"),
    (
        "all_users",
        "rule:admin or rule:observer or rule:creator or rule:audit or rule:service_admin",
    ),
    (
        "all_but_audit",
        "rule:admin or rule:observer or rule:creator",
    ),
    ("admin_or_creator", "rule:admin or rule:creator"),
];

/// The effective `enforce_new_defaults` and where it comes from.
fn enforce_new_defaults(facts: &Facts<'_>) -> (bool, String) {
    if let Some(e) = facts
        .config()
        .effective("oslo_policy", "enforce_new_defaults")
    {
        let v = parse_bool(&e.raw).unwrap_or(false);
        return (
            v,
            format!(
                "[oslo_policy] enforce_new_defaults = {} at {}",
                // An accepted boolean is shown; anything else is not quoted.
                match parse_bool(&e.raw) {
                    Some(_) => e.raw.trim().to_string(),
                    None => "(not a boolean; value not shown)".to_string(),
                },
                e.source
            ),
        );
    }
    let barbican = facts.installed().version.as_deref();
    // Barbican >= 19 overrides the library default with False (barbican@9d641cef);
    // <= 18 inherits oslo.policy's, True from 4.4.0.
    match barbican {
        Some(v) if !at_least(v, &[19]) => match facts.installed().oslo_policy.as_deref() {
            Some(lib) if at_least(lib, &[4, 4]) => (
                true,
                format!("not set: oslo.policy {lib} defaults it to true under Barbican {v}"),
            ),
            Some(lib) => (
                false,
                format!("not set: oslo.policy {lib} defaults it to false"),
            ),
            None => (
                false,
                format!(
                    "not set: Barbican {v} with oslo.policy of unknown version (read as false)"
                ),
            ),
        },
        Some(v) => (false, format!("not set: Barbican {v} forces false")),
        None => (
            false,
            "not set (Barbican version unknown, read as false)".to_string(),
        ),
    }
}

/// Whether a member-only user may act as creator.
fn judge_creator(facts: &Facts<'_>) -> Vec<Observation> {
    let (srbac, why) = enforce_new_defaults(facts);
    if srbac {
        return vec![Observation::new(
            "creator",
            Status::Pass,
            format!("Secure RBAC is enforced ({why}): the new defaults let member create secrets"),
        )
        .var("source", why.clone())
        .ev("enforce_new_defaults", why)];
    }
    let mut files = Vec::new();
    for f in facts.files().files.iter().filter(|f| f.role == "policy") {
        match facts
            .host
            .read(&f.path)
            .map_err(|e| e.to_string())
            .and_then(|b| policy::parse_bytes(&b).map_err(|e| e.to_string()))
        {
            Ok(p) => files.push((f.path.clone(), p)),
            Err(e) => {
                return vec![Observation::new(
                    "creator",
                    Status::Error,
                    format!(
                        "{} does not load ({e}): oslo.policy would fail every API call",
                        f.path.display()
                    ),
                )]
            }
        }
    }
    let parsed: Vec<policy::PolicyFile> = files.iter().map(|(_, p)| p.clone()).collect();
    let merged = policy::merge(&parsed);
    let mut rules: BTreeMap<String, String> = LEGACY_DEFAULTS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (name, (rule, _, _)) in &merged {
        rules.insert(name.clone(), rule.clone());
    }
    let (rule, source) = match merged.get("creator") {
        Some((rule, idx, line)) => (
            rule.clone(),
            format!(
                "{}:{line}",
                files
                    .get(*idx)
                    .map(|f| f.0.display().to_string())
                    .unwrap_or_default()
            ),
        ),
        None => (
            "role:creator".to_string(),
            "Barbican's default (no policy file sets it)".to_string(),
        ),
    };
    let default_rule = match facts.config().resolve("oslo_policy", "policy_default_rule") {
        Ok(v) => v.unwrap_or_else(|| "default".into()),
        // oslo.policy would raise reading it: not judged as the default.
        Err(_) => {
            return vec![Observation::new(
                "creator",
                Status::Error,
                "[oslo_policy] policy_default_rule has a `$` substitution that fails (NoSuchOptError): oslo.policy cannot read it",
            )]
        }
    };
    let verdict = policy::role_verdict(
        &rules,
        "creator",
        &["member", "reader"],
        Some(&default_rule),
    );
    let (status, detail) = match verdict {
        Verdict::Granted => (Status::Pass, format!("\"creator\": {rule:?} ({source}) lets a member-only user act as creator")),
        Verdict::Denied => (Status::Fail, format!("\"creator\": {rule:?} ({source}) does not grant role:member, and Secure RBAC is off ({why}): a member-only user cannot create secrets (SCS-0116)")),
        Verdict::Depends => (Status::Fail, format!("\"creator\": {rule:?} ({source}) grants role:member only under other conditions, and Secure RBAC is off ({why})")),
        Verdict::Error => (Status::Fail, format!("\"creator\": {rule:?} ({source}) makes oslo.policy raise when enforced: every create call fails")),
    };
    vec![Observation::new("creator", status, detail)
        .var("rule", rule.clone())
        .var("source", source.clone())
        .ev("rule", rule)
        .ev("source", source)
        .ev("enforce_new_defaults", why)
        .ev(
            "policy_files",
            files
                .iter()
                .map(|(p, _)| p.display().to_string())
                .collect::<Vec<_>>(),
        )]
}
