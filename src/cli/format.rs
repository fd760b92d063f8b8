//! What `socklab server` and `socklab udp` print for each engine event: stamped lines,
//! nothing, or the end of the command. Pure (no I/O), so each line the README documents is
//! tested here; the README's "Command line" section and `--help` describe this format.

use std::collections::HashMap;
use std::net::SocketAddr;

use chrono::{DateTime, Local, Utc};

use super::{DataOutput, Failure};
use crate::engine::framing::{Cut, MessageMark};
use crate::engine::options::OptionsInEffect;
use crate::engine::tls::TlsInfo;
use crate::engine::{ConnId, Datagram, Event, EventKind};
use crate::payload::{escape_for_display, hex_dump};

/// What the server loop does with one event.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ServerStep {
    /// Print this line on stdout and go on.
    Print(String),
    /// Nothing to print; go on.
    Quiet,
    /// End the command with this failure.
    Fail(Failure),
}

/// The server's view of its own events: the peer of each open connection (later lines
/// name it) and whether it is listening.
pub(super) struct ServerLog {
    /// The address as typed, for the message when listening fails.
    addr: String,
    peers: HashMap<ConnId, SocketAddr>,
    listening: bool,
    /// How data is shown (`--data`).
    data: DataOutput,
}

impl ServerLog {
    pub fn new(addr: &str, data: DataOutput) -> Self {
        ServerLog {
            addr: addr.to_string(),
            peers: HashMap::new(),
            listening: false,
            data,
        }
    }

    /// True from `listening` until `stopped`.
    pub fn listening(&self) -> bool {
        self.listening
    }

    pub fn step(&mut self, event: &Event) -> ServerStep {
        let text = match &event.kind {
            EventKind::Listening { local } => {
                self.listening = true;
                format!("listening {local}")
            }
            EventKind::ListenFailed { error } => {
                return ServerStep::Fail(Failure::runtime(format!(
                    "cannot listen on {}: {error}",
                    self.addr
                )));
            }
            EventKind::Connected(info) => {
                self.peers.insert(info.conn, info.peer);
                format!("accepted {} {} -> {}", info.conn, info.peer, info.local)
            }
            EventKind::Received {
                conn,
                data,
                messages,
            } => {
                let peer = self.peer(*conn);
                if self.data == DataOutput::None {
                    // Sizes only: one line per event however many messages it holds.
                    return ServerStep::Print(format!(
                        "{} received {conn} {peer} {} bytes{}",
                        stamp(&event.time),
                        data.len(),
                        message_count(messages.len())
                    ));
                }
                // One line per message, each stamped.
                let mut start = 0;
                let lines: Vec<String> = messages
                    .iter()
                    .map(|mark| {
                        let message = &data[start..mark.end];
                        start = mark.end;
                        format!(
                            "received {conn} {peer} {} bytes{}{}",
                            message.len(),
                            shown(message, self.data),
                            message_note(mark)
                        )
                    })
                    .collect();
                lines.join(&format!("\n{} ", stamp(&event.time)))
            }
            EventKind::ReceivedSize {
                conn,
                bytes,
                messages,
            } => format!(
                "received {conn} {} {bytes} bytes{}",
                self.peer(*conn),
                message_count(*messages as usize)
            ),
            EventKind::ReceivedUnreported { messages, bytes } => {
                format!("unreported {messages} received messages ({bytes} bytes)")
            }
            EventKind::Sent { conn, data } => format!(
                "sent {conn} {} {} bytes{}",
                self.peer(*conn),
                data.len(),
                shown(data, self.data)
            ),
            EventKind::ChatLine { conn, peer, line } => {
                format!("line {conn} {peer} \"{}\"", escape_for_display(line))
            }
            EventKind::LinesUnreported { count } => format!("unreported {count} lines"),
            EventKind::SendsUnreported { messages, bytes } => {
                format!("unreported {messages} sends ({bytes} bytes)")
            }
            EventKind::Closed {
                conn,
                reason,
                unsent,
            } => {
                let peer = self.peer(*conn);
                self.peers.remove(conn);
                let unsent = if *unsent > 0 {
                    format!(", {unsent} bytes unsent")
                } else {
                    String::new()
                };
                format!("closed {conn} {peer} {reason}{unsent}")
            }
            EventKind::Stopped => {
                // The engine reports every connection's close before this.
                self.listening = false;
                "stopped".to_string()
            }
            EventKind::Error { message } => format!("error {message}"),
            EventKind::EngineFailed { error } => {
                return ServerStep::Fail(Failure::runtime(error.clone()));
            }
            EventKind::TlsEstablished { conn, info } => {
                format!("tls {conn} {} {}", self.peer(*conn), tls_summary(info))
            }
            EventKind::PeerFinished { conn } => {
                format!("peer-finished {conn} {}", self.peer(*conn))
            }
            EventKind::ListenerOptions { options } => format!("options {}", options_line(options)),
            // Client sessions only: a server never connects out.
            EventKind::Connecting { .. } | EventKind::ConnectFailed { .. } => {
                return ServerStep::Quiet;
            }
            // Follows a FinishSending command, which the server never gives.
            EventKind::SendingFinished { .. } => return ServerStep::Quiet,
            EventKind::CaptureStarted { path } => format!("capturing to {}", path.display()),
            EventKind::CaptureStopped {
                path,
                bytes,
                error: None,
            } => format!("capture closed {}, {bytes} bytes written", path.display()),
            EventKind::CaptureStopped {
                bytes,
                error: Some(error),
                ..
            } => format!("error {error} ({bytes} bytes written)"),
            // Repeats and transfers are started from the window only.
            EventKind::RepeatStarted { .. }
            | EventKind::RepeatFinished { .. }
            | EventKind::TransferStarted { .. }
            | EventKind::TransferFinished { .. } => return ServerStep::Quiet,
            // UDP sessions only.
            EventKind::UdpOpened { .. }
            | EventKind::UdpFailed { .. }
            | EventKind::UdpOptionsApplied { .. }
            | EventKind::PeerSeen(_)
            | EventKind::DatagramsReceived { .. }
            | EventKind::DatagramsSent { .. }
            | EventKind::DatagramsUnreported { .. }
            | EventKind::Joined { .. }
            | EventKind::Left { .. } => return ServerStep::Quiet,
        };
        ServerStep::Print(format!("{} {text}", stamp(&event.time)))
    }

