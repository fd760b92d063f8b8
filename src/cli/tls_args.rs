//! `--tls` and its companions: a TCP session's TLS settings on the command line, checked
//! before anything opens (exit 2): flags without `--tls` or for the other side are refused,
//! and the configuration is built once here, so a missing or unreadable file is named
//! with its reason before a socket opens.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::Failure;
use crate::engine::parse_endpoint;
use crate::engine::tls::{
    CertFiles, ClientCerts, ServerIdentity, TlsClientSetup, TlsServerSetup, Verify,
    check_client_setup, check_server_setup,
};

#[derive(Args, Debug, Default)]
pub struct TlsArgs {
    /// Speak TLS (1.2 or 1.3). The other TLS flags need it.
    #[arg(long)]
    pub tls: bool,
    /// Client: the name sent as SNI and checked against the server's certificate.
    /// Default: the host typed (an IP address is checked as an IP and sends no SNI).
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,
    /// ALPN protocols in order of preference, comma-separated or repeated:
    /// --alpn h2,http/1.1.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub alpn: Vec<String>,
    /// Client: trust the CA certificates (PEM) in FILE instead of the system's.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Client: do not verify the server's certificate (anyone could pretend to be it).
    #[arg(long)]
    pub insecure: bool,
    /// A certificate chain (PEM, leaf first): the server's own (else a self-signed one is
    /// made), or the client's, offered when the server asks. Needs --key.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// The private key (PEM) of --cert.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Server without --cert: a name for its self-signed certificate (a DNS name or an IP
    /// address; repeatable). Default: localhost and the listen address's IP (127.0.0.1 or
    /// ::1 for a wildcard address).
    #[arg(long = "tls-name", value_name = "NAME")]
    pub tls_names: Vec<String>,
    /// Server: ask clients for a certificate: `request` (a client without one is still
    /// served) or `require`.
    #[arg(long, value_name = "HOW")]
    pub client_cert: Option<ClientCertArg>,
    /// Server: the CA certificates (PEM) client certificates must chain to. Needed by
    /// --client-cert require; with request and no CA, any certificate is taken and shown
    /// as unverified.
    #[arg(long, value_name = "FILE")]
    pub client_ca: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ClientCertArg {
    Request,
    Require,
}

impl TlsArgs {
    /// The TLS flags given, by name.
    fn given(&self) -> Vec<&'static str> {
        let mut given = Vec::new();
        let flags: [(&'static str, bool); 10] = [
            ("--sni", self.sni.is_some()),
            ("--alpn", !self.alpn.is_empty()),
            ("--ca", self.ca.is_some()),
            ("--insecure", self.insecure),
            ("--cert", self.cert.is_some()),
            ("--key", self.key.is_some()),
            ("--tls-name", !self.tls_names.is_empty()),
            ("--client-cert", self.client_cert.is_some()),
            ("--client-ca", self.client_ca.is_some()),
            ("--tls", self.tls),
        ];
        for (name, present) in flags {
            if present {
                given.push(name);
            }
        }
        given
    }

    /// Refuses TLS flags without `--tls`, and those of the other side.
    fn check_flags(&self, others: &[&str], command: &str) -> Result<bool, Failure> {
        let given = self.given();
        if !self.tls {
            if let Some(flag) = given.first() {
                return Err(Failure::usage(format!("{flag} needs --tls")));
            }
            return Ok(false);
        }
        if let Some(flag) = given.iter().find(|flag| others.contains(flag)) {
            return Err(Failure::usage(format!(
                "{flag} is not for `socklab {command}`"
            )));
        }
        if self.cert.is_some() != self.key.is_some() {
            return Err(Failure::usage("--cert and --key go together".into()));
        }
        Ok(true)
    }

    fn cert_files(&self) -> Option<CertFiles> {
        Some(CertFiles {
            chain: self.cert.clone()?,
            key: self.key.clone()?,
        })
    }

    /// A client's TLS settings, if `--tls`; the flags a client cannot use are refused, and
    /// the files are read once to check them.
    pub(super) fn client_setup(&self) -> Result<Option<TlsClientSetup>, Failure> {
        let server_only = ["--tls-name", "--client-cert", "--client-ca"];
        if !self.check_flags(&server_only, "client")? {
            return Ok(None);
        }
        let verify = match (&self.ca, self.insecure) {
            (Some(_), true) => {
                return Err(Failure::usage(
                    "--ca and --insecure contradict each other".into(),
                ));
            }
            (Some(ca), false) => Verify::CaFile(ca.clone()),
            (None, true) => Verify::Off,
            (None, false) => Verify::SystemRoots,
        };
        let setup = TlsClientSetup {
            server_name: self.sni.clone().unwrap_or_default(),
            alpn: self.alpn.clone(),
            verify,
            client_cert: self.cert_files(),
        };
        check_client_setup(&setup).map_err(Failure::usage)?;
        Ok(Some(setup))
    }

