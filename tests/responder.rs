//! Responders on the net thread: rules answer what real clients send, with every match
//! kind, variables, delays, close and drop, first-match or all, and keep answering while
//! the owner reads no events.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use socklab::engine::framing::{Framing, FramingSpec, LineEnd};
use socklab::engine::responder::{
    MatchKind, ReplyTo, Responder, ResponderSpec, RuleAction, RuleSpec,
};
use socklab::engine::{
    CloseReason, Command, Engine, EventKind, Payload, ServerOptions, SessionId, Target, UdpOptions,
};
use socklab::payload::{
    ByteOrder, Checksum, ChecksumKind, LineEnding, PayloadFormat, PayloadSpec, Template,
    TextEncoding,
};

fn reply(text: &str) -> PayloadSpec {
    PayloadSpec {
        text: text.into(),
        line_ending: LineEnding::Lf,
        ..PayloadSpec::default()
    }
}

fn rule(matches: MatchKind, pattern: &str, answer: &str) -> RuleSpec {
    RuleSpec {
        matches,
        pattern: pattern.into(),
        reply: reply(answer),
        ..RuleSpec::default()
    }
}

fn compiled(rules: Vec<RuleSpec>, all_matching: bool) -> Arc<Responder> {
    let spec = ResponderSpec {
        all_matching,
        encoding: TextEncoding::Utf8,
        rules,
    };
    Arc::new(Responder::compile(&spec).expect("the rules compile"))
}

/// A line-framed server answering by `responder` from its first byte.
fn responder_server(engine: &Engine, responder: Arc<Responder>) -> (SessionId, SocketAddr) {
    let session = engine.new_session_id();
    engine.execute(Command::SetFraming {
        session,
        framing: FramingSpec {
            framing: Framing::Line(LineEnd::Any),
            ..FramingSpec::default()
        },
    });
    engine.execute(Command::SetResponder {
        session,
        responder: Some(responder),
    });
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

/// Sends one request line and reads one reply line.
fn ask(stream: &mut TcpStream, request: &str) -> String {
    stream.write_all(request.as_bytes()).unwrap();
    read_line(stream)
}

fn read_line(stream: &mut TcpStream) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\n") {
        let n = stream.read(&mut byte).expect("a reply arrives in time");
        assert_eq!(n, 1, "the connection stayed open for the reply");
        line.push(byte[0]);
    }
    String::from_utf8(line).unwrap()
}

#[test]
fn an_echo_responder_sends_back_exactly_what_came() {
    let engine = engine();
    let spec = ResponderSpec::echo();
    let (_, local) = responder_server(&engine, Arc::new(Responder::compile(&spec).unwrap()));
    let mut stream = client(local);
    stream.write_all(b"hello\n\xff\x00bin\r\n").unwrap();
    assert_eq!(read_exact(&mut stream, 13), b"hello\n\xff\x00bin\r\n");
}

#[test]
fn each_match_kind_picks_its_message() {
    let engine = engine();
    let hex = RuleSpec {
        pattern_format: PayloadFormat::Hex,
        ..rule(MatchKind::Exact, "01 ?? 03", "hex")
    };
    let responder = compiled(
        vec![
            rule(MatchKind::Exact, "PING", "exact"),
            rule(MatchKind::StartsWith, "GET ", "starts"),
            rule(MatchKind::EndsWith, "?", "ends"),
            rule(MatchKind::Contains, "needle", "contains"),
            rule(MatchKind::Regex, r"^\d{3}$", "regex"),
            hex,
            rule(MatchKind::Any, "", "any"),
        ],
        false,
    );
    let (_, local) = responder_server(&engine, responder.clone());
    let mut stream = client(local);
    assert_eq!(ask(&mut stream, "PING\n"), "exact\n");
    assert_eq!(
        ask(&mut stream, "PING!\n"),
        "any\n",
        "exact means the whole body"
    );
    assert_eq!(ask(&mut stream, "GET /index\r\n"), "starts\n");
    assert_eq!(ask(&mut stream, "are you there?\n"), "ends\n");
    assert_eq!(ask(&mut stream, "hay needle hay\n"), "contains\n");
    assert_eq!(ask(&mut stream, "123\n"), "regex\n");
    assert_eq!(ask(&mut stream, "1234\n"), "any\n");
    assert_eq!(
        ask(&mut stream, "\x01\x7f\x03\n"),
        "hex\n",
        "?? is any byte"
    );
    assert_eq!(ask(&mut stream, "\x01\x7f\x04\n"), "any\n");
    let hits = responder.hits();
    let counts: Vec<u64> = (0..7).map(|i| hits.get(i)).collect();
    assert_eq!(counts, [1, 1, 1, 1, 1, 1, 3]);
}