    /// The peer of an open connection, or `?` for one this log never saw accepted.
    fn peer(&self, conn: ConnId) -> String {
        self.peers
            .get(&conn)
            .map_or_else(|| "?".into(), |peer| peer.to_string())
    }
}

/// A finished handshake on one line: `TLS 1.3 SUITE [alpn=P] [sni=NAME]
/// [peer-cert="SUBJECT"] [unverified]`.
fn tls_summary(info: &TlsInfo) -> String {
    let mut text = format!("{} {}", info.version, info.cipher_suite);
    if let Some(alpn) = &info.alpn {
        text.push_str(&format!(" alpn={}", escape_for_display(alpn.as_bytes())));
    }
    if let Some(name) = &info.server_name {
        text.push_str(&format!(" sni={}", escape_for_display(name.as_bytes())));
    }
    if let Some(leaf) = info.peer_certificates.first() {
        let subject = escape_for_display(leaf.subject.as_bytes()).replace('"', "\\\"");
        text.push_str(&format!(" peer-cert=\"{subject}\""));
    }
    if info.unverified.is_some() {
        text.push_str(" unverified");
    }
    text
}

/// What `socklab client` tells stderr about a finished handshake, one line each: what was
/// agreed on, then the server's certificate (subject, issuer, names, validity with days
/// left at `now`, SHA-256) and a warning when it was not verified.
pub(super) fn tls_client_lines(info: &TlsInfo, now: DateTime<Utc>) -> Vec<String> {
    let mut agreed = format!("tls {} {}", info.version, info.cipher_suite);
    agreed.push_str(&match &info.alpn {
        Some(alpn) => format!(", alpn {alpn}"),
        None => ", no alpn".to_string(),
    });
    if let Some(name) = &info.server_name {
        agreed.push_str(&format!(", sni {name}"));
    }
    let mut lines = vec![agreed];
    match info.peer_certificates.first() {
        Some(leaf) => {
            lines.push(format!("server certificate: {}", leaf.subject));
            lines.push(format!("  issuer: {}", leaf.issuer));
            if !leaf.names.is_empty() {
                lines.push(format!("  names: {}", leaf.names.join(", ")));
            }
            let days = leaf.days_left(now);
            let left = if days < 0 {
                format!("expired {} days ago", -days)
            } else {
                format!("{days} days left")
            };
            lines.push(format!(
                "  valid: {} to {} ({left})",
                leaf.not_before.format("%Y-%m-%d"),
                leaf.not_after.format("%Y-%m-%d")
            ));
            lines.push(format!("  sha256: {}", leaf.sha256));
            if info.peer_certificates.len() > 1 {
                lines.push(format!(
                    "  chain: {} more certificates",
                    info.peer_certificates.len() - 1
                ));
            }
        }
        None => lines.push("server certificate: none sent".into()),
    }
    if let Some(warning) = &info.unverified {
        lines.push(format!("warning: {warning}"));
    }
    lines
}

/// What the UDP loop does with one event.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum UdpStep {
    /// Print these lines on stdout (one per datagram of a batch) and go on.
    Print(Vec<String>),
    /// Nothing to print; go on.
    Quiet,
    /// End the command with this failure.
    Fail(Failure),
}

/// The UDP command's view of its own events: whether the socket is open, and how many
/// answers to its setup (the options read back, then one per `--join`) are still to come.
/// An error before they are all in is the setup's own, and ends the command.
pub(super) struct UdpLog {
    joins: usize,
    opened: bool,
    stopped: bool,
    setup_pending: usize,
    /// How data is shown (`--data`).
    data: DataOutput,
}

impl UdpLog {
    /// A log for a socket that will join `joins` groups once open.
    pub fn new(joins: usize, data: DataOutput) -> Self {
        UdpLog {
            joins,
            opened: false,
            stopped: false,
            setup_pending: 0,
            data,
        }
    }

    /// True from `bound` until `stopped`.
    pub fn is_open(&self) -> bool {
        self.opened && !self.stopped
    }

