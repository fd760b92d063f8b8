//! Stable identities handed out by the engine. Their numbers are private: an owner gets
//! them from the engine, compares and hashes them, and shows them with `Display`.

use std::fmt;

/// A server or client socket of the engine; stable for the session's whole life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(u64);

/// One connection (accepted or made); unique across the engine's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(u64);

/// A file transfer; unique across the engine's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransferId(u64);

impl SessionId {
    /// The sender of [`EventKind::EngineFailed`](super::EventKind::EngineFailed): no
    /// session has it, since session numbers start at 1.
    pub const ENGINE: SessionId = SessionId(0);

    pub(crate) fn new(raw: u64) -> Self {
        SessionId(raw)
    }

    /// The number, e.g. to key per-session widget state.
    pub fn get(self) -> u64 {
        self.0
    }

    /// An id no engine hands out, for a session built by hand in a test or benchmark.
    #[cfg(feature = "testing")]
    pub fn for_test(raw: u64) -> Self {
        SessionId(raw)
    }
}

impl ConnId {
    pub(crate) fn new(raw: u64) -> Self {
        ConnId(raw)
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

impl TransferId {
    pub(crate) fn new(raw: u64) -> Self {
        TransferId(raw)
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

/// `#7`, the way logs and the command line name a connection.
impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}
