//! The scenario runner against a real engine: real sockets on loopback, std peers in
//! threads and socklab's own echo responder. Every run is bounded by [`common::WAIT`].

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use chrono::Local;

use socklab::engine::framing::{Framing, FramingSpec, LineEnd};
use socklab::engine::responder::{MatchKind, Responder, ResponderSpec};
use socklab::engine::{Command, Engine};
use socklab::payload::{PayloadFormat, PayloadSpec, TextEncoding};
use socklab::scenario::run::Failure;
use socklab::scenario::{
    Action, Expectation, Output, Progress, Protocol, Role, Run, Scenario, ScenarioError, SocketDef,
    Step, StepOutcome,
};

use common::{WAIT, engine};

const WITHIN: Duration = Duration::from_secs(2);

// ---- building scenarios by hand ----

fn socket(name: &str, protocol: Protocol, role: Role, addr: &str) -> SocketDef {
    SocketDef {
        name: name.into(),
        protocol,
        role,
        addr: addr.into(),
        framing: FramingSpec::default(),
        open_at_start: true,
        line: 1,
    }
}

fn lines_framed(mut socket: SocketDef) -> SocketDef {
    socket.framing.framing = Framing::Line(LineEnd::Any);
    socket
}

fn scenario(sockets: Vec<SocketDef>, actions: Vec<Action>) -> Scenario {
    Scenario {
        name: "test".into(),
        base_dir: PathBuf::from("."),
        vars: Vec::new(),
        timeout: WITHIN,
        encoding: TextEncoding::Utf8,
        sockets,
        steps: steps(actions),
    }
}

/// Steps on lines 10, 11, … so errors can name them.
fn steps(actions: Vec<Action>) -> Vec<Step> {
    actions
        .into_iter()
        .enumerate()
        .map(|(index, action)| Step {
            line: 10 + index,
            action,
        })
        .collect()
}

fn send(socket: usize, text: &str) -> Action {
    Action::Send {
        socket,
        payload: PayloadSpec {
            text: text.into(),
            format: PayloadFormat::Escaped,
            ..PayloadSpec::default()
        },
        to: None,
    }
}

fn expect_kind(
    socket: usize,
    matches: MatchKind,
    format: PayloadFormat,
    pattern: &str,
    skip_others: bool,
    within: Duration,
) -> Action {
    Action::Expect {
        socket,
        expectation: Expectation {
            matches,
            pattern: pattern.into(),
            format,
            skip_others,
        },
        within,
    }
}

fn expect(socket: usize, matches: MatchKind, pattern: &str) -> Action {
    expect_kind(
        socket,
        matches,
        PayloadFormat::Escaped,
        pattern,
        false,
        WITHIN,
    )
}

// ---- driving a run ----

/// What a run reported, step by step.
struct Finished {
    progress: Vec<Progress>,
    passed: bool,
}

impl Finished {
    /// `(number, outcome)` of every finished step, in order.
    fn outcomes(&self) -> Vec<(String, StepOutcome)> {
        self.progress
            .iter()
            .filter_map(|p| match p {
                Progress::StepFinished { step, outcome, .. } => {
                    Some((step.number.clone(), outcome.clone()))
                }
                _ => None,
            })
            .collect()
    }

    fn started(&self) -> Vec<String> {
        self.progress
            .iter()
            .filter_map(|p| match p {
                Progress::StepStarted(step) => Some(step.number.clone()),
                _ => None,
            })
            .collect()
    }

    fn failure(&self) -> (String, Failure) {
        self.outcomes()
            .into_iter()
            .find_map(|(number, outcome)| match outcome {
                StepOutcome::Failed(failure) => Some((number, failure)),
                StepOutcome::Passed { .. } => None,
            })
            .expect("a step failed")
    }

    fn note_of(&self, number: &str) -> Option<String> {
        self.outcomes()
            .into_iter()
            .find_map(|(n, outcome)| match outcome {
                StepOutcome::Passed { note } if n == number => Some(note),
                _ => None,
            })
            .flatten()
    }

