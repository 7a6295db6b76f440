//! oslo.policy files and rules, as Barbican's enforcer reads them (BAR-008, SCS-0116).
//!
//! API: [`parse`] / [`parse_bytes`] one file, [`merge`] files in load order, [`parse_rule`] the
//! policy language into a [`Check`], [`grants_role`] / [`role_verdict`] for "may a user with only
//! role X pass rule Y".
//!
//! Behaviour mirrors oslo.policy 4.0.0 with PyYAML 6.0 (Debian's barbican-common). It was checked
//! against the real library with `confirm.py` (run it with `/usr/bin/python3`), which prints the
//! real verdict for each test fixture, and with a differential corpus of ~8000 files and ~2300
//! rules (`tests/differential.rs` in the scratch crate).
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

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Scanner, TScalarStyle, TokenType};

/// Rules nested deeper than this are treated as making oslo.policy fail (Python recursion limit:
/// `_parser` reduces `not not ... x` recursively and `check_rules` walks and/or trees recursively;
/// both give up near 1000 frames).
pub const RULE_MAX_DEPTH: usize = 900;
/// Evaluation depth (AST nesting plus `rule:` hops) beyond which oslo.policy's enforce raises.
/// Measured: enforce fails from ~250 nested `(... and @)` in a shallow stack; Barbican's is deeper.
const EVAL_MAX_DEPTH: usize = 200;
/// Upper bound on evaluation steps for one query (memoised, so only hostile inputs get here).
const EVAL_MAX_STEPS: usize = 200_000;
/// PyYAML's composer recurses per nesting level; measured failure at 493 levels.
const YAML_MAX_DEPTH: usize = 450;
/// `json.loads` (C scanner) fails with RecursionError near 994 levels.
const JSON_MAX_DEPTH: usize = 900;
/// Parser stack bound: a successful parse within [`RULE_MAX_DEPTH`] never needs more.
const RULE_STACK_LIMIT: usize = 3 * RULE_MAX_DEPTH + 16;

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

// ---------------------------------------------------------------------------------------------
// The rule language (`oslo_policy/_parser.py`, `_checks.py`)
// ---------------------------------------------------------------------------------------------

/// A parsed rule, shaped like oslo.policy's check objects. `Display` prints what Python's
/// `str(check)` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// `TrueCheck`: `""` or `@`.
    Always,
    /// `FalseCheck`: `!`, and every malformed rule.
    Never,
    /// `role:x`.
    Role(String),
    /// `rule:x`.
    Rule(String),
    /// Any other `kind:match` (`project_id:%(project_id)s`, `True:%(x)s`, `'read':%(..)s`,
    /// `http:...`).
    Generic(String, String),
    /// `a and b ...`.
    And(Vec<Check>),
    /// `a or b ...`.
    Or(Vec<Check>),
    /// `not a`.
    Not(Box<Check>),
    /// The whole rule was one bare token (`and`, `(`, `'x'`): oslo.policy stores the token string
    /// itself as the "check", and enforcing it raises (`'str' object has no attribute
    /// '__call__'`).
    Invalid(String),
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::Always => f.write_str("@"),
            Check::Never => f.write_str("!"),
            Check::Role(m) => write!(f, "role:{}", m),
            Check::Rule(m) => write!(f, "rule:{}", m),
            Check::Generic(k, m) => write!(f, "{}:{}", k, m),
            Check::And(v) | Check::Or(v) => {
                let sep = if matches!(self, Check::And(_)) {
                    " and "
                } else {
                    " or "
                };
                f.write_str("(")?;
                for (i, c) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    write!(f, "{}", c)?;
                }
                f.write_str(")")
            }
            Check::Not(c) => write!(f, "not {}", c),
            Check::Invalid(s) => f.write_str(s),
        }
    }
}

/// Why a rule could not be parsed the way oslo.policy would (it would raise, not log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleError {
    /// Nesting beyond [`RULE_MAX_DEPTH`]: Python's recursion limit.
    TooDeep,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleError::TooDeep => write!(
                f,
                "rule nests deeper than {} levels: oslo.policy fails with RecursionError",
                RULE_MAX_DEPTH
            ),
        }
    }
}

/// `_parser.parse_rule` for a string rule. Malformed rules become [`Check::Never`] as in
/// oslo.policy; a rule too deep for Python's recursion limit also gives `Never` here (see
/// [`try_parse_rule`] to tell the difference).
pub fn parse_rule(s: &str) -> Check {
    try_parse_rule(s).unwrap_or(Check::Never)
}

/// Like [`parse_rule`], but reports rules that oslo.policy could not even load.
pub fn try_parse_rule(s: &str) -> Result<Check, RuleError> {
    // `if not rule: return TrueCheck()`
    if s.is_empty() {
        return Ok(Check::Always);
    }
    let mut st = ParseState::default();
    for word in s.split(is_py_space) {
        if word.is_empty() {
            continue;
        }
        let clean = word.trim_start_matches('(');
        for _ in 0..(word.len() - clean.len()) {
            st.shift(Kind::LParen, None, String::new())?;
        }
        if clean.is_empty() {
            continue;
        }
        let trimmed = clean.trim_end_matches(')');
        let trail = clean.len() - trimmed.len();
        let nchars = trimmed.chars().count();
        let keyword = if (2..=3).contains(&nchars) {
            match trimmed.to_lowercase().as_str() {
                "and" => Some(Kind::And),
                "or" => Some(Kind::Or),
                "not" => Some(Kind::Not),
                _ => None,
            }
        } else {
            None
        };
        if let Some(k) = keyword {
            st.shift(k, None, trimmed.to_string())?;
        } else if !trimmed.is_empty() {
            // The quote test looks at the token before its trailing parentheses are removed.
            let first = clean.chars().next();
            let last = clean.chars().next_back();
            let quoted = clean.chars().count() >= 2
                && first == last
                && matches!(first, Some('"') | Some('\''));
            if quoted {
                st.shift(Kind::Str, None, clean[1..clean.len() - 1].to_string())?;
            } else {
                st.shift(Kind::Check, Some(parse_atom(trimmed)), String::new())?;
            }
        }
        for _ in 0..trail {
            st.shift(Kind::RParen, None, String::new())?;
        }
    }
    Ok(st.result())
}

