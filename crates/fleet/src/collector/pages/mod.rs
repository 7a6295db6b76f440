//! The dashboard pages: the fleet (compliance per check, nodes with stale
//! and never-reporting ones first), a check, a node, and the findings list.
//! Each page is one serializable value rendered three ways: HTML through a
//! template, JSON (`Accept: application/json` or a `.json` path), and CSV
//! for the two lists (fleet nodes, findings).
//!
//! Templates: minijinja. Chosen over askama and maud because its templates
//! are plain Jinja files (reviewable as HTML, not Rust macros), it needs no
//! proc-macro build step (the collector builds on 2 cores), its only
//! dependency is serde, which these values already derive, and it is
//! actively kept by the author of Jinja2. Autoescaping is on for every
//! `.html` template and goes through [`format_value`], which also makes
//! bidi and control characters visible: node data is data, never markup.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;
use std::time::Duration;

use minijinja::{AutoEscape, Environment, Value as JValue};
use serde::Serialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;

use super::store::{
    FindingQuery, FleetFinding, FleetQuery, FleetSummary, NodeRow, PageAt, ReportRow,
};
use super::views::{self, html_escape, NodeState};
use crate::report::{Severity, Status};
use barbican_audit_core::catalog::{explain, Catalog, LAYOUTS};
use barbican_audit_core::layout::Layout;

mod csv;
pub mod handlers;
#[cfg(test)]
mod tests;

/// Rows per page unless `per_page` says otherwise.
pub const PER_PAGE: u32 = 50;
/// Largest `per_page` of an HTML or JSON page.
pub const MAX_PER_PAGE: u32 = 500;
/// Largest `per_page` of a CSV export (one download of a big list).
pub const MAX_CSV_ROWS: u32 = 10_000;
/// Reports shown in a node's history strip.
pub const HISTORY: u32 = 30;

const TEMPLATES: [(&str, &str); 6] = [
    ("base.html", include_str!("templates/base.html")),
    ("pager.html", include_str!("templates/pager.html")),
    ("fleet.html", include_str!("templates/fleet.html")),
    ("findings.html", include_str!("templates/findings.html")),
    ("check.html", include_str!("templates/check.html")),
    ("node.html", include_str!("templates/node.html")),
];

/// Makes characters that change how text reads without being seen (bidi
/// overrides and isolates, zero-width marks, C0/C1 controls other than tab
/// and newline) visible as `<U+202E>`, so a hostile subject cannot reorder
/// or hide what an operator reads.
pub fn visible(s: &str) -> std::borrow::Cow<'_, str> {
    let hidden = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
    };
    if !s.chars().any(hidden) {
        return s.into();
    }
    s.chars()
        .map(|c| {
            if hidden(c) {
                format!("<U+{:04X}>", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// The output formatter: in HTML templates every value that is not marked
/// safe by the template itself is made [`visible`] and escaped by
/// [`html_escape`] (the escaper the collector always used: `/` stays as is).
fn format_value(
    out: &mut minijinja::Output,
    state: &minijinja::State,
    value: &JValue,
) -> Result<(), minijinja::Error> {
    if state.auto_escape() == AutoEscape::Html && !value.is_safe() && !value.is_none() {
        let text = match value.as_str() {
            Some(s) => s.to_string(),
            None => value.to_string(),
        };
        let escaped = html_escape(&visible(&text));
        return out
            .write_str(&escaped)
            .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string()));
    }
    minijinja::escape_formatter(out, state, value)
}

/// The template environment, built once.
fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // Every template is HTML: escape in all of them, whatever the name.
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.set_formatter(format_value);
        env.add_filter("urlpath", |s: String| url_encode(&s));
        for (name, src) in TEMPLATES {
            // The templates are compiled in; a broken one fails the tests.
            if let Err(e) = env.add_template(name, src) {
                #[allow(clippy::disallowed_macros)] // stderr is the collector's log
                {
                    eprintln!("barbican-audit collector: template {name}: {e}");
                }
            }
        }
        env
    })
}

