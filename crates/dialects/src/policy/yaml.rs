//! PyYAML's `safe_load` (YAML 1.1), built on yaml-rust2's parser: events to a Python-like
//! document, with the composer's and SafeConstructor's rules. [`super::yaml_scan`] holds the
//! checks PyYAML makes that yaml-rust2 does not; [`super::yaml_scalar`] the scalar typing.

use std::borrow::Cow;
use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::TScalarStyle;

use super::load::{Doc, Val};
use super::yaml_scalar::{construct_scalar, implicit_tag};
use super::yaml_scan::{
    block_chomping, check_block_header, find_block_header, prescan_yaml, reindent_quoted,
    CharCursor,
};
use super::PolicyError;

/// PyYAML's composer recurses per nesting level; measured failure at 493 levels.
const YAML_MAX_DEPTH: usize = 450;

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

pub(super) fn yaml_err(line: usize, msg: impl Into<String>) -> PolicyError {
    PolicyError::new(Some(line), msg)
}

pub(super) fn parse_yaml(text: &str) -> Result<Doc, PolicyError> {
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
pub(super) enum Repair {
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

fn tag_string(t: Tag) -> String {
    format!("{}{}", t.handle, t.suffix)
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
