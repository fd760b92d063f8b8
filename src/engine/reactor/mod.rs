//! The net thread: one `mio::Poll` loop that owns every listener and connection, carries
//! out commands, relays chat lines and reports events. Nothing here blocks except `poll`.
//!
//! This file is the loop and the dispatch only; each concern has its own file:
//! [`registry`] (tokens), [`session`] and [`conn`] (state), [`server`] (listen, accept),
//! [`client`] and [`resolve`] (connect), [`io`] (read, deliver, send, flush),
//! [`chat_relay`], [`close`] (close, linger, stop, shutdown) and [`jobs`] (repeat, file
//! transfers, capture). Deadlines live in one ordered [`Timers`] set.

mod chat_relay;
mod client;
mod close;
mod conn;
mod io;
mod jobs;
mod registry;
mod resolve;
mod respond;
mod server;
mod session;
mod udp;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use mio::event::Event as Readiness;
use mio::{Events, Token};

use super::capture::CaptureDone;
use super::chat::HeaderClock;
use super::command::{CloseHow, Command};
use super::event::{CloseReason, EventKind, RepeatEnd, TransferOutcome};
use super::framing::FramedBatch;
use super::ids::{SessionId, TransferId};
use super::responder::Reaction;
use super::sink::EventSink;
use super::timers::Timers;
use super::transfer::Transfer;
use super::wording::describe_io_error;
use close::StopCause;
use conn::Conn;
use registry::{Owner, Registry};
use respond::DelayedReply;
use session::{MissedBySession, Session};

pub(crate) use registry::WAKER;

/// Bytes per `read` call.
const READ_CHUNK: usize = 64 * 1024;
/// How often to retry handing events to a congested owner.
const CONGESTION_RETRY: Duration = Duration::from_millis(2);
/// Bytes the owner may have waiting for one peer; past this a send is refused with an error
/// (and a repeat stops) instead of growing memory while the peer does not read.
pub const MAX_SEND_QUEUE: usize = 64 * 1024 * 1024;

/// Messages into the net thread: the owner's commands, and answers from helper threads.
// A connect's options make `Command` the large variant; commands come a few at a time,
// so boxing each one would buy nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Inbox {
    Command(Command),
    /// The owner dropped its handle: close everything and end the thread.
    Shutdown,
    Resolved {
        session: SessionId,
        attempt: u64,
        result: Result<Vec<SocketAddr>, String>,
    },
    CaptureDone(CaptureDone),
    /// A test asks the thread to fail as a broken poll or a bug would.
    #[cfg(feature = "testing")]
    InjectFailure {
        panic: bool,
    },
}

/// A moment the loop must wake for. Each is a wake-up call only: its handler checks the
/// state it concerns, so a deadline left behind by a change of plan does no harm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Deadline {
    /// Accepting failed for lack of descriptors; try again.
    AcceptRetry(SessionId),
    ConnectTimeout(SessionId),
    /// The session's repeat has a tick due.
    Repeat(SessionId),
    /// A graceful close has waited long enough for its queue to drain.
    Linger(Token),
    /// Time to read a UDP session's kernel drop count.
    UdpStats(SessionId),
    /// A paced file transfer over UDP may send its next datagrams.
    Transfer(TransferId),
    /// A rule's reply has waited its delay.
    DelayedReply(u64),
}

