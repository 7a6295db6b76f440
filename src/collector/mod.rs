//! The central collector: receives reports from agents over HTTP(S),
//! stores them (SQLite or PostgreSQL) and serves the fleet view.
pub mod ingest;
pub mod store;
