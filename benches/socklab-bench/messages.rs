//! Scenarios of framing and responders: `responder` (request/response round trips through
//! 20 rules, beside a plain mio echo loop in the same run) and `framing-ingest` (a stream
//! of length-prefixed messages cut by the net thread).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener as MioListener, TcpStream as MioStream};
use mio::{Events, Interest, Poll, Token};
use socklab::engine::framing::{Framing, FramingSpec, LengthPrefix, LineEnd};
use socklab::engine::responder::{MatchKind, Responder, ResponderSpec, RuleSpec};
use socklab::engine::{Command, Engine, EventKind, ServerOptions};
use socklab::payload::{PayloadSpec, TextEncoding};

use super::{GIB, gbps, percentile, wait_listening};

/// One request line; the reply is the same bytes.
const REQUEST: &[u8] = b"REQ 0123456789abcdef0123456789\n";

/// `clients` threads each send `requests` requests one at a time, timing each round trip;
/// returns (round trips per second, p50 µs, p99 µs).
fn drive(addr: SocketAddr, clients: usize, requests: usize) -> (f64, u32, u32) {
    let start = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).unwrap();
                stream.set_nodelay(true).unwrap();
                let mut reply = vec![0u8; REQUEST.len()];
                let mut latencies = Vec::with_capacity(requests);
                for _ in 0..requests {
                    let asked = Instant::now();
                    stream.write_all(REQUEST).unwrap();
                    stream.read_exact(&mut reply).unwrap();
                    latencies.push(asked.elapsed().as_micros() as u32);
                }
                assert_eq!(reply, REQUEST, "the reply is the request");
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<u32> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    (
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
    )
}

/// A rule-less echo server on one mio thread: what the responder is measured against.
fn plain_echo() -> SocketAddr {
    let mut listener = MioListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut poll = Poll::new().unwrap();
        poll.registry()
            .register(&mut listener, Token(0), Interest::READABLE)
            .unwrap();
        let mut conns: Vec<Option<MioStream>> = Vec::new();
        let mut events = Events::with_capacity(1024);
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            poll.poll(&mut events, None).unwrap();
            for event in &events {
                if event.token() == Token(0) {
                    while let Ok((mut stream, _)) = listener.accept() {
                        stream.set_nodelay(true).unwrap();
                        let token = Token(conns.len() + 1);
                        poll.registry()
                            .register(&mut stream, token, Interest::READABLE)
                            .unwrap();
                        conns.push(Some(stream));
                    }
                    continue;
                }
                let slot = &mut conns[event.token().0 - 1];
                let Some(stream) = slot else { continue };
                loop {
                    match stream.read(&mut buffer) {
                        Ok(0) => {
                            *slot = None;
                            break;
                        }
                        // Small replies to a blocking client: the kernel takes them whole.
                        Ok(n) => stream.write_all(&buffer[..n]).unwrap(),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(_) => {
                            *slot = None;
                            break;
                        }
                    }
                }
            }
        }
    });
    addr
}

/// 19 rules that never match this benchmark's requests, then the one that answers.
fn twenty_rules() -> ResponderSpec {
    let mut rules: Vec<RuleSpec> = (0..19)
        .map(|i| RuleSpec {
            matches: if i % 2 == 0 {
                MatchKind::StartsWith
            } else {
                MatchKind::Contains
            },
            pattern: format!("NOPE{i}"),
            reply: PayloadSpec {
                text: "never".into(),
                ..PayloadSpec::default()
            },
            ..RuleSpec::default()
        })
        .collect();
    rules.push(RuleSpec {
        matches: MatchKind::StartsWith,
        pattern: "REQ ".into(),
        reply: PayloadSpec {
            text: "{{echo}}".into(),
            ..PayloadSpec::default()
        },
        ..RuleSpec::default()
    });
    ResponderSpec {
        all_matching: false,
        encoding: TextEncoding::Utf8,
        rules,
    }
}

