//! A TLS connection over a non-blocking TCP stream, as a `transport::Stream`: reads give
//! decrypted bytes, writes are encrypted, and the handshake runs as the reactor reads and
//! flushes.

use mio::net::TcpStream;

/// A TCP stream carrying a rustls client or server connection.
pub(crate) struct TlsStream {
    pub tcp: TcpStream,
    pub tls: rustls::Connection,
}
