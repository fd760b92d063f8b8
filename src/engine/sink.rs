//! The engine's side of the event channel. The channel is bounded so a slow owner cannot
//! make memory grow; when it is full the net thread never blocks: events wait in order in
//! a local overflow queue, plain connections pause reading (TCP pushes back on the peer,
//! nothing is lost), and the chat relay goes on while counting the lines it did not report.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::Local;
use crossbeam_channel::{Sender, TrySendError};

use super::event::{Event, EventKind};
use super::ids::SessionId;

/// Events in flight before the owner counts as behind. With 64 KiB reads this bounds
/// received data waiting in the channel to 64 MiB.
pub const EVENT_CHANNEL_CAPACITY: usize = 1024;

pub(crate) struct EventSink {
    tx: Sender<Event>,
    overflow: VecDeque<Event>,
    wake: Arc<dyn Fn() + Send + Sync>,
    emitted_since_wake: bool,
}

impl EventSink {
    pub fn new(tx: Sender<Event>, wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        EventSink {
            tx,
            overflow: VecDeque::new(),
            wake,
            emitted_since_wake: false,
        }
    }

    pub fn emit(&mut self, session: SessionId, kind: EventKind) {
        let event = Event {
            time: Local::now(),
            session,
            kind,
        };
        self.emitted_since_wake = true;
        if !self.overflow.is_empty() {
            self.overflow.push_back(event);
            return;
        }
        match self.tx.try_send(event) {
            Ok(()) => {}
            Err(TrySendError::Full(event)) => self.overflow.push_back(event),
            // The owner is gone; the engine is about to be told to shut down.
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// True while the owner is behind: data readers should pause, chat should count.
    pub fn congested(&self) -> bool {
        !self.overflow.is_empty()
    }

    /// Moves waiting events into the channel as room appears.
    pub fn retry_overflow(&mut self) {
        while let Some(event) = self.overflow.pop_front() {
            match self.tx.try_send(event) {
                Ok(()) => {}
                Err(TrySendError::Full(event)) => {
                    self.overflow.push_front(event);
                    return;
                }
                Err(TrySendError::Disconnected(_)) => {
                    self.overflow.clear();
                    return;
                }
            }
        }
    }

    /// Hands over every waiting event, blocking while the channel is full: only for the
    /// end of the thread, when nothing else is left to serve.
    pub fn flush_blocking(&mut self) {
        while let Some(event) = self.overflow.pop_front() {
            (self.wake)();
            if self.tx.send(event).is_err() {
                self.overflow.clear();
            }
        }
    }

    /// Tells the owner once per loop turn that events are waiting.
    pub fn wake_owner(&mut self) {
        if self.emitted_since_wake {
            self.emitted_since_wake = false;
            (self.wake)();
        }
    }
}