/// Python's `str.isspace()` (what `re.compile(r'\s+')` splits on): Rust's White_Space plus the
/// information separators U+001C..U+001F.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `_parser._parse_check`: one `kind:match` token.
fn parse_atom(s: &str) -> Check {
    match s {
        "!" => return Check::Never,
        "@" => return Check::Always,
        _ => {}
    }
    match s.split_once(':') {
        None => Check::Never, // "Failed to understand rule": fail closed
        Some(("rule", m)) => Check::Rule(m.to_string()),
        Some(("role", m)) => Check::Role(m.to_string()),
        Some((k, m)) => Check::Generic(k.to_string(), m.to_string()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Str,
    Check,
    AndExpr,
    OrExpr,
}

impl Kind {
    fn is_expr(self) -> bool {
        matches!(self, Kind::Check | Kind::AndExpr | Kind::OrExpr)
    }
}

struct Entry {
    kind: Kind,
    /// Run length for `LParen` and `Not` entries (consecutive ones are merged to bound memory).
    parens: usize,
    val: Option<Check>,
    depth: usize,
    /// Token text for keywords and quoted strings (what oslo.policy returns if it is alone).
    text: String,
}

/// The shift-reduce parser of `_parser.ParseState`, with the same reductions and precedence.
/// Parses that can no longer reduce to a single value are detected early ("doomed") and only
/// scanned on, so garbage of any length costs linear time and constant memory.
#[derive(Default)]
struct ParseState {
    stack: Vec<Entry>,
    doomed: bool,
    not_run: usize,
}

impl ParseState {
    fn shift(&mut self, kind: Kind, val: Option<Check>, text: String) -> Result<(), RuleError> {
        if self.doomed {
            // Python still shifts and reduces; only `not not ... check` chains can still make it
            // raise (RecursionError in the recursive reduce).
            match kind {
                Kind::Not => self.not_run += 1,
                Kind::Check if self.not_run >= RULE_MAX_DEPTH => return Err(RuleError::TooDeep),
                _ => self.not_run = 0,
            }
            return Ok(());
        }
        match kind {
            Kind::LParen | Kind::Not => {
                if let Some(top) = self.stack.last_mut() {
                    if top.kind == kind {
                        top.parens += 1;
                        return Ok(());
                    }
                }
                self.push(Entry {
                    kind,
                    parens: 1,
                    val: None,
                    depth: 0,
                    text,
                })?;
            }
            Kind::RParen => {
                let n = self.stack.len();
                if n >= 2
                    && self.stack[n - 1].kind.is_expr()
                    && self.stack[n - 2].kind == Kind::LParen
                {
                    // `( check )`, `( and_expr )`, `( or_expr )` -> check
                    if let Some(mut x) = self.stack.pop() {
                        if let Some(lp) = self.stack.last_mut() {
                            lp.parens -= 1;
                            if lp.parens == 0 {
                                self.stack.pop();
                            }
                        }
                        x.kind = Kind::Check;
                        self.stack.push(x);
                    }
                    self.reduce()?;
                } else {
                    self.push(Entry {
                        kind,
                        parens: 0,
                        val: None,
                        depth: 0,
                        text,
                    })?;
                }
            }
            _ => {
                let depth = 0;
                self.push(Entry {
                    kind,
                    parens: 0,
                    val,
                    depth,
                    text,
                })?;
                self.reduce()?;
            }
        }
        self.check_doom();
        Ok(())
    }

    fn push(&mut self, e: Entry) -> Result<(), RuleError> {
        self.stack.push(e);
        if self.stack.len() > RULE_STACK_LIMIT {
            return Err(RuleError::TooDeep);
        }
        Ok(())
    }

    fn kinds3(&self) -> Option<(Kind, Kind, Kind)> {
        let n = self.stack.len();
        if n < 3 {
            return None;
        }
        Some((
            self.stack[n - 3].kind,
            self.stack[n - 2].kind,
            self.stack[n - 1].kind,
        ))
    }

    fn pop_val(&mut self) -> (Check, usize) {
        match self.stack.pop() {
            Some(e) => (e.val.unwrap_or(Check::Never), e.depth),
            None => (Check::Never, 0),
        }
    }

    fn push_expr(&mut self, kind: Kind, val: Check, depth: usize) -> Result<(), RuleError> {
        if depth > RULE_MAX_DEPTH {
            return Err(RuleError::TooDeep);
        }
        self.stack.push(Entry {
            kind,
            parens: 0,
            val: Some(val),
            depth,
            text: String::new(),
        });
        Ok(())
    }

    /// Greedy reduction after a shift (`ParseState.reduce`); each step is one level of Python
    /// recursion.
    fn reduce(&mut self) -> Result<(), RuleError> {
        let mut steps = 0usize;
        loop {
            steps += 1;
            if steps > RULE_MAX_DEPTH {
                return Err(RuleError::TooDeep);
            }
            let binary = match self.kinds3() {
                Some((a, b, Kind::Check)) => matches!(
                    (a, b),
                    (
                        Kind::Check | Kind::AndExpr | Kind::OrExpr,
                        Kind::And | Kind::Or
                    )
                ),
                _ => false,
            };
            if binary {
                let (v3, d3) = self.pop_val();
                let op = self.stack.pop().map(|e| e.kind).unwrap_or(Kind::And);
                let kind1 = self.stack.last().map(|e| e.kind).unwrap_or(Kind::Check);
                let (v1, d1) = self.pop_val();
                match (kind1, op) {
                    (Kind::Check, Kind::And) => {
                        // _make_and_expr
                        self.push_expr(Kind::AndExpr, Check::And(vec![v1, v3]), d1.max(d3) + 1)?;
                    }
                    (Kind::OrExpr, Kind::And) => {
                        // _mix_or_and_expr, `A or B and C`: pop B from the or, and it with C.
                        let mut items = match v1 {
                            Check::Or(v) => v,
                            other => vec![other],
                        };
                        let and = match items.pop() {
                            Some(Check::And(mut v)) => {
                                v.push(v3);
                                Check::And(v)
                            }
                            Some(other) => Check::And(vec![other, v3]),
                            None => Check::And(vec![v3]),
                        };
                        items.push(and);
                        self.push_expr(Kind::OrExpr, Check::Or(items), d1.max(d3 + 2))?;
                    }
                    (Kind::AndExpr, Kind::And) => {
                        // _extend_and_expr
                        let v = match v1 {
                            Check::And(mut v) => {
                                v.push(v3);
                                Check::And(v)
                            }
                            other => Check::And(vec![other, v3]),
                        };
                        self.push_expr(Kind::AndExpr, v, d1.max(d3 + 1))?;
                    }
                    (Kind::OrExpr, _) => {
                        // _extend_or_expr
                        let v = match v1 {
                            Check::Or(mut v) => {
                                v.push(v3);
                                Check::Or(v)
                            }
                            other => Check::Or(vec![other, v3]),
                        };
                        self.push_expr(Kind::OrExpr, v, d1.max(d3 + 1))?;
                    }
                    _ => {
                        // _make_or_expr: `check or check`, `and_expr or check`
                        self.push_expr(Kind::OrExpr, Check::Or(vec![v1, v3]), d1.max(d3) + 1)?;
                    }
                }
                continue;
            }
            if !self.reduce_not()? {
                return Ok(());
            }
        }
    }

    /// `not check` -> check. Returns whether it applied.
    fn reduce_not(&mut self) -> Result<bool, RuleError> {
        let n = self.stack.len();
        if n >= 2 && self.stack[n - 1].kind == Kind::Check && self.stack[n - 2].kind == Kind::Not {
            let (v, d) = self.pop_val();
            if let Some(not) = self.stack.last_mut() {
                not.parens -= 1;
                if not.parens == 0 {
                    self.stack.pop();
                }
            }
            self.push_expr(Kind::Check, Check::Not(Box::new(v)), d + 1)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Declare the parse doomed when an element can never be consumed (see module tests): the
    /// pair (below-top, top) admits no reduction for anything the top can still turn into.
    fn check_doom(&mut self) {
        let n = self.stack.len();
        if n < 2 {
            return;
        }
        let bottom = self.stack[0].kind;
        if matches!(bottom, Kind::And | Kind::Or | Kind::RParen | Kind::Str) {
            self.doomed = true;
            return;
        }
        let e = self.stack[n - 2].kind;
        let f = self.stack[n - 1].kind;
        let evolve: &[Kind] = match f {
            Kind::LParen => &[Kind::LParen, Kind::Check, Kind::AndExpr, Kind::OrExpr],
            Kind::Not => &[Kind::Not, Kind::Check, Kind::AndExpr, Kind::OrExpr],
            Kind::Check => &[Kind::Check, Kind::AndExpr, Kind::OrExpr],
            Kind::AndExpr => &[Kind::AndExpr, Kind::OrExpr],
            Kind::OrExpr => &[Kind::OrExpr],
            Kind::And => &[Kind::And],
            Kind::Or => &[Kind::Or],
            Kind::RParen => &[Kind::RParen],
            Kind::Str => &[Kind::Str],
        };
        let allowed = |f2: Kind| -> bool {
            matches!(
                (e, f2),
                (Kind::LParen, Kind::Check | Kind::AndExpr | Kind::OrExpr)
                    | (
                        Kind::Check | Kind::AndExpr | Kind::OrExpr,
                        Kind::And | Kind::Or
                    )
                    | (Kind::And | Kind::Or | Kind::Not, Kind::Check)
            )
        };
        if !evolve.iter().any(|&k| allowed(k)) {
            self.doomed = true;
        }
    }

    fn result(mut self) -> Check {
        if self.doomed || self.stack.len() != 1 {
            return Check::Never; // "Could not parse rule": fail closed
        }
        match self.stack.pop() {
            Some(e) => match e.kind {
                Kind::Check | Kind::AndExpr | Kind::OrExpr => e.val.unwrap_or(Check::Never),
                Kind::LParen | Kind::Not if e.parens > 1 => Check::Never,
                Kind::LParen => Check::Invalid("(".to_string()),
                Kind::RParen => Check::Invalid(")".to_string()),
                Kind::And | Kind::Or | Kind::Not | Kind::Str => Check::Invalid(e.text),
            },
            None => Check::Never,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation: does a rule let a user with exactly these roles through?
// ---------------------------------------------------------------------------------------------

/// Outcome of evaluating a rule for a user holding exactly the given roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Passes whatever the target and the other credentials are.
    Granted,
    /// Fails whatever the target and the other credentials are.
    Denied,
    /// Depends on the target or other credentials (`project_id:%(project_id)s`, `True:%(x)s`,
    /// `role:%(x)s`, `http:`), or may raise.
    Depends,
    /// oslo.policy raises while enforcing it (reference cycle, too deep, bare-token rule, bad
    /// `%` format): the API request fails, so nobody passes.
    Error,
}

/// Internal truth values: F/T definite, U unknown (no exception possible), X unknown (may also
/// raise), E raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tv {
    T,
    F,
    U,
    X,
    E,
}

/// BAR-008: does `rule_name` let a user whose only Keystone role is `role` pass, whatever the
/// target? Follows `rule:` references (falling back to the `default` rule for missing names, as
/// oslo.policy does), compares roles case-insensitively. `rules` holds the effective rule texts
/// (file rules merged over the registered defaults: the caller adds defaults).
pub fn grants_role(rules: &BTreeMap<String, String>, rule_name: &str, role: &str) -> bool {
    role_verdict(rules, rule_name, &[role], Some(DEFAULT_RULE_NAME)) == Verdict::Granted
}

/// The full answer behind [`grants_role`]. `roles` are the user's roles (note Keystone's implied
/// roles: `member` normally brings `reader`); `default_rule` is `[oslo_policy]
/// policy_default_rule` (None: no fallback).
pub fn role_verdict(
    rules: &BTreeMap<String, String>,
    rule_name: &str,
    roles: &[&str],
    default_rule: Option<&str>,
) -> Verdict {
    let mut ev = Evaluator {
        rules,
        roles: roles.iter().map(|r| r.to_lowercase()).collect(),
        default_rule,
        memo: HashMap::new(),
        active: HashSet::new(),
        steps: 0,
    };
    // `enforce(rule)` looks the name up in `self.rules` (with the default-rule fallback).
    match ev.eval_name(rule_name, 0) {
        Tv::T => Verdict::Granted,
        Tv::F => Verdict::Denied,
        Tv::U | Tv::X => Verdict::Depends,
        Tv::E => Verdict::Error,
    }
}

struct Evaluator<'a> {
    rules: &'a BTreeMap<String, String>,
    roles: Vec<String>,
    default_rule: Option<&'a str>,
    memo: HashMap<String, Tv>,
    active: HashSet<String>,
    steps: usize,
}

impl Evaluator<'_> {
    fn eval_name(&mut self, name: &str, depth: usize) -> Tv {
        // Rules.__missing__: fall back to the default rule if it exists, else KeyError -> False.
        let (key, text) = match self.rules.get(name) {
            Some(t) => (name, t),
            None => match self.default_rule {
                Some(d) if d != name => match self.rules.get(d) {
                    Some(t) => (d, t),
                    None => return Tv::F,
                },
                _ => return Tv::F,
            },
        };
        if let Some(v) = self.memo.get(key) {
            return *v;
        }
        if self.active.contains(key) {
            return Tv::E; // infinite recursion in oslo.policy
        }
        let check = match try_parse_rule(text) {
            Ok(c) => c,
            Err(_) => return Tv::E,
        };
        self.active.insert(key.to_string());
        let v = self.eval(&check, depth + 1);
        self.active.remove(key);
        self.memo.insert(key.to_string(), v);
        v
    }

    fn eval(&mut self, c: &Check, depth: usize) -> Tv {
        self.steps += 1;
        if self.steps > EVAL_MAX_STEPS {
            return Tv::X;
        }
        if depth > EVAL_MAX_DEPTH {
            return Tv::E;
        }
        match c {
            Check::Always => Tv::T,
            Check::Never => Tv::F,
            Check::Invalid(_) => Tv::E,
            Check::Role(m) => {
                if m.contains('%') {
                    // `match % target`: depends on the target, or raises on a bad format.
                    match percent_format(m) {
                        Fmt::Safe => Tv::U,
                        Fmt::Maybe => Tv::X,
                        Fmt::Raises => Tv::E,
                    }
                } else if self.roles.contains(&m.to_lowercase()) {
                    Tv::T
                } else {
                    Tv::F
                }
            }
            Check::Generic(k, m) => match percent_format(m) {
                Fmt::Raises => Tv::E,
                // `ast.literal_eval(kind)` raises SyntaxError (uncaught) on a kind that is not
                // a Python expression; names and simple literals are fine. http(s) calls out.
                Fmt::Maybe => Tv::X,
                Fmt::Safe if k == "http" || k == "https" || !generic_kind_is_safe(k) => Tv::X,
                Fmt::Safe => Tv::U,
            },
            Check::Rule(name) => self.eval_name(name, depth),
            Check::Not(inner) => match self.eval(inner, depth + 1) {
                Tv::T => Tv::F,
                Tv::F => Tv::T,
                other => other,
            },
            Check::Or(items) => self.fold(items, depth, Tv::T, Tv::F),
            Check::And(items) => self.fold(items, depth, Tv::F, Tv::T),
        }
    }

    /// Short-circuit fold, left to right like `OrCheck`/`AndCheck.__call__`: `stop` is the value
    /// that ends evaluation (T for or, F for and), `cont` the neutral one.
    fn fold(&mut self, items: &[Check], depth: usize, stop: Tv, cont: Tv) -> Tv {
        let mut st = cont; // cont, U or X
        for it in items {
            let v = self.eval(it, depth + 1);
            if v == stop {
                // Reached for sure only if nothing before could raise.
                return if st == Tv::X { Tv::X } else { stop };
            } else if v == cont {
                continue;
            } else if v == Tv::E {
                return if st == cont { Tv::E } else { Tv::X };
            } else if v == Tv::X || st == Tv::X {
                st = Tv::X;
            } else {
                st = Tv::U;
            }
        }
        st
    }
}

/// A GenericCheck kind that `ast.literal_eval` handles without SyntaxError: a dotted name
/// (ValueError, caught: looked up in the credentials), a quoted string without quotes or
/// backslashes inside, an integer, `True`/`False`/`None`.
fn generic_kind_is_safe(k: &str) -> bool {
    let ident = |s: &str| {
        let mut c = s.chars();
        matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
            && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
    };
    let b = k.as_bytes();
    let quoted = b.len() >= 2
        && (b[0] == b'\'' || b[0] == b'"')
        && b[b.len() - 1] == b[0]
        && !k[1..k.len() - 1].contains(['\'', '"', '\\']);
    quoted || (!k.is_empty() && k.bytes().all(|c| c.is_ascii_digit())) || k.split('.').all(ident)
}

/// What `match % target` does for a dict target whose contents are unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fmt {
    /// Only `%%` and `%(key)[flags][width][.prec]s|r|a`: never raises (a missing key raises
    /// KeyError, which the checks catch and turn into False).
    Safe,
    /// Raises ValueError whatever the target (`%b`, a trailing `%`).
    Raises,
    /// Other conversions: may raise TypeError depending on the target.
    Maybe,
}

fn percent_format(m: &str) -> Fmt {
    let b = m.as_bytes();
    let mut result = Fmt::Safe;
    // After a keyed spec, a KeyError (caught: False) may come before any later ValueError.
    let mut seen_keyed = false;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'%' {
            i += 1;
            continue;
        }
        i += 1;
        let mut keyed = false;
        if b.get(i) == Some(&b'(') {
            keyed = true;
            let mut level = 1;
            i += 1;
            while i < b.len() && level > 0 {
                match b[i] {
                    b'(' => level += 1,
                    b')' => level -= 1,
                    _ => {}
                }
                i += 1;
            }
            if level > 0 {
                // "incomplete format key"
                return if seen_keyed { Fmt::Maybe } else { Fmt::Raises };
            }
        }
        while i < b.len() && b"#0- +".contains(&b[i]) {
            i += 1;
        }
        let mut star = false;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'*') {
            star |= b[i] == b'*';
            i += 1;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'*') {
                star |= b[i] == b'*';
                i += 1;
            }
        }
        while i < b.len() && b"hlL".contains(&b[i]) {
            i += 1;
        }
        let conv = b.get(i).copied();
        i += 1;
        let this = match conv {
            Some(b'%') if !keyed && !star => continue,
            Some(b's' | b'r' | b'a') if keyed && !star => Fmt::Safe,
            Some(c) if b"crsadiuoxXeEfFgG%".contains(&c) => Fmt::Maybe,
            _ => Fmt::Raises, // unsupported format character / incomplete format
        };
        match this {
            Fmt::Raises => return if seen_keyed { Fmt::Maybe } else { Fmt::Raises },
            Fmt::Maybe => result = Fmt::Maybe,
            Fmt::Safe => {}
        }
        seen_keyed |= keyed;
    }
    result
}

// ---------------------------------------------------------------------------------------------
// Merging files
// ---------------------------------------------------------------------------------------------

