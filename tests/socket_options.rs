//! TCP socket options on real loopback sockets: what is asked for reaches the kernel, what
//! the kernel keeps is read back and reported, and the user's close sends RST when asked.

mod common;

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use common::{WAIT, engine, wait_for};
use socklab::engine::options::{Keepalive, OptionsInEffect, SocketOptions};
use socklab::engine::{
    ClientOptions, CloseHow, CloseReason, Command, ConnInfo, DEFAULT_CONNECT_TIMEOUT, Engine,
    EventKind, ServerOptions, SessionId,
};

fn server_options(socket: SocketOptions) -> ServerOptions {
    ServerOptions {
        socket,
        ..ServerOptions::default()
    }
}

fn client_options(socket: SocketOptions) -> ClientOptions {
    ClientOptions { socket, tls: None }
}

/// Listens on `addr` with `socket`: the bound address and the listener's options, or why
/// it failed.
fn try_listen(
    engine: &Engine,
    addr: &str,
    socket: SocketOptions,
) -> (SessionId, Result<(SocketAddr, OptionsInEffect), String>) {
    let session = engine.listen(addr, server_options(socket));
    let local = wait_for(engine, |e| match &e.kind {
        EventKind::Listening { local } if e.session == session => Some(Ok(*local)),
        EventKind::ListenFailed { error } if e.session == session => Some(Err(error.clone())),
        _ => None,
    });
    let result = local.map(|local| {
        let options = wait_for(engine, |e| match &e.kind {
            EventKind::ListenerOptions { options } if e.session == session => Some(options.clone()),
            _ => None,
        });
        (local, options)
    });
    (session, result)
}

fn listen(engine: &Engine, socket: SocketOptions) -> (SessionId, SocketAddr, OptionsInEffect) {
    let (session, result) = try_listen(engine, "127.0.0.1:0", socket);
    let (local, options) = result.expect("listens");
    (session, local, options)
}

fn connected_of(engine: &Engine, session: SessionId) -> ConnInfo {
    wait_for(engine, |e| match &e.kind {
        EventKind::Connected(info) if e.session == session => Some(info.clone()),
        EventKind::ConnectFailed { error } if e.session == session => {
            panic!("connect failed: {error}")
        }
        _ => None,
    })
}

fn closed_of(engine: &Engine, session: SessionId) -> CloseReason {
    wait_for(engine, |e| match &e.kind {
        EventKind::Closed { reason, .. } if e.session == session => Some(reason.clone()),
        _ => None,
    })
}

/// A socklab client connected to a std listener, and the std side of the connection.
fn client_to_std(engine: &Engine, socket: SocketOptions) -> (SessionId, ConnInfo, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let session = engine.connect_with(&addr, DEFAULT_CONNECT_TIMEOUT, client_options(socket));
    let info = connected_of(engine, session);
    let (peer, _) = listener.accept().unwrap();
    peer.set_read_timeout(Some(WAIT)).unwrap();
    (session, info, peer)
}

/// What Linux keeps of a buffer size asked for: double it (room for its bookkeeping),
/// after capping it at the system's maximum.
#[cfg(target_os = "linux")]
fn linux_keeps(asked: usize, max_file: &str) -> usize {
    let max: usize = std::fs::read_to_string(max_file)
        .expect("the maximum is readable")
        .trim()
        .parse()
        .unwrap();
    asked.min(max) * 2
}

#[test]
fn buffer_sizes_asked_for_are_read_back_on_the_listener_and_its_connections() {
    let engine = engine();
    let (rcv, snd) = (65_536, 32_768);
    let asked = SocketOptions {
        recv_buffer: Some(rcv),
        send_buffer: Some(snd),
        ..SocketOptions::default()
    };
    let (session, addr, listener) = listen(&engine, asked);
    let _client = common::client(addr);
    let accepted = connected_of(&engine, session);
    for effect in [&listener, &accepted.options] {
        let (recv, send) = (effect.recv_buffer.unwrap(), effect.send_buffer.unwrap());
        assert!(recv >= rcv && send >= snd, "{recv} {send}");
        #[cfg(target_os = "linux")]
        {
            assert_eq!(recv, linux_keeps(rcv, "/proc/sys/net/core/rmem_max"));
            assert_eq!(send, linux_keeps(snd, "/proc/sys/net/core/wmem_max"));
        }
    }
    let described = listener.describe();
    let rcvbuf = described
        .iter()
        .find(|(name, _)| *name == "SO_RCVBUF")
        .unwrap();
    assert!(
        rcvbuf.1.ends_with(" bytes") && rcvbuf.1.contains(','),
        "{rcvbuf:?}"
    );
}

