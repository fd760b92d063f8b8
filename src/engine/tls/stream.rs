//! A TLS connection over a non-blocking TCP stream, as a `transport::Stream`: reads give
//! decrypted bytes, writes are encrypted, and the handshake runs as the reactor reads and
//! flushes.
//!
//! Bytes from TCP are read 64 KiB at a time into a buffer of the connection's own (rustls
//! would read 4 KiB per call) and handed to rustls from there; the buffer is freed whenever
//! the socket has nothing more, so an idle connection holds only rustls's own state.
//! What rustls may hold to send is bounded by [`BUFFER_LIMIT`]; past it a write says
//! `WouldBlock` like a full socket.

use std::fmt;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};

use mio::net::TcpStream;
use rustls::pki_types::ServerName;
use socket2::SockRef;

use super::TlsInfo;
use super::certs::summarise;
use super::config::{ClientConfigs, ServerConfigs};
use super::wording::describe_tls_error;
use crate::engine::options::{self, OptionsInEffect, SocketOptions};
use crate::engine::tcp;
use crate::engine::transport::{Listener, Stream};

/// Plaintext waiting to be encrypted, and records waiting for the socket, at most.
const BUFFER_LIMIT: usize = 256 * 1024;
/// Bytes read from TCP per call.
const INBOUND_CHUNK: usize = 64 * 1024;

/// Why a TLS connection failed, in words; carried inside an `io::Error` so the reactor's
/// one error path can tell it from a socket error (see [`tls_failure`]).
#[derive(Debug)]
struct TlsFailure(String);

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsFailure {}

fn failure(text: String) -> io::Error {
    io::Error::other(TlsFailure(text))
}

/// The words of a TLS failure, if `error` is one.
pub(crate) fn tls_failure(error: &io::Error) -> Option<&str> {
    error
        .get_ref()?
        .downcast_ref::<TlsFailure>()
        .map(|failure| failure.0.as_str())
}

/// A TCP stream carrying a rustls client or server connection.
pub(crate) struct TlsStream {
    pub tcp: TcpStream,
    pub tls: rustls::Connection,
    /// Bytes read from TCP, `inbound[start..end]` not yet given to rustls.
    inbound: Vec<u8>,
    start: usize,
    end: usize,
    /// An error met after some bytes were already returned: the next read gives it.
    deferred: Option<io::Error>,
    handshake_reported: bool,
    /// Said in the handshake's details: always (client, verification off), or when the
    /// client sent a certificate (server taking them without a CA).
    unverified: Option<&'static str>,
    unverified_only_with_certs: bool,
    /// The SNI a client sent.
    sent_name: Option<String>,
    close_notify_sent: bool,
    /// `shutdown_write` was asked while records still waited: the FIN follows them.
    fin_pending: bool,
    abortive: AtomicBool,
}

impl TlsStream {
    fn new(tcp: TcpStream, mut tls: rustls::Connection) -> Self {
        tls.set_buffer_limit(Some(BUFFER_LIMIT));
        TlsStream {
            tcp,
            tls,
            inbound: Vec::new(),
            start: 0,
            end: 0,
            deferred: None,
            handshake_reported: false,
            unverified: None,
            unverified_only_with_certs: false,
            sent_name: None,
            close_notify_sent: false,
            fin_pending: false,
            abortive: AtomicBool::new(false),
        }
    }

    /// A client over a TCP connect (possibly still in progress); the ClientHello waits in
    /// rustls until the socket is writable.
    pub fn client(tcp: TcpStream, configs: &ClientConfigs) -> io::Result<Self> {
        let name = configs.server_name.clone();
        let sent_name = match &name {
            ServerName::DnsName(dns) => Some(dns.as_ref().to_string()),
            _ => None,
        };
        let connection = rustls::ClientConnection::new(configs.config.clone(), name)
            .map_err(|e| failure(describe_tls_error(&e)))?;
        let mut stream = TlsStream::new(tcp, connection.into());
        stream.unverified = configs.unverified;
        stream.sent_name = sent_name;
        Ok(stream)
    }

    /// A server over an accepted TCP connection.
    pub fn server(tcp: TcpStream, configs: &ServerConfigs) -> io::Result<Self> {
        let connection = rustls::ServerConnection::new(configs.config.clone())
            .map_err(|e| failure(describe_tls_error(&e)))?;
        let mut stream = TlsStream::new(tcp, connection.into());
        stream.unverified = configs.unverified_clients;
        stream.unverified_only_with_certs = true;
        Ok(stream)
    }

