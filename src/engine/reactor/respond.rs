//! Messages and answers: cutting what a connection reads into messages with the session's
//! framing, running the session's rules on each, and carrying out what they decide (replies
//! now or after a delay, closing, dropping). Also the owner's templated sends, rendered here
//! so that `{{counter}}` counts every send and repeat tick.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Local;
use mio::Token;

use super::{Deadline, Reactor};
use crate::engine::command::{CloseHow, Payload, Target};
use crate::engine::event::{CloseReason, EventKind};
use crate::engine::framing::{Cut, FramedBatch, Framer, FramingSpec};
use crate::engine::ids::{ConnId, SessionId};
use crate::engine::responder::{Reaction, ReplyTo, Responder};
use crate::payload::{Template, TemplateValues};

/// A reply waiting for its rule's delay.
pub(super) struct DelayedReply {
    session: SessionId,
    target: Target,
    data: Vec<u8>,
}

/// Who a message came from, which decides where `ReplyTo::Sender` goes.
#[derive(Clone, Copy)]
pub(super) enum Sender {
    Conn(Token, ConnId),
    Datagram(SocketAddr),
}

impl Reactor {
    pub(super) fn set_framing(&mut self, session: SessionId, framing: FramingSpec) {
        if let Err(reason) = framing.validate() {
            self.error(session, format!("framing not changed: {reason}"));
            return;
        }
        let s = self
            .sessions
            .entry(session)
            .or_insert_with(super::Session::idle);
        s.framing = framing.clone();
        for token in self.members(session) {
            self.deliver_leftover(token);
            if let Some(conn) = self.conns.get_mut(&token) {
                conn.framer = Framer::new(framing.clone());
            }
        }
    }

    pub(super) fn set_responder(&mut self, session: SessionId, responder: Option<Arc<Responder>>) {
        let s = self
            .sessions
            .entry(session)
            .or_insert_with(super::Session::idle);
        s.responder = responder;
    }

    /// Whether the session answers by rules: it then keeps reading while the owner is
    /// behind, as the device it stands in for would, and counts what it did not report.
    pub(super) fn has_responder(&self, session: SessionId) -> bool {
        self.sessions
            .get(&session)
            .is_some_and(|s| s.responder.is_some())
    }

