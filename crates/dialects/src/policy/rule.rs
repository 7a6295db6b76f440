//! The rule language: `_parser.parse_rule` into a [`Check`] shaped like oslo.policy's check
//! objects (`oslo_policy/_parser.py`, `_checks.py`).

use std::fmt;

use crate::pytext::is_py_space;

/// Rules nested deeper than this are treated as making oslo.policy fail (Python recursion limit:
/// `_parser` reduces `not not ... x` recursively and `check_rules` walks and/or trees recursively;
/// both give up near 1000 frames).
pub const RULE_MAX_DEPTH: usize = 900;
/// Parser stack bound: a successful parse within [`RULE_MAX_DEPTH`] never needs more.
const RULE_STACK_LIMIT: usize = 3 * RULE_MAX_DEPTH + 16;

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
/// `_parser._parse_check`: one `kind:match` token.
pub(super) fn parse_atom(s: &str) -> Check {
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
