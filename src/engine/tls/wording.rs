//! A failed handshake in words: the alert, or why the certificate was refused
//! ("certificate expired on …", "name mismatch: certificate is for …").

/// One line saying why the handshake failed.
pub(crate) fn describe_tls_error(error: &rustls::Error) -> String {
    let _ = error;
    todo!("tls: describe error")
}
