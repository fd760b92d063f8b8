//! rustls configurations built from a session's setup, on the net thread when it starts.
//! Every error names the file and what is wrong with it.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    ClientConfig, DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig,
    SignatureScheme,
};

use super::certs::self_signed;
use super::{ClientCerts, ServerIdentity, TlsClientSetup, TlsServerSetup, Verify};

/// Said on a session whose server was not verified.
pub(crate) const SERVER_UNVERIFIED: &str =
    "the server's certificate was not verified (verification off): anyone could pretend to be it";
/// Said on a connection whose client certificate was taken without a CA to check it.
pub(crate) const CLIENT_UNVERIFIED: &str =
    "the client's certificate was not verified (no client CA file given)";

/// A client's configuration and the name it checks, ready for each connect.
#[derive(Clone)]
pub(crate) struct ClientConfigs {
    pub config: Arc<ClientConfig>,
    /// The name sent as SNI and checked against the certificate; set at connect time from
    /// the setup's name or the host typed ([`ClientConfigs::aim_at`]).
    pub server_name: ServerName<'static>,
    /// The setup's own name (empty: use the host typed).
    configured_name: String,
    /// Set when verification is off: every handshake reports it.
    pub unverified: Option<&'static str>,
}

impl ClientConfigs {
    pub fn build(setup: &TlsClientSetup) -> Result<ClientConfigs, String> {
        let provider = provider();
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?;
        let builder = match &setup.verify {
            Verify::SystemRoots => builder.with_root_certificates(system_roots()?),
            Verify::CaFile(path) => builder.with_root_certificates(roots_from(path, "CA file")?),
            Verify::Off => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyServer(provider))),
        };
        let mut config = match &setup.client_cert {
            Some(files) => {
                let chain = load_chain(&files.chain)?;
                let key = load_key(&files.key)?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    format!(
                        "certificate file {} and key file {}: {e}",
                        files.chain.display(),
                        files.key.display()
                    )
                })?
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = alpn_list(&setup.alpn)?;
        let configured_name = setup.server_name.trim().to_string();
        let server_name = if configured_name.is_empty() {
            ServerName::try_from("localhost").expect("a valid name")
        } else {
            server_name(&configured_name)?
        };
        Ok(ClientConfigs {
            config: Arc::new(config),
            server_name,
            configured_name,
            unverified: (setup.verify == Verify::Off).then_some(SERVER_UNVERIFIED),
        })
    }

    /// Takes the host as typed as the server's name, unless the setup named one.
    pub fn aim_at(&mut self, host: &str) -> Result<(), String> {
        if self.configured_name.is_empty() {
            self.server_name = server_name(host)?;
        }
        Ok(())
    }
}

/// A name as typed → what rustls checks: an IP literal (in brackets or not) is checked as
/// an IP address (and sends no SNI), anything else as a DNS name.
fn server_name(typed: &str) -> Result<ServerName<'static>, String> {
    let bare = typed
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(typed);
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(bare.to_string())
        .map_err(|_| format!("TLS server name {typed:?} is not a valid DNS name or IP address"))
}

/// A server's configuration, shared by every accepted connection.
#[derive(Clone)]
pub(crate) struct ServerConfigs {
    pub config: Arc<ServerConfig>,
    /// Set when client certificates are taken without a CA: a connection whose client
    /// sent one reports it.
    pub unverified_clients: Option<&'static str>,
}

impl ServerConfigs {
    pub fn build(setup: &TlsServerSetup) -> Result<ServerConfigs, String> {
        let provider = provider();
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?;
        let mut unverified_clients = None;
        let builder = match (setup.client_certs, &setup.client_ca) {
            (ClientCerts::NotAsked, _) => builder.with_no_client_auth(),
            (ClientCerts::Requested | ClientCerts::Required, Some(ca)) => {
                let roots = Arc::new(roots_from(ca, "client CA file")?);
                let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider);
                let verifier = if setup.client_certs == ClientCerts::Requested {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                let verifier = verifier
                    .build()
                    .map_err(|e| format!("client CA file {}: {e}", ca.display()))?;
                builder.with_client_cert_verifier(verifier)
            }
            (ClientCerts::Requested, None) => {
                unverified_clients = Some(CLIENT_UNVERIFIED);
                builder.with_client_cert_verifier(Arc::new(AnyClient(provider)))
            }
            (ClientCerts::Required, None) => {
                return Err(
                    "client certificates are required but no client CA file was given".into(),
                );
            }
        };
        let (chain, key) = match &setup.identity {
            ServerIdentity::SelfSigned { names } => {
                let made = self_signed(names)?;
                let chain = CertificateDer::pem_slice_iter(made.cert_pem.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("self-signed certificate: {e}"))?;
                let key = PrivateKeyDer::from_pem_slice(made.key_pem.as_bytes())
                    .map_err(|e| format!("self-signed certificate's key: {e}"))?;
                (chain, key)
            }
            ServerIdentity::Files(files) => (load_chain(&files.chain)?, load_key(&files.key)?),
        };
        let mut config =
            builder
                .with_single_cert(chain, key)
                .map_err(|e| match &setup.identity {
                    ServerIdentity::Files(files) => format!(
                        "certificate file {} and key file {}: {e}",
                        files.chain.display(),
                        files.key.display()
                    ),
                    ServerIdentity::SelfSigned { .. } => format!("self-signed certificate: {e}"),
                })?;
        config.alpn_protocols = alpn_list(&setup.alpn)?;
        Ok(ServerConfigs {
            config: Arc::new(config),
            unverified_clients,
        })
    }
}

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

