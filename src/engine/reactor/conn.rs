//! One live connection on the net thread: its stream, addresses, counters, send queue,
//! what its writing half may still do, and its framer (chat sessions: the relay's line framer).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::engine::chat::LineFramer;
use crate::engine::event::{CloseReason, ConnInfo, Counters};
use crate::engine::framing::{Framer, FramingSpec};
use crate::engine::ids::{ConnId, SessionId};
use crate::engine::queue::{SendQueue, Written};
use crate::engine::transport::Stream;

/// What the connection's writing half may still do.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum WriteState {
    /// Sends are taken.
    Open,
    /// `FinishSending`: shut the writing half down once the queue is empty; no more sends.
    FinishAfterFlush,
    /// The writing half is shut down; reading goes on until the peer closes.
    Finished,
    /// Closing: the connection goes when its queue is empty or at `deadline`.
    Closing {
        reason: CloseReason,
        deadline: Instant,
        /// A `FinishSending` was still waiting for the queue to drain: its shutdown and
        /// `SendingFinished` still come first.
        finish_pending: bool,
    },
}

/// What a flush did besides writing.
pub(super) struct Flushed {
    pub written: Written,
    /// The writing half was shut down by this flush.
    pub finished_sending: bool,
}

pub(super) struct Conn {
    pub id: ConnId,
    pub session: SessionId,
    pub stream: Box<dyn Stream>,
    pub peer: SocketAddr,
    /// `peer` as text, computed once: the chat header repeats it on every line.
    pub peer_text: String,
    local: SocketAddr,
    pub counters: Arc<Counters>,
    /// Chat sessions: the relay's line framer (the relay has its own rules for lines).
    pub chat_lines: Option<LineFramer>,
    /// Other sessions: how received bytes are cut into messages.
    pub framer: Framer,
    queue: SendQueue,
    write: WriteState,
    /// The kernel may hold more to read (edge-triggered readiness not yet drained).
    pub read_pending: bool,
    /// Already in the reactor's list of connections to read again.
    pub in_read_list: bool,
    /// Already in the reactor's list of connections to flush.
    pub in_flush_list: bool,
    /// The peer finished sending (its FIN was read); we may still send.
    pub peer_finished: bool,
    /// Sessions reporting sizes only: bytes and messages read this turn, not yet reported.
    pub unreported_size: (u64, u64),
}

impl Conn {
    pub fn new(
        id: ConnId,
        session: SessionId,
        stream: Box<dyn Stream>,
        local: SocketAddr,
        peer: SocketAddr,
        chat: bool,
        framing: FramingSpec,
    ) -> Self {
        Conn {
            id,
            session,
            stream,
            peer,
            peer_text: peer.to_string(),
            local,
            counters: Arc::new(Counters::default()),
            chat_lines: chat.then(LineFramer::default),
            framer: Framer::new(framing),
            queue: SendQueue::default(),
            write: WriteState::Open,
            read_pending: false,
            in_read_list: false,
            in_flush_list: false,
            peer_finished: false,
            unreported_size: (0, 0),
        }
    }

    pub fn info(&self) -> ConnInfo {
        ConnInfo {
            conn: self.id,
            local: self.local,
            peer: self.peer,
            counters: self.counters.clone(),
            options: self.stream.options_in_effect(),
            tls: self.stream.is_tls(),
        }
    }

    pub fn enqueue(&mut self, data: Arc<[u8]>, report: bool) {
        self.queue.push(data, report);
    }

    /// Bytes queued and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.queue.len()
    }

    pub fn has_queued(&self) -> bool {
        !self.queue.is_empty()
    }

    /// True while new payloads may be queued.
    pub fn takes_sends(&self) -> bool {
        self.write == WriteState::Open
    }

    /// Our writing half is shut down.
    pub fn sending_finished(&self) -> bool {
        self.write == WriteState::Finished
    }

    pub fn is_closing(&self) -> bool {
        matches!(self.write, WriteState::Closing { .. })
    }

    /// Why the connection is closing, if it is.
    pub fn closing_reason(&self) -> Option<&CloseReason> {
        match &self.write {
            WriteState::Closing { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// Asks for the writing half to be shut down once everything queued is written.
    pub fn finish_after_flush(&mut self) {
        if self.write == WriteState::Open {
            self.write = WriteState::FinishAfterFlush;
        }
    }

    /// Starts closing, with `reason` as the one the `Closed` event will give.
    pub fn begin_close(&mut self, reason: CloseReason, deadline: Instant) {
        let finish_pending = match &self.write {
            WriteState::FinishAfterFlush => true,
            WriteState::Closing { finish_pending, .. } => *finish_pending,
            WriteState::Open | WriteState::Finished => false,
        };
        self.write = WriteState::Closing {
            reason,
            deadline,
            finish_pending,
        };
    }

    /// The linger deadline passed: what was still queued could not be sent.
    pub fn linger_expired(&mut self) {
        if self.has_queued()
            && let WriteState::Closing { reason, .. } = &mut self.write
            && *reason != CloseReason::Aborted
        {
            *reason = CloseReason::LingerTimeout;
        }
    }

    /// Ends the connection's bookkeeping: how many queued bytes never left, and why it closed.
    pub fn end(&mut self) -> (u64, CloseReason) {
        let unsent = self.queue.discard();
        let state = std::mem::replace(&mut self.write, WriteState::Finished);
        let reason = match state {
            WriteState::Closing { reason, .. } => reason,
            _ => CloseReason::Closed,
        };
        (unsent, reason)
    }

    /// Writes as much of the queue as the kernel takes, then shuts the writing half down
    /// if that was asked and the queue is empty.
    pub fn flush(&mut self) -> io::Result<Flushed> {
        let written = self.queue.flush_into(&mut self.stream, &self.counters)?;
        // TLS: handshake records, alerts and what rustls holds go even with nothing queued.
        self.stream.flush_transport()?;
        let mut finished_sending = false;
        if self.queue.is_empty() {
            match &mut self.write {
                WriteState::FinishAfterFlush => {
                    self.write = WriteState::Finished;
                    finished_sending = true;
                }
                WriteState::Closing { finish_pending, .. } if *finish_pending => {
                    *finish_pending = false;
                    finished_sending = true;
                }
                _ => {}
            }
            if finished_sending {
                self.stream.shutdown_write()?;
            }
        }
        Ok(Flushed {
            written,
            finished_sending,
        })
    }
}
