//! TLS (rustls with the ring provider): how a session asks for it ([`TlsClientSetup`],
//! [`TlsServerSetup`], kept with the socket's settings), what a finished handshake reports
//! ([`TlsInfo`], with the peer's chain as [`CertSummary`]s), and the stream transport that
//! carries it over TCP (`stream.rs`). Configurations are built on the net thread when a
//! session starts (`config.rs`), so a bad file is a failed start with its reason.

mod certs;
mod config;
mod stream;
mod wording;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use certs::{SelfSigned, self_signed};
pub(crate) use config::{ClientConfigs, ServerConfigs};
pub(crate) use stream::{connect, listen, tls_failure};

/// Builds a client's configuration as a connect would (reading every file it names), to
/// report a bad file where it was typed; the reason names the file.
pub fn check_client_setup(setup: &TlsClientSetup) -> Result<(), String> {
    ClientConfigs::build(setup).map(|_| ())
}

/// Builds a server's configuration as a listen would, to report a bad file where it was
/// typed; the reason names the file.
pub fn check_server_setup(setup: &TlsServerSetup) -> Result<(), String> {
    ServerConfigs::build(setup).map(|_| ())
}

/// A TLS client session's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsClientSetup {
    /// Sent as SNI and checked against the certificate; empty: the host of the address
    /// typed (an IP literal is checked as an IP address and sends no SNI).
    pub server_name: String,
    /// ALPN protocols offered, in order of preference (e.g. `h2`, `http/1.1`).
    pub alpn: Vec<String>,
    pub verify: Verify,
    /// A certificate chain and key (PEM) offered when the server asks for one.
    pub client_cert: Option<CertFiles>,
}

/// How a client checks the server's certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verify {
    /// Against the system's trusted roots.
    #[default]
    SystemRoots,
    /// Against the CA certificates (PEM) in this file.
    CaFile(PathBuf),
    /// Not at all: anyone can pretend to be the server. The session shows a warning.
    Off,
}

/// A certificate chain (leaf first) and its private key, PEM files.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CertFiles {
    pub chain: PathBuf,
    pub key: PathBuf,
}

/// A TLS server session's settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsServerSetup {
    pub identity: ServerIdentity,
    /// ALPN protocols accepted, in order of preference; empty: no ALPN.
    pub alpn: Vec<String>,
    pub client_certs: ClientCerts,
    /// CA certificates (PEM) that client certificates must chain to; `None` with
    /// `Requested`: any certificate is taken and shown, unverified.
    pub client_ca: Option<PathBuf>,
}

impl Default for TlsServerSetup {
    fn default() -> Self {
        TlsServerSetup {
            identity: ServerIdentity::SelfSigned {
                names: vec!["localhost".into()],
            },
            alpn: Vec::new(),
            client_certs: ClientCerts::NotAsked,
            client_ca: None,
        }
    }
}

/// Where a server's certificate comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerIdentity {
    /// Made when the server starts (rcgen), for these DNS names or IP addresses.
    SelfSigned { names: Vec<String> },
    /// Loaded from PEM files.
    Files(CertFiles),
}

/// Whether a server asks its clients for a certificate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientCerts {
    #[default]
    NotAsked,
    /// Asked; a client without one is still served.
    Requested,
    /// Asked; a client without a valid one fails the handshake.
    Required,
}

/// What a finished handshake agreed on, and who the peer is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLS 1.3` or `TLS 1.2`.
    pub version: String,
    /// e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    /// The ALPN protocol agreed on, if any.
    pub alpn: Option<String>,
    /// The SNI the client sent (server side) or sent (client side).
    pub server_name: Option<String>,
    /// The peer's certificates, leaf first (empty when it sent none).
    pub peer_certificates: Vec<CertSummary>,
    /// Set when the peer was not verified (verification off, or an unverified client
    /// certificate), in words for a warning on the session.
    pub unverified: Option<String>,
}

/// One certificate of a chain, as a person reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    /// Subject alternative names: DNS names and IP addresses.
    pub names: Vec<String>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// SHA-256 of the DER, as colon-separated upper-case hex.
    pub sha256: String,
}

impl CertSummary {
    /// Whole days from `now` until it expires (negative once expired).
    pub fn days_left(&self, now: DateTime<Utc>) -> i64 {
        (self.not_after - now).num_days()
    }
}
