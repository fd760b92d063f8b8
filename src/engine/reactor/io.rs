//! Moving bytes: reading ready connections a bounded amount each, delivering what was read
//! (counters, capture, then the chat relay or a `Received` event) along one path, queueing
//! sends, and flushing queues into the kernel.

use std::io::{self, Read};
use std::sync::Arc;
use std::time::Duration;

use mio::Token;

use super::Reactor;
use super::conn::Flushed;
use crate::engine::capture::Capture;
use crate::engine::command::{CloseHow, Target};
use crate::engine::event::{CloseReason, EventKind};
use crate::engine::ids::{ConnId, SessionId};
use crate::engine::wording::close_reason_for;

/// Reads per connection per loop turn, so one flooding peer cannot starve the others.
pub(super) const READS_PER_TURN: usize = 16;
/// How long a read made while closing may wait for a busy capture file.
const CAPTURE_WAIT_AT_CLOSE: Duration = Duration::from_millis(200);

/// When bytes are delivered, which decides how a full capture file is handled.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Delivery {
    /// A normal read: room in the capture was checked before reading.
    Live,
    /// A last read before the socket closes: wait briefly for the disk rather than skip.
    AtClose,
}

impl Reactor {
    pub(super) fn members(&self, session: SessionId) -> Vec<Token> {
        self.sessions
            .get(&session)
            .map(|s| s.members.iter().copied().collect())
            .unwrap_or_default()
    }

    pub(super) fn member_token(&self, session: SessionId, conn: ConnId) -> Option<Token> {
        let s = self.sessions.get(&session)?;
        s.members
            .iter()
            .copied()
            .find(|token| self.conns.get(token).is_some_and(|c| c.id == conn))
    }

    pub(super) fn targets(&self, session: SessionId, target: Target) -> Vec<Token> {
        match target {
            Target::All => self.members(session),
            Target::One(conn) => self.member_token(session, conn).into_iter().collect(),
            // Addresses are for UDP sessions, which do not come here.
            Target::Addr(_) | Target::LastSender => Vec::new(),
        }
    }

    pub(super) fn send(&mut self, session: SessionId, target: Target, data: Vec<u8>) {
        if self.is_udp(session) {
            return self.udp_send(session, target, data);
        }
        let tokens = self.targets(session, target);
        if tokens.is_empty() {
            let message = match target {
                Target::All => "not sent: no connection is open".to_string(),
                Target::One(conn) => format!("not sent: connection {conn} is not open"),
                Target::Addr(_) | Target::LastSender => {
                    "not sent: sending to an address is for UDP sockets".to_string()
                }
            };
            self.error(session, message);
            return;
        }
        let data: Arc<[u8]> = data.into();
        for token in tokens {
            let Some(conn) = self.conns.get_mut(&token) else {
                continue;
            };
            let refusal = if !conn.takes_sends() {
                Some(format!(
                    "not sent to {}: sending on it was finished",
                    conn.id
                ))
            } else if conn.queued_bytes() + data.len() > super::MAX_SEND_QUEUE {
                Some(format!(
                    "not sent to {}: {} bytes are already waiting for the peer to read",
                    conn.id,
                    conn.queued_bytes()
                ))
            } else {
                conn.enqueue(data.clone(), true);
                None
            };
            match refusal {
                Some(message) => self.error(session, message),
                None => self.mark_flush(token),
            }
        }
    }

    /// `FinishSending`: nothing may be queued after the FIN, so when every connection
    /// finishes, what would keep sending ends (one connection's finish only leaves it out).
    pub(super) fn finish_sending(&mut self, session: SessionId, target: Target) {
        if target == Target::All {
            self.end_repeat(session, crate::engine::event::RepeatEnd::Stopped);
            self.end_transfers(session, crate::engine::event::TransferOutcome::Cancelled);
        }
        let members = self.targets(session, target);
        if members.is_empty() {
            let message = match target {
                Target::One(conn) => format!("connection {conn} is not open"),
                _ => "not connected".to_string(),
            };
            self.error(session, message);
        }
        for token in members {
            if let Some(conn) = self.conns.get_mut(&token) {
                conn.finish_after_flush();
            }
            self.mark_flush(token);
        }
    }

    pub(super) fn mark_readable(&mut self, token: Token) {
        if let Some(conn) = self.conns.get_mut(&token) {
            conn.read_pending = true;
            if !conn.in_read_list {
                conn.in_read_list = true;
                self.read_list.push(token);
            }
        }
    }