    fn assert_passed(&self) {
        let failures: Vec<_> = self
            .outcomes()
            .into_iter()
            .filter(|(_, o)| matches!(o, StepOutcome::Failed(_)))
            .collect();
        assert!(self.passed, "the run failed: {failures:?}");
        assert!(failures.is_empty());
        assert_eq!(
            self.progress.last(),
            Some(&Progress::Finished { passed: true })
        );
    }
}

/// Runs `run` on `engine` until it finishes. `hook` sees each progress report (with the
/// run, e.g. to read `{{srv.port}}`) and returns true to stop the run there.
fn drive(engine: &Engine, mut run: Run, mut hook: impl FnMut(&Progress, &Run) -> bool) -> Finished {
    let mut out = Output::default();
    let mut progress = Vec::new();
    let limit = Instant::now() + WAIT;
    run.start(Local::now(), &mut out);
    loop {
        let mut stop = false;
        for command in out.commands.drain(..) {
            engine.execute(command);
        }
        for report in out.progress.drain(..) {
            stop |= hook(&report, &run);
            progress.push(report);
        }
        if stop {
            run.stop(Local::now(), &mut out);
            continue;
        }
        if let Some(passed) = run.result() {
            for command in out.commands.drain(..) {
                engine.execute(command);
            }
            return Finished { progress, passed };
        }
        assert!(Instant::now() < limit, "the run did not finish in time");
        let wait = run
            .next_deadline()
            .map(|deadline| (deadline - Local::now()).to_std().unwrap_or_default())
            .unwrap_or(WAIT)
            .min(Duration::from_millis(100));
        if let Ok(event) = engine.events().recv_timeout(wait) {
            if run.owns(event.session) {
                run.on_event(&event, &mut out);
            }
            // What else waits is handed over before the clock moves.
            while let Ok(event) = engine.events().try_recv() {
                if run.owns(event.session) {
                    run.on_event(&event, &mut out);
                }
            }
        }
        run.advance(Local::now(), &mut out);
    }
}

fn new_run(engine: &Engine, scenario: &Scenario) -> Run {
    Run::new(scenario, &[], &mut || engine.new_session_id()).expect("the scenario is valid")
}

fn run_to_end(engine: &Engine, scenario: &Scenario) -> Finished {
    drive(engine, new_run(engine, scenario), |_, _| false)
}

/// socklab's echo responder on a session of `engine` (not the run's).
fn echo_server(engine: &Engine) -> SocketAddr {
    let (session, addr) = common::listen(engine, false);
    let responder = Responder::compile(&ResponderSpec::echo()).expect("echo compiles");
    engine.execute(Command::SetResponder {
        session,
        responder: Some(Arc::new(responder)),
    });
    addr
}

/// A std listener whose one client is served by `serve` in a thread.
fn peer(serve: impl FnOnce(TcpStream) + Send + 'static) -> (SocketAddr, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("the scenario connects");
        stream.set_read_timeout(Some(WAIT)).unwrap();
        serve(stream);
    });
    (addr, handle)
}

fn read_n(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    stream.read_exact(&mut buf).expect("the bytes arrive");
    buf
}

fn client_of(addr: &str) -> Vec<SocketDef> {
    vec![socket("web", Protocol::Tcp, Role::Connect, addr)]
}

// ---- the tests ----

