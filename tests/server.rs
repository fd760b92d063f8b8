//! Server sessions against real loopback clients.

mod common;

use std::io::{ErrorKind, Write};
use std::net::TcpListener;

use common::*;
use socklab::engine::{CloseHow, CloseReason, Command, EventKind, ServerOptions, Target};

#[test]
fn accepts_many_clients_and_reports_both_addresses() {
    let engine = engine();
    let (_, local) = listen(&engine, false);
    assert_ne!(local.port(), 0, "port 0 resolves to the real port");
    let clients: Vec<_> = (0..5).map(|_| client(local)).collect();
    let mut infos: Vec<_> = (0..5).map(|_| connected(&engine)).collect();
    infos.sort_by_key(|i| i.peer);
    let mut expected: Vec<_> = clients
        .iter()
        .map(|c| (c.local_addr().unwrap(), c.peer_addr().unwrap()))
        .collect();
    expected.sort();
    let reported: Vec<_> = infos.iter().map(|i| (i.peer, i.local)).collect();
    assert_eq!(reported, expected);
    let mut ids: Vec<_> = infos.iter().map(|i| i.conn).collect();
    ids.dedup();
    assert_eq!(ids.len(), 5, "every connection has its own id");
}

#[test]
fn reports_received_bytes_exactly_and_counts_them() {
    let engine = engine();
    let (_, local) = listen(&engine, false);
    let mut stream = client(local);
    let info = connected(&engine);
    let payload = b"hello\x00\xff\r\n".to_vec();
    stream.write_all(&payload).unwrap();
    let mut got = Vec::new();
    while got.len() < payload.len() {
        got.extend(wait_for(&engine, |e| match &e.kind {
            EventKind::Received { conn, data, .. } if *conn == info.conn => Some(data.clone()),
            _ => None,
        }));
    }
    assert_eq!(got, payload);
    assert_eq!(info.counters.bytes_in(), payload.len() as u64);
}

#[test]
fn sends_to_one_connection_or_to_all() {
    let engine = engine();
    let (session, local) = listen(&engine, false);
    let mut a = client(local);
    let info_a = connected(&engine);
    let mut b = client(local);
    let info_b = connected(&engine);
    assert_eq!(info_a.peer, a.local_addr().unwrap());

    engine.send(session, Target::One(info_a.conn), b"only-a");
    assert_eq!(read_exact(&mut a, 6), b"only-a");
    assert_silent(&mut b);

    engine.send(session, Target::All, b"both\n");
    assert_eq!(read_exact(&mut a, 5), b"both\n");
    assert_eq!(read_exact(&mut b, 5), b"both\n");
    // Each connection reports its own Sent once the bytes are handed to the kernel.
    let mut sent_to = Vec::new();
    wait_for(&engine, |e| match &e.kind {
        EventKind::Sent { conn, data } if data.as_ref() == b"both\n" => {
            sent_to.push(*conn);
            (sent_to.len() == 2).then_some(())
        }
        _ => None,
    });
    sent_to.sort();
    assert_eq!(sent_to, [info_a.conn, info_b.conn]);
    assert_eq!(info_a.counters.bytes_out(), 11);
    assert_eq!(info_b.counters.bytes_out(), 5);
}

#[test]
fn graceful_close_delivers_queued_data_then_fin() {
    let engine = engine();
    let (session, local) = listen(&engine, false);
    let mut stream = client(local);
    let info = connected(&engine);
    engine.send(session, Target::One(info.conn), b"bye");
    engine.execute(Command::Close {
        session,
        conn: info.conn,
        how: CloseHow::Graceful,
    });
    assert_eq!(read_to_close(&mut stream).unwrap(), b"bye");
    let reason = wait_for(&engine, |e| match &e.kind {
        EventKind::Closed {
            conn,
            reason,
            unsent,
        } if *conn == info.conn => {
            assert_eq!(*unsent, 0);
            Some(reason.clone())
        }
        _ => None,
    });
    assert_eq!(reason, CloseReason::Closed);
}