    /// Writes waiting records as far as the socket takes them, then a FIN that waited for
    /// them. `WouldBlock` is not an error here.
    fn write_records(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.tcp) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.fin_pending && !self.tls.wants_write() {
            self.fin_pending = false;
            self.tcp.shutdown(Shutdown::Write)?;
        }
        Ok(())
    }

    /// `filled` bytes are ready: return them now and `error` on the next read.
    fn give(&mut self, filled: usize, error: io::Error) -> io::Result<usize> {
        if filled > 0 {
            self.deferred = Some(error);
            Ok(filled)
        } else {
            Err(error)
        }
    }

    /// Hands buffered TCP bytes to rustls and processes them; a failure queues rustls's
    /// alert and sends it at once.
    fn feed(&mut self) -> io::Result<()> {
        let mut waiting = &self.inbound[self.start..self.end];
        let taken = self.tls.read_tls(&mut waiting)?;
        self.start += taken;
        self.process()
    }

    fn process(&mut self) -> io::Result<()> {
        if let Err(error) = self.tls.process_new_packets() {
            let _ = self.write_records();
            return Err(failure(describe_tls_error(&error)));
        }
        Ok(())
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(error) = self.deferred.take() {
            return Err(error);
        }
        let mut filled = 0;
        loop {
            match self.tls.reader().read(&mut buf[filled..]) {
                // The peer's close_notify: a clean end once what came before is read.
                Ok(0) => return Ok(filled),
                Ok(n) => {
                    filled += n;
                    if filled == buf.len() {
                        return Ok(filled);
                    }
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    // TCP ended without close_notify.
                    if filled > 0 {
                        return Ok(filled);
                    }
                    if self.tls.is_handshaking() {
                        return Err(failure(
                            "the peer closed the connection during the handshake".into(),
                        ));
                    }
                    return Ok(0);
                }
                Err(e) => return self.give(filled, e),
            }
            if self.start < self.end {
                if let Err(e) = self.feed() {
                    return self.give(filled, e);
                }
                continue;
            }
            if self.inbound.len() < INBOUND_CHUNK {
                self.inbound.resize(INBOUND_CHUNK, 0);
            }
            match self.tcp.read(&mut self.inbound) {
                Ok(0) => {
                    // Tells rustls the transport ended; the reader then says how.
                    if let Err(e) = self
                        .tls
                        .read_tls(&mut io::empty())
                        .and_then(|_| self.process())
                    {
                        return self.give(filled, e);
                    }
                }
                Ok(n) => {
                    self.start = 0;
                    self.end = n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.inbound = Vec::new();
                    (self.start, self.end) = (0, 0);
                    return if filled > 0 { Ok(filled) } else { Err(e) };
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.give(filled, e),
            }
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if total == 0 {
            return Ok(0);
        }
        // Make room first: what rustls holds counts against its limit.
        self.write_records()?;
        let taken = self.tls.writer().write_vectored(bufs)?;
        self.write_records()?;
        if taken == 0 {
            // rustls is full: the socket's writable event (or the handshake's end) resumes.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_records()
    }
}

impl mio::event::Source for TlsStream {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        self.tcp.register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        self.tcp.reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &mio::Registry) -> io::Result<()> {
        self.tcp.deregister(registry)
    }
}

impl Stream for TlsStream {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.peer_addr()
    }

    fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.tcp.take_error()
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        if !self.close_notify_sent {
            self.close_notify_sent = true;
            self.tls.send_close_notify();
        }
        self.fin_pending = true;
        self.write_records()
    }

    fn set_abortive(&self) {
        self.abortive.store(true, Ordering::Relaxed);
        tcp::set_abortive(&self.tcp);
    }

    fn options_in_effect(&self) -> OptionsInEffect {
        options::read_back(SockRef::from(&self.tcp))
    }

    fn is_tls(&self) -> bool {
        true
    }

    fn wants_write(&self) -> bool {
        self.tls.wants_write() || self.fin_pending
    }

    fn flush_transport(&mut self) -> io::Result<()> {
        self.write_records()
    }

    fn take_handshake(&mut self) -> Option<TlsInfo> {
        if self.handshake_reported || self.tls.is_handshaking() {
            return None;
        }
        self.handshake_reported = true;
        let version = match self.tls.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".to_string(),
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".to_string(),
            Some(other) => format!("{other:?}"),
            None => "unknown".to_string(),
        };
        let cipher_suite = self
            .tls
            .negotiated_cipher_suite()
            .map(|suite| {
                let suite = suite.suite();
                suite
                    .as_str()
                    .map_or_else(|| format!("{suite:?}"), str::to_string)
            })
            .unwrap_or_default();
        let alpn = self
            .tls
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        let server_name = match &self.tls {
            rustls::Connection::Server(server) => server.server_name().map(str::to_string),
            rustls::Connection::Client(_) => self.sent_name.clone(),
        };
        let peer_certificates: Vec<_> = self
            .tls
            .peer_certificates()
            .unwrap_or_default()
            .iter()
            .map(|der| summarise(der))
            .collect();
        let unverified = self
            .unverified
            .filter(|_| !self.unverified_only_with_certs || !peer_certificates.is_empty())
            .map(str::to_string);
        Some(TlsInfo {
            version,
            cipher_suite,
            alpn,
            server_name,
            peer_certificates,
            unverified,
        })
    }
}

impl Drop for TlsStream {
    /// A graceful end says close_notify before the FIN (best effort: the socket's buffer
    /// has room, since a graceful close waits for everything else to be written).
    fn drop(&mut self) {
        if !self.abortive.load(Ordering::Relaxed)
            && !self.close_notify_sent
            && !self.tls.is_handshaking()
        {
            self.tls.send_close_notify();
            let _ = self.write_records();
        }
    }
}

/// Starts a non-blocking TLS client connect with `options`.
pub(crate) fn connect(
    addr: SocketAddr,
    options: &SocketOptions,
    configs: &ClientConfigs,
) -> io::Result<Box<dyn Stream>> {
    let tcp = tcp::connect_socket(addr, options)?;
    Ok(Box::new(TlsStream::client(tcp, configs)?))
}

/// A TLS listener: accepted connections get `options` and handshake with `configs`.
pub(crate) fn listen(
    addr: SocketAddr,
    options: &SocketOptions,
    configs: &ServerConfigs,
) -> io::Result<Box<dyn Listener>> {
    let configs = configs.clone();
    let upgrade: tcp::Upgrade =
        Box::new(move |stream| Ok(Box::new(TlsStream::server(stream, &configs)?)));
    tcp::listen_upgrading(addr, options, upgrade)
}