pub(crate) struct Reactor {
    registry: Registry,
    inbox: Receiver<Inbox>,
    /// For helper threads (resolver, capture writer) to answer on.
    inbox_tx: Sender<Inbox>,
    waker: Arc<mio::Waker>,
    sink: EventSink,
    sessions: HashMap<SessionId, Session>,
    conns: HashMap<Token, Conn>,
    transfers: BTreeMap<TransferId, Transfer>,
    timers: Timers<Deadline>,
    missed: MissedBySession,
    next_conn: u64,
    next_capture: u64,
    /// Connections that may have more to read, visited each turn.
    read_list: Vec<Token>,
    /// Connections with something to write, visited each turn.
    flush_list: Vec<Token>,
    scratch: Vec<u8>,
    /// Framed messages of a session that reports sizes only, reused read after read.
    framed_scratch: FramedBatch,
    /// For the last reads before a close, which may happen while `scratch` is in use.
    close_scratch: Vec<u8>,
    clock: HeaderClock,
    /// Chat lines stamped this turn, per session, relayed once all reads are done.
    relays: HashMap<SessionId, Vec<u8>>,
    /// Chat members that left gracefully this turn: they still get the turn's relay.
    leavers: Vec<(SessionId, Token)>,
    /// A read was put off because a capture file is behind; retry soon.
    reads_blocked: bool,
    /// UDP sessions that may have more datagrams to read, visited each turn.
    udp_read_list: Vec<SessionId>,
    /// One datagram's receive buffer.
    udp_scratch: Vec<u8>,
    /// What the rules decided about the messages being delivered (reused).
    reactions: Vec<Reaction>,
    /// Rule replies waiting for their delay, by the id of their deadline.
    delayed: HashMap<u64, DelayedReply>,
    next_delayed: u64,
    /// A rule's reply is being sent: refusals while the owner is behind are counted.
    counting_refusals: bool,
}

impl Reactor {
    pub fn new(
        poll: mio::Poll,
        inbox: Receiver<Inbox>,
        inbox_tx: Sender<Inbox>,
        waker: Arc<mio::Waker>,
        sink: EventSink,
    ) -> Self {
        Reactor {
            registry: Registry::new(poll),
            inbox,
            inbox_tx,
            waker,
            sink,
            sessions: HashMap::new(),
            conns: HashMap::new(),
            transfers: BTreeMap::new(),
            timers: Timers::new(),
            missed: MissedBySession::new(),
            next_conn: 1,
            next_capture: 1,
            read_list: Vec::new(),
            flush_list: Vec::new(),
            scratch: vec![0; READ_CHUNK],
            framed_scratch: FramedBatch::default(),
            close_scratch: Vec::new(),
            clock: HeaderClock::default(),
            relays: HashMap::new(),
            leavers: Vec::new(),
            reads_blocked: false,
            udp_read_list: Vec::new(),
            udp_scratch: Vec::new(),
            reactions: Vec::new(),
            delayed: HashMap::new(),
            next_delayed: 0,
            counting_refusals: false,
        }
    }

