//! The HTTP(S) side: an accept loop on hyper with header and body
//! timeouts (slow clients cannot hold the collector), an axum router for
//! the API of interface.md, and graceful shutdown on SIGTERM/SIGINT.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::json;

use super::config::Settings;
use super::ingest::{self, Rejection};
use super::store::{FindingQuery, IngestOutcome, Principal, Role, Store};
use super::views;

/// Everything a handler needs.
pub struct App {
    /// The database.
    pub store: Store,
    /// Resolved settings.
    pub settings: Settings,
    /// Ingest counters for `/metrics`.
    pub counters: Counters,
}

/// Results of `POST /api/v1/reports`, counted since start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestResult {
    /// 201.
    Created,
    /// 200 (a resend).
    Duplicate,
    /// 409.
    Conflict,
    /// 401/403.
    Unauthorized,
    /// 413 (as sent, or once decompressed).
    TooLarge,
    /// 400, and 415 (a Content-Encoding other than gzip).
    Malformed,
    /// 422.
    Invalid,
    /// 408: the body did not arrive in time.
    Timeout,
    /// 503: the database failed.
    StoreError,
}

impl IngestResult {
    /// Every result, in label order.
    pub const ALL: [IngestResult; 9] = [
        IngestResult::Created,
        IngestResult::Duplicate,
        IngestResult::Conflict,
        IngestResult::Unauthorized,
        IngestResult::TooLarge,
        IngestResult::Malformed,
        IngestResult::Invalid,
        IngestResult::Timeout,
        IngestResult::StoreError,
    ];

    /// Metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            IngestResult::Created => "created",
            IngestResult::Duplicate => "duplicate",
            IngestResult::Conflict => "conflict",
            IngestResult::Unauthorized => "unauthorized",
            IngestResult::TooLarge => "too_large",
            IngestResult::Malformed => "malformed",
            IngestResult::Invalid => "invalid",
            IngestResult::Timeout => "timeout",
            IngestResult::StoreError => "store_error",
        }
    }
}

/// Upper bounds (seconds) of the ingest latency histogram.
pub const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

/// Lock-free counters.
#[derive(Debug, Default)]
pub struct Counters {
    results: [AtomicU64; 9],
    buckets: [AtomicU64; 10],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Counters {
    fn add(&self, r: IngestResult) {
        if let Some(i) = IngestResult::ALL.iter().position(|x| *x == r) {
            self.results[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Count per result, in [`IngestResult::ALL`] order.
    pub fn results(&self) -> Vec<(IngestResult, u64)> {
        IngestResult::ALL
            .iter()
            .zip(&self.results)
            .map(|(r, c)| (*r, c.load(Ordering::Relaxed)))
            .collect()
    }

    /// Cumulative bucket counts, total count, sum in seconds.
    pub fn histogram(&self) -> (Vec<u64>, u64, f64) {
        (
            self.buckets
                .iter()
                .map(|b| b.load(Ordering::Relaxed))
                .collect(),
            self.count.load(Ordering::Relaxed),
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        )
    }
}

/// The router (also used by tests without a socket).
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/api/v1/reports", post(post_report))
        .route("/api/v1/nodes", get(get_nodes))
        .route("/api/v1/nodes/{node}/reports", get(get_node_reports))
        .route("/api/v1/findings", get(get_findings))
        .route("/metrics", get(get_metrics))
        .route("/healthz", get(healthz))
        .route("/", get(super::pages::handlers::fleet_page))
        .route("/fleet.json", get(super::pages::handlers::fleet_json))
        .route("/fleet.csv", get(super::pages::handlers::fleet_csv))
        .route("/findings", get(super::pages::handlers::findings_page))
        .route("/findings.json", get(super::pages::handlers::findings_json))
        .route("/findings.csv", get(super::pages::handlers::findings_csv))
        .route("/checks/{id}", get(super::pages::handlers::check_page))
        .route("/nodes/{node}", get(super::pages::handlers::node_page))
        .fallback(not_found)
        .with_state(app)
}

pub(super) fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": msg.into() }))).into_response()
}

async fn not_found(method: Method) -> Response {
    if method == Method::GET || method == Method::POST {
        error(StatusCode::NOT_FOUND, "no such endpoint")
    } else {
        error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
    }
}

/// The token of an `Authorization: Bearer` header, or, where `basic` is
/// allowed (the dashboard, for browsers), the password of a Basic one.
fn presented_token(headers: &HeaderMap, basic: bool) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.trim().to_string());
    }
    if basic && scheme.eq_ignore_ascii_case("basic") {
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let text = String::from_utf8(raw).ok()?;
        return text.split_once(':').map(|(_, p)| p.to_string());
    }
    None
}

