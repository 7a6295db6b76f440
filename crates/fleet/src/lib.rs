//! The fleet: the [`agent`] sends each report to the [`collector`], spooling
//! it while the collector is down; the collector stores reports (SQLite or
//! PostgreSQL) and serves the fleet view. Built on the audit library
//! (`barbican-audit-core`); the collector (HTTP server, SQL engines) is
//! behind the `collector` feature, so a node build can leave it out.
#![deny(missing_docs)]

pub mod agent;
#[cfg(feature = "collector")]
pub mod collector;

// The audit library's modules, under the names the fleet code uses.
pub(crate) use barbican_audit_core::{audit, probe, report};
pub(crate) use barbican_audit_support::userfile;
