//! The group-chat relay on the net thread: each connection's bytes go through its line
//! framer (the pure part, in `engine::chat`), and every complete line is stamped and
//! reported at once. The stamped lines of one loop turn are queued to the members together,
//! as one shared buffer after all reads of the turn: a burst of clients that each send a
//! line and leave costs one queue entry per member, not one per line per member, and goes
//! only to the members still there. It runs at full speed whether or not the owner keeps up
//! with events; lines it could not report are counted.

use std::ops::ControlFlow;
use std::sync::Arc;

use chrono::Local;
use mio::Token;

use super::Reactor;
use crate::engine::chat::{self, LineAction};
use crate::engine::command::CloseHow;
use crate::engine::event::{CloseReason, EventKind};

impl Reactor {
    /// The peer closed its sending half: relay a last unterminated line, then close.
    pub(super) fn chat_end_of_stream(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if conn.is_closing() {
            // Already closing; the peer's FIN just confirms it.
            return;
        }
        let last = conn.chat_lines.as_mut().and_then(|f| f.finish());
        if let Some(line) = last {
            match chat::classify(&line) {
                LineAction::Relay => self.relay_lines(token, vec![line]),
                LineAction::Quit => {
                    self.leave(token, CloseReason::Quit);
                    return;
                }
                LineAction::Skip => {}
            }
        }
        self.leave(token, CloseReason::PeerClosed);
    }

    /// A member leaves gracefully (`quit`, or its peer finished sending): it is no longer a
    /// member, but still gets the lines stamped this turn (its own included), as it would
    /// have had they been relayed line by line, and closes once they are written.
    fn leave(&mut self, token: Token, reason: CloseReason) {
        let Some(conn) = self.conns.get(&token) else {
            return;
        };
        let session = conn.session;
        if !self.relays.contains_key(&session) || !conn.takes_sends() {
            self.close(token, reason, CloseHow::Graceful);
            return;
        }
        if self.begin_graceful_close(token, reason) {
            self.leavers.push((session, token));
            // Flushed after `deliver_relays` this turn, then closed when written.
            self.mark_flush(token);
        }
    }

    pub(super) fn chat_input(&mut self, token: Token, data: &[u8]) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if conn.is_closing() {
            return;
        }
        let Some(framer) = conn.chat_lines.as_mut() else {
            return;
        };
        let mut lines = Vec::new();
        let mut quit = false;
        let result = framer.push(data, |line| match chat::classify(line) {
            LineAction::Skip => ControlFlow::Continue(()),
            LineAction::Quit => {
                quit = true;
                ControlFlow::Break(())
            }
            LineAction::Relay => {
                lines.push(line.to_vec());
                ControlFlow::Continue(())
            }
        });
        self.relay_lines(token, lines);
        if result.is_err() {
            self.close(token, CloseReason::LineTooLong, CloseHow::Abort);
        } else if quit {
            self.leave(token, CloseReason::Quit);
        }
    }

    /// Stamps `lines` from `from` for the session's relay of this turn and reports them.
    fn relay_lines(&mut self, from: Token, lines: Vec<Vec<u8>>) {
        if lines.is_empty() {
            return;
        }
        let Some(conn) = self.conns.get(&from) else {
            return;
        };
        let (session, id, peer) = (conn.session, conn.id, conn.peer);
        let now = Local::now();
        let relay = self.relays.entry(session).or_default();
        for line in &lines {
            self.clock.append_relay(now, &conn.peer_text, line, relay);
        }
        if self.sink.congested() {
            self.missed.entry(session).or_default().lines += lines.len() as u64;
        } else {
            // The count of missed lines goes before newer lines.
            self.report_missed(session);
            for line in lines {
                self.sink.emit(
                    session,
                    EventKind::ChatLine {
                        conn: id,
                        peer,
                        line,
                    },
                );
            }
        }
    }

    /// Queues this turn's stamped lines to every member of each chat session, the senders
    /// included, as one shared buffer; a member whose backlog passes the limit is dropped.
    pub(super) fn deliver_relays(&mut self) {
        let leavers = std::mem::take(&mut self.leavers);
        if self.relays.is_empty() {
            return;
        }
        for (session, relay) in std::mem::take(&mut self.relays) {
            let relay: Arc<[u8]> = relay.into();
            for &(_, token) in leavers.iter().filter(|(s, _)| *s == session) {
                if let Some(conn) = self.conns.get_mut(&token) {
                    conn.enqueue(relay.clone(), false);
                }
            }
            let Some(s) = self.sessions.get(&session) else {
                continue;
            };
            let mut too_slow = Vec::new();
            for &member in &s.members {
                let Some(target) = self.conns.get_mut(&member) else {
                    continue;
                };
                if !target.takes_sends() {
                    continue;
                }
                target.enqueue(relay.clone(), false);
                if target.queued_bytes() > chat::MAX_QUEUED_BYTES {
                    too_slow.push(member);
                } else if !target.in_flush_list {
                    target.in_flush_list = true;
                    self.flush_list.push(member);
                }
            }
            for token in too_slow {
                self.close(token, CloseReason::TooSlow, CloseHow::Abort);
            }
        }
    }
}
