//! Master KEKs: decoding, fingerprints, and the values published upstream.
//!
//! A KEK is identified only by `sha256:` + the first 12 hex digits of the
//! SHA-256 of its decoded bytes; the values themselves are never printed
//! and published ones are stored here only as full SHA-256 digests.
use base64::Engine;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Material {
    /// The decoded key bytes (32 for a valid Fernet key), or the text bytes
    /// when the value is not base64.
    Bytes(Vec<u8>),
    /// Barbican's code default, known only by its digest.
    CodeDefault,
}

/// A KEK value as found, decoded for comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kek {
    material: Material,
    /// Whether it is a valid Fernet key (urlsafe base64 of exactly 32 bytes).
    pub valid_fernet: bool,
}

impl Kek {
    /// Decodes a configured `kek` value the way cryptography's Fernet does
    /// (`base64.urlsafe_b64decode`, 32 bytes).
    pub fn parse(value: &str) -> Kek {
        let v: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        let engines = [
            base64::engine::general_purpose::URL_SAFE,
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
            base64::engine::general_purpose::STANDARD,
        ];
        for e in engines {
            if let Ok(b) = e.decode(&v) {
                // urlsafe_b64decode also accepts the standard alphabet (it only
                // maps - and _ first), so `+` and `/` keys load too.
                let ok = b.len() == 32;
                return Kek {
                    valid_fernet: ok,
                    material: Material::Bytes(b),
                };
            }
        }
        Kek {
            material: Material::Bytes(value.as_bytes().to_vec()),
            valid_fernet: false,
        }
    }

    /// The code default of Barbican <= 20.x, known here only by its digest:
    /// the value is public, but it is key material all the same and is not
    /// kept in the binary.
    pub fn code_default() -> Kek {
        Kek {
            material: Material::CodeDefault,
            valid_fernet: true,
        }
    }

    /// The 32 key bytes of a valid Fernet key (to search for copies on disk);
    /// `None` for the code default, which is kept only as a digest.
    pub fn raw(&self) -> Option<[u8; 32]> {
        match &self.material {
            Material::Bytes(b) if self.valid_fernet => b.as_slice().try_into().ok(),
            _ => None,
        }
    }

    /// Whether this is the code default (no kek configured).
    pub fn is_code_default(&self) -> bool {
        self.material == Material::CodeDefault
    }

    fn digest(&self) -> String {
        match &self.material {
            Material::CodeDefault => CODE_DEFAULT_DIGEST.to_string(),
            Material::Bytes(b) => barbican_audit_support::hex(&Sha256::digest(b)),
        }
    }

    /// `sha256:` + 12 hex digits of the decoded bytes.
    pub fn fingerprint(&self) -> String {
        format!("sha256:{}", &self.digest()[..12])
    }

    /// Where this KEK is published, if it is a well-known value.
    pub fn published(&self) -> Option<&'static str> {
        let digest = self.digest();
        PUBLISHED
            .iter()
            .find(|(d, _)| *d == digest)
            .map(|(_, w)| *w)
    }
}

/// `sha256:` + the first 12 hex digits of SHA-256 over `bytes`.
pub fn fingerprint(bytes: &[u8]) -> String {
    let hex = barbican_audit_support::hex(&Sha256::digest(bytes));
    format!("sha256:{}", &hex[..12])
}

/// Whether `bytes` (a decoded key) is one of the [`PUBLISHED`] KEKs.
pub fn is_published(bytes: &[u8]) -> bool {
    let digest = barbican_audit_support::hex(&Sha256::digest(bytes));
    PUBLISHED.iter().any(|(d, _)| *d == digest)
}

/// SHA-256 of the decoded bytes of every published KEK, with where it is
/// published (reference barbican.md §4.2).
pub const PUBLISHED: &[(&str, &str)] = &[
    ("4663b0746ec7219e4b7321dc40253490e4fc26d195653f19c911804b88a86389",
     "the code default of [simple_crypto_plugin] kek in Barbican <= 20.x (also devstack, Barbican's unit tests, OpenStack-Helm values.yaml)"),
    ("f6d527e6d01865481134f29788be2afe7fc3c702e1a55d7ceafac5f35199e8dc",
     "the Barbican install guide sample (barbican-backend.rst), hard-coded in the Juju charm-barbican template"),
    ("4f2a69ba93ac29b729ab2202c746ff59261b09c71d1ac3d027a10d4bc8e2a456",
     "the Barbican release note simple-crypto-multiple-kek"),
    ("3df2367374a95615306144774e603ab64e03491b8c655b05d91b490e4870282a",
     "the Barbican release note simple-crypto-multiple-kek"),
    ("c46238bd5d35d97548bb0c27d1a31231e28f2fc937312603e7a4b84435a0b2b4",
     "the Barbican release note simple-crypto-multiple-kek"),
    ("9e8fc5f9d6b598d99e7747befaab135e5fe244e84cccc8159a4b11f1a516ce2c",
     "OpenStack-Helm values.yaml comments (a variant of the code default)"),
    ("acf67495026c447078ff948d8212e1b681d3a6723846c2e6b2cf23d00a3f4034",
     "OpenStack-Helm values.yaml comments (a variant of the code default)"),
];

/// The published code default, by digest (for "no kek set" on <= 20.x).
pub const CODE_DEFAULT_DIGEST: &str =
    "4663b0746ec7219e4b7321dc40253490e4fc26d195653f19c911804b88a86389";

#[cfg(test)]
mod tests {
    use super::*;

    // The published sample from the install guide: public, safe in a test.
    const SAMPLE: &str = "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=";

    #[test]
    fn published_sample_is_recognised_in_any_padding() {
        let k = Kek::parse(SAMPLE);
        assert!(k.valid_fernet);
        assert!(k.published().unwrap().contains("charm"));
        assert_eq!(
            Kek::parse(SAMPLE.trim_end_matches('=')).fingerprint(),
            k.fingerprint()
        );
        assert_eq!(k.fingerprint(), "sha256:f6d527e6d018");
    }

    #[test]
    fn random_key_is_not_published() {
        let k = Kek::parse("q1Ehz1X-mAyDqEk3Ot5Kb0NQz0tqjFQ7v2GlAX9Pk3s=");
        assert!(k.valid_fernet);
        assert!(k.published().is_none());
        assert!(!Kek::parse("not a key").valid_fernet);
    }
}
