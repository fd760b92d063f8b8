//! The group-chat server mode against several real loopback clients.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use socklab::engine::chat::{MAX_LINE_BYTES, MAX_QUEUED_BYTES};
use socklab::engine::{CloseReason, ConnId, Engine, EventKind};

struct Member {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
    addr: SocketAddr,
    conn: ConnId,
}

fn join(engine: &Engine, server: SocketAddr) -> Member {
    let writer = client(server);
    let reader = BufReader::new(writer.try_clone().unwrap());
    let info = connected(engine);
    assert_eq!(info.peer, writer.local_addr().unwrap());
    Member {
        addr: info.peer,
        conn: info.conn,
        writer,
        reader,
    }
}

fn slower(a: &AtomicUsize, b: &AtomicUsize) -> usize {
    a.load(Ordering::Relaxed).min(b.load(Ordering::Relaxed))
}

fn closed_reason(engine: &Engine, who: ConnId) -> CloseReason {
    wait_for(engine, |e| match &e.kind {
        EventKind::Closed { conn, reason, .. } if *conn == who => Some(reason.clone()),
        _ => None,
    })
}

#[test]
fn relays_each_line_to_every_client_with_time_and_sender() {
    let engine = engine();
    let (_, server) = listen(&engine, true);
    let mut members: Vec<_> = (0..3).map(|_| join(&engine, server)).collect();
    members[1].writer.write_all(b"hello, all\n").unwrap();
    let sender = members[1].addr;
    for member in &mut members {
        assert_eq!(read_relay(&mut member.reader, sender), "hello, all");
    }
    let (conn, peer, line) = wait_for(&engine, |e| match &e.kind {
        EventKind::ChatLine { conn, peer, line } => Some((*conn, *peer, line.clone())),
        _ => None,
    });
    assert_eq!(
        (conn, peer, line.as_slice()),
        (members[1].conn, sender, &b"hello, all"[..])
    );
}

#[test]
fn accepts_crlf_and_skips_blank_lines() {
    let engine = engine();
    let (_, server) = listen(&engine, true);
    let mut a = join(&engine, server);
    let mut b = join(&engine, server);
    a.writer.write_all(b"\r\n   \n\tfirst\r\nsecond\n").unwrap();
    assert_eq!(read_relay(&mut b.reader, a.addr), "\tfirst");
    assert_eq!(read_relay(&mut b.reader, a.addr), "second");
    assert_silent(b.reader.get_mut());
}

#[test]
fn a_burst_of_pipelined_lines_arrives_complete_and_in_order() {
    let engine = engine();
    let (_, server) = listen(&engine, true);
    let mut a = join(&engine, server);
    let mut b = join(&engine, server);
    let burst: String = (0..1000).map(|i| format!("line {i:04}\n")).collect();
    a.writer.write_all(burst.as_bytes()).unwrap();
    let sender = a.addr;
    for member in [&mut a, &mut b] {
        for i in 0..1000 {
            assert_eq!(
                read_relay(&mut member.reader, sender),
                format!("line {i:04}")
            );
        }
    }
    let mut reported = 0;
    wait_for(&engine, |e| match &e.kind {
        EventKind::ChatLine { .. } => {
            reported += 1;
            (reported == 1000).then_some(())
        }
        _ => None,
    });
}

#[test]
fn quit_disconnects_only_the_sender() {
    let engine = engine();
    let (_, server) = listen(&engine, true);
    let mut a = join(&engine, server);
    let mut b = join(&engine, server);
    let mut c = join(&engine, server);
    b.writer.write_all(b"  quit \nnever relayed\n").unwrap();
    assert_eq!(closed_reason(&engine, b.conn), CloseReason::Quit);
    assert_eq!(read_to_close(b.reader.get_mut()).unwrap(), b"");
    a.writer.write_all(b"still here\n").unwrap();
    assert_eq!(read_relay(&mut c.reader, a.addr), "still here");
    assert_eq!(read_relay(&mut a.reader, a.addr), "still here");
    assert_silent(c.reader.get_mut());
}

#[test]
fn a_client_that_leaves_is_removed_and_its_last_line_relayed() {
    let engine = engine();
    let (_, server) = listen(&engine, true);
    let mut a = join(&engine, server);
    let b = join(&engine, server);
    let (mut b_writer, b_conn, b_addr) = (b.writer, b.conn, b.addr);
    drop(b.reader);
    b_writer.write_all(b"no newline at the end").unwrap();
    b_writer.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(read_relay(&mut a.reader, b_addr), "no newline at the end");
    assert_eq!(closed_reason(&engine, b_conn), CloseReason::PeerClosed);
    drop(b_writer);
    a.writer.write_all(b"alone\n").unwrap();
    assert_eq!(read_relay(&mut a.reader, a.addr), "alone");
}

#[test]
fn a_member_that_says_a_line_and_leaves_in_one_write_still_gets_its_own_line() {
    let engine = engine();
    let (_, server) = listen(&engine, true);
    let mut a = join(&engine, server);
    for farewell in [&b"hello\nquit\n"[..], &b"hello\n"[..]] {
        let mut b = join(&engine, server);
        // One write, so the line and the leaving arrive in the same read.
        b.writer.write_all(farewell).unwrap();
        if farewell == b"hello\n" {
            b.writer.shutdown(std::net::Shutdown::Write).unwrap();
        }
        assert_eq!(read_relay(&mut b.reader, b.addr), "hello");
        assert_eq!(read_to_close(b.reader.get_mut()).unwrap(), b"");
        assert_eq!(read_relay(&mut a.reader, b.addr), "hello");
    }
}

