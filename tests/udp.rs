//! UDP sessions against real loopback sockets: exact datagrams both ways, the peers
//! table, replies, size limits, broadcast, IPv4 multicast, connected clients, repeats and
//! files sent as datagrams.

mod common;

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::*;
use socklab::engine::{
    Command, DatagramPacing, EventKind, MAX_PAYLOAD_V4, Membership, PeerInfo, RepeatEnd, Target,
    TransferOutcome, UdpOptions,
};

fn recv(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buffer = vec![0; 70_000];
    let (n, from) = socket
        .recv_from(&mut buffer)
        .expect("a datagram within the wait");
    buffer.truncate(n);
    (buffer, from)
}

fn peer_seen(engine: &socklab::engine::Engine, addr: SocketAddr) -> PeerInfo {
    wait_for(engine, |e| match &e.kind {
        EventKind::PeerSeen(info) if info.addr == addr => Some(info.clone()),
        _ => None,
    })
}

#[test]
fn receives_each_datagram_exactly_with_its_source_and_replies_to_the_last_sender() {
    let engine = engine();
    let (session, local) = open_udp(&engine, "127.0.0.1:0", None, UdpOptions::default());
    assert_ne!(local.port(), 0);
    let a = udp_peer();
    let b = udp_peer();
    a.send_to(b"one\n", local).unwrap();
    let info_a = peer_seen(&engine, a.local_addr().unwrap());
    b.send_to(b"\x00two\xff", local).unwrap();
    let got = received_datagrams(&engine, session, 2);
    let rows: Vec<(&[u8], SocketAddr)> = got.iter().map(|d| (&d.data[..], d.addr)).collect();
    assert_eq!(
        rows,
        [
            (&b"one\n"[..], a.local_addr().unwrap()),
            (&b"\x00two\xff"[..], b.local_addr().unwrap())
        ],
        "one datagram each, bytes exact, with its source"
    );
    assert_eq!(got[0].peer, Some(info_a.peer));

    engine.send(session, Target::LastSender, b"to-b");
    assert_eq!(recv(&b), (b"to-b".to_vec(), local));
    engine.send(session, Target::One(info_a.peer), b"to-a");
    assert_eq!(recv(&a), (b"to-a".to_vec(), local));
    engine.send(session, Target::All, b"all");
    assert_eq!(recv(&a).0, b"all");
    assert_eq!(recv(&b).0, b"all");

    let sent = wait_for(&engine, |e| match &e.kind {
        EventKind::DatagramsSent { datagrams }
            if datagrams.iter().any(|d| &d.data[..] == b"to-a") =>
        {
            Some(datagrams.clone())
        }
        _ => None,
    });
    assert_eq!(sent[0].addr, a.local_addr().unwrap());
    // Peer a: 1 datagram of 4 bytes in; "to-a" and "all" out.
    assert_eq!(info_a.counters.messages_in(), 1);
    assert_eq!(info_a.counters.bytes_in(), 4);
    wait_until(|| info_a.counters.messages_out() == 2);
    assert_eq!(info_a.counters.bytes_out(), 7);
    assert!(info_a.counters.last_in().is_some());
}

/// Polls `done` until it holds, failing after the usual wait.
fn wait_until(mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "condition not met in time");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn sending_to_a_typed_address_adds_it_to_the_peers_table() {
    let engine = engine();
    let (session, local) = open_udp(&engine, "127.0.0.1:0", None, UdpOptions::default());
    let peer = udp_peer();
    let to = peer.local_addr().unwrap();
    engine.send(session, Target::Addr(to), b"hello");
    assert_eq!(recv(&peer), (b"hello".to_vec(), local));
    let info = peer_seen(&engine, to);
    wait_until(|| info.counters.messages_out() == 1);
    assert_eq!(info.counters.messages_in(), 0);
}

