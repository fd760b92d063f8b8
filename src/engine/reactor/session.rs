//! A session's state on the net thread: its role (server or client) with what that role
//! holds, the connections that sends and relays go to, and its jobs (repeat, capture).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::Token;

use crate::engine::capture::Capture;
use crate::engine::command::{ClientOptions, ServerOptions, UdpOptions};
use crate::engine::event::{Counters, UdpStats};
use crate::engine::framing::FramingSpec;
use crate::engine::ids::{ConnId, SessionId};
use crate::engine::options::SocketOptions;
use crate::engine::repeat::Repeat;
use crate::engine::responder::Responder;
use crate::engine::tls::{ClientConfigs, ServerConfigs};
use crate::engine::transport::{Listener, Stream};

pub(super) enum Role {
    Server(ServerState),
    Client(ClientState),
    Udp(Box<UdpState>),
}

pub(super) struct ServerState {
    pub listener: Option<(Token, Box<dyn Listener>)>,
    pub options: ServerOptions,
    /// Built from `options.tls` when the session started.
    pub tls: Option<ServerConfigs>,
    /// Accepting failed for lack of descriptors: retrying on a timer (an edge-triggered
    /// listener would not report the waiting clients again), the error already said once.
    pub accept_paused: bool,
}

/// A UDP session: one datagram socket, the addresses it has talked with, and what waits
/// for the socket to take it.
pub(super) struct UdpState {
    pub socket: Option<(Token, mio::net::UdpSocket)>,
    /// The socket's own address (sockname), once open.
    pub local: Option<SocketAddr>,
    /// Where to bind once a name lookup of the connect address answers.
    pub bind: Option<SocketAddr>,
    /// A UDP client's one peer.
    pub connected: Option<SocketAddr>,
    pub options: UdpOptions,
    pub peers: HashMap<SocketAddr, Peer>,
    /// Peers by id, in the order they came: `Target::All` and `Target::One` use it.
    pub peer_order: BTreeMap<ConnId, SocketAddr>,
    pub last_sender: Option<SocketAddr>,
    /// Every datagram of the socket, including those of peers the table had no room for.
    pub totals: Arc<Counters>,
    pub stats: Arc<UdpStats>,
    pub queue: VecDeque<Outgoing>,
    pub queued_bytes: usize,
    /// The kernel may hold more datagrams (edge-triggered readiness not yet drained).
    pub read_pending: bool,
    pub in_read_list: bool,
    /// The peers table was full once and said so.
    pub peers_full_reported: bool,
}

impl UdpState {
    pub fn new(options: UdpOptions) -> Self {
        UdpState {
            socket: None,
            local: None,
            bind: None,
            connected: None,
            options,
            peers: HashMap::new(),
            peer_order: BTreeMap::new(),
            last_sender: None,
            totals: Arc::default(),
            stats: Arc::default(),
            queue: VecDeque::new(),
            queued_bytes: 0,
            read_pending: false,
            in_read_list: false,
            peers_full_reported: false,
        }
    }
}

pub(super) struct Peer {
    pub id: ConnId,
    pub counters: Arc<Counters>,
}

/// A datagram waiting for the socket to take it.
pub(super) struct Outgoing {
    pub to: SocketAddr,
    pub data: Arc<[u8]>,
    /// Reported in `DatagramsSent` (file datagrams only count).
    pub report: bool,
}

pub(super) struct ClientState {
    pub connecting: Option<Connecting>,
    pub timeout: Duration,
    pub options: ClientOptions,
    /// Built from `options.tls` when the session started.
    pub tls: Option<ClientConfigs>,
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
    /// How its connections cut what they read into messages (kept across restarts).
    pub framing: FramingSpec,
    /// Rules answering its messages (kept across restarts).
    pub responder: Option<Arc<Responder>>,
    /// `Received` events carry the bytes; off, `ReceivedSize` gives only their sizes.
    pub report_data: bool,
    /// `{{counter}}` of the owner's templated sends and repeat ticks.
    pub sends_counted: u64,
    /// `{{counter:global}}`: every templated payload the session rendered.
    pub global_counted: u64,
}

impl Session {
    /// A session that has not started anything yet (e.g. a capture chosen before start).
    pub fn idle() -> Self {
        Session {
            role: Role::Client(ClientState {
                connecting: None,
                timeout: Duration::ZERO,
                options: ClientOptions::default(),
                tls: None,
            }),
            members: BTreeSet::new(),
            attempt: 0,
            resolving: false,
            repeat: None,
            capture: None,
            framing: FramingSpec::default(),
            responder: None,
            report_data: true,
            sends_counted: 0,
            global_counted: 0,
        }
    }

    pub fn is_server(&self) -> bool {
        matches!(self.role, Role::Server(_))
    }

    /// A TCP session's socket options.
    pub fn socket_options(&self) -> Option<&SocketOptions> {
        match &self.role {
            Role::Server(server) => Some(&server.options.socket),
            Role::Client(client) => Some(&client.options.socket),
            Role::Udp(_) => None,
        }
    }

    pub fn server(&self) -> Option<&ServerState> {
        match &self.role {
            Role::Server(server) => Some(server),
            _ => None,
        }
    }

    /// The user's close (Disconnect, kick, Stop) sends RST instead of FIN.
    pub fn resets_on_close(&self) -> bool {
        match &self.role {
            Role::Server(server) => server.options.socket.reset_on_close,
            Role::Client(client) => client.options.socket.reset_on_close,
            Role::Udp(_) => false,
        }
    }

    pub fn server_mut(&mut self) -> Option<&mut ServerState> {
        match &mut self.role {
            Role::Server(server) => Some(server),
            _ => None,
        }
    }

    pub fn client_mut(&mut self) -> Option<&mut ClientState> {
        match &mut self.role {
            Role::Client(client) => Some(client),
            _ => None,
        }
    }

    pub fn udp(&self) -> Option<&UdpState> {
        match &self.role {
            Role::Udp(udp) => Some(udp),
            _ => None,
        }
    }

    pub fn udp_mut(&mut self) -> Option<&mut UdpState> {
        match &mut self.role {
            Role::Udp(udp) => Some(udp),
            _ => None,
        }
    }

    pub fn connecting_mut(&mut self) -> Option<&mut Connecting> {
        self.client_mut()?.connecting.as_mut()
    }
}

/// Events left out while the owner was behind, reported as counts once it catches up.
#[derive(Default)]
pub(super) struct Missed {
    pub messages: u64,
    pub message_bytes: u64,
    /// Rule replies refused while the owner was behind.
    pub refused_replies: u64,
    pub lines: u64,
    pub datagrams: u64,
    pub datagram_bytes: u64,
    pub sends: u64,
    pub send_bytes: u64,
}

/// Sessions that missed events, so only they are visited when the owner catches up.
pub(super) type MissedBySession = HashMap<SessionId, Missed>;
