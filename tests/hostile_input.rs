//! Hostile input to every parser a person or a peer can reach: addresses, hex, escapes,
//! text encodings, the composer's repeat plan, the log filter, the command line, the chat
//! line framer and the settings file. Each property runs a fixed number of cases
//! ([`CASES`]) of arbitrary and near-valid input and asserts that nothing panics and that
//! an error names where it is, where the parser knows positions.

use std::io::Write;
use std::net::TcpListener;
use std::ops::ControlFlow;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use proptest::prelude::*;
use socklab::cli::Cli;
use socklab::engine::chat::{LineFramer, MAX_LINE_BYTES};
use socklab::engine::parse_endpoint;
use socklab::model::filter::{Filter, FilteredRows};
use socklab::model::log::{Direction, Log, LogRow};
use socklab::model::persist::Saved;
use socklab::model::settings_file::{self, LoadOutcome};
use socklab::payload::{
    LineEnding, PayloadFormat, TextEncoding, encode_payload, escape_for_display, hex_dump,
    parse_escaped, parse_hex,
};
use socklab::ui::repeat_plan;

/// Cases per property: 13 properties here, 26,000 cases, plus 200 settings files on disk.
const CASES: u32 = 2_000;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        // A failure is shrunk, but not for long.
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    }
}

/// Arbitrary text, or text made of the characters these parsers care about, so the cases
/// reach past the first character.
fn typed() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9a-fA-FxXgz \t\n\r\\\\\\[\\]:.%\u{0}\u{3000}中é€😀-]{0,48}",
        // Escape-heavy.
        "(\\\\[nrt0\\\\xqX]?[0-9a-fA-F]{0,2}[a-z中]{0,2}){0,12}",
    ]
}

fn any_encoding() -> impl Strategy<Value = TextEncoding> {
    prop::sample::select(TextEncoding::ALL.to_vec())
}