#[test]
fn the_largest_ipv4_datagram_arrives_intact_and_a_larger_one_is_refused_with_the_limit() {
    let engine = engine();
    let (session, local) = open_udp(&engine, "127.0.0.1:0", None, UdpOptions::default());
    let peer = udp_peer();
    let big: Vec<u8> = (0..MAX_PAYLOAD_V4).map(|i| (i % 251) as u8).collect();
    peer.send_to(&big, local).unwrap();
    let got = received_datagrams(&engine, session, 1);
    assert_eq!(got[0].data.len(), MAX_PAYLOAD_V4);
    assert!(
        got[0].data[..] == big[..],
        "the 65,507 bytes arrive unchanged"
    );
    assert!(!got[0].truncated);

    engine.send(session, Target::LastSender, big.clone());
    assert_eq!(recv(&peer).0.len(), MAX_PAYLOAD_V4);
    let mut too_big = big;
    too_big.push(0);
    engine.send(session, Target::LastSender, too_big);
    let error = next_error(&engine, session);
    assert!(
        error.contains("65,508 bytes") && error.contains("at most 65,507 bytes over IPv4"),
        "{error}"
    );
}

#[test]
fn nothing_to_reply_to_before_a_datagram_came() {
    let engine = engine();
    let (session, _) = open_udp(&engine, "127.0.0.1:0", None, UdpOptions::default());
    engine.send(session, Target::LastSender, b"x");
    let error = next_error(&engine, session);
    assert!(error.contains("no sender to reply to"), "{error}");
    engine.send(session, Target::All, b"x");
    let error = next_error(&engine, session);
    assert!(error.contains("type an address"), "{error}");
}

#[test]
fn broadcast_needs_the_option_and_says_so() {
    let engine = engine();
    let receiver = UdpSocket::bind("0.0.0.0:0").unwrap();
    receiver.set_read_timeout(Some(WAIT)).unwrap();
    let port = receiver.local_addr().unwrap().port();
    let to: SocketAddr = format!("127.255.255.255:{port}").parse().unwrap();
    let (session, _) = open_udp(&engine, "127.0.0.1:0", None, UdpOptions::default());
    engine.send(session, Target::Addr(to), b"no");
    let error = next_error(&engine, session);
    assert!(error.contains("turn on Broadcast"), "{error}");

    let options = UdpOptions {
        broadcast: true,
        ..UdpOptions::default()
    };
    engine.execute(Command::SetUdpOptions { session, options });
    wait_for(&engine, |e| match &e.kind {
        EventKind::UdpOptionsApplied { options } if options.broadcast => Some(()),
        _ => None,
    });
    engine.send(session, Target::Addr(to), b"yes");
    assert_eq!(recv(&receiver).0, b"yes");
}

#[test]
fn ipv4_multicast_join_receive_and_leave() {
    let engine = engine();
    let group: IpAddr = "239.1.2.3".parse().unwrap();
    // Bound to the group: only its datagrams arrive, on loopback.
    let (session, local) = open_udp(&engine, "239.1.2.3:0", None, UdpOptions::default());
    let membership = Membership {
        group,
        interface: "127.0.0.1".into(),
        source: None,
    };
    engine.execute(Command::JoinGroup {
        session,
        membership: membership.clone(),
    });
    wait_for(&engine, |e| match &e.kind {
        EventKind::Joined { membership: m } if *m == membership => Some(()),
        EventKind::Error { message } => panic!("join failed: {message}"),
        _ => None,
    });
    let sender = multicast_sender();
    let to: SocketAddr = SocketAddr::new(group, local.port());
    sender.send_to(b"to-group", &to.into()).unwrap();
    let got = received_datagrams(&engine, session, 1);
    assert_eq!(&got[0].data[..], b"to-group");

    engine.execute(Command::LeaveGroup {
        session,
        membership: membership.clone(),
    });
    wait_for(&engine, |e| match &e.kind {
        EventKind::Left { membership: m } if *m == membership => Some(()),
        EventKind::Error { message } => panic!("leave failed: {message}"),
        _ => None,
    });
    sender.send_to(b"after-leave", &to.into()).unwrap();
    // A marker sent straight to the socket shows the loop went on; the group datagram
    // before it must not have arrived.
    let direct = udp_peer();
    std::thread::sleep(Duration::from_millis(100));
    direct
        .send_to(
            b"marker",
            SocketAddr::new("127.0.0.1".parse().unwrap(), local.port()),
        )
        .ok();
    let deadline = Instant::now() + Duration::from_millis(500);
    while Instant::now() < deadline {
        if let Ok(event) = engine.events().recv_timeout(Duration::from_millis(50))
            && let EventKind::DatagramsReceived { datagrams } = &event.kind
        {
            assert!(
                datagrams.iter().all(|d| &d.data[..] != b"after-leave"),
                "no delivery after leaving"
            );
        }
    }
}

