//! The PostgreSQL connection URL as libpq users write it, and TLS to the
//! server over rustls (ring), as the collector's HTTPS and the agent use.
//!
//! tokio-postgres knows `sslmode=disable|prefer|require` and nothing about
//! certificates, so `sslmode` and `sslrootcert` are taken out of the URL
//! here and the rest is handed to its parser:
//!
//! | `sslmode`            | TLS      | server certificate checked                      |
//! |----------------------|----------|-------------------------------------------------|
//! | absent, `disable`    | no       | -                                               |
//! | `require`            | required | no; against `sslrootcert` if given (as libpq)   |
//! | `verify-ca`          | required | chains to `sslrootcert`                          |
//! | `verify-full`        | required | chains to `sslrootcert` and names the URL's host |
//!
//! `prefer` and `allow` are refused: they fall back to plain text without a
//! word, which is never what a setting that mentions TLS wants.
//! `sslrootcert` is a PEM file, or `system` for the system's roots.
//!
//! No channel binding (SCRAM-SHA-256-PLUS): its hash depends on the
//! certificate's signature algorithm, and a wrong guess fails the login.
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_postgres::Config;

use super::StoreError;

/// Connect timeout when the URL sets none: a server that does not answer
/// (firewall drop) must give a 503, not a request that hangs.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the server's certificate is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// No TLS at all.
    Disabled,
    /// TLS, certificate not checked (`sslmode=require` without `sslrootcert`).
    Nothing,
    /// Chains to the CA (`verify-ca`, or `require` with `sslrootcert`).
    Chain,
    /// Chains to the CA and names the host (`verify-full`).
    Full,
}

/// A parsed database URL: the tokio-postgres settings, the TLS connector
/// and the URL as it may be shown (no password).
pub struct Target {
    /// Everything but TLS.
    pub config: Config,
    /// The connector tokio-postgres calls for TLS (unused when disabled).
    pub tls: MakeRustls,
    /// The URL without its userinfo (user, password), for messages and logs.
    pub shown: String,
    /// How the server is checked.
    pub verify: Verify,
}

/// `url` as it may be logged: no userinfo (user and password), no
/// `password=` parameter.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        // Not a URL: nothing tells where a password would be; show nothing of it.
        return "(database URL not shown)".into();
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    // The last '@' before the query ends the userinfo (a raw '@' in a
    // password is still hidden).
    let authority_and_path = match before_query.rsplit_once('@') {
        Some((_userinfo, after)) => after,
        None => before_query,
    };
    let mut out = format!("{scheme}://{authority_and_path}");
    if let Some(q) = query {
        let kept: Vec<&str> = q
            .split('&')
            .filter(|p| {
                let key = p.split('=').next().unwrap_or("");
                !key.to_ascii_lowercase().contains("password")
            })
            .collect();
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept.join("&"));
        }
    }
    out
}

/// `%XX` decoding of a URL parameter value (libpq decodes them too).
fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad %-escape in {s:?}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{s:?} is not UTF-8 once decoded"))
}

/// Parses a `postgres://` URL with libpq's `sslmode` and `sslrootcert`.
pub fn parse(url: &str) -> Result<Target, StoreError> {
    let shown = redact(url);
    let bad = |why: String| StoreError::PgUrl(format!("{shown}: {why}"));
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let mut sslmode: Option<String> = None;
    let mut rootcert: Option<String> = None;
    let mut rest: Vec<&str> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "sslmode" => sslmode = Some(percent_decode(v).map_err(bad)?),
            "sslrootcert" => rootcert = Some(percent_decode(v).map_err(bad)?),
            _ => rest.push(pair),
        }
    }
    let verify = match sslmode.as_deref() {
        None | Some("disable") => Verify::Disabled,
        Some("require") if rootcert.is_some() => Verify::Chain,
        Some("require") => Verify::Nothing,
        Some("verify-ca") => Verify::Chain,
        Some("verify-full") => Verify::Full,
        Some(m @ ("prefer" | "allow")) => {
            return Err(bad(format!(
                "sslmode={m} falls back to plain text silently; use disable, require, \
                 verify-ca or verify-full"
            )))
        }
        Some(m) => {
            return Err(bad(format!(
                "sslmode={m:?}: expected disable, require, verify-ca or verify-full"
            )))
        }
    };
    if matches!(verify, Verify::Chain | Verify::Full) && rootcert.is_none() {
        return Err(bad(format!(
            "sslmode={} needs sslrootcert=/path/to/ca.pem (or sslrootcert=system)",
            sslmode.as_deref().unwrap_or("")
        )));
    }
    if verify == Verify::Disabled && rootcert.is_some() {
        return Err(bad(
            "sslrootcert without sslmode=verify-full (or verify-ca, require) would check nothing"
                .into(),
        ));
    }
    let plain = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    // tokio-postgres's message names the bad key, never a value.
    let mut config: Config = plain.parse().map_err(|e| bad(format!("{e}")))?;
    config.ssl_mode(if verify == Verify::Disabled {
        SslMode::Disable
    } else {
        SslMode::Require
    });
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let tls = match verify {
        Verify::Disabled => MakeRustls::unused(),
        _ => MakeRustls::new(verify, rootcert.as_deref()).map_err(bad)?,
    };
    Ok(Target {
        config,
        tls,
        shown,
        verify,
    })
}