#[test]
fn send_and_expect_exact_pass_against_the_echo_responder() {
    let engine = engine();
    let echo = echo_server(&engine);
    let scenario = scenario(
        client_of(&echo.to_string()),
        vec![
            send(0, "HELLO\\r\\n"),
            expect(0, MatchKind::Exact, "HELLO\\r\\n"),
        ],
    );
    let finished = run_to_end(&engine, &scenario);
    finished.assert_passed();
    assert_eq!(
        finished
            .outcomes()
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        ["open", "1", "2"]
    );
    let labels: Vec<String> = finished
        .progress
        .iter()
        .filter_map(|p| match p {
            Progress::StepStarted(step) => Some(step.label.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        labels,
        [
            format!("open web: connect {echo}"),
            "send on web: \"HELLO\\r\\n\"".to_string(),
            "expect on web: exactly \"HELLO\\r\\n\"".to_string(),
        ]
    );
}

#[test]
fn a_mismatch_fails_at_once_with_what_arrived_and_later_steps_do_not_run() {
    let engine = engine();
    let echo = echo_server(&engine);
    let scenario = scenario(
        client_of(&echo.to_string()),
        vec![
            send(0, "HELLO"),
            expect(0, MatchKind::Exact, "WORLD"),
            send(0, "never"),
        ],
    );
    let started = Instant::now();
    let finished = run_to_end(&engine, &scenario);
    assert!(!finished.passed);
    let (number, failure) = finished.failure();
    assert_eq!(number, "2");
    assert_eq!(failure.message, "the data received does not match");
    assert_eq!(failure.expected.as_deref(), Some(&b"WORLD"[..]));
    assert!(
        b"HELLO".starts_with(&failure.received) && !failure.received.is_empty(),
        "received {:?}",
        failure.received
    );
    assert!(
        started.elapsed() < WITHIN,
        "failed at once, not at the limit"
    );
    assert_eq!(finished.started(), ["open", "1", "2"], "step 3 never ran");
    assert_eq!(
        finished.progress.last(),
        Some(&Progress::Finished { passed: false })
    );
}

#[test]
fn an_expect_times_out_saying_how_long_it_waited() {
    let engine = engine();
    let (addr, peer) = peer(|mut stream| {
        stream.write_all(b"partial").unwrap();
        // Holds the connection open until the scenario ends it.
        let _ = stream.read(&mut [0; 1]);
    });
    let scenario = scenario(
        client_of(&addr.to_string()),
        vec![expect_kind(
            0,
            MatchKind::Contains,
            PayloadFormat::Text,
            "complete",
            false,
            Duration::from_millis(300),
        )],
    );
    let finished = run_to_end(&engine, &scenario);
    let (_, failure) = finished.failure();
    assert_eq!(failure.message, "nothing matched within 300 ms");
    assert_eq!(failure.received, b"partial");
    let duration = finished
        .progress
        .iter()
        .find_map(|p| match p {
            Progress::StepFinished { step, duration, .. } if step.number == "1" => Some(*duration),
            _ => None,
        })
        .unwrap();
    assert_eq!(duration, Duration::from_millis(300), "the limit, exactly");
    peer.join().unwrap();
}

#[test]
fn a_regex_capture_is_sent_back_in_a_later_step() {
    let engine = engine();
    let (addr, peer) = peer(|mut stream| {
        stream.write_all(b"hello session=abc123; more").unwrap();
        assert_eq!(read_n(&mut stream, 11), b"ack abc123\n");
    });
    let scenario = scenario(
        client_of(&addr.to_string()),
        vec![
            expect_kind(
                0,
                MatchKind::Regex,
                PayloadFormat::Text,
                r"session=(?P<sid>\w+);",
                false,
                WITHIN,
            ),
            send(0, "ack {{sid}}\\n"),
            expect(0, MatchKind::Exact, " more"),
        ],
    );
    let finished = run_to_end(&engine, &scenario);
    finished.assert_passed();
    assert_eq!(
        finished.note_of("1").as_deref(),
        Some("skipped 6 bytes; captured sid = abc123")
    );
    peer.join().unwrap();
}

#[test]
fn framed_lines_are_matched_one_message_at_a_time_and_skip_others_passes_noise() {
    let engine = engine();
    let (addr, peer) = peer(|mut stream| {
        stream
            .write_all(b"first\r\nnoise 1\nnoise 2\nOK 7\n")
            .unwrap();
        let _ = stream.read(&mut [0; 1]);
    });
    let scenario = scenario(
        vec![lines_framed(socket(
            "dev",
            Protocol::Tcp,
            Role::Connect,
            &addr.to_string(),
        ))],
        vec![
            expect(0, MatchKind::Exact, "first"),
            expect_kind(
                0,
                MatchKind::StartsWith,
                PayloadFormat::Text,
                "OK",
                true,
                WITHIN,
            ),
        ],
    );
    let finished = run_to_end(&engine, &scenario);
    finished.assert_passed();
    assert_eq!(finished.note_of("2").as_deref(), Some("skipped 2 messages"));
    peer.join().unwrap();
}

#[test]
fn a_framed_message_that_does_not_match_fails_without_skip_others() {
    let engine = engine();
    let (addr, peer) = peer(|mut stream| {
        stream.write_all(b"noise\nOK\n").unwrap();
        let _ = stream.read(&mut [0; 1]);
    });
    let scenario = scenario(
        vec![lines_framed(socket(
            "dev",
            Protocol::Tcp,
            Role::Connect,
            &addr.to_string(),
        ))],
        vec![expect(0, MatchKind::Exact, "OK")],
    );
    let finished = run_to_end(&engine, &scenario);
    let (_, failure) = finished.failure();
    assert_eq!(failure.message, "the next message does not match");
    assert_eq!(failure.received, b"noise", "the body, without its line end");
    peer.join().unwrap();
}

#[test]
fn hex_wildcards_match_any_byte() {
    let engine = engine();
    let (addr, peer) = peer(|mut stream| {
        stream.write_all(&[0x01, 0x03, 0x7f, 0x00, 0x10]).unwrap();
        let _ = stream.read(&mut [0; 1]);
    });
    let scenario = scenario(
        client_of(&addr.to_string()),
        vec![expect_kind(
            0,
            MatchKind::Exact,
            PayloadFormat::Hex,
            "01 03 ?? 00 10",
            false,
            WITHIN,
        )],
    );
    run_to_end(&engine, &scenario).assert_passed();
    peer.join().unwrap();
}

#[test]
fn a_raw_stream_split_across_reads_still_matches() {
    let engine = engine();
    let (addr, peer) = peer(|mut stream| {
        stream.write_all(b"HEL").unwrap();
        thread::sleep(Duration::from_millis(50));
        stream.write_all(b"LO").unwrap();
        let _ = stream.read(&mut [0; 1]);
    });
    let scenario = scenario(
        client_of(&addr.to_string()),
        vec![expect(0, MatchKind::Exact, "HELLO")],
    );
    run_to_end(&engine, &scenario).assert_passed();
    peer.join().unwrap();
}

#[test]
fn a_listener_expects_a_client_its_data_and_its_close() {
    let engine = engine();
    let scenario = scenario(
        vec![socket("srv", Protocol::Tcp, Role::Listen, "127.0.0.1:0")],
        vec![
            Action::ExpectConnection {
                socket: 0,
                within: WITHIN,
            },
            send(0, "hi"),
            expect(0, MatchKind::Exact, "yo"),
            Action::ExpectClose {
                socket: 0,
                within: WITHIN,
            },
        ],
    );
    let mut client = None;
    let finished = drive(&engine, new_run(&engine, &scenario), |progress, run| {
        if let Progress::StepFinished { step, .. } = progress
            && step.number == "open"
        {
            let addr = run.var("srv.addr").expect("srv is listening");
            client = Some(thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).unwrap();
                stream.set_read_timeout(Some(WAIT)).unwrap();
                assert_eq!(read_n(&mut stream, 2), b"hi");
                stream.write_all(b"yo").unwrap();
            }));
        }
        false
    });
    finished.assert_passed();
    assert_eq!(finished.note_of("4").as_deref(), Some("peer closed"));
    client.unwrap().join().unwrap();
}

