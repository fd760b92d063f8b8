//! What the engine reports to its owner. Every event carries its session and its time.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use chrono::{DateTime, Local};

use super::command::{Membership, UdpOptions};
use super::framing::MessageMark;
use super::ids::{ConnId, SessionId, TransferId};
use super::options::OptionsInEffect;
use super::tls::TlsInfo;

#[derive(Debug)]
pub struct Event {
    pub time: DateTime<Local>,
    pub session: SessionId,
    pub kind: EventKind,
}

#[derive(Debug)]
pub enum EventKind {
    /// The server is bound; `local` is the real address (port 0 resolved).
    Listening {
        local: SocketAddr,
    },
    /// The listener's socket options in effect, read back right after `Listening`.
    ListenerOptions {
        options: OptionsInEffect,
    },
    /// The server could not start (bad address, address in use, …).
    ListenFailed {
        error: String,
    },
    /// The server stopped listening; each of its connections got its own `Closed`.
    Stopped,
    /// A client session started connecting to one resolved address.
    Connecting {
        peer: SocketAddr,
    },
    /// A client session could not connect (refused, timed out, name not found, …).
    ConnectFailed {
        error: String,
    },
    /// A connection is up: accepted by a server, or made by a client.
    Connected(ConnInfo),
    /// Messages read from a connection, back to back in `data`, cut by the session's
    /// framing (raw: one per read). Chat sessions report lines instead.
    Received {
        conn: ConnId,
        data: Vec<u8>,
        messages: Vec<MessageMark>,
    },
    /// What was read from a connection of a session that reports sizes only
    /// (`Command::ReportData`): `bytes` in `messages` messages, cut by its framing.
    ReceivedSize {
        conn: ConnId,
        bytes: u64,
        messages: u64,
    },
    /// A UDP session is open: bound to `local`, and `connect()`ed to `peer` for a UDP
    /// client. `totals` counts every datagram of the socket, `stats` what the kernel lost.
    UdpOpened {
        local: SocketAddr,
        peer: Option<SocketAddr>,
        totals: Arc<Counters>,
        stats: Arc<UdpStats>,
    },
    /// A UDP session could not open (bad address, address in use, name not found, …).
    UdpFailed {
        error: String,
    },
    /// The UDP options in effect, read back from the socket after opening or a change.
    UdpOptionsApplied {
        options: UdpOptions,
    },
    /// A UDP session heard from, or sent to, an address for the first time.
    PeerSeen(PeerInfo),
    /// Datagrams read from a UDP session, oldest first, one per datagram.
    DatagramsReceived {
        datagrams: Vec<Datagram>,
    },
    /// Datagrams the owner sent, each handed to the kernel whole.
    DatagramsSent {
        datagrams: Vec<Datagram>,
    },
    /// Datagrams received while the owner was not reading events, reported once it caught
    /// up (left out to keep memory bounded; the socket kept reading). Counters stay exact.
    DatagramsUnreported {
        count: u64,
        bytes: u64,
    },
    Joined {
        membership: Membership,
    },
    Left {
        membership: Membership,
    },
    /// Bytes the owner sent that have been fully handed to the kernel.
    Sent {
        conn: ConnId,
        data: Arc<[u8]>,
    },
    /// A chat server relayed one line from `conn`.
    ChatLine {
        conn: ConnId,
        peer: SocketAddr,
        line: Vec<u8>,
    },
    /// Messages a responder session read and answered while the owner was not reading
    /// events (left out to keep memory bounded). Counters stay exact.
    ReceivedUnreported {
        messages: u64,
        bytes: u64,
    },
    /// The chat relay went on while the owner was not reading events: this many lines
    /// were relayed but not reported. Counters stay exact.
    LinesUnreported {
        count: u64,
    },
    /// A TLS connection's handshake finished: what was agreed on and who the peer is.
    /// Received and sent bytes are the decrypted ones.
    TlsEstablished {
        conn: ConnId,
        info: Arc<TlsInfo>,
    },
    /// The peer finished sending (its FIN, or TLS close_notify then FIN): nothing more
    /// will arrive, but we can still send until we close or finish sending too.
    PeerFinished {
        conn: ConnId,
    },
    /// The writing half of a connection is shut down (after `FinishSending`).
    SendingFinished {
        conn: ConnId,
    },
    /// A connection ended. Exactly one per connection.
    Closed {
        conn: ConnId,
        reason: CloseReason,
        /// Bytes the owner had queued that never reached the kernel.
        unsent: u64,
    },
    /// A command could not be carried out; the message says why in plain words.
    Error {
        message: String,
    },
    /// The net thread stopped for good (its poll failed, or a bug made it panic): every
    /// socket is gone and no further event will come. Sent once, as the last event, with
    /// [`SessionId::ENGINE`] as its session.
    EngineFailed {
        error: String,
    },
    /// Sends completed while the owner was not reading events, reported once it caught up
    /// (their `Sent` events were left out to keep memory bounded). Counters stay exact.
    SendsUnreported {
        messages: u64,
        bytes: u64,
    },
    /// A repeat began; `sent` counts its ticks live.
    RepeatStarted {
        sent: Arc<AtomicU64>,
        count: Option<u64>,
    },
    RepeatFinished {
        sent: u64,
        end: RepeatEnd,
    },
    /// A file was opened for sending; `sent` counts bytes handed to the connection live.
    TransferStarted {
        transfer: TransferId,
        path: PathBuf,
        size: u64,
        sent: Arc<AtomicU64>,
    },
    TransferFinished {
        transfer: TransferId,
        path: PathBuf,
        sent: u64,
        outcome: TransferOutcome,
    },
    CaptureStarted {
        path: PathBuf,
    },
    /// The capture file is closed; `bytes` were written to it.
    CaptureStopped {
        path: PathBuf,
        bytes: u64,
        error: Option<String>,
    },
}