#[test]
fn a_regex_capture_is_echoed_back() {
    let engine = engine();
    let responder = compiled(
        vec![rule(
            MatchKind::Regex,
            r"^GET (\S+) HTTP/(\d\.\d)$",
            "200 {{1}} v{{2}} [{{0}}]",
        )],
        false,
    );
    let (_, local) = responder_server(&engine, responder);
    let mut stream = client(local);
    assert_eq!(
        ask(&mut stream, "GET /a/b HTTP/1.1\r\n"),
        "200 /a/b v1.1 [GET /a/b HTTP/1.1]\n"
    );
}

#[test]
fn first_match_answers_once_and_all_matching_answers_in_order() {
    let rules = || {
        vec![
            rule(MatchKind::StartsWith, "a", "first"),
            rule(MatchKind::Contains, "b", "second"),
        ]
    };
    let engine = engine();
    let (_, first) = responder_server(&engine, compiled(rules(), false));
    let (_, all) = responder_server(&engine, compiled(rules(), true));
    let mut stream = client(first);
    assert_eq!(ask(&mut stream, "ab\n"), "first\n");
    assert_silent(&mut stream);
    let mut stream = client(all);
    assert_eq!(ask(&mut stream, "ab\n"), "first\n");
    assert_eq!(read_line(&mut stream), "second\n");
}

#[test]
fn disabled_rules_neither_answer_nor_count() {
    let engine = engine();
    let off = RuleSpec {
        enabled: false,
        ..rule(MatchKind::Any, "", "off")
    };
    let responder = compiled(vec![off, rule(MatchKind::Any, "", "on")], false);
    let (_, local) = responder_server(&engine, responder.clone());
    let mut stream = client(local);
    assert_eq!(ask(&mut stream, "x\n"), "on\n");
    assert_eq!(responder.hits().get(0), 0);
    assert_eq!(responder.hits().get(1), 1);
}

#[test]
fn a_delayed_reply_waits_its_delay() {
    let engine = engine();
    let slow = RuleSpec {
        delay_ms: 150,
        ..rule(MatchKind::Any, "", "late")
    };
    let (_, local) = responder_server(&engine, compiled(vec![slow], false));
    let mut stream = client(local);
    let asked = Instant::now();
    assert_eq!(ask(&mut stream, "x\n"), "late\n");
    let waited = asked.elapsed();
    assert!(
        waited >= Duration::from_millis(150),
        "answered after {waited:?}"
    );
}