#[test]
fn abortive_close_sends_reset() {
    let engine = engine();
    let (session, local) = listen(&engine, false);
    let mut stream = client(local);
    let info = connected(&engine);
    engine.execute(Command::Close {
        session,
        conn: info.conn,
        how: CloseHow::Abort,
    });
    let reason = wait_for(&engine, |e| match &e.kind {
        EventKind::Closed { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(reason, CloseReason::Aborted);
    let error = read_to_close(&mut stream).expect_err("a reset, not a clean end");
    assert_eq!(error.kind(), ErrorKind::ConnectionReset);
}

#[test]
fn stop_closes_every_connection_with_its_reason_and_frees_the_port() {
    let engine = engine();
    let (session, local) = listen(&engine, false);
    let mut streams: Vec<_> = (0..3).map(|_| client(local)).collect();
    for _ in 0..3 {
        connected(&engine);
    }
    engine.execute(Command::Stop { session });
    let mut closed = 0;
    wait_for(&engine, |e| match &e.kind {
        EventKind::Closed { reason, .. } => {
            assert_eq!(*reason, CloseReason::ServerStopped);
            closed += 1;
            None
        }
        EventKind::Stopped => Some(()),
        _ => None,
    });
    assert_eq!(closed, 3, "one closed event per connection before Stopped");
    for stream in &mut streams {
        assert_eq!(read_to_close(stream).unwrap(), b"");
    }
    assert!(
        std::net::TcpStream::connect(local).is_err(),
        "nothing listens any more"
    );

    // The same session starts again on the same port.
    engine.execute(Command::Listen {
        session,
        addr: local.to_string(),
        options: ServerOptions::default(),
    });
    let again = wait_for(&engine, |e| match &e.kind {
        EventKind::Listening { local } => Some(*local),
        EventKind::ListenFailed { error } => panic!("restart failed: {error}"),
        _ => None,
    });
    assert_eq!(again, local);
}

#[test]
fn peer_reset_is_reported_as_such() {
    let engine = engine();
    let (_, local) = listen(&engine, false);
    let stream = client(local);
    connected(&engine);
    socket2::SockRef::from(&stream)
        .set_linger(Some(std::time::Duration::ZERO))
        .unwrap();
    drop(stream);
    let reason = wait_for(&engine, |e| match &e.kind {
        EventKind::Closed { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(reason, CloseReason::PeerReset);
}

#[test]
fn port_in_use_and_bad_addresses_fail_in_plain_words() {
    let engine = engine();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    for (input, expected) in [
        (addr.as_str(), "address already in use"),
        ("127.0.0.1:70000", "not a valid port: \"70000\""),
        ("127.0.0.1", "missing port"),
    ] {
        engine.listen(input, ServerOptions::default());
        let error = wait_for(&engine, |e| match &e.kind {
            EventKind::ListenFailed { error } => Some(error.clone()),
            EventKind::Listening { .. } => panic!("{input} should not listen"),
            _ => None,
        });
        assert!(error.contains(expected), "{input}: {error}");
    }
}

#[test]
fn sending_with_no_connection_is_an_error_not_a_silent_drop() {
    let engine = engine();
    let (session, _) = listen(&engine, false);
    engine.send(session, Target::All, b"nobody");
    let message = wait_for(&engine, |e| match &e.kind {
        EventKind::Error { message } => Some(message.clone()),
        _ => None,
    });
    assert_eq!(message, "not sent: no connection is open");
}

#[test]
fn listens_on_ipv6_loopback_when_the_machine_has_it() {
    if let Err(error) = TcpListener::bind("[::1]:0") {
        // Straight to stderr, past the harness's capture of `eprintln!`, so that the skip
        // shows in a normal `cargo test` run and not only with --nocapture.
        let _ = writeln!(
            std::io::stderr(),
            "listens_on_ipv6_loopback_when_the_machine_has_it: skipped, cannot bind [::1] here ({error})"
        );
        return;
    }
    let engine = engine();
    engine.listen("[::1]:0", ServerOptions::default());
    let local = wait_for(&engine, |e| match &e.kind {
        EventKind::Listening { local } => Some(*local),
        _ => None,
    });
    assert!(local.is_ipv6());
    let mut stream = client(local);
    let info = connected(&engine);
    assert_eq!(info.peer, stream.local_addr().unwrap());
    stream.write_all(b"v6").unwrap();
    let data = wait_for(&engine, |e| match &e.kind {
        EventKind::Received { data, .. } => Some(data.clone()),
        _ => None,
    });
    assert_eq!(data, b"v6");
}

#[test]
fn stop_while_the_name_is_resolving_reports_stopped() {
    let engine = engine();
    // The stop usually reaches the net thread before the lookup answers; either way the
    // session must end stopped, not stuck starting.
    let session = engine.listen(
        "localhost:0",
        ServerOptions {
            chat: false,
            ..Default::default()
        },
    );
    engine.execute(Command::Stop { session });
    wait_for(&engine, |e| match &e.kind {
        EventKind::Stopped => Some(()),
        EventKind::ListenFailed { error } => panic!("listen failed: {error}"),
        _ => None,
    });
}

#[test]
fn a_session_reporting_sizes_only_counts_every_byte_and_message_without_the_data() {
    let engine = engine();
    let session = engine.new_session_id();
    engine.execute(Command::ReportData {
        session,
        data: false,
    });
    engine.execute(Command::SetFraming {
        session,
        framing: socklab::engine::framing::FramingSpec {
            framing: "line".parse().unwrap(),
            ..Default::default()
        },
    });
    engine.execute(Command::Listen {
        session,
        addr: "127.0.0.1:0".into(),
        options: ServerOptions::default(),
    });
    let addr = wait_for(&engine, |e| match &e.kind {
        EventKind::Listening { local } => Some(*local),
        _ => None,
    });
    let mut peer = client(addr);
    let info = connected(&engine);
    let line = b"a line of forty bytes, newline included\n";
    for _ in 0..2_500 {
        peer.write_all(line).unwrap();
    }
    let (mut bytes, mut messages) = (0, 0);
    while bytes < 100_000 {
        match next_event(&engine).kind {
            EventKind::ReceivedSize {
                conn,
                bytes: b,
                messages: m,
            } => {
                assert_eq!(conn, info.conn);
                bytes += b;
                messages += m;
            }
            EventKind::Received { .. } => panic!("data was reported"),
            _ => {}
        }
    }
    assert_eq!((bytes, messages), (100_000, 2_500));
    assert_eq!(info.counters.bytes_in(), 100_000);
}
