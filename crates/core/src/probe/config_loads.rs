//! `[probe.config-loads]` (BAR-012): each oslo.config file parses the way
//! Barbican parses it. A file oslo.config refuses stops the service; a `$`
//! that names no option breaks the option on read; an invalid boolean in
//! a judged option raises ConfigFileValueError.
use super::{Decl, Facts, FixStyle, Gate, Input, Observation, Observed, Params, Probe, Var};
use crate::barbican::{options, oslo, redact, Config};
use crate::report::Status;

/// Config files load as oslo.config loads them (BAR-012).
pub struct ConfigLoads;

/// What this probe declares about itself.
static DECL: Decl = Decl {
    name: "config-loads",
    doc: "each oslo.config file and the paste file parse the way Barbican parses them",
    vars: &[Var::SUBJECT, Var::DETAIL],
    // The remediation is prose naming a file or option, not a command
    // line: quoting would only garble it.
    fix_style: FixStyle::Prose,
    inputs: &[Input::Config, Input::ProgConfig, Input::Paste, Input::Users],
    parse: false,
    gate: Gate::Add,
    judged_bools: &[],
};

impl Probe for ConfigLoads {
    fn decl(&self) -> &'static Decl {
        &DECL
    }

    fn observe(&self, _: &Params, facts: &Facts<'_>) -> Observed {
        judge_parses(facts).into()
    }
}

/// One observation per config file and for the paste file: does it load?
fn judge_parses(facts: &Facts<'_>) -> Vec<Observation> {
    let mut configs: Vec<&Config> = vec![facts.config()];
    configs.extend(facts.prog_configs().iter());
    let mut out: Vec<Observation> = Vec::new();
    for cfg in configs {
        for f in &cfg.files {
            let subject = f.path.display().to_string();
            if out.iter().any(|o| o.subject == subject) {
                continue;
            }
            let parsed = match &f.parsed {
                Ok(p) => p,
                Err(e) => {
                    out.push(Observation::new(
                        subject,
                        Status::Error,
                        format!("cannot read: {e}"),
                    ));
                    continue;
                }
            };
            let mut problems: Vec<String> = Vec::new();
            if let Some(e) = &parsed.error {
                problems.push(format!(
                    "line {}: {} (oslo.config refuses the whole file)",
                    e.line, e.message
                ));
            }
            for v in &parsed.values {
                // Registered options only: oslo.config never reads (so never
                // types or interpolates) a key nothing registered; the auth
                // plugin's options count (keystonemiddleware registers them).
                let Some(opt) = cfg.registered(&v.group, &v.key) else {
                    continue;
                };
                match opt.kind {
                    options::Kind::Bool => {
                        if oslo::parse_bool(&v.value).is_none() {
                            // The invalid value is not quoted: what made it
                            // invalid may be a password pasted onto the line.
                            problems.push(format!(
                                "line {}: [{}] {}: the value is not a boolean oslo.config accepts (true/false, yes/no, on/off, 1/0; value not shown)",
                                v.line, v.group, v.key
                            ));
                        }
                    }
                    options::Kind::Int | options::Kind::Float => {}
                    _ => {
                        if let Err(e) = cfg.substitute(&v.value, &v.group, 0) {
                            // Never echo a secret, not even the fragment after `$`.
                            let what = if options::is_secret(&v.group, &v.key)
                                || redact::has_userinfo(&v.value)
                            {
                                "a `$` starts a substitution that fails (NoSuchOptError; the value is secret or holds userinfo, so it is not shown); write `$$` for a literal dollar".to_string()
                            } else {
                                format!("{} (write `$$` for a literal dollar)", e.message)
                            };
                            problems
                                .push(format!("line {}: [{}] {}: {what}", v.line, v.group, v.key));
                        }
                    }
                }
            }
            let status = if problems.is_empty() {
                Status::Pass
            } else {
                Status::Fail
            };
            let detail = if problems.is_empty() {
                "parses as oslo.config parses it".to_string()
            } else {
                problems.join("; ")
            };
            out.push(Observation::new(subject, status, detail).ev("problems", problems));
        }
    }
    if let Some(api) = facts.api() {
        // The paste file: configparser strictness, `%(` interpolation, and
        // every urlmap entry resolving, as loadapp() needs.
        let subject = api.path.display().to_string();
        out.push(match api.loads() {
            Ok(()) => Observation::new(subject, Status::Pass, "loads as PasteDeploy loads it"),
            Err(e) => Observation::new(
                subject,
                Status::Fail,
                format!("{e} (PasteDeploy refuses to load it: the API does not start)"),
            ),
        });
    }
    if out.is_empty() {
        out.push(Observation::new(
            "barbican.conf",
            Status::Na,
            "no oslo.config file in the search path",
        ));
    }
    out
}