/// Effective file rules: `files` in load order (`policy_file` first, then each `policy_dirs`
/// file in sorted order: sorting is the caller's job). Later files override rule by rule.
/// Value: (rule text, index in `files` of the file that set it, line).
pub fn merge(files: &[PolicyFile]) -> BTreeMap<String, (String, usize, usize)> {
    let mut out = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        for r in &f.rules {
            out.insert(r.name.clone(), (r.rule.clone(), i, r.line));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Parsing files (`policy.parse_file_contents`, `Rules.load`)
// ---------------------------------------------------------------------------------------------

/// Python-side values, enough to decide what oslo.policy does with them. Collections refer to
/// other values by index (YAML aliases can share and even contain themselves).
#[derive(Debug, Clone)]
enum Val {
    Null,
    Bool(bool),
    /// int; payload: non-zero
    Int(bool),
    /// float; payload: non-zero (NaN counts as non-zero, as in Python)
    Float(bool),
    Str(String),
    /// bytes (`!!binary`): length, and whether any byte is non-zero
    Bytes {
        len: usize,
        nonzero: bool,
    },
    /// datetime.date / datetime.datetime (always truthy)
    Time,
    List(Vec<usize>),
    /// (key, value, key line); keys are hashable values; str keys de-duplicated, last value wins
    Dict(Vec<(usize, usize, usize)>),
    Set(Vec<usize>),
    /// Placeholder while a YAML node is being constructed.
    Pending,
}

impl Val {
    fn truthy(&self) -> bool {
        match self {
            Val::Null | Val::Pending => false,
            Val::Bool(b) | Val::Int(b) | Val::Float(b) => *b,
            Val::Bytes { len, .. } => *len > 0,
            Val::Str(s) => !s.is_empty(),
            Val::Time => true,
            Val::List(v) | Val::Set(v) => !v.is_empty(),
            Val::Dict(v) => !v.is_empty(),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Val::Null => "NoneType",
            Val::Bool(_) => "bool",
            Val::Int(_) => "int",
            Val::Float(_) => "float",
            Val::Str(_) => "str",
            Val::Bytes { .. } => "bytes",
            Val::Time => "datetime",
            Val::List(_) => "list",
            Val::Dict(_) => "dict",
            Val::Set(_) => "set",
            Val::Pending => "object",
        }
    }
}

/// A parsed document: values plus the root index (None: no document, i.e. `None`).
struct Doc {
    vals: Vec<Val>,
    root: Option<usize>,
}

/// Parse a policy file's bytes: invalid UTF-8 is an error (oslo.policy reads the file in text
/// mode, UTF-8 under Debian's Python, and raises UnicodeDecodeError).
pub fn parse_bytes(data: &[u8]) -> Result<PolicyFile, PolicyError> {
    match std::str::from_utf8(data) {
        Ok(s) => parse(s),
        Err(e) => {
            let at = e.valid_up_to();
            let line = 1 + data[..at].iter().filter(|&&b| b == b'\n').count();
            Err(PolicyError::new(
                Some(line),
                "file is not valid UTF-8 (UnicodeDecodeError)",
            ))
        }
    }
}

/// Parse a policy file as oslo.policy does: `json.loads`, else `yaml.safe_load`; `parsed or {}`;
/// every value through `_parser.parse_rule`.
pub fn parse(text: &str) -> Result<PolicyFile, PolicyError> {
    // Python reads the file with universal newlines: \r\n and \r become \n.
    let text: std::borrow::Cow<'_, str> = if text.contains('\r') {
        std::borrow::Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    let doc = match parse_json(&text) {
        Ok(doc) => doc,
        Err(JsonErr::Fatal(e)) => return Err(e),
        Err(JsonErr::Syntax) => parse_yaml(&text)?,
    };
    rules_from_doc(&doc)
}

fn rules_from_doc(doc: &Doc) -> Result<PolicyFile, PolicyError> {
    let root = match doc.root {
        None => return Ok(PolicyFile::default()),
        Some(r) => r,
    };
    let rv = val(&doc.vals, root);
    if !rv.truthy() {
        return Ok(PolicyFile::default()); // `parsed or {}`
    }
    let entries = match rv {
        Val::Dict(e) => e,
        other => {
            return Err(PolicyError::new(
                Some(1),
                format!(
                    "top level is a {}, not a mapping: oslo.policy fails ('{}' object has no \
                     attribute 'items')",
                    other.type_name(),
                    other.type_name()
                ),
            ));
        }
    };
    let mut rules = Vec::new();
    for &(k, v, line) in entries {
        // Rules.load parses every value, whatever its key.
        let name = match val(&doc.vals, k) {
            Val::Str(s) => s.clone(),
            other => format!("<{} key>", other.type_name()),
        };
        let (rule, note) = rule_text(&doc.vals, v)
            .map_err(|m| PolicyError::new(Some(line), format!("rule {:?}: {}", name, m)))?;
        if !matches!(val(&doc.vals, k), Val::Str(_)) {
            continue; // legal, but no rule or enforcement can reach a non-string key
        }
        if let Err(e) = try_parse_rule(&rule) {
            return Err(PolicyError::new(
                Some(line),
                format!("rule {:?}: {}", name, e),
            ));
        }
        rules.push(Rule {
            name,
            rule,
            line,
            note,
        });
    }
    Ok(PolicyFile { rules })
}

fn val(vals: &[Val], i: usize) -> &Val {
    vals.get(i).unwrap_or(&Val::Null)
}

/// What `_parser.parse_rule(value)` makes of a value, as policy-language text.
/// Err: the TypeError oslo.policy raises (the file then fails to load).
fn rule_text(vals: &[Val], v: usize) -> Result<(String, Option<String>), String> {
    let value = val(vals, v);
    if let Val::Str(s) = value {
        return Ok((s.clone(), None));
    }
    if !value.truthy() {
        return Ok((
            String::new(),
            Some(format!(
                "value is a falsy {} ({}): oslo.policy's _parse_list_rule makes it always-allow",
                value.type_name(),
                match value {
                    Val::Null => "null/empty",
                    _ => "empty or zero",
                }
            )),
        ));
    }
    if let Val::Bytes { nonzero: false, .. } = value {
        // Iterating bytes gives ints; zeros are skipped as falsy: nothing left, FalseCheck.
        return Ok((
            "!".to_string(),
            Some(
                "value is bytes of zeros (legacy list syntax): oslo.policy reads it as `!`".into(),
            ),
        ));
    }
    let elems: Vec<usize> = match value {
        Val::List(v) | Val::Set(v) => v.clone(),
        Val::Dict(e) => e.iter().map(|&(k, _, _)| k).collect(),
        other => {
            return Err(format!(
                "value is a {}: oslo.policy fails to load the file (TypeError: '{}' object is not \
                 iterable)",
                other.type_name(),
                other.type_name()
            ));
        }
    };
    // `_parse_list_rule`: outer list joined by "or", inner lists by "and".
    let mut or_list = Vec::new();
    let mut lossy = false;
    for e in elems {
        let inner = val(vals, e);
        if !inner.truthy() {
            continue;
        }
        let atoms: Vec<Check> = match inner {
            Val::Str(s) => vec![legacy_atom(s, &mut lossy)],
            Val::List(v) | Val::Set(v) => v.iter().map(|&x| atom_of(vals, x, &mut lossy)).collect(),
            Val::Dict(en) => en
                .iter()
                .map(|&(k, _, _)| atom_of(vals, k, &mut lossy))
                .collect(),
            // iterating bytes gives ints: FalseCheck each
            Val::Bytes { len, .. } => vec![Check::Never; *len],
            other => {
                return Err(format!(
                    "legacy list rule holds a {}: oslo.policy fails to load the file (TypeError: \
                     '{}' object is not iterable)",
                    other.type_name(),
                    other.type_name()
                ));
            }
        };
        or_list.push(if atoms.len() == 1 {
            atoms.into_iter().next().unwrap_or(Check::Never)
        } else {
            Check::And(atoms)
        });
    }
    let check = match or_list.len() {
        0 => Check::Never,
        1 => or_list.into_iter().next().unwrap_or(Check::Never),
        _ => Check::Or(or_list),
    };
    let mut note = format!(
        "value is a {} (legacy list-of-lists rule syntax), read as {}",
        value.type_name(),
        check
    );
    if lossy {
        note.push_str(
            "; a check that the policy language cannot spell (spaces, parentheses, quotes) was \
             replaced by `!`",
        );
    }
    Ok((check.to_string(), Some(note)))
}

fn atom_of(vals: &[Val], i: usize, lossy: &mut bool) -> Check {
    match val(vals, i) {
        Val::Str(s) => legacy_atom(s, lossy),
        _ => Check::Never, // `rule.split` fails on a non-string: FalseCheck
    }
}

/// `_parse_check(s)` for a legacy-list element, kept only if its text form parses back to it.
fn legacy_atom(s: &str, lossy: &mut bool) -> Check {
    let c = parse_atom(s);
    if parse_rule(&c.to_string()) == c {
        c
    } else {
        *lossy = true;
        Check::Never
    }
}

// ----- JSON (Python's json.loads) -----

enum JsonErr {
    /// Not JSON: oslo.policy falls back to YAML.
    Syntax,
    /// json.loads raised something other than ValueError (RecursionError): load fails.
    Fatal(PolicyError),
}

struct Json<'a> {
    b: &'a [u8],
    pos: usize,
    line: usize,
    vals: Vec<Val>,
}

fn parse_json(text: &str) -> Result<Doc, JsonErr> {
    let mut p = Json {
        b: text.as_bytes(),
        pos: 0,
        line: 1,
        vals: Vec::new(),
    };
    p.ws();
    let root = p.value(0)?;
    p.ws();
    if p.pos != p.b.len() {
        return Err(JsonErr::Syntax); // "Extra data"
    }
    Ok(Doc {
        vals: p.vals,
        root: Some(root),
    })
}

impl Json<'_> {
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.pos) {
            match c {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                }
                _ => break,
            }
        }
    }

    fn lit(&mut self, s: &[u8]) -> bool {
        if self.b[self.pos..].starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn add(&mut self, v: Val) -> usize {
        self.vals.push(v);
        self.vals.len() - 1
    }

    fn value(&mut self, depth: usize) -> Result<usize, JsonErr> {
        let c = match self.b.get(self.pos) {
            Some(&c) => c,
            None => return Err(JsonErr::Syntax),
        };
        match c {
            b'{' | b'[' => {
                if depth >= JSON_MAX_DEPTH {
                    return Err(JsonErr::Fatal(PolicyError::new(
                        Some(self.line),
                        "JSON nested too deeply: json.loads raises RecursionError",
                    )));
                }
                self.pos += 1;
                if c == b'{' {
                    self.object(depth + 1)
                } else {
                    self.array(depth + 1)
                }
            }
            b'"' => {
                let s = self.string()?;
                Ok(self.add(Val::Str(s)))
            }
            b'n' if self.lit(b"null") => Ok(self.add(Val::Null)),
            b't' if self.lit(b"true") => Ok(self.add(Val::Bool(true))),
            b'f' if self.lit(b"false") => Ok(self.add(Val::Bool(false))),
            b'N' if self.lit(b"NaN") => Ok(self.add(Val::Float(true))),
            b'I' if self.lit(b"Infinity") => Ok(self.add(Val::Float(true))),
            b'-' if self.lit(b"-Infinity") => Ok(self.add(Val::Float(true))),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(JsonErr::Syntax),
        }
    }

    fn number(&mut self) -> Result<usize, JsonErr> {
        let start = self.pos;
        if self.b.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        match self.b.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while matches!(self.b.get(self.pos), Some(b'0'..=b'9')) {
                    self.pos += 1;
                }
            }
            _ => return Err(JsonErr::Syntax),
        }
        let int_end = self.pos;
        let mut is_float = false;
        if self.b.get(self.pos) == Some(&b'.')
            && matches!(self.b.get(self.pos + 1), Some(b'0'..=b'9'))
        {
            is_float = true;
            self.pos += 1;
            while matches!(self.b.get(self.pos), Some(b'0'..=b'9')) {
                self.pos += 1;
            }
        }
        if matches!(self.b.get(self.pos), Some(b'e' | b'E')) {
            let mut q = self.pos + 1;
            if matches!(self.b.get(q), Some(b'+' | b'-')) {
                q += 1;
            }
            if matches!(self.b.get(q), Some(b'0'..=b'9')) {
                is_float = true;
                while matches!(self.b.get(q), Some(b'0'..=b'9')) {
                    q += 1;
                }
                self.pos = q;
            }
        }
        if is_float {
            let s = std::str::from_utf8(&self.b[start..self.pos]).unwrap_or("1");
            let f: f64 = s.parse().unwrap_or(1.0);
            Ok(self.add(Val::Float(f != 0.0)))
        } else {
            let nonzero = self.b[int_start..int_end].iter().any(|&d| d != b'0');
            Ok(self.add(Val::Int(nonzero)))
        }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let h = self.b.get(at..at + 4)?;
        let s = std::str::from_utf8(h).ok()?;
        if !s.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(s, 16).ok()
    }

    fn string(&mut self) -> Result<String, JsonErr> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(&c) = self.b.get(self.pos) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // Boundaries are ASCII bytes, so this slice is valid UTF-8.
            out.push_str(
                std::str::from_utf8(&self.b[start..self.pos]).map_err(|_| JsonErr::Syntax)?,
            );
            match self.b.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let e = *self.b.get(self.pos + 1).ok_or(JsonErr::Syntax)?;
                    self.pos += 2;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let u = self.hex4(self.pos).ok_or(JsonErr::Syntax)?;
                            self.pos += 4;
                            let mut cp = u;
                            if (0xD800..0xDC00).contains(&u)
                                && self.b.get(self.pos) == Some(&b'\\')
                                && self.b.get(self.pos + 1) == Some(&b'u')
                            {
                                if let Some(lo) = self.hex4(self.pos + 2) {
                                    if (0xDC00..0xE000).contains(&lo) {
                                        cp = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                                        self.pos += 6;
                                    }
                                }
                            }
                            // A lone surrogate is a valid Python str but not a Rust one.
                            out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                        }
                        _ => return Err(JsonErr::Syntax),
                    }
                }
                _ => return Err(JsonErr::Syntax), // control character (strict) or EOF
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<usize, JsonErr> {
        let mut items = Vec::new();
        self.ws();
        if self.b.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(self.add(Val::List(items)));
        }
        loop {
            self.ws();
            items.push(self.value(depth)?);
            self.ws();
            match self.b.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(self.add(Val::List(items)));
                }
                _ => return Err(JsonErr::Syntax),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<usize, JsonErr> {
        let mut entries: Vec<(usize, usize, usize)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        self.ws();
        if self.b.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(self.add(Val::Dict(entries)));
        }
        loop {
            self.ws();
            if self.b.get(self.pos) != Some(&b'"') {
                return Err(JsonErr::Syntax);
            }
            let line = self.line;
            let key = self.string()?;
            self.ws();
            if self.b.get(self.pos) != Some(&b':') {
                return Err(JsonErr::Syntax);
            }
            self.pos += 1;
            self.ws();
            let v = self.value(depth)?;
            match index.get(&key) {
                Some(&at) => {
                    // dict: the first key keeps its place, the last value wins
                    if let Some(slot) = entries.get_mut(at) {
                        slot.1 = v;
                        slot.2 = line;
                    }
                }
                None => {
                    let k = self.add(Val::Str(key.clone()));
                    index.insert(key, entries.len());
                    entries.push((k, v, line));
                }
            }
            self.ws();
            match self.b.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(self.add(Val::Dict(entries)));
                }
                _ => return Err(JsonErr::Syntax),
            }
        }
    }
}

// ----- YAML (PyYAML safe_load) -----

const TAG_PREFIX: &str = "tag:yaml.org,2002:";
const STR_TAG: &str = "tag:yaml.org,2002:str";
const SEQ_TAG: &str = "tag:yaml.org,2002:seq";
const MAP_TAG: &str = "tag:yaml.org,2002:map";
const MERGE_TAG: &str = "tag:yaml.org,2002:merge";
const VALUE_TAG: &str = "tag:yaml.org,2002:value";

#[derive(Debug)]
enum YNode {
    Scalar {
        value: String,
        plain: bool,
        tag: Option<String>,
        line: usize,
    },
    Seq {
        tag: Option<String>,
        items: Vec<usize>,
        line: usize,
    },
    Map {
        tag: Option<String>,
        items: Vec<usize>,
        line: usize,
    },
}

impl YNode {
    fn line(&self) -> usize {
        match self {
            YNode::Scalar { line, .. } | YNode::Seq { line, .. } | YNode::Map { line, .. } => *line,
        }
    }
}

fn yaml_err(line: usize, msg: impl Into<String>) -> PolicyError {
    PolicyError::new(Some(line), msg)
}

