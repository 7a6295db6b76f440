//! barbican-audit's audit library: a host-hardening auditor for OpenStack
//! Barbican nodes.
//!
//! Data flows one way:
//!
//! ```text
//! checks/*.toml --catalog--> validated Check --engine--> probes observe the Host
//!        (definitions)                                     (host/, barbican/)
//!     --> Finding --> report::Report --> views (text, JSON, Prometheus)
//! ```
//!
//! * [`catalog`] parses and validates check definitions (TOML, one per check).
//! * [`host`] is the rooted view of a filesystem (`--root`): stat, symlinks,
//!   ACLs, and the root's own passwd/group.
//! * [`barbican`] knows how Barbican reads its files: the oslo.config search
//!   order, the effective file set, the installed version; the dialect
//!   readers themselves are the `barbican-audit-dialects` crate.
//! * [`consumers`] knows which programs of the services that keep their keys
//!   in Barbican (nova, cinder, glance) run, and what each reads.
//! * [`probe`] turns declared expectations into observations, one probe kind a file.
//! * [`engine`] runs every check and applies waivers; [`report`] is the model and its views.
//! * [`scan`] is the disk scan for copies of the KEK.
//! * [`audit`] is one audit run as a library call (used by `audit` and the agent).
//! * [`layout`] names the deployment tool that laid out the root; [`targets`]
//!   finds the deployments on a host root (kolla, TripleO, OSA, OpenStack-Helm).
//!
//! Below this crate: `barbican-audit-support` (errors, user files, atomic
//! writes) and `barbican-audit-dialects`; above it: `barbican-audit-fleet`
//! (agent and collector) and the `barbican-audit` binary.
#![deny(missing_docs)]

pub mod audit;
pub mod barbican;
pub mod catalog;
pub mod consumers;
pub mod engine;
pub mod host;
pub mod layout;
pub mod probe;
pub mod report;
pub mod scan;
pub mod targets;
pub mod waiver;

// The bottom layer, under the names the modules here have always used.
pub use barbican_audit_support::{error, userfile};
