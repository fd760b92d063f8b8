//! A session's jobs on the net thread: repeated sends on a timer, files streamed from a
//! reader thread, and the capture of received bytes to a file. The pure halves (the
//! repeat schedule, the file reader, the capture writer) live in `engine::{repeat,
//! transfer, capture}`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::TryRecvError;

use super::respond::render;
use super::{Deadline, Inbox, Reactor};
use crate::engine::capture::{self, CaptureDone};
use crate::engine::command::{DatagramPacing, Payload, Target};
use crate::engine::event::{EventKind, RepeatEnd, TransferOutcome};
use crate::engine::ids::{SessionId, TransferId};
use crate::engine::repeat::Repeat;
use crate::engine::transfer::{self, DatagramSchedule, FileChunk, Transfer};
use crate::engine::udp;
use crate::payload::Template;

/// How a file goes out of a UDP session when the owner does not say: 1,024-byte datagrams,
/// as fast as the socket takes them.
pub const DEFAULT_PACING: DatagramPacing = DatagramPacing {
    size: 1024,
    per_second: 0,
};
/// Datagrams a UDP transfer sends per loop turn at most, so other sockets get their turn.
const DATAGRAMS_PER_PUMP: usize = 1024;

use super::session::Session;

impl Reactor {
    // ---- repeat

    pub(super) fn start_repeat(
        &mut self,
        session: SessionId,
        target: Target,
        data: Payload,
        interval: Duration,
        count: Option<u64>,
    ) {
        let (data, template): (Vec<u8>, _) = match data {
            Payload::Bytes(bytes) => (bytes, None),
            Payload::Template(template) => (Vec::new(), Some(template)),
        };
        self.end_repeat(session, RepeatEnd::Stopped);
        let no_target = if self.is_udp(session) {
            self.udp_targets(session, target).err()
        } else if self.sendable_targets(session, target).is_empty() {
            Some("no connection is open to send to".into())
        } else {
            None
        };
        if let Some(reason) = no_target {
            self.error(session, format!("not repeating: {reason}"));
            return;
        }
        if count == Some(0) || (data.is_empty() && template.is_none()) {
            self.error(session, "not repeating: nothing to send".into());
            return;
        }
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        let mut repeat = Repeat::new(target, data.into(), interval, count);
        repeat.template = template;
        let sent = repeat.sent.clone();
        self.timers.set(Deadline::Repeat(session), repeat.next);
        s.repeat = Some(repeat);
        self.sink
            .emit(session, EventKind::RepeatStarted { sent, count });
    }

    pub(super) fn end_repeat(&mut self, session: SessionId, end: RepeatEnd) {
        self.timers.cancel(Deadline::Repeat(session));
        if let Some(repeat) = self
            .sessions
            .get_mut(&session)
            .and_then(|s| s.repeat.take())
        {
            let sent = repeat.sent.load(Ordering::Relaxed);
            self.sink
                .emit(session, EventKind::RepeatFinished { sent, end });
        }
    }

    /// Sends the ticks due now (a bounded catch-up if the loop fell behind) and sets the
    /// timer for the next one.
    pub(super) fn run_repeat(&mut self, session: SessionId, now: Instant) {
        if self.is_udp(session) {
            return self.run_udp_repeat(session, now);
        }
        let Some(repeat) = self.sessions.get(&session).and_then(|s| s.repeat.as_ref()) else {
            return;
        };
        let (target, data, ticks) = (repeat.target, repeat.data.clone(), repeat.due(now));
        let template = repeat.template.clone();
        let tokens = self.sendable_targets(session, target);
        if tokens.is_empty() {
            self.end_repeat(session, RepeatEnd::NoConnection);
            return;
        }
        let mut end = None;
        for _ in 0..ticks {
            let counts = template.as_ref().map(|_| self.count_send(session));
            let shared: Arc<[u8]> = match (&template, counts) {
                (Some(t), Some(counts)) if !t.uses_peer() => render(t, counts, None).into(),
                _ => data.clone(),
            };
            for &token in &tokens {
                if let Some(conn) = self.conns.get_mut(&token) {
                    let data = match (&template, counts) {
                        (Some(t), Some(counts)) if t.uses_peer() => {
                            render(t, counts, Some(conn.peer)).into()
                        }
                        _ => shared.clone(),
                    };
                    if conn.queued_bytes() + data.len() > super::MAX_SEND_QUEUE {
                        end = Some(RepeatEnd::PeerNotReading);
                        break;
                    }
                    conn.enqueue(data.clone(), true);
                }
            }
            if end.is_some() {
                break;
            }
            let Some(repeat) = self.repeat_mut(session) else {
                break;
            };
            if repeat.tick() {
                end = Some(RepeatEnd::Done);
                break;
            }
        }
        for token in tokens {
            self.mark_flush(token);
        }
        if let Some(end) = end {
            self.end_repeat(session, end);
        } else if let Some(repeat) = self.repeat_mut(session) {
            repeat.resync(now);
            let next = repeat.next;
            self.timers.set(Deadline::Repeat(session), next);
        }
    }

