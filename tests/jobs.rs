//! Repeat timers, file transfers and captures on the engine, against real sockets and files.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::*;
use socklab::engine::{
    Command, Engine, EventKind, FILE_CHUNK, RepeatEnd, SessionId, Target, TransferId,
    TransferOutcome,
};
use tempfile::TempDir;

/// A fresh directory for a test's files, removed when dropped, even by a failing test.
fn temp_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("socklab-test-")
        .tempdir()
        .expect("a temporary directory")
}

fn send_file(engine: &Engine, session: SessionId, path: PathBuf) -> TransferId {
    let transfer = engine.new_transfer_id();
    engine.execute(Command::SendFile {
        session,
        target: Target::All,
        path,
        transfer,
        pacing: None,
    });
    transfer
}

/// A plain server session with one connected peer.
fn server_with_a_peer(engine: &Engine) -> (SessionId, TcpStream) {
    let (session, addr) = listen(engine, false);
    let peer = client(addr);
    connected(engine);
    (session, peer)
}

/// Repeats `data` to every connection of `session`.
fn repeat(
    engine: &Engine,
    session: SessionId,
    data: &[u8],
    interval: Duration,
    count: Option<u64>,
) {
    engine.execute(Command::Repeat {
        session,
        target: Target::All,
        data: data.to_vec().into(),
        interval,
        count,
    });
}

/// Waits until `counter` has not moved for `quiet`, failing the test if it still moves
/// after [`WAIT`]; returns where it stopped.
fn settled(counter: &AtomicU64, quiet: Duration) -> u64 {
    let deadline = Instant::now() + WAIT;
    let mut last = counter.load(Ordering::Relaxed);
    let mut unchanged_since = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(20));
        let now = counter.load(Ordering::Relaxed);
        if now != last {
            last = now;
            unchanged_since = Instant::now();
        } else if unchanged_since.elapsed() >= quiet {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "still moving after {WAIT:?}, at {now}"
        );
    }
}

/// Bytes that differ at every position, so a lost or reordered chunk shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 251) as u8).collect()
}

#[test]
fn repeat_sends_exactly_count_times_at_the_interval() {
    let engine = engine();
    let (session, mut client) = server_with_a_peer(&engine);
    let started = Instant::now();
    repeat(
        &engine,
        session,
        b"tick\n",
        Duration::from_millis(5),
        Some(20),
    );
    assert_eq!(read_exact(&mut client, 100), b"tick\n".repeat(20));
    let elapsed = started.elapsed();
    let (sent, end) = wait_for(&engine, |e| match &e.kind {
        EventKind::RepeatFinished { sent, end } => Some((*sent, end.clone())),
        _ => None,
    });
    assert_eq!((sent, end), (20, RepeatEnd::Done));
    // 19 intervals of 5 ms lie between the first and last send.
    assert!(
        elapsed >= Duration::from_millis(90),
        "too fast: {elapsed:?}"
    );
    assert_silent(&mut client);
}

#[test]
fn repeat_until_stopped_counts_live_and_stops_on_command() {
    let engine = engine();
    let (session, mut client) = server_with_a_peer(&engine);
    repeat(&engine, session, b"x", Duration::from_millis(1), None);
    let live = wait_for(&engine, |e| match &e.kind {
        EventKind::RepeatStarted { sent, count: None } => Some(sent.clone()),
        _ => None,
    });
    let deadline = Instant::now() + WAIT;
    while live.load(Ordering::Relaxed) < 50 {
        assert!(Instant::now() < deadline, "the 1 ms repeat stalled");
        std::thread::sleep(Duration::from_millis(5));
    }
    engine.execute(Command::StopRepeat { session });
    let sent = wait_for(&engine, |e| match &e.kind {
        EventKind::RepeatFinished {
            sent,
            end: RepeatEnd::Stopped,
        } => Some(*sent),
        _ => None,
    });
    assert!(sent >= 50);
    assert_eq!(
        read_exact(&mut client, sent as usize),
        vec![b'x'; sent as usize]
    );
    assert_silent(&mut client);
}