/// Renders template `name` with `ctx`.
pub fn render<S: Serialize>(name: &str, ctx: &S) -> Result<String, minijinja::Error> {
    env().get_template(name)?.render(ctx)
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `path?k=v&...` of the non-empty pairs.
fn href(path: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let q: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| {
            v.filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}", url_encode(v)))
        })
        .collect();
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", q.join("&"))
    }
}

fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

fn age(ms: i64) -> String {
    let s = (ms / 1000).max(0);
    match s {
        0..=119 => format!("{s} s ago"),
        120..=7199 => format!("{} min ago", s / 60),
        7200..=172_799 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

/// A bad request parameter (answered 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadParam(pub String);

/// Page number and size of a list request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageReq {
    /// 1-based.
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
}

/// A findings list request: its page, and the cursor of a "next"
/// (`after`) or "previous" (`before`) link, `node:seq` of the row it
/// continues from. Without a cursor the page number counts rows off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListReq {
    /// Page number and size.
    pub page: PageReq,
    /// Where the store starts reading.
    pub at: PageAt,
}

impl ListReq {
    /// From `page`, `per_page`, `after` and `before`.
    pub fn parse(q: &HashMap<String, String>, max: u32) -> Result<ListReq, BadParam> {
        let page = PageReq::parse(q, max)?;
        let cursor = |k: &str| -> Result<Option<(String, i64)>, BadParam> {
            let Some(v) = param(q, k) else {
                return Ok(None);
            };
            v.rsplit_once(':')
                .and_then(|(n, s)| Some((n.to_string(), s.parse::<u32>().ok()?)))
                .filter(|(n, _)| !n.is_empty())
                .map(|(n, s)| Some((n, i64::from(s))))
                .ok_or_else(|| {
                    BadParam(format!(
                        "{k} must be NODE:NUMBER, as the page links give it"
                    ))
                })
        };
        let at = match (cursor("after")?, cursor("before")?) {
            (Some(_), Some(_)) => {
                return Err(BadParam("give after or before, not both".into()));
            }
            (Some((n, s)), None) => PageAt::After(n, s),
            (None, Some((n, s))) => PageAt::Before(n, s),
            (None, None) => PageAt::Offset(page.offset()),
        };
        Ok(ListReq { page, at })
    }
}