fn parse_yaml(text: &str) -> Result<Doc, PolicyError> {
    // PyYAML's Reader rejects non-printable characters anywhere in the stream.
    let mut line = 1;
    for c in text.chars() {
        let ok = matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{A0}'..='\u{D7FF}'
            | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}');
        if !ok {
            return Err(yaml_err(
                line,
                format!(
                    "unacceptable character #x{:04x}: special characters are not allowed",
                    c as u32
                ),
            ));
        }
        if c == '\n' {
            line += 1;
        }
    }
    // PyYAML (YAML 1.1) breaks lines at NEL, LS and PS too; yaml-rust2 (1.2) does not.
    let owned;
    let mut text = text;
    if text.contains(['\u{85}', '\u{2028}', '\u{2029}']) {
        owned = text.replace(['\u{85}', '\u{2028}', '\u{2029}'], "\n");
        text = &owned;
    }
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    // yaml-rust2 has quirks at an end of stream without line break (`?` there, block scalars);
    // give it one, and remember whether a block scalar's last content line ended the file
    // (PyYAML then keeps no final "\n": chomping appends the line break that was read).
    let last_line = text.rsplit('\n').next().unwrap_or("");
    let eof_in_block = !last_line.is_empty()
        && last_line.starts_with([' ', '\t'])
        && !last_line.trim().is_empty()
        && !last_line.trim_start().starts_with('#');
    let with_newline;
    let text = if text.ends_with('\n') || text.is_empty() {
        text
    } else {
        with_newline = format!("{}\n", text);
        with_newline.as_str()
    };
    // Repair what yaml-rust2 refuses but PyYAML reads (wrapped quoted scalars, anchors ended by
    // an indicator), one spot per round; the budget bounds the rounds for big files.
    let mut budget = (50_000_000 / text.len().max(1)).clamp(16, 2000);
    let mut repaired: Option<String> = None;
    loop {
        let current = repaired.as_deref().unwrap_or(text);
        let mut repair = None;
        match yaml_to_doc(current, eof_in_block, &mut repair) {
            Ok(doc) => return Ok(doc),
            Err(e) => match repair.filter(|_| budget > 0).and_then(|r| match r {
                Repair::Reindent(at) => reindent_quoted(current, at),
                Repair::InsertSpace(at) => current
                    .get(..at)
                    .map(|head| format!("{} {}", head, &current[at..])),
                Repair::InsertSpaceAtChar(ci) => {
                    let at = CharCursor {
                        text: current,
                        ci: 0,
                        bi: 0,
                    }
                    .byte_at(ci);
                    Some(format!("{} {}", &current[..at], &current[at..]))
                }
                Repair::IndentLineAtChar(ci) => {
                    let at = CharCursor {
                        text: current,
                        ci: 0,
                        bi: 0,
                    }
                    .byte_at(ci);
                    let ls = current[..at].rfind('\n').map(|i| i + 1).unwrap_or(0);
                    Some(format!("{} {}", &current[..ls], &current[ls..]))
                }
            }) {
                Some(t) => {
                    budget -= 1;
                    repaired = Some(t);
                }
                None => return Err(e),
            },
        }
    }
}

/// Text edits that make yaml-rust2 read what PyYAML reads (line numbers unchanged).
enum Repair {
    /// Indent the continuation lines of the quoted scalar at this char index.
    Reindent(usize),
    /// Insert a space at this byte offset.
    InsertSpace(usize),
    /// Insert a space at this char index (`"x"#c`: PyYAML needs no space before a comment).
    InsertSpaceAtChar(usize),
    /// Indent the line holding this char index by one (flow collections ignore indentation in
    /// PyYAML).
    IndentLineAtChar(usize),
}

/// yaml-rust2 events to a Python-like document. `repair` gets a text edit to retry with.
fn yaml_to_doc(
    text: &str,
    eof_in_block: bool,
    repair: &mut Option<Repair>,
) -> Result<Doc, PolicyError> {
    prescan_yaml(text, repair)?;
    let mut nodes: Vec<YNode> = Vec::new();
    let mut anchors: HashMap<usize, usize> = HashMap::new();
    let mut open: Vec<usize> = Vec::new();
    let mut root: Option<usize> = None;
    let mut docs = 0usize;
    // The last block scalar, if nothing but empty scalars came after it (see below).
    let mut last_block: Option<usize> = None;
    let mut last_chomp = ' ';
    let mut cursor = CharCursor { text, ci: 0, bi: 0 };
    let mut parser = Parser::new_from_str(text);
    loop {
        let (ev, mark) = parser.next_token().map_err(|e| {
            let at = e.marker().index();
            *repair = match e.info() {
                "invalid indentation in quoted scalar" => Some(Repair::Reindent(at)),
                // PyYAML takes `#` right after a quote, bracket or comma as a comment.
                "comments must be separated from other tokens by whitespace"
                    if text
                        .get(..CharCursor { text, ci: 0, bi: 0 }.byte_at(at))
                        .is_some_and(|head| {
                            head.ends_with(['"', '\'', ']', '}', '[', '{', ','])
                        }) =>
                {
                    Some(Repair::InsertSpaceAtChar(at))
                }
                "invalid indentation in flow construct" => Some(Repair::IndentLineAtChar(at)),
                _ => None,
            };
            yaml_err(e.marker().line(), e.info().to_string())
        })?;
        let line = mark.line();
        let new_node: Option<(usize, bool)> = match ev {
            Event::StreamEnd => break,
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => None,
            Event::DocumentStart => {
                docs += 1;
                if docs > 1 {
                    return Err(yaml_err(
                        line,
                        "expected a single document in the stream but found another document",
                    ));
                }
                None
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(&n) => Some((n, false)),
                None => return Err(yaml_err(line, "found undefined alias")),
            },
            Event::Scalar(mut value, style, anchor, tag) => {
                let block = matches!(style, TScalarStyle::Literal | TScalarStyle::Folded);
                let mut line = line;
                if block {
                    // yaml-rust2 marks a block scalar at its first content line, PyYAML at the
                    // `|`/`>` header; the header also gives the chomping indicator.
                    // yaml-rust2 marks the header only when the stream ends right after it;
                    // otherwise the first line after it.
                    let mut at = cursor.byte_at(mark.index());
                    let header_line_end =
                        text[at..].find('\n').map(|i| at + i).unwrap_or(text.len());
                    let at_header = value.bytes().all(|c| c == b'\n')
                        && text[at..].starts_with(['|', '>'])
                        && text[header_line_end..].trim().is_empty();
                    if !at_header {
                        at = text[..at].rfind('\n').unwrap_or(0);
                    }
                    let (hpos, crossed) = find_block_header(text, at);
                    line = line.saturating_sub(crossed);
                    check_block_header(text, hpos).map_err(|m| yaml_err(line, m))?;
                    let chomp = block_chomping(text, hpos);
                    // yaml-rust2 gives "\n" for a block scalar without content; PyYAML gives ""
                    // (clip and strip chomping).
                    if !value.is_empty() && value.bytes().all(|c| c == b'\n') && chomp != '+' {
                        value.clear();
                    }
                    last_chomp = chomp;
                }
                let empty = value.is_empty();
                nodes.push(YNode::Scalar {
                    value,
                    plain: style == TScalarStyle::Plain,
                    tag: tag.map(tag_string),
                    line,
                });
                let n = nodes.len() - 1;
                if block {
                    last_block = Some(n);
                } else if !empty {
                    last_block = None;
                }
                if anchor > 0 {
                    anchors.insert(anchor, n);
                }
                Some((n, false))
            }
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                let is_seq = matches!(ev, Event::SequenceStart(..));
                let tag = tag.clone().map(tag_string);
                nodes.push(if is_seq {
                    YNode::Seq {
                        tag,
                        items: Vec::new(),
                        line,
                    }
                } else {
                    YNode::Map {
                        tag,
                        items: Vec::new(),
                        line,
                    }
                });
                let n = nodes.len() - 1;
                if anchor > 0 {
                    anchors.insert(anchor, n);
                }
                Some((n, true))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                open.pop();
                None
            }
        };
        if let Some((n, opens)) = new_node {
            match open.last() {
                Some(&parent) => match nodes.get_mut(parent) {
                    Some(YNode::Seq { items, .. }) | Some(YNode::Map { items, .. }) => {
                        items.push(n)
                    }
                    _ => {}
                },
                None => root = Some(n),
            }
            if opens {
                open.push(n);
                if open.len() > YAML_MAX_DEPTH {
                    return Err(yaml_err(
                        line,
                        "YAML nested too deeply: PyYAML raises RecursionError",
                    ));
                }
            }
        }
    }
    // A block scalar whose last content line ends the file without a line break: PyYAML keeps
    // no final "\n" (chomping appends the missing line break); yaml-rust2 adds one.
    if let Some(n) = last_block {
        if eof_in_block && last_chomp != '-' {
            if let Some(YNode::Scalar { value, .. }) = nodes.get_mut(n) {
                if value.ends_with('\n') {
                    value.pop();
                }
            }
        }
    }
    let mut c = Constructor {
        nodes: &nodes,
        vals: (0..nodes.len()).map(|_| None).collect(),
        extra: Vec::new(),
        flat: HashMap::new(),
    };
    let root = match root {
        None => None,
        Some(r) => Some(c.construct(r, 0)?),
    };
    // Extra values (omap tuples) are numbered after the node values.
    let mut vals: Vec<Val> = c.vals.into_iter().map(|v| v.unwrap_or(Val::Null)).collect();
    vals.extend(c.extra);
    Ok(Doc { vals, root })
}

/// Maps yaml-rust2's char indices to byte offsets, walking from the last position.
struct CharCursor<'a> {
    text: &'a str,
    ci: usize,
    bi: usize,
}

impl CharCursor<'_> {
    fn byte_at(&mut self, ci: usize) -> usize {
        // Marks step back a little at times (Key/BlockMappingStart tokens): walk back.
        while self.ci > ci && self.bi > 0 {
            self.bi -= 1;
            while self.bi > 0 && !self.text.is_char_boundary(self.bi) {
                self.bi -= 1;
            }
            self.ci -= 1;
        }
        while self.ci < ci {
            match self.text[self.bi..].chars().next() {
                Some(c) => {
                    self.bi += c.len_utf8();
                    self.ci += 1;
                }
                None => break,
            }
        }
        self.bi
    }
}

/// The `|`/`>` header of a block scalar at or before byte `at`, and how many line breaks lie
/// between the header and `at`.
fn find_block_header(text: &str, at: usize) -> (usize, usize) {
    let b = text.as_bytes();
    let mut i = at.min(b.len().saturating_sub(1));
    let mut crossed = 0;
    loop {
        match b.get(i) {
            Some(b'|' | b'>') => return (i, crossed),
            Some(b'\n') => crossed += 1,
            _ => {}
        }
        if i == 0 {
            return (at, 0);
        }
        i -= 1;
    }
}

/// Chomping indicator of the header at byte `at`: '+', '-' or ' ' (clip).
fn block_chomping(text: &str, at: usize) -> char {
    text.get(at + 1..)
        .unwrap_or("")
        .chars()
        .take_while(|c| !c.is_whitespace())
        .find(|&c| c == '+' || c == '-')
        .unwrap_or(' ')
}

/// PyYAML's block scalar header: `|` or `>`, at most one chomping (`+`/`-`) and one indentation
/// (1-9) indicator, then a space (and maybe a comment) or the line break.
fn check_block_header(text: &str, hpos: usize) -> Result<(), String> {
    let rest = text.as_bytes().get(hpos + 1..).unwrap_or(&[]);
    let mut i = 0;
    let (mut chomp, mut indent) = (false, false);
    while let Some(&c) = rest.get(i) {
        match c {
            b'+' | b'-' if !chomp => chomp = true,
            b'1'..=b'9' if !indent => indent = true,
            b'0' => {
                return Err("expected indentation indicator in the range 1-9, but found 0".into())
            }
            _ => break,
        }
        i += 1;
    }
    match rest.get(i) {
        None | Some(b' ' | b'\n') => Ok(()),
        Some(_) => {
            Err("while scanning a block scalar: expected chomping or indentation indicators".into())
        }
    }
}

fn tag_string(t: Tag) -> String {
    format!("{}{}", t.handle, t.suffix)
}