#[test]
fn joining_a_unicast_address_or_an_unknown_interface_is_refused_in_words() {
    let engine = engine();
    let (session, _) = open_udp(&engine, "0.0.0.0:0", None, UdpOptions::default());
    let not_group = Membership {
        group: "10.1.2.3".parse().unwrap(),
        interface: String::new(),
        source: None,
    };
    engine.execute(Command::JoinGroup {
        session,
        membership: not_group,
    });
    let error = next_error(&engine, session);
    assert!(error.contains("not a multicast address"), "{error}");
    let no_such = Membership {
        group: "239.1.2.4".parse().unwrap(),
        interface: "no-such-if0".into(),
        source: None,
    };
    engine.execute(Command::JoinGroup {
        session,
        membership: no_such,
    });
    let error = next_error(&engine, session);
    assert!(error.contains("\"no-such-if0\""), "{error}");
}

#[test]
fn a_connected_client_reports_refusal_and_keeps_going() {
    let engine = engine();
    // A port nothing listens on: bind one, note it, close it.
    let closed = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (session, local) = open_udp(
        &engine,
        "127.0.0.1:0",
        Some(&closed.to_string()),
        UdpOptions::default(),
    );
    engine.send(session, Target::All, b"anyone?");
    let error = next_error(&engine, session);
    assert!(
        error.contains(&format!("connection refused: nothing listens on {closed}")),
        "{error}"
    );
    // Still open: a real peer at another address is answered by a new session to it.
    let peer = udp_peer();
    let to = peer.local_addr().unwrap();
    let (client, client_local) = open_udp(
        &engine,
        "127.0.0.1:0",
        Some(&to.to_string()),
        UdpOptions::default(),
    );
    engine.send(client, Target::All, b"ping");
    assert_eq!(recv(&peer), (b"ping".to_vec(), client_local));
    peer.send_to(b"pong", client_local).unwrap();
    let got = received_datagrams(&engine, client, 1);
    assert_eq!((&got[0].data[..], got[0].addr), (&b"pong"[..], to));
    // The refused session also still sends (and is refused again, not closed).
    engine.send(session, Target::All, b"again");
    let _ = local;
    let error = next_error(&engine, session);
    assert!(error.contains("connection refused"), "{error}");
}

#[test]
fn a_connected_client_sends_only_to_its_peer() {
    let engine = engine();
    let peer = udp_peer();
    let to = peer.local_addr().unwrap();
    let (session, _) = open_udp(
        &engine,
        "127.0.0.1:0",
        Some(&to.to_string()),
        UdpOptions::default(),
    );
    let other: SocketAddr = "127.0.0.1:9".parse().unwrap();
    engine.send(session, Target::Addr(other), b"x");
    let error = next_error(&engine, session);
    assert!(error.contains(&format!("connected to {to}")), "{error}");
}

#[test]
fn binding_a_port_in_use_or_a_name_fails_in_words() {
    let engine = engine();
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let session = engine.open_udp(&addr, None, UdpOptions::default());
    let error = wait_for(&engine, |e| match &e.kind {
        EventKind::UdpFailed { error } if e.session == session => Some(error.clone()),
        _ => None,
    });
    assert!(error.contains("address already in use"), "{error}");
    let session = engine.open_udp("example.invalid:5", None, UdpOptions::default());
    let error = wait_for(&engine, |e| match &e.kind {
        EventKind::UdpFailed { error } if e.session == session => Some(error.clone()),
        _ => None,
    });
    assert!(error.contains("not an IP address"), "{error}");
}

#[test]
fn a_repeat_sends_one_datagram_per_tick() {
    let engine = engine();
    let (session, local) = open_udp(&engine, "127.0.0.1:0", None, UdpOptions::default());
    let peer = udp_peer();
    engine.execute(Command::Repeat {
        session,
        target: Target::Addr(peer.local_addr().unwrap()),
        data: b"tick".to_vec().into(),
        interval: Duration::from_millis(2),
        count: Some(5),
    });
    for _ in 0..5 {
        assert_eq!(recv(&peer), (b"tick".to_vec(), local));
    }
    let (sent, end) = wait_for(&engine, |e| match &e.kind {
        EventKind::RepeatFinished { sent, end } => Some((*sent, end.clone())),
        _ => None,
    });
    assert_eq!((sent, end), (5, RepeatEnd::Done));
}