    /// One tick of a templated UDP repeat: rendered once, or once per address with `{{peer}}`.
    fn enqueue_udp_template(
        &mut self,
        session: SessionId,
        target: Target,
        template: &Template,
    ) -> Result<(), super::udp::Refused> {
        let counts = self.count_send(session);
        if !template.uses_peer() {
            return self.udp_enqueue(session, target, render(template, counts, None).into(), true);
        }
        let addrs = self
            .udp_targets(session, target)
            .map_err(|message| super::udp::Refused {
                message,
                end: RepeatEnd::NoConnection,
            })?;
        for addr in addrs {
            let data = render(template, counts, Some(addr)).into();
            self.udp_enqueue(session, Target::Addr(addr), data, true)?;
        }
        Ok(())
    }

    /// A UDP repeat sends one datagram per tick to each address of its target.
    fn run_udp_repeat(&mut self, session: SessionId, now: Instant) {
        let Some(repeat) = self.sessions.get(&session).and_then(|s| s.repeat.as_ref()) else {
            return;
        };
        let (target, data, ticks) = (repeat.target, repeat.data.clone(), repeat.due(now));
        let template = repeat.template.clone();
        let mut end = None;
        for _ in 0..ticks {
            let queued = match &template {
                None => self.udp_enqueue(session, target, data.clone(), true),
                Some(template) => self.enqueue_udp_template(session, target, template),
            };
            if let Err(refused) = queued {
                self.error(session, format!("repeat stopped: {}", refused.message));
                end = Some(refused.end);
                break;
            }
            if self.repeat_mut(session).is_none_or(Repeat::tick) {
                end = Some(RepeatEnd::Done);
                break;
            }
        }
        self.flush_udp(session);
        if let Some(end) = end {
            self.end_repeat(session, end);
        } else if let Some(repeat) = self.repeat_mut(session) {
            repeat.resync(now);
            let next = repeat.next;
            self.timers.set(Deadline::Repeat(session), next);
        }
    }

    fn repeat_mut(&mut self, session: SessionId) -> Option<&mut Repeat> {
        self.sessions.get_mut(&session)?.repeat.as_mut()
    }

    // ---- file transfers

    pub(super) fn start_transfer(
        &mut self,
        session: SessionId,
        target: Target,
        path: PathBuf,
        id: TransferId,
        pacing: Option<DatagramPacing>,
    ) {
        let datagrams = if self.is_udp(session) {
            let pacing = pacing.unwrap_or(DEFAULT_PACING);
            let checked = self.udp_targets(session, target).and_then(|addrs| {
                match addrs.iter().find(|&&to| pacing.size > udp::max_payload(to)) {
                    _ if pacing.size == 0 => {
                        Err("the datagram size must be at least 1 byte".into())
                    }
                    Some(&to) => Err(format!(
                        "datagrams of {} bytes are more than UDP carries to {to} (at most {} \
                         bytes)",
                        udp::group_thousands(pacing.size),
                        udp::group_thousands(udp::max_payload(to))
                    )),
                    None => Ok(()),
                }
            });
            if let Err(reason) = checked {
                self.transfer_not_started(session, id, path, reason);
                return;
            }
            Some(DatagramSchedule::new(pacing, Instant::now()))
        } else {
            if self.sendable_targets(session, target).is_empty() {
                let reason = "no connection is open to send to".into();
                self.transfer_not_started(session, id, path, reason);
                return;
            }
            None
        };
        let waker = self.waker.clone();
        let chunks = match transfer::start_reader(path.clone(), move || {
            let _ = waker.wake();
        }) {
            Ok(chunks) => chunks,
            Err(e) => {
                let reason = format!("cannot start the file reader: {e}");
                self.transfer_not_started(session, id, path, reason);
                return;
            }
        };
        let transfer = Transfer {
            id,
            session,
            target,
            path,
            chunks,
            sent: Default::default(),
            datagrams,
        };
        self.transfers.insert(id, transfer);
    }