/// Checks PyYAML makes that yaml-rust2 (YAML 1.2) does not, on yaml-rust2's token stream:
/// tabs outside quoted/block scalars and comments ("found character '\t' that cannot start any
/// token"), duplicate anchors, anchor names outside `[A-Za-z0-9_-]`, `%YAML` versions other than
/// 1.x, a `...` before any document, a `:` value without a key (`: x`, `{: x}`: PyYAML's parser
/// has no empty-key rule), plain scalars starting with an indicator PyYAML refuses, `?` inside a
/// flow-context plain scalar, a tag directly followed by a flow indicator, and implicit keys
/// spanning lines.
fn prescan_yaml(text: &str, repair: &mut Option<Repair>) -> Result<(), PolicyError> {
    let b = text.as_bytes();
    let mut cur = CharCursor { text, ci: 0, bi: 0 };
    let mut starts: Vec<usize> = Vec::new();
    let mut spans: Vec<(usize, TScalarStyle)> = Vec::new();
    let mut seen_anchors: HashSet<String> = HashSet::new();
    // Per open collection: None, or a key waiting for its value (Some(Some(start)) when it is
    // an implicit key starting at byte `start`).
    let mut key_open: Vec<Option<Option<usize>>> = vec![None];
    let mut flow = 0usize;
    let mut first = true;
    let mut pending_key: Option<(usize, usize)> = None;
    let blank = |c: Option<&u8>| matches!(c, None | Some(b' ' | b'\t' | b'\r' | b'\n'));
    let mut scanner = Scanner::new(text.chars());
    for tok in scanner.by_ref() {
        let at = cur.byte_at(tok.0.index());
        let line = tok.0.line();
        starts.push(at);
        let is_first = first;
        if !matches!(tok.1, TokenType::StreamStart(_)) {
            first = false;
        }
        if let Some((level, kat)) = pending_key.take() {
            if kat == at {
                if let Some(k) = key_open.get_mut(level) {
                    *k = Some(Some(at)); // implicit key: its first token sits where the Key does
                }
            }
        }
        match tok.1 {
            TokenType::Scalar(style, ref value) => {
                if style != TScalarStyle::Plain {
                    spans.push((at, style));
                }
                if style == TScalarStyle::Plain {
                    let ch = b.get(at).copied().unwrap_or(b' ');
                    if flow > 0 && (ch == b'?' || ch == b':') {
                        // PyYAML: in a flow collection `?` and `:` are always indicators.
                        *repair = Some(Repair::InsertSpace(at + 1));
                        return Err(yaml_err(line, "indicator glued to a flow scalar"));
                    }
                    let ok = !b"-?:,[]{}#&*!|>'\"%@`".contains(&ch)
                        || (!blank(b.get(at + 1))
                            && (ch == b'-' || (flow == 0 && (ch == b'?' || ch == b':'))));
                    if !ok {
                        return Err(yaml_err(
                            line,
                            format!(
                                "found character {:?} that cannot start any token",
                                ch as char
                            ),
                        ));
                    }
                    if flow > 0 && value.contains('?') {
                        return Err(yaml_err(
                            line,
                            "while parsing a flow collection: unexpected '?'",
                        ));
                    }
                }
            }
            TokenType::Tag(..) => {
                let mut i = at;
                if b.get(at + 1) == Some(&b'<') {
                    // verbatim `!<...>`
                    while i < b.len() && b[i] != b'>' {
                        i += 1;
                    }
                    i += 1;
                } else {
                    while i < b.len() && !blank(b.get(i)) && !b",[]{}".contains(&b[i]) {
                        i += 1;
                    }
                }
                if !blank(b.get(i)) {
                    return Err(yaml_err(line, "while scanning a tag: expected ' '"));
                }
            }
            TokenType::Anchor(ref name) | TokenType::Alias(ref name) => {
                let valid = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
                let prefix = name.bytes().take_while(|&c| valid(c)).count();
                if prefix > 0 && prefix < name.len() && b"?:%@`".contains(&name.as_bytes()[prefix])
                {
                    // PyYAML ends the name there (YAML 1.2 does not): split it off with a space.
                    *repair = Some(Repair::InsertSpace(at + 1 + prefix));
                    return Err(yaml_err(line, "anchor name ends at an indicator"));
                }
                if name.is_empty() || prefix < name.len() {
                    return Err(yaml_err(
                        line,
                        "while scanning an anchor: expected alphabetic or numeric character",
                    ));
                }
                let next = b.get(at + 1 + name.len()).copied();
                if !matches!(
                    next,
                    None | Some(
                        b' ' | b'\t'
                            | b'\n'
                            | b'?'
                            | b':'
                            | b','
                            | b']'
                            | b'}'
                            | b'%'
                            | b'@'
                            | b'`'
                    )
                ) {
                    return Err(yaml_err(
                        line,
                        "while scanning an anchor: expected alphabetic or numeric character",
                    ));
                }
                if matches!(tok.1, TokenType::Anchor(_)) && !seen_anchors.insert(name.clone()) {
                    return Err(yaml_err(line, format!("found duplicate anchor {:?}", name)));
                }
            }
            TokenType::VersionDirective(major, _) if major != 1 => {
                return Err(yaml_err(
                    line,
                    "found incompatible YAML document (version 1.* is required)",
                ));
            }
            TokenType::DocumentEnd if is_first => {
                return Err(yaml_err(
                    line,
                    "while parsing a block node: expected the node content, but found '...'",
                ));
            }
            TokenType::BlockMappingStart | TokenType::BlockSequenceStart => key_open.push(None),
            TokenType::FlowMappingStart | TokenType::FlowSequenceStart => {
                key_open.push(None);
                flow += 1;
            }
            TokenType::BlockEnd | TokenType::FlowMappingEnd | TokenType::FlowSequenceEnd => {
                if key_open.len() > 1 {
                    key_open.pop();
                }
                if !matches!(tok.1, TokenType::BlockEnd) {
                    flow = flow.saturating_sub(1);
                }
            }
            TokenType::Key => {
                if let Some(k) = key_open.last_mut() {
                    *k = Some(None);
                }
                pending_key = Some((key_open.len() - 1, at));
            }
            TokenType::Value => match key_open.last_mut() {
                Some(k) if k.is_some() => {
                    // PyYAML: a simple (implicit) key must fit on one line.
                    if let Some(Some(kb)) = *k {
                        if b.get(kb..at).is_some_and(|span| span.contains(&b'\n')) {
                            return Err(yaml_err(
                                line,
                                "while scanning a simple key: could not find expected ':'",
                            ));
                        }
                    }
                    *k = None;
                }
                _ => {
                    return Err(yaml_err(
                        line,
                        "while parsing a mapping: expected a key, but found ':'",
                    ));
                }
            },
            _ => {}
        }
    }
    // A scan error is left to the parser (and to the repairs), except a flow collection
    // continued at a low indentation, which PyYAML does not mind.
    if let Some(e) = scanner.get_error() {
        if flow > 0 && e.info() == "invalid indentation" {
            *repair = Some(Repair::IndentLineAtChar(e.marker().index()));
            return Err(yaml_err(e.marker().line(), e.info().to_string()));
        }
        return Ok(());
    }
    if !text.contains('\t') {
        return Ok(());
    }
    starts.sort_unstable();
    spans.sort_unstable_by_key(|s| s.0);
    let mut allowed = vec![false; b.len()];
    for &(start, style) in &spans {
        let end = match style {
            TScalarStyle::DoubleQuoted | TScalarStyle::SingleQuoted => quoted_end(b, start),
            _ => {
                let next = starts.partition_point(|&s| s <= start);
                starts.get(next).copied().unwrap_or(b.len())
            }
        };
        for i in start..end.min(b.len()) {
            // A tab at column 0 never belongs to a block scalar (its indentation is spaces).
            let block = !matches!(
                style,
                TScalarStyle::DoubleQuoted | TScalarStyle::SingleQuoted
            );
            allowed[i] = !(block && b[i] == b'\t' && (i == 0 || b[i - 1] == b'\n'));
        }
    }
    let mut line = 1;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line += 1;
        } else if !allowed[i] {
            let boundary = i == 0 || matches!(b[i - 1], b' ' | b'\t' | b'\n') || allowed[i - 1];
            if c == b'#' && boundary {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            if c == b'\t' {
                return Err(yaml_err(
                    line,
                    "found character '\\t' that cannot start any token",
                ));
            }
        }
        i += 1;
    }
    Ok(())
}

/// Byte offset just past the quoted scalar starting at `start` (its opening quote).
fn quoted_end(b: &[u8], start: usize) -> usize {
    let q = b.get(start).copied().unwrap_or(b'"');
    let mut i = start + 1;
    loop {
        match b.get(i) {
            None => return b.len(),
            Some(b'\\') if q == b'"' => i += 2,
            Some(b'\'') if q == b'\'' && b.get(i + 1) == Some(&b'\'') => i += 2,
            Some(&c) if c == q => return i + 1,
            Some(_) => i += 1,
        }
    }
}

/// yaml-rust2 (YAML 1.2) rejects continuation lines of a quoted scalar that are not indented
/// past the enclosing block; PyYAML accepts any indentation. Leading white space of continuation
/// lines is dropped by line folding, so indenting them changes nothing but yaml-rust2's verdict.
/// Returns the repaired text, or None when this is not that case (or `---`/`...` would be hidden).
fn reindent_quoted(text: &str, char_idx: usize) -> Option<String> {
    let mut cur = CharCursor { text, ci: 0, bi: 0 };
    let start = cur.byte_at(char_idx);
    let b = text.as_bytes();
    if !matches!(b.get(start), Some(b'"' | b'\'')) {
        return None;
    }
    let end = quoted_end(b, start);
    let line_start = text[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let pad = " ".repeat(start - line_start + 1);
    let mut out = String::with_capacity(text.len() + 64);
    out.push_str(&text[..start]);
    for (i, piece) in text[start..end].split('\n').enumerate() {
        if i > 0 {
            if piece.starts_with("---") || piece.starts_with("...") {
                return None;
            }
            out.push('\n');
            out.push_str(&pad);
        }
        out.push_str(piece);
    }
    out.push_str(&text[end..]);
    Some(out)
}

struct Constructor<'a> {
    nodes: &'a [YNode],
    vals: Vec<Option<Val>>,
    extra: Vec<Val>,
    /// Flattened (merge keys resolved) pairs per mapping node.
    flat: HashMap<usize, Vec<(usize, usize)>>,
}

impl Constructor<'_> {
    fn node(&self, i: usize) -> Result<&YNode, PolicyError> {
        self.nodes
            .get(i)
            .ok_or_else(|| PolicyError::new(None, "internal: bad YAML node"))
    }

    /// The resolved tag of a node (PyYAML Resolver).
    fn tag(&self, i: usize) -> Result<Cow<'static, str>, PolicyError> {
        let explicit = |t: &str| Cow::Owned(t.to_string());
        Ok(match self.node(i)? {
            YNode::Scalar {
                value, plain, tag, ..
            } => match tag.as_deref() {
                Some("!") => Cow::Borrowed(implicit_tag(value)),
                Some(t) => explicit(t),
                None if *plain => Cow::Borrowed(implicit_tag(value)),
                None => Cow::Borrowed(STR_TAG),
            },
            YNode::Seq { tag, .. } => match tag.as_deref() {
                None | Some("!") => Cow::Borrowed(SEQ_TAG),
                Some(t) => explicit(t),
            },
            YNode::Map { tag, .. } => match tag.as_deref() {
                None | Some("!") => Cow::Borrowed(MAP_TAG),
                Some(t) => explicit(t),
            },
        })
    }

    fn construct(&mut self, i: usize, depth: usize) -> Result<usize, PolicyError> {
        if self.vals.get(i).map(|v| v.is_some()).unwrap_or(true) {
            return Ok(i); // done, or under construction (recursive alias)
        }
        if depth > YAML_MAX_DEPTH {
            return Err(yaml_err(self.node(i)?.line(), "YAML nested too deeply"));
        }
        self.vals[i] = Some(Val::Pending);
        let tag = self.tag(i)?;
        let line = self.node(i)?.line();
        let short = tag.strip_prefix(TAG_PREFIX).unwrap_or("");
        let v = match self.node(i)? {
            YNode::Scalar { value, .. } => {
                construct_scalar(&tag, short, value).map_err(|m| yaml_err(line, m))?
            }
            YNode::Seq { items, .. } => {
                let items = items.clone();
                match short {
                    "seq" => {
                        for &it in &items {
                            self.construct(it, depth + 1)?;
                        }
                        Val::List(items)
                    }
                    "omap" | "pairs" => {
                        let mut tuples = Vec::new();
                        for &it in &items {
                            let (k, v) = match self.node(it)? {
                                YNode::Map { items: kv, .. } if kv.len() == 2 => (kv[0], kv[1]),
                                _ => {
                                    return Err(yaml_err(
                                        line,
                                        "while constructing an ordered map: expected a mapping of \
                                         length 1",
                                    ));
                                }
                            };
                            self.construct(k, depth + 1)?;
                            self.construct(v, depth + 1)?;
                            self.extra.push(Val::List(vec![k, v]));
                            tuples.push(self.nodes.len() + self.extra.len() - 1);
                        }
                        Val::List(tuples)
                    }
                    _ => return Err(self.no_constructor(&tag, line, "sequence")),
                }
            }
            YNode::Map { .. } => match short {
                "map" | "set" => {
                    let pairs = self.flatten(i, 0)?;
                    let mut constructed: Vec<(usize, usize, usize)> =
                        Vec::with_capacity(pairs.len());
                    for (k, v) in pairs {
                        // flatten_mapping retags `=` keys as str
                        if self.tag(k)? == VALUE_TAG {
                            if let (Some(slot @ None), YNode::Scalar { value, .. }) =
                                (self.vals.get_mut(k), &self.nodes[k])
                            {
                                *slot = Some(Val::Str(value.clone()));
                            }
                        }
                        self.construct(k, depth + 1)?;
                        let kline = self.node(k)?.line();
                        match self.vals.get(k) {
                            Some(Some(Val::Str(_))) => {}
                            Some(Some(Val::List(_) | Val::Dict(_) | Val::Set(_))) => {
                                return Err(yaml_err(
                                    kline,
                                    "while constructing a mapping: found unhashable key",
                                ));
                            }
                            _ => {
                                if matches!(self.node(k)?, YNode::Seq { .. } | YNode::Map { .. }) {
                                    return Err(yaml_err(
                                        kline,
                                        "while constructing a mapping: found unhashable key",
                                    ));
                                }
                            }
                        }
                        self.construct(v, depth + 1)?;
                        constructed.push((k, v, kline));
                    }
                    // dict semantics for str keys: first position, last value and line
                    let mut entries: Vec<(usize, usize, usize)> =
                        Vec::with_capacity(constructed.len());
                    let mut index: HashMap<&str, usize> = HashMap::new();
                    for (k, v, kline) in constructed {
                        let key = match self.vals.get(k) {
                            Some(Some(Val::Str(s))) => Some(s.as_str()),
                            _ => None,
                        };
                        match key.and_then(|s| index.get(s).copied()) {
                            Some(at) => {
                                if let Some(slot) = entries.get_mut(at) {
                                    slot.1 = v;
                                    slot.2 = kline;
                                }
                            }
                            None => {
                                if let Some(s) = key {
                                    index.insert(s, entries.len());
                                }
                                entries.push((k, v, kline));
                            }
                        }
                    }
                    if short == "set" {
                        Val::Set(entries.into_iter().map(|e| e.0).collect())
                    } else {
                        Val::Dict(entries)
                    }
                }
                _ => return Err(self.no_constructor(&tag, line, "mapping")),
            },
        };
        self.vals[i] = Some(v);
        Ok(i)
    }

    fn no_constructor(&self, tag: &str, line: usize, kind: &str) -> PolicyError {
        let short = tag.strip_prefix(TAG_PREFIX).unwrap_or("");
        if matches!(
            short,
            "str" | "int" | "float" | "bool" | "null" | "binary" | "timestamp"
        ) {
            yaml_err(line, format!("expected a scalar node, but found {}", kind))
        } else if matches!(short, "seq" | "omap" | "pairs") {
            yaml_err(
                line,
                format!("expected a sequence node, but found {}", kind),
            )
        } else if matches!(short, "map" | "set") {
            yaml_err(line, format!("expected a mapping node, but found {}", kind))
        } else {
            yaml_err(
                line,
                format!("could not determine a constructor for the tag {:?}", tag),
            )
        }
    }

    /// SafeConstructor.flatten_mapping: `<<` merge keys, merged pairs first, `=` keys as str.
    fn flatten(&mut self, i: usize, depth: usize) -> Result<Vec<(usize, usize)>, PolicyError> {
        if let Some(p) = self.flat.get(&i) {
            return Ok(p.clone());
        }
        let line = self.node(i)?.line();
        if depth > YAML_MAX_DEPTH {
            return Err(yaml_err(line, "YAML merge keys nested too deeply"));
        }
        let items = match self.node(i)? {
            YNode::Map { items, .. } => items,
            _ => return Err(yaml_err(line, "expected a mapping node")),
        };
        let mut has_merge = false;
        for k in items.iter().step_by(2) {
            has_merge |= self.tag(*k)? == MERGE_TAG;
        }
        if !has_merge {
            return Ok(items
                .chunks(2)
                .filter(|c| c.len() == 2)
                .map(|c| (c[0], c[1]))
                .collect());
        }
        let items = items.clone();
        // Mark before recursing: a mapping merging itself sees its own pairs without merges.
        let own: Vec<(usize, usize)> = items
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| (c[0], c[1]))
            .collect();
        self.flat.insert(i, own.clone());
        let mut merge: Vec<(usize, usize)> = Vec::new();
        let mut rest: Vec<(usize, usize)> = Vec::new();
        for (k, v) in own {
            if self.tag(k)? == MERGE_TAG {
                match self.node(v)? {
                    YNode::Map { .. } => merge.extend(self.flatten(v, depth + 1)?),
                    YNode::Seq { items: subs, .. } => {
                        let subs = subs.clone();
                        let mut submerge = Vec::new();
                        for s in subs {
                            if !matches!(self.node(s)?, YNode::Map { .. }) {
                                return Err(yaml_err(
                                    self.node(s)?.line(),
                                    "while constructing a mapping: expected a mapping for merging",
                                ));
                            }
                            submerge.push(self.flatten(s, depth + 1)?);
                        }
                        for m in submerge.into_iter().rev() {
                            merge.extend(m);
                        }
                    }
                    _ => {
                        return Err(yaml_err(
                            self.node(v)?.line(),
                            "while constructing a mapping: expected a mapping or list of mappings \
                             for merging",
                        ));
                    }
                }
            } else {
                rest.push((k, v));
            }
        }
        merge.extend(rest);
        self.flat.insert(i, merge.clone());
        Ok(merge)
    }
}