#[test]
fn expect_nothing_passes_in_silence() {
    let engine = engine();
    let echo = echo_server(&engine);
    let scenario = scenario(
        client_of(&echo.to_string()),
        vec![
            send(0, "A"),
            expect(0, MatchKind::Exact, "A"),
            Action::ExpectNothing {
                socket: Some(0),
                during: Duration::from_millis(200),
            },
        ],
    );
    let finished = run_to_end(&engine, &scenario);
    finished.assert_passed();
}

#[test]
fn expect_nothing_fails_on_the_first_arrival_and_on_leftovers() {
    let engine = engine();
    let (addr, peer) = peer(|mut stream| {
        thread::sleep(Duration::from_millis(100));
        stream.write_all(b"late").unwrap();
        let _ = stream.read(&mut [0; 1]);
    });
    let arrival = scenario(
        client_of(&addr.to_string()),
        vec![Action::ExpectNothing {
            socket: None,
            during: Duration::from_secs(1),
        }],
    );
    let started = Instant::now();
    let finished = run_to_end(&engine, &arrival);
    let (_, failure) = finished.failure();
    assert_eq!(failure.message, "web received data");
    assert_eq!(failure.received, b"late");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "failed at the arrival"
    );
    peer.join().unwrap();

    let echo = echo_server(&engine);
    let leftover = scenario(
        client_of(&echo.to_string()),
        vec![
            send(0, "ABC"),
            expect(0, MatchKind::Contains, "B"),
            Action::ExpectNothing {
                socket: Some(0),
                during: Duration::from_millis(100),
            },
        ],
    );
    // The echo may come in one read or several; wait until all three bytes are back.
    let finished = run_to_end(&engine, &leftover_after_all(leftover));
    let (number, failure) = finished.failure();
    assert_eq!(number, "4");
    assert_eq!(failure.message, "data from web was waiting unread");
    assert_eq!(failure.received, b"C");
}

