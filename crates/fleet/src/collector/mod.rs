//! The central collector: receives reports from agents over HTTP(S),
//! stores them (SQLite or PostgreSQL) and serves the fleet view.
//!
//! ```text
//! agent --POST /api/v1/reports--> net (TLS, timeouts) --> server (auth, limits)
//!   --> ingest::decode (400/422) --> store (one transaction, idempotent on run.id)
//! viewer --GET /, /api/v1/...--> server --> store --> views (HTML, JSON, metrics)
//! ```
#![allow(clippy::disallowed_macros)] // the collector's own diagnostics go to stderr (journald)

use std::io::Write;
use std::sync::Arc;

pub mod config;
pub mod ingest;
pub mod net;
pub mod pages;
pub mod server;
pub mod store;
pub mod views;

pub use config::CollectorArgs;

use config::Action;
use store::{Role, Store};

/// `barbican-audit collector ...`; returns the exit status (2 when it
/// could not start or the command failed).
pub fn main(args: CollectorArgs) -> u8 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("collector")
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("barbican-audit collector: cannot start the runtime: {e}");
            return 2;
        }
    };
    let result = runtime.block_on(async {
        match &args.action {
            Some(Action::Enroll {
                viewer,
                name,
                config,
                database,
            }) => enroll(config.as_deref(), database.as_deref(), name, *viewer).await,
            Some(Action::Revoke {
                name,
                config,
                database,
            }) => revoke(config.as_deref(), database.as_deref(), name).await,
            None => serve(&args).await,
        }
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("barbican-audit collector: {e}");
            2
        }
    }
}

async fn enroll(
    config: Option<&std::path::Path>,
    database: Option<&str>,
    name: &str,
    viewer: bool,
) -> Result<(), String> {
    let url = config::database_for(config, database)?;
    let store = Store::open(&url).await.map_err(|e| e.to_string())?;
    let role = if viewer { Role::Viewer } else { Role::Node };
    let token = store.enroll(name, role).await.map_err(|e| e.to_string())?;
    // The token alone on stdout, printed once: `> node.token` captures it.
    let mut out = std::io::stdout().lock();
    writeln!(out, "{token}")
        .and_then(|_| out.flush())
        .map_err(|e| format!("writing the token to stdout: {e}"))?;
    eprintln!(
        "enrolled {} {name:?}; the token above is shown only once",
        role.as_str()
    );
    Ok(())
}

async fn revoke(
    config: Option<&std::path::Path>,
    database: Option<&str>,
    name: &str,
) -> Result<(), String> {
    let url = config::database_for(config, database)?;
    let store = Store::open(&url).await.map_err(|e| e.to_string())?;
    if store.revoke(name).await.map_err(|e| e.to_string())? {
        eprintln!("revoked {name:?}: its token no longer works; its reports stay");
        Ok(())
    } else {
        Err(format!("no node or viewer named {name:?} is enrolled"))
    }
}

async fn serve(args: &CollectorArgs) -> Result<(), String> {
    let settings = config::resolve(args)?;
    let tls = match &settings.tls {
        Some((cert, key)) => Some(net::tls_config(cert, key, settings.client_ca.as_deref())?),
        None => None,
    };
    let store = Store::open(&settings.database)
        .await
        .map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| format!("listen {}: {e}", settings.listen))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("listen {}: {e}", settings.listen))?;
    let app = Arc::new(server::App {
        store,
        settings: settings.clone(),
        counters: server::Counters::default(),
    });
    if !settings.retention.is_off() {
        tokio::spawn(retention(Arc::clone(&app)));
    }
    let router = server::router(app);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        let _ = stop_tx.send(true);
    });
    eprintln!(
        "listening on {addr}{}",
        if tls.is_some() { " (https)" } else { "" }
    );
    net::serve(listener, router, &settings, tls, stop_rx).await;
    eprintln!("barbican-audit collector: stopped");
    Ok(())
}

/// Applies the retention settings every `retention_interval`, in batches
/// of [`store::RETENTION_BATCH`] reports; a failed pass is logged and
/// tried again next time (the database may be restarting).
async fn retention(app: Arc<server::App>) {
    let policy = app.settings.retention;
    let mut tick = tokio::time::interval(app.settings.retention_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match app
            .store
            .prune(policy, store::now_ms(), store::RETENTION_BATCH)
            .await
        {
            Ok(0) => {}
            Ok(n) => eprintln!(
                "retention: deleted {n} reports (kept the newest {} per node and {} days)",
                policy.keep_reports, policy.keep_days
            ),
            Err(e) => eprintln!("barbican-audit collector: retention: {e}"),
        }
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => std::future::pending::<()>().await,
    }
}
