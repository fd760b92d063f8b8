//! The networking engine: TCP servers, clients, the group-chat relay and UDP sockets on one
//! background thread. It never imports egui; its owner (the window or the CLI) sends [`Command`]s and
//! receives [`Event`]s over crossbeam channels, and is woken by a callback when events wait.
//!
//! # Layout
//! - The owner's side: this file ([`Engine`]), [`ids`](SessionId), [`command`](Command),
//!   [`event`](Event) and the wording of errors (`wording`), parsing typed addresses
//!   (`addr`).
//! - The net thread: `reactor/` (the loop, and one file per concern), fed by `sink` (the
//!   bounded event channel), `timers` (ordered deadlines) and `queue` (per-connection send
//!   queues).
//! - Pure logic and helper threads: `chat` (line framing and the relay header), `repeat`
//!   (the schedule), `transfer` (a file reader thread), `capture` (a file writer thread).
//! - Transports: `transport` (the [`Stream`](transport::Stream) and
//!   [`Listener`](transport::Listener) traits the reactor works with) and `tcp` (TCP's
//!   implementation and how its sockets are made); `udp` (datagram sockets, options,
//!   memberships, limits) and [`interfaces`] (this machine's interfaces).
//!
//! # Adding a transport
//! A stream transport (TLS, Unix sockets) is a new file beside `tcp.rs` that implements
//! `transport::Stream` (read, write, shutdown of the sending half, abortive close,
//! addresses) and `transport::Listener` (accept), plus the functions that make its sockets.
//! The reactor then serves it unchanged: `reactor/server.rs` and `reactor/client.rs` call
//! the transport's `listen`/`connect` (chosen by the session's options), and everything
//! after that (`adopt`, reading and delivery, send queues, counters, capture, repeat,
//! file transfers, chat, closing with one `Closed` each) goes through the traits. UDP, a
//! datagram transport, keeps the session, event, timer, capture and job machinery and has
//! its own `Role::Udp`, `Owner::Udp` and readiness handler (`reactor/udp.rs`), since a
//! datagram socket has peers rather than connections.

mod addr;
mod capture;
pub mod chat;
mod command;
mod event;
pub mod framing;
mod ids;
pub mod interfaces;
pub mod options;
mod queue;
mod reactor;
mod repeat;
pub mod responder;
mod sink;
mod tcp;
mod timers;
pub mod tls;
mod transfer;
mod transport;
mod udp;
mod wording;

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

pub use addr::{AddressError, Endpoint, parse_bind_address, parse_endpoint};
pub use command::{
    ClientOptions, CloseHow, Command, DatagramPacing, Membership, Payload, ServerOptions, Target,
    UdpOptions,
};
pub use event::{
    CloseReason, ConnInfo, Counters, Datagram, Event, EventKind, PeerInfo, RepeatEnd,
    TransferOutcome, UdpStats,
};
pub use ids::{ConnId, SessionId, TransferId};
pub use reactor::MAX_SEND_QUEUE;
pub use sink::EVENT_CHANNEL_CAPACITY;
pub use transfer::FILE_CHUNK;
pub use udp::{MAX_PAYLOAD_V4, MAX_PAYLOAD_V6, max_payload};
pub use wording::{describe_file_error, describe_io_error, group_thousands};

use reactor::{Inbox, Reactor, WAKER};
use sink::EventSink;

/// How long a client waits for a connection unless told otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The owner's handle. Dropping it closes every socket and ends the net thread.
pub struct Engine {
    inbox: Option<Sender<Inbox>>,
    waker: Arc<mio::Waker>,
    events: Receiver<Event>,
    next_session: AtomicU64,
    next_transfer: AtomicU64,
    thread: Option<JoinHandle<()>>,
}

