//! TCP: what differs from other transports is only how a socket is made (bind, listen,
//! connect, with the session's options) and closed abortively; everything else goes
//! through [`Stream`] and [`Listener`]. TLS (`tls/`) runs over the streams made here.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use mio::net::{TcpListener, TcpStream};
use socket2::{Domain, Protocol, SockRef, Socket, Type};

use super::options::{self, OptionsInEffect, SocketOptions};
use super::transport::{Listener, Stream};

const LISTEN_BACKLOG: i32 = 4096;

/// A non-blocking listening socket on `addr` with `options`.
fn listen_socket(addr: SocketAddr, options: &SocketOptions) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    options::apply_before_bind(&socket, addr, options)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(TcpListener::from_std(socket.into()))
}

/// What an accepted stream becomes: itself, or a transport over it (TLS).
pub(crate) type Upgrade = Box<dyn Fn(TcpStream) -> io::Result<Box<dyn Stream>> + Send>;

/// A plain TCP listener: accepted streams get `options`.
pub(crate) fn listen(addr: SocketAddr, options: &SocketOptions) -> io::Result<Box<dyn Listener>> {
    listen_upgrading(addr, options, Box::new(|stream| Ok(Box::new(stream))))
}

/// A TCP listener whose accepted streams get `options`, then become what `upgrade` makes
/// of them.
pub(crate) fn listen_upgrading(
    addr: SocketAddr,
    options: &SocketOptions,
    upgrade: Upgrade,
) -> io::Result<Box<dyn Listener>> {
    let listener = listen_socket(addr, options)?;
    Ok(Box::new(SessionListener {
        listener,
        options: options.clone(),
        upgrade,
    }))
}

/// Starts a non-blocking connect with `options` (a local bind among them); the stream turns
/// writable when it completes or fails.
pub(crate) fn connect_socket(addr: SocketAddr, options: &SocketOptions) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    options::apply_before_bind(&socket, addr, options)?;
    if let Some(local) = options.local_bind {
        socket.bind(&local.into()).map_err(|e| {
            io::Error::other(format!(
                "cannot bind to {local}: {}",
                super::wording::describe_io_error(&e)
            ))
        })?;
    }
    socket.set_nonblocking(true)?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if in_progress(&e) => {}
        Err(e) => return Err(e),
    }
    options::apply_to_stream(SockRef::from(&socket), options)?;
    Ok(TcpStream::from_std(socket.into()))
}

fn in_progress(error: &io::Error) -> bool {
    #[cfg(unix)]
    if error.raw_os_error() == Some(libc::EINPROGRESS) {
        return true;
    }
    error.kind() == io::ErrorKind::WouldBlock
}

pub(crate) fn connect(addr: SocketAddr, options: &SocketOptions) -> io::Result<Box<dyn Stream>> {
    Ok(Box::new(connect_socket(addr, options)?))
}

/// A TCP listener, the options its accepted streams get, and what they become.
struct SessionListener {
    listener: TcpListener,
    options: SocketOptions,
    upgrade: Upgrade,
}

/// Accepts one waiting connection and gives it the session's options.
fn accept_with(
    listener: &TcpListener,
    options: &SocketOptions,
) -> io::Result<(TcpStream, SocketAddr)> {
    let (stream, peer) = listener.accept()?;
    // An option the kernel refuses on one connection is not worth refusing the client.
    let _ = options::apply_to_stream(SockRef::from(&stream), options);
    Ok((stream, peer))
}

impl mio::event::Source for SessionListener {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        self.listener.register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        self.listener.reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &mio::Registry) -> io::Result<()> {
        self.listener.deregister(registry)
    }
}

impl Listener for SessionListener {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    fn accept(&self) -> io::Result<(Box<dyn Stream>, SocketAddr)> {
        let (stream, peer) = accept_with(&self.listener, &self.options)?;
        Ok(((self.upgrade)(stream)?, peer))
    }

    fn options_in_effect(&self) -> OptionsInEffect {
        options::read_back(SockRef::from(&self.listener))
    }
}

impl Stream for TcpStream {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        TcpStream::local_addr(self)
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        TcpStream::peer_addr(self)
    }

    fn take_error(&self) -> io::Result<Option<io::Error>> {
        TcpStream::take_error(self)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }

    fn set_abortive(&self) {
        set_abortive(self);
    }

    fn options_in_effect(&self) -> OptionsInEffect {
        options::read_back(SockRef::from(self))
    }
}

/// SO_LINGER 0: the close sends RST. Failing only means a FIN goes out instead.
pub(crate) fn set_abortive(stream: &TcpStream) {
    let _ = SockRef::from(stream).set_linger(Some(Duration::ZERO));
}
