//! Serde mirror of a check file. Unknown keys are errors; every value that
//! validation judges keeps its span so problems carry a line number.
use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// A check file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawCheck {
    /// `BAR-001`.
    pub id: Spanned<String>,
    /// One line.
    pub title: Spanned<String>,
    /// `info`, `low`, `medium`, `high`, `critical`.
    pub severity: Spanned<String>,
    /// Control IDs and documents.
    pub references: Spanned<Vec<String>>,
    /// Why the rule exists (shown by `checks explain`).
    pub rationale: Spanned<String>,
    /// Remediation template.
    pub remediation: Spanned<String>,
    /// Remediation templates per deployment layout (`kolla = "..."`): where
    /// that layout's tool keeps the setting, so the fix survives the next
    /// deployment run. A layout not listed gets `remediation`.
    #[serde(default)]
    pub remediation_by_layout: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    /// Conditions that must hold for the check to apply (else `na`).
    #[serde(default)]
    pub applies_if: Option<Spanned<Vec<String>>>,
    /// Message templates per status.
    pub message: Spanned<RawMessage>,
    /// Exactly one probe: `[probe.<kind>]` with its parameters.
    pub probe: BTreeMap<String, Spanned<toml::Table>>,
}

/// `[message]` templates; `{name}` placeholders are filled from the probe's
/// observation. A missing status falls back to `{detail}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMessage {
    /// Template for `pass`.
    pub pass: Option<Spanned<String>>,
    /// Template for `fail`.
    pub fail: Option<Spanned<String>>,
    /// Template for `error`.
    pub error: Option<Spanned<String>>,
    /// Template for `na`.
    pub na: Option<Spanned<String>>,
}
