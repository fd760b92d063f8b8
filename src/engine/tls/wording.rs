//! A failed handshake in words: the alert, or why the certificate was refused
//! ("certificate expired on …", "name mismatch: certificate is for …").

use std::fmt;

use chrono::{DateTime, Utc};
use rustls::pki_types::{ServerName, UnixTime};
use rustls::{AlertDescription, CertificateError, Error, InvalidMessage, PeerIncompatible};

/// One line saying why the handshake failed.
pub(crate) fn describe_tls_error(error: &Error) -> String {
    match error {
        Error::InvalidCertificate(cert) => describe_certificate_error(cert),
        Error::AlertReceived(alert) => format!("the peer sent alert: {}", alert_name(*alert)),
        Error::InvalidMessage(
            InvalidMessage::InvalidContentType
            | InvalidMessage::UnknownProtocolVersion
            | InvalidMessage::MessageTooLarge,
        ) => "not TLS (the peer sent something else)".into(),
        Error::InvalidMessage(message) => {
            format!("the peer sent a malformed message ({message:?})")
        }
        Error::NoCertificatesPresented => "the peer sent no certificate".into(),
        Error::NoApplicationProtocol => "no ALPN protocol in common".into(),
        Error::DecryptError => "a record could not be decrypted (corrupted or forged)".into(),
        Error::PeerSentOversizedRecord => "the peer sent an oversized record".into(),
        Error::PeerIncompatible(PeerIncompatible::NoCipherSuitesInCommon) => {
            "no cipher suite in common".into()
        }
        Error::PeerIncompatible(
            PeerIncompatible::ServerDoesNotSupportTls12Or13
            | PeerIncompatible::Tls12NotOffered
            | PeerIncompatible::Tls12NotOfferedOrEnabled
            | PeerIncompatible::SupportedVersionsExtensionRequired,
        ) => "no TLS version in common (socklab speaks TLS 1.2 and 1.3)".into(),
        Error::PeerIncompatible(other) => format!("the peer is incompatible: {other:?}"),
        Error::PeerMisbehaved(other) => format!("the peer broke the protocol: {other:?}"),
        Error::InappropriateMessage { .. } | Error::InappropriateHandshakeMessage { .. } => {
            "the peer sent an unexpected message".into()
        }
        other => other.to_string(),
    }
}

/// Why a certificate was refused.
fn describe_certificate_error(error: &CertificateError) -> String {
    match error {
        CertificateError::ExpiredContext { time, not_after } => format!(
            "certificate expired on {} (it is now {})",
            day(*not_after),
            day(*time)
        ),
        CertificateError::Expired => "certificate expired".into(),
        CertificateError::NotValidYetContext { time, not_before } => format!(
            "certificate not valid yet: valid from {} (it is now {})",
            day(*not_before),
            day(*time)
        ),
        CertificateError::NotValidYet => "certificate not valid yet".into(),
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => format!(
            "name mismatch: certificate is for {}, not {}",
            if presented.is_empty() {
                "no name".to_string()
            } else {
                presented
                    .iter()
                    .map(|name| unquoted(name))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            ServerNameText(expected)
        ),
        CertificateError::NotValidForName => {
            "name mismatch: certificate is for another name".into()
        }
        CertificateError::UnknownIssuer => {
            "certificate not trusted: unknown issuer (self-signed?)".into()
        }
        CertificateError::BadSignature => "certificate has a bad signature".into(),
        CertificateError::BadEncoding => "certificate is malformed".into(),
        CertificateError::Revoked => "certificate revoked".into(),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "certificate not valid for this purpose (server or client authentication)".into()
        }
        other => format!("certificate refused: {other:?}"),
    }
}

/// rustls quotes DNS names (`DnsName("a.example")`) in `presented`; a person reads the name.
fn unquoted(name: &str) -> String {
    let inner = name
        .strip_prefix("DnsName(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
        .or_else(|| {
            name.strip_prefix("IpAddress(")
                .and_then(|rest| rest.strip_suffix(')'))
        });
    inner.unwrap_or(name).to_string()
}

struct ServerNameText<'a>(&'a ServerName<'a>);

impl fmt::Display for ServerNameText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            ServerName::DnsName(name) => write!(f, "{}", name.as_ref()),
            ServerName::IpAddress(ip) => write!(f, "{}", std::net::IpAddr::from(*ip)),
            other => write!(f, "{other:?}"),
        }
    }
}

fn day(time: UnixTime) -> String {
    let seconds = i64::try_from(time.as_secs()).unwrap_or(i64::MAX);
    DateTime::<Utc>::from_timestamp(seconds, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| format!("{seconds} s after 1970"))
}

/// `HandshakeFailure` → `handshake_failure`, as the TLS specification names alerts.
fn alert_name(alert: AlertDescription) -> String {
    let camel = format!("{alert:?}");
    let mut snake = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                snake.push('_');
            }
            snake.push(c.to_ascii_lowercase());
        } else {
            snake.push(c);
        }
    }
    snake
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn alerts_are_named_as_the_specification_names_them() {
        let error = Error::AlertReceived(AlertDescription::HandshakeFailure);
        assert_eq!(
            describe_tls_error(&error),
            "the peer sent alert: handshake_failure"
        );
        let error = Error::AlertReceived(AlertDescription::CertificateRequired);
        assert_eq!(
            describe_tls_error(&error),
            "the peer sent alert: certificate_required"
        );
    }

    #[test]
    fn an_expired_certificate_says_when() {
        let error = Error::InvalidCertificate(CertificateError::ExpiredContext {
            time: UnixTime::since_unix_epoch(Duration::from_secs(1_767_225_600)), // 2026-01-01
            not_after: UnixTime::since_unix_epoch(Duration::from_secs(1_735_776_000)), // 2025-01-02
        });
        assert_eq!(
            describe_tls_error(&error),
            "certificate expired on 2025-01-02 (it is now 2026-01-01)"
        );
    }

    #[test]
    fn a_name_mismatch_lists_the_certificates_names() {
        let error = Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected: ServerName::try_from("c.example").unwrap(),
            presented: vec![
                "DnsName(\"a.example\")".into(),
                "DnsName(\"b.example\")".into(),
            ],
        });
        assert_eq!(
            describe_tls_error(&error),
            "name mismatch: certificate is for a.example, b.example, not c.example"
        );
    }

    #[test]
    fn other_bytes_than_tls_are_called_not_tls() {
        let error = Error::InvalidMessage(InvalidMessage::InvalidContentType);
        assert_eq!(
            describe_tls_error(&error),
            "not TLS (the peer sent something else)"
        );
        let error = Error::InvalidCertificate(CertificateError::UnknownIssuer);
        assert!(describe_tls_error(&error).contains("unknown issuer (self-signed?)"));
    }
}
