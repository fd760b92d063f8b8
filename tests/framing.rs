//! Framing on the net thread: what a client writes is reported as messages cut by the
//! session's framing, with partial messages waiting (and counted), leftovers at close, the
//! maximum size, and checksums checked.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::*;
use socklab::engine::framing::{Cut, Framing, FramingSpec, LengthPrefix, LineEnd, MessageMark};
use socklab::engine::{Command, ConnInfo, Engine, EventKind, ServerOptions, SessionId};
use socklab::payload::{ByteOrder, Checksum, ChecksumKind};

/// A plain server whose connections are framed by `framing` from the first byte.
fn framed_server(engine: &Engine, framing: FramingSpec) -> (SessionId, SocketAddr) {
    let session = engine.new_session_id();
    engine.execute(Command::SetFraming { session, framing });
    engine.execute(Command::Listen {
        session,
        addr: "127.0.0.1:0".into(),
        options: ServerOptions::default(),
    });
    let local = wait_for(engine, |e| match &e.kind {
        EventKind::Listening { local } if e.session == session => Some(*local),
        EventKind::ListenFailed { error } => panic!("listen failed: {error}"),
        _ => None,
    });
    (session, local)
}

fn spec(framing: Framing) -> FramingSpec {
    FramingSpec {
        framing,
        ..FramingSpec::default()
    }
}

/// The next `count` messages the session reports, with their marks.
fn messages(engine: &Engine, count: usize) -> Vec<(Vec<u8>, MessageMark)> {
    let mut got = Vec::new();
    wait_for(engine, |e| match &e.kind {
        EventKind::Received { data, messages, .. } => {
            let mut start = 0;
            for mark in messages {
                got.push((data[start..mark.end].to_vec(), *mark));
                start = mark.end;
            }
            (got.len() >= count).then_some(())
        }
        _ => None,
    });
    assert_eq!(got.len(), count, "exactly the messages expected: {got:?}");
    got
}

fn bytes(messages: &[(Vec<u8>, MessageMark)]) -> Vec<Vec<u8>> {
    messages.iter().map(|(data, _)| data.clone()).collect()
}

fn connect(engine: &Engine, local: SocketAddr) -> (TcpStream, ConnInfo) {
    let stream = client(local);
    let info = connected(engine);
    stream.set_nodelay(true).unwrap();
    (stream, info)
}

