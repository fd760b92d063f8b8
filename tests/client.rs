//! Client sessions against real loopback listeners.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use common::*;
use socklab::engine::{CloseReason, Command, DEFAULT_CONNECT_TIMEOUT, EventKind, Target};

fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

fn accept(listener: &TcpListener) -> std::net::TcpStream {
    let (stream, _) = listener.accept().unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
}

#[test]
fn connects_reports_addresses_and_exchanges_exact_bytes() {
    let engine = engine();
    let server = listener();
    let addr = server.local_addr().unwrap();
    let session = engine.connect(&addr.to_string(), DEFAULT_CONNECT_TIMEOUT);
    let mut peer = accept(&server);
    let info = connected(&engine);
    assert_eq!(info.peer, addr);
    assert_eq!(info.local, peer.peer_addr().unwrap());

    engine.send(session, Target::All, b"ping\r\n\x00\xfe");
    assert_eq!(read_exact(&mut peer, 8), b"ping\r\n\x00\xfe");

    peer.write_all(b"pong").unwrap();
    let data = wait_for(&engine, |e| match &e.kind {
        EventKind::Received { data, .. } => Some(data.clone()),
        _ => None,
    });
    assert_eq!(data, b"pong");
    assert_eq!(info.counters.bytes_out(), 8);
    assert_eq!(info.counters.bytes_in(), 4);
}

#[test]
fn refused_connection_says_so() {
    let engine = engine();
    let addr = listener().local_addr().unwrap(); // dropped: nothing listens there now
    engine.connect(&addr.to_string(), DEFAULT_CONNECT_TIMEOUT);
    let error = wait_for(&engine, |e| match &e.kind {
        EventKind::ConnectFailed { error } => Some(error.clone()),
        EventKind::Connected(_) => panic!("should not connect"),
        _ => None,
    });
    assert_eq!(error, "connection refused");
}

#[test]
fn zero_timeout_times_out() {
    let engine = engine();
    let server = listener();
    engine.connect(&server.local_addr().unwrap().to_string(), Duration::ZERO);
    let error = wait_for(&engine, |e| match &e.kind {
        EventKind::ConnectFailed { error } => Some(error.clone()),
        EventKind::Connected(_) => panic!("a zero timeout cannot connect"),
        _ => None,
    });
    assert!(error.starts_with("timed out"), "{error}");
}

