//! Evaluation: does a rule let a user with exactly these roles through?

use std::collections::{BTreeMap, HashMap, HashSet};

use super::rule::{try_parse_rule, Check};
use super::DEFAULT_RULE_NAME;

/// Evaluation depth (AST nesting plus `rule:` hops) beyond which oslo.policy's enforce raises.
/// Measured: enforce fails from ~250 nested `(... and @)` in a shallow stack; Barbican's is deeper.
const EVAL_MAX_DEPTH: usize = 200;
/// Upper bound on evaluation steps for one query (memoised, so only hostile inputs get here).
const EVAL_MAX_STEPS: usize = 200_000;

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
