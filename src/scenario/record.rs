//! *Save as scenario…*: a session's log (sent rows become sends, received rows expects
//! with a time limit) → a scenario that replays it against the same peer.
//!
//! What the scenario looks like:
//! - one socket, named `client` for a connecting session and `server` for a listening
//!   one, on the same address, protocol and framing (maximum size and check included);
//! - a TCP listener first expects a connection (someone has to connect to the replay);
//! - each sent row is a `send` of exactly its bytes: as text when they are UTF-8 with no
//!   control characters but `\r`, `\n` and `\t` and no `{{` (which would read as a
//!   variable), else as hex; no line ending is added (it is in the bytes already);
//! - each received row is an exact `expect`, text or hex by the same rule. On a framed
//!   socket each message stays its own expect and is matched without its line end or
//!   delimiter (an expect looks at a message's body, as rules do). On a raw TCP socket
//!   consecutive received rows become one expect: a stream's chunking differs between runs.
//!   UDP rows are datagrams and stay one expect each;
//! - an expect's limit is twice the time since the row before it (the first row: since
//!   nothing, so 0), at least 2 s, rounded up to a whole 100 ms: room for a slower run
//!   without waiting long for a reply that will not come.

use std::time::Duration;

use chrono::{DateTime, Local};

use super::{Action, DEFAULT_TIMEOUT, Expectation, Protocol, Role, Scenario, SocketDef, Step};
use crate::engine::framing::{Framing, FramingSpec, LineEnd};
use crate::engine::responder::MatchKind;
use crate::payload::{LineEnding, PayloadFormat, PayloadSpec, TextEncoding, hex_dump};

/// One log row worth replaying.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRow {
    pub time: DateTime<Local>,
    /// Sent by the session (`true`) or received by it.
    pub sent: bool,
    pub data: Vec<u8>,
}

/// What the recorded session was.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedSocket {
    pub protocol: Protocol,
    pub role: Role,
    /// Where it listened or what it connected to.
    pub addr: String,
    pub framing: FramingSpec,
}

/// The shortest time an expect of a recording waits.
pub const MIN_EXPECT_WITHIN: Duration = Duration::from_secs(2);

/// A scenario that replays `rows`, named `name`; an error when there is nothing to replay.
pub fn scenario_from_rows(
    name: &str,
    socket: &RecordedSocket,
    rows: &[RecordedRow],
) -> Result<Scenario, String> {
    let rows: Vec<&RecordedRow> = rows.iter().filter(|row| !row.data.is_empty()).collect();
    if rows.is_empty() {
        return Err("nothing to record: the log has no sent or received data".to_string());
    }
    let framed = socket.framing.framing != Framing::Raw;
    let merge_received = !framed && socket.protocol == Protocol::Tcp;

    let mut steps = Vec::new();
    if socket.protocol == Protocol::Tcp && socket.role == Role::Listen {
        steps.push(step(Action::ExpectConnection {
            socket: 0,
            within: DEFAULT_TIMEOUT,
        }));
    }
    let mut previous: Option<DateTime<Local>> = None;
    let mut index = 0;
    while index < rows.len() {
        let row = rows[index];
        let since = |time: DateTime<Local>| {
            previous
                .and_then(|previous| (time - previous).to_std().ok())
                .unwrap_or(Duration::ZERO)
        };
        if row.sent {
            let (text, format) = bytes_as_text(&row.data);
            steps.push(step(Action::Send {
                socket: 0,
                payload: PayloadSpec {
                    text,
                    format,
                    line_ending: LineEnding::None,
                    checksum: None,
                    variables: true,
                },
                to: None,
            }));
            previous = Some(row.time);
            index += 1;
            continue;
        }
        let mut data = row.data.clone();
        let mut last = row.time;
        index += 1;
        while merge_received && index < rows.len() && !rows[index].sent {
            data.extend_from_slice(&rows[index].data);
            last = rows[index].time;
            index += 1;
        }
        let body = if framed {
            body_of(&socket.framing.framing, &data)
        } else {
            &data[..]
        };
        let (pattern, format) = bytes_as_text(body);
        steps.push(step(Action::Expect {
            socket: 0,
            expectation: Expectation {
                matches: MatchKind::Exact,
                pattern,
                format,
                skip_others: false,
            },
            within: expect_within(since(last)),
        }));
        previous = Some(last);
    }

    let socket_name = match socket.role {
        Role::Connect => "client",
        Role::Listen => "server",
    };
    Ok(Scenario {
        name: name.to_string(),
        base_dir: Default::default(),
        vars: Vec::new(),
        timeout: DEFAULT_TIMEOUT,
        encoding: TextEncoding::Utf8,
        sockets: vec![SocketDef {
            name: socket_name.to_string(),
            protocol: socket.protocol,
            role: socket.role,
            addr: socket.addr.clone(),
            framing: socket.framing.clone(),
            open_at_start: true,
            line: 0,
        }],
        steps,
    })
}