/// The CA roots of `sslrootcert`: a PEM file, or `system`.
fn roots(rootcert: &str) -> Result<rustls::RootCertStore, String> {
    let mut store = rustls::RootCertStore::empty();
    if rootcert == "system" {
        let found = rustls_native_certs::load_native_certs();
        store.add_parsable_certificates(found.certs);
        if store.is_empty() {
            return Err("sslrootcert=system: no trusted roots on this system".into());
        }
        return Ok(store);
    }
    let path = std::path::Path::new(rootcert);
    let bytes = crate::userfile::read_user_file(path, 4 << 20)
        .map_err(|e| format!("sslrootcert {rootcert}: {}", e.reason()))?;
    for cert in rustls_pemfile::certs(&mut std::io::BufReader::new(bytes.as_slice())) {
        let cert = cert.map_err(|e| format!("sslrootcert {rootcert}: {e}"))?;
        store
            .add(cert)
            .map_err(|e| format!("sslrootcert {rootcert}: {e}"))?;
    }
    if store.is_empty() {
        return Err(format!("sslrootcert {rootcert}: no PEM certificate in it"));
    }
    Ok(store)
}

/// The server certificate check of [`Verify`].
#[derive(Debug)]
struct Verifier {
    verify: Verify,
    webpki: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(webpki) = &self.webpki else {
            // sslmode=require without a CA: encrypted, not authenticated (as libpq).
            return Ok(ServerCertVerified::assertion());
        };
        let checked = webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now);
        match checked {
            // webpki checks the chain before the name: a name error means
            // the chain is good, which is all verify-ca asks.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if self.verify == Verify::Chain => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// tokio-postgres's TLS hook over tokio-rustls.
#[derive(Clone)]
pub struct MakeRustls {
    connector: Option<tokio_rustls::TlsConnector>,
}

impl MakeRustls {
    fn unused() -> MakeRustls {
        MakeRustls { connector: None }
    }

    fn new(verify: Verify, rootcert: Option<&str>) -> Result<MakeRustls, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let webpki = match rootcert {
            None => None,
            Some(r) => Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots(r)?), provider.clone())
                    .build()
                    .map_err(|e| format!("sslrootcert {r}: {e}"))?,
            ),
        };
        let verifier = Verifier {
            verify,
            webpki,
            algorithms: provider.signature_verification_algorithms,
        };
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        Ok(MakeRustls {
            connector: Some(tokio_rustls::TlsConnector::from(Arc::new(config))),
        })
    }
}

impl<S> MakeTlsConnect<S> for MakeRustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, host: &str) -> Result<RustlsConnect, io::Error> {
        // Called for every connection, TLS or not; with sslmode=disable the
        // handshake is never asked for.
        let connector = self.connector.clone();
        let name = ServerName::try_from(host.to_string()).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("host {host:?} is not a DNS name or IP address for TLS: {e}"),
            )
        })?;
        Ok(RustlsConnect { connector, name })
    }
}

/// One TLS handshake to one host.
pub struct RustlsConnect {
    connector: Option<tokio_rustls::TlsConnector>,
    name: ServerName<'static>,
}

type Handshake<S> = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Handshake<S>;

    fn connect(self, stream: S) -> Handshake<S> {
        Box::pin(async move {
            let connector = self.connector.ok_or_else(|| {
                io::Error::other("TLS requested but not configured (sslmode=disable)")
            })?;
            let s = connector.connect(self.name, stream).await?;
            Ok(RustlsStream(s))
        })
    }
}

/// A TLS session to the server.
pub struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

/// An error with its causes, `a: b: c` (tokio-postgres's own message
/// leaves out why a TLS handshake failed).
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_drops_every_password() {
        assert_eq!(
            redact("postgres://audit:s3cret@db:5432/audit?sslmode=verify-full"),
            "postgres://db:5432/audit?sslmode=verify-full"
        );
        assert_eq!(
            redact("postgresql://a:p@ss@h/d?password=x&sslmode=require"),
            "postgresql://h/d?sslmode=require"
        );
        assert_eq!(redact("postgres://h/d"), "postgres://h/d");
        assert!(!redact("key=value password=x").contains('x'));
    }

    #[test]
    fn sslmodes_parse_and_fail_closed() {
        let t = parse("postgres://u:pw@h/d").unwrap();
        assert_eq!(t.verify, Verify::Disabled);
        assert_eq!(t.config.get_ssl_mode(), SslMode::Disable);
        assert_eq!(t.config.get_connect_timeout(), Some(&CONNECT_TIMEOUT));
        let t = parse("postgres://u:pw@h/d?sslmode=require&application_name=x").unwrap();
        assert_eq!(t.verify, Verify::Nothing);
        assert_eq!(t.config.get_ssl_mode(), SslMode::Require);
        assert_eq!(t.config.get_application_name(), Some("x"));
        for (url, needle) in [
            ("postgres://u:pw@h/d?sslmode=prefer", "falls back"),
            (
                "postgres://u:pw@h/d?sslmode=verify-full",
                "needs sslrootcert",
            ),
            ("postgres://u:pw@h/d?sslmode=verify-ca", "needs sslrootcert"),
            ("postgres://u:pw@h/d?sslmode=bogus", "expected disable"),
            ("postgres://u:pw@h/d?sslrootcert=/x", "would check nothing"),
            (
                "postgres://u:pw@h/d?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
                "/nonexistent/ca.pem",
            ),
            ("postgres://u:pw@h/d?frobnicate=1", "frobnicate"),
        ] {
            let e = parse(url).err().expect(url).to_string();
            assert!(e.contains(needle), "{url}: {e}");
            assert!(!e.contains("pw"), "{url}: password shown: {e}");
            assert!(e.contains("postgres://h/d"), "{url}: URL not named: {e}");
        }
    }
}
