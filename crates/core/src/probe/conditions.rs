//! `applies-if` conditions: facts about the host a check declares it needs
//! (else it is `na` with the reason). The catalog refuses unknown names;
//! the engine only asks [`first_unmet`].
use std::path::Path;

use super::Facts;

/// A condition from `applies-if`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Barbican is installed under the root (package, Python metadata, or config).
    BarbicanInstalled,
    /// store_crypto + simple_crypto wraps project keys (by default, too).
    SimpleCryptoEnabled,
    /// A program of nova, cinder or glance is installed (the consumers pack).
    ConsumersInstalled,
    /// A program of octavia is installed (KMC-010..012).
    OctaviaInstalled,
    /// A program of nova, cinder, glance or octavia is installed (KMC-007/008).
    AnyConsumerInstalled,
}

impl Condition {
    /// Every condition with its TOML name.
    pub const ALL: &'static [(&'static str, Condition)] = &[
        ("barbican-installed", Condition::BarbicanInstalled),
        ("simple-crypto-enabled", Condition::SimpleCryptoEnabled),
        ("consumers-installed", Condition::ConsumersInstalled),
        ("octavia-installed", Condition::OctaviaInstalled),
        ("any-consumer-installed", Condition::AnyConsumerInstalled),
    ];

    /// The condition named `name` in TOML.
    pub fn from_name(name: &str) -> Option<Condition> {
        Condition::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
    }

    /// What a check that does not apply is about (the subject of its `na`).
    pub fn subject(self) -> &'static str {
        match self {
            Condition::BarbicanInstalled | Condition::SimpleCryptoEnabled => "barbican",
            Condition::ConsumersInstalled => "nova, cinder, glance",
            Condition::OctaviaInstalled => "octavia",
            Condition::AnyConsumerInstalled => "nova, cinder, glance, octavia",
        }
    }

    /// Why the condition does not hold on this host, or `None` when it does.
    pub fn unmet(self, facts: &Facts<'_>) -> Option<String> {
        match self {
            Condition::SimpleCryptoEnabled => {
                let sc = crate::barbican::crypto::simple_crypto(facts.config());
                (!sc.in_effect).then(|| format!("simple_crypto not enabled: {}", sc.why))
            }
            Condition::ConsumersInstalled => crate::consumers::none_installed(facts.consumers()),
            Condition::OctaviaInstalled => {
                crate::consumers::octavia_not_installed(facts.consumers())
            }
            Condition::AnyConsumerInstalled => facts.consumers().is_empty().then(|| {
                "nova, cinder, glance and octavia are not installed: none of their programs' \
                 packages in dpkg status, no init script or uwsgi ini of theirs, no nova.conf, \
                 cinder.conf, glance-api.conf or octavia.conf in /etc"
                    .to_string()
            }),
            Condition::BarbicanInstalled => {
                let installed = facts.installed().version.is_some()
                    || facts.host.exists(Path::new("/etc/barbican"))
                    || !facts.config().files.is_empty();
                (!installed).then(|| {
                    "barbican not installed: no barbican package in dpkg status, no barbican \
                     Python metadata, no /etc/barbican and no barbican.conf in the oslo.config \
                     search path"
                        .to_string()
                })
            }
        }
    }
}

/// The first of `conditions` that does not hold, with why, or `None` when
/// all hold.
pub fn first_unmet(conditions: &[Condition], facts: &Facts<'_>) -> Option<(Condition, String)> {
    conditions
        .iter()
        .find_map(|c| c.unmet(facts).map(|why| (*c, why)))
}