impl PageReq {
    /// From `page` and `per_page`; `max` caps `per_page`.
    pub fn parse(q: &HashMap<String, String>, max: u32) -> Result<PageReq, BadParam> {
        let num = |k: &str, default: u32, hi: u32| -> Result<u32, BadParam> {
            match q.get(k).map(String::as_str) {
                None | Some("") => Ok(default),
                Some(s) => s
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=hi).contains(n))
                    .ok_or_else(|| BadParam(format!("{k} must be a number from 1 to {hi}"))),
            }
        };
        Ok(PageReq {
            page: num("page", 1, 1_000_000)?,
            per_page: num("per_page", PER_PAGE.min(max), max)?,
        })
    }

    /// Rows to skip.
    pub fn offset(self) -> u32 {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

/// Where a list stands, with links to its neighbours.
#[derive(Debug, Clone, Serialize)]
pub struct Pager {
    page: u32,
    per_page: u32,
    pages: u32,
    total: u64,
    prev: Option<String>,
    next: Option<String>,
}

impl Pager {
    /// `base` is the page's own link without `page`/`per_page`.
    fn new(req: PageReq, total: u64, path: &str, pairs: &[(&str, Option<&str>)]) -> Pager {
        let pages = u32::try_from(total.div_ceil(u64::from(req.per_page)))
            .unwrap_or(u32::MAX)
            .max(1);
        let per = req.per_page.to_string();
        let link = |p: u32| {
            let p = p.to_string();
            let mut all = pairs.to_vec();
            all.push(("page", Some(p.as_str())));
            if req.per_page != PER_PAGE {
                all.push(("per_page", Some(per.as_str())));
            }
            href(path, &all)
        };
        Pager {
            page: req.page,
            per_page: req.per_page,
            pages,
            total,
            prev: (req.page > 1).then(|| link(req.page.min(pages + 1) - 1)),
            next: (req.page < pages).then(|| link(req.page + 1)),
        }
    }
}

impl Pager {
    /// A findings list's pager: as [`Pager::new`], and the neighbours'
    /// links carry the cursor of this page's last row (next) or first row
    /// (previous), so the store seeks instead of skipping rows.
    fn keyset(
        req: PageReq,
        total: u64,
        path: &str,
        pairs: &[(&str, Option<&str>)],
        rows: &[FleetFinding],
    ) -> Pager {
        let cursor = |f: &FleetFinding| format!("{}:{}", f.node, f.seq);
        let mut p = Pager::new(req, total, path, pairs);
        let with = |link: Option<String>, k: &str, f: Option<&FleetFinding>| match (link, f) {
            (Some(l), Some(f)) => {
                let sep = if l.contains('?') { '&' } else { '?' };
                Some(format!("{l}{sep}{k}={}", url_encode(&cursor(f))))
            }
            (l, _) => l,
        };
        p.next = with(p.next.take(), "after", rows.last());
        // Page 1 is the top of the list: no cursor needed.
        if req.page > 2 {
            p.prev = with(p.prev.take(), "before", rows.first());
        }
        p
    }
}

/// The catalog compiled in (check titles, severities, explanations, fixes).
pub fn catalog() -> Option<&'static Catalog> {
    static CATALOG: OnceLock<Option<Catalog>> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::embedded().ok()).as_ref()
}