fn unauthorized(basic: bool) -> Response {
    let mut r = error(
        StatusCode::UNAUTHORIZED,
        "missing, unknown or revoked token",
    );
    let challenge = if basic {
        "Basic realm=\"barbican-audit collector\", charset=\"UTF-8\""
    } else {
        "Bearer realm=\"barbican-audit collector\""
    };
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    r
}

/// The principal behind the request, required to have `role`.
pub(super) async fn require(
    app: &App,
    headers: &HeaderMap,
    role: Role,
    basic: bool,
) -> Result<Principal, Response> {
    let Some(token) = presented_token(headers, basic) else {
        return Err(unauthorized(basic));
    };
    match app.store.authenticate(&token).await {
        Ok(Some(p)) if p.role == role => Ok(p),
        Ok(Some(_)) => Err(error(
            StatusCode::FORBIDDEN,
            match role {
                Role::Node => "a viewer token cannot post reports",
                Role::Viewer => {
                    "a node token can only post its own reports; reading needs a viewer token"
                }
            },
        )),
        Ok(None) => Err(unauthorized(basic)),
        Err(e) => Err(store_failed(&e)),
    }
}

#[allow(clippy::disallowed_macros)] // the collector logs to stderr (journald)
pub(super) fn store_failed(e: &super::store::StoreError) -> Response {
    eprintln!("barbican-audit collector: database error: {e}");
    let mut r = error(
        StatusCode::SERVICE_UNAVAILABLE,
        "database unavailable; retry later",
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    r
}

async fn post_report(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let (result, response) = ingest_request(&app, &headers, body).await;
    app.counters.add(result);
    app.counters.observe(started.elapsed());
    response
}

async fn ingest_request(app: &App, headers: &HeaderMap, body: Body) -> (IngestResult, Response) {
    // Authenticate before looking at the body. The body is still drained
    // (bounded by the size limit and the body timeout) before answering:
    // a client still sending when the connection closes sees a reset, not
    // the 401, and an agent must learn that its token is the problem.
    let limit = app.settings.max_body_bytes;
    let node = match require(app, headers, Role::Node, false).await {
        Ok(p) => p.name,
        Err(r) => {
            drain(body, limit as u64, app.settings.body_timeout).await;
            return (IngestResult::Unauthorized, r);
        }
    };
    let too_large = || {
        (
            IngestResult::TooLarge,
            error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("report larger than {limit} bytes"),
            ),
        )
    };
    // An encoding we cannot read is refused before the body is read (and
    // the body drained, so the client sees the 415).
    let gzipped = match content_encoding(headers) {
        Ok(g) => g,
        Err(what) => {
            drain(body, limit as u64, app.settings.body_timeout).await;
            return (
                IngestResult::Malformed,
                error(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!("Content-Encoding {what:?} is not supported (gzip or identity)"),
                ),
            );
        }
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n > limit as u64) {
        // Read (and drop) a moderately oversized body so the client sees
        // the 413; a huge one is cut off.
        if n <= 8 * limit as u64 {
            drain(body, n, app.settings.body_timeout).await;
        }
        return too_large();
    }
    let limited = http_body_util::Limited::new(body, limit);
    let bytes = match tokio::time::timeout(app.settings.body_timeout, limited.collect()).await {
        Err(_) => {
            return (
                IngestResult::Timeout,
                error(StatusCode::REQUEST_TIMEOUT, "request body too slow"),
            )
        }
        Ok(Err(e)) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return too_large();
            }
            return (
                IngestResult::Malformed,
                error(StatusCode::BAD_REQUEST, format!("reading body: {e}")),
            );
        }
        Ok(Ok(c)) => c.to_bytes(),
    };
    // The limit holds for what is stored, so a gzip body is bounded twice:
    // as sent (above) and once decompressed (a zip bomb stops at limit + 1).
    let bytes = if gzipped {
        match gunzip(bytes, limit).await {
            Ok(b) => b,
            Err(Gunzip::TooLarge) => {
                return (
                    IngestResult::TooLarge,
                    error(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("gzip body larger than {limit} bytes once decompressed"),
                    ),
                )
            }
            Err(Gunzip::Corrupt(e)) => {
                return (
                    IngestResult::Malformed,
                    error(StatusCode::BAD_REQUEST, format!("gzip body: {e}")),
                )
            }
        }
    } else {
        bytes
    };
    let report = match ingest::decode(&bytes) {
        Ok(r) => r,
        Err(Rejection::Malformed(m)) => {
            return (
                IngestResult::Malformed,
                error(StatusCode::BAD_REQUEST, format!("malformed JSON: {m}")),
            )
        }
        Err(Rejection::Invalid(m)) => {
            return (
                IngestResult::Invalid,
                error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("invalid report: {m}"),
                ),
            )
        }
    };
    match app.store.ingest(&node, &report).await {
        Ok(IngestOutcome::Created) => (
            IngestResult::Created,
            (
                StatusCode::CREATED,
                axum::Json(json!({"result": "created", "node": node, "run_id": report.run_id})),
            )
                .into_response(),
        ),
        Ok(IngestOutcome::Duplicate) => (
            IngestResult::Duplicate,
            (
                StatusCode::OK,
                axum::Json(json!({"result": "duplicate", "node": node, "run_id": report.run_id})),
            )
                .into_response(),
        ),
        Ok(IngestOutcome::Conflict) => (
            IngestResult::Conflict,
            error(
                StatusCode::CONFLICT,
                format!(
                    "run.id {} is already stored with a different body",
                    report.run_id
                ),
            ),
        ),
        Err(e) => (IngestResult::StoreError, store_failed(&e)),
    }
}