fn alpn_list(protocols: &[String]) -> Result<Vec<Vec<u8>>, String> {
    protocols
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|p| {
            if p.len() > 255 {
                Err(format!("ALPN protocol {p:?} is longer than 255 bytes"))
            } else {
                Ok(p.as_bytes().to_vec())
            }
        })
        .collect()
}

/// The system's trusted roots, read once per process.
fn system_roots() -> Result<RootCertStore, String> {
    static ROOTS: OnceLock<Result<RootCertStore, String>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            let mut roots = RootCertStore::empty();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                let why = found
                    .errors
                    .first()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default();
                return Err(format!(
                    "no trusted root certificates were found on this system{why}: give a CA \
                     file, or turn verification off"
                ));
            }
            Ok(roots)
        })
        .clone()
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        let text = e.to_string();
        let text = text.split(" (os error").next().unwrap_or(&text).to_string();
        format!("{what} {}: cannot read: {text}", path.display())
    })
}

fn roots_from(path: &Path, what: &str) -> Result<RootCertStore, String> {
    let pem = read_file(path, what)?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| format!("{what} {}: {e}", path.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("{what} {}: {e}", path.display()))?;
    }
    if roots.is_empty() {
        return Err(format!("{what} {}: no certificate found", path.display()));
    }
    Ok(roots)
}

fn load_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let what = "certificate file";
    let pem = read_file(path, what)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{what} {}: {e}", path.display()))?;
    if chain.is_empty() {
        return Err(format!("{what} {}: no certificate found", path.display()));
    }
    Ok(chain)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let what = "key file";
    let pem = read_file(path, what)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            format!("{what} {}: no private key found", path.display())
        }
        other => format!("{what} {}: {other}", path.display()),
    })
}

/// Verification off: any certificate is taken, but the handshake's signatures are still
/// checked (the peer must hold the key of the certificate it sent).
#[derive(Debug)]
struct AnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &algorithms(&self.0))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &algorithms(&self.0))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        algorithms(&self.0).supported_schemes()
    }
}

/// Client certificates asked for without a CA: whatever a client sends is taken (and
/// shown, marked unverified); a client without one is served too.
#[derive(Debug)]
struct AnyClient(Arc<CryptoProvider>);

impl ClientCertVerifier for AnyClient {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &algorithms(&self.0))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &algorithms(&self.0))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        algorithms(&self.0).supported_schemes()
    }
}

fn algorithms(provider: &CryptoProvider) -> WebPkiSupportedAlgorithms {
    provider.signature_verification_algorithms
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::engine::tls::CertFiles;

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_missing_ca_file_is_named_with_the_reason() {
        let setup = TlsClientSetup {
            verify: Verify::CaFile("/nonexistent/ca.pem".into()),
            ..Default::default()
        };
        let error = ClientConfigs::build(&setup).err().unwrap();
        assert_eq!(
            error,
            "CA file /nonexistent/ca.pem: cannot read: No such file or directory"
        );
    }

    #[test]
    fn files_without_what_they_should_hold_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let empty = write(&dir, "empty.pem", "nothing here\n");
        let made = self_signed(&["localhost".into()]).unwrap();
        let cert = write(&dir, "cert.pem", &made.cert_pem);
        let setup = TlsServerSetup {
            identity: ServerIdentity::Files(CertFiles {
                chain: empty.clone(),
                key: empty.clone(),
            }),
            ..Default::default()
        };
        let error = ServerConfigs::build(&setup).err().unwrap();
        assert_eq!(
            error,
            format!("certificate file {}: no certificate found", empty.display())
        );
        let setup = TlsServerSetup {
            identity: ServerIdentity::Files(CertFiles {
                chain: cert,
                key: empty.clone(),
            }),
            ..Default::default()
        };
        let error = ServerConfigs::build(&setup).err().unwrap();
        assert_eq!(
            error,
            format!("key file {}: no private key found", empty.display())
        );
    }

    #[test]
    fn required_client_certificates_need_a_ca() {
        let setup = TlsServerSetup {
            client_certs: ClientCerts::Required,
            ..Default::default()
        };
        let error = ServerConfigs::build(&setup).err().unwrap();
        assert!(error.contains("no client CA file"), "{error}");
    }

    #[test]
    fn the_name_checked_is_the_host_typed_unless_one_is_given() {
        let mut configs = ClientConfigs::build(&TlsClientSetup {
            verify: Verify::Off,
            ..Default::default()
        })
        .unwrap();
        configs.aim_at("127.0.0.1").unwrap();
        assert!(matches!(configs.server_name, ServerName::IpAddress(_)));
        configs.aim_at("::1").unwrap();
        assert!(matches!(configs.server_name, ServerName::IpAddress(_)));
        configs.aim_at("example.test").unwrap();
        assert_eq!(configs.server_name.to_str(), "example.test");
        assert_eq!(configs.unverified, Some(SERVER_UNVERIFIED));
        let mut named = ClientConfigs::build(&TlsClientSetup {
            verify: Verify::Off,
            server_name: "other.test".into(),
            alpn: vec!["h2".into(), "http/1.1".into()],
            ..Default::default()
        })
        .unwrap();
        named.aim_at("127.0.0.1").unwrap();
        assert_eq!(named.server_name.to_str(), "other.test");
        assert_eq!(
            named.config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }
}