    pub(super) fn mark_flush(&mut self, token: Token) {
        if let Some(conn) = self.conns.get_mut(&token)
            && !conn.in_flush_list
        {
            conn.in_flush_list = true;
            self.flush_list.push(token);
        }
    }

    /// The peer finished sending (a read gave end-of-stream). Chat: the member leaves.
    /// A session with rules closes once its replies are written, as the device it stands in
    /// for would. Otherwise the connection stays half-open, reported once with
    /// `PeerFinished`, and we may go on sending; it closes when we finish sending too, or
    /// when the owner closes it.
    pub(super) fn end_of_stream(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if conn.chat_lines.is_some() {
            return self.chat_end_of_stream(token);
        }
        if conn.is_closing() || conn.peer_finished {
            return;
        }
        // What was read before the FIN is reported before it.
        self.report_sizes(token);
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        conn.peer_finished = true;
        let (id, session, we_finished) = (conn.id, conn.session, conn.sending_finished());
        // Nothing more will complete a partial message.
        self.deliver_leftover(token);
        let closes = self.sessions.get(&session).is_some_and(|s| {
            s.responder.is_some()
                || s.socket_options()
                    .is_some_and(|o| o.close_when_peer_finishes)
        });
        if closes || we_finished {
            self.close(token, CloseReason::PeerClosed, CloseHow::Graceful);
            return;
        }
        self.sink
            .emit(session, EventKind::PeerFinished { conn: id });
    }

    /// Reads every connection that may hold data, a bounded amount each.
    pub(super) fn read_ready(&mut self) {
        self.reads_blocked = false;
        let list = std::mem::take(&mut self.read_list);
        for token in list {
            if let Some(conn) = self.conns.get_mut(&token) {
                conn.in_read_list = false;
            }
            self.read_conn(token);
        }
    }