/// Whether the request body is gzip (`Content-Encoding: gzip` or
/// `x-gzip`; `identity` or none: as is); `Err` names an encoding we do not
/// read (HTTP 415).
fn content_encoding(headers: &HeaderMap) -> Result<bool, String> {
    let mut codings = Vec::new();
    for v in headers.get_all(header::CONTENT_ENCODING) {
        let v = v
            .to_str()
            .map_err(|_| String::from_utf8_lossy(v.as_bytes()).into_owned())?;
        for c in v.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            if !c.eq_ignore_ascii_case("identity") {
                codings.push(c.to_string());
            }
        }
    }
    match codings.as_slice() {
        [] => Ok(false),
        [c] if c.eq_ignore_ascii_case("gzip") || c.eq_ignore_ascii_case("x-gzip") => Ok(true),
        _ => Err(codings.join(", ").chars().take(100).collect()),
    }
}

/// Why a gzip body could not be read.
enum Gunzip {
    /// More than the limit once decompressed.
    TooLarge,
    /// Not gzip, or truncated.
    Corrupt(String),
}

/// Decompresses a gzip body (all its members), at most `limit` bytes of
/// output; off the async threads (a full megabyte takes milliseconds).
async fn gunzip(gz: axum::body::Bytes, limit: usize) -> Result<axum::body::Bytes, Gunzip> {
    use std::io::Read;
    let work = tokio::task::spawn_blocking(move || {
        let mut out = Vec::with_capacity(limit.min(gz.len().saturating_mul(8)).min(1 << 20));
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        flate2::read::MultiGzDecoder::new(&gz[..])
            .take(cap)
            .read_to_end(&mut out)
            .map_err(|e| Gunzip::Corrupt(e.to_string()))?;
        if out.len() > limit {
            return Err(Gunzip::TooLarge);
        }
        Ok(axum::body::Bytes::from(out))
    });
    work.await
        .map_err(|e| Gunzip::Corrupt(format!("decompression task: {e}")))?
}

/// Reads and discards up to `max` bytes of a body, for at most `within`.
async fn drain(mut body: Body, max: u64, within: Duration) {
    let _ = tokio::time::timeout(within, async {
        let mut seen = 0u64;
        while let Some(Ok(frame)) = body.frame().await {
            if let Some(data) = frame.data_ref() {
                seen += data.len() as u64;
                if seen > max {
                    break;
                }
            }
        }
    })
    .await;
}