/// Writes `data` one byte at a time, each its own segment.
fn trickle(stream: &mut TcpStream, data: &[u8]) {
    for byte in data {
        stream.write_all(&[*byte]).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn lines_are_cut_at_lf_or_crlf_and_a_partial_line_waits() {
    let engine = engine();
    let (_, local) = framed_server(&engine, spec(Framing::Line(LineEnd::Any)));
    let (mut stream, info) = connect(&engine, local);
    stream.write_all(b"one\ntwo\r\nthr").unwrap();
    let got = messages(&engine, 2);
    assert_eq!(bytes(&got), [b"one\n".to_vec(), b"two\r\n".to_vec()]);
    assert_eq!(got[0].1.delimiter, 1);
    assert_eq!(got[1].1.delimiter, 2, "CRLF is the delimiter, not the body");
    // "thr" waits, and the counters say so.
    let deadline = std::time::Instant::now() + WAIT;
    while info.counters.waiting() != 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "3 bytes shown waiting"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(info.counters.messages_in(), 2);
    assert_eq!(info.counters.bytes_in(), 12);
    stream.write_all(b"ee\n").unwrap();
    assert_eq!(bytes(&messages(&engine, 1)), [b"three\n".to_vec()]);
}

#[test]
fn a_message_sent_one_byte_at_a_time_is_one_message() {
    let engine = engine();
    let (_, local) = framed_server(&engine, spec(Framing::Line(LineEnd::CrLf)));
    let (mut stream, _) = connect(&engine, local);
    trickle(&mut stream, b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(
        bytes(&messages(&engine, 2)),
        [b"GET / HTTP/1.0\r\n".to_vec(), b"\r\n".to_vec()]
    );
}

#[test]
fn a_delimiter_given_as_bytes_cuts_messages() {
    let engine = engine();
    let (_, local) = framed_server(&engine, spec(Framing::Delimiter(vec![0x03, 0x04])));
    let (mut stream, _) = connect(&engine, local);
    stream.write_all(b"\x02abc\x03").unwrap();
    std::thread::sleep(Duration::from_millis(20));
    stream.write_all(b"\x04\x02de\x03\x04").unwrap();
    assert_eq!(
        bytes(&messages(&engine, 2)),
        [b"\x02abc\x03\x04".to_vec(), b"\x02de\x03\x04".to_vec()]
    );
}

#[test]
fn fixed_length_messages() {
    let engine = engine();
    let (_, local) = framed_server(&engine, spec(Framing::Fixed(4)));
    let (mut stream, _) = connect(&engine, local);
    stream.write_all(b"abcdefghij").unwrap();
    assert_eq!(
        bytes(&messages(&engine, 2)),
        [b"abcd".to_vec(), b"efgh".to_vec()]
    );
}

#[test]
fn a_length_prefix_split_across_reads_still_frames() {
    let engine = engine();
    let prefix = LengthPrefix {
        width: 2,
        big_endian: true,
        includes_header: false,
        offset: 1,
    };
    let (_, local) = framed_server(&engine, spec(Framing::LengthPrefixed(prefix)));
    let (mut stream, _) = connect(&engine, local);
    // A magic byte, then a two-byte length split between two writes.
    stream.write_all(b"\xaa\x00").unwrap();
    std::thread::sleep(Duration::from_millis(30));
    stream.write_all(b"\x03xyz\xaa\x00\x01!").unwrap();
    assert_eq!(
        bytes(&messages(&engine, 2)),
        [b"\xaa\x00\x03xyz".to_vec(), b"\xaa\x00\x01!".to_vec()]
    );
}

#[test]
fn a_little_endian_prefix_counting_its_header_arrives_one_byte_at_a_time() {
    let engine = engine();
    let prefix = LengthPrefix {
        width: 4,
        big_endian: false,
        includes_header: true,
        offset: 0,
    };
    let (_, local) = framed_server(&engine, spec(Framing::LengthPrefixed(prefix)));
    let (mut stream, _) = connect(&engine, local);
    trickle(&mut stream, b"\x06\x00\x00\x00hi\x04\x00\x00\x00");
    assert_eq!(
        bytes(&messages(&engine, 2)),
        [b"\x06\x00\x00\x00hi".to_vec(), b"\x04\x00\x00\x00".to_vec()]
    );
}

#[test]
fn what_waits_when_the_peer_closes_is_logged_as_incomplete() {
    let engine = engine();
    let (_, local) = framed_server(&engine, spec(Framing::Line(LineEnd::Lf)));
    let (mut stream, _) = connect(&engine, local);
    stream.write_all(b"whole\nhalf").unwrap();
    drop(stream);
    let got = messages(&engine, 2);
    assert_eq!(bytes(&got), [b"whole\n".to_vec(), b"half".to_vec()]);
    assert_eq!(got[0].1.cut, Cut::Whole);
    assert_eq!(got[1].1.cut, Cut::Leftover);
    wait_for(&engine, |e| {
        matches!(e.kind, EventKind::PeerFinished { .. }).then_some(())
    });
}

#[test]
fn a_line_over_the_maximum_is_delivered_in_marked_pieces_and_the_next_is_whole() {
    let engine = engine();
    let framing = FramingSpec {
        framing: Framing::Line(LineEnd::Lf),
        max_message: 4,
        checksum: None,
    };
    let (_, local) = framed_server(&engine, framing);
    let (mut stream, _) = connect(&engine, local);
    stream.write_all(b"abcdefghij\nok\n").unwrap();
    let got = messages(&engine, 4);
    assert_eq!(
        bytes(&got),
        [
            b"abcd".to_vec(),
            b"efgh".to_vec(),
            b"ij\n".to_vec(),
            b"ok\n".to_vec()
        ]
    );
    let cuts: Vec<Cut> = got.iter().map(|(_, mark)| mark.cut).collect();
    assert_eq!(cuts, [Cut::TooLong, Cut::TooLong, Cut::TooLong, Cut::Whole]);
}

#[test]
fn a_wrong_checksum_is_marked_and_a_right_one_passes() {
    let engine = engine();
    let framing = FramingSpec {
        framing: Framing::Fixed(11),
        max_message: 1024,
        checksum: Some(Checksum {
            kind: ChecksumKind::Crc16Modbus,
            order: ByteOrder::Little,
        }),
    };
    let (_, local) = framed_server(&engine, framing);
    let (mut stream, _) = connect(&engine, local);
    // CRC-16/MODBUS of "123456789" is 0x4B37, sent low byte first.
    stream
        .write_all(b"123456789\x37\x4b123456789\x4b\x37")
        .unwrap();
    let got = messages(&engine, 2);
    assert_eq!(got[0].1.checksum_ok, Some(true));
    assert_eq!(got[1].1.checksum_ok, Some(false));
}

#[test]
fn changing_the_framing_delivers_what_waited_and_frames_what_follows() {
    let engine = engine();
    let (session, local) = framed_server(&engine, spec(Framing::Raw));
    let (mut stream, _) = connect(&engine, local);
    stream.write_all(b"raw").unwrap();
    assert_eq!(bytes(&messages(&engine, 1)), [b"raw".to_vec()]);
    engine.execute(Command::SetFraming {
        session,
        framing: spec(Framing::Line(LineEnd::Lf)),
    });
    // Commands run in order: once this send arrives, the new framing is in place, and
    // what is written next cannot be read under the old one.
    engine.send(session, socklab::engine::Target::All, b"ok".to_vec());
    stream.set_read_timeout(Some(WAIT)).unwrap();
    assert_eq!(read_exact(&mut stream, 2), b"ok");
    stream.write_all(b"a\nb").unwrap();
    assert_eq!(bytes(&messages(&engine, 1)), [b"a\n".to_vec()]);
    engine.execute(Command::SetFraming {
        session,
        framing: spec(Framing::Fixed(2)),
    });
    let got = messages(&engine, 1);
    assert_eq!(bytes(&got), [b"b".to_vec()]);
    assert_eq!(got[0].1.cut, Cut::Leftover);
    stream.write_all(b"wxyz").unwrap();
    assert_eq!(
        bytes(&messages(&engine, 2)),
        [b"wx".to_vec(), b"yz".to_vec()]
    );
}

#[test]
fn an_invalid_framing_is_refused_in_words_and_the_old_one_stays() {
    let engine = engine();
    let (session, local) = framed_server(&engine, spec(Framing::Line(LineEnd::Lf)));
    engine.execute(Command::SetFraming {
        session,
        framing: spec(Framing::Fixed(0)),
    });
    let error = next_error(&engine, session);
    assert!(error.starts_with("framing not changed:"), "{error}");
    let (mut stream, _) = connect(&engine, local);
    stream.write_all(b"x\ny\n").unwrap();
    assert_eq!(
        bytes(&messages(&engine, 2)),
        [b"x\n".to_vec(), b"y\n".to_vec()]
    );
}
