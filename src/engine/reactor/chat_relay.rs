//! The group-chat relay on the net thread: each connection's bytes go through its line
//! framer (the pure part, in `engine::chat`), and every complete line is stamped and
//! queued to every member as one shared buffer. It runs at full speed whether or not the
//! owner keeps up with events; lines it could not report are counted.

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
    pub(super) fn end_of_stream(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if conn.is_closing() {
            // Already closing; the peer's FIN just confirms it.
            return;
        }
        let last = conn.framer.as_mut().and_then(|f| f.finish());
        if let Some(line) = last {
            match chat::classify(&line) {
                LineAction::Relay => self.relay_lines(token, vec![line]),
                LineAction::Quit => {
                    self.close(token, CloseReason::Quit, CloseHow::Graceful);
                    return;
                }
                LineAction::Skip => {}
            }
        }
        self.close(token, CloseReason::PeerClosed, CloseHow::Graceful);
    }

    pub(super) fn chat_input(&mut self, token: Token, data: &[u8]) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if conn.is_closing() {
            return;
        }
        let Some(framer) = conn.framer.as_mut() else {
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
            self.close(token, CloseReason::Quit, CloseHow::Graceful);
        }
    }

    /// Relays `lines` from `from` to every member of its chat session, the sender included.
    fn relay_lines(&mut self, from: Token, lines: Vec<Vec<u8>>) {
        if lines.is_empty() {
            return;
        }
        let Some(conn) = self.conns.get(&from) else {
            return;
        };
        let (session, id, peer) = (conn.session, conn.id, conn.peer);
        let now = Local::now();
        let mut relay = Vec::with_capacity(lines.iter().map(|l| l.len() + 64).sum());
        for line in &lines {
            self.clock
                .append_relay(now, &conn.peer_text, line, &mut relay);
        }
        let relay: Arc<[u8]> = relay.into();
        let Some(s) = self.sessions.get(&session) else {
            return;
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
        for token in too_slow {
            self.close(token, CloseReason::TooSlow, CloseHow::Abort);
        }
    }
}
