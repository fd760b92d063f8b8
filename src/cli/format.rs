//! What `socklab server` prints for each engine event: one stamped line, nothing, or the
//! end of the command. Pure (no I/O), so each line the README documents is tested here;
//! the README's "Command line" section and `--help` describe this format.

use std::collections::HashMap;
use std::net::SocketAddr;

use chrono::{DateTime, Local};

use super::Failure;
use crate::engine::{ConnId, Event, EventKind};
use crate::payload::escape_for_display;

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
}

impl ServerLog {
    pub fn new(addr: &str) -> Self {
        ServerLog {
            addr: addr.to_string(),
            peers: HashMap::new(),
            listening: false,
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
            EventKind::Received { conn, data } => format!(
                "received {conn} {} {} bytes \"{}\"",
                self.peer(*conn),
                data.len(),
                escape_for_display(data)
            ),
            EventKind::Sent { conn, data } => format!(
                "sent {conn} {} {} bytes \"{}\"",
                self.peer(*conn),
                data.len(),
                escape_for_display(data)
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

/// `2026-11-26T14:03:05.123`, local time to the millisecond.
fn stamp(time: &DateTime<Local>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
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
        })
    }

    /// A log that listens and has accepted connection #1 from [`PEER`].
    fn log_with_a_peer() -> ServerLog {
        let mut log = ServerLog::new(LOCAL);
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

    #[test]
    fn listening_names_the_bound_address_and_marks_the_log_listening() {
        let mut log = ServerLog::new("127.0.0.1:0");
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
    fn accepted_names_the_connection_its_peer_and_our_end() {
        let mut log = ServerLog::new(LOCAL);
        assert_eq!(
            line(&mut log, accepted(7, PEER)),
            format!("{TIME} accepted #7 {PEER} -> {LOCAL}")
        );
    }

    #[test]
    fn received_and_sent_show_the_peer_the_length_and_escaped_bytes() {
        let mut log = log_with_a_peer();
        let received = EventKind::Received {
            conn: conn(1),
            data: b"GET /\r\n".to_vec(),
        };
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
        let received = EventKind::Received {
            conn: conn(2),
            data: b"x".to_vec(),
        };
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
        let mut log = ServerLog::new("localhost:80");
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
}