/// Scalar constructors of PyYAML's SafeConstructor.
fn construct_scalar(tag: &str, short: &str, value: &str) -> Result<Val, String> {
    match short {
        "str" => Ok(Val::Str(value.to_string())),
        "null" => Ok(Val::Null),
        "bool" => match value.to_lowercase().as_str() {
            "yes" | "true" | "on" => Ok(Val::Bool(true)),
            "no" | "false" | "off" => Ok(Val::Bool(false)),
            _ => Err(format!("invalid boolean {:?}", value)),
        },
        "int" => yaml_int_nonzero(value).map(Val::Int),
        "float" => yaml_float_nonzero(value).map(Val::Float),
        "binary" => binary_decode(value).map(|b| Val::Bytes {
            len: b.len(),
            nonzero: b.iter().any(|&x| x != 0),
        }),
        "timestamp" => match timestamp_fields(value.as_bytes(), false) {
            Some(ts) if ts.valid() => Ok(Val::Time),
            Some(_) => Err(format!("invalid date/time {:?}", value)),
            None => Err(format!("invalid timestamp {:?}", value)),
        },
        // `=` as a mapping key became str in flatten_mapping; anywhere else it has no constructor.
        "seq" | "omap" | "pairs" => Err("expected a sequence node, but found scalar".to_string()),
        "map" | "set" => Err("expected a mapping node, but found scalar".to_string()),
        _ => Err(format!(
            "could not determine a constructor for the tag {:?}",
            tag
        )),
    }
}

/// PyYAML's implicit resolvers (YAML 1.1), in registration order per first character.
fn implicit_tag(v: &str) -> &'static str {
    let b = v.as_bytes();
    let first = match b.first() {
        None => return "tag:yaml.org,2002:null",
        Some(&c) => c,
    };
    if b"yYnNtTfFoO".contains(&first)
        && matches!(
            v,
            "yes"
                | "Yes"
                | "YES"
                | "no"
                | "No"
                | "NO"
                | "true"
                | "True"
                | "TRUE"
                | "false"
                | "False"
                | "FALSE"
                | "on"
                | "On"
                | "ON"
                | "off"
                | "Off"
                | "OFF"
        )
    {
        return "tag:yaml.org,2002:bool";
    }
    if b"-+0123456789.".contains(&first) && is_yaml_float(b) {
        return "tag:yaml.org,2002:float";
    }
    if b"-+0123456789".contains(&first) && is_yaml_int(b) {
        return "tag:yaml.org,2002:int";
    }
    if v == "<<" {
        return "tag:yaml.org,2002:merge";
    }
    if matches!(v, "~" | "null" | "Null" | "NULL") {
        return "tag:yaml.org,2002:null";
    }
    if first.is_ascii_digit() && timestamp_fields(b, true).is_some() {
        return "tag:yaml.org,2002:timestamp";
    }
    if v == "=" {
        return "tag:yaml.org,2002:value";
    }
    "tag:yaml.org,2002:str"
}

fn skip_while(b: &[u8], mut i: usize, f: impl Fn(u8) -> bool) -> usize {
    while i < b.len() && f(b[i]) {
        i += 1;
    }
    i
}

fn is_digit_(c: u8) -> bool {
    c.is_ascii_digit() || c == b'_'
}

/// `([eE][-+][0-9]+)?` then end.
fn exp_then_end(b: &[u8], i: usize) -> bool {
    if i == b.len() {
        return true;
    }
    if !matches!(b[i], b'e' | b'E') || !matches!(b.get(i + 1), Some(b'-' | b'+')) {
        return false;
    }
    let j = skip_while(b, i + 2, |c| c.is_ascii_digit());
    j > i + 2 && j == b.len()
}

/// `(:[0-5]?[0-9])+` starting at `i`; returns the position after it.
fn sexagesimal(b: &[u8], mut i: usize) -> Option<usize> {
    let mut n = 0;
    while b.get(i) == Some(&b':') {
        let d = skip_while(b, i + 1, |c| c.is_ascii_digit());
        match d - (i + 1) {
            1 => {}
            2 if (b'0'..=b'5').contains(&b[i + 1]) => {}
            _ => return None,
        }
        i = d;
        n += 1;
    }
    if n == 0 {
        None
    } else {
        Some(i)
    }
}

fn is_yaml_float(b: &[u8]) -> bool {
    if matches!(b, b".nan" | b".NaN" | b".NAN") {
        return true;
    }
    let r = match b.first() {
        Some(b'-' | b'+') => &b[1..],
        _ => b,
    };
    if matches!(r, b".inf" | b".Inf" | b".INF") {
        return true;
    }
    if b.first() == Some(&b'.') {
        // `\.[0-9][0-9_]*([eE][-+][0-9]+)?` (no sign)
        if !matches!(b.get(1), Some(b'0'..=b'9')) {
            return false;
        }
        let j = skip_while(b, 2, is_digit_);
        return exp_then_end(b, j);
    }
    if !matches!(r.first(), Some(b'0'..=b'9')) {
        return false;
    }
    let i = skip_while(r, 1, is_digit_);
    match r.get(i) {
        Some(b'.') => {
            let j = skip_while(r, i + 1, is_digit_);
            exp_then_end(r, j)
        }
        Some(b':') => match sexagesimal(r, i) {
            Some(j) if r.get(j) == Some(&b'.') => skip_while(r, j + 1, is_digit_) == r.len(),
            _ => false,
        },
        _ => false,
    }
}

fn is_yaml_int(b: &[u8]) -> bool {
    let r = match b.first() {
        Some(b'-' | b'+') => &b[1..],
        _ => b,
    };
    let all = |s: &[u8], f: fn(u8) -> bool| !s.is_empty() && s.iter().all(|&c| f(c));
    if let Some(rest) = r.strip_prefix(b"0b") {
        if all(rest, |c| matches!(c, b'0' | b'1' | b'_')) {
            return true;
        }
    }
    if let Some(rest) = r.strip_prefix(b"0x") {
        if all(rest, |c| c.is_ascii_hexdigit() || c == b'_') {
            return true;
        }
    }
    if let Some(rest) = r.strip_prefix(b"0") {
        if rest.is_empty() || all(rest, |c| matches!(c, b'0'..=b'7' | b'_')) {
            return true;
        }
        return false;
    }
    if !matches!(r.first(), Some(b'1'..=b'9')) {
        return false;
    }
    let i = skip_while(r, 1, is_digit_);
    if i == r.len() {
        return true;
    }
    sexagesimal(r, i) == Some(r.len())
}

struct Timestamp {
    year: u32,
    month: u32,
    day: u32,
    time: Option<(u32, u32, u32)>,
    tz_minutes: Option<u32>,
}

impl Timestamp {
    fn valid(&self) -> bool {
        let leap = (self.year.is_multiple_of(4) && !self.year.is_multiple_of(100))
            || self.year.is_multiple_of(400);
        let dim = match self.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return false,
        };
        if self.year == 0 || self.day == 0 || self.day > dim {
            return false;
        }
        if let Some((h, m, s)) = self.time {
            if h > 23 || m > 59 || s > 59 {
                return false;
            }
        }
        self.tz_minutes.map(|t| t < 24 * 60).unwrap_or(true)
    }
}

/// PyYAML's timestamp grammar. `implicit`: the resolver's stricter form (date-only needs two
/// digit month and day).
fn timestamp_fields(b: &[u8], implicit: bool) -> Option<Timestamp> {
    let num = |s: &[u8]| -> u32 {
        s.iter().fold(0u32, |a, &c| {
            a.saturating_mul(10).saturating_add((c - b'0') as u32)
        })
    };
    let digits = |i: usize, min: usize, max: usize| -> Option<usize> {
        let j = skip_while(b, i, |c| c.is_ascii_digit());
        if j - i >= min && j - i <= max {
            Some(j)
        } else {
            None
        }
    };
    let y = digits(0, 4, 4)?;
    if b.get(y) != Some(&b'-') {
        return None;
    }
    let mo = digits(y + 1, 1, 2)?;
    if b.get(mo) != Some(&b'-') {
        return None;
    }
    let d = digits(mo + 1, 1, 2)?;
    let mut ts = Timestamp {
        year: num(&b[..y]),
        month: num(&b[y + 1..mo]),
        day: num(&b[mo + 1..d]),
        time: None,
        tz_minutes: None,
    };
    if d == b.len() {
        if implicit && (mo - y != 3 || d - mo != 3) {
            return None;
        }
        return Some(ts);
    }
    let mut i = match b[d] {
        b'T' | b't' => d + 1,
        b' ' | b'\t' => skip_while(b, d, |c| c == b' ' || c == b'\t'),
        _ => return None,
    };
    let h = digits(i, 1, 2)?;
    if b.get(h) != Some(&b':') {
        return None;
    }
    let mi = digits(h + 1, 2, 2)?;
    if b.get(mi) != Some(&b':') {
        return None;
    }
    let s = digits(mi + 1, 2, 2)?;
    ts.time = Some((num(&b[i..h]), num(&b[h + 1..mi]), num(&b[mi + 1..s])));
    i = s;
    if b.get(i) == Some(&b'.') {
        i = skip_while(b, i + 1, |c| c.is_ascii_digit());
    }
    if i == b.len() {
        return Some(ts);
    }
    i = skip_while(b, i, |c| c == b' ' || c == b'\t');
    match b.get(i) {
        Some(b'Z') if i + 1 == b.len() => Some(ts),
        Some(b'-' | b'+') => {
            let th = digits(i + 1, 1, 2)?;
            let mut tm = 0;
            let mut end = th;
            if b.get(th) == Some(&b':') {
                end = digits(th + 1, 2, 2)?;
                tm = num(&b[th + 1..end]);
            }
            if end != b.len() {
                return None;
            }
            ts.tz_minutes = Some(num(&b[i + 1..th]) * 60 + tm);
            Some(ts)
        }
        _ => None,
    }
}

/// Python's `int(s, base)` for the strings construct_yaml_int passes; Some(value) (saturated).
fn py_int(s: &str, base: u32) -> Option<i128> {
    let s = s.trim_matches(is_py_space);
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = s.to_ascii_lowercase();
    let s = match base {
        2 => lower.strip_prefix("0b").unwrap_or(&lower),
        8 => lower.strip_prefix("0o").unwrap_or(&lower),
        16 => lower.strip_prefix("0x").unwrap_or(&lower),
        _ => &lower,
    };
    if s.is_empty() {
        return None;
    }
    let mut v: i128 = 0;
    for c in s.chars() {
        let d = c.to_digit(base)?;
        v = v.saturating_mul(base as i128).saturating_add(d as i128);
    }
    Some(if neg { -v } else { v })
}

/// construct_yaml_int: Ok(non-zero) or the error Python raises.
fn yaml_int_nonzero(value: &str) -> Result<bool, String> {
    let v = value.replace('_', "");
    let bad = || format!("invalid literal for int(): {:?}", value);
    let s = match v.as_bytes().first() {
        None => return Err(bad()),
        Some(b'-' | b'+') => &v[1..],
        Some(_) => &v[..],
    };
    if s == "0" {
        return Ok(false);
    }
    let n = if let Some(r) = s.strip_prefix("0b") {
        py_int(r, 2)
    } else if let Some(r) = s.strip_prefix("0x") {
        py_int(r, 16)
    } else if s.starts_with('0') {
        py_int(s, 8)
    } else if s.is_empty() {
        None
    } else if s.contains(':') {
        let mut total: i128 = 0;
        let mut base: i128 = 1;
        for part in s.split(':').rev() {
            let d = py_int(part, 10).ok_or_else(bad)?;
            total = total.saturating_add(d.saturating_mul(base));
            base = base.saturating_mul(60);
        }
        Some(total)
    } else {
        py_int(s, 10)
    };
    n.map(|x| x != 0).ok_or_else(bad)
}

