//! TCP: what differs from other transports is only how a socket is made (bind, listen,
//! connect) and closed abortively; everything else goes through [`Stream`] and [`Listener`].

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use mio::net::{TcpListener, TcpStream};
use socket2::{Domain, Protocol, Socket, Type};

use super::transport::{Listener, Stream};

const LISTEN_BACKLOG: i32 = 4096;

/// A non-blocking listener on `addr`.
pub(crate) fn listen(addr: SocketAddr) -> io::Result<Box<dyn Listener>> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // Lets a stopped server start again at once while old connections sit in TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(Box::new(TcpListener::from_std(socket.into())))
}

/// Starts a non-blocking connect; the stream turns writable when it completes or fails.
pub(crate) fn connect(addr: SocketAddr) -> io::Result<Box<dyn Stream>> {
    let stream = TcpStream::connect(addr)?;
    prepare(&stream);
    Ok(Box::new(stream))
}

fn prepare(stream: &TcpStream) {
    // A test bench sends what the user clicked now, not after Nagle's delay.
    let _ = stream.set_nodelay(true);
}

impl Listener for TcpListener {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        TcpListener::local_addr(self)
    }

    fn accept(&self) -> io::Result<(Box<dyn Stream>, SocketAddr)> {
        let (stream, peer) = TcpListener::accept(self)?;
        prepare(&stream);
        Ok((Box::new(stream), peer))
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

    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }

    fn set_abortive(&self) {
        // SO_LINGER 0: the close sends RST. Failing only means a FIN goes out instead.
        let _ = socket2::SockRef::from(self).set_linger(Some(Duration::ZERO));
    }
}