/// Adds a short sleep before the last step so every echoed byte is back.
fn leftover_after_all(mut scenario: Scenario) -> Scenario {
    let last = scenario.steps.pop().unwrap();
    scenario.steps.push(Step {
        line: 50,
        action: Action::Sleep(Duration::from_millis(200)),
    });
    scenario.steps.push(last);
    scenario
}

#[test]
fn a_repeat_runs_its_steps_each_iteration_and_numbers_them() {
    let engine = engine();
    let echo = echo_server(&engine);
    let mut scenario = scenario(client_of(&echo.to_string()), Vec::new());
    scenario.steps = vec![Step {
        line: 10,
        action: Action::Repeat {
            times: 100,
            steps: steps(vec![send(0, "ping"), expect(0, MatchKind::Exact, "ping")]),
        },
    }];
    let finished = run_to_end(&engine, &scenario);
    finished.assert_passed();
    let inner: Vec<_> = finished
        .progress
        .iter()
        .filter_map(|p| match p {
            Progress::StepFinished { step, .. } if step.number.starts_with("1.") => {
                Some((step.number.clone(), step.iteration, step.top))
            }
            _ => None,
        })
        .collect();
    assert_eq!(inner.len(), 200);
    assert_eq!(inner[0], ("1.1".to_string(), Some((1, 100)), Some(0)));
    assert_eq!(inner[199], ("1.2".to_string(), Some((100, 100)), Some(0)));
    assert_eq!(finished.note_of("1").as_deref(), Some("100 iterations"));
}

#[test]
fn a_refused_connection_fails_the_open_step_and_nothing_else_runs() {
    let engine = engine();
    let closed_port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let scenario = scenario(client_of(&closed_port.to_string()), vec![send(0, "x")]);
    let finished = run_to_end(&engine, &scenario);
    let (number, failure) = finished.failure();
    assert_eq!(number, "open");
    assert!(
        failure.message.starts_with("web could not connect: ")
            && failure.message.contains("refused"),
        "{}",
        failure.message
    );
    assert_eq!(finished.started(), ["open"]);
}

#[test]
fn udp_sends_and_expects_datagrams_as_messages() {
    let engine = engine();
    let udp_peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp_peer.set_read_timeout(Some(WAIT)).unwrap();
    let peer_addr = udp_peer.local_addr().unwrap();
    let peer = thread::spawn(move || {
        let mut buf = [0; 64];
        let (n, from) = udp_peer.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"ping");
        udp_peer.send_to(b"pong", from).unwrap();
    });
    let scenario = scenario(
        vec![socket(
            "u",
            Protocol::Udp,
            Role::Connect,
            &peer_addr.to_string(),
        )],
        vec![send(0, "ping"), expect(0, MatchKind::Exact, "pong")],
    );
    run_to_end(&engine, &scenario).assert_passed();
    peer.join().unwrap();
}

#[test]
fn a_udp_listener_answers_its_last_sender() {
    let engine = engine();
    let scenario = scenario(
        vec![socket("u", Protocol::Udp, Role::Listen, "127.0.0.1:0")],
        vec![expect(0, MatchKind::Exact, "hello"), send(0, "back")],
    );
    let mut sender = None;
    let finished = drive(&engine, new_run(&engine, &scenario), |progress, run| {
        if let Progress::StepFinished { step, .. } = progress
            && step.number == "open"
        {
            let addr = run.var("u.addr").unwrap();
            sender = Some(thread::spawn(move || {
                let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
                socket.set_read_timeout(Some(WAIT)).unwrap();
                socket.send_to(b"hello", &addr).unwrap();
                let mut buf = [0; 16];
                let n = socket.recv(&mut buf).unwrap();
                assert_eq!(&buf[..n], b"back");
            }));
        }
        false
    });
    finished.assert_passed();
    sender.unwrap().join().unwrap();
}

