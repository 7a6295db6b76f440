//! Parse time of a barbican.conf, in-process: `cargo bench --bench parse -- FILE [RUNS]`.
//! Prints one line `parse_us median=<µs> min=<µs> lines=<n>`; benches/config.sh
//! runs it beside Debian's oslo.config parsing the same file and prints the ratio.
#![allow(clippy::disallowed_macros, clippy::unwrap_used)] // a benchmark binary prints its result

use std::time::Instant;

use barbican_audit::barbican::{oslo, Config};

fn main() {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: parse FILE [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(200);
    let bytes = std::fs::read(path).unwrap();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        // What the audit does with the file: parse, then look up judged options.
        let file = oslo::parse_bytes(&bytes);
        let cfg = Config::from_parsed(path, file);
        std::hint::black_box(cfg.resolve("keystone_authtoken", "auth_url").ok());
        std::hint::black_box(cfg.effective_multi("simple_crypto_plugin", "kek").len());
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let lines = bytes.iter().filter(|&&b| b == b'\n').count();
    println!(
        "parse_us median={:.1} min={:.1} lines={lines}",
        times[runs / 2],
        times[0]
    );
}
