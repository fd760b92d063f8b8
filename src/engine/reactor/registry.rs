//! The one place that hands out mio tokens and knows what each one stands for. Tokens are
//! never reused, so a late readiness event for a closed socket finds nothing instead of
//! a stranger.

use std::collections::HashMap;
use std::io;

use mio::event::Source;
use mio::{Interest, Poll, Token};

use crate::engine::ids::SessionId;

/// The waker's token; registered sockets start after it.
pub(crate) const WAKER: Token = Token(0);

/// What a registered token belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Owner {
    /// A session's listening socket.
    Listener(SessionId),
    /// A client session's connect in progress.
    Connecting(SessionId),
    /// A live connection, found in the reactor's connections by this token.
    Conn,
    /// A UDP session's socket.
    Udp(SessionId),
}

pub(super) struct Registry {
    poll: Poll,
    owners: HashMap<Token, Owner>,
    next: usize,
}

impl Registry {
    pub fn new(poll: Poll) -> Self {
        Registry {
            poll,
            owners: HashMap::new(),
            next: WAKER.0 + 1,
        }
    }

    pub fn poll(&mut self) -> &mut Poll {
        &mut self.poll
    }

    /// Watches `source` under a fresh token.
    pub fn register(
        &mut self,
        source: &mut dyn Source,
        interest: Interest,
        owner: Owner,
    ) -> io::Result<Token> {
        let token = Token(self.next);
        self.poll.registry().register(source, token, interest)?;
        self.next += 1;
        self.owners.insert(token, owner);
        Ok(token)
    }

    /// Stops watching `source` and frees its token.
    pub fn deregister(&mut self, source: &mut dyn Source, token: Token) {
        self.owners.remove(&token);
        // Failing means the kernel already forgot it (the socket is closing anyway).
        let _ = self.poll.registry().deregister(source);
    }

    pub fn owner(&self, token: Token) -> Option<Owner> {
        self.owners.get(&token).copied()
    }

    /// The same socket under the same token now stands for something else (a finished
    /// connect becomes a connection).
    pub fn reassign(&mut self, token: Token, owner: Owner) {
        if let Some(slot) = self.owners.get_mut(&token) {
            *slot = owner;
        }
    }
}
