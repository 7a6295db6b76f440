//! Parse time of a barbican.conf, in-process: `cargo bench --bench parse -- FILE [RUNS]`.
//! Prints one line `parse_us median=<µs> min=<µs> lines=<n>`; benches/config.sh
//! runs it beside Debian's oslo.config parsing the same file and prints the ratio.
#![allow(clippy::disallowed_macros, clippy::unwrap_used)] // a benchmark binary prints its result

use std::time::Instant;

use barbican_audit_core::barbican::{oslo, Config};

fn main() {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    // `cargo test --all-targets` runs this without arguments: then it parses
    // a generated 5,000-line file once as a smoke test.
    let (path, bytes) = match args.get(1) {
        Some(p) => (p.clone(), std::fs::read(p).unwrap()),
        None => ("generated".to_string(), generated()),
    };
    let runs: usize = args
        .get(2)
        .and_then(|r| r.parse().ok())
        .unwrap_or(if args.len() > 1 { 200 } else { 1 });
    let path = path.as_str();
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

/// 5,000 lines shaped like benches/config.sh's file.
fn generated() -> Vec<u8> {
    let mut out = String::new();
    let mut lines = 0;
    let mut s = 0;
    while lines < 5000 {
        out.push_str(&format!("[section_{s}]\n"));
        lines += 1;
        for k in 0..20 {
            out.push_str(&format!(
                "# help for option_{k}\noption_{k} = 'value {s}.{k}'\n"
            ));
            lines += 2;
        }
        out.push('\n');
        lines += 1;
        s += 1;
    }
    let file = oslo::parse(&out);
    assert!(file.error.is_none() && file.values.len() > 2000);
    out.into_bytes()
}
