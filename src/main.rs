//! The binary: parse the command line, run, map the outcome to an exit status.
use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(barbican_audit::cli::main_with_args(std::env::args_os()))
}