pub fn responder(clients: usize, requests: usize) {
    let engine = Engine::spawn(|| {}).unwrap();
    let session = engine.new_session_id();
    let responder = Arc::new(Responder::compile(&twenty_rules()).unwrap());
    engine.execute(Command::SetFraming {
        session,
        framing: FramingSpec {
            framing: Framing::Line(LineEnd::Lf),
            ..FramingSpec::default()
        },
    });
    engine.execute(Command::SetResponder {
        session,
        responder: Some(responder.clone()),
    });
    engine.execute(Command::Listen {
        session,
        addr: "127.0.0.1:0".into(),
        options: ServerOptions::default(),
    });
    let addr = wait_listening(&engine, session);
    // The owner keeps up with the events, as an open window does.
    let events = engine.events().clone();
    let drain = std::thread::spawn(move || {
        let mut count = 0u64;
        while let Ok(event) = events.recv_timeout(Duration::from_secs(3)) {
            count += 1;
            drop(event);
        }
        count
    });
    let echo = plain_echo();
    // Alternate, so neither side always gets the warmer machine.
    let mut rows = Vec::new();
    for round in 0..2 {
        let plain = drive(echo, clients, requests);
        let rules = drive(addr, clients, requests);
        rows.push((round, plain, rules));
    }
    let answered = responder.hits().get(19);
    drop(engine);
    let events = drain.join().unwrap();
    for (round, plain, rules) in rows {
        println!(
            "responder round {round}: {clients} clients x {requests} requests, 20 rules (the 20th matches): {:.0} round trips/s, p50 {} µs, p99 {} µs; plain mio echo {:.0}/s, p50 {} µs, p99 {} µs; ratio {:.0} %",
            rules.0,
            rules.1,
            rules.2,
            plain.0,
            plain.1,
            plain.2,
            100.0 * rules.0 / plain.0
        );
    }
    println!("responder: rule 20 answered {answered} requests; the owner read {events} events");
}

pub fn framing_ingest(total: u64) {
    const MESSAGE: usize = 64;
    let engine = Engine::spawn(|| {}).unwrap();
    let session = engine.new_session_id();
    engine.execute(Command::SetFraming {
        session,
        framing: FramingSpec {
            framing: Framing::LengthPrefixed(LengthPrefix {
                width: 2,
                big_endian: true,
                includes_header: false,
                offset: 0,
            }),
            ..FramingSpec::default()
        },
    });
    engine.execute(Command::Listen {
        session,
        addr: "127.0.0.1:0".into(),
        options: ServerOptions::default(),
    });
    let addr = wait_listening(&engine, session);
    let mut message = [0x5a_u8; MESSAGE];
    message[..2].copy_from_slice(&((MESSAGE - 2) as u16).to_be_bytes());
    let chunk = message.repeat((1 << 20) / MESSAGE);
    let start = Instant::now();
    let writer = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        let mut sent = 0;
        while sent < total {
            let n = chunk.len().min((total - sent) as usize);
            stream.write_all(&chunk[..n]).unwrap();
            sent += n as u64;
        }
    });
    let (mut messages, mut bytes, mut events, mut wrong) = (0u64, 0u64, 0u64, 0u64);
    loop {
        let event = engine
            .events()
            .recv_timeout(Duration::from_secs(30))
            .expect("events");
        events += 1;
        match &event.kind {
            EventKind::Received {
                data,
                messages: marks,
                ..
            } => {
                messages += marks.len() as u64;
                bytes += data.len() as u64;
                let mut start = 0;
                for mark in marks {
                    wrong += u64::from(mark.end - start != MESSAGE);
                    start = mark.end;
                }
            }
            EventKind::Closed { .. } => break,
            _ => {}
        }
    }
    let elapsed = start.elapsed();
    writer.join().unwrap();
    println!(
        "framing-ingest {:.1} GiB of {MESSAGE}-byte length-prefixed messages: {:.1} M messages/s, {:.2} GB/s ({messages} messages, {bytes} bytes, {wrong} of the wrong size, {events} events)",
        total as f64 / GIB as f64,
        messages as f64 / elapsed.as_secs_f64() / 1e6,
        gbps(bytes, elapsed),
    );
}
