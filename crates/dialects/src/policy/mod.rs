//! oslo.policy files and rules, as Barbican's enforcer reads them (BAR-008, SCS-0116).
//!
//! API: [`parse`] / [`parse_bytes`] one file, [`merge`] files in load order, [`parse_rule`] the
//! policy language into a [`Check`], [`grants_role`] / [`role_verdict`] for "may a user with only
//! role X pass rule Y".
//!
//! Behaviour mirrors oslo.policy 4.0.0 with PyYAML 6.0 (Debian's barbican-common). The cases in
//! the repository's `tests/data/policy/` (policy files and rule strings with their expected
//! verdicts) are read both by this module's tests and by `tests/confirm/policy_confirm.py`, which
//! runs them through the real library (`cargo test --test policy_confirm`). The model was also
//! checked with a differential corpus of ~8000 files and ~2300 rules (`policy_confirm.py
//! --corpus`).
//!
//! Layout: the policy language (`rule.rs`), evaluation (`eval.rs`), files to rules
//! and the merge (`load.rs`), Python's `json.loads` (`json.rs`), PyYAML's `safe_load`
//! (`yaml.rs`, with `yaml_scan.rs` for PyYAML's token-level checks and `yaml_scalar.rs` for its
//! scalar typing).
//!
//! * `parse_file_contents` tries `json.loads` first and only then `yaml.safe_load` (YAML 1.1
//!   typing: `yes`/`on`/`no`/`off` are booleans, `1:20` is an int, `2001-01-01` a date, ...).
//!   Duplicate keys: the last one wins, silently, in both JSON and YAML. `parsed or {}`: an empty
//!   file, a comment-only file, `null`, `[]`, `0`, `false` all mean "no rules". Any other
//!   non-mapping top level makes oslo.policy fail (`AttributeError: ... has no attribute 'items'`).
//! * Rule values go through `_parser.parse_rule`. A string is the policy language. Anything else
//!   uses the legacy list-of-lists syntax (`_parse_list_rule`). Surprises confirmed with the real
//!   library: a *falsy* non-string value (`creator:` with nothing after it, `~`, `false`, `0`,
//!   `[]`, `{}`) means **always allow**. A truthy scalar (`5`, `yes`, a date) raises `TypeError`,
//!   even under a non-string key, and the whole policy fails to load. `[["role:member"]]` works as
//!   a rule. Non-string values are normalised into an equivalent policy-language string
//!   ([`Rule::rule`]) and described in [`Rule::note`].
//! * Keys that are not strings (`5:`, `~:`, `true:`) are legal but unreachable (no `rule:` check
//!   and no enforcement can name them), so they are left out.
//! * Malformed rule text does not raise: `_parse_text_rule` turns it into `FalseCheck` (`!`) and
//!   logs "Failed to understand rule". Whitespace only is `!`; `""` is `@`. A rule that is a single
//!   bare keyword, parenthesis or quoted string (`"and"`, `"("`, `"'x'"`) is kept by oslo.policy
//!   as that *string*, and enforcing it raises (`AttributeError`): see [`Check::Invalid`].
//! * `RoleCheck` compares `match.lower()` with each `role.lower()` after `match % target`
//!   (`role:mem%ber` raises at enforce). The check *kind* is case-sensitive (`Role:member` is a
//!   GenericCheck); `AND`/`Or`/`NOT` are operators.
//! * A `rule:` reference to a missing rule falls back to `policy_default_rule` (`default`) when
//!   that rule exists (`Rules.__missing__`); otherwise it fails closed.
//! * A cycle of `rule:` references is only logged at load time. Enforcing it recurses until
//!   Python gives up (`TypeError: unsupported callable` wrapping `RecursionError`), unless an
//!   earlier `or` branch already passed.
//! * PyYAML is stricter or laxer than yaml-rust2 (YAML 1.2) in places. These are emulated:
//!   tabs outside quotes, block scalars and comments (even a trailing tab) are errors; `: x`
//!   (empty key) is an error; so are duplicate anchors, `%YAML 2.0`, a leading `...` and
//!   multi-line implicit keys. A quoted rule wrapped onto a continuation line at column 0 is
//!   accepted, and so is `"x"#comment`. NEL/LS/PS break lines, and an empty block scalar is `""`.
//!
//! Known differences from PyYAML, all on odd YAML (we report an error where PyYAML reads it):
//! lone-surrogate escapes (`"\ud800"`); an anchor on an empty implicit key (`&x: v`); a block
//! scalar header alone at column 0 under a key; flow-context oddities such as `[-, a]`, `[?, a]`
//! and `{?"k": v}`. Approximations (pathological input only): nesting limits stand in for Python's
//! recursion limit ([`RULE_MAX_DEPTH`], YAML/JSON nesting, evaluation depth). A legacy-list check
//! that the policy language cannot spell (it contains spaces or parentheses) becomes `!`, and the
//! note says so.

mod eval;
mod json;
mod load;
mod rule;
mod yaml;
mod yaml_scalar;
mod yaml_scan;

#[cfg(test)]
mod data_tests;
#[cfg(test)]
mod tests;

use std::fmt;

pub use eval::{grants_role, role_verdict, Verdict};
pub use load::{merge, parse, parse_bytes};
pub use rule::{parse_rule, try_parse_rule, Check, RuleError, RULE_MAX_DEPTH};

/// Barbican's legacy default for `creator` (`barbican/common/policies/base.py`).
pub const BARBICAN_CREATOR_DEFAULT: &str = "role:creator";
/// oslo.policy's default `[oslo_policy] policy_default_rule`.
pub const DEFAULT_RULE_NAME: &str = "default";

/// One policy file: its rules in the order of the dict oslo.policy builds (first occurrence's
/// position, last occurrence's value and line).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyFile {
    /// The rules, in dict order.
    pub rules: Vec<Rule>,
}

/// One `name: rule` of a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Rule name (`creator`, `secrets:post`).
    pub name: String,
    /// Policy-language text. For a string value, the string itself; for a non-string value, an
    /// equivalent text (`""` for falsy values, `str(check)` for the legacy list syntax).
    pub rule: String,
    /// 1-based line of the key (of the winning occurrence when the key is repeated).
    pub line: usize,
    /// Set when the value was not a string: what it was and how oslo.policy reads it.
    pub note: Option<String>,
}

/// Why oslo.policy would fail to load a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl PolicyError {
    fn new(line: Option<usize>, message: impl Into<String>) -> Self {
        PolicyError {
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {}: {}", l, self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for PolicyError {}