#[test]
fn nodelay_is_on_by_default_and_off_when_asked() {
    let engine = engine();
    let (session, addr, listener) = listen(&engine, SocketOptions::default());
    assert_eq!(listener.no_delay, Some(true));
    let _client = common::client(addr);
    assert_eq!(connected_of(&engine, session).options.no_delay, Some(true));

    let off = SocketOptions {
        no_delay: false,
        ..SocketOptions::default()
    };
    let (session, addr, listener) = listen(&engine, off.clone());
    assert_eq!(listener.no_delay, Some(false));
    let _client = common::client(addr);
    assert_eq!(connected_of(&engine, session).options.no_delay, Some(false));

    let (_, info, _peer) = client_to_std(&engine, off);
    assert_eq!(info.options.no_delay, Some(false));
}

#[test]
fn keepalive_and_its_timings_are_read_back() {
    let engine = engine();
    let (_, plain, _peer) = client_to_std(&engine, SocketOptions::default());
    assert_eq!(plain.options.keepalive, Some(false));

    let asked = SocketOptions {
        keepalive: Some(Keepalive {
            idle: Some(Duration::from_secs(60)),
            interval: Some(Duration::from_secs(10)),
            count: Some(5),
        }),
        ..SocketOptions::default()
    };
    let (_, info, _peer) = client_to_std(&engine, asked.clone());
    let options = &info.options;
    assert_eq!(options.keepalive, Some(true));
    #[cfg(any(target_os = "linux", target_os = "macos"))]
    {
        assert_eq!(options.keepalive_idle, Some(Duration::from_secs(60)));
        assert_eq!(options.keepalive_interval, Some(Duration::from_secs(10)));
        assert_eq!(options.keepalive_count, Some(5));
    }

    // A server's accepted connections get them too.
    let (session, addr, _) = listen(&engine, asked);
    let _client = common::client(addr);
    let accepted = connected_of(&engine, session).options;
    assert_eq!(accepted.keepalive, Some(true));
    #[cfg(target_os = "linux")]
    assert_eq!(accepted.keepalive_idle, Some(Duration::from_secs(60)));
}

#[test]
fn ttl_is_read_back_and_a_refused_value_names_the_option() {
    let engine = engine();
    let asked = SocketOptions {
        ttl: Some(7),
        ..SocketOptions::default()
    };
    let (_, info, _peer) = client_to_std(&engine, asked.clone());
    assert_eq!(info.options.ttl, Some(7));
    assert_eq!(info.options.ttl_name(), "IP_TTL");
    let (_, _, listener) = listen(&engine, asked);
    assert_eq!(listener.ttl, Some(7));

    // The engine takes what the window and the CLI would refuse; the kernel says no.
    let zero = SocketOptions {
        ttl: Some(0),
        ..SocketOptions::default()
    };
    let (_, failed) = try_listen(&engine, "127.0.0.1:0", zero);
    let error = failed.unwrap_err();
    assert!(error.starts_with("cannot set IP_TTL to 0: "), "{error}");
}

#[test]
fn v6only_asked_on_an_ipv4_listener_is_an_error_in_words() {
    let engine = engine();
    let asked = SocketOptions {
        only_v6: Some(true),
        ..SocketOptions::default()
    };
    let (_, failed) = try_listen(&engine, "127.0.0.1:0", asked);
    assert_eq!(
        failed.unwrap_err(),
        "IPV6_V6ONLY is for IPv6 sockets only, and 127.0.0.1:0 is IPv4"
    );
}

#[test]
fn a_dual_stack_listener_on_the_ipv6_any_address_takes_an_ipv4_client() {
    let engine = engine();
    let asked = SocketOptions {
        only_v6: Some(false),
        ..SocketOptions::default()
    };
    let (session, result) = try_listen(&engine, "[::]:0", asked);
    let (local, listener) = match result {
        Ok(found) => found,
        Err(error) => {
            println!("skipped: IPv6 is not available here ({error})");
            return;
        }
    };
    assert_eq!(listener.only_v6, Some(false));
    assert_eq!(listener.ipv6, Some(true));
    let mut client = common::client(SocketAddr::from(([127, 0, 0, 1], local.port())));
    let accepted = connected_of(&engine, session);
    // An IPv4 peer on an IPv6 socket: ::ffff:127.0.0.1.
    let peer = match accepted.peer {
        SocketAddr::V6(v6) => v6.ip().to_ipv4_mapped().map(std::net::IpAddr::V4),
        SocketAddr::V4(v4) => Some(std::net::IpAddr::V4(*v4.ip())),
    };
    assert_eq!(peer, Some([127, 0, 0, 1].into()));
    engine.send(session, socklab::engine::Target::All, b"both\n".to_vec());
    assert_eq!(common::read_exact(&mut client, 5), b"both\n");
}

