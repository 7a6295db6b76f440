//! barbican-audit: a host-hardening auditor for OpenStack Barbican nodes.
//!
//! Data flows one way:
//!
//! ```text
//! checks/*.toml --catalog--> validated Check --engine--> probes observe the Host
//!        (definitions)                                     (host/, barbican/)
//!     --> Finding --> report::Report --> views (text, JSON)
//! ```
//!
//! * [`catalog`] parses and validates check definitions (TOML, one per check).
//! * [`host`] is the rooted view of a filesystem (`--root`): stat, symlinks,
//!   ACLs, and the root's own passwd/group.
//! * [`barbican`] knows how Barbican reads its files: the oslo.config search
//!   order and ini dialect, the effective file set, the installed version.
//! * [`probe`] turns declared expectations into observations, one probe kind a file.
//! * [`engine`] runs every check and applies waivers; [`report`] is the model and its views.
//! * [`audit`] is one audit run as a library call (used by `audit` and the agent).
//! * [`agent`] sends each report to the [`collector`], spooling it while the
//!   collector is down; the collector stores reports (SQLite or PostgreSQL)
//!   and serves the fleet view.
#![deny(missing_docs)]

pub mod agent;
pub mod audit;
pub mod barbican;
pub mod catalog;
pub mod cli;
pub mod collector;
pub mod engine;
pub mod error;
pub mod host;
pub mod probe;
pub mod report;
pub mod scan;
pub mod userfile;
pub mod waiver;
