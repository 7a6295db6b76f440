//! The HTTP client: one POST per spooled report, the answer sorted into
//! what the drain should do with the file. Blocking `ureq` on purpose: the
//! agent does one thing at a time, and a thread that waits is simpler to
//! reason about than a runtime.
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::config::{Collector, Token};

/// What became of one send, i.e. what to do with the spooled file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: stored (201) or already stored (200). Delete the file.
    Stored(u16),
    /// 400, 409, 413, 422: the collector will never take this file. Move it
    /// to `rejected/` and go on with the next one.
    Rejected(u16, String),
    /// 401, 403: the token is wrong; every file would get the same answer.
    /// Keep them all and stop.
    Unauthorized(u16),
    /// Collector down, busy or misaddressed (5xx, 429, 404, timeouts,
    /// connection errors). Keep the files, stop, back off.
    Unavailable(String),
}

/// A client for one collector.
pub struct Uploader {
    agent: ureq::Agent,
    endpoint: String,
}

impl Uploader {
    /// Builds the client: TLS through rustls with the ring provider, roots
    /// from `ca_file` or the system store, connect timeout 10 s, whole
    /// request 30 s, no redirects (a redirect would carry the report, and
    /// perhaps the token, somewhere the settings did not name).
    pub fn new(collector: &Collector, ca_file: Option<&Path>) -> Result<Uploader, String> {
        let roots = if collector.https {
            roots(ca_file)?
        } else {
            // Plain http to loopback: no certificate is ever checked.
            rustls::RootCertStore::empty()
        };
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let agent = ureq::AgentBuilder::new()
            .tls_config(Arc::new(tls))
            .timeout_connect(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .redirects(0)
            .user_agent(concat!("barbican-audit/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Uploader {
            agent,
            endpoint: collector.endpoint.clone(),
        })
    }

    /// The URL reports go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// POSTs one report's bytes as they are in the spool.
    pub fn send(&self, token: &Token, run_id: &str, body: &[u8]) -> Outcome {
        let result = self
            .agent
            .post(&self.endpoint)
            .set("Authorization", &token.bearer())
            .set("Content-Type", "application/json")
            .set("Idempotency-Key", run_id)
            .send_bytes(body);
        match result {
            Ok(resp) if (200..300).contains(&resp.status()) => Outcome::Stored(resp.status()),
            Ok(resp) => Outcome::Unavailable(format!(
                "unexpected HTTP {} from {}",
                resp.status(),
                self.endpoint
            )),
            Err(ureq::Error::Status(code, resp)) => classify(code, &snippet(resp)),
            Err(ureq::Error::Transport(t)) => Outcome::Unavailable(t.to_string()),
        }
    }
}

/// Sorts an error status (see [`Outcome`]).
fn classify(code: u16, body: &str) -> Outcome {
    match code {
        400 | 409 | 413 | 422 => Outcome::Rejected(code, body.to_string()),
        401 | 403 => Outcome::Unauthorized(code),
        _ if body.is_empty() => Outcome::Unavailable(format!("HTTP {code}")),
        _ => Outcome::Unavailable(format!("HTTP {code}: {body}")),
    }
}

/// The start of the collector's error body, one line of printable text,
/// so a rejection says why without flooding the journal.
fn snippet(resp: ureq::Response) -> String {
    let mut buf = Vec::new();
    let _ = resp.into_reader().take(300).read_to_end(&mut buf);
    let text: String = String::from_utf8_lossy(&buf)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    text.trim().to_string()
}

fn roots(ca_file: Option<&Path>) -> Result<rustls::RootCertStore, String> {
    let mut store = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let shown = path.display();
            // Regular file, opened without blocking, capped (a FIFO here hung the agent).
            let f = crate::userfile::read_user_file(path, 4 << 20)
                .map_err(|e| format!("ca_file {shown}: {}", e.reason()))?;
            for cert in rustls_pemfile::certs(&mut std::io::BufReader::new(f.as_slice())) {
                let cert = cert.map_err(|e| format!("ca_file {shown}: {e}"))?;
                store
                    .add(cert)
                    .map_err(|e| format!("ca_file {shown}: {e}"))?;
            }
            if store.is_empty() {
                return Err(format!("ca_file {shown}: no PEM certificate in it"));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                let why = found
                    .errors
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(format!(
                    "no trusted root certificates on this system{}; set ca_file to the \
                     collector's CA bundle",
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!(" ({why})")
                    }
                ));
            }
        }
    }
    Ok(store)
}

/// Exponential backoff with full jitter: a uniform random wait in
/// `[0, min(cap, base * 2^attempt)]`, so a fleet whose collector comes back
/// does not return all at once (the AWS "full jitter" scheme).
pub fn full_jitter(base: Duration, attempt: u32, cap: Duration) -> Duration {
    let ceiling = base
        .saturating_mul(2u32.saturating_pow(attempt.min(31)))
        .min(cap);
    let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return Duration::ZERO;
    }
    // Without randomness, wait half the ceiling: still bounded, still backing off.
    let r = getrandom::u64().unwrap_or(ms / 2);
    Duration::from_millis(r % (ms + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_what_happens_to_the_file() {
        assert!(matches!(classify(422, "bad"), Outcome::Rejected(422, _)));
        for c in [400, 409, 413] {
            assert!(matches!(classify(c, ""), Outcome::Rejected(..)), "{c}");
        }
        assert_eq!(classify(401, ""), Outcome::Unauthorized(401));
        assert_eq!(classify(403, ""), Outcome::Unauthorized(403));
        for c in [429, 500, 502, 503, 404] {
            assert!(matches!(classify(c, ""), Outcome::Unavailable(_)), "{c}");
        }
    }

    #[test]
    fn jitter_stays_under_the_capped_ceiling() {
        let base = Duration::from_secs(5);
        let cap = Duration::from_secs(300);
        for attempt in 0..40 {
            let d = full_jitter(base, attempt, cap);
            let ceiling = (base * 2u32.pow(attempt.min(10))).min(cap);
            assert!(d <= ceiling, "{attempt}: {d:?} > {ceiling:?}");
        }
        assert_eq!(full_jitter(Duration::ZERO, 3, cap), Duration::ZERO);
    }

    #[test]
    fn ca_file_without_certificates_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ca.pem");
        std::fs::write(&p, "not a certificate\n").unwrap();
        let e = roots(Some(&p)).unwrap_err();
        assert!(e.contains("no PEM certificate"), "{e}");
        let e = roots(Some(&d.path().join("missing.pem"))).unwrap_err();
        assert!(e.contains("missing.pem"), "{e}");
    }

    #[test]
    fn ca_file_with_a_certificate_builds_a_client() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["collector.test".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ca.pem");
        std::fs::write(&p, cert.pem()).unwrap();
        let c = super::super::config::parse_collector("https://collector.test:9747").unwrap();
        let u = Uploader::new(&c, Some(&p)).unwrap();
        assert_eq!(u.endpoint(), "https://collector.test:9747/api/v1/reports");
    }
}
