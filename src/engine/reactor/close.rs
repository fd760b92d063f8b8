//! Ending things: closing one connection (at once, or after its queue drains within the
//! linger time), stopping or removing a session, and shutting the whole thread down.
//! Every connection ends here with exactly one `Closed` event.

use std::time::{Duration, Instant};

use mio::Token;

use super::{Deadline, Reactor};
use crate::engine::command::CloseHow;
use crate::engine::event::{CloseReason, EventKind, RepeatEnd, TransferOutcome};
use crate::engine::ids::SessionId;

/// How long a graceful close waits for the peer to take what is queued.
const LINGER: Duration = Duration::from_secs(5);

/// Why a session is being stopped.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum StopCause {
    /// The owner asked (Stop, Remove, shutdown).
    Requested,
    /// A new Listen or Connect replaces whatever ran before.
    NewAttempt,
}

impl Reactor {
    /// Closes a connection: at once for `Abort`, after its queue drains for `Graceful`.
    pub(super) fn close(&mut self, token: Token, reason: CloseReason, how: CloseHow) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if let Some(s) = self.sessions.get_mut(&conn.session) {
            s.members.remove(&token);
        }
        match how {
            CloseHow::Abort => {
                conn.stream.set_abortive();
                conn.begin_close(reason, Instant::now());
                self.finish_close(token);
            }
            CloseHow::Graceful => {
                if self.begin_graceful_close(token, reason) {
                    self.flush_conn(token);
                }
            }
        }
    }

    /// Closes a connection now without making it an abort (a failed TLS handshake: its
    /// alert is already written and must not be overtaken by a RST).
    pub(super) fn close_at_once(&mut self, token: Token, reason: CloseReason) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if let Some(s) = self.sessions.get_mut(&conn.session) {
            s.members.remove(&token);
        }
        conn.begin_close(reason, Instant::now());
        self.finish_close(token);
    }

    /// Stops taking sends and starts the linger deadline; the connection goes once its
    /// queue is written (the caller flushes now or marks it for this turn's flush).
    /// False if it was already closing.
    pub(super) fn begin_graceful_close(&mut self, token: Token, reason: CloseReason) -> bool {
        let Some(conn) = self.conns.get_mut(&token) else {
            return false;
        };
        if let Some(s) = self.sessions.get_mut(&conn.session) {
            s.members.remove(&token);
        }
        if conn.is_closing() {
            return false;
        }
        let deadline = Instant::now() + LINGER;
        conn.begin_close(reason, deadline);
        self.timers.set(Deadline::Linger(token), deadline);
        true
    }

    /// A graceful close ran out of time: what is still queued is dropped.
    pub(super) fn linger_expired(&mut self, token: Token) {
        if let Some(conn) = self.conns.get_mut(&token)
            && conn.is_closing()
        {
            conn.linger_expired();
            self.finish_close(token);
        }
    }

    /// Removes the connection and reports its one `Closed`.
    pub(super) fn finish_close(&mut self, token: Token) {
        self.drain_unread(token);
        self.report_sizes(token);
        self.deliver_leftover(token);
        let Some(mut conn) = self.conns.remove(&token) else {
            return;
        };
        self.registry.deregister(&mut *conn.stream, token);
        self.timers.cancel(Deadline::Linger(token));
        if let Some(s) = self.sessions.get_mut(&conn.session) {
            s.members.remove(&token);
        }
        let (unsent, reason) = conn.end();
        self.sink.emit(
            conn.session,
            EventKind::Closed {
                conn: conn.id,
                reason,
                unsent,
            },
        );
    }

    /// Ends whatever the session is doing. A user's stop always gets one `Stopped` (or, for a
    /// connected client, its `Closed`); a new attempt replacing a pending one reports nothing
    /// for the old one, since its own events follow.
    pub(super) fn stop(&mut self, session: SessionId, cause: StopCause) {
        self.end_repeat(session, RepeatEnd::Stopped);
        self.end_transfers(session, TransferOutcome::Cancelled);
        self.timers.cancel(Deadline::AcceptRetry(session));
        self.drop_delayed(session);
        let cancelled_connect = self.end_connecting(session);
        let closed_udp = self.close_udp(session);
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        // A name lookup still running must not start anything after this.
        s.attempt += 1;
        let cancelled_lookup = std::mem::take(&mut s.resolving);
        let members: Vec<Token> = std::mem::take(&mut s.members).into_iter().collect();
        let is_server = s.is_server();
        let resets = s.resets_on_close();
        let listener = s.server_mut().and_then(|server| server.listener.take());
        let stopped_listener = listener.is_some();
        if let Some((token, mut listener)) = listener {
            self.registry.deregister(&mut *listener, token);
        }
        let (reason, how) = if resets {
            (CloseReason::Aborted, CloseHow::Abort)
        } else if is_server {
            (CloseReason::ServerStopped, CloseHow::Graceful)
        } else {
            (CloseReason::Closed, CloseHow::Graceful)
        };
        for token in members {
            self.close(token, reason.clone(), how);
        }
        let cancelled_attempt = cancelled_lookup || cancelled_connect;
        if stopped_listener || closed_udp || (cancelled_attempt && cause == StopCause::Requested) {
            self.sink.emit(session, EventKind::Stopped);
        }
    }

    /// The session asked for RST on the user's close (`SocketOptions::reset_on_close`).
    pub(super) fn resets_on_close(&self, session: SessionId) -> bool {
        self.sessions
            .get(&session)
            .is_some_and(|s| s.resets_on_close())
    }

    /// Stops the session and forgets it.
    pub(super) fn remove(&mut self, session: SessionId) {
        self.stop(session, StopCause::Requested);
        self.set_capture(session, None);
        self.sessions.remove(&session);
        self.missed.remove(&session);
    }

    /// Closes everything before the thread ends.
    pub(super) fn shutdown(&mut self) {
        let sessions: Vec<SessionId> = self.sessions.keys().copied().collect();
        for session in sessions {
            self.stop(session, StopCause::Requested);
        }
        let left: Vec<Token> = self.conns.keys().copied().collect();
        for token in left {
            self.finish_close(token);
        }
        // Close capture files completely before the process may exit.
        for session in self.sessions.values_mut() {
            if let Some(capture) = session.capture.take() {
                capture.finish();
            }
        }
        self.sink.retry_overflow();
        self.sink.wake_owner();
    }
}