fn only(q: &HashMap<String, String>, allowed: &[&str]) -> Result<(), BadParam> {
    match q.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(BadParam(format!(
            "unknown parameter {k:?} ({})",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

fn param<'a>(q: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    q.get(k).map(String::as_str).filter(|v| !v.is_empty())
}

fn check_status(s: Option<&str>, allowed: &[&str]) -> Result<(), BadParam> {
    match s {
        Some(s) if !allowed.contains(&s) => Err(BadParam(format!(
            "status must be one of {}",
            allowed.join(", ")
        ))),
        _ => Ok(()),
    }
}

fn check_severity(s: Option<&str>) -> Result<(), BadParam> {
    match s {
        Some(s) if Severity::parse(s).is_none() => Err(BadParam(
            "severity must be info, low, medium, high or critical".into(),
        )),
        _ => Ok(()),
    }
}

/// Severity names, most severe first.
const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

fn severity_rank(s: &str) -> usize {
    SEVERITIES
        .iter()
        .position(|x| *x == s)
        .unwrap_or(SEVERITIES.len())
}

/// Filters of the fleet page.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FleetFilters {
    check: Option<String>,
    severity: Option<String>,
    status: Option<String>,
    state: Option<String>,
    layout: Option<String>,
    target: Option<String>,
}

/// A count of nodes in one state, linking to the nodes in it.
#[derive(Debug, Serialize)]
struct StateCount {
    state: &'static str,
    count: usize,
    href: String,
}

/// One check's compliance across the fleet.
#[derive(Debug, Serialize)]
pub struct CheckRow {
    id: String,
    title: String,
    severity: String,
    /// Nodes whose latest report fails or errors on it.
    failing: usize,
    /// Nodes with a report (not revoked).
    total: usize,
    href: String,
    failing_href: String,
}

/// A node row of the fleet page.
#[derive(Debug, Serialize)]
pub struct NodeItem {
    name: String,
    href: String,
    state: &'static str,
    status: String,
    failing: Vec<String>,
    last_report: String,
    last_report_at: String,
    hostname: String,
    barbican_version: String,
}

/// The fleet page.
#[derive(Debug, Serialize)]
pub struct FleetPage {
    total_nodes: usize,
    reporting: usize,
    stale_after: String,
    states: Vec<StateCount>,
    filters: FleetFilters,
    severity_names: [&'static str; 5],
    layout_names: Vec<&'static str>,
    checks: Vec<CheckRow>,
    nodes: Vec<NodeItem>,
    pager: Pager,
    links: BTreeMap<&'static str, String>,
}

/// The layout filter: a layout name the reports use.
pub(crate) fn check_layout(s: Option<&str>) -> Result<(), BadParam> {
    match s {
        Some(l) if Layout::parse(l).is_none() => Err(BadParam(format!(
            "layout must be one of {}",
            Layout::ALL.map(Layout::as_str).join(", ")
        ))),
        _ => Ok(()),
    }
}

/// The store query, page request and filters of a fleet page request.
pub fn fleet_query(
    q: &HashMap<String, String>,
    now_ms: i64,
    stale_after: Duration,
    max_per_page: u32,
) -> Result<(FleetQuery, PageReq, FleetFilters), BadParam> {
    only(
        q,
        &[
            "check", "severity", "status", "state", "layout", "target", "page", "per_page",
        ],
    )?;
    let req = PageReq::parse(q, max_per_page)?;
    let f = FleetFilters {
        check: param(q, "check").map(str::to_string),
        severity: param(q, "severity").map(str::to_string),
        status: param(q, "status").map(str::to_string),
        state: param(q, "state").map(str::to_string),
        layout: param(q, "layout").map(str::to_string),
        target: param(q, "target").map(str::to_string),
    };
    check_severity(f.severity.as_deref())?;
    check_status(f.status.as_deref(), &["pass", "fail", "error"])?;
    check_layout(f.layout.as_deref())?;
    let state = match f.state.as_deref() {
        None => None,
        Some("never") => Some(0),
        Some("stale") => Some(1),
        Some("fresh") => Some(2),
        Some("revoked") => Some(3),
        Some(_) => {
            return Err(BadParam(
                "state must be fresh, stale, never or revoked".into(),
            ))
        }
    };
    let fq = FleetQuery {
        check: f.check.clone(),
        severity: f.severity.clone(),
        status: f.status.clone(),
        state,
        layout: f.layout.clone(),
        target: f.target.clone(),
        now_ms,
        stale_ms: i64::try_from(stale_after.as_millis()).unwrap_or(i64::MAX),
        limit: req.per_page,
        offset: req.offset(),
    };
    Ok((fq, req, f))
}

/// Builds the fleet page from the store's summary and the catalog.
pub fn fleet_page(
    sum: &FleetSummary,
    f: FleetFilters,
    req: PageReq,
    now_ms: i64,
    stale_after: Duration,
) -> FleetPage {
    let cat = catalog();
    let reporting = usize::try_from(sum.states[1] + sum.states[2]).unwrap_or(0);
    let mut ids: Vec<(String, String, String)> = cat
        .map(|c| {
            c.checks
                .iter()
                .map(|c| {
                    (
                        c.id.clone(),
                        c.title.clone(),
                        c.severity.as_str().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let known: HashSet<String> = ids.iter().map(|x| x.0.clone()).collect();
    for id in sum.failing.keys() {
        if !known.contains(id) {
            ids.push((id.clone(), String::new(), "unknown".into()));
        }
    }
    let scope = [
        ("layout", f.layout.as_deref()),
        ("target", f.target.as_deref()),
    ];
    let mut checks: Vec<CheckRow> = ids
        .into_iter()
        .filter(|(id, _, sev)| {
            f.check.as_ref().is_none_or(|c| c == id) && f.severity.as_ref().is_none_or(|s| s == sev)
        })
        .map(|(id, title, severity)| CheckRow {
            failing: sum
                .failing
                .get(&id)
                .and_then(|n| usize::try_from(*n).ok())
                .unwrap_or(0),
            total: reporting,
            href: format!("/checks/{}", url_encode(&id)),
            failing_href: format!("/checks/{}", url_encode(&id)),
            id,
            title,
            severity,
        })
        .collect();
    checks.sort_by(|a, b| {
        (
            severity_rank(&a.severity),
            std::cmp::Reverse(a.failing),
            &a.id,
        )
            .cmp(&(
                severity_rank(&b.severity),
                std::cmp::Reverse(b.failing),
                &b.id,
            ))
    });
    let own: Vec<(&str, Option<&str>)> = vec![
        ("check", f.check.as_deref()),
        ("severity", f.severity.as_deref()),
        ("status", f.status.as_deref()),
        ("state", f.state.as_deref()),
        ("layout", f.layout.as_deref()),
        ("target", f.target.as_deref()),
    ];
    let pager = Pager::new(req, u64::try_from(sum.listed).unwrap_or(0), "/", &own);
    let page = sum
        .nodes
        .iter()
        .map(|n| node_item(n, views::state(n, now_ms, stale_after), now_ms))
        .collect();
    let mut links = BTreeMap::new();
    links.insert("json", href("/fleet.json", &own));
    links.insert("csv", href("/fleet.csv", &own));
    let names = ["never", "stale", "fresh", "revoked"];
    FleetPage {
        total_nodes: usize::try_from(sum.states.iter().sum::<i64>()).unwrap_or(0),
        reporting,
        stale_after: humantime::format_duration(stale_after).to_string(),
        states: names
            .iter()
            .zip(sum.states)
            .filter(|(_, n)| *n > 0)
            .map(|(st, n)| {
                let mut pairs = vec![("state", Some(*st))];
                pairs.extend(scope);
                StateCount {
                    state: st,
                    count: usize::try_from(n).unwrap_or(0),
                    href: href("/", &pairs),
                }
            })
            .collect(),
        filters: f,
        severity_names: SEVERITIES,
        layout_names: Layout::ALL.map(Layout::as_str).to_vec(),
        checks,
        nodes: page,
        pager,
        links,
    }
}

fn node_item(n: &NodeRow, st: NodeState, now_ms: i64) -> NodeItem {
    let r = n.latest.as_ref();
    NodeItem {
        name: n.name.clone(),
        href: format!("/nodes/{}", url_encode(&n.name)),
        state: st.as_str(),
        status: r.map(|r| r.status.clone()).unwrap_or_default(),
        failing: r.map(|r| r.failing.clone()).unwrap_or_default(),
        last_report: r.map_or_else(
            || "never".to_string(),
            |r| age(now_ms - views::last_seen_ms(r)),
        ),
        last_report_at: r
            .map(|r| rfc3339(views::last_seen_ms(r)))
            .unwrap_or_default(),
        hostname: r.and_then(|r| r.hostname.clone()).unwrap_or_default(),
        barbican_version: r
            .and_then(|r| r.barbican_version.clone())
            .unwrap_or_default(),
    }
}

/// A finding in a list (findings page, check page).
#[derive(Debug, Serialize)]
pub struct FindingItem {
    node: String,
    node_href: String,
    run_id: String,
    started_at: String,
    check_id: String,
    check_href: String,
    severity: String,
    status: String,
    subject: String,
    title: String,
    message: String,
    target: String,
}

fn finding_item(f: &FleetFinding) -> FindingItem {
    FindingItem {
        node: f.node.clone(),
        node_href: format!("/nodes/{}", url_encode(&f.node)),
        run_id: f.run_id.clone(),
        started_at: rfc3339(f.started_at_ms),
        check_id: f.finding.check_id.clone(),
        check_href: format!("/checks/{}", url_encode(&f.finding.check_id)),
        severity: f.finding.severity.clone(),
        status: f.finding.status.clone(),
        subject: f.finding.subject.clone(),
        title: f.finding.title.clone(),
        message: f.finding.message.clone(),
        target: f.finding.target.clone().unwrap_or_default(),
    }
}

/// The findings list page.
#[derive(Debug, Serialize)]
pub struct FindingsPage {
    filters: BTreeMap<&'static str, Option<String>>,
    findings: Vec<FindingItem>,
    pager: Pager,
    links: BTreeMap<&'static str, String>,
}

/// The store query and page request of a findings list request.
pub fn findings_query(
    q: &HashMap<String, String>,
    max_per_page: u32,
) -> Result<(FindingQuery, ListReq), BadParam> {
    only(
        q,
        &[
            "check", "status", "severity", "node", "layout", "target", "page", "per_page", "after",
            "before",
        ],
    )?;
    let req = ListReq::parse(q, max_per_page)?;
    check_layout(param(q, "layout"))?;
    let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    check_status(param(q, "status"), &statuses)?;
    check_severity(param(q, "severity"))?;
    Ok((
        FindingQuery {
            check: param(q, "check").map(str::to_string),
            status: param(q, "status").map(str::to_string),
            severity: param(q, "severity").map(str::to_string),
            node: param(q, "node").map(str::to_string),
            layout: param(q, "layout").map(str::to_string),
            target: param(q, "target").map(str::to_string),
            limit: req.page.per_page,
        },
        req,
    ))
}

/// The findings page of one store page.
pub fn findings_page(
    fq: &FindingQuery,
    req: PageReq,
    rows: &[FleetFinding],
    total: i64,
) -> FindingsPage {
    let own = [
        ("check", fq.check.as_deref()),
        ("status", fq.status.as_deref()),
        ("severity", fq.severity.as_deref()),
        ("node", fq.node.as_deref()),
        ("layout", fq.layout.as_deref()),
        ("target", fq.target.as_deref()),
    ];
    let mut links = BTreeMap::new();
    links.insert("json", href("/findings.json", &own));
    links.insert("csv", href("/findings.csv", &own));
    FindingsPage {
        filters: own
            .iter()
            .map(|(k, v)| (*k, v.map(str::to_string)))
            .collect(),
        findings: rows.iter().map(finding_item).collect(),
        pager: Pager::keyset(
            req,
            u64::try_from(total).unwrap_or(0),
            "/findings",
            &own,
            rows,
        ),
        links,
    }
}

/// A fix per deployment layout.
#[derive(Debug, Serialize)]
struct LayoutFix {
    layout: &'static str,
    fix: String,
}

/// The page of one check.
#[derive(Debug, Serialize)]
pub struct CheckPage {
    id: String,
    title: String,
    severity: &'static str,
    references: Vec<String>,
    remediation: String,
    remediation_by_layout: Vec<LayoutFix>,
    explain: String,
    failing: Vec<FindingItem>,
    pager: Pager,
    links: BTreeMap<&'static str, String>,
}

/// The check page: its catalog entry and one page of its failing findings.
/// `None` when the catalog has no such check.
pub fn check_page(id: &str, req: PageReq, rows: &[FleetFinding], total: i64) -> Option<CheckPage> {
    let c = catalog()?.get(id)?;
    let mut links = BTreeMap::new();
    links.insert("json", format!("/checks/{}.json", url_encode(id)));
    Some(CheckPage {
        id: c.id.clone(),
        title: c.title.clone(),
        severity: c.severity.as_str(),
        references: c.references.clone(),
        remediation: c.remediation.trim().to_string(),
        remediation_by_layout: LAYOUTS
            .iter()
            .filter_map(|l| {
                c.remediation_by_layout.get(*l).map(|t| LayoutFix {
                    layout: l,
                    fix: t.trim().to_string(),
                })
            })
            .collect(),
        explain: explain::render(c),
        failing: rows.iter().map(finding_item).collect(),
        pager: Pager::keyset(
            req,
            u64::try_from(total).unwrap_or(0),
            &format!("/checks/{}", url_encode(id)),
            &[],
            rows,
        ),
        links,
    })
}

/// A report in a node's history strip.
#[derive(Debug, Serialize)]
struct HistoryItem {
    run_id: String,
    started_at: String,
    status: String,
    fail: i64,
    error: i64,
}

/// The latest report's metadata on the node page.
#[derive(Debug, Serialize)]
struct LatestItem {
    run_id: String,
    started_at: String,
    status: String,
    hostname: String,
    barbican_version: String,
    tool_version: String,
    pass: i64,
    fail: i64,
    error: i64,
    na: i64,
    waived: i64,
}

/// A finding of the node's latest report, with evidence and fix.
#[derive(Debug, Serialize, Clone)]
pub struct FindingDetail {
    check_id: String,
    check_href: String,
    severity: String,
    status: String,
    subject: String,
    title: String,
    message: String,
    /// The evidence object, pretty-printed.
    evidence: String,
    remediation: String,
}

/// One change between two consecutive reports.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct DiffItem {
    /// `new` (failing now, not before), `fixed` (failing before, not now)
    /// or `changed` (status or message differ).
    pub change: &'static str,
    check_id: String,
    check_href: String,
    subject: String,
    before: String,
    now: String,
}

/// The node page.
#[derive(Debug, Serialize)]
pub struct NodePage {
    node: String,
    latest: Option<LatestItem>,
    history: Vec<HistoryItem>,
    diff: Vec<DiffItem>,
    findings: Vec<FindingDetail>,
    pager: Pager,
    links: BTreeMap<&'static str, String>,
}

fn s(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// The findings of a stored report body (fail and error first).
pub fn body_findings(body: &str) -> Vec<FindingDetail> {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return Vec::new();
    };
    let mut out: Vec<FindingDetail> = v
        .get("findings")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|f| {
                    let id = s(f, "check_id");
                    FindingDetail {
                        check_href: format!("/checks/{}", url_encode(&id)),
                        check_id: id,
                        severity: s(f, "severity"),
                        status: s(f, "status"),
                        subject: s(f, "subject"),
                        title: s(f, "title"),
                        message: s(f, "message"),
                        evidence: f
                            .get("evidence")
                            .filter(|e| e.as_object().is_none_or(|o| !o.is_empty()))
                            .and_then(|e| serde_json::to_string_pretty(e).ok())
                            .unwrap_or_default(),
                        remediation: s(f, "remediation"),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let rank = |st: &str| match st {
        "fail" => 0,
        "error" => 1,
        "waived" => 2,
        "pass" => 3,
        _ => 4,
    };
    out.sort_by(|a, b| {
        (
            rank(&a.status),
            severity_rank(&a.severity),
            &a.check_id,
            &a.subject,
        )
            .cmp(&(
                rank(&b.status),
                severity_rank(&b.severity),
                &b.check_id,
                &b.subject,
            ))
    });
    out
}

/// New, fixed and changed findings from `before` to `now`, keyed by check and subject.
pub fn diff(before: &[FindingDetail], now: &[FindingDetail]) -> Vec<DiffItem> {
    let failing = |st: &str| st == "fail" || st == "error";
    let key = |f: &FindingDetail| (f.check_id.clone(), f.subject.clone());
    let old: BTreeMap<_, &FindingDetail> = before.iter().map(|f| (key(f), f)).collect();
    let new: BTreeMap<_, &FindingDetail> = now.iter().map(|f| (key(f), f)).collect();
    let show = |f: Option<&&FindingDetail>| {
        f.map_or_else(
            || "absent".to_string(),
            |f| format!("{}: {}", f.status, f.message),
        )
    };
    let mut out = Vec::new();
    let keys: std::collections::BTreeSet<_> = old.keys().chain(new.keys()).collect();
    for k in keys {
        let (a, b) = (old.get(k), new.get(k));
        let was = a.is_some_and(|f| failing(&f.status));
        let is = b.is_some_and(|f| failing(&f.status));
        let change = match (was, is) {
            (false, true) => "new",
            (true, false) => "fixed",
            _ => match (a, b) {
                (Some(a), Some(b)) if a.status != b.status || (is && a.message != b.message) => {
                    "changed"
                }
                _ => continue,
            },
        };
        out.push(DiffItem {
            change,
            check_id: k.0.clone(),
            check_href: format!("/checks/{}", url_encode(&k.0)),
            subject: k.1.clone(),
            before: show(a),
            now: show(b),
        });
    }
    let order = |c: &str| match c {
        "new" => 0,
        "changed" => 1,
        _ => 2,
    };
    out.sort_by_key(|d| order(d.change));
    out
}

/// The node page from its recent reports (newest first) and the bodies of
/// the two newest.
pub fn node_page(
    node: &str,
    reports: &[ReportRow],
    latest_body: Option<&str>,
    previous_body: Option<&str>,
    req: PageReq,
) -> NodePage {
    let findings = latest_body.map(body_findings).unwrap_or_default();
    let diff = match (latest_body, previous_body) {
        (Some(_), Some(p)) => diff(&body_findings(p), &findings),
        _ => Vec::new(),
    };
    let mut links = BTreeMap::new();
    links.insert("json", format!("/nodes/{}.json", url_encode(node)));
    NodePage {
        node: node.to_string(),
        latest: reports.first().map(|r| LatestItem {
            run_id: r.run_id.clone(),
            started_at: rfc3339(r.started_at_ms),
            status: r.status.clone(),
            hostname: r.hostname.clone().unwrap_or_default(),
            barbican_version: r.barbican_version.clone().unwrap_or_default(),
            tool_version: r.tool_version.clone(),
            pass: r.summary[0],
            fail: r.summary[1],
            error: r.summary[2],
            na: r.summary[3],
            waived: r.summary[4],
        }),
        history: reports
            .iter()
            .map(|r| HistoryItem {
                run_id: r.run_id.clone(),
                started_at: rfc3339(r.started_at_ms),
                status: r.status.clone(),
                fail: r.summary[1],
                error: r.summary[2],
            })
            .collect(),
        diff,
        pager: Pager::new(
            req,
            findings.len() as u64,
            &format!("/nodes/{}", url_encode(node)),
            &[],
        ),
        findings: findings
            .into_iter()
            .skip(req.offset() as usize)
            .take(req.per_page as usize)
            .collect(),
        links,
    }
}

/// CSV of the fleet page's nodes.
pub fn fleet_csv(p: &FleetPage) -> String {
    let mut out = csv::row(&[
        "node",
        "state",
        "status",
        "failing_checks",
        "last_report_at",
        "hostname",
        "barbican_version",
    ]);
    for n in &p.nodes {
        out.push_str(&csv::row(&[
            &n.name,
            n.state,
            &n.status,
            &n.failing.join(" "),
            &n.last_report_at,
            &n.hostname,
            &n.barbican_version,
        ]));
    }
    out
}

/// CSV of a findings page.
pub fn findings_csv(p: &FindingsPage) -> String {
    let mut out = csv::row(&[
        "node",
        "run_id",
        "started_at",
        "check_id",
        "severity",
        "status",
        "subject",
        "title",
        "message",
        "target",
    ]);
    for f in &p.findings {
        out.push_str(&csv::row(&[
            &f.node,
            &f.run_id,
            &f.started_at,
            &f.check_id,
            &f.severity,
            &f.status,
            &f.subject,
            &f.title,
            &f.message,
            &f.target,
        ]));
    }
    out
}

/// For the JSON shape of a page, unchanged by templates.
pub fn to_json<S: Serialize>(page: &S) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(page)
}