    /// Runs until the owner drops its handle (`Ok`) or the poll breaks (`Err`, in words).
    pub fn run(mut self) -> Result<(), String> {
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = self.poll_timeout();
            if let Err(e) = self.registry.poll().poll(&mut events, timeout)
                && e.kind() != std::io::ErrorKind::Interrupted
            {
                // A broken poll cannot recover: hand over what is waiting, then fail.
                self.sink.flush_blocking();
                return Err(format!(
                    "the network loop failed: {}",
                    describe_io_error(&e)
                ));
            }
            for readiness in events.iter() {
                self.dispatch(readiness);
            }
            if let Some(end) = self.drain_inbox() {
                return end;
            }
            self.sink.retry_overflow();
            self.report_all_missed();
            self.read_ready();
            self.read_udp_ready();
            self.deliver_relays();
            self.fire_timers();
            self.pump_transfers();
            self.flush_ready();
            self.sink.retry_overflow();
            self.sink.wake_owner();
        }
    }

    /// Routes one readiness event to what its token stands for.
    fn dispatch(&mut self, readiness: &Readiness) {
        let token = readiness.token();
        match self.registry.owner(token) {
            Some(Owner::Listener(session)) => self.accept(session),
            Some(Owner::Connecting(session)) => self.connect_progress(session, token),
            Some(Owner::Conn) => {
                if readiness.is_readable() || readiness.is_read_closed() || readiness.is_error() {
                    self.mark_readable(token);
                }
                if readiness.is_writable() || readiness.is_error() {
                    self.mark_flush(token);
                }
            }
            Some(Owner::Udp(session)) => {
                if readiness.is_readable() || readiness.is_error() {
                    self.mark_udp_readable(session);
                }
                if readiness.is_writable() {
                    self.flush_udp(session);
                }
            }
            // The waker, or a socket closed since the poll returned.
            None => {}
        }
    }

    /// Carries out what arrived in the inbox; `Some` ends the thread with that result.
    fn drain_inbox(&mut self) -> Option<Result<(), String>> {
        loop {
            match self.inbox.try_recv() {
                Ok(Inbox::Command(command)) => self.execute(command),
                Ok(Inbox::Resolved {
                    session,
                    attempt,
                    result,
                }) => self.resolved(session, attempt, result),
                Ok(Inbox::CaptureDone(done)) => self.capture_done(done),
                #[cfg(feature = "testing")]
                Ok(Inbox::InjectFailure { panic }) => {
                    if panic {
                        panic!("injected by a test");
                    }
                    self.sink.flush_blocking();
                    return Some(Err("the network loop failed: injected by a test".into()));
                }
                Err(TryRecvError::Empty) => return None,
                Ok(Inbox::Shutdown) | Err(TryRecvError::Disconnected) => {
                    self.shutdown();
                    return Some(Ok(()));
                }
            }
        }
    }

    fn poll_timeout(&self) -> Option<Duration> {
        let mut timeout = self.timers.next_wait(Instant::now());
        let mut consider = |t: Duration| {
            timeout = Some(timeout.map_or(t, |current: Duration| current.min(t)));
        };
        // Chat connections read on while the owner is behind; plain ones wait for it.
        let chat_can_read = self
            .read_list
            .iter()
            .any(|t| self.conns.get(t).is_some_and(|c| c.chat_lines.is_some()));
        let can_read = !self.read_list.is_empty() && (!self.sink.congested() || chat_can_read);
        // UDP reads on while the owner is behind: the kernel would drop what waits.
        let can_read = can_read || !self.udp_read_list.is_empty();
        if can_read && !self.reads_blocked {
            consider(Duration::ZERO);
        } else if self.sink.congested() || self.reads_blocked {
            consider(CONGESTION_RETRY);
        }
        if self.transfer_can_move() {
            consider(Duration::ZERO);
        }
        timeout
    }

    /// Handles every deadline that has come, earliest first, each once per turn (a handler
    /// may set its next deadline already due: that waits for the next turn).
    fn fire_timers(&mut self) {
        let now = Instant::now();
        let due: Vec<Deadline> = std::iter::from_fn(|| self.timers.pop_due(now)).collect();
        for deadline in due {
            match deadline {
                Deadline::AcceptRetry(session) => self.accept(session),
                Deadline::ConnectTimeout(session) => self.connect_timed_out(session, now),
                Deadline::Repeat(session) => self.run_repeat(session, now),
                Deadline::Linger(token) => self.linger_expired(token),
                Deadline::UdpStats(session) => self.read_udp_stats(session),
                Deadline::Transfer(_) => {} // `pump_transfers` runs right after.
                Deadline::DelayedReply(id) => self.send_delayed(id),
            }
        }
    }

    fn execute(&mut self, command: Command) {
        match command {
            Command::Listen {
                session,
                addr,
                options,
            } => self.listen(session, &addr, options),
            Command::Connect {
                session,
                addr,
                timeout,
                options,
            } => self.connect(session, &addr, timeout, options),
            Command::OpenUdp {
                session,
                bind,
                connect,
                options,
            } => self.open_udp(session, &bind, connect.as_deref(), options),
            Command::SetUdpOptions { session, options } => self.set_udp_options(session, options),
            Command::JoinGroup {
                session,
                membership,
            } => self.change_membership(session, membership, true),
            Command::LeaveGroup {
                session,
                membership,
            } => self.change_membership(session, membership, false),
            Command::Send {
                session,
                target,
                data,
            } => self.send_payload(session, target, data),
            Command::Close { session, conn, how } => match self.member_token(session, conn) {
                Some(token) => {
                    let how = if self.resets_on_close(session) {
                        CloseHow::Abort
                    } else {
                        how
                    };
                    let reason = match how {
                        CloseHow::Graceful => CloseReason::Closed,
                        CloseHow::Abort => CloseReason::Aborted,
                    };
                    self.close(token, reason, how);
                }
                None => self.error(session, format!("connection {conn} is not open")),
            },
            Command::FinishSending { session, target } => self.finish_sending(session, target),
            Command::Stop { session } => self.stop(session, StopCause::Requested),
            Command::Remove { session } => self.remove(session),
            Command::Repeat {
                session,
                target,
                data,
                interval,
                count,
            } => self.start_repeat(session, target, data, interval, count),
            Command::SetFraming { session, framing } => self.set_framing(session, framing),
            Command::SetResponder { session, responder } => self.set_responder(session, responder),
            Command::ReportData { session, data } => {
                self.sessions
                    .entry(session)
                    .or_insert_with(Session::idle)
                    .report_data = data;
            }
            Command::StopRepeat { session } => self.end_repeat(session, RepeatEnd::Stopped),
            Command::SendFile {
                session,
                target,
                path,
                transfer,
                pacing,
            } => self.start_transfer(session, target, path, transfer, pacing),
            Command::CancelTransfer { session, transfer } => {
                self.end_transfer(session, transfer, TransferOutcome::Cancelled)
            }
            Command::Capture { session, path } => self.set_capture(session, path),
        }
    }

    /// Creates or resets the session's state for a new Listen/Connect.
    fn begin_attempt(&mut self, session: SessionId, role: session::Role) -> u64 {
        let entry = self.sessions.entry(session).or_insert_with(Session::idle);
        entry.role = role;
        entry.attempt += 1;
        entry.attempt
    }

    fn error(&mut self, session: SessionId, message: String) {
        if self.counting_refusals && self.sink.congested() {
            self.missed.entry(session).or_default().refused_replies += 1;
            return;
        }
        self.sink.emit(session, EventKind::Error { message });
    }

    /// Once the owner has caught up, says how many chat lines and sends it missed meanwhile.
    fn report_missed(&mut self, session: SessionId) {
        if self.sink.congested() {
            return;
        }
        let Some(missed) = self.missed.remove(&session) else {
            return;
        };
        if missed.datagrams > 0 {
            let (count, bytes) = (missed.datagrams, missed.datagram_bytes);
            self.sink
                .emit(session, EventKind::DatagramsUnreported { count, bytes });
        }
        if missed.refused_replies > 0 {
            let message = format!(
                "{} rule replies were refused while the window was behind (a peer that does \
                 not read, or a full send queue)",
                missed.refused_replies
            );
            self.sink.emit(session, EventKind::Error { message });
        }
        if missed.messages > 0 {
            let (messages, bytes) = (missed.messages, missed.message_bytes);
            self.sink
                .emit(session, EventKind::ReceivedUnreported { messages, bytes });
        }
        if missed.lines > 0 {
            let count = missed.lines;
            self.sink
                .emit(session, EventKind::LinesUnreported { count });
        }
        if missed.sends > 0 {
            let (messages, bytes) = (missed.sends, missed.send_bytes);
            self.sink
                .emit(session, EventKind::SendsUnreported { messages, bytes });
        }
    }

    fn report_all_missed(&mut self) {
        if self.missed.is_empty() || self.sink.congested() {
            return;
        }
        let sessions: Vec<SessionId> = self.missed.keys().copied().collect();
        for session in sessions {
            self.report_missed(session);
        }
    }
}