impl Engine {
    /// Starts the net thread. `wake` is called (from that thread) when events are waiting.
    pub fn spawn(wake: impl Fn() + Send + Sync + 'static) -> io::Result<Engine> {
        let poll = mio::Poll::new()?;
        let waker = Arc::new(mio::Waker::new(poll.registry(), WAKER)?);
        let (inbox_tx, inbox_rx) = crossbeam_channel::unbounded();
        let (events_tx, events_rx) = crossbeam_channel::bounded(EVENT_CHANNEL_CAPACITY);
        let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(wake);
        let failure_tx = events_tx.clone();
        let failure_wake = wake.clone();
        let sink = EventSink::new(events_tx, wake);
        let reactor = Reactor::new(poll, inbox_rx, inbox_tx.clone(), waker.clone(), sink);
        let thread = std::thread::Builder::new()
            .name("socklab-net".into())
            .spawn(move || {
                let outcome =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reactor.run()));
                let error = match outcome {
                    Ok(Ok(())) => return,
                    Ok(Err(error)) => error,
                    Err(panic) => format!("the network thread crashed: {}", panic_text(&*panic)),
                };
                // Blocks until the owner reads it or drops its handle (which disconnects).
                let _ = failure_tx.send(Event {
                    time: chrono::Local::now(),
                    session: SessionId::ENGINE,
                    kind: EventKind::EngineFailed { error },
                });
                failure_wake();
            })?;
        Ok(Engine {
            inbox: Some(inbox_tx),
            waker,
            events: events_rx,
            next_session: AtomicU64::new(1),
            next_transfer: AtomicU64::new(1),
            thread: Some(thread),
        })
    }

    /// A fresh id for a session the caller is about to start.
    pub fn new_session_id(&self) -> SessionId {
        SessionId::new(self.next_session.fetch_add(1, Ordering::Relaxed))
    }

    /// A fresh id for a file transfer the caller is about to start.
    pub fn new_transfer_id(&self) -> TransferId {
        TransferId::new(self.next_transfer.fetch_add(1, Ordering::Relaxed))
    }

    pub fn execute(&self, command: Command) {
        if let Some(inbox) = &self.inbox
            && inbox.send(Inbox::Command(command)).is_ok()
        {
            // A failed wake means the net thread is gone; events will say no more.
            let _ = self.waker.wake();
        }
    }

    /// Starts a server session on `addr` (`host:port`, port 0 for any free port).
    pub fn listen(&self, addr: &str, options: ServerOptions) -> SessionId {
        let session = self.new_session_id();
        self.execute(Command::Listen {
            session,
            addr: addr.to_string(),
            options,
        });
        session
    }

    /// Starts a client session connecting to `addr`.
    pub fn connect(&self, addr: &str, timeout: Duration) -> SessionId {
        self.connect_with(addr, timeout, ClientOptions::default())
    }

    /// Starts a client session connecting to `addr` with socket options or TLS.
    pub fn connect_with(&self, addr: &str, timeout: Duration, options: ClientOptions) -> SessionId {
        let session = self.new_session_id();
        self.execute(Command::Connect {
            session,
            addr: addr.to_string(),
            timeout,
            options,
        });
        session
    }

    /// Opens a UDP session bound to `bind`; with `connect`, a UDP client talking only to
    /// that address.
    pub fn open_udp(&self, bind: &str, connect: Option<&str>, options: UdpOptions) -> SessionId {
        let session = self.new_session_id();
        self.execute(Command::OpenUdp {
            session,
            bind: bind.to_string(),
            connect: connect.map(str::to_string),
            options,
        });
        session
    }

    pub fn send(&self, session: SessionId, target: Target, data: impl Into<Vec<u8>>) {
        self.execute(Command::Send {
            session,
            target,
            data: Payload::Bytes(data.into()),
        });
    }

    /// The events, oldest first. The channel is bounded; see [`EVENT_CHANNEL_CAPACITY`].
    pub fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    /// Makes the net thread fail as a broken poll (`panic: false`) or a bug (`panic: true`)
    /// would, so tests can check that the owner shows [`EventKind::EngineFailed`].
    #[cfg(feature = "testing")]
    pub fn inject_failure(&self, panic: bool) {
        if let Some(inbox) = &self.inbox
            && inbox.send(Inbox::InjectFailure { panic }).is_ok()
        {
            let _ = self.waker.wake();
        }
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "unknown panic".into()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(inbox) = self.inbox.take() {
            let _ = inbox.send(Inbox::Shutdown);
        }
        let _ = self.waker.wake();
        // Disconnects the event channel, so a thread blocked handing over its last event
        // (after a failure) returns instead of deadlocking this join.
        self.events = crossbeam_channel::never();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
