//! HTTP handlers of the pages. Every page needs a viewer token (Bearer, or
//! Basic with the token as password for browsers); HTML answers carry the
//! strict CSP (no scripts, no external anything).
use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::super::server::{error, require, store_failed, App};
use super::super::store::{now_ms, FindingQuery, Role};
use super::{BadParam, ListReq, PageReq, HISTORY, MAX_CSV_ROWS, MAX_PER_PAGE};

/// How to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The template.
    Html,
    /// The page value as JSON.
    Json,
    /// The list as CSV.
    Csv,
}

/// JSON when the path ends in `.json` or the client accepts JSON and not HTML.
fn negotiate(headers: &HeaderMap) -> Format {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.contains("application/json") && !accept.contains("text/html") {
        Format::Json
    } else {
        Format::Html
    }
}

/// `name` without a `.json` suffix, and the format it asks for.
fn split_suffix(name: &str, headers: &HeaderMap) -> (String, Format) {
    match name.strip_suffix(".json") {
        Some(n) => (n.to_string(), Format::Json),
        None => (name.to_string(), negotiate(headers)),
    }
}

fn bad(e: BadParam) -> Response {
    error(StatusCode::BAD_REQUEST, e.0)
}

/// The headers every HTML page carries.
pub fn html_response(html: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // No external assets, no scripts: say so to the browser too.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

fn answer<S: serde::Serialize>(
    format: Format,
    template: &str,
    page: &S,
    csv: impl FnOnce(&S) -> String,
    csv_name: &str,
) -> Response {
    match format {
        Format::Html => match super::render(template, page) {
            Ok(h) => html_response(h),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("template: {e}")),
        },
        Format::Json => match super::to_json(page) {
            Ok(b) => (
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                b,
            )
                .into_response(),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        },
        Format::Csv => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{csv_name}\""),
                ),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            csv(page),
        )
            .into_response(),
    }
}

/// A CSV export is the whole list unless `per_page` says otherwise.
fn csv_defaults(q: &HashMap<String, String>, f: Format) -> HashMap<String, String> {
    let mut q = q.clone();
    if f == Format::Csv {
        q.entry("per_page".into())
            .or_insert_with(|| MAX_CSV_ROWS.to_string());
    }
    q
}

fn max_rows(f: Format) -> u32 {
    if f == Format::Csv {
        MAX_CSV_ROWS
    } else {
        MAX_PER_PAGE
    }
}

async fn fleet(app: &App, headers: &HeaderMap, q: &HashMap<String, String>, f: Format) -> Response {
    if let Err(r) = require(app, headers, Role::Viewer, true).await {
        return r;
    }
    let q = csv_defaults(q, f);
    let now = now_ms();
    let stale = app.settings.stale_after;
    let (fq, req, filters) = match super::fleet_query(&q, now, stale, max_rows(f)) {
        Ok(x) => x,
        Err(e) => return bad(e),
    };
    match app.store.fleet(&fq).await {
        Ok(sum) => {
            let p = super::fleet_page(&sum, filters, req, now, stale);
            answer(f, "fleet.html", &p, super::fleet_csv, "fleet.csv")
        }
        Err(e) => store_failed(&e),
    }
}

/// `GET /`: the fleet page.
pub async fn fleet_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let f = negotiate(&headers);
    fleet(&app, &headers, &q, f).await
}

/// `GET /fleet.json`.
pub async fn fleet_json(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    fleet(&app, &headers, &q, Format::Json).await
}

/// `GET /fleet.csv`: the node list (one page; `per_page` up to 10,000).
pub async fn fleet_csv(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    fleet(&app, &headers, &q, Format::Csv).await
}

async fn findings(
    app: &App,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    f: Format,
) -> Response {
    if let Err(r) = require(app, headers, Role::Viewer, true).await {
        return r;
    }
    let (fq, req) = match super::findings_query(&csv_defaults(q, f), max_rows(f)) {
        Ok(x) => x,
        Err(e) => return bad(e),
    };
    match app.store.findings_page(&fq, &req.at).await {
        Ok((rows, total)) => {
            let p = super::findings_page(&fq, req.page, &rows, total);
            answer(f, "findings.html", &p, super::findings_csv, "findings.csv")
        }
        Err(e) => store_failed(&e),
    }
}

/// `GET /findings`: findings of the latest reports, filtered and paginated.
pub async fn findings_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let f = negotiate(&headers);
    findings(&app, &headers, &q, f).await
}

/// `GET /findings.json`.
pub async fn findings_json(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    findings(&app, &headers, &q, Format::Json).await
}

/// `GET /findings.csv`.
pub async fn findings_csv(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    findings(&app, &headers, &q, Format::Csv).await
}

fn only_paging(q: &HashMap<String, String>) -> Result<PageReq, BadParam> {
    super::only(q, &["page", "per_page"])?;
    PageReq::parse(q, MAX_PER_PAGE)
}

/// `GET /checks/{id}` (`.json`): the check and the nodes where it fails.
pub async fn check_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = require(&app, &headers, Role::Viewer, true).await {
        return r;
    }
    let (id, f) = split_suffix(&id, &headers);
    let req = match super::only(&q, &["page", "per_page", "after", "before"])
        .and_then(|()| ListReq::parse(&q, MAX_PER_PAGE))
    {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    if super::catalog().and_then(|c| c.get(&id)).is_none() {
        return error(StatusCode::NOT_FOUND, "no such check in the catalog");
    }
    let fq = FindingQuery {
        check: Some(id.clone()),
        status: Some("fail".into()),
        limit: req.page.per_page,
        ..FindingQuery::default()
    };
    match app.store.findings_page(&fq, &req.at).await {
        Ok((rows, total)) => match super::check_page(&id, req.page, &rows, total) {
            Some(p) => answer(f, "check.html", &p, |_| String::new(), ""),
            None => error(StatusCode::NOT_FOUND, "no such check in the catalog"),
        },
        Err(e) => store_failed(&e),
    }
}

/// `GET /nodes/{node}` (`.json`): latest report, history strip, diff.
pub async fn node_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(node): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = require(&app, &headers, Role::Viewer, true).await {
        return r;
    }
    let (node, f) = split_suffix(&node, &headers);
    let req = match only_paging(&q) {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    let reports = match app.store.node_reports(&node, HISTORY).await {
        Ok(Some(r)) => r,
        Ok(None) => return error(StatusCode::NOT_FOUND, "no such node"),
        Err(e) => return store_failed(&e),
    };
    let mut bodies = Vec::new();
    for r in reports.iter().take(2) {
        match app.store.report_body(&node, &r.run_id).await {
            Ok(b) => bodies.push(b),
            Err(e) => return store_failed(&e),
        }
    }
    let body = |i: usize| bodies.get(i).and_then(|b| b.as_deref());
    let p = super::node_page(&node, &reports, body(0), body(1), req);
    answer(f, "node.html", &p, |_| String::new(), "")
}