    /// A server listening on `addr` (as typed): its TLS settings, if `--tls`; the flags a
    /// server cannot use are refused, and the files are read once to check them.
    pub(super) fn server_setup(&self, addr: &str) -> Result<Option<TlsServerSetup>, Failure> {
        let client_only = ["--sni", "--ca", "--insecure"];
        if !self.check_flags(&client_only, "server")? {
            return Ok(None);
        }
        if self.cert.is_some() && !self.tls_names.is_empty() {
            return Err(Failure::usage(
                "--tls-name names a self-signed certificate; with --cert the certificate \
                 names itself"
                    .into(),
            ));
        }
        let identity = match self.cert_files() {
            Some(files) => ServerIdentity::Files(files),
            None if self.tls_names.is_empty() => ServerIdentity::SelfSigned {
                names: default_names(addr),
            },
            None => ServerIdentity::SelfSigned {
                names: self.tls_names.clone(),
            },
        };
        let client_certs = match self.client_cert {
            None => ClientCerts::NotAsked,
            Some(ClientCertArg::Request) => ClientCerts::Requested,
            Some(ClientCertArg::Require) => ClientCerts::Required,
        };
        if client_certs == ClientCerts::Required && self.client_ca.is_none() {
            return Err(Failure::usage(
                "--client-cert require needs --client-ca FILE (the CA client certificates \
                 must chain to)"
                    .into(),
            ));
        }
        if client_certs == ClientCerts::NotAsked && self.client_ca.is_some() {
            return Err(Failure::usage(
                "--client-ca needs --client-cert request or require".into(),
            ));
        }
        let setup = TlsServerSetup {
            identity,
            alpn: self.alpn.clone(),
            client_certs,
            client_ca: self.client_ca.clone(),
        };
        check_server_setup(&setup).map_err(Failure::usage)?;
        Ok(Some(setup))
    }
}

/// A self-signed certificate's names when none are given: `localhost`, and the listen
/// address's IP (loopback for a wildcard address).
fn default_names(addr: &str) -> Vec<String> {
    let mut names = vec!["localhost".to_string()];
    if let Some(ip) = parse_endpoint(addr)
        .ok()
        .and_then(|e| e.literal())
        .map(|a| a.ip())
    {
        let ip = match ip {
            std::net::IpAddr::V4(v4) if v4.is_unspecified() => {
                std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
            }
            std::net::IpAddr::V6(v6) if v6.is_unspecified() => {
                std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
            }
            other => other,
        };
        names.push(ip.to_string());
    }
    names
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        tls: TlsArgs,
    }

    fn args(line: &[&str]) -> TlsArgs {
        let mut all = vec!["socklab"];
        all.extend_from_slice(line);
        Cli::try_parse_from(all).unwrap().tls
    }

    fn usage(result: Result<impl std::fmt::Debug, Failure>) -> String {
        let failure = result.unwrap_err();
        assert_eq!(failure.code, 2, "{failure:?}");
        failure.message
    }

    #[test]
    fn flags_without_tls_are_refused_by_name() {
        assert_eq!(
            usage(args(&["--alpn", "h2"]).client_setup()),
            "--alpn needs --tls"
        );
        assert_eq!(
            usage(args(&["--client-cert", "require"]).server_setup("0")),
            "--client-cert needs --tls"
        );
        assert_eq!(args(&[]).client_setup().unwrap(), None);
    }

    #[test]
    fn each_side_refuses_the_others_flags() {
        assert_eq!(
            usage(args(&["--tls", "--tls-name", "a"]).client_setup()),
            "--tls-name is not for `socklab client`"
        );
        assert_eq!(
            usage(args(&["--tls", "--insecure"]).server_setup("127.0.0.1:0")),
            "--insecure is not for `socklab server`"
        );
        assert_eq!(
            usage(args(&["--tls", "--ca", "a.pem", "--insecure"]).client_setup()),
            "--ca and --insecure contradict each other"
        );
        assert_eq!(
            usage(args(&["--tls", "--cert", "a.pem"]).client_setup()),
            "--cert and --key go together"
        );
        assert!(
            usage(args(&["--tls", "--client-cert", "require"]).server_setup("127.0.0.1:0"))
                .contains("needs --client-ca")
        );
    }

    #[test]
    fn a_missing_file_is_named_before_anything_opens() {
        let message = usage(args(&["--tls", "--ca", "/nonexistent/ca.pem"]).client_setup());
        assert_eq!(
            message,
            "CA file /nonexistent/ca.pem: cannot read: No such file or directory"
        );
    }

    #[test]
    fn alpn_takes_a_comma_list_and_repeats() {
        let setup = args(&[
            "--tls",
            "--insecure",
            "--alpn",
            "h2,http/1.1",
            "--alpn",
            "x",
        ])
        .client_setup()
        .unwrap()
        .unwrap();
        assert_eq!(setup.alpn, ["h2", "http/1.1", "x"]);
        assert_eq!(setup.verify, Verify::Off);
    }

    #[test]
    fn a_self_signed_server_is_named_localhost_and_its_address() {
        let setup = args(&["--tls"])
            .server_setup("127.0.0.1:0")
            .unwrap()
            .unwrap();
        assert_eq!(
            setup.identity,
            ServerIdentity::SelfSigned {
                names: vec!["localhost".into(), "127.0.0.1".into()]
            }
        );
        assert_eq!(default_names("[::]:443"), ["localhost", "::1"]);
        assert_eq!(default_names("example.test:443"), ["localhost"]);
        let named = args(&["--tls", "--tls-name", "a.test", "--tls-name", "10.0.0.1"])
            .server_setup("0.0.0.0:0")
            .unwrap()
            .unwrap();
        assert_eq!(
            named.identity,
            ServerIdentity::SelfSigned {
                names: vec!["a.test".into(), "10.0.0.1".into()]
            }
        );
    }
}
