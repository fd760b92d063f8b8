//! The net thread: one `mio::Poll` loop that owns every listener and connection, carries
//! out commands, relays chat lines and reports events. Nothing here blocks except `poll`.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
use std::net::{SocketAddr, ToSocketAddrs};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::Local;
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use socket2::{Domain, Protocol, Socket, Type};

use super::addr::parse_endpoint;
use super::capture::{self, Capture, CaptureDone};
use super::chat::{self, HeaderClock, LineAction};
use super::command::{CloseHow, Command, ServerOptions, Target};
use super::connection::Conn;
use super::event::{CloseReason, EventKind, RepeatEnd, TransferOutcome};
use super::repeat::Repeat;
use super::sink::EventSink;
use super::timers::far_or;
use super::transfer::{self, FileChunk, Transfer};
use super::wording::{close_reason_for, describe_io_error, format_duration};
use super::{ConnId, SessionId, TransferId};

pub(crate) const WAKER: Token = Token(0);

/// Bytes per `read` call.
const READ_CHUNK: usize = 64 * 1024;
/// Reads per connection per loop turn, so one flooding peer cannot starve the others.
const READS_PER_TURN: usize = 16;
/// How long a graceful close waits for the peer to take what is queued.
const LINGER: Duration = Duration::from_secs(5);
/// How often to retry handing events to a congested owner.
const CONGESTION_RETRY: Duration = Duration::from_millis(2);
const LISTEN_BACKLOG: i32 = 4096;
/// Bytes the owner may have waiting for one peer; past this a send is refused with an error
/// (and a repeat stops) instead of growing memory while the peer does not read.
pub const MAX_SEND_QUEUE: usize = 64 * 1024 * 1024;

/// Why a session is being stopped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum StopCause {
    /// The owner asked (Stop, Remove, shutdown).
    Requested,
    /// A new Listen or Connect replaces whatever ran before.
    NewAttempt,
}

/// Messages into the net thread: the owner's commands, and answers from resolver threads.
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

enum Role {
    Server {
        listener: Option<(Token, TcpListener)>,
        options: ServerOptions,
    },
    Client {
        connecting: Option<Connecting>,
        timeout: Duration,
    },
}

struct Connecting {
    token: Option<Token>,
    stream: Option<TcpStream>,
    remaining: Vec<SocketAddr>,
    deadline: Instant,
    last_error: Option<String>,
}

struct Session {
    role: Role,
    /// Live connections that sends and chat relays go to.
    members: HashSet<Token>,
    /// Bumped by every Listen/Connect so late resolver answers are ignored.
    attempt: u64,
    /// A name lookup for the current attempt is running.
    resolving: bool,
    repeat: Option<Repeat>,
    transfers: Vec<Transfer>,
    capture: Option<Capture>,
    missed: Missed,
}

impl Session {
    /// A session that has not started anything yet.
    fn idle() -> Self {
        Session {
            role: Role::Client {
                connecting: None,
                timeout: Duration::ZERO,
            },
            members: HashSet::new(),
            attempt: 0,
            resolving: false,
            repeat: None,
            transfers: Vec::new(),
            capture: None,
            missed: Missed::default(),
        }
    }
}

/// Events left out while the owner was behind, reported as counts once it catches up.
#[derive(Default)]
struct Missed {
    lines: u64,
    sends: u64,
    send_bytes: u64,
}

pub(crate) struct Reactor {
    poll: Poll,
    inbox: Receiver<Inbox>,
    /// For resolver threads to answer on.
    inbox_tx: Sender<Inbox>,
    waker: Arc<mio::Waker>,
    sink: EventSink,
    sessions: HashMap<SessionId, Session>,
    conns: HashMap<Token, Conn>,
    listeners: HashMap<Token, SessionId>,
    pending_connects: HashMap<Token, SessionId>,
    next_token: usize,
    next_conn: u64,
    read_list: Vec<Token>,
    flush_list: Vec<Token>,
    scratch: Vec<u8>,
    clock: HeaderClock,
    next_capture: u64,
    /// A read was put off because a capture file is behind; retry soon.
    reads_blocked: bool,
    /// Listeners whose accept failed for lack of descriptors, and when to try again:
    /// an edge-triggered listener would not report the waiting clients a second time.
    accept_retry: HashMap<SessionId, Instant>,
}

impl Reactor {
    pub fn new(
        poll: Poll,
        inbox: Receiver<Inbox>,
        inbox_tx: Sender<Inbox>,
        waker: Arc<mio::Waker>,
        sink: EventSink,
    ) -> Self {
        Reactor {
            poll,
            inbox,
            inbox_tx,
            waker,
            sink,
            sessions: HashMap::new(),
            conns: HashMap::new(),
            listeners: HashMap::new(),
            pending_connects: HashMap::new(),
            next_token: 1,
            next_conn: 1,
            read_list: Vec::new(),
            flush_list: Vec::new(),
            scratch: vec![0; READ_CHUNK],
            clock: HeaderClock::default(),
            next_capture: 1,
            reads_blocked: false,
            accept_retry: HashMap::new(),
        }
    }