async fn get_nodes(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Err(r) = require(&app, &headers, Role::Viewer, false).await {
        return r;
    }
    match app.store.nodes().await {
        Ok(nodes) => {
            let now = super::store::now_ms();
            #[derive(serde::Serialize)]
            struct Nodes<'a> {
                nodes: Vec<views::NodeView<'a>>,
            }
            let body = Nodes {
                nodes: nodes
                    .iter()
                    .map(|n| views::node_view(n, now, app.settings.stale_after))
                    .collect(),
            };
            let mut buf = Vec::with_capacity(256 * nodes.len() + 16);
            match serde_json::to_writer(&mut buf, &body) {
                Ok(()) => ([(header::CONTENT_TYPE, "application/json")], buf).into_response(),
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            }
        }
        Err(e) => store_failed(&e),
    }
}

async fn get_node_reports(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(node): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = require(&app, &headers, Role::Viewer, false).await {
        return r;
    }
    let Some(limit) = parse_limit(&q) else {
        return bad_limit();
    };
    match app.store.node_reports(&node, limit).await {
        Ok(Some(reports)) => {
            let list: Vec<_> = reports.iter().map(views::report_json).collect();
            axum::Json(json!({ "node": node, "reports": list })).into_response()
        }
        Ok(None) => error(StatusCode::NOT_FOUND, "no such node"),
        Err(e) => store_failed(&e),
    }
}

/// `limit` of a query (default 100); `None` when it is not 1..=10000.
fn parse_limit(q: &HashMap<String, String>) -> Option<u32> {
    match q.get("limit") {
        None => Some(100),
        Some(s) => s.parse::<u32>().ok().filter(|n| (1..=10_000).contains(n)),
    }
}

fn bad_limit() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "limit must be a number from 1 to 10000",
    )
}

async fn get_findings(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = require(&app, &headers, Role::Viewer, false).await {
        return r;
    }
    for k in q.keys() {
        if !matches!(
            k.as_str(),
            "check" | "status" | "severity" | "node" | "layout" | "target" | "limit"
        ) {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "unknown parameter {k:?} (check, status, severity, node, layout, target, limit)"
                ),
            );
        }
    }
    if let Err(e) = super::pages::check_layout(q.get("layout").map(String::as_str)) {
        return error(StatusCode::BAD_REQUEST, e.0);
    }
    if let Some(s) = q.get("status") {
        if !crate::report::Status::ALL.iter().any(|x| x.as_str() == s) {
            return error(
                StatusCode::BAD_REQUEST,
                "status must be pass, fail, error, na or waived",
            );
        }
    }
    if let Some(s) = q.get("severity") {
        if crate::report::Severity::parse(s).is_none() {
            return error(
                StatusCode::BAD_REQUEST,
                "severity must be info, low, medium, high or critical",
            );
        }
    }
    let limit = match q.get("limit") {
        None => 1000,
        Some(_) => match parse_limit(&q) {
            Some(l) => l,
            None => return bad_limit(),
        },
    };
    let query = FindingQuery {
        check: q.get("check").cloned(),
        status: q.get("status").cloned(),
        severity: q.get("severity").cloned(),
        node: q.get("node").cloned(),
        layout: q.get("layout").cloned(),
        target: q.get("target").cloned(),
        limit,
    };
    match app.store.findings(&query).await {
        Ok(rows) => {
            let list: Vec<_> = rows.iter().map(views::finding_json).collect();
            axum::Json(json!({ "findings": list })).into_response()
        }
        Err(e) => store_failed(&e),
    }
}

async fn get_metrics(State(app): State<Arc<App>>) -> Response {
    match app.store.nodes().await {
        Ok(nodes) => {
            let text = views::metrics(
                &nodes,
                &app.counters,
                super::store::now_ms(),
                app.settings.stale_after,
            );
            (
                [(
                    header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                text,
            )
                .into_response()
        }
        Err(e) => store_failed(&e),
    }
}

async fn healthz() -> Response {
    (StatusCode::OK, "ok\n").into_response()
}
