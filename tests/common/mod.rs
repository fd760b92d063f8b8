//! Helpers shared by the integration tests: a real engine, real loopback sockets, and
//! waits that always end (a hung test is a failed test).
#![allow(dead_code)]

pub mod window;

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use socklab::engine::{ConnInfo, Engine, Event, EventKind, ServerOptions, SessionId};

pub const WAIT: Duration = Duration::from_secs(10);

pub fn engine() -> Engine {
    Engine::spawn(|| {}).expect("engine starts")
}

/// The next event, failing the test after [`WAIT`].
pub fn next_event(engine: &Engine) -> Event {
    engine
        .events()
        .recv_timeout(WAIT)
        .expect("an event within the wait")
}

/// Skips events until one matches `pick`, failing the test after [`WAIT`].
pub fn wait_for<T>(engine: &Engine, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = engine
            .events()
            .recv_timeout(left)
            .expect("the awaited event arrived in time");
        if let Some(found) = pick(&event) {
            return found;
        }
    }
}

pub fn listen(engine: &Engine, chat: bool) -> (SessionId, SocketAddr) {
    listen_with(
        engine,
        ServerOptions {
            chat,
            ..Default::default()
        },
    )
}

#[allow(dead_code)] // Not every test binary uses every helper.
pub fn listen_with(engine: &Engine, options: ServerOptions) -> (SessionId, SocketAddr) {
    let session = engine.listen("127.0.0.1:0", options);
    let local = wait_for(engine, |e| match &e.kind {
        EventKind::Listening { local } if e.session == session => Some(*local),
        EventKind::ListenFailed { error } => panic!("listen failed: {error}"),
        _ => None,
    });
    (session, local)
}

pub fn connected(engine: &Engine) -> ConnInfo {
    wait_for(engine, |e| match &e.kind {
        EventKind::Connected(info) => Some(info.clone()),
        _ => None,
    })
}

/// A plain std client with a read timeout so a missing byte fails instead of hanging.
pub fn client(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connects");
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
}

pub fn read_exact(stream: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut buf = vec![0; len];
    stream
        .read_exact(&mut buf)
        .expect("all expected bytes arrive");
    buf
}

/// Asserts nothing more arrives within a short pause.
pub fn assert_silent(stream: &mut TcpStream) {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => panic!("stream closed"),
        Ok(_) => panic!("unexpected byte {:?}", byte[0]),
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "unexpected error {e}"
        ),
    }
    stream.set_read_timeout(Some(WAIT)).unwrap();
}

/// Reads until the peer closes; returns what came before.
pub fn read_to_close(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut all = Vec::new();
    stream.read_to_end(&mut all)?;
    Ok(all)
}

/// Reads one relayed chat message (header line and text line) and checks the header.
pub fn read_relay(reader: &mut BufReader<TcpStream>, sender: SocketAddr) -> String {
    let mut header = String::new();
    reader.read_line(&mut header).expect("a header line");
    let mut text = String::new();
    reader.read_line(&mut text).expect("a text line");
    check_header(&header, sender);
    text.strip_suffix('\n')
        .expect("line ends in newline")
        .to_string()
}

pub fn check_header(header: &str, sender: SocketAddr) {
    let header = header.strip_suffix('\n').expect("header ends in newline");
    let (stamp, addr) = header.rsplit_once(' ').expect("time then address");
    assert_eq!(
        addr,
        sender.to_string(),
        "header names the sender: {header:?}"
    );
    let time = chrono::NaiveDateTime::parse_from_str(stamp, "%Y/%m/%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("bad time {stamp:?}: {e}"));
    let now = chrono::Local::now().naive_local();
    let skew = (now - time).num_seconds().abs();
    assert!(skew <= 5, "header time {stamp} is {skew} s from now");
}

/// A listener whose accept queue is full, so a new connection attempt waits in SYN-SENT.
pub fn unanswering_listener() -> (
    socket2::Socket,
    std::net::SocketAddr,
    Vec<std::net::TcpStream>,
) {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let any_port: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    socket.bind(&any_port.into()).unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    loop {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(stream) => fillers.push(stream),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => break,
            Err(e) => panic!("filling the accept queue: {e}"),
        }
        assert!(fillers.len() < 16, "the accept queue never filled");
    }
    (socket, addr, fillers)
}

/// Opens a UDP session and waits until it is bound; returns its id and its address.
pub fn open_udp(
    engine: &Engine,
    bind: &str,
    connect: Option<&str>,
    options: socklab::engine::UdpOptions,
) -> (SessionId, SocketAddr) {
    let session = engine.open_udp(bind, connect, options);
    let local = wait_for(engine, |e| match &e.kind {
        EventKind::UdpOpened { local, .. } if e.session == session => Some(*local),
        EventKind::UdpFailed { error } => panic!("UDP open failed: {error}"),
        _ => None,
    });
    (session, local)
}

/// A plain std UDP socket on loopback with a read timeout.
pub fn udp_peer() -> std::net::UdpSocket {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("binds");
    socket.set_read_timeout(Some(WAIT)).unwrap();
    socket
}

/// The next datagrams `session` reports receiving, until `count` have come.
pub fn received_datagrams(
    engine: &Engine,
    session: SessionId,
    count: usize,
) -> Vec<socklab::engine::Datagram> {
    let mut got = Vec::new();
    wait_for(engine, |e| match &e.kind {
        EventKind::DatagramsReceived { datagrams } if e.session == session => {
            got.extend(datagrams.iter().cloned());
            (got.len() >= count).then_some(())
        }
        _ => None,
    });
    got
}

/// The error message `session` reports next.
pub fn next_error(engine: &Engine, session: SessionId) -> String {
    wait_for(engine, |e| match &e.kind {
        EventKind::Error { message } if e.session == session => Some(message.clone()),
        _ => None,
    })
}

/// An IPv4 UDP socket whose multicast goes out on loopback and comes back to this machine.
pub fn multicast_sender() -> socket2::Socket {
    let sender = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )
    .unwrap();
    sender
        .set_multicast_if_v4(&std::net::Ipv4Addr::LOCALHOST)
        .unwrap();
    sender.set_multicast_loop_v4(true).unwrap();
    sender
}