/// Not from a file: no line.
fn step(action: Action) -> Step {
    Step { line: 0, action }
}

/// Twice `since`, at least [`MIN_EXPECT_WITHIN`], rounded up to a whole 100 ms.
pub fn expect_within(since: Duration) -> Duration {
    const STEP_NANOS: u128 = 100_000_000;
    let doubled = since.as_nanos().saturating_mul(2);
    let steps = doubled.div_ceil(STEP_NANOS);
    let rounded =
        u64::try_from(steps.saturating_mul(STEP_NANOS)).map_or(Duration::MAX, Duration::from_nanos);
    rounded.max(MIN_EXPECT_WITHIN)
}

/// The bytes as scenario text when that reads back exactly, else as hex.
fn bytes_as_text(data: &[u8]) -> (String, PayloadFormat) {
    match std::str::from_utf8(data) {
        Ok(text)
            if !text.contains("{{")
                && text
                    .chars()
                    .all(|c| !c.is_control() || matches!(c, '\r' | '\n' | '\t')) =>
        {
            (text.to_string(), PayloadFormat::Text)
        }
        _ => (hex_dump(data), PayloadFormat::Hex),
    }
}

/// A received message without its line end or delimiter.
fn body_of<'a>(framing: &Framing, message: &'a [u8]) -> &'a [u8] {
    let strip = |end: &[u8]| message.strip_suffix(end).unwrap_or(message);
    match framing {
        Framing::Line(LineEnd::Lf) => strip(b"\n"),
        Framing::Line(LineEnd::CrLf) => strip(b"\r\n"),
        Framing::Line(LineEnd::Any) => match message.strip_suffix(b"\r\n") {
            Some(body) => body,
            None => strip(b"\n"),
        },
        Framing::Delimiter(delimiter) => strip(delimiter),
        Framing::Raw | Framing::Fixed(_) | Framing::LengthPrefixed(_) => message,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use chrono::TimeDelta;

    use super::*;
    use crate::payload::Checksum;
    use crate::payload::ChecksumKind;
    use crate::scenario::file::{parse_scenario, write_scenario};

    fn at(start: DateTime<Local>, millis: i64) -> DateTime<Local> {
        start + TimeDelta::milliseconds(millis)
    }

    fn row(time: DateTime<Local>, sent: bool, data: &[u8]) -> RecordedRow {
        RecordedRow {
            time,
            sent,
            data: data.to_vec(),
        }
    }

    fn socket(protocol: Protocol, role: Role, framing: Framing) -> RecordedSocket {
        RecordedSocket {
            protocol,
            role,
            addr: "127.0.0.1:7000".into(),
            framing: FramingSpec {
                framing,
                ..FramingSpec::default()
            },
        }
    }

    fn actions(scenario: &Scenario) -> Vec<Action> {
        scenario
            .steps
            .iter()
            .map(|step| step.action.clone())
            .collect()
    }

    fn send(text: &str, format: PayloadFormat) -> Action {
        Action::Send {
            socket: 0,
            payload: PayloadSpec {
                text: text.into(),
                format,
                ..PayloadSpec::default()
            },
            to: None,
        }
    }

    fn expect(pattern: &str, format: PayloadFormat, within_ms: u64) -> Action {
        Action::Expect {
            socket: 0,
            expectation: Expectation {
                matches: MatchKind::Exact,
                pattern: pattern.into(),
                format,
                skip_others: false,
            },
            within: Duration::from_millis(within_ms),
        }
    }

    /// Written and read back, the scenario is the same (lines aside: it has none).
    fn assert_round_trips(scenario: &Scenario) {
        let written = write_scenario(scenario);
        let mut read = parse_scenario(&written, Path::new(""), "other")
            .unwrap_or_else(|error| panic!("{error}\nin:\n{written}"));
        read.sockets.iter_mut().for_each(|socket| socket.line = 0);
        read.steps.iter_mut().for_each(|step| step.line = 0);
        assert_eq!(&read, scenario, "{written}");
    }

    #[test]
    fn a_client_session_replays_its_sends_and_expects_its_replies() {
        let start = Local::now();
        let rows = [
            row(at(start, 0), true, b"GET / HTTP/1.0\r\n\r\n"),
            row(at(start, 40), false, b"HTTP/1.0 200 OK\r\n"),
            // Raw TCP: one stream, whatever the reads were.
            row(at(start, 45), false, b"Content-Length: 0\r\n\r\n"),
            row(at(start, 3000), true, b"\x01\x03\x00"),
            row(at(start, 4260), false, b"{{not a variable}}"),
        ];
        let recorded = socket(Protocol::Tcp, Role::Connect, Framing::Raw);
        let scenario = scenario_from_rows("web", &recorded, &rows).unwrap();
        assert_eq!(scenario.name, "web");
        assert_eq!(
            scenario.sockets,
            [SocketDef {
                name: "client".into(),
                protocol: Protocol::Tcp,
                role: Role::Connect,
                addr: "127.0.0.1:7000".into(),
                framing: FramingSpec::default(),
                open_at_start: true,
                line: 0,
            }]
        );
        assert_eq!(
            actions(&scenario),
            [
                send("GET / HTTP/1.0\r\n\r\n", PayloadFormat::Text),
                expect(
                    "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
                    PayloadFormat::Text,
                    2000
                ),
                send("01 03 00", PayloadFormat::Hex),
                // 1.26 s since the send: 2.52 s, rounded up to 2.6 s.
                expect(
                    "7b 7b 6e 6f 74 20 61 20 76 61 72 69 61 62 6c 65 7d 7d",
                    PayloadFormat::Hex,
                    2600
                ),
            ]
        );
        assert_round_trips(&scenario);
    }

    #[test]
    fn a_framed_session_expects_each_message_without_its_delimiter() {
        let start = Local::now();
        let rows = [
            row(at(start, 0), false, b"hello\r\n"),
            row(at(start, 10), false, b"world\n"),
            row(at(start, 20), true, b"bye\tnow\n"),
            row(at(start, 30), false, b"caf\xc3\xa9\n"),
        ];
        let mut recorded = socket(Protocol::Tcp, Role::Connect, Framing::Line(LineEnd::Any));
        recorded.framing.checksum = Some(Checksum::usual(ChecksumKind::Xor8));
        recorded.framing.max_message = 512;
        let scenario = scenario_from_rows("lines", &recorded, &rows).unwrap();
        assert_eq!(scenario.sockets[0].framing, recorded.framing);
        assert_eq!(
            actions(&scenario),
            [
                expect("hello", PayloadFormat::Text, 2000),
                expect("world", PayloadFormat::Text, 2000),
                send("bye\tnow\n", PayloadFormat::Text),
                expect("café", PayloadFormat::Text, 2000),
            ]
        );
        assert_round_trips(&scenario);

        let delimited = socket(
            Protocol::Tcp,
            Role::Connect,
            Framing::Delimiter(vec![0xff, 0x00]),
        );
        let rows = [row(at(start, 0), false, b"\x02A\xff\x00")];
        let scenario = scenario_from_rows("d", &delimited, &rows).unwrap();
        assert_eq!(
            actions(&scenario),
            [expect("02 41", PayloadFormat::Hex, 2000)]
        );
    }

    #[test]
    fn a_server_session_first_expects_its_client() {
        let start = Local::now();
        let rows = [
            row(at(start, 0), false, b"PING"),
            row(at(start, 5), true, b"PONG"),
        ];
        let recorded = socket(Protocol::Tcp, Role::Listen, Framing::Raw);
        let scenario = scenario_from_rows("server", &recorded, &rows).unwrap();
        assert_eq!(scenario.sockets[0].name, "server");
        assert_eq!(scenario.sockets[0].role, Role::Listen);
        assert_eq!(
            actions(&scenario),
            [
                Action::ExpectConnection {
                    socket: 0,
                    within: DEFAULT_TIMEOUT
                },
                expect("PING", PayloadFormat::Text, 2000),
                send("PONG", PayloadFormat::Text),
            ]
        );
        assert_round_trips(&scenario);
    }

    #[test]
    fn udp_datagrams_stay_apart_and_expect_no_connection() {
        let start = Local::now();
        let rows = [
            row(at(start, 0), false, b"one"),
            row(at(start, 1), false, b"two"),
        ];
        let recorded = socket(Protocol::Udp, Role::Listen, Framing::Raw);
        let scenario = scenario_from_rows("udp", &recorded, &rows).unwrap();
        assert_eq!(scenario.sockets[0].protocol, Protocol::Udp);
        assert_eq!(
            actions(&scenario),
            [
                expect("one", PayloadFormat::Text, 2000),
                expect("two", PayloadFormat::Text, 2000),
            ]
        );
        assert_round_trips(&scenario);
    }

    #[test]
    fn an_empty_log_is_nothing_to_record() {
        let recorded = socket(Protocol::Tcp, Role::Connect, Framing::Raw);
        let empty = scenario_from_rows("x", &recorded, &[]).unwrap_err();
        assert_eq!(
            empty,
            "nothing to record: the log has no sent or received data"
        );
        let rows = [row(Local::now(), true, b"")];
        assert_eq!(scenario_from_rows("x", &recorded, &rows), Err(empty));
    }

    #[test]
    fn limits_are_twice_the_wait_rounded_up_and_at_least_two_seconds() {
        let cases = [
            (0, 2000),
            (999, 2000),
            (1000, 2000),
            (1001, 2100),
            (1050, 2100),
            (1051, 2200),
            (7_500, 15_000),
        ];
        for (since_ms, within_ms) in cases {
            assert_eq!(
                expect_within(Duration::from_millis(since_ms)),
                Duration::from_millis(within_ms),
                "{since_ms} ms"
            );
        }
        assert_eq!(
            expect_within(Duration::from_nanos(1_000_000_001)),
            Duration::from_millis(2100)
        );
    }

    #[test]
    fn text_only_when_it_reads_back_exactly() {
        assert_eq!(
            bytes_as_text(b"a\r\n\tb"),
            ("a\r\n\tb".to_string(), PayloadFormat::Text)
        );
        assert_eq!(
            bytes_as_text(b"a\x1bb"),
            ("61 1b 62".to_string(), PayloadFormat::Hex)
        );
        assert_eq!(
            bytes_as_text(b"\xff"),
            ("ff".to_string(), PayloadFormat::Hex)
        );
        assert_eq!(
            bytes_as_text(b"x\x7f"),
            ("78 7f".to_string(), PayloadFormat::Hex)
        );
        assert_eq!(
            bytes_as_text(b"{single}"),
            ("{single}".to_string(), PayloadFormat::Text)
        );
    }
}
