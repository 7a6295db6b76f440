//! The reporting agent (to be written): audit, textfile metrics, send the
//! report to the collector, spool it when that fails.