#[test]
fn a_file_goes_out_as_paced_datagrams_of_the_chosen_size() {
    let engine = engine();
    let (session, _) = open_udp(&engine, "127.0.0.1:0", None, UdpOptions::default());
    let peer = udp_peer();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("payload.bin");
    let content: Vec<u8> = (0..10_500u32).map(|i| (i % 256) as u8).collect();
    std::fs::write(&path, &content).unwrap();
    let started = Instant::now();
    engine.execute(Command::SendFile {
        session,
        target: Target::Addr(peer.local_addr().unwrap()),
        path,
        transfer: engine.new_transfer_id(),
        pacing: Some(DatagramPacing {
            size: 1000,
            per_second: 100,
        }),
    });
    let mut got = Vec::new();
    let mut sizes = Vec::new();
    while got.len() < content.len() {
        let (datagram, _) = recv(&peer);
        sizes.push(datagram.len());
        got.extend(datagram);
    }
    assert_eq!(got, content);
    assert_eq!(
        sizes,
        [
            1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 500
        ]
    );
    // 11 datagrams at 100 a second take at least 100 ms.
    assert!(started.elapsed() >= Duration::from_millis(100));
    let (sent, outcome) = wait_for(&engine, |e| match &e.kind {
        EventKind::TransferFinished { sent, outcome, .. } => Some((*sent, outcome.clone())),
        _ => None,
    });
    assert_eq!((sent, outcome), (10_500, TransferOutcome::Completed));
}

#[test]
fn stop_closes_the_socket_and_reports_stopped() {
    let engine = engine();
    let (session, local) = open_udp(&engine, "127.0.0.1:0", None, UdpOptions::default());
    engine.execute(Command::Stop { session });
    wait_for(&engine, |e| match &e.kind {
        EventKind::Stopped if e.session == session => Some(()),
        _ => None,
    });
    // The port is free again.
    UdpSocket::bind(local).expect("the stopped session's port can be bound again");
}

#[test]
fn a_source_specific_join_hears_only_that_source() {
    let engine = engine();
    let group: IpAddr = "232.1.2.3".parse().unwrap();
    let (session, local) = open_udp(&engine, "232.1.2.3:0", None, UdpOptions::default());
    let from_other = Membership {
        group,
        interface: "127.0.0.1".into(),
        source: Some("127.0.0.2".parse().unwrap()),
    };
    engine.execute(Command::JoinGroup {
        session,
        membership: from_other.clone(),
    });
    wait_for(&engine, |e| match &e.kind {
        EventKind::Joined { .. } => Some(()),
        EventKind::Error { message } => panic!("join failed: {message}"),
        _ => None,
    });
    let sender = multicast_sender();
    let to = SocketAddr::new(group, local.port());
    sender.send_to(b"not-for-you", &to.into()).unwrap();
    let from_us = Membership {
        source: Some("127.0.0.1".parse().unwrap()),
        ..from_other
    };
    engine.execute(Command::JoinGroup {
        session,
        membership: from_us,
    });
    wait_for(&engine, |e| match &e.kind {
        EventKind::Joined { .. } => Some(()),
        EventKind::Error { message } => panic!("join failed: {message}"),
        _ => None,
    });
    sender.send_to(b"for-you", &to.into()).unwrap();
    let got = received_datagrams(&engine, session, 1);
    assert_eq!(
        &got[0].data[..],
        b"for-you",
        "the datagram sent while only 127.0.0.2 was allowed did not arrive"
    );
}