/// construct_yaml_float: Ok(non-zero) or the error Python raises.
fn yaml_float_nonzero(value: &str) -> Result<bool, String> {
    let v = value.replace('_', "").to_lowercase();
    let bad = || format!("could not convert string to float: {:?}", value);
    let s = match v.as_bytes().first() {
        None => return Err(bad()),
        Some(b'-' | b'+') => &v[1..],
        Some(_) => &v[..],
    };
    if s == ".inf" || s == ".nan" {
        return Ok(true);
    }
    let pf = |p: &str| -> Option<f64> {
        let p = p.trim_matches(is_py_space);
        if p.is_empty() || p.contains(['x', '#']) {
            None
        } else {
            p.parse::<f64>().ok()
        }
    };
    if s.contains(':') {
        let mut total = 0.0f64;
        let mut base = 1.0f64;
        for part in s.split(':').rev() {
            total += pf(part).ok_or_else(bad)? * base;
            base *= 60.0;
        }
        Ok(total != 0.0)
    } else {
        pf(s).map(|f| f != 0.0).ok_or_else(bad)
    }
}

/// construct_yaml_binary: ASCII, then `base64.decodebytes` (binascii.a2b_base64, non-strict:
/// characters outside the alphabet are skipped, `=` padding ends the data).
fn binary_decode(value: &str) -> Result<Vec<u8>, String> {
    if !value.is_ascii() {
        return Err("failed to convert base64 data into ascii".to_string());
    }
    let mut out = Vec::new();
    let (mut quad, mut left, mut pads) = (0u8, 0u32, 0u8);
    for c in value.bytes() {
        if c == b'=' {
            if quad >= 2 {
                pads += 1;
                if quad + pads >= 4 {
                    return Ok(out);
                }
            }
            continue;
        }
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        } as u32;
        pads = 0;
        match quad {
            0 => {
                quad = 1;
                left = v;
            }
            1 => {
                quad = 2;
                out.push(((left << 2) | (v >> 4)) as u8);
                left = v & 0xf;
            }
            2 => {
                quad = 3;
                out.push(((left << 4) | (v >> 2)) as u8);
                left = v & 0x3;
            }
            _ => {
                quad = 0;
                out.push(((left << 6) | v) as u8);
                left = 0;
            }
        }
    }
    match quad {
        0 => Ok(out),
        1 => Err("failed to decode base64 data: invalid number of data characters".to_string()),
        _ => Err("failed to decode base64 data: Incorrect padding".to_string()),
    }
}

#[cfg(test)]
mod tests {
    //! Expectations confirmed against oslo.policy 4.0.0 / PyYAML 6.0 by `confirm.py`
    //! (`/usr/bin/python3 confirm.py` prints the real library's verdict per fixture).
    use super::*;

    /// Excerpt of Debian's /etc/barbican/policy.d/00_default_policy.yaml (every rule commented).
    const STOCK_DEBIAN: &str = r##"#"system_reader": "role:reader and system_scope:all"

#"system_admin": "role:admin and system_scope:all"

#"secret_project_match": "project_id:%(target.secret.project_id)s"

#"observer": "role:observer"

#"creator": "role:creator"

#"admin": "role:admin"

#"service_admin": "role:key-manager:service-admin"

#"all_users": "rule:admin or rule:observer or rule:creator or rule:audit or rule:service_admin"

#"admin_or_creator": "rule:admin or rule:creator"

#"secret_private_read": "'False':%(target.secret.read_project_access)s"

# Retrieve the ACL settings for a given secret.If no ACL is defined
# for that secret, then Default ACL is returned.
# GET  /v1/secrets/{secret-id}/acl
# Intended scope(s): project
#"secret_acls:get": "True:%(enforce_new_defaults)s and (rule:secret_project_admin or (rule:secret_project_member and rule:secret_owner) or (rule:secret_project_member and rule:secret_is_not_private))"

# DEPRECATED
# "secret_acls:get":"rule:all_but_audit and rule:secret_project_match"
"##;

    fn file(text: &str) -> PolicyFile {
        match parse(text) {
            Ok(f) => f,
            Err(e) => panic!("parse failed: {e} for {text:?}"),
        }
    }

    fn texts(f: &PolicyFile) -> BTreeMap<String, String> {
        f.rules
            .iter()
            .map(|r| (r.name.clone(), r.rule.clone()))
            .collect()
    }

    /// File rules over Barbican's legacy default for `creator` (what the caller does).
    fn effective(files: &[PolicyFile]) -> BTreeMap<String, String> {
        let mut m: BTreeMap<String, String> =
            [("creator".to_string(), BARBICAN_CREATOR_DEFAULT.to_string())]
                .into_iter()
                .collect();
        for (k, (v, _, _)) in merge(files) {
            m.insert(k, v);
        }
        m
    }

    fn member_may_create(text: &str) -> bool {
        grants_role(&effective(&[file(text)]), "creator", "member")
    }

    fn verdict(text: &str) -> Verdict {
        role_verdict(
            &texts(&file(text)),
            "creator",
            &["member"],
            Some(DEFAULT_RULE_NAME),
        )
    }

    // ----- the BAR-008 fixtures -----

    #[test]
    fn stock_debian_file_all_commented_has_no_rules() {
        let f = file(STOCK_DEBIAN);
        assert!(f.rules.is_empty(), "{:?}", f.rules);
        // The real file, where barbican-common is installed.
        if let Ok(real) = std::fs::read("/etc/barbican/policy.d/00_default_policy.yaml") {
            assert_eq!(parse_bytes(&real).map(|f| f.rules.len()), Ok(0));
        }
        // No file sets creator: Barbican's legacy default decides, and it does not grant member.
        let m = effective(&[f]);
        assert_eq!(m.get("creator").map(String::as_str), Some("role:creator"));
        assert!(!grants_role(&m, "creator", "member"));
        assert!(grants_role(&m, "creator", "creator"));
    }

    #[test]
    fn yaml_creator_role_member_grants() {
        let f = file("# SCS-0116\n\"creator\": \"role:member\"\n");
        assert_eq!(f.rules.len(), 1);
        assert_eq!(f.rules[0].name, "creator");
        assert_eq!(f.rules[0].rule, "role:member");
        assert_eq!(f.rules[0].line, 2);
        assert_eq!(f.rules[0].note, None);
        assert!(member_may_create("\"creator\": \"role:member\"\n"));
        assert!(member_may_create("creator: role:member\n"));
    }

    #[test]
    fn creator_or_member_grants() {
        assert!(member_may_create(
            "\"creator\": \"role:creator or role:member\"\n"
        ));
        assert!(member_may_create(
            "\"creator\": \"role:member or role:creator\"\n"
        ));
        assert!(member_may_create(
            "\"creator\": \"(role:creator or role:admin) or role:member\"\n"
        ));
    }

    #[test]
    fn creator_and_member_does_not_grant() {
        assert!(!member_may_create(
            "\"creator\": \"role:creator and role:member\"\n"
        ));
        assert_eq!(
            verdict("\"creator\": \"role:creator and role:member\"\n"),
            Verdict::Denied
        );
    }

    #[test]
    fn not_member_does_not_grant() {
        assert!(!member_may_create("\"creator\": \"not role:member\"\n"));
        // ...but `not` of a role the user lacks passes.
        assert!(member_may_create(
            "\"creator\": \"role:member and not role:admin\"\n"
        ));
    }

    #[test]
    fn json_policy_file_grants() {
        let text = "{\n  \"observer\": \"role:observer\",\n  \"creator\": \"role:member\"\n}\n";
        let f = file(text);
        assert_eq!(
            f.rules
                .iter()
                .map(|r| (r.name.as_str(), r.line))
                .collect::<Vec<_>>(),
            vec![("observer", 2), ("creator", 3)]
        );
        assert!(member_may_create(text));
        // json.loads is tried first: tabs (not YAML-legal) are fine in a JSON file.
        assert!(member_may_create("{\t\"creator\":\t\"role:member\"}"));
    }

    #[test]
    fn policy_d_50_scs_beats_10_a_and_policy_yaml() {
        // Load order: policy_file, then policy.d files sorted (the caller sorts).
        let files = [
            file("\"creator\": \"role:creator\"\n\"observer\": \"role:observer\"\n"),
            file("\"creator\": \"role:creator\"\n"),
            file("# SCS\n\"creator\": \"role:member\"\n"),
        ];
        let m = merge(&files);
        assert_eq!(m.get("creator"), Some(&("role:member".to_string(), 2, 2)));
        assert_eq!(
            m.get("observer"),
            Some(&("role:observer".to_string(), 0, 2))
        );
        assert!(grants_role(&effective(&files), "creator", "member"));
        // A later file can take it away again.
        let files = [
            file("creator: role:member\n"),
            file("creator: role:creator\n"),
        ];
        assert!(!grants_role(&effective(&files), "creator", "member"));
    }

    #[test]
    fn creator_rule_indirection_grants() {
        let text = "creator: \"rule:member_role\"\nmember_role: \"role:member\"\n";
        assert!(member_may_create(text));
        // Through two hops and an `or`.
        assert!(member_may_create(
            "creator: rule:a or rule:b\na: role:x\nb: rule:c\nc: role:member\n"
        ));
        // A reference to a missing rule fails closed...
        assert!(!member_may_create("creator: rule:nope\n"));
        // ...unless the `default` rule exists (Rules.__missing__).
        assert!(member_may_create(
            "creator: rule:nope\ndefault: role:member\n"
        ));
    }

    #[test]
    fn rule_reference_cycle_is_bounded_error() {
        let text = "creator: \"rule:a\"\na: \"rule:b\"\nb: \"rule:creator\"\n";
        assert!(!member_may_create(text));
        assert_eq!(verdict(text), Verdict::Error); // oslo.policy: enforce raises
        assert_eq!(verdict("creator: rule:creator\n"), Verdict::Error);
        // Short-circuit: the granting branch comes first, the cycle is never reached.
        assert_eq!(
            verdict("creator: role:member or rule:creator\n"),
            Verdict::Granted
        );
        // Long acyclic chains beyond the evaluation bound count as errors, without overflow.
        let mut m = BTreeMap::new();
        for i in 0..5000 {
            m.insert(format!("r{i}"), format!("rule:r{}", i + 1));
        }
        m.insert("r5000".into(), "role:member".into());
        assert_eq!(role_verdict(&m, "r0", &["member"], None), Verdict::Error);
        assert_eq!(
            role_verdict(&m, "r4990", &["member"], None),
            Verdict::Granted
        );
        // Exponential fan-out is memoised.
        let mut m = BTreeMap::new();
        for i in 0..60 {
            m.insert(format!("f{i}"), format!("rule:f{0} and rule:f{0}", i + 1));
        }
        m.insert("f60".into(), "role:member".into());
        assert_eq!(role_verdict(&m, "f0", &["member"], None), Verdict::Granted);
    }

    #[test]
    fn yaml_list_top_level_is_error() {
        let e = parse("- \"creator\"\n- \"role:member\"\n").err();
        assert!(
            e.as_ref().is_some_and(|e| e.message.contains("list")),
            "{e:?}"
        );
        assert!(parse("\"creator\"\n").is_err()); // a string
        assert!(parse("5\n").is_err());
        // `parsed or {}`: falsy top levels are just empty.
        for empty in [
            "", "# c\n", "---\n", "[]\n", "{}\n", "0\n", "false\n", "~\n", "null",
        ] {
            assert_eq!(file(empty).rules, vec![], "{empty:?}");
        }
    }

    #[test]
    fn duplicate_yaml_key_last_wins() {
        let f = file("creator: role:member\nother: role:x\ncreator: role:creator\n");
        // dict semantics: first key keeps its place, last value (and its line) wins
        assert_eq!(
            f.rules
                .iter()
                .map(|r| (r.name.as_str(), r.rule.as_str(), r.line))
                .collect::<Vec<_>>(),
            vec![("creator", "role:creator", 3), ("other", "role:x", 2)]
        );
        assert!(!member_may_create(
            "creator: role:member\ncreator: role:creator\n"
        ));
        assert!(member_may_create(
            "creator: role:creator\ncreator: role:member\n"
        ));
        assert!(member_may_create(
            "{\"creator\": \"role:creator\", \"creator\": \"role:member\"}"
        ));
    }