    /// Runs until the owner drops its handle (`Ok`) or the poll breaks (`Err`, in words).
    pub fn run(mut self) -> Result<(), String> {
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = self.poll_timeout();
            if let Err(e) = self.poll.poll(&mut events, timeout)
                && e.kind() != io::ErrorKind::Interrupted
            {
                // A broken poll cannot recover: hand over what is waiting, then fail.
                self.sink.flush_blocking();
                return Err(format!(
                    "the network loop failed: {}",
                    describe_io_error(&e)
                ));
            }
            for event in events.iter() {
                let token = event.token();
                if token == WAKER {
                    continue;
                }
                if let Some(&session) = self.listeners.get(&token) {
                    self.accept(session);
                } else if let Some(&session) = self.pending_connects.get(&token) {
                    self.connect_progress(session, token);
                } else if self.conns.contains_key(&token) {
                    if event.is_readable() || event.is_read_closed() || event.is_error() {
                        self.mark_readable(token);
                    }
                    if event.is_writable() || event.is_error() {
                        self.mark_flush(token);
                    }
                }
            }
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
                        return Err("the network loop failed: injected by a test".into());
                    }
                    Err(TryRecvError::Empty) => break,
                    Ok(Inbox::Shutdown) | Err(TryRecvError::Disconnected) => {
                        self.shutdown();
                        return Ok(());
                    }
                }
            }
            self.sink.retry_overflow();
            let sessions: Vec<SessionId> = self.sessions.keys().copied().collect();
            for session in sessions {
                self.report_missed(session);
            }
            self.read_ready();
            self.check_deadlines();
            self.run_repeats();
            self.pump_transfers();
            self.flush_ready();
            self.sink.retry_overflow();
            self.sink.wake_owner();
        }
    }

    fn poll_timeout(&self) -> Option<Duration> {
        let mut timeout = None;
        let mut consider = |t: Duration| {
            timeout = Some(timeout.map_or(t, |current: Duration| current.min(t)));
        };
        // Chat connections read on while the owner is behind; plain ones wait for it.
        let chat_can_read = self
            .read_list
            .iter()
            .any(|t| self.conns.get(t).is_some_and(|c| c.framer.is_some()));
        let can_read = !self.read_list.is_empty() && (!self.sink.congested() || chat_can_read);
        if can_read && !self.reads_blocked {
            consider(Duration::ZERO);
        } else if self.sink.congested() || self.reads_blocked {
            consider(CONGESTION_RETRY);
        }
        for retry in self.accept_retry.values() {
            consider(retry.saturating_duration_since(Instant::now()));
        }
        if self.transfer_can_move() {
            consider(Duration::ZERO);
        }
        let now = Instant::now();
        for session in self.sessions.values() {
            if let Some(repeat) = &session.repeat {
                consider(repeat.next.saturating_duration_since(now));
            }
        }
        for conn in self.conns.values() {
            if let Some((_, deadline)) = &conn.closing {
                consider(deadline.saturating_duration_since(now));
            }
        }
        for session in self.sessions.values() {
            if let Role::Client {
                connecting: Some(connecting),
                ..
            } = &session.role
            {
                consider(connecting.deadline.saturating_duration_since(now));
            }
        }
        timeout
    }

    fn take_token(&mut self) -> Token {
        let token = Token(self.next_token);
        self.next_token += 1;
        token
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
            } => self.connect(session, &addr, timeout),
            Command::Send {
                session,
                target,
                data,
            } => self.send(session, target, data),
            Command::Close { session, conn, how } => {
                let token = self.member_token(session, conn);
                match token {
                    Some(token) => {
                        let reason = match how {
                            CloseHow::Graceful => CloseReason::Closed,
                            CloseHow::Abort => CloseReason::Aborted,
                        };
                        self.close(token, reason, how);
                    }
                    None => self.error(session, format!("connection #{} is not open", conn.get())),
                }
            }
            Command::FinishSending { session } => {
                // Nothing may be queued after the FIN: end what would keep sending.
                self.end_repeat(session, RepeatEnd::Stopped);
                for transfer in self.transfer_ids(session) {
                    self.end_transfer(session, transfer, TransferOutcome::Cancelled);
                }
                let members: Vec<Token> = self.members(session);
                if members.is_empty() {
                    self.error(session, "not connected".into());
                }
                for token in members {
                    if let Some(conn) = self.conns.get_mut(&token) {
                        conn.finish_after_flush = true;
                    }
                    self.mark_flush(token);
                }
            }
            Command::Stop { session } => self.stop(session, StopCause::Requested),
            Command::Remove { session } => {
                self.stop(session, StopCause::Requested);
                self.set_capture(session, None);
                self.sessions.remove(&session);
            }
            Command::Repeat {
                session,
                target,
                data,
                interval,
                count,
            } => self.start_repeat(session, target, data, interval, count),
            Command::StopRepeat { session } => self.end_repeat(session, RepeatEnd::Stopped),
            Command::SendFile {
                session,
                target,
                path,
                transfer,
            } => self.start_transfer(session, target, path, transfer),
            Command::CancelTransfer { session, transfer } => {
                self.end_transfer(session, transfer, TransferOutcome::Cancelled)
            }
            Command::Capture { session, path } => self.set_capture(session, path),
        }
    }

    fn transfer_ids(&self, session: SessionId) -> Vec<TransferId> {
        self.sessions
            .get(&session)
            .map(|s| s.transfers.iter().map(|t| t.id).collect())
            .unwrap_or_default()
    }

    fn members(&self, session: SessionId) -> Vec<Token> {
        self.sessions
            .get(&session)
            .map(|s| s.members.iter().copied().collect())
            .unwrap_or_default()
    }

    fn member_token(&self, session: SessionId, conn: ConnId) -> Option<Token> {
        let s = self.sessions.get(&session)?;
        s.members
            .iter()
            .copied()
            .find(|token| self.conns.get(token).is_some_and(|c| c.id == conn))
    }

    fn error(&mut self, session: SessionId, message: String) {
        self.sink.emit(session, EventKind::Error { message });
    }

    // ---- server ---------------------------------------------------------------

    fn listen(&mut self, session: SessionId, addr: &str, options: ServerOptions) {
        self.stop(session, StopCause::NewAttempt);
        let attempt = self.begin_attempt(
            session,
            Role::Server {
                listener: None,
                options,
            },
        );
        match parse_endpoint(addr) {
            Err(e) => self.sink.emit(
                session,
                EventKind::ListenFailed {
                    error: e.to_string(),
                },
            ),
            Ok(endpoint) => match endpoint.literal() {
                Some(addr) => self.bind(session, vec![addr]),
                None => self.resolve_in_background(session, attempt, endpoint.host, endpoint.port),
            },
        }
    }

    /// Creates or resets the session's state for a new Listen/Connect.
    fn begin_attempt(&mut self, session: SessionId, role: Role) -> u64 {
        let entry = self.sessions.entry(session).or_insert_with(Session::idle);
        entry.role = role;
        entry.attempt += 1;
        entry.attempt
    }

    fn bind(&mut self, session: SessionId, addrs: Vec<SocketAddr>) {
        let mut last_error = String::from("the name resolved to no address");
        for addr in addrs {
            match bind_listener(addr) {
                Ok(mut listener) => {
                    let token = self.take_token();
                    if let Err(e) =
                        self.poll
                            .registry()
                            .register(&mut listener, token, Interest::READABLE)
                    {
                        last_error = describe_io_error(&e);
                        continue;
                    }
                    let local = listener.local_addr().unwrap_or(addr);
                    if let Some(Session {
                        role: Role::Server { listener: slot, .. },
                        ..
                    }) = self.sessions.get_mut(&session)
                    {
                        *slot = Some((token, listener));
                        self.listeners.insert(token, session);
                        self.sink.emit(session, EventKind::Listening { local });
                        // Clients may already wait in the backlog.
                        self.accept(session);
                    }
                    return;
                }
                Err(e) => last_error = describe_io_error(&e),
            }
        }
        self.sink
            .emit(session, EventKind::ListenFailed { error: last_error });
    }

    fn accept(&mut self, session: SessionId) {
        loop {
            let Some(Session {
                role:
                    Role::Server {
                        listener: Some((_, listener)),
                        options,
                        ..
                    },
                ..
            }) = self.sessions.get(&session)
            else {
                return;
            };
            let chat = options.chat;
            match listener.accept() {
                Ok((stream, peer)) => {
                    self.accept_retry.remove(&session);
                    self.adopt(session, stream, peer, chat, None);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if is_transient_accept_error(&e) => {}
                Err(e) => {
                    // Out of descriptors, typically: say so once, then retry on a timer.
                    let retry = Instant::now() + Duration::from_millis(100);
                    if self.accept_retry.insert(session, retry).is_none() {
                        self.error(
                            session,
                            format!("cannot accept a connection: {}", describe_io_error(&e)),
                        );
                    }
                    return;
                }
            }
        }
    }

    /// Registers a connected stream (accepted, or a finished client connect) as a member.
    fn adopt(
        &mut self,
        session: SessionId,
        mut stream: TcpStream,
        peer: SocketAddr,
        chat: bool,
        token: Option<Token>,
    ) {
        // A test bench sends what the user clicked now, not after Nagle's delay.
        let _ = stream.set_nodelay(true);
        let local = match stream.local_addr() {
            Ok(local) => local,
            Err(e) => {
                self.error(
                    session,
                    format!("connection lost at once: {}", describe_io_error(&e)),
                );
                return;
            }
        };
        let token = match token {
            Some(token) => token,
            None => {
                let token = self.take_token();
                if let Err(e) = self.poll.registry().register(
                    &mut stream,
                    token,
                    Interest::READABLE | Interest::WRITABLE,
                ) {
                    self.error(
                        session,
                        format!("cannot watch a connection: {}", describe_io_error(&e)),
                    );
                    return;
                }
                token
            }
        };
        let id = ConnId::new(self.next_conn);
        self.next_conn += 1;
        let conn = Conn::new(id, session, stream, local, peer, chat);
        self.sink.emit(session, EventKind::Connected(conn.info()));
        self.conns.insert(token, conn);
        if let Some(s) = self.sessions.get_mut(&session) {
            s.members.insert(token);
        }
        // Data may have arrived with the handshake; edge-triggered readiness would not repeat it.
        self.mark_readable(token);
    }

    /// Ends whatever the session is doing. A user's stop always gets one `Stopped` (or, for a
    /// connected client, its `Closed`); a new attempt replacing a pending one reports nothing
    /// for the old one, since its own events follow.
    fn stop(&mut self, session: SessionId, cause: StopCause) {
        self.end_repeat(session, RepeatEnd::Stopped);
        for transfer in self.transfer_ids(session) {
            self.end_transfer(session, transfer, TransferOutcome::Cancelled);
        }
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        // A name lookup still running must not start anything after this.
        s.attempt += 1;
        let cancelled_lookup = std::mem::take(&mut s.resolving);
        self.accept_retry.remove(&session);
        let members: Vec<Token> = s.members.drain().collect();
        let mut stopped_listener = false;
        let mut cancelled_connect = None;
        match &mut s.role {
            Role::Server { listener, .. } => {
                if let Some((token, mut listener)) = listener.take() {
                    let _ = self.poll.registry().deregister(&mut listener);
                    self.listeners.remove(&token);
                    stopped_listener = true;
                }
            }
            Role::Client { connecting, .. } => cancelled_connect = connecting.take(),
        }
        let is_server = matches!(s.role, Role::Server { .. });
        let cancelled_attempt = cancelled_lookup || cancelled_connect.is_some();
        if let Some(connecting) = cancelled_connect {
            self.drop_connecting(connecting);
        }
        let reason = if is_server {
            CloseReason::ServerStopped
        } else {
            CloseReason::Closed
        };
        for token in members {
            self.close(token, reason.clone(), CloseHow::Graceful);
        }
        if stopped_listener || (cancelled_attempt && cause == StopCause::Requested) {
            self.sink.emit(session, EventKind::Stopped);
        }
    }

    // ---- client ---------------------------------------------------------------

    fn connect(&mut self, session: SessionId, addr: &str, timeout: Duration) {
        self.stop(session, StopCause::NewAttempt);
        let attempt = self.begin_attempt(
            session,
            Role::Client {
                connecting: None,
                timeout,
            },
        );
        match parse_endpoint(addr) {
            Err(e) => self.sink.emit(
                session,
                EventKind::ConnectFailed {
                    error: e.to_string(),
                },
            ),
            Ok(endpoint) => {
                let deadline = far_or(Instant::now(), timeout);
                if let Some(Session {
                    role: Role::Client { connecting, .. },
                    ..
                }) = self.sessions.get_mut(&session)
                {
                    *connecting = Some(Connecting {
                        token: None,
                        stream: None,
                        remaining: Vec::new(),
                        deadline,
                        last_error: None,
                    });
                }
                match endpoint.literal() {
                    Some(addr) => self.try_next_address(session, vec![addr]),
                    None => {
                        self.resolve_in_background(session, attempt, endpoint.host, endpoint.port)
                    }
                }
            }
        }
    }

    fn resolve_in_background(&mut self, session: SessionId, attempt: u64, host: String, port: u16) {
        let answer = self.inbox_tx.clone();
        let waker = self.waker.clone();
        let spawned = std::thread::Builder::new()
            .name("socklab-resolve".into())
            .spawn(move || {
                let result = (host.as_str(), port)
                    .to_socket_addrs()
                    .map(|addrs| addrs.collect::<Vec<_>>())
                    .map_err(|e| format!("cannot resolve \"{host}\": {}", describe_io_error(&e)));
                if answer
                    .send(Inbox::Resolved {
                        session,
                        attempt,
                        result,
                    })
                    .is_ok()
                {
                    let _ = waker.wake();
                }
            });
        match spawned {
            Ok(_) => {
                if let Some(s) = self.sessions.get_mut(&session) {
                    s.resolving = true;
                }
            }
            Err(e) => self.resolved(
                session,
                attempt,
                Err(format!("cannot start the resolver: {e}")),
            ),
        }
    }

    fn resolved(
        &mut self,
        session: SessionId,
        attempt: u64,
        result: Result<Vec<SocketAddr>, String>,
    ) {
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        if s.attempt != attempt {
            return;
        }
        s.resolving = false;
        let is_server = matches!(s.role, Role::Server { .. });
        match (result, is_server) {
            (Ok(addrs), true) => self.bind(session, addrs),
            (Ok(addrs), false) => self.try_next_address(session, addrs),
            (Err(error), true) => self.sink.emit(session, EventKind::ListenFailed { error }),
            (Err(error), false) => {
                if let Some(Session {
                    role: Role::Client { connecting, .. },
                    ..
                }) = self.sessions.get_mut(&session)
                {
                    *connecting = None;
                }
                self.sink.emit(session, EventKind::ConnectFailed { error });
            }
        }
    }

    /// Starts a non-blocking connect to the next address left; reports failure when none is.
    fn try_next_address(&mut self, session: SessionId, more: Vec<SocketAddr>) {
        let Some(Session {
            role:
                Role::Client {
                    connecting: Some(connecting),
                    ..
                },
            ..
        }) = self.sessions.get_mut(&session)
        else {
            return;
        };
        // Addresses are tried in the resolver's order.
        connecting.remaining.splice(0..0, more);
        loop {
            let Some(Session {
                role:
                    Role::Client {
                        connecting: Some(connecting),
                        ..
                    },
                ..
            }) = self.sessions.get_mut(&session)
            else {
                return;
            };
            if connecting.remaining.is_empty() {
                let error = connecting
                    .last_error
                    .take()
                    .unwrap_or_else(|| "the name resolved to no address".into());
                if let Some(Session {
                    role: Role::Client { connecting, .. },
                    ..
                }) = self.sessions.get_mut(&session)
                {
                    *connecting = None;
                }
                self.sink.emit(session, EventKind::ConnectFailed { error });
                return;
            }
            let addr = connecting.remaining.remove(0);
            match TcpStream::connect(addr) {
                Ok(mut stream) => {
                    let token = Token(self.next_token);
                    self.next_token += 1;
                    if let Err(e) = self.poll.registry().register(
                        &mut stream,
                        token,
                        Interest::READABLE | Interest::WRITABLE,
                    ) {
                        connecting.last_error = Some(describe_io_error(&e));
                        continue;
                    }
                    connecting.token = Some(token);
                    connecting.stream = Some(stream);
                    self.pending_connects.insert(token, session);
                    self.sink
                        .emit(session, EventKind::Connecting { peer: addr });
                    return;
                }
                Err(e) => connecting.last_error = Some(describe_io_error(&e)),
            }
        }
    }

    fn connect_progress(&mut self, session: SessionId, token: Token) {
        let Some(Session {
            role:
                Role::Client {
                    connecting: Some(connecting),
                    ..
                },
            ..
        }) = self.sessions.get_mut(&session)
        else {
            self.pending_connects.remove(&token);
            return;
        };
        let Some(stream) = connecting.stream.as_ref() else {
            return;
        };
        let failure = match stream.take_error() {
            Ok(Some(e)) | Err(e) => Some(e),
            Ok(None) => None,
        };
        let outcome = match failure {
            Some(e) => Err(e),
            None => match stream.peer_addr() {
                Ok(peer) => Ok(peer),
                // Not connected yet: a spurious wake-up.
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                Err(e) => Err(e),
            },
        };
        self.pending_connects.remove(&token);
        let mut stream = connecting.stream.take();
        connecting.token = None;
        match outcome {
            Ok(peer) => {
                let Some(stream) = stream.take() else { return };
                if let Some(Session {
                    role: Role::Client { connecting, .. },
                    ..
                }) = self.sessions.get_mut(&session)
                {
                    *connecting = None;
                }
                self.adopt(session, stream, peer, false, Some(token));
            }
            Err(e) => {
                connecting.last_error = Some(describe_io_error(&e));
                if let Some(mut stream) = stream {
                    let _ = self.poll.registry().deregister(&mut stream);
                }
                self.try_next_address(session, Vec::new());
            }
        }
    }

    fn drop_connecting(&mut self, mut connecting: Connecting) {
        if let Some(token) = connecting.token {
            self.pending_connects.remove(&token);
        }
        if let Some(mut stream) = connecting.stream.take() {
            let _ = self.poll.registry().deregister(&mut stream);
        }
    }

    // ---- data -----------------------------------------------------------------

    fn targets(&self, session: SessionId, target: Target) -> Vec<Token> {
        match target {
            Target::All => self.members(session),
            Target::One(conn) => self.member_token(session, conn).into_iter().collect(),
        }
    }

    fn send(&mut self, session: SessionId, target: Target, data: Vec<u8>) {
        let tokens = self.targets(session, target);
        if tokens.is_empty() {
            let message = match target {
                Target::All => "not sent: no connection is open".to_string(),
                Target::One(conn) => format!("not sent: connection #{} is not open", conn.get()),
            };
            self.error(session, message);
            return;
        }
        let data: Arc<[u8]> = data.into();
        for token in tokens {
            if let Some(conn) = self.conns.get_mut(&token) {
                if conn.write_closed || conn.finish_after_flush {
                    self.sink.emit(
                        session,
                        EventKind::Error {
                            message: format!(
                                "not sent to #{}: sending on it was finished",
                                conn.id.get()
                            ),
                        },
                    );
                    continue;
                }
                if conn.queued_bytes() + data.len() > MAX_SEND_QUEUE {
                    let message = format!(
                        "not sent to #{}: {} bytes are already waiting for the peer to read",
                        conn.id.get(),
                        conn.queued_bytes()
                    );
                    self.sink.emit(session, EventKind::Error { message });
                    continue;
                }
                conn.enqueue(data.clone(), true);
                self.mark_flush(token);
            }
        }
    }

    fn mark_readable(&mut self, token: Token) {
        if let Some(conn) = self.conns.get_mut(&token) {
            conn.read_pending = true;
            if !conn.in_read_list {
                conn.in_read_list = true;
                self.read_list.push(token);
            }
        }
    }

    fn mark_flush(&mut self, token: Token) {
        if let Some(conn) = self.conns.get_mut(&token)
            && !conn.in_flush_list
        {
            conn.in_flush_list = true;
            self.flush_list.push(token);
        }
    }

    /// Reads every connection that may hold data, a bounded amount each.
    fn read_ready(&mut self) {
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
            let chat = conn.framer.is_some();
            if !chat && self.sink.congested() {
                // The owner is behind: leave the bytes in the kernel, TCP slows the peer.
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
            match conn.stream.read(&mut scratch) {
                Ok(0) => {
                    conn.read_pending = false;
                    self.end_of_stream(token);
                    break;
                }
                Ok(n) => {
                    conn.counters.add_in(n);
                    let (id, session) = (conn.id, conn.session);
                    if let Some(capture) =
                        self.sessions.get(&session).and_then(|s| s.capture.as_ref())
                    {
                        // Room was checked before reading; a closed channel is reported by its thread.
                        let _ = capture.chunks.try_send(Arc::from(&scratch[..n]));
                    }
                    if chat {
                        self.chat_input(token, &scratch[..n]);
                    } else {
                        self.sink.emit(
                            session,
                            EventKind::Received {
                                conn: id,
                                data: scratch[..n].to_vec(),
                            },
                        );
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    conn.read_pending = false;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    conn.read_pending = false;
                    let reason = close_reason_for(&e);
                    self.close(token, reason, CloseHow::Abort);
                    break;
                }
            }
        }
        self.scratch = scratch;
        if let Some(conn) = self.conns.get_mut(&token)
            && conn.read_pending
            && !conn.in_read_list
        {
            conn.in_read_list = true;
            self.read_list.push(token);
        }
    }

    fn end_of_stream(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if conn.closing.is_some() {
            // Already closing; the peer's FIN just confirms it.
            return;
        }
        let last = conn.framer.as_mut().and_then(|f| f.finish());
        match last.as_deref().map(chat::classify) {
            Some(LineAction::Relay) => self.relay_lines(token, vec![last.unwrap_or_default()]),
            Some(LineAction::Quit) => {
                self.close(token, CloseReason::Quit, CloseHow::Graceful);
                return;
            }
            Some(LineAction::Skip) | None => {}
        }
        self.close(token, CloseReason::PeerClosed, CloseHow::Graceful);
    }

    fn chat_input(&mut self, token: Token, data: &[u8]) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if conn.closing.is_some() {
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
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        let mut too_slow = Vec::new();
        for &member in &s.members {
            if let Some(target) = self.conns.get_mut(&member) {
                if target.finish_after_flush {
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
        }
        if self.sink.congested() {
            s.missed.lines += lines.len() as u64;
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

    /// Once the owner has caught up, says how many chat lines and sends it missed meanwhile.
    fn report_missed(&mut self, session: SessionId) {
        if self.sink.congested() {
            return;
        }
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        let missed = std::mem::take(&mut s.missed);
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

    fn flush_ready(&mut self) {
        let list = std::mem::take(&mut self.flush_list);
        for token in list {
            if let Some(conn) = self.conns.get_mut(&token) {
                conn.in_flush_list = false;
            }
            self.flush_conn(token);
        }
    }

    fn flush_conn(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let was_write_closed = conn.write_closed;
        match conn.flush() {
            Ok(written) => {
                let (id, session) = (conn.id, conn.session);
                let done = !conn.has_queued();
                let finished_sending = !was_write_closed && conn.write_closed;
                let closing = conn.closing.is_some();
                for data in written {
                    if self.sink.congested() {
                        // Keep the overflow queue bounded; the count is reported later.
                        if let Some(s) = self.sessions.get_mut(&session) {
                            s.missed.sends += 1;
                            s.missed.send_bytes += data.len() as u64;
                        }
                    } else {
                        self.sink.emit(session, EventKind::Sent { conn: id, data });
                    }
                }
                if finished_sending {
                    self.sink
                        .emit(session, EventKind::SendingFinished { conn: id });
                }
                if done && closing {
                    self.finish_close(token);
                }
            }
            Err(e) => {
                let reason = close_reason_for(&e);
                self.close(token, reason, CloseHow::Abort);
            }
        }
    }

    // ---- repeat, file transfer, capture ----------------------------------------

    fn start_repeat(
        &mut self,
        session: SessionId,
        target: Target,
        data: Vec<u8>,
        interval: Duration,
        count: Option<u64>,
    ) {
        self.end_repeat(session, RepeatEnd::Stopped);
        if self.targets(session, target).is_empty() {
            self.error(
                session,
                "not repeating: no connection is open to send to".into(),
            );
            return;
        }
        if count == Some(0) || data.is_empty() {
            self.error(session, "not repeating: nothing to send".into());
            return;
        }
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        let repeat = Repeat::new(target, data.into(), interval, count);
        let sent = repeat.sent.clone();
        s.repeat = Some(repeat);
        self.sink
            .emit(session, EventKind::RepeatStarted { sent, count });
    }

    fn end_repeat(&mut self, session: SessionId, end: RepeatEnd) {
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

    fn run_repeats(&mut self) {
        let now = Instant::now();
        let due: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.repeat.as_ref().is_some_and(|r| r.due(now) > 0))
            .map(|(id, _)| *id)
            .collect();
        for session in due {
            let Some(repeat) = self.sessions.get(&session).and_then(|s| s.repeat.as_ref()) else {
                continue;
            };
            let (target, data, ticks) = (repeat.target, repeat.data.clone(), repeat.due(now));
            let tokens = self.targets(session, target);
            if tokens.is_empty() {
                self.end_repeat(session, RepeatEnd::NoConnection);
                continue;
            }
            let mut end = None;
            for _ in 0..ticks {
                for &token in &tokens {
                    if let Some(conn) = self.conns.get_mut(&token) {
                        if conn.queued_bytes() + data.len() > MAX_SEND_QUEUE {
                            end = Some(RepeatEnd::PeerNotReading);
                            break;
                        }
                        conn.enqueue(data.clone(), true);
                    }
                }
                if end.is_some() {
                    break;
                }
                let Some(repeat) = self
                    .sessions
                    .get_mut(&session)
                    .and_then(|s| s.repeat.as_mut())
                else {
                    break;
                };
                if repeat.tick() {
                    end = Some(RepeatEnd::Done);
                    break;
                }
            }
            if let Some(repeat) = self
                .sessions
                .get_mut(&session)
                .and_then(|s| s.repeat.as_mut())
            {
                repeat.resync(now);
            }
            for token in tokens {
                self.mark_flush(token);
            }
            if let Some(end) = end {
                self.end_repeat(session, end);
            }
        }
    }

    fn start_transfer(
        &mut self,
        session: SessionId,
        target: Target,
        path: PathBuf,
        id: TransferId,
    ) {
        if self.targets(session, target).is_empty() {
            self.transfer_not_started(session, id, path, "no connection is open to send to".into());
            return;
        }
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
        if let Some(s) = self.sessions.get_mut(&session) {
            s.transfers.push(Transfer {
                id,
                target,
                path,
                chunks,
                sent: Default::default(),
            });
        }
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

    fn end_transfer(&mut self, session: SessionId, id: TransferId, outcome: TransferOutcome) {
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        let Some(index) = s.transfers.iter().position(|t| t.id == id) else {
            return;
        };
        // Dropping the receiver ends the reader thread at its next chunk.
        let transfer = s.transfers.remove(index);
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

    /// True when a file chunk is waiting and its targets have room: a flush may have just
    /// drained the queues, and the reader thread will not wake us again while it is blocked.
    fn transfer_can_move(&self) -> bool {
        self.sessions.iter().any(|(id, s)| {
            s.transfers.iter().any(|t| {
                !t.chunks.is_empty()
                    && self.targets(*id, t.target).iter().all(|token| {
                        self.conns
                            .get(token)
                            .is_some_and(|c| c.queued_bytes() < transfer::FILE_QUEUE_LOW)
                    })
            })
        })
    }

    /// Moves file chunks into connection queues while every target has room.
    fn pump_transfers(&mut self) {
        let active: Vec<(SessionId, TransferId)> = self
            .sessions
            .iter()
            .flat_map(|(id, s)| s.transfers.iter().map(move |t| (*id, t.id)))
            .collect();
        for (session, id) in active {
            let Some(transfer) = self
                .sessions
                .get(&session)
                .and_then(|s| s.transfers.iter().find(|t| t.id == id))
            else {
                continue;
            };
            let (target, chunks, sent) = (
                transfer.target,
                transfer.chunks.clone(),
                transfer.sent.clone(),
            );
            let tokens = self.targets(session, target);
            if tokens.is_empty() {
                let outcome = TransferOutcome::Failed("the connection closed".into());
                self.end_transfer(session, id, outcome);
                continue;
            }
            loop {
                let room = tokens.iter().all(|t| {
                    self.conns
                        .get(t)
                        .is_some_and(|c| c.queued_bytes() < transfer::FILE_QUEUE_LOW)
                });
                if !room {
                    break;
                }
                match chunks.try_recv() {
                    Ok(FileChunk::Opened { size }) => {
                        let path = self
                            .sessions
                            .get(&session)
                            .and_then(|s| s.transfers.iter().find(|t| t.id == id))
                            .map(|t| t.path.clone())
                            .unwrap_or_default();
                        self.sink.emit(
                            session,
                            EventKind::TransferStarted {
                                transfer: id,
                                path,
                                size,
                                sent: sent.clone(),
                            },
                        );
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
                        if last {
                            self.end_transfer(session, id, TransferOutcome::Completed);
                            break;
                        }
                    }
                    Ok(FileChunk::End) => {
                        self.end_transfer(session, id, TransferOutcome::Completed);
                        break;
                    }
                    Ok(FileChunk::Failed(error)) => {
                        self.end_transfer(session, id, TransferOutcome::Failed(error));
                        break;
                    }
                    Err(crossbeam_channel::TryRecvError::Empty) => break,
                    Err(crossbeam_channel::TryRecvError::Disconnected) => {
                        let outcome = TransferOutcome::Failed("the file reader stopped".into());
                        self.end_transfer(session, id, outcome);
                        break;
                    }
                }
            }
        }
    }

    fn set_capture(&mut self, session: SessionId, path: Option<PathBuf>) {
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
                if let Some(s) = self.sessions.get_mut(&session) {
                    s.capture = Some(capture);
                }
                self.sink.emit(session, EventKind::CaptureStarted { path });
            }
            Err(e) => self.error(session, format!("cannot start the capture: {e}")),
        }
    }

    fn capture_done(&mut self, done: CaptureDone) {
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

    // ---- closing --------------------------------------------------------------

    /// Closes a connection: at once for `Abort`, after its queue drains for `Graceful`.
    fn close(&mut self, token: Token, reason: CloseReason, how: CloseHow) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if let Some(s) = self.sessions.get_mut(&conn.session) {
            s.members.remove(&token);
        }
        match how {
            CloseHow::Abort => {
                conn.set_abortive();
                conn.closing = Some((reason, Instant::now()));
                self.finish_close(token);
            }
            CloseHow::Graceful => {
                if conn.closing.is_some() {
                    return;
                }
                conn.closing = Some((reason, Instant::now() + LINGER));
                self.flush_conn(token);
            }
        }
    }

    fn finish_close(&mut self, token: Token) {
        self.drain_unread(token);
        let Some(mut conn) = self.conns.remove(&token) else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut conn.stream);
        if let Some(s) = self.sessions.get_mut(&conn.session) {
            s.members.remove(&token);
        }
        let unsent = conn.discard_queue();
        let reason = conn
            .closing
            .take()
            .map_or(CloseReason::Closed, |(reason, _)| reason);
        self.sink.emit(
            conn.session,
            EventKind::Closed {
                conn: conn.id,
                reason,
                unsent,
            },
        );
    }

    /// Reads what the kernel already holds before a close: closing a socket with unread
    /// data sends RST instead of FIN, and what arrived is still reported.
    fn drain_unread(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if matches!(
            conn.closing,
            Some((
                CloseReason::Aborted | CloseReason::TooSlow | CloseReason::LineTooLong,
                _
            ))
        ) {
            return;
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        for _ in 0..READS_PER_TURN {
            match conn.stream.read(&mut scratch) {
                Ok(n) if n > 0 => {
                    conn.counters.add_in(n);
                    if let Some(capture) = self
                        .sessions
                        .get(&conn.session)
                        .and_then(|s| s.capture.as_ref())
                    {
                        // A last read at close: wait briefly for the disk rather than skip it.
                        let chunk = Arc::from(&scratch[..n]);
                        if capture
                            .chunks
                            .send_timeout(chunk, Duration::from_millis(200))
                            .is_err()
                        {
                            self.sink.emit(
                                conn.session,
                                EventKind::Error {
                                    message: format!(
                                        "capture missed {n} bytes read while closing #{}",
                                        conn.id.get()
                                    ),
                                },
                            );
                        }
                    }
                    if conn.framer.is_none() {
                        self.sink.emit(
                            conn.session,
                            EventKind::Received {
                                conn: conn.id,
                                data: scratch[..n].to_vec(),
                            },
                        );
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                _ => break,
            }
        }
        self.scratch = scratch;
    }

    fn check_deadlines(&mut self) {
        let now = Instant::now();
        let retry: Vec<SessionId> = self
            .accept_retry
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, _)| *id)
            .collect();
        for session in retry {
            // Stays in the map (without a second error) if accepting fails again.
            self.accept_retry
                .insert(session, now + Duration::from_millis(100));
            self.accept(session);
        }
        let expired: Vec<Token> = self
            .conns
            .iter()
            .filter(|(_, c)| c.closing.as_ref().is_some_and(|(_, d)| *d <= now))
            .map(|(t, _)| *t)
            .collect();
        for token in expired {
            if let Some(conn) = self.conns.get_mut(&token)
                && conn.has_queued()
                && let Some((reason, _)) = &mut conn.closing
                && *reason != CloseReason::Aborted
            {
                *reason = CloseReason::LingerTimeout;
            }
            self.finish_close(token);
        }
        let timed_out: Vec<SessionId> = self
            .sessions
            .iter()
            .filter_map(|(id, s)| match &s.role {
                Role::Client {
                    connecting: Some(c),
                    ..
                } if c.deadline <= now => Some(*id),
                _ => None,
            })
            .collect();
        for session in timed_out {
            let Some(Session {
                role:
                    Role::Client {
                        connecting,
                        timeout,
                    },
                ..
            }) = self.sessions.get_mut(&session)
            else {
                continue;
            };
            let timeout = *timeout;
            let cancelled = connecting.take();
            if let Some(s) = self.sessions.get_mut(&session) {
                s.attempt += 1;
                s.resolving = false;
            }
            if let Some(connecting) = cancelled {
                self.drop_connecting(connecting);
                self.sink.emit(
                    session,
                    EventKind::ConnectFailed {
                        error: format!("timed out after {}", format_duration(timeout)),
                    },
                );
            }
        }
    }

    fn shutdown(&mut self) {
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

fn bind_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // Lets a stopped server start again at once while old connections sit in TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(TcpListener::from_std(socket.into()))
}

/// Accept errors that concern one pending connection, not the listener.
fn is_transient_accept_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}
