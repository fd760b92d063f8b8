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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use crossbeam_channel::Receiver;

    use super::*;

    /// A sink on a channel with room for `capacity` events, and a count of its wake calls.
    fn sink(capacity: usize) -> (EventSink, Receiver<Event>, Arc<AtomicUsize>) {
        let (tx, rx) = crossbeam_channel::bounded(capacity);
        let wakes = Arc::new(AtomicUsize::new(0));
        let counted = wakes.clone();
        let wake = Arc::new(move || {
            counted.fetch_add(1, Ordering::Relaxed);
        });
        (EventSink::new(tx, wake), rx, wakes)
    }

    fn emit_numbered(sink: &mut EventSink, n: usize) {
        let message = n.to_string();
        sink.emit(SessionId::new(1), EventKind::Error { message });
    }

    fn number(event: Event) -> usize {
        match event.kind {
            EventKind::Error { message } => message.parse().unwrap(),
            other => panic!("unexpected event {other:?}"),
        }
    }

    #[test]
    fn events_emitted_while_full_keep_their_order_and_congestion_lasts_exactly_as_long() {
        let (mut sink, rx, _) = sink(2);
        emit_numbered(&mut sink, 0);
        emit_numbered(&mut sink, 1);
        assert!(!sink.congested(), "two events fit in the channel");
        emit_numbered(&mut sink, 2);
        assert!(sink.congested(), "the third waits in the overflow");

        // Room appears, but a new event must queue behind the waiting one, not jump it.
        assert_eq!(number(rx.try_recv().unwrap()), 0);
        emit_numbered(&mut sink, 3);
        assert!(sink.congested());

        let mut received = Vec::new();
        let mut next = 4;
        while sink.congested() {
            received.push(number(rx.try_recv().unwrap()));
            sink.retry_overflow();
            // More events while catching up still go to the back.
            if next < 7 {
                emit_numbered(&mut sink, next);
                next += 1;
            }
        }
        received.extend(rx.try_iter().map(number));
        assert_eq!(received, (1..7).collect::<Vec<_>>());

        // Once drained, events go straight into the channel again.
        emit_numbered(&mut sink, 7);
        assert!(!sink.congested());
        assert_eq!(number(rx.try_recv().unwrap()), 7);
    }

    #[test]
    fn retry_moves_only_what_fits_and_keeps_the_rest_waiting() {
        let (mut sink, rx, _) = sink(1);
        for n in 0..4 {
            emit_numbered(&mut sink, n);
        }
        sink.retry_overflow();
        assert!(sink.congested(), "the channel is still full");
        assert_eq!(number(rx.try_recv().unwrap()), 0);
        sink.retry_overflow();
        assert!(sink.congested(), "one moved, two still wait");
        assert_eq!(number(rx.try_recv().unwrap()), 1);
        sink.retry_overflow();
        assert_eq!(number(rx.try_recv().unwrap()), 2);
        sink.retry_overflow();
        assert!(!sink.congested(), "the last one moved");
        assert_eq!(number(rx.try_recv().unwrap()), 3);
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn a_gone_owner_drops_the_waiting_events_instead_of_holding_them() {
        let (mut sink, rx, _) = sink(1);
        emit_numbered(&mut sink, 0);
        emit_numbered(&mut sink, 1);
        assert!(sink.congested());
        drop(rx);
        sink.retry_overflow();
        assert!(!sink.congested());
    }

    #[test]
    fn the_owner_is_woken_once_per_turn_and_only_after_an_emit() {
        let (mut sink, _rx, wakes) = sink(4);
        sink.wake_owner();
        assert_eq!(wakes.load(Ordering::Relaxed), 0, "nothing emitted yet");
        emit_numbered(&mut sink, 0);
        emit_numbered(&mut sink, 1);
        sink.wake_owner();
        sink.wake_owner();
        assert_eq!(wakes.load(Ordering::Relaxed), 1);
    }
}
