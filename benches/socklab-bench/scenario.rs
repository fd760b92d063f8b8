//! The `scenario` scenario: what the scenario runner adds to a round trip. A local echo
//! server answers a 32-byte line; the same number of send/expect round trips is made
//! (a) on the engine alone: send, then wait for the `Received` of the echo, and
//! (b) by a [`Run`] of a scenario `repeat = N` of `send` + `expect` (exact), driven as
//! `socklab run` drives it ([`socklab::cli::drive_scenario`]), lines not printed.
//! Rounds alternate (a, b, a, b, …) so a change of the machine's speed hits both.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Local;
use socklab::cli::{Ended, drive_scenario};
use socklab::engine::framing::{Framing, FramingSpec, LineEnd};
use socklab::engine::{Command, Engine, EventKind, Target};
use socklab::scenario::Run;
use socklab::scenario::file::parse_scenario;
use socklab::scenario::report::Collector;

/// Rounds of each, alternating: the machine's speed wanders between rounds, so the best
/// round of each is compared.
const ROUNDS: u32 = 3;

/// 31 bytes and the newline.
const LINE: &[u8] = b"ROUND 0123456789abcdef012345678\n";

pub fn scenario(round_trips: u64) {
    assert_eq!(LINE.len(), 32);
    let addr = echo_server();
    let mut engine_only = Vec::new();
    let mut runner = Vec::new();
    for round in 1..=ROUNDS {
        let seconds = engine_round_trips(addr, round_trips);
        report("engine alone", round, round_trips, seconds);
        engine_only.push(seconds);
        let seconds = runner_round_trips(addr, round_trips);
        report("scenario run", round, round_trips, seconds);
        runner.push(seconds);
    }
    let best = |secs: &[f64]| secs.iter().copied().fold(f64::MAX, f64::min) / round_trips as f64;
    let (plain, run) = (best(&engine_only), best(&runner));
    println!(
        "scenario: runner overhead {:+.1} % per round trip ({:.1} µs against {:.1} µs, best of {ROUNDS} rounds each; goal ≤ 20 %)",
        (run / plain - 1.0) * 100.0,
        run * 1e6,
        plain * 1e6
    );
}

fn report(what: &str, round: u32, round_trips: u64, seconds: f64) {
    println!(
        "scenario: {what} round {round}: {round_trips} round trips in {seconds:.3} s = {:.0} round trips/s, {:.0} steps/s, {:.1} µs per round trip",
        round_trips as f64 / seconds,
        (round_trips * 2) as f64 / seconds,
        seconds * 1e6 / round_trips as f64
    );
}

/// An echo server: one thread per connection, blocking reads and writes.
fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            stream.set_nodelay(true).unwrap();
            std::thread::spawn(move || {
                let mut buffer = vec![0u8; 64 * 1024];
                loop {
                    match stream.read(&mut buffer) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if stream.write_all(&buffer[..n]).is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

/// (a): a line-framed client session sends the line and waits for its echo, N times.
fn engine_round_trips(addr: SocketAddr, round_trips: u64) -> f64 {
    let engine = Engine::spawn(|| {}).unwrap();
    let session = engine.new_session_id();
    let framing = FramingSpec {
        framing: Framing::Line(LineEnd::Lf),
        ..FramingSpec::default()
    };
    engine.execute(Command::SetFraming { session, framing });
    engine.execute(Command::Connect {
        session,
        addr: addr.to_string(),
        timeout: Duration::from_secs(5),
        options: Default::default(),
    });
    loop {
        match engine
            .events()
            .recv_timeout(Duration::from_secs(10))
            .unwrap()
            .kind
        {
            EventKind::Connected(_) => break,
            EventKind::ConnectFailed { error } => panic!("connect failed: {error}"),
            _ => {}
        }
    }
    let start = Instant::now();
    for _ in 0..round_trips {
        engine.send(session, Target::All, LINE);
        loop {
            let event = engine
                .events()
                .recv_timeout(Duration::from_secs(10))
                .unwrap();
            if let EventKind::Received { data, messages, .. } = &event.kind {
                // One line back per line sent: the echo comes back whole.
                assert_eq!(messages.len(), 1);
                assert_eq!(data.as_slice(), LINE);
                break;
            }
        }
    }
    start.elapsed().as_secs_f64()
}

/// (b): the same round trips as a scenario run.
fn runner_round_trips(addr: SocketAddr, round_trips: u64) -> f64 {
    let text = format!(
        "name = \"round trips\"\n\
         [[socket]]\nname = \"echo\"\nconnect = \"{addr}\"\nframing = \"line\"\n\n\
         [[step]]\nrepeat = {round_trips}\n\
         steps = [{{ send = \"ROUND 0123456789abcdef012345678\\n\", on = \"echo\" }}, \
                  {{ expect = \"ROUND 0123456789abcdef012345678\", on = \"echo\", match = \"exact\" }}]\n"
    );
    let scenario = parse_scenario(&text, Path::new("."), "round-trips").expect("a valid scenario");
    let engine = Engine::spawn(|| {}).unwrap();
    let run = Run::new(&scenario, &[], &mut || engine.new_session_id()).expect("runnable");
    let collector = Collector::new(
        &scenario,
        Path::new("round-trips.toml"),
        1,
        1,
        Local::now(),
        false,
    );
    let (_stop_tx, stop) = crossbeam_channel::bounded(1);
    let mut last_line = String::new();
    let driven = drive_scenario(&engine, &scenario, run, collector, &stop, &mut |line| {
        last_line = line.to_string();
    });
    let report = &driven.report;
    let seconds = report.duration.as_secs_f64();
    assert_eq!(driven.ended, Ended::Finished);
    assert!(report.passed, "the run passed: {last_line}");
    // The run's own time: from its start (connecting included, ~0.1 ms) to its end,
    // without waiting for the socket to close.
    seconds
}
