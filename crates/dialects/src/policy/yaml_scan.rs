//! Checks on yaml-rust2's token stream for what PyYAML refuses or reads differently, and the
//! text repairs that let yaml-rust2 read what PyYAML reads.

use std::collections::HashSet;

use yaml_rust2::scanner::{Scanner, TScalarStyle, TokenType};

use super::yaml::{yaml_err, Repair};
use super::PolicyError;

/// Maps yaml-rust2's char indices to byte offsets, walking from the last position.
pub(super) struct CharCursor<'a> {
    pub(super) text: &'a str,
    pub(super) ci: usize,
    pub(super) bi: usize,
}

impl CharCursor<'_> {
    pub(super) fn byte_at(&mut self, ci: usize) -> usize {
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
pub(super) fn find_block_header(text: &str, at: usize) -> (usize, usize) {
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
pub(super) fn block_chomping(text: &str, at: usize) -> char {
    text.get(at + 1..)
        .unwrap_or("")
        .chars()
        .take_while(|c| !c.is_whitespace())
        .find(|&c| c == '+' || c == '-')
        .unwrap_or(' ')
}

/// PyYAML's block scalar header: `|` or `>`, at most one chomping (`+`/`-`) and one indentation
/// (1-9) indicator, then a space (and maybe a comment) or the line break.
pub(super) fn check_block_header(text: &str, hpos: usize) -> Result<(), String> {
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

/// Checks PyYAML makes that yaml-rust2 (YAML 1.2) does not, on yaml-rust2's token stream:
/// tabs outside quoted/block scalars and comments ("found character '\t' that cannot start any
/// token"), duplicate anchors, anchor names outside `[A-Za-z0-9_-]`, `%YAML` versions other than
/// 1.x, a `...` before any document, a `:` value without a key (`: x`, `{: x}`: PyYAML's parser
/// has no empty-key rule), plain scalars starting with an indicator PyYAML refuses, `?` inside a
/// flow-context plain scalar, a tag directly followed by a flow indicator, and implicit keys
/// spanning lines.
pub(super) fn prescan_yaml(text: &str, repair: &mut Option<Repair>) -> Result<(), PolicyError> {
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
pub(super) fn reindent_quoted(text: &str, char_idx: usize) -> Option<String> {
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