#[test]
fn repeat_ends_when_its_connection_goes() {
    let engine = engine();
    let (session, client) = server_with_a_peer(&engine);
    repeat(&engine, session, b"x", Duration::from_millis(2), None);
    drop(client);
    let end = wait_for(&engine, |e| match &e.kind {
        EventKind::RepeatFinished { end, .. } => Some(end.clone()),
        _ => None,
    });
    assert_eq!(end, RepeatEnd::NoConnection);
}

#[test]
fn a_file_streams_completely_and_in_order() {
    let dir = temp_dir();
    let path = dir.path().join("stream.bin");
    let content = pattern(9 * 1024 * 1024 + 123);
    std::fs::write(&path, &content).unwrap();
    let engine = engine();
    let (session, addr) = listen(&engine, false);
    let mut client = client(addr);
    let info = connected(&engine);
    let transfer = send_file(&engine, session, path.clone());
    let size = wait_for(&engine, |e| match &e.kind {
        EventKind::TransferStarted { size, .. } => Some(*size),
        _ => None,
    });
    assert_eq!(size, content.len() as u64);
    let got = read_exact(&mut client, content.len());
    assert!(got == content, "the received bytes equal the file");
    let (sent, outcome) = wait_for(&engine, |e| match &e.kind {
        EventKind::TransferFinished {
            transfer: t,
            sent,
            outcome,
            ..
        } if *t == transfer => Some((*sent, outcome.clone())),
        _ => None,
    });
    assert_eq!(
        (sent, outcome),
        (content.len() as u64, TransferOutcome::Completed)
    );
    // The counter moves just after the write call returns, maybe after the peer read.
    let deadline = Instant::now() + WAIT;
    while info.counters.bytes_out() != content.len() as u64 {
        assert!(
            Instant::now() < deadline,
            "bytes out: {}",
            info.counters.bytes_out()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_transfer_to_a_peer_that_does_not_read_can_be_cancelled_and_memory_stays_bounded() {
    let dir = temp_dir();
    let path = dir.path().join("cancel.bin");
    std::fs::write(&path, pattern(64 * 1024 * 1024)).unwrap();
    let engine = engine();
    let (session, _idle) = server_with_a_peer(&engine);
    let transfer = send_file(&engine, session, path.clone());
    let live = wait_for(&engine, |e| match &e.kind {
        EventKind::TransferStarted { sent, .. } => Some(sent.clone()),
        _ => None,
    });
    // The peer reads nothing: the transfer moves, then stops at kernel buffers plus about
    // one queue's worth, far short of the file.
    let stalled = settled(&live, Duration::from_millis(300));
    assert!(
        stalled >= FILE_CHUNK as u64,
        "only {stalled} bytes moved: the transfer never got going"
    );
    assert!(
        stalled < 32 * 1024 * 1024,
        "{stalled} bytes taken while the peer reads nothing"
    );
    engine.execute(Command::CancelTransfer { session, transfer });
    let outcome = wait_for(&engine, |e| match &e.kind {
        EventKind::TransferFinished { outcome, .. } => Some(outcome.clone()),
        _ => None,
    });
    assert_eq!(outcome, TransferOutcome::Cancelled);
}

#[test]
fn a_missing_file_fails_with_its_reason() {
    let engine = engine();
    let (session, _client) = server_with_a_peer(&engine);
    let dir = temp_dir();
    send_file(&engine, session, dir.path().join("does-not-exist.bin"));
    let outcome = wait_for(&engine, |e| match &e.kind {
        EventKind::TransferFinished { outcome, .. } => Some(outcome.clone()),
        _ => None,
    });
    match outcome {
        TransferOutcome::Failed(error) => assert!(error.contains("no such file"), "{error}"),
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// Starts a capture to `path` on a server with one client, and returns the reason it
/// stopped and the bytes that reached the file; then checks the socket carries on.
fn failed_capture(path: PathBuf) -> (u64, String) {
    let engine = engine();
    let (session, addr) = listen(&engine, false);
    let mut peer = client(addr);
    let info = connected(&engine);
    engine.execute(Command::Capture {
        session,
        path: Some(path),
    });
    peer.write_all(b"first").unwrap();
    let mut heard = Vec::new();
    let mut stopped = None;
    let mut second_sent = false;
    while heard.len() < 11 || stopped.is_none() {
        let event = engine
            .events()
            .recv_timeout(WAIT)
            .expect("events keep coming");
        match event.kind {
            EventKind::Received { data, .. } => heard.extend(data),
            EventKind::CaptureStopped { bytes, error, .. } => stopped = Some((bytes, error)),
            _ => {}
        }
        if stopped.is_some() && !second_sent {
            // The socket, its log and its counters carry on without the capture.
            peer.write_all(b"second").unwrap();
            second_sent = true;
        }
    }
    let (bytes, error) = stopped.unwrap();
    assert_eq!(heard, b"firstsecond");
    assert_eq!(info.counters.bytes_in(), 11);
    engine.send(session, Target::All, b"reply".to_vec());
    assert_eq!(read_exact(&mut peer, 5), b"reply");
    (bytes, error.expect("the capture says why it stopped"))
}

#[test]
fn a_capture_into_a_folder_removed_after_it_was_chosen_says_so_and_the_socket_carries_on() {
    let dir = temp_dir();
    let path = dir.path().join("gone").join("capture.bin");
    let (bytes, error) = failed_capture(path.clone());
    assert_eq!(bytes, 0);
    assert_eq!(
        error,
        format!(
            "capture to {} failed: no such file or folder (was it removed?)",
            path.display()
        )
    );
}

#[test]
fn a_capture_where_writing_is_not_allowed_says_so_and_the_socket_carries_on() {
    // sysfs refuses new files even to root, so this holds whoever runs the tests.
    let (bytes, error) = failed_capture(PathBuf::from("/sys/socklab-capture.bin"));
    assert_eq!(bytes, 0);
    assert_eq!(
        error,
        "capture to /sys/socklab-capture.bin failed: not allowed to write there (read-only or no permission)"
    );
}

#[test]
fn a_capture_onto_a_full_disk_says_how_many_bytes_reached_it_and_the_socket_carries_on() {
    let (bytes, error) = failed_capture(PathBuf::from("/dev/full"));
    assert_eq!(bytes, 0);
    assert_eq!(
        error,
        "capture to /dev/full failed: no space left on the disk"
    );
}

#[test]
fn capture_writes_every_received_byte_even_when_nobody_reads_events() {
    let dir = temp_dir();
    let path = dir.path().join("capture.bin");
    let engine = engine();
    let (session, addr) = listen(&engine, false);
    engine.execute(Command::Capture {
        session,
        path: Some(path.clone()),
    });
    wait_for(&engine, |e| {
        matches!(e.kind, EventKind::CaptureStarted { .. }).then_some(())
    });
    let mut sender = client(addr);
    connected(&engine);
    // Far more than the event channel holds: the engine must pause, not drop.
    let content = pattern(96 * 1024 * 1024);
    let writer = {
        let content = content.clone();
        std::thread::spawn(move || {
            sender.write_all(&content).unwrap();
            sender
        })
    };
    let mut received = 0usize;
    let sender = loop {
        // Read events slowly at first, as a busy window would.
        if received < 1024 * 1024 {
            std::thread::sleep(Duration::from_millis(20));
        }
        let event = engine
            .events()
            .recv_timeout(WAIT)
            .expect("events keep coming");
        if let EventKind::Received { data, .. } = &event.kind {
            received += data.len();
        }
        if received == content.len() {
            break writer.join().unwrap();
        }
    };
    drop(sender);
    engine.execute(Command::Capture {
        session,
        path: None,
    });
    let (bytes, error) = wait_for(&engine, |e| match &e.kind {
        EventKind::CaptureStopped { bytes, error, .. } => Some((*bytes, error.clone())),
        _ => None,
    });
    assert_eq!((bytes, error), (content.len() as u64, None));
    let mut written = Vec::new();
    std::fs::File::open(&path)
        .unwrap()
        .read_to_end(&mut written)
        .unwrap();
    assert!(
        written == content,
        "the capture file holds exactly what was sent"
    );
}

#[test]
fn a_send_larger_than_the_queue_cap_is_refused_with_a_reason() {
    let engine = engine();
    let (session, _idle) = server_with_a_peer(&engine);
    engine.send(
        session,
        Target::All,
        vec![0u8; socklab::engine::MAX_SEND_QUEUE + 1],
    );
    let message = wait_for(&engine, |e| match &e.kind {
        EventKind::Error { message } => Some(message.clone()),
        _ => None,
    });
    assert!(
        message.contains("waiting for the peer to read"),
        "{message}"
    );
}

#[test]
fn a_large_file_to_a_fast_reader_does_not_stall() {
    let dir = temp_dir();
    let path = dir.path().join("fast.bin");
    let content = pattern(96 * 1024 * 1024);
    std::fs::write(&path, &content).unwrap();
    let engine = engine();
    let (session, mut client) = server_with_a_peer(&engine);
    let reader = std::thread::spawn(move || {
        let mut got = vec![0; 96 * 1024 * 1024];
        client.read_exact(&mut got).map(|()| got)
    });
    send_file(&engine, session, path.clone());
    let outcome = wait_for(&engine, |e| match &e.kind {
        EventKind::TransferFinished { outcome, .. } => Some(outcome.clone()),
        _ => None,
    });
    assert_eq!(outcome, TransferOutcome::Completed);
    assert!(reader.join().unwrap().expect("every byte") == content);
}

#[test]
fn finish_sending_ends_a_running_repeat_and_closes_cleanly() {
    let engine = engine();
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let session = engine.connect(
        &server.local_addr().unwrap().to_string(),
        socklab::engine::DEFAULT_CONNECT_TIMEOUT,
    );
    let (mut peer, _) = server.accept().unwrap();
    peer.set_read_timeout(Some(WAIT)).unwrap();
    connected(&engine);
    repeat(&engine, session, b"r", Duration::from_millis(1), None);
    std::thread::sleep(Duration::from_millis(30));
    engine.execute(Command::FinishSending {
        session,
        target: Target::All,
    });
    let end = wait_for(&engine, |e| match &e.kind {
        EventKind::RepeatFinished { end, .. } => Some(end.clone()),
        _ => None,
    });
    assert_eq!(end, RepeatEnd::Stopped);
    // Everything queued arrives, then a clean FIN (no reset).
    let got = read_to_close(&mut peer).expect("a clean end of stream");
    assert!(!got.is_empty() && got.iter().all(|&b| b == b'r'));
    wait_for(&engine, |e| {
        matches!(e.kind, EventKind::SendingFinished { .. }).then_some(())
    });
}

#[test]
fn absurd_timeouts_and_intervals_do_not_panic_the_engine() {
    let engine = engine();
    let (session, mut client) = server_with_a_peer(&engine);
    repeat(&engine, session, b"once", Duration::MAX, Some(2));
    assert_eq!(read_exact(&mut client, 4), b"once");
    let addr = client.peer_addr().unwrap();
    let other = engine.connect(&addr.to_string(), Duration::MAX);
    wait_for(&engine, |e| match &e.kind {
        EventKind::Connected(_) if e.session == other => Some(()),
        _ => None,
    });
    engine.send(session, Target::All, b"still alive");
    assert_eq!(read_exact(&mut client, 11), b"still alive");
}

#[test]
fn a_capture_set_before_the_socket_starts_records_from_the_first_connection() {
    let dir = temp_dir();
    let path = dir.path().join("early-capture.bin");
    let engine = engine();
    // A socket restored from the last run: it has an id but has not started yet.
    let session = engine.new_session_id();
    engine.execute(Command::Capture {
        session,
        path: Some(path.clone()),
    });
    engine.execute(Command::Listen {
        session,
        addr: "127.0.0.1:0".into(),
        options: socklab::engine::ServerOptions {
            chat: false,
            ..Default::default()
        },
    });
    let addr = wait_for(&engine, |e| match &e.kind {
        EventKind::Listening { local } => Some(*local),
        EventKind::Error { message } => panic!("{message}"),
        _ => None,
    });
    let mut sender = client(addr);
    connected(&engine);
    sender.write_all(b"first bytes").unwrap();
    drop(sender);
    wait_for(&engine, |e| {
        matches!(e.kind, EventKind::PeerFinished { .. }).then_some(())
    });
    engine.execute(Command::Capture {
        session,
        path: None,
    });
    let bytes = wait_for(&engine, |e| match &e.kind {
        EventKind::CaptureStopped { bytes, .. } => Some(*bytes),
        _ => None,
    });
    assert_eq!(bytes, 11);
    assert_eq!(std::fs::read(&path).unwrap(), b"first bytes");
}
