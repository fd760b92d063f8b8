//! `socklab client`: stdin lines are sent, received bytes go to stdout byte for byte, and
//! the connection's end decides the exit code. [`step`] decides what each event means.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, never, select};

use super::format::{options_line, tls_client_lines};
use super::{
    ClientArgs, Failure, check_address, new_session_capturing, seconds, start_engine, stdin_lines,
    termination_signals,
};
use crate::engine::tls::Verify;
use crate::engine::{ClientOptions, CloseReason, Command, EventKind, Target};

/// What the client loop does with one event.
#[derive(Debug, PartialEq, Eq)]
enum ClientStep {
    /// Connected: tell stderr these lines and start sending stdin.
    Connected(Vec<String>),
    /// Write these received bytes to stdout.
    Output(Vec<u8>),
    /// Everything is sent: keep reading for `--wait`, then end.
    Linger,
    /// Tell stderr this and go on.
    Warn(String),
    /// Tell stderr these lines and go on.
    Tell(Vec<String>),
    /// End the command.
    End(Result<(), Failure>),
    /// Nothing to do.
    Quiet,
}

/// What one event means to a client connecting to `addr` (as typed).
fn step(kind: EventKind, addr: &str) -> ClientStep {
    match kind {
        EventKind::ConnectFailed { error } => ClientStep::End(Err(Failure::runtime(format!(
            "cannot connect to {addr}: {error}"
        )))),
        EventKind::Connected(info) => {
            let mut lines = vec![format!(
                "connected, sockname {} peername {}",
                info.local, info.peer
            )];
            let options = options_line(&info.options);
            if !options.is_empty() {
                lines.push(format!("options {options}"));
            }
            ClientStep::Connected(lines)
        }
        EventKind::Received { data, .. } => ClientStep::Output(data),
        EventKind::SendingFinished { .. } => ClientStep::Linger,
        // Interrupted before the connection was made.
        EventKind::Stopped => ClientStep::End(Ok(())),
        EventKind::Closed { reason, unsent, .. } => ClientStep::End(if unsent > 0 {
            Err(Failure::runtime(format!(
                "connection closed ({reason}), {unsent} bytes not sent"
            )))
        } else if matches!(
            reason,
            // Aborted: our own close with RST (`--close rst`).
            CloseReason::PeerClosed | CloseReason::Closed | CloseReason::Aborted
        ) {
            Ok(())
        } else {
            Err(Failure::runtime(format!("connection closed: {reason}")))
        }),
        EventKind::Error { message } => ClientStep::Warn(message),
        EventKind::EngineFailed { error } => ClientStep::End(Err(Failure::runtime(error))),
        // The connected line names the address that answered; the attempts need no line.
        EventKind::Connecting { .. } => ClientStep::Quiet,
        // Stdout carries only what the peer sent, byte for byte.
        EventKind::Sent { .. } | EventKind::SendsUnreported { .. } => ClientStep::Quiet,
        EventKind::ReceivedUnreported { messages, bytes } => ClientStep::Warn(format!(
            "{messages} received messages ({bytes} bytes) were answered but not printed"
        )),
        EventKind::TlsEstablished { info, .. } => {
            ClientStep::Tell(tls_client_lines(&info, chrono::Utc::now()))
        }
        EventKind::PeerFinished { .. } => ClientStep::Warn("peer finished sending".into()),
        // Only for sessions that report sizes, which the client does not ask for.
        EventKind::ReceivedSize { .. } => ClientStep::Quiet,
        // Server sessions only.
        EventKind::Listening { .. }
        | EventKind::ListenerOptions { .. }
        | EventKind::ListenFailed { .. }
        | EventKind::ChatLine { .. }
        | EventKind::LinesUnreported { .. } => ClientStep::Quiet,
        // UDP sessions only.
        EventKind::UdpOpened { .. }
        | EventKind::UdpFailed { .. }
        | EventKind::UdpOptionsApplied { .. }
        | EventKind::PeerSeen(_)
        | EventKind::DatagramsReceived { .. }
        | EventKind::DatagramsSent { .. }
        | EventKind::DatagramsUnreported { .. }
        | EventKind::Joined { .. }
        | EventKind::Left { .. } => ClientStep::Quiet,
        EventKind::CaptureStarted { path } => {
            ClientStep::Warn(format!("capturing to {}", path.display()))
        }
        EventKind::CaptureStopped {
            error: Some(error),
            bytes,
            ..
        } => ClientStep::Warn(format!("{error} ({bytes} bytes written)")),
        EventKind::CaptureStopped { error: None, .. } => ClientStep::Quiet,
        // Repeats and transfers are started from the window only.
        EventKind::RepeatStarted { .. }
        | EventKind::RepeatFinished { .. }
        | EventKind::TransferStarted { .. }
        | EventKind::TransferFinished { .. } => ClientStep::Quiet,
    }
}