    #[test]
    fn garbage_binary_input_is_error_without_panic() {
        let e = parse_bytes(b"creator: ok\n\xff\xfe\x00\x01binary\x80\x81\n").err();
        assert_eq!(e.map(|e| e.line), Some(Some(2)));
        let e = parse("creator: role:member\u{0}\u{1}\u{2}\n").err();
        assert!(e.is_some_and(|e| e.message.contains("#x0000")));
        // Pseudo-random bytes and YAML-ish fragments: any result, never a panic.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let frags = [
            "creator",
            "role:member",
            ":",
            ": ",
            " ",
            "\n",
            "\n  ",
            "- ",
            "\"",
            "'",
            "#",
            "\t",
            "[",
            "]",
            "{",
            "}",
            ", ",
            "&a ",
            "*a",
            "!!str ",
            "|\n  ",
            ">-\n  ",
            "? ",
            "---\n",
            "yes",
            "0",
            "~",
            "%",
            "<<: ",
            "\\",
            "x",
            "(",
            ")",
            " or ",
            " and ",
            "not ",
            "\u{e9}",
            "\r",
        ];
        for _ in 0..3000 {
            let n = (next() % 16) as usize;
            let s: String = (0..n)
                .map(|_| frags[(next() % frags.len() as u64) as usize])
                .collect();
            let _ = parse(&s);
            let _ = parse_rule(&s);
            let bytes: Vec<u8> = (0..(next() % 64)).map(|_| next() as u8).collect();
            let _ = parse_bytes(&bytes);
        }
    }

    #[test]
    fn ten_megabyte_file_parses_quickly() {
        let mut yaml = String::new();
        let mut json = String::from("{\n");
        let mut i = 0;
        while yaml.len() < 10 * 1024 * 1024 {
            yaml.push_str(&format!(
                "\"rule_{i:06}\": \"role:r{i} or (role:s and not role:t)\"\n"
            ));
            json.push_str(&format!(
                "\"rule_{i:06}\": \"role:r{i} or (role:s and not role:t)\",\n"
            ));
            i += 1;
        }
        yaml.push_str("\"creator\": \"role:creator or role:member\"\n");
        json.push_str("\"creator\": \"role:creator or role:member\"\n}\n");
        for text in [&yaml, &json] {
            let t = std::time::Instant::now();
            let f = file(text);
            assert_eq!(f.rules.len(), i + 1);
            assert!(grants_role(&texts(&f), "creator", "member"));
            // Generous (debug build, shared 2-core machine); linear code takes a few seconds.
            assert!(t.elapsed().as_secs() < 60, "took {:?}", t.elapsed());
        }
        // Nested block collections and block scalars (marks that step back, header lookups).
        let t = std::time::Instant::now();
        let mut nested = String::from("creator: role:member\nx:\n");
        while nested.len() < 10 * 1024 * 1024 {
            nested.push_str("- a: b\n  c: [d, {e: f}]\n  g: |\n    h\n");
        }
        assert_eq!(file(&nested).rules.len(), 2);
        assert!(t.elapsed().as_secs() < 60, "took {:?}", t.elapsed());
        // One 10 MB rule, and 10 MB of garbage: linear, no deep recursion.
        let t = std::time::Instant::now();
        let long = "role:a or ".repeat(1 << 20) + "role:member";
        assert!(matches!(parse_rule(&long), Check::Or(v) if v.len() == (1 << 20) + 1));
        assert_eq!(parse_rule(&"x ".repeat(5 << 20)), Check::Never);
        assert_eq!(parse_rule(&"(".repeat(10 << 20)), Check::Never);
        assert_eq!(
            parse_rule(&format!(
                "{}role:a{}",
                "(".repeat(5 << 20),
                ")".repeat(5 << 20)
            )),
            Check::Role("a".into())
        );
        assert_eq!(try_parse_rule(&"not ".repeat(2 << 20)), Ok(Check::Never));
        assert!(t.elapsed().as_secs() < 60, "took {:?}", t.elapsed());
    }

    // ----- what oslo.policy does with odd values (confirmed with the real library) -----

    #[test]
    fn falsy_non_string_value_means_always_allow() {
        for text in [
            "creator:\n",
            "creator: ~\n",
            "creator: false\n",
            "creator: 0\n",
            "creator: []\n",
            "creator: {}\n",
            "{\"creator\": null}",
        ] {
            let f = file(text);
            assert_eq!(f.rules[0].rule, "", "{text:?}");
            assert!(f.rules[0]
                .note
                .as_deref()
                .is_some_and(|n| n.contains("always-allow")));
            assert!(member_may_create(text), "{text:?}");
        }
    }

    #[test]
    fn truthy_non_string_value_fails_the_whole_file() {
        for text in [
            "creator: 5\n",
            "creator: yes\n",
            "creator: on\n",
            "creator: 1:20\n",
            "creator: 2001-01-01\n",
            "creator: 1.5\n",
            "{\"creator\": 1}",
            "{\"creator\": NaN}",
            "a: 5\ncreator: role:member\n",
        ] {
            let e = parse(text).err();
            assert!(
                e.as_ref().is_some_and(|e| e.message.contains("TypeError")),
                "{text:?}: {e:?}"
            );
        }
        // Overridden duplicates are never parsed as rules: no error.
        assert!(member_may_create("creator: 5\ncreator: role:member\n"));
        // YAML 1.1 strings that look typed in 1.2 only stay strings.
        assert_eq!(file("creator: 0o17\n").rules[0].rule, "0o17");
        assert_eq!(file("creator: 1e5\n").rules[0].rule, "1e5");
    }

    #[test]
    fn legacy_list_syntax_is_a_rule() {
        let f = file("creator: [[\"role:member\"]]\n");
        assert_eq!(f.rules[0].rule, "role:member");
        assert!(f.rules[0].note.is_some());
        assert!(member_may_create("creator: [[\"role:member\"]]\n"));
        assert!(member_may_create(
            "creator: [\"role:creator\", \"role:member\"]\n"
        ));
        assert!(!member_may_create(
            "creator: [[\"role:creator\", \"role:member\"]]\n"
        ));
        assert_eq!(
            file("creator: [[\"role:a\", \"role:b\"], \"role:c\"]\n").rules[0].rule,
            "((role:a and role:b) or role:c)"
        );
        assert_eq!(file("creator: [[]]\n").rules[0].rule, "!");
        assert!(parse("creator: [5]\n").is_err());
        assert_eq!(
            file("creator: [[5], role:member]\n").rules[0].rule,
            "(! or role:member)"
        );
        assert_eq!(
            file("creator: [!!binary aGk=]\n").rules[0].rule,
            "(! and !)"
        );
        // A check the text language cannot spell is replaced by `!` and flagged.
        let f = file("creator: [[\"role:a b\"]]\n");
        assert_eq!(f.rules[0].rule, "!");
        assert!(f.rules[0]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("replaced")));
    }

    #[test]
    fn non_string_keys_are_left_out() {
        let f = file("5: role:a\n~: role:b\ntrue: role:c\ncreator: role:member\n");
        assert_eq!(
            f.rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            vec!["creator"]
        );
        assert!(parse("? [a]\n: b\n").is_err()); // unhashable key
        assert!(parse("yes: yes\ncreator: role:member\n").is_err()); // every value is parsed
        assert!(parse("2001-13-01: x\n").is_err()); // invalid date
    }

    #[test]
    fn yaml_syntax_pyyaml_refuses_is_an_error() {
        for text in [
            "creator: role:member\t\n",          // trailing tab
            "creator:\trole:member\n",           // tab separator
            "creator: role:member\n---\na: b\n", // two documents
            ": role:member\n",                   // empty key
            "a: &x role:a\nb: &x role:b\n",      // duplicate anchor
            "%YAML 2.0\n---\na: b\n",
            "...\n",
            "creator: !foo x\n",
            "creator: =\n",
            "creator: !!python/name:os.system\n",
            "{\"creator\n\": \"role:member\"",
        ] {
            assert!(parse(text).is_err(), "{text:?}");
        }
        // Tabs inside quotes, block scalars and comments are fine.
        assert!(member_may_create(
            "creator: \"role:member\"  # a\tb\nx: |\n  a\tb\n"
        ));
    }

    #[test]
    fn yaml_quirks_pyyaml_accepts() {
        // A rule wrapped inside quotes with a continuation line at column 0.
        assert_eq!(
            file("\"creator\": \"role:creator or\nrole:member\"\n").rules[0].rule,
            "role:creator or role:member"
        );
        assert!(member_may_create(
            "creator: \"role:creator or\nrole:member\"\n"
        ));
        // Merge keys, anchors and aliases.
        assert!(member_may_create(
            "base: &b {creator: role:member}\n<<: *b\n"
        ));
        assert!(member_may_create("x: &r role:member\ncreator: *r\n"));
        // CRLF, BOM, NEL line breaks.
        let f = file("a: role:x\r\ncreator: role:member\r\n");
        assert_eq!((f.rules[1].name.as_str(), f.rules[1].line), ("creator", 2));
        assert!(member_may_create("\u{feff}creator: role:member\n"));
        assert!(member_may_create("a: b\u{85}creator: role:member\n"));
        // Empty block scalar is "" (always allow), as in PyYAML.
        assert_eq!(file("creator: |\n").rules[0].rule, "");
        assert_eq!(
            file("creator: >-\n  role:creator\n  or role:member\n").rules[0].rule,
            "role:creator or role:member"
        );
    }

    #[test]
    fn implicit_yaml11_types() {
        let cases = [
            ("yes", "bool"),
            ("Off", "bool"),
            ("y", "str"),
            ("~", "null"),
            ("", "null"),
            ("nULL", "str"),
            ("0", "int"),
            ("0o17", "str"),
            ("017", "int"),
            ("08", "str"),
            ("0x1F", "int"),
            ("0b101", "int"),
            ("1_000", "int"),
            ("1:20", "int"),
            ("1:60", "str"),
            ("0.0", "float"),
            (".5", "float"),
            ("1e5", "str"),
            ("1.0e+5", "float"),
            ("1.0e5", "str"),
            ("-.inf", "float"),
            (".NaN", "float"),
            ("1:30.5", "float"),
            ("2001-01-01", "timestamp"),
            ("2001-1-1", "str"),
            ("2001-12-14t21:59:43.10-05:00", "timestamp"),
            ("2001-12-14 21:59:43.10 Z", "timestamp"),
            ("=", "value"),
            ("<<", "merge"),
            ("role:member", "str"),
        ];
        for (v, want) in cases {
            assert_eq!(
                implicit_tag(v),
                format!("tag:yaml.org,2002:{want}"),
                "{v:?}"
            );
        }
    }

    // ----- the rule language -----

    #[test]
    fn parse_rule_matches_oslo_str_forms() {
        // (rule, str(_parser.parse_rule(rule))) printed by confirm.py
        let cases = [
            (
                "role:creator or role:member",
                "(role:creator or role:member)",
            ),
            (
                "role:a or role:b and role:c",
                "(role:a or (role:b and role:c))",
            ),
            (
                "(role:a) and role:b and role:c or role:d",
                "((role:a and role:b and role:c) or role:d)",
            ),
            ("not role:a and role:b", "(not role:a and role:b)"),
            (
                "role:a and not (role:b or role:c)",
                "(role:a and not (role:b or role:c))",
            ),
            ("", "@"),
            ("   ", "!"),
            ("@", "@"),
            ("!", "!"),
            ("and", "and"),
            ("'x'", "x"),
            ("role:a role:b", "!"),
            ("role:a or", "!"),
            (
                "True:%(enforce_new_defaults)s and role:member",
                "(True:%(enforce_new_defaults)s and role:member)",
            ),
            ("NOT role:a", "not role:a"),
            ("role:a AND role:b", "(role:a and role:b)"),
            ("Or", "Or"),
            ("not not @", "not not @"),
            ("('x')", "!"),
            ("a:b)", "!"),
        ];
        for (r, want) in cases {
            assert_eq!(parse_rule(r).to_string(), want, "{r:?}");
        }
        assert_eq!(
            parse_rule("role:a or role:b and role:c"),
            Check::Or(vec![
                Check::Role("a".into()),
                Check::And(vec![Check::Role("b".into()), Check::Role("c".into())]),
            ])
        );
        assert_eq!(parse_rule("rule:x"), Check::Rule("x".into()));
        assert_eq!(
            parse_rule("Role:member"),
            Check::Generic("Role".into(), "member".into())
        );
        assert_eq!(parse_rule("and"), Check::Invalid("and".into()));
        assert_eq!(
            parse_rule("role:a\u{1c}or\u{3000}role:b").to_string(),
            "(role:a or role:b)"
        );
    }

    #[test]
    fn roles_compare_case_insensitively_kinds_do_not() {
        assert!(member_may_create("creator: role:MEMBER\n"));
        assert!(grants_role(
            &effective(&[file("creator: role:member\n")]),
            "creator",
            "Member"
        ));
        assert!(!member_may_create("creator: Role:member\n"));
        assert!(member_may_create("creator: role:creator OR role:member\n"));
    }

    #[test]
    fn verdicts_for_target_dependent_and_broken_rules() {
        assert_eq!(
            verdict("creator: \"True:%(enforce_new_defaults)s and role:member\"\n"),
            Verdict::Depends
        );
        assert_eq!(
            verdict("creator: \"project_id:%(project_id)s or role:member\"\n"),
            Verdict::Granted
        );
        assert_eq!(
            verdict("creator: \"project_id:%(project_id)s and role:member\"\n"),
            Verdict::Depends
        );
        assert_eq!(verdict("creator: role:mem%ber\n"), Verdict::Error); // ValueError
        assert_eq!(
            verdict("creator: \"role:%(x)s or role:member\"\n"),
            Verdict::Granted
        );
        assert_eq!(
            verdict("creator: \"role:%(x)d or role:member\"\n"),
            Verdict::Depends
        );
        assert_eq!(verdict("creator: \"and\"\n"), Verdict::Error);
        assert_eq!(verdict("creator: \"@\"\n"), Verdict::Granted);
        assert_eq!(verdict("creator: \"\"\n"), Verdict::Granted);
        assert_eq!(verdict("creator: \"   \"\n"), Verdict::Denied);
        assert_eq!(verdict("creator: \"role:member or\"\n"), Verdict::Denied); // malformed: `!`
        assert_eq!(verdict("other: role:member\n"), Verdict::Denied); // no creator, no default
        let m: BTreeMap<String, String> = [("creator".to_string(), "role:reader".to_string())]
            .into_iter()
            .collect();
        assert_eq!(
            role_verdict(&m, "creator", &["member", "reader"], None),
            Verdict::Granted
        );
    }

    #[test]
    fn too_deep_rules_fail_like_python_recursion() {
        assert_eq!(
            try_parse_rule(&format!("{}role:a", "not ".repeat(2000))),
            Err(RuleError::TooDeep)
        );
        assert!(try_parse_rule(&format!("{}role:a", "not ".repeat(100))).is_ok());
        let deep = format!("{}role:b{}", "role:a and (".repeat(1000), ")".repeat(1000));
        assert_eq!(try_parse_rule(&deep), Err(RuleError::TooDeep));
        assert!(parse(&format!(
            "creator: \"{}role:member\"\n",
            "not ".repeat(2000)
        ))
        .is_err());
        // Parseable but deeper than enforcement can go: Error, no stack overflow.
        let m: BTreeMap<String, String> = [(
            "creator".to_string(),
            format!(
                "{}role:member{}",
                "(role:member and ".repeat(300),
                ")".repeat(300)
            ),
        )]
        .into_iter()
        .collect();
        assert_eq!(
            role_verdict(&m, "creator", &["member"], None),
            Verdict::Error
        );
    }
}
