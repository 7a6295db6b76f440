//! Waivers: a reviewed, expiring exception for a check (and optionally a
//! subject glob). A waived finding keeps its original status in the evidence;
//! an expired waiver no longer applies and is reported as expired.
//!
//! ```toml
//! [[waiver]]
//! check = "BAR-002"
//! subject = "/etc/barbican/api_audit_map.conf"   # optional glob
//! reason = "audit map is public upstream content"
//! expires = "2027-01-31"                          # last day it applies
//! ```
use std::path::Path;

use serde::Deserialize;
use time::Date;
use toml::Spanned;

use crate::error::Fatal;

/// A validated waiver.
#[derive(Debug, Clone)]
pub struct Waiver {
    /// Check ID.
    pub check: String,
    /// Subject glob (`None` = every subject of the check).
    pub subject: Option<glob::Pattern>,
    /// The glob as written.
    pub subject_text: Option<String>,
    /// Why.
    pub reason: String,
    /// Last day it applies.
    pub expires: Date,
    /// `file:line` of the waiver, for messages.
    pub origin: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    waiver: Vec<Spanned<RawWaiver>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    check: Spanned<String>,
    subject: Option<Spanned<String>>,
    reason: Option<Spanned<String>>,
    expires: Option<Spanned<toml::Value>>,
}

const DATE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

impl Waiver {
    /// Whether the waiver has expired on `today`.
    pub fn is_expired(&self, today: Date) -> bool {
        today > self.expires
    }

    /// Whether it matches a finding.
    pub fn matches(&self, check: &str, subject: &str) -> bool {
        self.check == check && self.subject.as_ref().is_none_or(|p| p.matches(subject))
    }

    /// The expiry as `YYYY-MM-DD`.
    pub fn expires_text(&self) -> String {
        self.expires.format(DATE).unwrap_or_default()
    }
}

/// Loads a waiver file; any problem is fatal (a usage error, exit 2).
pub fn load(path: &Path) -> Result<Vec<Waiver>, Fatal> {
    // Regular file, opened without blocking, capped: a FIFO hung the run.
    let text = crate::userfile::read_user_text(path, 4 << 20)
        .map_err(|e| Fatal::Waivers(e.to_string()))?;
    parse(&text, &path.display().to_string())
}

/// Parses waiver TOML; `shown` names the file in messages.
pub fn parse(text: &str, shown: &str) -> Result<Vec<Waiver>, Fatal> {
    let line = |off: usize| {
        text.as_bytes()[..off.min(text.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|s| format!(":{}", line(s.start)))
            .unwrap_or_default();
        Fatal::Waivers(format!("{shown}{at}: {}", e.message().trim()))
    })?;
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for w in raw.waiver {
        let start = line(w.span().start);
        let origin = format!("{shown}:{start}");
        let w = w.into_inner();
        let check = w.check.get_ref().clone();
        if !barbican_audit_support::is_valid_id(&check) {
            problems.push(format!(
                "{shown}:{}: malformed check ID {check:?}",
                line(w.check.span().start)
            ));
        }
        let reason = w
            .reason
            .as_ref()
            .map(|r| r.get_ref().trim().to_string())
            .unwrap_or_default();
        if reason.is_empty() {
            problems.push(format!(
                "{origin}: waiver for {check} has no reason (a waiver must say why)"
            ));
        }
        let expires = match &w.expires {
            None => {
                problems.push(format!(
                    "{origin}: waiver for {check} has no expires date (YYYY-MM-DD)"
                ));
                None
            }
            Some(v) => {
                let s = match v.get_ref() {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Datetime(d) => d.to_string(),
                    other => other.to_string(),
                };
                match Date::parse(&s, DATE) {
                    Ok(d) => Some(d),
                    Err(_) => {
                        problems.push(format!(
                            "{shown}:{}: bad expires {s:?}: expected YYYY-MM-DD",
                            line(v.span().start)
                        ));
                        None
                    }
                }
            }
        };
        let subject = match &w.subject {
            None => None,
            Some(s) => match glob::Pattern::new(s.get_ref()) {
                Ok(p) => Some(p),
                Err(e) => {
                    problems.push(format!(
                        "{shown}:{}: bad subject glob: {e}",
                        line(s.span().start)
                    ));
                    None
                }
            },
        };
        if let Some(expires) = expires {
            out.push(Waiver {
                check,
                subject_text: w.subject.as_ref().map(|s| s.get_ref().clone()),
                subject,
                reason,
                expires,
                origin,
            });
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Fatal::Waivers(problems.join("\n")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_reason_names_file_and_line() {
        let e = parse(
            "[[waiver]]\ncheck = \"BAR-002\"\nexpires = \"2027-01-31\"\n",
            "w.toml",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "w.toml:1: waiver for BAR-002 has no reason (a waiver must say why)"
        );
    }

    #[test]
    fn expiry_is_inclusive() {
        let w = parse(
            "[[waiver]]\ncheck = \"BAR-002\"\nreason = \"r\"\nexpires = 2027-01-31\n",
            "w",
        )
        .unwrap();
        let d = |s| Date::parse(s, DATE).unwrap();
        assert!(!w[0].is_expired(d("2027-01-31")));
        assert!(w[0].is_expired(d("2027-02-01")));
    }

    #[test]
    fn glob_subjects() {
        let w = parse("[[waiver]]\ncheck = \"BAR-002\"\nsubject = \"/etc/barbican/policy.d/*\"\nreason = \"r\"\nexpires = \"2030-01-01\"\n", "w").unwrap();
        assert!(w[0].matches("BAR-002", "/etc/barbican/policy.d/00_default_policy.yaml"));
        assert!(!w[0].matches("BAR-002", "/etc/barbican/barbican.conf"));
        assert!(!w[0].matches("BAR-001", "/etc/barbican/policy.d/x"));
    }

    #[test]
    fn unknown_key_and_bad_date() {
        assert!(parse(
            "[[waiver]]\ncheck = \"BAR-002\"\nreason = \"r\"\nexpires = \"soon\"\n",
            "w"
        )
        .unwrap_err()
        .to_string()
        .contains("w:4: bad expires"));
        assert!(parse("[[waiver]]\nchek = \"BAR-002\"\n", "w")
            .unwrap_err()
            .to_string()
            .starts_with("w:2:"));
    }
}