#[test]
fn reconnects_with_the_same_session_after_the_peer_closes() {
    let engine = engine();
    let server = listener();
    let addr = server.local_addr().unwrap().to_string();
    let session = engine.connect(&addr, DEFAULT_CONNECT_TIMEOUT);
    let first_peer = accept(&server);
    let first = connected(&engine);
    drop(first_peer);
    wait_for(&engine, |e| match &e.kind {
        EventKind::PeerFinished { conn } if *conn == first.conn => Some(()),
        EventKind::Closed { reason, .. } => panic!("closed at the peer's FIN: {reason}"),
        _ => None,
    });

    engine.execute(Command::Connect {
        session,
        addr,
        timeout: DEFAULT_CONNECT_TIMEOUT,
        options: Default::default(),
    });
    let mut second_peer = accept(&server);
    let reason = wait_for(&engine, |e| match &e.kind {
        EventKind::Closed { conn, reason, .. } if *conn == first.conn => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(
        reason,
        CloseReason::Closed,
        "the reconnect closed the half-open one"
    );
    let second = connected(&engine);
    assert_ne!(second.conn, first.conn);
    engine.send(session, Target::All, b"again");
    assert_eq!(read_exact(&mut second_peer, 5), b"again");
}

#[test]
fn resolves_host_names() {
    let engine = engine();
    let server = listener();
    let port = server.local_addr().unwrap().port();
    // localhost may resolve to ::1 first; the engine tries each address in turn.
    engine.connect(&format!("localhost:{port}"), DEFAULT_CONNECT_TIMEOUT);
    let _peer = accept(&server);
    let info = connected(&engine);
    assert_eq!(info.peer.port(), port);
    assert!(info.peer.ip().is_loopback());
}

#[test]
fn finish_sending_flushes_then_half_closes_and_keeps_reading() {
    let engine = engine();
    let server = listener();
    let session = engine.connect(
        &server.local_addr().unwrap().to_string(),
        DEFAULT_CONNECT_TIMEOUT,
    );
    let mut peer = accept(&server);
    connected(&engine);
    engine.send(session, Target::All, b"request");
    engine.execute(Command::FinishSending {
        session,
        target: Target::All,
    });
    let mut got = Vec::new();
    peer.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"request");
    wait_for(&engine, |e| {
        matches!(e.kind, EventKind::SendingFinished { .. }).then_some(())
    });
    peer.write_all(b"response").unwrap();
    drop(peer);
    let data = wait_for(&engine, |e| match &e.kind {
        EventKind::Received { data, .. } => Some(data.clone()),
        _ => None,
    });
    assert_eq!(data, b"response");
}

#[test]
fn a_disconnect_while_finishing_still_reports_sending_finished_before_the_close() {
    let engine = engine();
    let server = listener();
    let addr = server.local_addr().unwrap();
    let session = engine.connect(&addr.to_string(), DEFAULT_CONNECT_TIMEOUT);
    let mut peer = accept(&server);
    connected(&engine);
    // More than the socket buffers hold, so it is still queued when the disconnect comes.
    let payload = vec![b'q'; 16 * 1024 * 1024];
    engine.send(session, Target::All, payload.clone());
    engine.execute(Command::FinishSending {
        session,
        target: Target::All,
    });
    engine.execute(Command::Stop { session });
    let got = read_to_close(&mut peer).expect("everything, then a clean end of stream");
    assert!(
        got == payload,
        "got {} of {} bytes",
        got.len(),
        payload.len()
    );
    let mut finished = false;
    let (reason, unsent) = wait_for(&engine, |e| match &e.kind {
        EventKind::SendingFinished { .. } => {
            finished = true;
            None
        }
        EventKind::Closed { reason, unsent, .. } => Some((reason.clone(), *unsent)),
        _ => None,
    });
    assert!(finished, "SendingFinished came before Closed");
    assert_eq!((reason, unsent), (CloseReason::Closed, 0));
}

#[test]
fn disconnect_closes_gracefully() {
    let engine = engine();
    let server = listener();
    let session = engine.connect(
        &server.local_addr().unwrap().to_string(),
        DEFAULT_CONNECT_TIMEOUT,
    );
    let mut peer = accept(&server);
    connected(&engine);
    engine.execute(Command::Stop { session });
    let reason = wait_for(&engine, |e| match &e.kind {
        EventKind::Closed { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(reason, CloseReason::Closed);
    assert_eq!(read_to_close(&mut peer).unwrap(), b"");
}

#[test]
fn disconnect_while_connecting_reports_stopped_not_a_failure() {
    let engine = engine();
    let (_listener, addr, _fillers) = unanswering_listener();
    let session = engine.connect(&addr.to_string(), DEFAULT_CONNECT_TIMEOUT);
    wait_for(&engine, |e| {
        matches!(e.kind, EventKind::Connecting { .. }).then_some(())
    });
    engine.execute(Command::Stop { session });
    wait_for(&engine, |e| match &e.kind {
        EventKind::Stopped => Some(()),
        EventKind::ConnectFailed { error } => panic!("a stop is not a failure: {error}"),
        EventKind::Connected(_) => panic!("should not connect"),
        _ => None,
    });
}

#[test]
fn a_peer_that_finished_sending_can_still_be_answered_until_we_finish_too() {
    let engine = engine();
    let server = listener();
    let session = engine.connect(
        &server.local_addr().unwrap().to_string(),
        DEFAULT_CONNECT_TIMEOUT,
    );
    let mut peer = accept(&server);
    let info = connected(&engine);
    peer.write_all(b"question").unwrap();
    peer.shutdown(std::net::Shutdown::Write).unwrap();
    let mut received = Vec::new();
    let finished = wait_for(&engine, |e| match &e.kind {
        EventKind::Received { data, .. } => {
            received.extend_from_slice(data);
            None
        }
        EventKind::PeerFinished { conn } => Some(*conn),
        EventKind::Closed { reason, .. } => panic!("closed at the peer's FIN: {reason}"),
        _ => None,
    });
    assert_eq!(finished, info.conn);
    assert_eq!(
        received, b"question",
        "the data came before the FIN was reported"
    );
    engine.send(session, Target::All, b"answer");
    assert_eq!(read_exact(&mut peer, 6), b"answer");
    engine.execute(Command::FinishSending {
        session,
        target: Target::All,
    });
    assert_eq!(read_to_close(&mut peer).unwrap(), b"", "then our FIN");
    let mut sending_finished = false;
    let reason = wait_for(&engine, |e| match &e.kind {
        EventKind::SendingFinished { .. } => {
            sending_finished = true;
            None
        }
        EventKind::Closed { reason, unsent, .. } => Some((reason.clone(), *unsent)),
        _ => None,
    });
    assert!(sending_finished);
    assert_eq!(reason, (CloseReason::Closed, 0), "both halves done: closed");
}

#[test]
fn a_session_told_to_close_when_the_peer_finishes_closes_at_its_fin() {
    let engine = engine();
    let server = listener();
    let options = socklab::engine::ClientOptions {
        socket: socklab::engine::options::SocketOptions {
            close_when_peer_finishes: true,
            ..Default::default()
        },
        tls: None,
    };
    engine.connect_with(
        &server.local_addr().unwrap().to_string(),
        DEFAULT_CONNECT_TIMEOUT,
        options,
    );
    let peer = accept(&server);
    connected(&engine);
    peer.shutdown(std::net::Shutdown::Write).unwrap();
    let reason = wait_for(&engine, |e| match &e.kind {
        EventKind::PeerFinished { .. } => panic!("reported half-open"),
        EventKind::Closed { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(reason, CloseReason::PeerClosed);
}

#[test]
fn answering_a_peer_that_closed_completely_ends_with_its_reset() {
    let engine = engine();
    let server = listener();
    let session = engine.connect(
        &server.local_addr().unwrap().to_string(),
        DEFAULT_CONNECT_TIMEOUT,
    );
    let peer = accept(&server);
    connected(&engine);
    drop(peer);
    wait_for(&engine, |e| {
        matches!(e.kind, EventKind::PeerFinished { .. }).then_some(())
    });
    // The peer's socket is gone: the kernel answers what we send with RST.
    let deadline = std::time::Instant::now() + common::WAIT;
    let reason = loop {
        engine.send(session, Target::All, b"anyone there?");
        match engine
            .events()
            .recv_timeout(std::time::Duration::from_millis(50))
        {
            Ok(event) => match event.kind {
                EventKind::Closed { reason, .. } => break reason,
                _ => continue,
            },
            Err(_) => assert!(std::time::Instant::now() < deadline, "never closed"),
        }
    };
    assert_eq!(reason, CloseReason::PeerReset);
}