impl EventKind {
    /// `Received` of one whole message: what a raw-framed session reports for one read.
    pub fn received_raw(conn: ConnId, data: Vec<u8>) -> EventKind {
        let messages = vec![MessageMark {
            end: data.len(),
            delimiter: 0,
            cut: super::framing::Cut::Whole,
            checksum_ok: None,
        }];
        EventKind::Received {
            conn,
            data,
            messages,
        }
    }
}

/// Both ends of a connection and its live counters.
#[derive(Clone, Debug)]
pub struct ConnInfo {
    pub conn: ConnId,
    /// Our end (sockname).
    pub local: SocketAddr,
    /// The other end (peername).
    pub peer: SocketAddr,
    pub counters: Arc<Counters>,
    /// The socket options in effect on this connection, read back when it came up.
    pub options: OptionsInEffect,
    /// A TLS connection (its handshake may still be running: see `TlsEstablished`).
    pub tls: bool,
}

/// One UDP peer: an address a UDP session received from or sent to.
#[derive(Clone, Debug)]
pub struct PeerInfo {
    /// The peer's id, for [`Target::One`](super::Target::One).
    pub peer: ConnId,
    pub addr: SocketAddr,
    pub first_seen: DateTime<Local>,
    /// Datagrams (messages) and bytes in and out, and when it was last heard from.
    pub counters: Arc<Counters>,
}

/// One datagram, received or sent.
#[derive(Clone, Debug)]
pub struct Datagram {
    /// `None` once the peers table is full: the datagram still counts in the totals.
    pub peer: Option<ConnId>,
    /// Where it came from, or went to.
    pub addr: SocketAddr,
    pub data: Arc<[u8]>,
    /// It was larger than the receive buffer and was cut (never, with a 64 KiB buffer).
    pub truncated: bool,
    /// The session's checksum over it checked out (received datagrams; `None`: no check).
    pub checksum_ok: Option<bool>,
}

/// What a UDP session's kernel side reports: datagrams cut short and datagrams the kernel
/// dropped because the socket's receive buffer was full (Linux only, read once a second).
#[derive(Debug, Default)]
pub struct UdpStats {
    truncated: AtomicU64,
    kernel_drops: AtomicU64,
    kernel_drops_known: AtomicBool,
}