#[test]
fn datagrams_go_on_being_read_and_counted_while_the_owner_is_behind() {
    let engine = engine();
    let (session, local) = open_udp(&engine, "127.0.0.1:0", None, UdpOptions::default());
    let (totals, stats) = {
        // Re-open to capture the counters: the first UdpOpened was taken by `open_udp`.
        engine.execute(Command::OpenUdp {
            session,
            bind: local.to_string(),
            connect: None,
            options: UdpOptions::default(),
        });
        wait_for(&engine, |e| match &e.kind {
            EventKind::UdpOpened { totals, stats, .. } => Some((totals.clone(), stats.clone())),
            EventKind::UdpFailed { error } => panic!("reopen failed: {error}"),
            _ => None,
        })
    };
    // The owner reads nothing while 4,000 datagrams come one by one, so each is read in
    // a turn of its own: far more events than the channel holds.
    let sender = udp_peer();
    const SENT: u64 = 4_000;
    for i in 0..SENT {
        sender.send_to(&i.to_be_bytes(), local).unwrap();
        std::thread::sleep(Duration::from_micros(20));
    }
    wait_until(|| totals.messages_in() + stats.kernel_drops().unwrap_or(0) >= SENT);
    let (mut reported, mut unreported) = (0u64, 0u64);
    let deadline = Instant::now() + WAIT;
    while reported + unreported < totals.messages_in() && Instant::now() < deadline {
        let Ok(event) = engine.events().recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        match event.kind {
            EventKind::DatagramsReceived { datagrams } => reported += datagrams.len() as u64,
            EventKind::DatagramsUnreported { count, bytes } => {
                assert_eq!(bytes, count * 8);
                unreported += count;
            }
            _ => {}
        }
    }
    assert!(
        unreported > 0,
        "the channel filled, so some were not reported"
    );
    assert_eq!(
        reported + unreported,
        totals.messages_in(),
        "every datagram read is either shown or counted as not shown"
    );
    assert_eq!(totals.bytes_in(), totals.messages_in() * 8);
    let dropped = stats.kernel_drops().unwrap_or(0);
    assert_eq!(
        totals.messages_in() + dropped,
        SENT,
        "what was sent was read or dropped by the kernel, and the kernel said so"
    );
}

#[test]
fn an_ipv4_socket_refuses_an_ipv6_address_with_what_to_do() {
    let engine = engine();
    let (session, _) = open_udp(&engine, "127.0.0.1:0", None, UdpOptions::default());
    engine.send(session, Target::Addr("[::1]:9".parse().unwrap()), b"x");
    let error = next_error(&engine, session);
    assert!(error.contains("bind to [::]"), "{error}");
}

#[test]
fn a_dual_stack_socket_lists_ipv4_peers_as_ipv4_and_answers_them() {
    let engine = engine();
    let (session, local) = open_udp(&engine, "[::]:0", None, UdpOptions::default());
    let peer = udp_peer();
    let to = SocketAddr::new("127.0.0.1".parse().unwrap(), local.port());
    peer.send_to(b"v4 to v6", to).unwrap();
    let got = received_datagrams(&engine, session, 1);
    assert_eq!(
        got[0].addr,
        peer.local_addr().unwrap(),
        "not ::ffff:127.0.0.1"
    );
    engine.send(session, Target::LastSender, b"back");
    assert_eq!(recv(&peer).0, b"back");
    let v6 = UdpSocket::bind("[::1]:0").unwrap();
    v6.set_read_timeout(Some(WAIT)).unwrap();
    v6.send_to(b"v6", SocketAddr::new("::1".parse().unwrap(), local.port()))
        .unwrap();
    let got = received_datagrams(&engine, session, 1);
    assert_eq!(got[0].addr, v6.local_addr().unwrap());
    engine.send(session, Target::LastSender, b"six");
    assert_eq!(recv(&v6).0, b"six");
}

/// IPv6 multicast delivery needs a real link (see tests in a private namespace), but the
/// kernel takes and checks memberships on loopback: a malformed request would be refused.
#[test]
fn ipv6_source_specific_memberships_are_taken_and_checked_by_the_kernel() {
    let engine = engine();
    let (session, _) = open_udp(&engine, "[::]:0", None, UdpOptions::default());
    let membership = Membership {
        group: "ff35::1234".parse().unwrap(),
        interface: "lo".into(),
        source: Some("::1".parse().unwrap()),
    };
    let outcome = |engine: &socklab::engine::Engine| {
        wait_for(engine, |e| match &e.kind {
            EventKind::Joined { .. } => Some("joined".to_string()),
            EventKind::Left { .. } => Some("left".to_string()),
            EventKind::Error { message } => Some(message.clone()),
            _ => None,
        })
    };
    let join = || Command::JoinGroup {
        session,
        membership: membership.clone(),
    };
    let leave = || Command::LeaveGroup {
        session,
        membership: membership.clone(),
    };
    engine.execute(join());
    assert_eq!(outcome(&engine), "joined");
    engine.execute(join());
    let again = outcome(&engine);
    assert!(
        again.contains("cannot join") && again.contains("already a member"),
        "{again}"
    );
    engine.execute(leave());
    assert_eq!(outcome(&engine), "left");
    engine.execute(leave());
    let not_member = outcome(&engine);
    assert!(not_member.contains("not a member there"), "{not_member}");
}