/// The 1-based `position` is within `text` (or one past its end).
fn char_at(text: &str, position: usize) -> Option<char> {
    assert!(position >= 1, "positions start at 1: {position}");
    let len = text.chars().count();
    assert!(
        position <= len + 1,
        "position {position} past {len} characters"
    );
    text.chars().nth(position - 1)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn hex_errors_name_the_offending_character(text in typed()) {
        match parse_hex(&text) {
            Ok(bytes) => {
                let digits = text.chars().filter(char::is_ascii_hexdigit).count();
                prop_assert!(bytes.len() * 2 <= digits);
            }
            Err(e) => {
                let c = char_at(&text, e.position).expect("names a character of the text");
                let named = format!("'{}'", c.escape_debug());
                let plain = format!("'{c}'");
                prop_assert!(
                    e.message.contains(&named) || e.message.contains(&plain),
                    "{e} does not name {c:?}"
                );
                let at = format!("at character {}", e.position);
                prop_assert!(e.to_string().ends_with(&at), "{}", e);
            }
        }
    }

    #[test]
    fn hex_shown_in_the_log_reads_back_as_the_same_bytes(data in any::<Vec<u8>>()) {
        prop_assert_eq!(parse_hex(&hex_dump(&data)).unwrap(), data);
    }

    #[test]
    fn escape_errors_point_at_the_backslash_or_the_unwritable_character(
        text in typed(),
        encoding in any_encoding(),
    ) {
        if let Err(e) = parse_escaped(&text, encoding) {
            let c = char_at(&text, e.position).expect("names a character of the text");
            if e.message.contains("cannot be written in") {
                prop_assert!(e.message.starts_with(&format!("'{c}'")), "{e} vs {c:?}");
                prop_assert!(encoding.encode(&c.to_string(), 1).is_err());
            } else {
                prop_assert_eq!(c, '\\', "{}", e);
            }
        }
    }

    #[test]
    fn bytes_escaped_for_the_log_read_back_as_the_same_bytes(data in any::<Vec<u8>>()) {
        let shown = escape_for_display(&data);
        prop_assert!(!shown.chars().any(char::is_control), "{shown:?}");
        prop_assert_eq!(parse_escaped(&shown, TextEncoding::Utf8).unwrap(), data);
    }

    #[test]
    fn any_payload_either_encodes_or_says_where_it_cannot(
        text in typed(),
        format in prop::sample::select(PayloadFormat::ALL.to_vec()),
        encoding in any_encoding(),
        line_ending in prop::sample::select(LineEnding::ALL.to_vec()),
    ) {
        match encode_payload(&text, format, encoding, line_ending) {
            Ok(bytes) if format.takes_line_ending() => {
                prop_assert!(bytes.ends_with(line_ending.bytes()));
            }
            Ok(_) => {}
            Err(e) => {
                char_at(&text, e.position).expect("names a character of the text");
            }
        }
    }

    #[test]
    fn peer_bytes_decode_for_the_log_in_every_encoding(
        data in any::<Vec<u8>>(),
        encoding in any_encoding(),
    ) {
        let shown = encoding.decode_for_display(&data);
        prop_assert!(!shown.chars().any(char::is_control), "{shown:?}");
        prop_assert!(data.is_empty() || !shown.is_empty());
    }

    #[test]
    fn typed_addresses_parse_or_are_refused_and_what_parses_reads_back(text in typed()) {
        match parse_endpoint(&text) {
            Ok(endpoint) => {
                prop_assert!(!endpoint.host.is_empty());
                // Hosts no one could mean (brackets inside brackets, edge spaces) are left
                // to the resolver to refuse.
                let plain = endpoint.host.trim() == endpoint.host
                    && !endpoint.host.contains(['[', ']']);
                if plain {
                    prop_assert_eq!(parse_endpoint(&endpoint.to_string()), Ok(endpoint));
                }
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn repeat_plans_are_whole_and_errors_name_the_field(
        interval in typed(),
        count in prop_oneof![typed(), "[0-9]{0,22}"],
    ) {
        match repeat_plan(&interval, &count) {
            Ok((every, times)) => {
                prop_assert!(every >= Duration::from_millis(1));
                prop_assert!(times.is_none_or(|n| n >= 1));
                prop_assert_eq!(times.is_none(), count.trim().is_empty());
            }
            Err(e) if interval.trim().parse::<u64>().is_ok_and(|ms| ms >= 1) => {
                prop_assert!(e.starts_with("Times"), "{e}");
            }
            Err(e) => prop_assert!(e.contains("interval"), "{e}"),
        }
    }

    #[test]
    fn any_filter_text_finds_rows_holding_it_as_typed(
        text in typed(),
        encoding in any_encoding(),
        hex in any::<bool>(),
        before in prop::collection::vec(any::<u8>(), 0..16),
        other in any::<Vec<u8>>(),
    ) {
        let mut filter = Filter::default();
        filter.text = text.clone();
        filter.encoding = encoding;
        filter.hex = hex;
        let mut holding = before;
        holding.extend_from_slice(text.as_bytes());
        let mut log = Log::default();
        let peer = Some("[::1]:5000".parse().unwrap());
        for (direction, data) in [(Direction::Received, &holding), (Direction::Sent, &other)] {
            log.push(LogRow { time: chrono::Local::now(), direction, peer, data, note: Default::default() });
        }
        let mut rows = FilteredRows::default();
        prop_assert!(rows.update(&log, &filter, 1_000));
        prop_assert!(rows.len() <= 2);
        prop_assert_eq!(rows.matches_at(0), Some(log.first_seq()), "the row holding {:?}", text);
    }

    #[test]
    fn command_lines_parse_or_are_refused_without_a_panic(
        args in prop::collection::vec(
            prop_oneof![
                typed(),
                prop::sample::select(vec![
                    "server", "client", "--chat", "--timeout", "--wait", "--help", "-h",
                    "--version", "-V", "--", "-", "127.0.0.1:0", "nan", "-1", "1e400", "inf",
                ]).prop_map(String::from),
            ],
            0..6,
        ),
    ) {
        let argv = std::iter::once("socklab".to_string()).chain(args);
        if let Err(e) = Cli::try_parse_from(argv) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn chat_lines_from_a_peer_are_framed_whatever_the_bytes(
        pieces in prop::collection::vec(
            prop::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), any::<u8>()], 0..64),
            0..8,
        ),
    ) {
        let mut framer = LineFramer::default();
        let mut lines: Vec<Vec<u8>> = Vec::new();
        for piece in &pieces {
            let flow = framer.push(piece, |line| {
                lines.push(line.to_vec());
                ControlFlow::Continue(())
            });
            prop_assert_eq!(flow, Ok(ControlFlow::Continue(())));
        }
        lines.extend(framer.finish());
        // What was framed is everything sent, less the line ends.
        let sent: Vec<u8> = pieces.concat();
        let newlines = sent.iter().filter(|&&b| b == b'\n').count();
        prop_assert!(lines.len() == newlines || lines.len() == newlines + 1);
        let kept: usize = lines.iter().map(Vec::len).sum();
        let dropped = sent.len() - kept;
        prop_assert!(dropped >= newlines && dropped <= newlines * 2 + 1, "{} of {}", dropped, sent.len());
    }

    #[test]
    fn settings_bytes_load_or_say_where_they_stop(bytes in prop_oneof![
        any::<Vec<u8>>(),
        typed().prop_map(String::into_bytes),
    ]) {
        check_settings_error(&bytes);
    }

    #[test]
    fn damaged_settings_load_or_say_where_they_stop(
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        damage in 0..3u8,
    ) {
        let mut bytes = settings_file::to_text(&rich_settings()).into_bytes();
        match damage {
            0 => bytes.truncate(cut.index(bytes.len())),
            1 => {
                let at = flip.index(bytes.len());
                bytes[at] = byte;
            }
            _ => {
                bytes.truncate(cut.index(bytes.len()));
                let at = flip.index(bytes.len().max(1)).min(bytes.len());
                bytes.insert(at, byte);
            }
        }
        check_settings_error(&bytes);
    }
}

/// Settings with something in every list, so damage lands in every kind of field.
fn rich_settings() -> Saved {
    let text = r#"(
        sockets: [(server: true, chat: true, addr: "127.0.0.1:9999", encoding: Gbk),
                  (server: false, chat: false, addr: "[::1]:7", encoding: Utf8)],
        history: [(text: "01 02 ff", format: Hex, encoding: Utf8, line_ending: CrLf)],
        presets: [(name: "ping", payload: (text: "ping\\r\\n", format: Escaped,
                   encoding: Big5, line_ending: None))],
        options: (display: Both, form_addr: "localhost:80"),
    )"#;
    settings_file::parse(text.as_bytes()).expect("the sample settings parse")
}

