//! The seam between the reactor and what carries the bytes. The reactor's session
//! lifecycle, events, counters, captures, repeats, file transfers and send queues work on
//! these traits, not on a concrete socket type; a transport (TCP and TLS today; Unix
//! sockets next) implements them in its own file. See the engine's module doc for how to
//! add one.

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use mio::event::Source;

use super::options::OptionsInEffect;
use super::tls::TlsInfo;

/// A connected byte stream the net thread watches with mio, reads, writes and closes.
/// Non-blocking: `read` and `write_vectored` return `WouldBlock` when the kernel has
/// nothing to give or no room.
pub(crate) trait Stream: Read + Write + Source + Send {
    fn local_addr(&self) -> io::Result<SocketAddr>;
    fn peer_addr(&self) -> io::Result<SocketAddr>;
    /// A connect in progress that failed reports its error here.
    fn take_error(&self) -> io::Result<Option<io::Error>>;
    /// Ends our sending half; the peer reads end-of-stream, we can still read.
    fn shutdown_write(&mut self) -> io::Result<()>;
    /// Makes dropping the stream an abort (TCP: RST instead of FIN). Best effort.
    fn set_abortive(&self);
    /// The socket options in effect, read back from the kernel.
    fn options_in_effect(&self) -> OptionsInEffect;
    fn is_tls(&self) -> bool {
        false
    }
    /// Bytes of the transport's own (TLS records: handshake, alerts, encrypted data)
    /// wait to be written even if no payload is queued.
    fn wants_write(&self) -> bool {
        false
    }
    /// Writes the transport's own waiting bytes as far as the kernel takes them
    /// (`WouldBlock` is not an error here: the rest goes on the next writable event).
    fn flush_transport(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// TLS: the handshake has just finished; its details, given once.
    fn take_handshake(&mut self) -> Option<TlsInfo> {
        None
    }
}

/// A listening socket that hands out connected streams.
pub(crate) trait Listener: Source + Send {
    fn local_addr(&self) -> io::Result<SocketAddr>;
    /// The next waiting connection; `WouldBlock` when none waits.
    fn accept(&self) -> io::Result<(Box<dyn Stream>, SocketAddr)>;
    /// The socket options in effect, read back from the kernel.
    fn options_in_effect(&self) -> OptionsInEffect;
}