impl UdpStats {
    pub fn truncated(&self) -> u64 {
        self.truncated.load(Ordering::Relaxed)
    }
    /// Datagrams the kernel dropped for lack of room, when the platform tells.
    pub fn kernel_drops(&self) -> Option<u64> {
        self.kernel_drops_known
            .load(Ordering::Relaxed)
            .then(|| self.kernel_drops.load(Ordering::Relaxed))
    }
    pub(crate) fn add_truncated(&self) {
        self.truncated.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn set_kernel_drops(&self, drops: u64) {
        self.kernel_drops.store(drops, Ordering::Relaxed);
        self.kernel_drops_known.store(true, Ordering::Relaxed);
    }
}

/// Byte and message counters of one connection, updated by the net thread as it reads and
/// writes, read by anyone at any time. Exact even when the log drops rows or events.
#[derive(Debug, Default)]
pub struct Counters {
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    messages_in: AtomicU64,
    messages_out: AtomicU64,
    /// Milliseconds since the Unix epoch of the last datagram received (UDP peers only).
    last_in_ms: AtomicI64,
    /// Bytes read that do not yet make a whole message under the session's framing.
    waiting: AtomicU64,
}

impl Counters {
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in.load(Ordering::Relaxed)
    }
    pub fn bytes_out(&self) -> u64 {
        self.bytes_out.load(Ordering::Relaxed)
    }
    /// Messages received: as the session's framing cuts them (raw: reads that returned data;
    /// UDP: datagrams).
    pub fn messages_in(&self) -> u64 {
        self.messages_in.load(Ordering::Relaxed)
    }
    /// Payloads (sends, relays, file chunks) handed to the kernel completely.
    pub fn messages_out(&self) -> u64 {
        self.messages_out.load(Ordering::Relaxed)
    }
    /// When the last datagram came (UDP peers; `None` for TCP and for silent peers).
    pub fn last_in(&self) -> Option<DateTime<Local>> {
        let ms = self.last_in_ms.load(Ordering::Relaxed);
        (ms != 0).then(|| DateTime::from_timestamp_millis(ms).map(|t| t.with_timezone(&Local)))?
    }
    pub(crate) fn set_last_in(&self, unix_ms: i64) {
        self.last_in_ms.store(unix_ms, Ordering::Relaxed);
    }
    /// Bytes read that wait for the rest of their message ("12 bytes waiting").
    pub fn waiting(&self) -> u64 {
        self.waiting.load(Ordering::Relaxed)
    }
    pub(crate) fn set_waiting(&self, bytes: usize) {
        self.waiting.store(bytes as u64, Ordering::Relaxed);
    }
    /// One message of `bytes` (a datagram).
    pub(crate) fn add_in(&self, bytes: usize) {
        self.add_bytes_in(bytes);
        self.add_messages_in(1);
    }
    pub(crate) fn add_bytes_in(&self, bytes: usize) {
        self.bytes_in.fetch_add(bytes as u64, Ordering::Relaxed);
    }
    pub(crate) fn add_messages_in(&self, messages: usize) {
        self.messages_in
            .fetch_add(messages as u64, Ordering::Relaxed);
    }
    pub(crate) fn add_out(&self, bytes: usize) {
        self.bytes_out.fetch_add(bytes as u64, Ordering::Relaxed);
    }
    pub(crate) fn add_message_out(&self) {
        self.messages_out.fetch_add(1, Ordering::Relaxed);
    }
}

/// Why a connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer sent FIN.
    PeerClosed,
    /// The peer sent RST.
    PeerReset,
    /// We closed it gracefully (client disconnect, server kick).
    Closed,
    /// We closed it with RST.
    Aborted,
    /// Its server was stopped.
    ServerStopped,
    /// Chat: the client sent `quit`.
    Quit,
    /// Chat: the client did not read and its outbound queue overflowed.
    TooSlow,
    /// Chat: a line grew past the limit without a newline.
    LineTooLong,
    /// The graceful close could not send what was queued in time.
    LingerTimeout,
    /// A responder rule (numbered from 1) closed it.
    ByRule(usize),
    /// The TLS handshake failed: the alert, or why the certificate was refused.
    TlsFailed(String),
    /// Any other I/O error, as text.
    Io(String),
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::PeerClosed => write!(f, "peer closed"),
            CloseReason::PeerReset => write!(f, "reset by peer"),
            CloseReason::Closed => write!(f, "closed by us"),
            CloseReason::Aborted => write!(f, "aborted (RST sent)"),
            CloseReason::ServerStopped => write!(f, "server stopped"),
            CloseReason::Quit => write!(f, "quit"),
            CloseReason::TooSlow => write!(f, "too slow"),
            CloseReason::LineTooLong => write!(
                f,
                "line too long (over {} bytes)",
                super::chat::MAX_LINE_BYTES
            ),
            CloseReason::LingerTimeout => write!(f, "closed before the peer read everything"),
            CloseReason::ByRule(rule) => write!(f, "closed by rule {rule}"),
            CloseReason::TlsFailed(text) => write!(f, "TLS handshake failed: {text}"),
            CloseReason::Io(text) => write!(f, "{text}"),
        }
    }
}

/// How a repeat ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RepeatEnd {
    /// It sent the number of times asked.
    Done,
    /// The owner stopped it.
    Stopped,
    /// Its target has no open connection (UDP: no peer to send to).
    NoConnection,
    /// The peer stopped reading and the send queue hit its limit.
    PeerNotReading,
}

impl fmt::Display for RepeatEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RepeatEnd::Done => "done",
            RepeatEnd::Stopped => "stopped",
            RepeatEnd::NoConnection => "no connection to send to",
            RepeatEnd::PeerNotReading => "the peer is not reading (send queue full)",
        })
    }
}

/// How a transfer ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferOutcome {
    /// Every byte of the file was handed to the connection.
    Completed,
    Cancelled,
    Failed(String),
}