    fn transfer_not_started(
        &mut self,
        session: SessionId,
        id: TransferId,
        path: PathBuf,
        reason: String,
    ) {
        self.sink.emit(
            session,
            EventKind::TransferFinished {
                transfer: id,
                path,
                sent: 0,
                outcome: TransferOutcome::Failed(reason),
            },
        );
    }

    pub(super) fn end_transfer(
        &mut self,
        session: SessionId,
        id: TransferId,
        outcome: TransferOutcome,
    ) {
        if self.transfers.get(&id).is_none_or(|t| t.session != session) {
            return;
        }
        // Dropping the receiver ends the reader thread at its next chunk.
        let Some(transfer) = self.transfers.remove(&id) else {
            return;
        };
        let sent = transfer.sent.load(Ordering::Relaxed);
        self.sink.emit(
            session,
            EventKind::TransferFinished {
                transfer: id,
                path: transfer.path,
                sent,
                outcome,
            },
        );
    }

    pub(super) fn end_transfers(&mut self, session: SessionId, outcome: TransferOutcome) {
        let ids: Vec<TransferId> = self
            .transfers
            .values()
            .filter(|t| t.session == session)
            .map(|t| t.id)
            .collect();
        for id in ids {
            self.end_transfer(session, id, outcome.clone());
        }
    }

    /// True when every target of the transfer can take another chunk.
    fn has_room(&self, tokens: &[mio::Token]) -> bool {
        tokens.iter().all(|token| {
            self.conns
                .get(token)
                .is_some_and(|c| c.queued_bytes() < transfer::FILE_QUEUE_LOW)
        })
    }

    /// True when a file chunk is waiting and its targets have room: a flush may have just
    /// drained the queues, and the reader thread will not wake us again while it is blocked.
    pub(super) fn transfer_can_move(&self) -> bool {
        let now = Instant::now();
        self.transfers.values().any(|t| match &t.datagrams {
            None => {
                !t.chunks.is_empty() && self.has_room(&self.sendable_targets(t.session, t.target))
            }
            Some(schedule) => {
                (schedule.has_datagram() || !t.chunks.is_empty())
                    && schedule.allowance(now).0 > 0
                    && self.udp_queued_bytes(t.session) < transfer::FILE_QUEUE_LOW
            }
        })
    }

    /// Moves file chunks into connection queues while every target has room.
    pub(super) fn pump_transfers(&mut self) {
        let active: Vec<TransferId> = self.transfers.keys().copied().collect();
        for id in active {
            self.pump_transfer(id);
        }
    }