#[test]
fn reuseport_lets_two_sessions_listen_on_one_port_and_without_it_the_second_fails() {
    let engine = engine();
    let shared = SocketOptions {
        reuse_port: true,
        ..SocketOptions::default()
    };
    let (_, addr, first) = listen(&engine, shared.clone());
    #[cfg(unix)]
    {
        assert_eq!(first.reuse_port, Some(true));
        let (_, second) = try_listen(&engine, &addr.to_string(), shared);
        let (second_addr, _) = second.expect("the second listens on the same port");
        assert_eq!(second_addr, addr);
    }
    #[cfg(not(unix))]
    let _ = (first, addr);

    let (_, addr, _) = listen(&engine, SocketOptions::default());
    let (_, second) = try_listen(&engine, &addr.to_string(), SocketOptions::default());
    assert_eq!(second.unwrap_err(), "address already in use");
}

#[test]
fn a_client_bound_to_a_local_port_is_seen_from_that_port() {
    let engine = engine();
    // A port free a moment ago (taken and given back).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let local: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let asked = SocketOptions {
        local_bind: Some(local),
        ..SocketOptions::default()
    };
    let (_, info, peer) = client_to_std(&engine, asked);
    assert_eq!(info.local, local);
    assert_eq!(peer.peer_addr().unwrap(), local);
}

#[test]
fn with_reset_on_close_the_clients_stop_resets_and_without_it_the_peer_reads_the_end() {
    let engine = engine();
    let (session, _, mut peer) = client_to_std(&engine, SocketOptions::default());
    engine.execute(Command::Stop { session });
    assert_eq!(closed_of(&engine, session), CloseReason::Closed);
    assert_eq!(
        peer.read(&mut [0; 16]).unwrap(),
        0,
        "a FIN: the end of the stream"
    );

    let reset = SocketOptions {
        reset_on_close: true,
        ..SocketOptions::default()
    };
    let (session, _, mut peer) = client_to_std(&engine, reset);
    engine.execute(Command::Stop { session });
    assert_eq!(closed_of(&engine, session), CloseReason::Aborted);
    let error = peer.read(&mut [0; 16]).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ConnectionReset);
}

#[test]
fn with_reset_on_close_a_servers_kick_and_stop_reset_their_clients() {
    let engine = engine();
    let reset = SocketOptions {
        reset_on_close: true,
        ..SocketOptions::default()
    };
    let (session, addr, _) = listen(&engine, reset);
    let mut kicked = common::client(addr);
    let conn = connected_of(&engine, session).conn;
    // The user's Kick asks for a graceful close; the option makes it RST.
    engine.execute(Command::Close {
        session,
        conn,
        how: CloseHow::Graceful,
    });
    assert_eq!(closed_of(&engine, session), CloseReason::Aborted);
    let error = kicked.read(&mut [0; 16]).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ConnectionReset);

    let mut left = common::client(addr);
    connected_of(&engine, session);
    engine.execute(Command::Stop { session });
    assert_eq!(closed_of(&engine, session), CloseReason::Aborted);
    let error = left.read(&mut [0; 16]).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ConnectionReset);
}

#[test]
fn a_local_bind_that_is_taken_names_the_address() {
    let engine = engine();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let asked = SocketOptions {
        local_bind: Some(taken.local_addr().unwrap()),
        reuse_address: false,
        ..SocketOptions::default()
    };
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    let session = engine.connect_with(
        &target.local_addr().unwrap().to_string(),
        DEFAULT_CONNECT_TIMEOUT,
        client_options(asked),
    );
    let error = wait_for(&engine, |e| match &e.kind {
        EventKind::ConnectFailed { error } if e.session == session => Some(error.clone()),
        _ => None,
    });
    assert!(
        error.contains(&format!(
            "cannot bind to {}: address already in use",
            taken.local_addr().unwrap()
        )),
        "{error}"
    );
}
