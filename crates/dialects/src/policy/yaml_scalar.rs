//! PyYAML's implicit scalar typing (YAML 1.1 resolver) and SafeConstructor's scalar
//! constructors: enough to know each value's Python type and truthiness.

use super::load::Val;
use crate::pytext::is_py_space;

/// Scalar constructors of PyYAML's SafeConstructor.
pub(super) fn construct_scalar(tag: &str, short: &str, value: &str) -> Result<Val, String> {
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
pub(super) fn implicit_tag(v: &str) -> &'static str {
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
