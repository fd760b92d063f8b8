//! A session's state on the net thread: its role (server or client) with what that role
//! holds, the connections that sends and relays go to, and its jobs (repeat, capture).

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::Token;

use crate::engine::capture::Capture;
use crate::engine::command::ServerOptions;
use crate::engine::ids::SessionId;
use crate::engine::repeat::Repeat;
use crate::engine::transport::{Listener, Stream};

pub(super) enum Role {
    Server(ServerState),
    Client(ClientState),
}

pub(super) struct ServerState {
    pub listener: Option<(Token, Box<dyn Listener>)>,
    pub options: ServerOptions,
    /// Accepting failed for lack of descriptors: retrying on a timer (an edge-triggered
    /// listener would not report the waiting clients again), the error already said once.
    pub accept_paused: bool,
}

pub(super) struct ClientState {
    pub connecting: Option<Connecting>,
    pub timeout: Duration,
}

/// A client's connect in progress: the address being tried and those left.
pub(super) struct Connecting {
    pub attempt: Option<(Token, Box<dyn Stream>)>,
    pub remaining: Vec<SocketAddr>,
    pub deadline: Instant,
    pub last_error: Option<String>,
}

pub(super) struct Session {
    pub role: Role,
    /// Live connections that sends and chat relays go to, in the order they came.
    pub members: BTreeSet<Token>,
    /// Bumped by every Listen/Connect/Stop so late resolver answers are ignored.
    pub attempt: u64,
    /// A name lookup for the current attempt is running.
    pub resolving: bool,
    pub repeat: Option<Repeat>,
    pub capture: Option<Capture>,
}

impl Session {
    /// A session that has not started anything yet (e.g. a capture chosen before start).
    pub fn idle() -> Self {
        Session {
            role: Role::Client(ClientState {
                connecting: None,
                timeout: Duration::ZERO,
            }),
            members: BTreeSet::new(),
            attempt: 0,
            resolving: false,
            repeat: None,
            capture: None,
        }
    }

    pub fn is_server(&self) -> bool {
        matches!(self.role, Role::Server(_))
    }

    pub fn server_mut(&mut self) -> Option<&mut ServerState> {
        match &mut self.role {
            Role::Server(server) => Some(server),
            Role::Client(_) => None,
        }
    }

    pub fn client_mut(&mut self) -> Option<&mut ClientState> {
        match &mut self.role {
            Role::Client(client) => Some(client),
            Role::Server(_) => None,
        }
    }

    pub fn connecting_mut(&mut self) -> Option<&mut Connecting> {
        self.client_mut()?.connecting.as_mut()
    }
}

/// Events left out while the owner was behind, reported as counts once it catches up.
#[derive(Default)]
pub(super) struct Missed {
    pub lines: u64,
    pub sends: u64,
    pub send_bytes: u64,
}

/// Sessions that missed events, so only they are visited when the owner catches up.
pub(super) type MissedBySession = HashMap<SessionId, Missed>;