    /// Frames bytes read from a connection, reports the whole messages, and answers them.
    pub(super) fn deliver_messages(&mut self, token: Token, data: &[u8]) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let sizes_only = self
            .sessions
            .get(&conn.session)
            .is_some_and(|s| !s.report_data && s.responder.is_none());
        if sizes_only {
            return self.deliver_sizes(token, data);
        }
        let mut batch = FramedBatch::default();
        conn.framer.push(data, &mut batch);
        conn.counters.add_messages_in(batch.messages.len());
        conn.counters.set_waiting(conn.framer.waiting());
        if batch.is_empty() {
            return;
        }
        let (id, session, closing) = (conn.id, conn.session, conn.is_closing());
        let peer = conn.peer;
        let mut reactions = std::mem::take(&mut self.reactions);
        if !closing {
            self.react(session, Some(peer), &batch, &mut reactions);
        }
        self.report_messages(session, id, batch);
        self.carry_out(session, Sender::Conn(token, id), &mut reactions);
        self.reactions = reactions;
    }

    /// Frames into a buffer kept for it and reports only the sizes: no copy of the bytes
    /// leaves the net thread, so a sink that shows no data costs no allocation per read.
    fn deliver_sizes(&mut self, token: Token, data: &[u8]) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let mut batch = std::mem::take(&mut self.framed_scratch);
        batch.data.clear();
        batch.messages.clear();
        conn.framer.push(data, &mut batch);
        conn.counters.add_messages_in(batch.messages.len());
        conn.counters.set_waiting(conn.framer.waiting());
        // Summed over the reads of one turn (`report_sizes` after them): one event per
        // turn rather than per read keeps the owner's thread from waking for each.
        conn.unreported_size.0 += batch.data.len() as u64;
        conn.unreported_size.1 += batch.messages.len() as u64;
        self.framed_scratch = batch;
    }

    /// Reports what `deliver_sizes` summed for the connection, if anything.
    pub(super) fn report_sizes(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let (bytes, messages) = std::mem::take(&mut conn.unreported_size);
        if bytes > 0 || messages > 0 {
            let event = EventKind::ReceivedSize {
                conn: conn.id,
                bytes,
                messages,
            };
            self.sink.emit(conn.session, event);
        }
    }

    /// Runs the session's rules on each whole message of `batch`.
    pub(super) fn react(
        &mut self,
        session: SessionId,
        peer: Option<SocketAddr>,
        batch: &FramedBatch,
        reactions: &mut Vec<Reaction>,
    ) {
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        let Some(responder) = &s.responder else {
            return;
        };
        let now = Local::now();
        for (message, mark) in batch.iter() {
            if mark.cut != Cut::Whole {
                continue;
            }
            let body = mark.body(message);
            let before = reactions.len();
            responder.react(message, body, peer, now, &mut s.global_counted, reactions);
            if reactions[before..]
                .iter()
                .any(|r| matches!(r, Reaction::Close { .. }))
            {
                // Nothing after a close can be answered.
                break;
            }
        }
    }

    fn report_messages(&mut self, session: SessionId, conn: ConnId, batch: FramedBatch) {
        if self.sessions.get(&session).is_some_and(|s| !s.report_data) {
            let event = EventKind::ReceivedSize {
                conn,
                bytes: batch.data.len() as u64,
                messages: batch.messages.len() as u64,
            };
            self.sink.emit(session, event);
            return;
        }
        if self.sink.congested() && self.has_responder(session) {
            let missed = self.missed.entry(session).or_default();
            missed.messages += batch.messages.len() as u64;
            missed.message_bytes += batch.data.len() as u64;
            return;
        }
        self.sink.emit(
            session,
            EventKind::Received {
                conn,
                data: batch.data,
                messages: batch.messages,
            },
        );
    }

    /// What waits in a connection's framer becomes one last message (at close, or when the
    /// framing changes).
    pub(super) fn deliver_leftover(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if conn.chat_lines.is_some() || conn.framer.waiting() == 0 {
            return;
        }
        let mut batch = FramedBatch::default();
        conn.framer.finish(&mut batch);
        conn.counters.add_messages_in(batch.messages.len());
        conn.counters.set_waiting(0);
        let (id, session) = (conn.id, conn.session);
        self.report_messages(session, id, batch);
    }

    /// Carries out the rules' decisions, in order.
    pub(super) fn carry_out(
        &mut self,
        session: SessionId,
        sender: Sender,
        reactions: &mut Vec<Reaction>,
    ) {
        // A close waits for the replies decided with it, so "reply bye, then close" works
        // in any order of the rules (a graceful close sends what is queued first).
        let mut close = None;
        for reaction in reactions.drain(..) {
            match reaction {
                Reaction::Close { .. } => close = close.or(Some(reaction)),
                reaction => self.carry_out_one(session, sender, reaction),
            }
        }
        if let Some(close) = close {
            self.carry_out_one(session, sender, close);
        }
    }

    pub(super) fn carry_out_one(&mut self, session: SessionId, sender: Sender, reaction: Reaction) {
        {
            match reaction {
                Reaction::Reply {
                    data, to, delay, ..
                } => {
                    let target = match (to, sender) {
                        (ReplyTo::All, _) => Target::All,
                        (ReplyTo::Sender, Sender::Conn(_, id)) => Target::One(id),
                        (ReplyTo::Sender, Sender::Datagram(addr)) => Target::Addr(addr),
                    };
                    if delay.is_zero() {
                        self.send_reply(session, target, data);
                    } else {
                        self.delay_reply(session, target, data, delay);
                    }
                }
                Reaction::Close { rule } => {
                    if let Sender::Conn(token, _) = sender {
                        self.close(token, CloseReason::ByRule(rule + 1), CloseHow::Graceful);
                    }
                }
                Reaction::Drop { .. } => {}
            }
        }
    }

    fn delay_reply(&mut self, session: SessionId, target: Target, data: Vec<u8>, delay: Duration) {
        let id = self.next_delayed;
        self.next_delayed += 1;
        self.delayed.insert(
            id,
            DelayedReply {
                session,
                target,
                data,
            },
        );
        self.timers
            .set(Deadline::DelayedReply(id), Instant::now() + delay);
    }

    pub(super) fn send_delayed(&mut self, id: u64) {
        let Some(reply) = self.delayed.remove(&id) else {
            return;
        };
        if let Target::One(conn) = reply.target
            && self.member_token(reply.session, conn).is_none()
        {
            // The client it answers has gone meanwhile: nobody to tell.
            return;
        }
        if self.sessions.contains_key(&reply.session) {
            self.send_reply(reply.session, reply.target, reply.data);
        }
    }

    /// Sends a rule's reply. While the owner is behind, a refusal (a peer that does not
    /// read, a full queue) is counted instead of reported, since every report would be an
    /// event held in memory for each request; the count is reported once it catches up.
    fn send_reply(&mut self, session: SessionId, target: Target, data: Vec<u8>) {
        self.counting_refusals = true;
        self.send(session, target, data);
        self.counting_refusals = false;
    }

    /// Forgets the session's replies still waiting (it stopped or was removed).
    pub(super) fn drop_delayed(&mut self, session: SessionId) {
        let ids: Vec<u64> = self
            .delayed
            .iter()
            .filter(|(_, reply)| reply.session == session)
            .map(|(&id, _)| id)
            .collect();
        for id in ids {
            self.delayed.remove(&id);
            self.timers.cancel(Deadline::DelayedReply(id));
        }
    }

    /// `Send`: bytes as they are, or a template rendered now (once per receiver when it
    /// names `{{peer}}`).
    pub(super) fn send_payload(&mut self, session: SessionId, target: Target, data: Payload) {
        let template = match data {
            Payload::Bytes(bytes) => return self.send(session, target, bytes),
            Payload::Template(template) => template,
        };
        let counts = self.count_send(session);
        if template.uses_peer() {
            let receivers = self.receivers(session, target);
            if !receivers.is_empty() {
                for (target, peer) in receivers {
                    let data = render(&template, counts, Some(peer));
                    self.send(session, target, data);
                }
                return;
            }
        }
        let data = render(&template, counts, None);
        self.send(session, target, data);
    }

    /// Counts one templated send: its `{{counter}}` and `{{counter:global}}`.
    pub(super) fn count_send(&mut self, session: SessionId) -> (u64, u64) {
        let Some(s) = self.sessions.get_mut(&session) else {
            return (1, 1);
        };
        s.sends_counted += 1;
        s.global_counted += 1;
        (s.sends_counted, s.global_counted)
    }

    /// Each receiver of `target` on its own, with its address.
    pub(super) fn receivers(
        &self,
        session: SessionId,
        target: Target,
    ) -> Vec<(Target, SocketAddr)> {
        if self.is_udp(session) {
            return self
                .udp_targets(session, target)
                .unwrap_or_default()
                .into_iter()
                .map(|addr| (Target::Addr(addr), addr))
                .collect();
        }
        self.targets(session, target)
            .into_iter()
            .filter_map(|token| self.conns.get(&token))
            .map(|conn| (Target::One(conn.id), conn.peer))
            .collect()
    }
}

/// A template's bytes for one send.
pub(super) fn render(template: &Template, counts: (u64, u64), peer: Option<SocketAddr>) -> Vec<u8> {
    let mut out = Vec::new();
    let values = TemplateValues::unprompted(counts.0, counts.1, peer);
    template.render(&values, &mut out);
    out
}
