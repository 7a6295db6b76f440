//! Shell completions for `barbican-audit`, shared (through `#[path]`) by
//! examples/gen-assets.rs, which writes the packaged files, and
//! tests/completions.rs, which sources the bash one in a real bash.

use barbican_audit::cli::Cli;
use clap::CommandFactory;
use clap_complete::Shell;

/// The completion script for `shell`.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "barbican-audit", &mut buf);
    if shell == Shell::Bash {
        buf = fix_bash_hyphenated_bin_name(&buf);
    }
    buf
}

/// clap_complete 4.6 (bash.rs) names the dispatch states of a hyphenated
/// binary `barbican__audit__subcmd__audit` (bin name with `-` -> `__`) but
/// labels their `case` arms `barbican__subcmd__audit__subcmd__audit` (every
/// `-`, the bin name's too, -> `__subcmd__`), so no arm ever matches and
/// bash completes nothing. Relabel the arms the way the dispatch names them.
fn fix_bash_hyphenated_bin_name(script: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(script);
    text.replace("barbican__subcmd__audit", "barbican__audit")
        .into_bytes()
}
