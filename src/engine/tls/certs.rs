//! Certificates: a self-signed one made on demand (rcgen), and a chain summarised for a
//! person (x509-parser, SHA-256 by ring).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::{DateTime, Utc};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use super::CertSummary;

/// A self-signed certificate and its key, PEM.
#[derive(Clone, Debug)]
pub struct SelfSigned {
    pub cert_pem: String,
    pub key_pem: String,
}

/// Makes a self-signed certificate for `names` (DNS names or IP addresses).
pub fn self_signed(names: &[String]) -> Result<SelfSigned, String> {
    let names: Vec<String> = names
        .iter()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .collect();
    if names.is_empty() {
        return Err("a self-signed certificate needs at least one name".into());
    }
    let made = rcgen::generate_simple_self_signed(names.clone()).map_err(|e| {
        format!(
            "cannot make a self-signed certificate for {}: {e}",
            names.join(", ")
        )
    })?;
    Ok(SelfSigned {
        cert_pem: made.cert.pem(),
        key_pem: made.signing_key.serialize_pem(),
    })
}

/// A person's view of one DER certificate; unparseable ones say so in `subject`.
pub(crate) fn summarise(der: &[u8]) -> CertSummary {
    let sha256 = fingerprint(der);
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return CertSummary {
            subject: "(a certificate that could not be parsed)".into(),
            issuer: String::new(),
            names: Vec::new(),
            not_before: DateTime::<Utc>::UNIX_EPOCH,
            not_after: DateTime::<Utc>::UNIX_EPOCH,
            sha256,
        };
    };
    let names = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|name| match name {
                GeneralName::DNSName(dns) => Some(dns.to_string()),
                GeneralName::IPAddress(bytes) => ip_from_bytes(bytes).map(|ip| ip.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let time = |t: i64| DateTime::<Utc>::from_timestamp(t, 0).unwrap_or_default();
    CertSummary {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        names,
        not_before: time(cert.validity().not_before.timestamp()),
        not_after: time(cert.validity().not_after.timestamp()),
        sha256,
    }
}

/// SHA-256 of `der` as `AB:CD:…`.
pub(crate) fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    digest
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => {
            let octets: [u8; 4] = bytes.try_into().ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(octets)))
        }
        16 => {
            let octets: [u8; 16] = bytes.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(octets)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    use super::*;

    #[test]
    fn a_self_signed_certificate_names_its_dns_names_and_ip_addresses() {
        let made = self_signed(&["localhost".into(), "127.0.0.1".into(), "::1".into()]).unwrap();
        let der = CertificateDer::from_pem_slice(made.cert_pem.as_bytes()).unwrap();
        let summary = summarise(&der);
        assert_eq!(summary.names, ["localhost", "127.0.0.1", "::1"]);
        assert_eq!(summary.subject, summary.issuer, "self-signed");
        assert!(summary.subject.contains("CN="), "{}", summary.subject);
        assert!(summary.not_before < summary.not_after);
        assert!(made.key_pem.contains("PRIVATE KEY"));
    }

    #[test]
    fn the_fingerprint_is_colon_separated_upper_case_sha256() {
        // SHA-256 of the empty input.
        assert_eq!(
            fingerprint(b""),
            "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55"
        );
    }

    #[test]
    fn no_names_and_garbage_are_said_in_words() {
        assert!(
            self_signed(&[" ".into()])
                .unwrap_err()
                .contains("at least one name")
        );
        let summary = summarise(b"not a certificate");
        assert!(summary.subject.contains("could not be parsed"));
        assert_eq!(summary.sha256.len(), 32 * 3 - 1);
    }
}