pub(super) fn run(args: ClientArgs) -> Result<(), Failure> {
    check_address(&args.addr)?;
    let timeout = seconds(args.timeout, "timeout")?;
    let wait = seconds(args.wait, "wait")?;
    let setup = args.messages.setup()?;
    let options = ClientOptions {
        socket: args.socket.options(false)?,
        tls: args.tls.client_setup()?,
    };
    if options
        .tls
        .as_ref()
        .is_some_and(|tls| tls.verify == Verify::Off)
    {
        eprintln!(
            "socklab: warning: --insecure: the server's certificate will not be verified; \
             anyone could pretend to be it"
        );
    }
    let engine = start_engine()?;
    let signals = termination_signals();
    let lines = stdin_lines();
    let session = new_session_capturing(&engine, args.capture.as_deref());
    setup.apply(&engine, session);
    engine.execute(Command::Connect {
        session,
        addr: args.addr.clone(),
        timeout,
        options,
    });
    // Stdin is read only once connected.
    let mut stdin: Receiver<Vec<u8>> = never();
    let mut finish_deadline: Option<Instant> = None;
    loop {
        if finish_deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return Ok(());
        }
        select! {
            recv(engine.events()) -> event => {
                let Ok(event) = event else { return Ok(()) };
                match step(event.kind, &args.addr) {
                    ClientStep::Connected(notices) => {
                        for notice in notices {
                            eprintln!("socklab: {notice}");
                        }
                        stdin = lines.clone();
                    }
                    ClientStep::Output(data) => {
                        let mut out = io::stdout().lock();
                        if out.write_all(&data).and_then(|()| out.flush()).is_err() {
                            // Nobody reads our output any more: stop like `nc` would.
                            return Ok(());
                        }
                    }
                    // An absurd wait would overflow the clock: then wait for the peer to close.
                    ClientStep::Linger => finish_deadline = Instant::now().checked_add(wait),
                    ClientStep::Warn(message) => eprintln!("socklab: {message}"),
                    ClientStep::Tell(lines) => {
                        for line in lines {
                            eprintln!("socklab: {line}");
                        }
                    }
                    ClientStep::End(result) => return result,
                    ClientStep::Quiet => {}
                }
            }
            recv(stdin) -> line => match line {
                Ok(line) => engine.send(session, Target::All, line),
                Err(_) => {
                    stdin = never();
                    engine.execute(Command::FinishSending {
                        session,
                        target: Target::All,
                    });
                }
            },
            recv(signals) -> _ => {
                engine.execute(Command::Stop { session });
                finish_deadline.get_or_insert(Instant::now() + Duration::from_secs(2));
            }
            default(Duration::from_millis(100)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;

    use super::*;
    use crate::engine::{ConnId, ConnInfo, RepeatEnd, TransferId, TransferOutcome};

    const ADDR: &str = "example.test:80";

    fn closed(reason: CloseReason, unsent: u64) -> EventKind {
        EventKind::Closed {
            conn: ConnId::new(1),
            reason,
            unsent,
        }
    }

    fn runtime_failure(message: &str) -> ClientStep {
        ClientStep::End(Err(Failure::runtime(message.into())))
    }

    #[test]
    fn connecting_is_quiet_and_connected_names_both_ends() {
        let connecting = EventKind::Connecting {
            peer: "192.0.2.1:80".parse().unwrap(),
        };
        assert_eq!(step(connecting, ADDR), ClientStep::Quiet);
        let connected = EventKind::Connected(ConnInfo {
            conn: ConnId::new(1),
            local: "192.0.2.9:50000".parse().unwrap(),
            peer: "192.0.2.1:80".parse().unwrap(),
            counters: Default::default(),
            options: Default::default(),
            tls: false,
        });
        assert_eq!(
            step(connected, ADDR),
            ClientStep::Connected(vec![
                "connected, sockname 192.0.2.9:50000 peername 192.0.2.1:80".into()
            ])
        );
    }

    #[test]
    fn a_failed_connection_ends_with_the_typed_address_and_the_reason() {
        let failed = EventKind::ConnectFailed {
            error: "connection refused".into(),
        };
        assert_eq!(
            step(failed, ADDR),
            runtime_failure("cannot connect to example.test:80: connection refused")
        );
    }

    #[test]
    fn received_bytes_go_out_unchanged_and_sent_ones_are_not_echoed() {
        let received = EventKind::received_raw(ConnId::new(1), b"reply\x00\n".to_vec());
        assert_eq!(
            step(received, ADDR),
            ClientStep::Output(b"reply\x00\n".to_vec())
        );
        let sent = EventKind::Sent {
            conn: ConnId::new(1),
            data: Arc::from(&b"hello\n"[..]),
        };
        assert_eq!(step(sent, ADDR), ClientStep::Quiet);
        let unreported = EventKind::SendsUnreported {
            messages: 2,
            bytes: 10,
        };
        assert_eq!(step(unreported, ADDR), ClientStep::Quiet);
    }

    #[test]
    fn finished_sending_starts_the_wait_for_the_last_bytes() {
        let finished = EventKind::SendingFinished {
            conn: ConnId::new(1),
        };
        assert_eq!(step(finished, ADDR), ClientStep::Linger);
    }

    #[test]
    fn a_clean_close_or_a_stop_ends_successfully() {
        assert_eq!(
            step(closed(CloseReason::PeerClosed, 0), ADDR),
            ClientStep::End(Ok(()))
        );
        assert_eq!(
            step(closed(CloseReason::Closed, 0), ADDR),
            ClientStep::End(Ok(()))
        );
        assert_eq!(step(EventKind::Stopped, ADDR), ClientStep::End(Ok(())));
    }

    #[test]
    fn a_close_with_unsent_bytes_fails_even_when_the_peer_closed_cleanly() {
        assert_eq!(
            step(closed(CloseReason::PeerClosed, 5), ADDR),
            runtime_failure("connection closed (peer closed), 5 bytes not sent")
        );
    }

    #[test]
    fn a_reset_fails_with_the_reason() {
        assert_eq!(
            step(closed(CloseReason::PeerReset, 0), ADDR),
            runtime_failure("connection closed: reset by peer")
        );
    }

    #[test]
    fn an_error_is_a_warning_and_an_engine_failure_is_the_end() {
        let error = EventKind::Error {
            message: "not sent: no connection is open".into(),
        };
        assert_eq!(
            step(error, ADDR),
            ClientStep::Warn("not sent: no connection is open".into())
        );
        let failed = EventKind::EngineFailed {
            error: "the network thread crashed: boom".into(),
        };
        assert_eq!(
            step(failed, ADDR),
            runtime_failure("the network thread crashed: boom")
        );
    }

    #[test]
    fn kinds_a_client_command_never_causes_do_nothing() {
        let path = PathBuf::from("/tmp/x.bin");
        let quiet = [
            EventKind::Listening {
                local: "127.0.0.1:1".parse().unwrap(),
            },
            EventKind::ListenFailed {
                error: "in use".into(),
            },
            EventKind::ChatLine {
                conn: ConnId::new(1),
                peer: "127.0.0.1:2".parse().unwrap(),
                line: b"hi".to_vec(),
            },
            EventKind::LinesUnreported { count: 1 },
            EventKind::RepeatStarted {
                sent: Arc::new(AtomicU64::new(0)),
                count: None,
            },
            EventKind::RepeatFinished {
                sent: 1,
                end: RepeatEnd::Stopped,
            },
            EventKind::TransferStarted {
                transfer: TransferId::new(1),
                path: path.clone(),
                size: 1,
                sent: Arc::new(AtomicU64::new(0)),
            },
            EventKind::TransferFinished {
                transfer: TransferId::new(1),
                path: path.clone(),
                sent: 1,
                outcome: TransferOutcome::Cancelled,
            },
            EventKind::CaptureStopped {
                path,
                bytes: 0,
                error: None,
            },
        ];
        for kind in quiet {
            let shown = format!("{kind:?}");
            assert_eq!(step(kind, ADDR), ClientStep::Quiet, "{shown}");
        }
    }

    #[test]
    fn a_capture_is_announced_and_its_failure_says_how_much_reached_the_file() {
        let path = std::path::PathBuf::from("/tmp/in.bin");
        assert_eq!(
            step(EventKind::CaptureStarted { path }, ADDR),
            ClientStep::Warn("capturing to /tmp/in.bin".into())
        );
        let failed = EventKind::CaptureStopped {
            path: "/dev/full".into(),
            bytes: 4,
            error: Some("capture to /dev/full failed: no space left on the disk".into()),
        };
        assert_eq!(
            step(failed, ADDR),
            ClientStep::Warn(
                "capture to /dev/full failed: no space left on the disk (4 bytes written)".into()
            )
        );
    }
}