    /// Open, its options set and every group joined: stdin may be sent now.
    pub fn ready(&self) -> bool {
        self.is_open() && self.setup_pending == 0
    }

    pub fn step(&mut self, event: &Event) -> UdpStep {
        let stamp = stamp(&event.time);
        let text = match &event.kind {
            EventKind::UdpOpened { local, .. } => {
                self.opened = true;
                self.setup_pending = 1 + self.joins;
                format!("bound {local}")
            }
            EventKind::UdpFailed { error } => {
                return UdpStep::Fail(Failure::runtime(error.clone()));
            }
            EventKind::UdpOptionsApplied { .. } => {
                // What was asked took effect; the read-back adds nothing worth a line.
                self.setup_pending = self.setup_pending.saturating_sub(1);
                return UdpStep::Quiet;
            }
            EventKind::Joined { membership } => {
                self.setup_pending = self.setup_pending.saturating_sub(1);
                format!("joined {membership}")
            }
            EventKind::Left { membership } => format!("left {membership}"),
            EventKind::Error { message } if self.opened && self.setup_pending > 0 => {
                // An option or a group the user asked for by name could not be had.
                return UdpStep::Fail(Failure::runtime(message.clone()));
            }
            EventKind::Error { message } => format!("error {message}"),
            // Every datagram line names its address; a new peer needs no line of its own.
            EventKind::PeerSeen(_) => return UdpStep::Quiet,
            EventKind::DatagramsReceived { datagrams } => {
                let lines = datagram_lines(&stamp, "received", datagrams, self.data);
                return UdpStep::Print(lines);
            }
            EventKind::DatagramsSent { datagrams } => {
                return UdpStep::Print(datagram_lines(&stamp, "sent", datagrams, self.data));
            }
            EventKind::DatagramsUnreported { count, bytes } => {
                format!("unreported {count} datagrams ({bytes} bytes)")
            }
            EventKind::SendsUnreported { messages, bytes } => {
                format!("unreported {messages} sends ({bytes} bytes)")
            }
            EventKind::Stopped => {
                self.stopped = true;
                "stopped".to_string()
            }
            EventKind::CaptureStarted { path } => format!("capturing to {}", path.display()),
            EventKind::CaptureStopped {
                path,
                bytes,
                error: None,
            } => format!("capture closed {}, {bytes} bytes written", path.display()),
            EventKind::CaptureStopped {
                bytes,
                error: Some(error),
                ..
            } => format!("error {error} ({bytes} bytes written)"),
            EventKind::EngineFailed { error } => {
                return UdpStep::Fail(Failure::runtime(error.clone()));
            }
            // TCP sessions only.
            EventKind::Listening { .. }
            | EventKind::ListenFailed { .. }
            | EventKind::Connecting { .. }
            | EventKind::ConnectFailed { .. }
            | EventKind::Connected(_)
            | EventKind::Received { .. }
            | EventKind::ReceivedSize { .. }
            | EventKind::ReceivedUnreported { .. }
            | EventKind::Sent { .. }
            | EventKind::ChatLine { .. }
            | EventKind::LinesUnreported { .. }
            | EventKind::SendingFinished { .. }
            | EventKind::ListenerOptions { .. }
            | EventKind::TlsEstablished { .. }
            | EventKind::PeerFinished { .. }
            | EventKind::Closed { .. } => return UdpStep::Quiet,
            // Repeats and transfers are started from the window only.
            EventKind::RepeatStarted { .. }
            | EventKind::RepeatFinished { .. }
            | EventKind::TransferStarted { .. }
            | EventKind::TransferFinished { .. } => return UdpStep::Quiet,
        };
        UdpStep::Print(vec![format!("{stamp} {text}")])
    }
}

/// One stamped line per datagram: `TIME received 127.0.0.1:5000 5 bytes "hello"`, with
/// `, truncated` when the datagram was cut to fit the receive buffer.
fn datagram_lines(
    stamp: &str,
    verb: &str,
    datagrams: &[Datagram],
    data: DataOutput,
) -> Vec<String> {
    if data == DataOutput::None {
        // Sizes only: one line per batch.
        let bytes: usize = datagrams.iter().map(|d| d.data.len()).sum();
        return vec![format!(
            "{stamp} {verb} {} datagrams {bytes} bytes",
            datagrams.len()
        )];
    }
    datagrams
        .iter()
        .map(|datagram| {
            let cut = if datagram.truncated {
                ", truncated"
            } else {
                checksum_note(datagram.checksum_ok)
            };
            format!(
                "{stamp} {verb} {} {} bytes{}{cut}",
                datagram.addr,
                datagram.data.len(),
                shown(&datagram.data, data)
            )
        })
        .collect()
}

/// The data part of a line, as `--data` asks: ` "escaped text"`, ` 0a 1b …` or nothing.
fn shown(data: &[u8], how: DataOutput) -> String {
    match how {
        DataOutput::Text => format!(" \"{}\"", escape_for_display(data)),
        DataOutput::Hex if data.is_empty() => String::new(),
        DataOutput::Hex => format!(" {}", hex_dump(data)),
        DataOutput::None => String::new(),
    }
}

