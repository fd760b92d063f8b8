//! Many connections come and go (some sending, half ending with RST): the engine's
//! descriptors and threads return to where they started. One test in its own binary, so
//! no other test's sockets or threads are counted.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::{WAIT, engine, listen};
use socklab::engine::options::SocketOptions;
use socklab::engine::{Engine, EventKind, ServerOptions};

const CYCLES: usize = 1_000;

fn entries(dir: &str) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| entries.count())
}

#[derive(Default)]
struct Tally {
    connected: usize,
    closed: usize,
}

impl Tally {
    /// Counts the events waiting (or arriving within `wait` of each other).
    fn count(&mut self, engine: &Engine, wait: Duration) {
        while let Ok(event) = engine.events().recv_timeout(wait) {
            match event.kind {
                EventKind::Connected(_) => self.connected += 1,
                EventKind::Closed { .. } => self.closed += 1,
                _ => {}
            }
        }
    }
}

#[test]
fn descriptors_and_threads_return_to_where_they_started_after_churn() {
    let engine = engine();
    // A plain server keeps a finished peer's connection half-open by default; here it
    // closes as the peer does, so every connection's resources must come back.
    let options = ServerOptions {
        socket: SocketOptions {
            close_when_peer_finishes: true,
            ..SocketOptions::default()
        },
        ..ServerOptions::default()
    };
    let (_plain, plain_addr) = common::listen_with(&engine, options);
    let (_chat, chat_addr) = listen(&engine, true);
    let fds_before = entries("/proc/self/fd");
    let threads_before = entries("/proc/self/task");
    let mut tally = Tally::default();
    for i in 0..CYCLES {
        let addr = if i % 2 == 0 { plain_addr } else { chat_addr };
        let mut stream = TcpStream::connect(addr).expect("connects");
        if i % 3 == 0 {
            stream.write_all(b"churn line\n").unwrap();
        }
        if i % 4 < 2 {
            socket2::SockRef::from(&stream)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
        }
        drop(stream);
        // Keep up with the events, as an owner does.
        tally.count(&engine, Duration::ZERO);
    }
    let deadline = std::time::Instant::now() + WAIT;
    while tally.closed < CYCLES && std::time::Instant::now() < deadline {
        tally.count(&engine, Duration::from_millis(20));
    }
    assert_eq!((tally.connected, tally.closed), (CYCLES, CYCLES));
    assert_eq!(entries("/proc/self/fd"), fds_before, "descriptors");
    assert_eq!(entries("/proc/self/task"), threads_before, "threads");
}