#[test]
fn a_last_line_without_newline_is_classified_too() {
    let engine = engine();
    let (_, server) = listen(&engine, true);
    let mut a = join(&engine, server);
    let b = join(&engine, server);
    let mut b_writer = b.writer;
    b_writer.write_all(b"bye\n  quit").unwrap();
    b_writer.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(read_relay(&mut a.reader, b.addr), "bye");
    assert_eq!(closed_reason(&engine, b.conn), CloseReason::Quit);
    assert_silent(a.reader.get_mut());
}

#[test]
fn a_client_that_never_reads_is_dropped_as_too_slow_and_the_rest_get_everything() {
    let engine = engine();
    let (_, server) = listen(&engine, true);
    // A small receive window so the kernel does not absorb megabytes for the idle client.
    let idle = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    idle.set_recv_buffer_size(4096).unwrap();
    idle.connect(&server.into()).unwrap();
    let idle_conn = connected(&engine).conn;
    let talker = join(&engine, server);
    let listener = join(&engine, server);

    let lines = 40_000;
    let text = "x".repeat(500);
    let talker_addr = talker.addr;
    let mut talker_writer = talker.writer;
    let mut talker_reader = talker.reader;
    // The readers must stay within the server's queue limit, or they would be the slow ones
    // (a busy CI machine can starve a reader thread): the writer keeps at most this many
    // lines (about 1 MiB) ahead of the slower reader. The idle client still falls behind by
    // everything, far more than the limit.
    let lines_ahead = 2_000;
    let talker_read = Arc::new(AtomicUsize::new(0));
    let listener_read = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (talker_read, listener_read) = (talker_read.clone(), listener_read.clone());
        thread::spawn(move || {
            for i in 0..lines {
                let deadline = Instant::now() + WAIT;
                while i >= lines_ahead + slower(&talker_read, &listener_read) {
                    assert!(Instant::now() < deadline, "the readers stalled at line {i}");
                    thread::sleep(Duration::from_millis(1));
                }
                writeln!(talker_writer, "{i} {text}").unwrap();
            }
            talker_writer
        })
    };
    // The talker must read its own echoes too.
    let talker_drain = thread::spawn(move || {
        for i in 0..lines {
            let line = read_relay(&mut talker_reader, talker_addr);
            assert!(line.starts_with(&format!("{i} ")));
            talker_read.store(i + 1, Ordering::Relaxed);
        }
    });
    let mut listener_reader = listener.reader;
    for i in 0..lines {
        let line = read_relay(&mut listener_reader, talker_addr);
        assert!(
            line.starts_with(&format!("{i} ")),
            "line {i} out of order: {}",
            &line[..10]
        );
        listener_read.store(i + 1, Ordering::Relaxed);
    }
    talker_drain.join().unwrap();
    let _writer = writer.join().unwrap();
    assert!(
        lines * 540 > 2 * MAX_QUEUED_BYTES,
        "the test overflows the queue"
    );
    assert_eq!(closed_reason(&engine, idle_conn), CloseReason::TooSlow);
    drop(idle);
}

#[test]
fn an_overlong_line_disconnects_its_sender_only() {
    let engine = engine();
    let (_, server) = listen(&engine, true);
    let mut a = join(&engine, server);
    let mut b = join(&engine, server);
    let long = vec![b'y'; MAX_LINE_BYTES + 1];
    // The server may reset the connection while we still write; that is fine.
    let _ = a.writer.write_all(&long);
    assert_eq!(closed_reason(&engine, a.conn), CloseReason::LineTooLong);
    b.writer.write_all(b"fine\n").unwrap();
    assert_eq!(read_relay(&mut b.reader, b.addr), "fine");
    let mut header = String::new();
    assert!(
        a.reader
            .read_line(&mut header)
            .map(|n| n == 0)
            .unwrap_or(true),
        "the sender got nothing more"
    );
}

#[test]
fn the_relay_goes_on_while_nobody_reads_events_and_the_missed_lines_are_counted() {
    let engine = engine();
    let (_, server) = listen(&engine, true);
    let mut a = join(&engine, server);
    let mut b = join(&engine, server);
    // Many more lines than the event channel holds, with nobody reading events meanwhile.
    let lines = socklab::engine::EVENT_CHANNEL_CAPACITY * 5;
    let burst: String = (0..lines).map(|i| format!("{i}\n")).collect();
    a.writer.write_all(burst.as_bytes()).unwrap();
    for i in 0..lines {
        assert_eq!(read_relay(&mut b.reader, a.addr), i.to_string());
    }
    let mut accounted = 0;
    wait_for(&engine, |e| {
        match &e.kind {
            EventKind::ChatLine { .. } => accounted += 1,
            EventKind::LinesUnreported { count } => accounted += *count as usize,
            _ => {}
        }
        (accounted == lines).then_some(())
    });
    drop(a.reader);
}