    fn pump_transfer(&mut self, id: TransferId) {
        let Some(transfer) = self.transfers.get(&id) else {
            return;
        };
        if transfer.datagrams.is_some() {
            return self.pump_udp_transfer(id);
        }
        let (session, chunks, sent) = (
            transfer.session,
            transfer.chunks.clone(),
            transfer.sent.clone(),
        );
        let tokens = self.sendable_targets(session, transfer.target);
        if tokens.is_empty() {
            let outcome = TransferOutcome::Failed("the connection closed".into());
            self.end_transfer(session, id, outcome);
            return;
        }
        while self.has_room(&tokens) {
            let outcome = match chunks.try_recv() {
                Ok(FileChunk::Opened { size }) => {
                    let path = self.transfers.get(&id).map(|t| t.path.clone());
                    let path = path.unwrap_or_default();
                    let sent = sent.clone();
                    let started = EventKind::TransferStarted {
                        transfer: id,
                        path,
                        size,
                        sent,
                    };
                    self.sink.emit(session, started);
                    continue;
                }
                Ok(FileChunk::Data { bytes, last }) => {
                    let data: Arc<[u8]> = bytes.into();
                    for &token in &tokens {
                        if let Some(conn) = self.conns.get_mut(&token) {
                            conn.enqueue(data.clone(), false);
                        }
                        self.mark_flush(token);
                    }
                    sent.fetch_add(data.len() as u64, Ordering::Relaxed);
                    if !last {
                        continue;
                    }
                    TransferOutcome::Completed
                }
                Ok(FileChunk::End) => TransferOutcome::Completed,
                Ok(FileChunk::Failed(error)) => TransferOutcome::Failed(error),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    TransferOutcome::Failed("the file reader stopped".into())
                }
            };
            self.end_transfer(session, id, outcome);
            return;
        }
    }

    /// Cuts the file into datagrams and sends as many as its rate, the socket and the
    /// turn allow; a timer wakes the loop for the next one when the rate holds it back.
    fn pump_udp_transfer(&mut self, id: TransferId) {
        let now = Instant::now();
        for _ in 0..DATAGRAMS_PER_PUMP {
            let Some(session) = self.transfers.get(&id).map(|t| t.session) else {
                return;
            };
            let socket_full = self.udp_queued_bytes(session) >= transfer::FILE_QUEUE_LOW;
            let Some(transfer) = self.transfers.get_mut(&id) else {
                return;
            };
            let (session, target, sent) =
                (transfer.session, transfer.target, transfer.sent.clone());
            let Some(schedule) = transfer.datagrams.as_mut() else {
                return;
            };
            if !schedule.has_datagram() && !schedule.file_done {
                let outcome = match transfer.chunks.try_recv() {
                    Ok(FileChunk::Opened { size }) => {
                        let path = transfer.path.clone();
                        let started = EventKind::TransferStarted {
                            transfer: id,
                            path,
                            size,
                            sent,
                        };
                        self.sink.emit(session, started);
                        continue;
                    }
                    Ok(FileChunk::Data { bytes, last }) => {
                        schedule.refill(&bytes);
                        schedule.file_done = last;
                        continue;
                    }
                    Ok(FileChunk::End) => {
                        schedule.file_done = true;
                        continue;
                    }
                    Ok(FileChunk::Failed(error)) => TransferOutcome::Failed(error),
                    // The reader wakes the loop with the next chunk.
                    Err(TryRecvError::Empty) => return,
                    Err(TryRecvError::Disconnected) => {
                        TransferOutcome::Failed("the file reader stopped".into())
                    }
                };
                return self.end_transfer(session, id, outcome);
            }
            if !schedule.has_datagram() {
                return self.end_transfer(session, id, TransferOutcome::Completed);
            }
            let (allowed, due) = schedule.allowance(now);
            if allowed == 0 {
                if let Some(due) = due {
                    self.timers.set(Deadline::Transfer(id), due);
                }
                return;
            }
            if socket_full {
                // The socket is full; its writable event flushes, then this goes on.
                return;
            }
            let datagram: Arc<[u8]> = schedule.take_datagram().into();
            schedule.datagrams_sent += 1;
            let len = datagram.len() as u64;
            if let Err(refused) = self.udp_enqueue(session, target, datagram, false) {
                let outcome = TransferOutcome::Failed(refused.message);
                return self.end_transfer(session, id, outcome);
            }
            sent.fetch_add(len, Ordering::Relaxed);
            self.flush_udp(session);
        }
    }

    // ---- capture

    pub(super) fn set_capture(&mut self, session: SessionId, path: Option<PathBuf>) {
        let Some(path) = path else {
            // Dropping the sender lets the writer flush, close the file and report.
            if let Some(s) = self.sessions.get_mut(&session) {
                s.capture = None;
            }
            return;
        };
        // A socket not started yet may capture from its first connection on.
        let s = self.sessions.entry(session).or_insert_with(Session::idle);
        s.capture = None;
        let id = self.next_capture;
        self.next_capture += 1;
        let answer = self.inbox_tx.clone();
        let waker = self.waker.clone();
        let started = capture::start_writer(session, id, path.clone(), move |done| {
            if answer.send(Inbox::CaptureDone(done)).is_ok() {
                let _ = waker.wake();
            }
        });
        match started {
            Ok(capture) => {
                s.capture = Some(capture);
                self.sink.emit(session, EventKind::CaptureStarted { path });
            }
            Err(e) => self.error(session, format!("cannot start the capture: {e}")),
        }
    }

    pub(super) fn capture_done(&mut self, done: CaptureDone) {
        if let Some(s) = self.sessions.get_mut(&done.session)
            && s.capture.as_ref().is_some_and(|c| c.id == done.capture)
        {
            s.capture = None;
        }
        self.sink.emit(
            done.session,
            EventKind::CaptureStopped {
                path: done.path,
                bytes: done.bytes,
                error: done.error,
            },
        );
    }
}