/// A settings file's bytes either load or give a reason naming a line and column within
/// the text, or the first byte that is not UTF-8.
fn check_settings_error(bytes: &[u8]) {
    let Err(reason) = settings_file::parse(bytes) else {
        return;
    };
    if let Some(byte) = reason.strip_prefix("not UTF-8 text at byte ") {
        let byte: usize = byte.parse().expect("a byte number");
        assert!((1..=bytes.len()).contains(&byte), "{reason}");
        assert!(std::str::from_utf8(&bytes[..byte - 1]).is_ok());
        return;
    }
    let rest = reason.strip_prefix("line ").expect("names a line");
    let (line, rest) = rest.split_once(", column ").expect("names a column");
    let (column, message) = rest.split_once(": ").expect("and says why");
    let line: usize = line.parse().expect("a line number");
    let column: usize = column.parse().expect("a column number");
    let text = std::str::from_utf8(bytes).unwrap();
    let lines = text.split('\n').count();
    assert!((1..=lines).contains(&line), "{reason} in {lines} lines");
    assert!(column >= 1, "{reason}");
    assert!(!message.is_empty());
}

#[test]
fn a_deeply_nested_settings_file_is_refused_not_a_stack_overflow() {
    let mut text = String::from("(sockets: ");
    text.push_str(&"[".repeat(100_000));
    check_settings_error(text.as_bytes());
    let mut text = String::from("(options: ");
    text.push_str(&"(".repeat(100_000));
    check_settings_error(text.as_bytes());
}

#[test]
fn arbitrary_settings_files_on_disk_are_loaded_or_moved_aside_intact() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 200,
        ..config()
    });
    runner
        .run(&any::<Vec<u8>>(), |bytes| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(settings_file::FILE_NAME);
            std::fs::write(&path, &bytes).unwrap();
            match settings_file::load(dir.path()) {
                LoadOutcome::Loaded(_) => prop_assert!(path.exists()),
                LoadOutcome::MovedAside { moved_to, .. } => {
                    prop_assert_eq!(std::fs::read(moved_to).unwrap(), bytes);
                    prop_assert!(!path.exists());
                }
                other => prop_assert!(false, "unexpected {:?}", other),
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_chat_line_past_the_limit_is_refused_however_it_arrives() {
    let mut framer = LineFramer::default();
    let piece = vec![b'a'; MAX_LINE_BYTES / 4 + 1];
    let results: Vec<_> = (0..4)
        .map(|_| framer.push(&piece, |_| ControlFlow::Continue(())))
        .collect();
    assert!(results[..3].iter().all(Result::is_ok));
    assert!(results[3].is_err());
}

fn accept_within(listener: &TcpListener, wait: Duration) -> std::net::TcpStream {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + wait;
    loop {
        match listener.accept() {
            Ok((stream, _)) => return stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "the client did not connect");
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// `--wait` with an absurd number of seconds once overflowed the clock and panicked.
#[test]
fn a_client_given_an_absurd_wait_ends_normally_when_the_peer_closes() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_socklab"))
        .args(["client", &addr, "--wait", "1e19", "--timeout", "1e19"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut peer = accept_within(&listener, Duration::from_secs(10));
    peer.set_nonblocking(false).unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    child.stdin.take().unwrap().write_all(b"hi\n").unwrap();
    // Stdin closed: the client sends, finishes sending and waits for our last bytes.
    let mut got = Vec::new();
    std::io::Read::read_to_end(&mut peer, &mut got).unwrap();
    assert_eq!(got, b"hi\n");
    peer.write_all(b"bye").unwrap();
    drop(peer);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the client did not end after its peer closed");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(status.success(), "{status}: {stderr}");
    assert_eq!(output.stdout, b"bye");
}