#[test]
fn a_close_rule_closes_the_connection_after_replies_before_it() {
    let engine = engine();
    let close = RuleSpec {
        action: RuleAction::Close,
        ..rule(MatchKind::Exact, "bye", "")
    };
    let responder = compiled(vec![rule(MatchKind::Exact, "bye", "ciao"), close], true);
    let (session, local) = responder_server(&engine, responder);
    let mut stream = client(local);
    assert_eq!(ask(&mut stream, "bye\n"), "ciao\n");
    let mut rest = Vec::new();
    stream
        .read_to_end(&mut rest)
        .expect("the server closed gracefully");
    assert!(rest.is_empty());
    let reason = wait_for(&engine, |e| match &e.kind {
        EventKind::Closed { reason, .. } if e.session == session => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(reason, CloseReason::ByRule(2));
    assert_eq!(reason.to_string(), "closed by rule 2");
}

#[test]
fn a_drop_rule_answers_nothing_and_stops_the_rules_after_it() {
    let engine = engine();
    let drop_secret = RuleSpec {
        action: RuleAction::Drop,
        ..rule(MatchKind::Contains, "secret", "")
    };
    let responder = compiled(vec![drop_secret, rule(MatchKind::Any, "", "seen")], true);
    let (_, local) = responder_server(&engine, responder);
    let mut stream = client(local);
    stream.write_all(b"a secret\n").unwrap();
    // The next answer is for the next message: nothing came for the dropped one.
    assert_eq!(ask(&mut stream, "plain\n"), "seen\n");
    assert_silent(&mut stream);
}

#[test]
fn variables_are_filled_in_for_each_reply() {
    let engine = engine();
    let responder = compiled(
        vec![
            rule(
                MatchKind::StartsWith,
                "c",
                "n={{counter}} g={{counter:global}}",
            ),
            rule(MatchKind::StartsWith, "p", "{{peer}} len={{len}}"),
            rule(
                MatchKind::StartsWith,
                "r",
                "{{random:5..6}} {{random:7..=7}}",
            ),
            rule(MatchKind::StartsWith, "u", "{{uuid}}"),
            rule(MatchKind::StartsWith, "t", "{{unixtime}} {{date}} {{time}}"),
        ],
        false,
    );
    let (_, local) = responder_server(&engine, responder);
    let mut stream = client(local);
    assert_eq!(ask(&mut stream, "c\n"), "n=1 g=1\n");
    assert_eq!(ask(&mut stream, "c\n"), "n=2 g=2\n");
    let me = stream.local_addr().unwrap();
    assert_eq!(ask(&mut stream, "peer\n"), format!("{me} len=5\n"));
    assert_eq!(
        ask(&mut stream, "c\n"),
        "n=3 g=4\n",
        "the global counter counts every rule"
    );
    assert_eq!(ask(&mut stream, "r\n"), "5 7\n");
    let uuid = ask(&mut stream, "u\n");
    let uuid = uuid.trim_end();
    assert_eq!(uuid.len(), 36, "{uuid}");
    assert_eq!(uuid.as_bytes()[14], b'4', "a version 4 uuid: {uuid}");
    let time = ask(&mut stream, "t\n");
    let fields: Vec<&str> = time.split_whitespace().collect();
    let unix: i64 = fields[0].parse().unwrap();
    let now = chrono::Local::now();
    assert!((now.timestamp() - unix).abs() <= 2, "{time}");
    assert_eq!(fields[1], now.format("%Y-%m-%d").to_string());
    assert_eq!(fields[2].len(), "14:03:05.123".len(), "{time}");
}

#[test]
fn a_checksum_variable_covers_the_bytes_before_it() {
    let engine = engine();
    let modbus = RuleSpec {
        reply: PayloadSpec {
            text: "01 03 02 00 2a{{crc16-modbus}}".into(),
            format: PayloadFormat::Hex,
            ..PayloadSpec::default()
        },
        ..rule(MatchKind::Any, "", "")
    };
    let (_, local) = responder_server(&engine, compiled(vec![modbus], false));
    let mut stream = client(local);
    stream.write_all(b"read\n").unwrap();
    let answer = read_exact(&mut stream, 7);
    let crc = Checksum {
        kind: ChecksumKind::Crc16Modbus,
        order: ByteOrder::Little,
    };
    assert_eq!(&answer[..5], b"\x01\x03\x02\x00\x2a");
    assert_eq!(crc.verify(&answer), Some(true), "{answer:02x?}");
}

#[test]
fn a_reply_to_all_reaches_every_client() {
    let engine = engine();
    let broadcast = RuleSpec {
        to: ReplyTo::All,
        ..rule(MatchKind::Any, "", "news: {{echo}}")
    };
    let rules = vec![RuleSpec {
        reply: PayloadSpec {
            line_ending: LineEnding::None,
            ..broadcast.reply.clone()
        },
        ..broadcast
    }];
    let (_, local) = responder_server(&engine, compiled(rules, false));
    let mut one = client(local);
    let mut two = client(local);
    connected(&engine);
    connected(&engine);
    one.write_all(b"hi\n").unwrap();
    assert_eq!(read_line(&mut one), "news: hi\n");
    assert_eq!(read_line(&mut two), "news: hi\n");
}

#[test]
fn rules_keep_answering_while_nobody_reads_events_and_the_counts_stay_exact() {
    let engine = engine();
    let responder = compiled(vec![rule(MatchKind::Any, "", "ok")], false);
    let (session, local) = responder_server(&engine, responder.clone());
    let mut stream = client(local);
    // Nobody reads events for the whole exchange: one request at a time, each a received
    // and a sent event, fills the event channel long before the end.
    const REQUESTS: usize = 5_000;
    stream.set_nodelay(true).unwrap();
    for _ in 0..REQUESTS {
        stream.write_all(b"q\n").unwrap();
        assert_eq!(read_exact(&mut stream, 3), b"ok\n");
    }
    assert_eq!(responder.hits().get(0), REQUESTS as u64);
    // The events shown plus those reported unshown add up to every message.
    let mut shown = 0u64;
    let mut unshown = 0u64;
    drop(stream);
    wait_for(&engine, |e| {
        if e.session != session {
            return None;
        }
        match &e.kind {
            EventKind::Received { messages, .. } => shown += messages.len() as u64,
            EventKind::ReceivedUnreported { messages, .. } => unshown += *messages,
            EventKind::Closed { .. } => return Some(()),
            _ => {}
        }
        None
    });
    // A late report comes once the owner has caught up.
    let deadline = Instant::now() + Duration::from_secs(2);
    while shown + unshown < REQUESTS as u64 && Instant::now() < deadline {
        if let Ok(e) = engine.events().recv_timeout(Duration::from_millis(100))
            && let EventKind::ReceivedUnreported { messages, .. } = e.kind
        {
            unshown += messages;
        }
    }
    assert_eq!(shown + unshown, REQUESTS as u64);
    assert!(unshown > 0, "the channel did fill up: {shown} shown");
}

#[test]
fn rules_and_framing_outlive_a_restart() {
    let engine = engine();
    let responder = compiled(vec![rule(MatchKind::Exact, "again", "yes")], false);
    let (session, _) = responder_server(&engine, responder);
    engine.execute(Command::Stop { session });
    engine.execute(Command::Listen {
        session,
        addr: "127.0.0.1:0".into(),
        options: ServerOptions::default(),
    });
    let local = wait_for(&engine, |e| match &e.kind {
        EventKind::Listening { local } if e.session == session => Some(*local),
        _ => None,
    });
    let mut stream = client(local);
    assert_eq!(ask(&mut stream, "again\r\n"), "yes\n");
}

#[test]
fn udp_rules_answer_the_sender_and_datagram_checksums_are_checked() {
    let engine = engine();
    let session = engine.new_session_id();
    let check = Checksum {
        kind: ChecksumKind::Xor8,
        order: ByteOrder::Big,
    };
    engine.execute(Command::SetFraming {
        session,
        framing: FramingSpec {
            checksum: Some(check),
            ..FramingSpec::default()
        },
    });
    let answer = RuleSpec {
        reply: PayloadSpec {
            text: "pong {{echo}}".into(),
            ..PayloadSpec::default()
        },
        ..rule(MatchKind::StartsWith, "ping", "")
    };
    engine.execute(Command::SetResponder {
        session,
        responder: Some(compiled(vec![answer], false)),
    });
    engine.execute(Command::OpenUdp {
        session,
        bind: "127.0.0.1:0".into(),
        connect: None,
        options: UdpOptions::default(),
    });
    let local = wait_for(&engine, |e| match &e.kind {
        EventKind::UdpOpened { local, .. } if e.session == session => Some(*local),
        _ => None,
    });
    let peer = udp_peer();
    // XOR-8 of "ping" is 0x01 ^ ... : computed, then one good and one bad datagram.
    let mut good = b"ping".to_vec();
    good.push(ChecksumKind::Xor8.compute(b"ping") as u8);
    let mut bad = good.clone();
    *bad.last_mut().unwrap() ^= 0xff;
    peer.send_to(&good, local).unwrap();
    peer.send_to(&bad, local).unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = peer.recv_from(&mut buf).unwrap();
    assert_eq!(from, local);
    assert_eq!(&buf[..n], [b"pong ".as_slice(), &good].concat().as_slice());
    let datagrams = received_datagrams(&engine, session, 2);
    let checks: Vec<Option<bool>> = datagrams.iter().map(|d| d.checksum_ok).collect();
    assert_eq!(checks, [Some(true), Some(false)]);
}

#[test]
fn a_templated_repeat_counts_each_tick_and_a_templated_send_names_its_peer() {
    let engine = engine();
    let (session, local) = listen(&engine, false);
    let mut stream = client(local);
    connected(&engine);
    let tick = Template::compile(
        &PayloadSpec {
            text: "tick {{counter}}".into(),
            line_ending: LineEnding::Lf,
            ..PayloadSpec::default()
        },
        TextEncoding::Utf8,
    )
    .unwrap();
    engine.execute(Command::Repeat {
        session,
        target: Target::All,
        data: Payload::from(tick),
        interval: Duration::from_millis(5),
        count: Some(3),
    });
    assert_eq!(read_line(&mut stream), "tick 1\n");
    assert_eq!(read_line(&mut stream), "tick 2\n");
    assert_eq!(read_line(&mut stream), "tick 3\n");
    let hello = Template::compile(
        &PayloadSpec {
            text: "you are {{peer}}, send {{counter}}".into(),
            ..PayloadSpec::default()
        },
        TextEncoding::Utf8,
    )
    .unwrap();
    engine.execute(Command::Send {
        session,
        target: Target::All,
        data: Payload::from(hello),
    });
    let expected = format!("you are {}, send 4", stream.local_addr().unwrap());
    assert_eq!(read_exact(&mut stream, expected.len()), expected.as_bytes());
}

#[test]
fn a_close_rule_waits_for_the_replies_of_rules_after_it() {
    let engine = engine();
    let close = RuleSpec {
        action: RuleAction::Close,
        ..rule(MatchKind::Exact, "bye", "")
    };
    let responder = compiled(vec![close, rule(MatchKind::Any, "", "ciao")], true);
    let (session, local) = responder_server(&engine, responder);
    let mut stream = client(local);
    assert_eq!(ask(&mut stream, "bye\n"), "ciao\n");
    let mut rest = Vec::new();
    stream
        .read_to_end(&mut rest)
        .expect("then the server closed");
    assert!(rest.is_empty());
    let mut errors = Vec::new();
    wait_for(&engine, |e| match &e.kind {
        EventKind::Error { message } if e.session == session => {
            errors.push(message.clone());
            None
        }
        EventKind::Closed { reason, .. } if e.session == session => Some(reason.clone()),
        _ => None,
    });
    assert!(errors.is_empty(), "no refused reply: {errors:?}");
}

#[test]
fn a_delayed_reply_to_a_client_that_left_is_dropped_without_an_error() {
    let engine = engine();
    let later = RuleSpec {
        delay_ms: 200,
        ..rule(MatchKind::Any, "", "late")
    };
    let (session, local) = responder_server(&engine, compiled(vec![later], false));
    let mut stream = client(local);
    stream.write_all(b"x\n").unwrap();
    drop(stream);
    wait_for(&engine, |e| match &e.kind {
        EventKind::Closed { .. } if e.session == session => Some(()),
        _ => None,
    });
    // The delay passes after the client is gone: nothing to answer, nothing to report.
    let deadline = Instant::now() + Duration::from_millis(600);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        if let Ok(e) = engine.events().recv_timeout(left)
            && e.session == session
            && let EventKind::Error { message } = &e.kind
        {
            panic!("an error row for a reply nobody can get: {message}");
        }
    }
}

#[test]
fn replies_a_peer_does_not_read_are_counted_not_held_while_the_owner_is_behind() {
    let engine = engine();
    // 64 KiB per reply: about a thousand requests fill the connection's send queue.
    let big = RuleSpec {
        reply: PayloadSpec {
            text: "a".repeat(64 * 1024),
            variables: false,
            ..PayloadSpec::default()
        },
        ..rule(MatchKind::Any, "", "")
    };
    let responder = compiled(vec![big], false);
    let (session, local) = responder_server(&engine, responder.clone());
    let mut stream = client(local);
    // The client never reads; nobody reads events either.
    const REQUESTS: u64 = 6_000;
    stream.write_all(&b"x\n".repeat(REQUESTS as usize)).unwrap();
    let deadline = Instant::now() + WAIT;
    while responder.hits().get(0) < REQUESTS && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(responder.hits().get(0), REQUESTS);
    // The hits count as the rules decide; the replies go out just after. Give the engine
    // that moment before reading, or the reading itself would make room in the channel.
    std::thread::sleep(Duration::from_secs(1));
    let mut errors = Vec::new();
    while let Ok(e) = engine.events().recv_timeout(Duration::from_millis(300)) {
        if e.session == session
            && let EventKind::Error { message } = e.kind
        {
            errors.push(message);
        }
    }
    // Each refusal would be an event held in memory: while the owner is behind they are
    // counted, and the count comes as one row once it catches up.
    assert!(
        errors.len() <= socklab::engine::EVENT_CHANNEL_CAPACITY,
        "{} error events were held for an owner that was not reading: {:?} … {:?}",
        errors.len(),
        errors.first(),
        errors.last()
    );
    assert!(
        errors
            .iter()
            .any(|m| m.ends_with("rule replies were refused while the window was behind (a peer that does not read, or a full send queue)")),
        "the refusals are summed up: {:?}",
        errors.last()
    );
    drop(stream);
}
