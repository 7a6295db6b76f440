//! Python's `json.loads`, as far as oslo.policy can tell: values, duplicate keys (last wins),
//! key lines, and which failures fall back to YAML.

use std::collections::HashMap;

use super::load::{Doc, Val};
use super::PolicyError;

/// `json.loads` (C scanner) fails with RecursionError near 994 levels.
const JSON_MAX_DEPTH: usize = 900;

pub(super) enum JsonErr {
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

pub(super) fn parse_json(text: &str) -> Result<Doc, JsonErr> {
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
