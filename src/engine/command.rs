//! What the owner of an [`Engine`](super::Engine) asks of it.

use std::path::PathBuf;
use std::time::Duration;

use super::ids::{ConnId, SessionId, TransferId};

/// Which connections of a session a send goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Every connection of the session (a client session has at most one).
    All,
    One(ConnId),
}

/// How to close a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseHow {
    /// Send what is queued, then FIN.
    Graceful,
    /// Drop what is queued and send RST (SO_LINGER 0).
    Abort,
}

/// Options of a server session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerOptions {
    /// Relay every line to every client, stamped with time and sender.
    pub chat: bool,
}

#[derive(Debug)]
pub enum Command {
    /// Start (or restart) a server session listening on `addr` (`host:port`).
    Listen {
        session: SessionId,
        addr: String,
        options: ServerOptions,
    },
    /// Connect (or reconnect) a client session to `addr`; an existing connection is closed first.
    Connect {
        session: SessionId,
        addr: String,
        timeout: Duration,
    },
    Send {
        session: SessionId,
        target: Target,
        data: Vec<u8>,
    },
    Close {
        session: SessionId,
        conn: ConnId,
        how: CloseHow,
    },
    /// Send what is queued, then shut down the writing half; keep reading until the peer closes.
    FinishSending {
        session: SessionId,
    },
    /// Server: stop listening and close every connection. Client: close its connection.
    Stop {
        session: SessionId,
    },
    /// Stop, then forget the session.
    Remove {
        session: SessionId,
    },
    /// Send `data` every `interval` (1 ms at least), `count` times or until stopped.
    Repeat {
        session: SessionId,
        target: Target,
        data: Vec<u8>,
        interval: Duration,
        count: Option<u64>,
    },
    StopRepeat {
        session: SessionId,
    },
    /// Stream a file to the target, a chunk at a time.
    SendFile {
        session: SessionId,
        target: Target,
        path: PathBuf,
        transfer: TransferId,
    },
    CancelTransfer {
        session: SessionId,
        transfer: TransferId,
    },
    /// Write every byte the session receives to `path` (replacing any earlier capture);
    /// `None` ends the capture.
    Capture {
        session: SessionId,
        path: Option<PathBuf>,
    },
}