fn message_count(count: usize) -> String {
    match count {
        0 | 1 => String::new(),
        count => format!(", {count} messages"),
    }
}

/// What the framing or the checksum says about a message, as the end of its line.
fn message_note(mark: &MessageMark) -> &'static str {
    match mark.cut {
        Cut::Whole => checksum_note(mark.checksum_ok),
        Cut::TooLong => ", cut: over the maximum message size",
        Cut::Leftover => ", incomplete message",
    }
}

fn checksum_note(checksum_ok: Option<bool>) -> &'static str {
    match checksum_ok {
        None => "",
        Some(true) => ", checksum ok",
        Some(false) => ", checksum WRONG",
    }
}

/// `2026-11-26T14:03:05.123`, local time to the millisecond.
fn stamp(time: &DateTime<Local>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}

/// The options in effect as `NAME=VALUE` pairs, one space apart (`SO_RCVBUF=425984 …`).
pub(super) fn options_line(options: &OptionsInEffect) -> String {
    options
        .terse()
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;

    use chrono::{NaiveDate, TimeZone};

    use super::*;
    use crate::engine::{CloseReason, ConnInfo, RepeatEnd, SessionId, TransferId, TransferOutcome};

    const TIME: &str = "2026-11-26T14:11:18.377";
    const LOCAL: &str = "127.0.0.1:9999";
    const PEER: &str = "127.0.0.1:49538";

    fn event(kind: EventKind) -> Event {
        let naive = NaiveDate::from_ymd_opt(2026, 11, 26)
            .and_then(|day| day.and_hms_milli_opt(14, 11, 18, 377))
            .unwrap();
        Event {
            time: Local.from_local_datetime(&naive).earliest().unwrap(),
            session: SessionId::new(1),
            kind,
        }
    }

    fn conn(n: u64) -> ConnId {
        ConnId::new(n)
    }

    fn accepted(n: u64, peer: &str) -> EventKind {
        EventKind::Connected(ConnInfo {
            conn: conn(n),
            local: LOCAL.parse().unwrap(),
            peer: peer.parse().unwrap(),
            counters: Default::default(),
            options: Default::default(),
            tls: false,
        })
    }

    /// A log that listens and has accepted connection #1 from [`PEER`].
    fn log_with_a_peer() -> ServerLog {
        let mut log = ServerLog::new(LOCAL, DataOutput::Text);
        log.step(&event(EventKind::Listening {
            local: LOCAL.parse().unwrap(),
        }));
        log.step(&event(accepted(1, PEER)));
        log
    }

    fn line(log: &mut ServerLog, kind: EventKind) -> String {
        match log.step(&event(kind)) {
            ServerStep::Print(line) => line,
            other => panic!("expected a line, got {other:?}"),
        }
    }

    fn tls_info(peer_cert: bool) -> TlsInfo {
        let day = |y, m, d| {
            NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
        };
        TlsInfo {
            version: "TLS 1.3".into(),
            cipher_suite: "TLS13_AES_256_GCM_SHA384".into(),
            alpn: Some("h2".into()),
            server_name: Some("localhost".into()),
            peer_certificates: if peer_cert {
                vec![crate::engine::tls::CertSummary {
                    subject: "CN=client \"one\"".into(),
                    issuer: "CN=test CA".into(),
                    names: vec!["a.example".into(), "192.0.2.1".into()],
                    not_before: day(2026, 1, 1),
                    not_after: day(2027, 1, 1),
                    sha256: "AB:CD".into(),
                }]
            } else {
                Vec::new()
            },
            unverified: None,
        }
    }

    #[test]
    fn a_handshake_is_one_line_with_what_was_agreed_and_the_peers_certificate() {
        let mut log = log_with_a_peer();
        let tls = |info: TlsInfo| EventKind::TlsEstablished {
            conn: conn(1),
            info: Arc::new(info),
        };
        assert_eq!(
            line(&mut log, tls(tls_info(false))),
            format!("{TIME} tls #1 {PEER} TLS 1.3 TLS13_AES_256_GCM_SHA384 alpn=h2 sni=localhost")
        );
        let mut unverified = tls_info(true);
        unverified.alpn = None;
        unverified.unverified = Some("not verified".into());
        assert_eq!(
            line(&mut log, tls(unverified)),
            format!(
                "{TIME} tls #1 {PEER} TLS 1.3 TLS13_AES_256_GCM_SHA384 sni=localhost \
                 peer-cert=\"CN=client \\\"one\\\"\" unverified"
            )
        );
    }

    #[test]
    fn a_client_is_told_the_servers_certificate_with_its_days_left() {
        let mut info = tls_info(true);
        info.unverified = Some("not verified".into());
        let now = NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc();
        assert_eq!(
            tls_client_lines(&info, now),
            [
                "tls TLS 1.3 TLS13_AES_256_GCM_SHA384, alpn h2, sni localhost",
                "server certificate: CN=client \"one\"",
                "  issuer: CN=test CA",
                "  names: a.example, 192.0.2.1",
                "  valid: 2026-01-01 to 2027-01-01 (31 days left)",
                "  sha256: AB:CD",
                "warning: not verified",
            ]
        );
    }

    #[test]
    fn listening_names_the_bound_address_and_marks_the_log_listening() {
        let mut log = ServerLog::new("127.0.0.1:0", DataOutput::Text);
        assert!(!log.listening());
        let printed = line(
            &mut log,
            EventKind::Listening {
                local: LOCAL.parse().unwrap(),
            },
        );
        assert_eq!(printed, format!("{TIME} listening {LOCAL}"));
        assert!(log.listening());
    }

    #[test]
    fn the_listeners_options_are_one_line_of_name_value_pairs() {
        let mut log = log_with_a_peer();
        let options = OptionsInEffect {
            no_delay: Some(true),
            recv_buffer: Some(131_072),
            send_buffer: Some(16_384),
            reuse_address: Some(true),
            ttl: Some(64),
            ipv6: Some(false),
            linger: Some(None),
            ..OptionsInEffect::default()
        };
        assert_eq!(
            line(&mut log, EventKind::ListenerOptions { options }),
            format!(
                "{TIME} options TCP_NODELAY=on SO_RCVBUF=131072 SO_SNDBUF=16384 \
                 SO_REUSEADDR=on IP_TTL=64 SO_LINGER=off"
            )
        );
    }

    #[test]
    fn accepted_names_the_connection_its_peer_and_our_end() {
        let mut log = ServerLog::new(LOCAL, DataOutput::Text);
        assert_eq!(
            line(&mut log, accepted(7, PEER)),
            format!("{TIME} accepted #7 {PEER} -> {LOCAL}")
        );
    }

    #[test]
    fn received_and_sent_show_the_peer_the_length_and_escaped_bytes() {
        let mut log = log_with_a_peer();
        let received = EventKind::received_raw(conn(1), b"GET /\r\n".to_vec());
        assert_eq!(
            line(&mut log, received),
            format!("{TIME} received #1 {PEER} 7 bytes \"GET /\\r\\n\"")
        );
        let sent = EventKind::Sent {
            conn: conn(1),
            data: Arc::from(&b"hi\0\xff\\\n"[..]),
        };
        assert_eq!(
            line(&mut log, sent),
            format!("{TIME} sent #1 {PEER} 6 bytes \"hi\\0\\xff\\\\\\n\"")
        );
    }

    #[test]
    fn data_hex_shows_bytes_as_hex_and_data_none_shows_sizes_only() {
        let mut log = log_with_a_peer();
        log.data = DataOutput::Hex;
        let received = EventKind::received_raw(conn(1), b"A\0\xff".to_vec());
        assert_eq!(
            line(&mut log, received),
            format!("{TIME} received #1 {PEER} 3 bytes 41 00 ff")
        );
        log.data = DataOutput::None;
        let two_messages = EventKind::Received {
            conn: conn(1),
            data: b"ab\ncd\n".to_vec(),
            messages: vec![
                MessageMark {
                    end: 3,
                    delimiter: 1,
                    cut: Cut::Whole,
                    checksum_ok: None,
                },
                MessageMark {
                    end: 6,
                    delimiter: 1,
                    cut: Cut::Whole,
                    checksum_ok: None,
                },
            ],
        };
        assert_eq!(
            line(&mut log, two_messages),
            format!("{TIME} received #1 {PEER} 6 bytes, 2 messages"),
            "one line per event, not per message"
        );
        let sent = EventKind::Sent {
            conn: conn(1),
            data: Arc::from(&b"secret"[..]),
        };
        assert_eq!(
            line(&mut log, sent),
            format!("{TIME} sent #1 {PEER} 6 bytes")
        );
    }

    #[test]
    fn a_peer_that_finished_sending_is_named_with_its_connection() {
        let mut log = log_with_a_peer();
        assert_eq!(
            line(&mut log, EventKind::PeerFinished { conn: conn(1) }),
            format!("{TIME} peer-finished #1 {PEER}")
        );
    }

    #[test]
    fn a_capture_says_where_it_writes_and_how_many_bytes_reached_the_file() {
        let mut log = log_with_a_peer();
        let path = PathBuf::from("/tmp/in.bin");
        let started = EventKind::CaptureStarted { path: path.clone() };
        assert_eq!(
            line(&mut log, started),
            format!("{TIME} capturing to /tmp/in.bin")
        );
        let closed = EventKind::CaptureStopped {
            path,
            bytes: 12,
            error: None,
        };
        assert_eq!(
            line(&mut log, closed),
            format!("{TIME} capture closed /tmp/in.bin, 12 bytes written")
        );
        let failed = EventKind::CaptureStopped {
            path: PathBuf::from("/dev/full"),
            bytes: 0,
            error: Some("capture to /dev/full failed: no space left on the disk".into()),
        };
        assert_eq!(
            line(&mut log, failed),
            format!(
                "{TIME} error capture to /dev/full failed: no space left on the disk (0 bytes written)"
            )
        );
    }

    #[test]
    fn a_connection_never_seen_accepted_has_a_question_mark_for_its_peer() {
        let mut log = log_with_a_peer();
        let received = EventKind::received_raw(conn(2), b"x".to_vec());
        assert_eq!(
            line(&mut log, received),
            format!("{TIME} received #2 ? 1 bytes \"x\"")
        );
    }

    #[test]
    fn a_chat_line_names_its_sender_and_is_escaped() {
        let mut log = log_with_a_peer();
        let chat = EventKind::ChatLine {
            conn: conn(2),
            peer: "[::1]:49550".parse().unwrap(),
            line: "hi\tthere 你好".as_bytes().to_vec(),
        };
        assert_eq!(
            line(&mut log, chat),
            format!("{TIME} line #2 [::1]:49550 \"hi\\tthere 你好\"")
        );
    }

    #[test]
    fn unreported_lines_and_sends_are_counted() {
        let mut log = log_with_a_peer();
        assert_eq!(
            line(&mut log, EventKind::LinesUnreported { count: 12 }),
            format!("{TIME} unreported 12 lines")
        );
        let sends = EventKind::SendsUnreported {
            messages: 3,
            bytes: 4096,
        };
        assert_eq!(
            line(&mut log, sends),
            format!("{TIME} unreported 3 sends (4096 bytes)")
        );
    }

    #[test]
    fn closed_gives_the_reason_and_then_forgets_the_peer() {
        let mut log = log_with_a_peer();
        let closed = EventKind::Closed {
            conn: conn(1),
            reason: CloseReason::PeerClosed,
            unsent: 0,
        };
        assert_eq!(
            line(&mut log, closed),
            format!("{TIME} closed #1 {PEER} peer closed")
        );
        assert_eq!(log.peer(conn(1)), "?");
    }

    #[test]
    fn closed_with_queued_bytes_says_how_many_were_not_sent() {
        let mut log = log_with_a_peer();
        let closed = EventKind::Closed {
            conn: conn(1),
            reason: CloseReason::ServerStopped,
            unsent: 12,
        };
        assert_eq!(
            line(&mut log, closed),
            format!("{TIME} closed #1 {PEER} server stopped, 12 bytes unsent")
        );
    }

    #[test]
    fn stopped_ends_listening() {
        let mut log = log_with_a_peer();
        assert!(log.listening());
        assert_eq!(
            line(&mut log, EventKind::Stopped),
            format!("{TIME} stopped")
        );
        assert!(!log.listening());
    }

    #[test]
    fn an_error_is_printed_and_the_server_goes_on() {
        let mut log = log_with_a_peer();
        let error = EventKind::Error {
            message: "not sent: no connection is open".into(),
        };
        assert_eq!(
            line(&mut log, error),
            format!("{TIME} error not sent: no connection is open")
        );
        assert!(log.listening());
    }

    #[test]
    fn a_failed_listen_ends_the_command_naming_the_typed_address() {
        let mut log = ServerLog::new("localhost:80", DataOutput::Text);
        let failed = EventKind::ListenFailed {
            error: "permission denied".into(),
        };
        assert_eq!(
            log.step(&event(failed)),
            ServerStep::Fail(Failure::runtime(
                "cannot listen on localhost:80: permission denied".into()
            ))
        );
    }

    #[test]
    fn an_engine_failure_ends_the_command_with_its_reason() {
        let mut log = log_with_a_peer();
        let failed = EventKind::EngineFailed {
            error: "the network loop failed: poll broke".into(),
        };
        let step = log.step(&Event {
            session: SessionId::ENGINE,
            ..event(failed)
        });
        assert_eq!(
            step,
            ServerStep::Fail(Failure::runtime(
                "the network loop failed: poll broke".into()
            ))
        );
    }

    #[test]
    fn kinds_a_server_command_never_causes_print_nothing() {
        let mut log = log_with_a_peer();
        let path = PathBuf::from("/tmp/x.bin");
        let quiet = [
            EventKind::Connecting {
                peer: PEER.parse().unwrap(),
            },
            EventKind::ConnectFailed {
                error: "refused".into(),
            },
            EventKind::SendingFinished { conn: conn(1) },
            EventKind::RepeatStarted {
                sent: Arc::new(AtomicU64::new(0)),
                count: Some(3),
            },
            EventKind::RepeatFinished {
                sent: 3,
                end: RepeatEnd::Done,
            },
            EventKind::TransferStarted {
                transfer: TransferId::new(1),
                path: path.clone(),
                size: 10,
                sent: Arc::new(AtomicU64::new(0)),
            },
            EventKind::TransferFinished {
                transfer: TransferId::new(1),
                path: path.clone(),
                sent: 10,
                outcome: TransferOutcome::Completed,
            },
        ];
        for kind in quiet {
            let shown = format!("{kind:?}");
            assert_eq!(log.step(&event(kind)), ServerStep::Quiet, "{shown}");
        }
        assert!(log.listening(), "none of them changes the state");
        assert_eq!(log.peer(conn(1)), PEER);
    }

    // ---- socklab udp

    const UDP_LOCAL: &str = "0.0.0.0:5000";

    fn datagram(addr: &str, data: &[u8]) -> Datagram {
        Datagram {
            checksum_ok: None,
            peer: Some(conn(1)),
            addr: addr.parse().unwrap(),
            data: Arc::from(data),
            truncated: false,
        }
    }

    fn opened() -> EventKind {
        EventKind::UdpOpened {
            local: UDP_LOCAL.parse().unwrap(),
            peer: None,
            totals: Default::default(),
            stats: Default::default(),
        }
    }

    fn group(interface: &str) -> crate::engine::Membership {
        crate::engine::Membership {
            group: "239.1.2.3".parse().unwrap(),
            interface: interface.into(),
            source: None,
        }
    }

    fn udp_lines(log: &mut UdpLog, kind: EventKind) -> Vec<String> {
        match log.step(&event(kind)) {
            UdpStep::Print(lines) => lines,
            other => panic!("expected lines, got {other:?}"),
        }
    }

    fn udp_line(log: &mut UdpLog, kind: EventKind) -> String {
        match &udp_lines(log, kind)[..] {
            [line] => line.clone(),
            other => panic!("expected one line, got {other:?}"),
        }
    }

    fn options_applied() -> EventKind {
        EventKind::UdpOptionsApplied {
            options: Default::default(),
        }
    }

    /// A log whose socket is open and set up, with no groups.
    fn ready_udp_log() -> UdpLog {
        let mut log = UdpLog::new(0, DataOutput::Text);
        log.step(&event(opened()));
        log.step(&event(options_applied()));
        assert!(log.ready());
        log
    }

    #[test]
    fn bound_names_the_socket_and_it_is_ready_once_its_options_are_set() {
        let mut log = UdpLog::new(0, DataOutput::Text);
        assert!(!log.is_open() && !log.ready());
        assert_eq!(
            udp_line(&mut log, opened()),
            format!("{TIME} bound {UDP_LOCAL}")
        );
        assert!(log.is_open());
        assert!(!log.ready(), "the options are not confirmed yet");
        assert_eq!(log.step(&event(options_applied())), UdpStep::Quiet);
        assert!(log.ready());
    }

    #[test]
    fn it_is_ready_only_once_every_group_is_joined_and_says_so_for_each() {
        let mut log = UdpLog::new(2, DataOutput::Text);
        log.step(&event(opened()));
        log.step(&event(options_applied()));
        assert!(!log.ready());
        let joined = EventKind::Joined {
            membership: group("127.0.0.1"),
        };
        assert_eq!(
            udp_line(&mut log, joined),
            format!("{TIME} joined 239.1.2.3 on 127.0.0.1")
        );
        assert!(!log.ready());
        let joined = EventKind::Joined {
            membership: crate::engine::Membership {
                source: Some("192.0.2.9".parse().unwrap()),
                ..group("")
            },
        };
        assert_eq!(
            udp_line(&mut log, joined),
            format!("{TIME} joined 239.1.2.3 from 192.0.2.9")
        );
        assert!(log.ready());
        let left = EventKind::Left {
            membership: group("eth0"),
        };
        assert_eq!(
            udp_line(&mut log, left),
            format!("{TIME} left 239.1.2.3 on eth0")
        );
    }

    #[test]
    fn an_error_while_setting_up_ends_the_command_and_after_it_is_printed() {
        let mut log = UdpLog::new(1, DataOutput::Text);
        log.step(&event(opened()));
        log.step(&event(options_applied()));
        let refused = "cannot join 239.1.2.3 on eth9: no such interface";
        assert_eq!(
            log.step(&event(EventKind::Error {
                message: refused.into()
            })),
            UdpStep::Fail(Failure::runtime(refused.into()))
        );

        let mut log = UdpLog::new(0, DataOutput::Text);
        log.step(&event(opened()));
        let refused = "cannot set the multicast TTL: invalid argument";
        assert_eq!(
            log.step(&event(EventKind::Error {
                message: refused.into()
            })),
            UdpStep::Fail(Failure::runtime(refused.into())),
            "an option asked for is part of the setup"
        );

        let mut log = ready_udp_log();
        let nobody = "not sent: no datagram has arrived yet, so there is no sender to reply to";
        assert_eq!(
            udp_line(
                &mut log,
                EventKind::Error {
                    message: nobody.into()
                }
            ),
            format!("{TIME} error {nobody}")
        );
        assert!(log.ready(), "a refused send changes nothing");
    }

    #[test]
    fn a_failed_open_or_engine_ends_the_command_with_the_reason() {
        let mut log = UdpLog::new(0, DataOutput::Text);
        let failed = EventKind::UdpFailed {
            error: "cannot bind to 127.0.0.1:5000: address already in use".into(),
        };
        assert_eq!(
            log.step(&event(failed)),
            UdpStep::Fail(Failure::runtime(
                "cannot bind to 127.0.0.1:5000: address already in use".into()
            ))
        );
        let mut log = ready_udp_log();
        let failed = EventKind::EngineFailed {
            error: "the network loop failed: poll broke".into(),
        };
        assert_eq!(
            log.step(&event(failed)),
            UdpStep::Fail(Failure::runtime(
                "the network loop failed: poll broke".into()
            ))
        );
    }

    #[test]
    fn each_datagram_of_a_batch_is_a_line_with_its_address_size_and_escaped_bytes() {
        let mut log = ready_udp_log();
        let mut cut = datagram("[::1]:6000", b"big");
        cut.truncated = true;
        let received = EventKind::DatagramsReceived {
            datagrams: vec![
                datagram("127.0.0.1:40000", b"hello\n"),
                datagram("127.0.0.1:40001", b"\0\xff\\ \xe4\xbd\xa0"),
                cut,
            ],
        };
        assert_eq!(
            udp_lines(&mut log, received),
            vec![
                format!("{TIME} received 127.0.0.1:40000 6 bytes \"hello\\n\""),
                format!("{TIME} received 127.0.0.1:40001 7 bytes \"\\0\\xff\\\\ 你\""),
                format!("{TIME} received [::1]:6000 3 bytes \"big\", truncated"),
            ]
        );
        let sent = EventKind::DatagramsSent {
            datagrams: vec![datagram("192.0.2.7:514", b"ping\r\n")],
        };
        assert_eq!(
            udp_lines(&mut log, sent),
            vec![format!("{TIME} sent 192.0.2.7:514 6 bytes \"ping\\r\\n\"")]
        );
        assert_eq!(
            udp_lines(&mut log, EventKind::DatagramsReceived { datagrams: vec![] }),
            Vec::<String>::new()
        );
    }

    #[test]
    fn unreported_datagrams_and_sends_are_counted() {
        let mut log = ready_udp_log();
        assert_eq!(
            udp_line(
                &mut log,
                EventKind::DatagramsUnreported {
                    count: 40,
                    bytes: 1200
                }
            ),
            format!("{TIME} unreported 40 datagrams (1200 bytes)")
        );
        assert_eq!(
            udp_line(
                &mut log,
                EventKind::SendsUnreported {
                    messages: 2,
                    bytes: 8
                }
            ),
            format!("{TIME} unreported 2 sends (8 bytes)")
        );
    }

    #[test]
    fn udp_capture_lines_match_the_servers() {
        let mut log = ready_udp_log();
        let path = PathBuf::from("/tmp/in.bin");
        let started = EventKind::CaptureStarted { path: path.clone() };
        assert_eq!(
            udp_line(&mut log, started),
            format!("{TIME} capturing to /tmp/in.bin")
        );
        let closed = EventKind::CaptureStopped {
            path,
            bytes: 3,
            error: None,
        };
        assert_eq!(
            udp_line(&mut log, closed),
            format!("{TIME} capture closed /tmp/in.bin, 3 bytes written")
        );
        let failed = EventKind::CaptureStopped {
            path: PathBuf::from("/dev/full"),
            bytes: 0,
            error: Some("capture to /dev/full failed: no space left on the disk".into()),
        };
        assert_eq!(
            udp_line(&mut log, failed),
            format!(
                "{TIME} error capture to /dev/full failed: no space left on the disk (0 bytes written)"
            )
        );
    }

    #[test]
    fn stopped_closes_the_udp_log() {
        let mut log = ready_udp_log();
        assert_eq!(
            udp_line(&mut log, EventKind::Stopped),
            format!("{TIME} stopped")
        );
        assert!(!log.is_open() && !log.ready());
    }

    #[test]
    fn kinds_a_udp_command_never_causes_print_nothing() {
        let mut log = ready_udp_log();
        let path = PathBuf::from("/tmp/x.bin");
        let quiet = [
            options_applied(),
            EventKind::PeerSeen(crate::engine::PeerInfo {
                peer: conn(1),
                addr: PEER.parse().unwrap(),
                first_seen: event(EventKind::Stopped).time,
                counters: Default::default(),
            }),
            EventKind::Listening {
                local: LOCAL.parse().unwrap(),
            },
            EventKind::ListenFailed {
                error: "in use".into(),
            },
            EventKind::Connecting {
                peer: PEER.parse().unwrap(),
            },
            EventKind::ConnectFailed {
                error: "refused".into(),
            },
            accepted(1, PEER),
            EventKind::received_raw(conn(1), b"x".to_vec()),
            EventKind::Sent {
                conn: conn(1),
                data: Arc::from(&b"x"[..]),
            },
            EventKind::ChatLine {
                conn: conn(1),
                peer: PEER.parse().unwrap(),
                line: b"hi".to_vec(),
            },
            EventKind::LinesUnreported { count: 1 },
            EventKind::SendingFinished { conn: conn(1) },
            EventKind::Closed {
                conn: conn(1),
                reason: CloseReason::PeerClosed,
                unsent: 0,
            },
            EventKind::RepeatStarted {
                sent: Arc::new(AtomicU64::new(0)),
                count: Some(3),
            },
            EventKind::RepeatFinished {
                sent: 3,
                end: RepeatEnd::Done,
            },
            EventKind::TransferStarted {
                transfer: TransferId::new(1),
                path: path.clone(),
                size: 10,
                sent: Arc::new(AtomicU64::new(0)),
            },
            EventKind::TransferFinished {
                transfer: TransferId::new(1),
                path,
                sent: 10,
                outcome: TransferOutcome::Completed,
            },
        ];
        for kind in quiet {
            let shown = format!("{kind:?}");
            assert_eq!(log.step(&event(kind)), UdpStep::Quiet, "{shown}");
        }
        assert!(log.ready(), "none of them changes the state");
    }
}