    fn read_conn(&mut self, token: Token) {
        let mut scratch = std::mem::take(&mut self.scratch);
        for _ in 0..READS_PER_TURN {
            let Some(conn) = self.conns.get_mut(&token) else {
                break;
            };
            if !conn.read_pending {
                break;
            }
            let session = conn.session;
            if conn.chat_lines.is_none()
                && self.sink.congested()
                && self
                    .sessions
                    .get(&session)
                    .is_none_or(|s| s.responder.is_none())
            {
                // The owner is behind: leave the bytes in the kernel, TCP slows the peer.
                // (Chat and responder sessions go on, as the server they are would.)
                break;
            }
            let capture = self
                .sessions
                .get(&conn.session)
                .and_then(|s| s.capture.as_ref());
            if capture.is_some_and(Capture::is_full) {
                // The capture file is behind: same as above, nothing is dropped.
                self.reads_blocked = true;
                break;
            }
            let result = conn.stream.read(&mut scratch);
            // Before what the read gave: the handshake's end comes before its first bytes.
            self.report_handshake(token);
            let Some(conn) = self.conns.get_mut(&token) else {
                break;
            };
            match result {
                Ok(0) => {
                    conn.read_pending = false;
                    self.end_of_stream(token);
                    break;
                }
                Ok(n) => self.deliver(token, &scratch[..n], Delivery::Live),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    conn.read_pending = false;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    conn.read_pending = false;
                    match close_reason_for(&e) {
                        // Not an abort: the alert rustls queued must reach the peer.
                        reason @ CloseReason::TlsFailed(_) => self.close_at_once(token, reason),
                        reason => self.close(token, reason, CloseHow::Abort),
                    }
                    break;
                }
            }
        }
        self.scratch = scratch;
        self.report_sizes(token);
        // TLS: reading may have produced records to send (handshake, alerts, key updates).
        if self
            .conns
            .get(&token)
            .is_some_and(|c| c.stream.wants_write())
        {
            self.mark_flush(token);
        }
        if let Some(conn) = self.conns.get_mut(&token)
            && conn.read_pending
            && !conn.in_read_list
        {
            conn.in_read_list = true;
            self.read_list.push(token);
        }
    }

    /// Reads what the kernel already holds before a close: closing a socket with unread
    /// data sends RST instead of FIN, and what arrived is still reported.
    pub(super) fn drain_unread(&mut self, token: Token) {
        let Some(conn) = self.conns.get(&token) else {
            return;
        };
        if matches!(
            conn.closing_reason(),
            Some(CloseReason::Aborted | CloseReason::TooSlow | CloseReason::LineTooLong)
        ) {
            return;
        }
        // A buffer of its own: a close can happen inside `read_conn`, which holds `scratch`.
        let mut scratch = std::mem::take(&mut self.close_scratch);
        if scratch.is_empty() {
            scratch = vec![0; super::READ_CHUNK];
        }
        for _ in 0..READS_PER_TURN {
            let Some(conn) = self.conns.get_mut(&token) else {
                break;
            };
            match conn.stream.read(&mut scratch) {
                Ok(n) if n > 0 => self.deliver(token, &scratch[..n], Delivery::AtClose),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                _ => break,
            }
        }
        self.close_scratch = scratch;
    }

    /// Targets of a repeat or file transfer: open connections still taking sends.
    pub(super) fn sendable_targets(&self, session: SessionId, target: Target) -> Vec<Token> {
        let mut tokens = self.targets(session, target);
        tokens.retain(|token| self.conns.get(token).is_some_and(|c| c.takes_sends()));
        tokens
    }

    /// The one path of received bytes: counters, the capture file, then the chat relay
    /// (chat sessions) or framing, a `Received` event and the session's rules.
    fn deliver(&mut self, token: Token, data: &[u8], when: Delivery) {
        let Some(conn) = self.conns.get(&token) else {
            return;
        };
        conn.counters.add_bytes_in(data.len());
        let (id, session, chat) = (conn.id, conn.session, conn.chat_lines.is_some());
        if let Some(capture) = self.sessions.get(&session).and_then(|s| s.capture.as_ref()) {
            let chunk: Arc<[u8]> = Arc::from(data);
            match when {
                // Room was checked before reading; a closed channel is reported by its thread.
                Delivery::Live => {
                    let _ = capture.chunks.try_send(chunk);
                }
                Delivery::AtClose => {
                    if capture
                        .chunks
                        .send_timeout(chunk, CAPTURE_WAIT_AT_CLOSE)
                        .is_err()
                    {
                        let message = format!(
                            "capture missed {} bytes read while closing {id}",
                            data.len()
                        );
                        self.error(session, message);
                    }
                }
            }
        }
        if chat {
            if let Some(conn) = self.conns.get(&token) {
                conn.counters.add_messages_in(1);
            }
            self.chat_input(token, data);
        } else {
            self.deliver_messages(token, data);
        }
    }

    pub(super) fn flush_ready(&mut self) {
        let list = std::mem::take(&mut self.flush_list);
        for token in list {
            if let Some(conn) = self.conns.get_mut(&token) {
                conn.in_flush_list = false;
            }
            self.flush_conn(token);
        }
    }

    /// A TLS connection's handshake has just finished: report what it agreed on, and
    /// flush what waited for it.
    fn report_handshake(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if let Some(info) = conn.stream.take_handshake() {
            let (conn, session) = (conn.id, conn.session);
            let info = Arc::new(info);
            self.sink
                .emit(session, EventKind::TlsEstablished { conn, info });
            self.mark_flush(token);
        }
    }

    pub(super) fn flush_conn(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let flushed = conn.flush();
        self.report_handshake(token);
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        match flushed {
            Ok(Flushed {
                written,
                finished_sending,
            }) => {
                let (id, session, peer_finished) = (conn.id, conn.session, conn.peer_finished);
                let closed_and_drained =
                    conn.is_closing() && !conn.has_queued() && !conn.stream.wants_write();
                for data in written {
                    if self.sink.congested() {
                        // Keep the overflow queue bounded; the count is reported later.
                        let missed = self.missed.entry(session).or_default();
                        missed.sends += 1;
                        missed.send_bytes += data.len() as u64;
                    } else {
                        self.sink.emit(session, EventKind::Sent { conn: id, data });
                    }
                }
                if finished_sending {
                    self.sink
                        .emit(session, EventKind::SendingFinished { conn: id });
                    if peer_finished && !closed_and_drained {
                        // Both halves are done: nothing more can cross.
                        self.close(token, CloseReason::Closed, CloseHow::Graceful);
                        return;
                    }
                }
                if closed_and_drained {
                    self.finish_close(token);
                }
            }
            Err(e) => self.close(token, close_reason_for(&e), CloseHow::Abort),
        }
    }
}