#[test]
fn sending_on_a_listener_without_clients_fails_at_once() {
    let engine = engine();
    let scenario = scenario(
        vec![socket("srv", Protocol::Tcp, Role::Listen, "127.0.0.1:0")],
        vec![send(0, "anyone?")],
    );
    let finished = run_to_end(&engine, &scenario);
    let (number, failure) = finished.failure();
    assert_eq!(number, "1");
    assert_eq!(failure.message, "no client is connected to srv");
}

#[test]
fn stopping_fails_the_current_step_and_stops_the_sockets() {
    let engine = engine();
    let scenario = scenario(
        vec![socket("srv", Protocol::Tcp, Role::Listen, "127.0.0.1:0")],
        vec![Action::Sleep(Duration::from_secs(30)), send(0, "never")],
    );
    let mut addr = None;
    let finished = drive(&engine, new_run(&engine, &scenario), |progress, run| {
        if addr.is_none() {
            addr = run.var("srv.addr");
        }
        matches!(progress, Progress::StepStarted(step) if step.number == "1")
    });
    assert!(!finished.passed);
    let (number, failure) = finished.failure();
    assert_eq!(
        (number.as_str(), failure.message.as_str()),
        ("1", "stopped")
    );
    assert_eq!(finished.started(), ["open", "1"]);
    // The listener was told to stop: connecting is refused before long.
    let addr: SocketAddr = addr.unwrap().parse().unwrap();
    let limit = Instant::now() + WAIT;
    while TcpStream::connect(addr).is_ok() {
        assert!(Instant::now() < limit, "the listener still accepts");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_socket_connects_to_the_port_another_one_got() {
    let engine = engine();
    let mut cli = socket(
        "cli",
        Protocol::Tcp,
        Role::Connect,
        "127.0.0.1:{{srv.port}}",
    );
    cli.open_at_start = false;
    let scenario = scenario(
        vec![
            socket("srv", Protocol::Tcp, Role::Listen, "127.0.0.1:0"),
            cli,
        ],
        vec![
            Action::Open {
                socket: 1,
                within: WITHIN,
            },
            Action::ExpectConnection {
                socket: 0,
                within: WITHIN,
            },
            send(1, "hi"),
            expect(0, MatchKind::Exact, "hi"),
            send(0, "yo"),
            expect(1, MatchKind::Exact, "yo"),
            Action::Close { socket: 1 },
            Action::ExpectClose {
                socket: 0,
                within: WITHIN,
            },
        ],
    );
    let finished = run_to_end(&engine, &scenario);
    finished.assert_passed();
}

#[test]
fn an_unknown_variable_is_an_error_at_its_step_before_anything_runs() {
    let engine = engine();
    let scenario = scenario(
        client_of("127.0.0.1:9"),
        vec![send(0, "ok {{counter}}"), send(0, "GET {{nope}}")],
    );
    let error = Run::new(&scenario, &[], &mut || engine.new_session_id()).unwrap_err();
    assert_eq!(
        error,
        ScenarioError {
            line: 11,
            column: 1,
            message: "unknown variable {{nope}}".into(),
        }
    );
    let pattern = scenario_with_pattern("{{later}}");
    let error = Run::new(&pattern, &[], &mut || engine.new_session_id()).unwrap_err();
    assert_eq!(
        (error.line, error.message.as_str()),
        (10, "unknown variable {{later}}")
    );
    // With the variable given on the command line it is fine.
    let given = [("later".to_string(), "x".to_string())];
    assert!(Run::new(&pattern, &given, &mut || engine.new_session_id()).is_ok());
}

fn scenario_with_pattern(pattern: &str) -> Scenario {
    scenario(
        client_of("127.0.0.1:9"),
        vec![expect(0, MatchKind::Exact, pattern)],
    )
}
