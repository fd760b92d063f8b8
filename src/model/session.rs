//! What socklab knows about one socket, built only from engine events: state, both
//! addresses, the connection table (or, for UDP, the peers table, options and groups in
//! `udp.rs`), counters, jobs (repeat, file, capture), the log and the draft payload being
//! composed for it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Local, Utc};

use super::filter::{Filter, FilteredRows};
use super::log::{Direction, Log, LogRow, RowNote};
use super::persist::{SavedPayload, SavedSocket, SavedUdp, SavedUdpOptions};
use super::responder::{FramingState, RulesState};
use super::tls::TlsSide;
use super::udp::{DEFAULT_CLIENT_BIND, DEFAULT_DATAGRAM_SIZE, UdpSide};
use crate::engine::framing::{Cut, MessageMark};
use crate::engine::options::{OptionsInEffect, SocketOptions};
use crate::engine::tls::TlsInfo;
use crate::engine::{ClientOptions, Payload};
use crate::engine::{
    CloseReason, Command, ConnId, ConnInfo, Counters, DEFAULT_CONNECT_TIMEOUT, Datagram, EventKind,
    PeerInfo, ServerOptions, SessionId, Target, TransferId, TransferOutcome,
};
use crate::payload::{
    ByteOrder, Checksum, ChecksumKind, LineEnding, PayloadError, PayloadFormat, PayloadSpec,
    Template, TemplateValues, TextEncoding,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Server {
        chat: bool,
    },
    Client,
    /// A UDP socket bound to the session's address: hears anyone, sends anywhere.
    Udp,
    /// A `connect()`ed UDP socket: talks to the session's address only.
    UdpClient,
}

impl Kind {
    pub fn is_udp(self) -> bool {
        matches!(self, Kind::Udp | Kind::UdpClient)
    }

    /// How the kind is named in the window.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Server { chat: true } => "TCP server · group chat",
            Kind::Server { chat: false } => "TCP server",
            Kind::Client => "TCP client",
            Kind::Udp => "UDP socket",
            Kind::UdpClient => "UDP client",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    Starting,
    Listening,
    Connecting,
    Connected,
    /// A UDP socket is bound (and, for a UDP client, connected).
    Open,
    /// Stopped by the user, a client whose connection ended, or restored from last run.
    Stopped,
    Failed(String),
}

impl State {
    pub fn label(&self) -> &str {
        match self {
            State::Starting => "starting",
            State::Listening => "listening",
            State::Connecting => "connecting",
            State::Connected => "connected",
            State::Open => "open",
            State::Stopped => "stopped",
            State::Failed(_) => "error",
        }
    }

    pub fn is_active(&self) -> bool {
        matches!(self, State::Listening | State::Connected | State::Open)
    }
}

/// Bytes and messages, in and out: a snapshot of counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub messages_in: u64,
    pub messages_out: u64,
}

impl Totals {
    pub fn of(counters: &Counters) -> Self {
        Totals {
            bytes_in: counters.bytes_in(),
            bytes_out: counters.bytes_out(),
            messages_in: counters.messages_in(),
            messages_out: counters.messages_out(),
        }
    }

    fn add(&mut self, other: Totals) {
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.messages_in += other.messages_in;
        self.messages_out += other.messages_out;
    }

    /// `self - since`, never below zero (a reset baseline of a connection that has closed).
    pub fn since(self, since: Totals) -> Totals {
        Totals {
            bytes_in: self.bytes_in.saturating_sub(since.bytes_in),
            bytes_out: self.bytes_out.saturating_sub(since.bytes_out),
            messages_in: self.messages_in.saturating_sub(since.messages_in),
            messages_out: self.messages_out.saturating_sub(since.messages_out),
        }
    }
}

/// Seconds of rate history kept for the chart: one sample a second.
pub const RATE_HISTORY: usize = 60;

/// Bytes and messages per second, in and out, over one sampling interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateSample {
    /// When the interval ended.
    pub at: Instant,
    pub bytes_in_per_s: f64,
    pub bytes_out_per_s: f64,
    pub messages_in_per_s: f64,
    pub messages_out_per_s: f64,
}

/// Rates from counter samples about a second apart: the latest for the status line, and the
/// last minute of them (a bounded ring) for the rate chart.
#[derive(Debug, Default)]
pub struct Rates {
    last: Option<(Instant, Totals)>,
    pub bytes_in_per_s: f64,
    pub bytes_out_per_s: f64,
    history: VecDeque<RateSample>,
}

impl Rates {
    /// Takes a sample when a second or more has passed since the last one; cheap otherwise.
    pub fn sample(&mut self, now: Instant, totals: Totals) {
        match self.last {
            Some((at, before)) if now.duration_since(at).as_secs_f64() >= 1.0 => {
                let seconds = now.duration_since(at).as_secs_f64();
                let per_s = |now: u64, before: u64| now.saturating_sub(before) as f64 / seconds;
                let sample = RateSample {
                    at: now,
                    bytes_in_per_s: per_s(totals.bytes_in, before.bytes_in),
                    bytes_out_per_s: per_s(totals.bytes_out, before.bytes_out),
                    messages_in_per_s: per_s(totals.messages_in, before.messages_in),
                    messages_out_per_s: per_s(totals.messages_out, before.messages_out),
                };
                self.bytes_in_per_s = sample.bytes_in_per_s;
                self.bytes_out_per_s = sample.bytes_out_per_s;
                if self.history.len() == RATE_HISTORY {
                    self.history.pop_front();
                }
                self.history.push_back(sample);
                self.last = Some((now, totals));
            }
            Some(_) => {}
            None => self.last = Some((now, totals)),
        }
    }

    /// The samples of the last minute at most, oldest first.
    pub fn history(&self) -> impl ExactSizeIterator<Item = &RateSample> {
        self.history.iter()
    }
}

/// A live connection as the table shows it.
#[derive(Clone, Debug)]
pub struct ConnRow {
    pub info: ConnInfo,
    pub since: DateTime<Local>,
    /// Kicked: the engine no longer sends to it; the row goes when its close completes.
    pub closing: bool,
    /// TLS: what the handshake agreed on, once it finished.
    pub tls: Option<Arc<TlsInfo>>,
    /// The peer finished sending (half-closed by the peer); we may still send.
    pub peer_finished: bool,
    /// We finished sending (our FIN went out); we may still receive.
    pub sending_finished: bool,
}

impl ConnRow {
    /// Sends may still go to it.
    pub fn takes_sends(&self) -> bool {
        !self.closing && !self.sending_finished
    }

    /// Its state in words, for the client table and the header: which halves are done.
    pub fn state_label(&self) -> &'static str {
        match (self.closing, self.peer_finished, self.sending_finished) {
            (true, _, _) => "closing",
            (false, true, false) => "peer finished sending",
            (false, false, true) => "sending finished",
            (false, true, true) => "both finished",
            (false, false, false) => "open",
        }
    }
}

/// The payload being composed for a socket, as typed, with its settings.
#[derive(Debug)]
pub struct Composer {
    pub text: String,
    pub format: PayloadFormat,
    pub line_ending: LineEnding,
    /// Milliseconds between repeated sends, as typed.
    pub repeat_interval: String,
    /// How many sends; empty means until stopped.
    pub repeat_count: String,
    /// UDP files: bytes per datagram, as typed.
    pub datagram_size: String,
    /// UDP files: datagrams per second, as typed (0: as fast as possible).
    pub datagrams_per_second: String,
    /// Appended to what is sent (before the line ending).
    pub checksum: Option<ChecksumKind>,
    /// The order a checksum wider than a byte is written in.
    pub checksum_order: ByteOrder,
    /// `{{…}}` are variables, filled in at each send; off, they go as typed.
    pub variables: bool,
}

impl Default for Composer {
    fn default() -> Self {
        Composer {
            text: String::new(),
            format: PayloadFormat::Text,
            line_ending: LineEnding::Lf,
            repeat_interval: "1000".into(),
            repeat_count: "10".into(),
            datagram_size: DEFAULT_DATAGRAM_SIZE.to_string(),
            datagrams_per_second: "0".into(),
            checksum: None,
            checksum_order: ByteOrder::Big,
            variables: true,
        }
    }
}

/// What the session's top pane shows besides its own page (clients, or a UDP socket's
/// peers, options or groups).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BehaviourPage {
    Framing,
    Responder,
}

/// A repeat in progress, counted live by the engine.
#[derive(Debug)]
pub struct RepeatStatus {
    pub sent: Arc<AtomicU64>,
    pub count: Option<u64>,
}

/// A file transfer in progress.
#[derive(Debug)]
pub struct TransferStatus {
    pub id: TransferId,
    pub path: PathBuf,
    pub size: u64,
    pub sent: Arc<AtomicU64>,
}

#[derive(Debug)]
pub struct Session {
    pub id: SessionId,
    pub kind: Kind,
    /// The address as the user typed it; restarts and reconnects use it again.
    pub addr: String,
    pub state: State,
    /// Our address: the listener's for a server, the connection's for a client.
    pub local: Option<SocketAddr>,
    /// The client's peer; servers show peers per connection.
    pub peer: Option<SocketAddr>,
    /// When the current listen or connection began, for the uptime.
    pub since: Option<DateTime<Local>>,
    /// Live connections by id, in the order they came (ids only grow).
    pub conns: BTreeMap<ConnId, ConnRow>,
    /// Totals of connections that have closed, so socket totals stay exact.
    closed: Totals,
    /// Subtracted from what is shown after "Reset counters"; the engine's counters never reset.
    baseline: Totals,
    conn_baselines: HashMap<ConnId, Totals>,
    pub rates: Rates,
    pub log: Log,
    pub filter: Filter,
    pub filtered: FilteredRows,
    pub target: Target,
    /// The row picked in the client table (servers).
    pub selected_conn: Option<ConnId>,
    pub composer: Composer,
    /// Encoding for typed text and for showing received text.
    pub encoding: TextEncoding,
    pub repeat: Option<RepeatStatus>,
    pub transfers: Vec<TransferStatus>,
    pub capture: Option<PathBuf>,
    /// Until the first success, a failure removes the session and shows in the new-socket form.
    pub ever_started: bool,
    /// The UDP side (options, groups, peers) of a UDP socket or client.
    pub udp: Option<UdpSide>,
    /// How received bytes are cut into messages: in effect, and the form.
    pub framing: FramingState,
    /// The rules that answer received messages: as edited, and in effect.
    pub rules: RulesState,
    /// The framing or responder page, when the top pane shows one (view state).
    pub page: Option<BehaviourPage>,
    /// TCP: the socket options asked for (kept across runs).
    pub socket_options: SocketOptions,
    /// TCP server: the listener's options in effect, read back when it started.
    pub listener_options: Option<OptionsInEffect>,
    /// TCP: TLS on or off, and its settings.
    pub tls: TlsSide,
    /// A TCP client's connect timeout (kept across runs).
    pub connect_timeout: Duration,
    /// The socket's name in the scenario whose run opened it; such sessions are not saved.
    pub scenario_socket: Option<String>,
    /// Commands an event calls for (joining groups again once a UDP socket opens), for the
    /// owner to send: the model never talks to the engine itself.
    follow_ups: Vec<Command>,
}

impl Session {
    pub fn new(id: SessionId, kind: Kind, addr: String) -> Self {
        Session {
            id,
            kind,
            addr,
            state: match kind {
                Kind::Server { .. } | Kind::Udp | Kind::UdpClient => State::Starting,
                Kind::Client => State::Connecting,
            },
            local: None,
            peer: None,
            since: None,
            conns: BTreeMap::new(),
            closed: Totals::default(),
            baseline: Totals::default(),
            conn_baselines: HashMap::new(),
            rates: Rates::default(),
            log: Log::default(),
            filter: Filter::default(),
            filtered: FilteredRows::default(),
            target: Target::All,
            selected_conn: None,
            composer: Composer::default(),
            encoding: TextEncoding::Utf8,
            repeat: None,
            transfers: Vec::new(),
            capture: None,
            ever_started: false,
            udp: kind.is_udp().then(UdpSide::default),
            framing: FramingState::default(),
            rules: RulesState::default(),
            page: None,
            socket_options: SocketOptions::default(),
            listener_options: None,
            tls: TlsSide::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            scenario_socket: None,
            follow_ups: Vec::new(),
        }
    }

    /// A new UDP socket (`addr` is where it binds) or UDP client (`addr` is its peer,
    /// `bind` its local address).
    pub fn new_udp(
        id: SessionId,
        kind: Kind,
        addr: String,
        bind: String,
        options: crate::engine::UdpOptions,
    ) -> Self {
        let mut session = Session::new(id, kind, addr);
        session.udp = Some(UdpSide::new(bind, options));
        session
    }

    /// A socket saved by an earlier run, restored stopped.
    pub fn from_saved(id: SessionId, saved: &SavedSocket) -> Self {
        let mut session = match &saved.udp {
            Some(udp) => {
                let kind = if udp.client {
                    Kind::UdpClient
                } else {
                    Kind::Udp
                };
                let mut session = Session::restored(id, kind, saved.addr.clone());
                let mut side = UdpSide::new(udp.bind.clone(), (&udp.options).into());
                for membership in udp.memberships.iter().filter_map(|m| m.membership()) {
                    side.remember(membership, false);
                }
                session.udp = Some(side);
                session
            }
            None if saved.server => {
                Session::restored(id, Kind::Server { chat: saved.chat }, saved.addr.clone())
            }
            None => Session::restored(id, Kind::Client, saved.addr.clone()),
        };
        session.encoding = saved.encoding;
        session.socket_options = saved.socket_options.clone();
        session.tls = saved.tls.clone();
        session.connect_timeout = Duration::from_millis(saved.connect_timeout_ms.max(1));
        if session.takes_rules() {
            session.framing = FramingState::new(saved.framing.clone());
            session.rules = RulesState::new(saved.responder.clone(), saved.respond);
            // What was saved is what was meant to be in effect (a rule that no longer
            // compiles shows its error instead).
            session.rules.apply();
        }
        session
    }

    /// What is saved of this socket for the next run.
    pub fn to_saved(&self) -> SavedSocket {
        SavedSocket {
            server: self.is_server(),
            chat: matches!(self.kind, Kind::Server { chat: true }),
            addr: self.addr.clone(),
            encoding: self.encoding,
            udp: self.udp.as_ref().map(|udp| SavedUdp {
                client: self.kind == Kind::UdpClient,
                bind: udp.bind.clone(),
                options: SavedUdpOptions::from(&udp.options),
                memberships: udp.wanted_memberships().map(Into::into).collect(),
            }),
            framing: self.framing.applied.clone(),
            responder: self.rules.spec.clone(),
            respond: self.rules.respond,
            socket_options: self.socket_options.clone(),
            tls: self.tls.clone(),
            connect_timeout_ms: u64::try_from(self.connect_timeout.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// New TCP settings (from the form, or the socket's own while it is stopped); they
    /// take effect at the next start.
    pub fn set_tcp_settings(
        &mut self,
        socket: SocketOptions,
        tls: TlsSide,
        connect_timeout: Option<Duration>,
    ) {
        self.socket_options = socket;
        self.tls = tls;
        if let Some(timeout) = connect_timeout {
            self.connect_timeout = timeout;
        }
    }

    /// Framing and responders are for plain TCP and UDP sockets: a chat server cuts lines
    /// and relays them itself.
    pub fn takes_rules(&self) -> bool {
        !matches!(self.kind, Kind::Server { chat: true })
    }

    /// What the engine must be told of a new or restored socket besides starting it: its
    /// framing and its rules (the engine keeps them across stop and start).
    pub fn setup_commands(&self) -> Vec<Command> {
        if !self.takes_rules() {
            return Vec::new();
        }
        vec![
            Command::SetFraming {
                session: self.id,
                framing: self.framing.applied.clone(),
            },
            Command::SetResponder {
                session: self.id,
                responder: self.rules.active().cloned(),
            },
        ]
    }

    /// Commands the events applied so far call for; the owner sends them to the engine.
    pub fn take_follow_ups(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.follow_ups)
    }

    /// A socket restored from the last run: shown, not started.
    pub fn restored(id: SessionId, kind: Kind, addr: String) -> Self {
        let mut session = Session::new(id, kind, addr);
        session.state = State::Stopped;
        session.ever_started = true;
        session
    }

    pub fn is_server(&self) -> bool {
        matches!(self.kind, Kind::Server { .. })
    }

    /// Everything since the socket was created (or since the last reset).
    pub fn totals(&self) -> Totals {
        let mut totals = self.closed;
        for row in self.conns.values() {
            totals.add(Totals::of(&row.info.counters));
        }
        if let Some(counters) = self.udp.as_ref().and_then(|udp| udp.totals.as_ref()) {
            totals.add(Totals::of(counters));
        }
        totals.since(self.baseline)
    }

    /// A UDP peer's counters since the last reset.
    pub fn peer_totals(&self, peer: &PeerInfo) -> Totals {
        let baseline = self
            .conn_baselines
            .get(&peer.peer)
            .copied()
            .unwrap_or_default();
        Totals::of(&peer.counters).since(baseline)
    }

    pub fn conn_totals(&self, row: &ConnRow) -> Totals {
        let baseline = self
            .conn_baselines
            .get(&row.info.conn)
            .copied()
            .unwrap_or_default();
        Totals::of(&row.info.counters).since(baseline)
    }

    /// Zeroes the shown counters and rates.
    pub fn reset_counters(&mut self) {
        self.baseline.add(self.totals());
        for row in self.conns.values() {
            self.conn_baselines
                .insert(row.info.conn, Totals::of(&row.info.counters));
        }
        for peer in self.udp.iter().flat_map(|udp| udp.peers.values()) {
            self.conn_baselines
                .insert(peer.peer, Totals::of(&peer.counters));
        }
        self.rates = Rates::default();
    }

    fn peer_of(&self, conn: ConnId) -> Option<SocketAddr> {
        self.conns.get(&conn).map(|c| c.info.peer)
    }

    /// Connections a send can go to: not being closed, our sending half not finished.
    pub fn open_conns(&self) -> impl Iterator<Item = &ConnRow> {
        self.conns.values().filter(|c| c.takes_sends())
    }

    /// The client's one connection (a client has at most one).
    pub fn client_conn(&self) -> Option<&ConnRow> {
        (self.kind == Kind::Client)
            .then(|| self.conns.values().next())
            .flatten()
    }

    /// True when some connection takes sends.
    fn has_open_conn(&self) -> bool {
        self.state.is_active() && self.open_conns().next().is_some()
    }

    /// Where a send goes now; `None` when there is no connection to send to.
    pub fn send_target(&self) -> Option<Target> {
        if let Some(udp) = &self.udp {
            return self.udp_send_target(udp).ok();
        }
        match self.target {
            Target::All if self.has_open_conn() => Some(Target::All),
            Target::One(conn)
                if self.state.is_active()
                    && self.conns.get(&conn).is_some_and(ConnRow::takes_sends) =>
            {
                Some(Target::One(conn))
            }
            _ => None,
        }
    }

    /// Marks a connection the user closed, so nothing more is offered to send to it.
    pub fn mark_closing(&mut self, conn: ConnId) {
        if let Some(row) = self.conns.get_mut(&conn) {
            row.closing = true;
        }
        // The user closed the chosen client themselves: the list says "All clients" again.
        if self.target == Target::One(conn) {
            self.target = Target::All;
        }
        if self.selected_conn == Some(conn) {
            self.selected_conn = None;
        }
    }

    /// A UDP session's target: `Target::Addr` stands for the typed "Send to address",
    /// whatever address it holds.
    fn udp_send_target(&self, udp: &UdpSide) -> Result<Target, String> {
        if self.state != State::Open {
            return Err("The UDP socket is not open.".into());
        }
        if self.kind == Kind::UdpClient {
            return Ok(Target::All);
        }
        match self.target {
            Target::All if udp.peers.is_empty() => {
                Err("No peer yet: choose \"Address…\" and type where to send.".into())
            }
            Target::All => Ok(Target::All),
            Target::One(peer) if udp.peers.contains_key(&peer) => Ok(Target::One(peer)),
            Target::One(_) => Err("The chosen peer is gone; pick another target.".into()),
            Target::LastSender if udp.last_sender.is_none() => {
                Err("No datagram has arrived yet: there is no sender to reply to.".into())
            }
            Target::LastSender => Ok(Target::LastSender),
            Target::Addr(_) => udp
                .typed_target()
                .map(Target::Addr)
                .map_err(|e| format!("Send to address: {e}")),
        }
    }

    /// Why sending is impossible right now, in words for the disabled Send button.
    pub fn cannot_send_reason(&self) -> Option<String> {
        if let Some(udp) = &self.udp {
            return self.udp_send_target(udp).err();
        }
        if self.send_target().is_some() {
            None
        } else if !self.has_open_conn() {
            let all_finished =
                self.state.is_active() && self.conns.values().any(|c| c.sending_finished);
            Some(if all_finished {
                "Sending was shut down (FIN sent); only receiving goes on.".into()
            } else if self.is_server() {
                "No client is connected.".into()
            } else {
                "Not connected.".into()
            })
        } else {
            Some("The chosen client has disconnected; pick another target.".into())
        }
    }

    /// The one way a session starts, new or again: marks it starting (or connecting) and
    /// gives the command that listens on (or connects to) its address.
    pub fn start(&mut self) -> Command {
        match self.kind {
            Kind::Server { chat } => {
                self.state = State::Starting;
                Command::Listen {
                    session: self.id,
                    addr: self.addr.clone(),
                    options: ServerOptions {
                        chat,
                        socket: self.socket_options.clone(),
                        tls: self.tls.server_setup(),
                    },
                }
            }
            Kind::Client => {
                self.state = State::Connecting;
                Command::Connect {
                    session: self.id,
                    addr: self.addr.clone(),
                    timeout: self.connect_timeout,
                    options: ClientOptions {
                        socket: self.socket_options.clone(),
                        tls: self.tls.client_setup(),
                    },
                }
            }
            Kind::Udp | Kind::UdpClient => {
                self.state = State::Starting;
                let udp = self.udp.get_or_insert_with(UdpSide::default);
                let client = self.kind == Kind::UdpClient;
                let bind = if !client {
                    self.addr.clone()
                } else if udp.bind.trim().is_empty() {
                    DEFAULT_CLIENT_BIND.to_string()
                } else {
                    udp.bind.clone()
                };
                Command::OpenUdp {
                    session: self.id,
                    bind,
                    connect: client.then(|| self.addr.clone()),
                    options: udp.options.clone(),
                }
            }
        }
    }

    /// The draft as history and presets remember it.
    pub fn draft(&self) -> SavedPayload {
        SavedPayload {
            text: self.composer.text.clone(),
            format: self.composer.format,
            encoding: self.encoding,
            line_ending: self.composer.line_ending,
            checksum: self.composer_checksum(),
            variables: self.composer.variables,
        }
    }

    /// Brings back a remembered payload as the draft, with its encoding.
    pub fn load_draft(&mut self, payload: &SavedPayload) {
        self.composer.text = payload.text.clone();
        self.composer.format = payload.format;
        self.composer.line_ending = payload.line_ending;
        self.composer.checksum = payload.checksum.map(|c| c.kind);
        if let Some(checksum) = payload.checksum {
            self.composer.checksum_order = checksum.order;
        }
        self.composer.variables = payload.variables;
        self.encoding = payload.encoding;
    }

    fn composer_checksum(&self) -> Option<Checksum> {
        self.composer.checksum.map(|kind| Checksum {
            kind,
            order: self.composer.checksum_order,
        })
    }

    /// The composer's draft as a payload to compile.
    pub fn payload_spec(&self) -> PayloadSpec {
        let composer = &self.composer;
        PayloadSpec {
            text: composer.text.clone(),
            format: composer.format,
            line_ending: composer.line_ending,
            checksum: self.composer_checksum(),
            variables: composer.variables,
        }
    }

    /// What a send carries: the bytes when the draft renders the same every time, else the
    /// template the engine fills in at each send; or where the typed text is wrong.
    pub fn payload(&self) -> Result<Payload, PayloadError> {
        let template = Template::compile(&self.payload_spec(), self.encoding)?;
        if template.is_constant() {
            let mut bytes = Vec::new();
            template.render(&TemplateValues::unprompted(1, 1, None), &mut bytes);
            Ok(Payload::Bytes(bytes))
        } else {
            Ok(Payload::Template(Arc::new(template)))
        }
    }

    /// Applies one engine event to this session's state and log.
    pub fn apply(&mut self, time: DateTime<Local>, kind: EventKind) {
        match kind {
            EventKind::Listening { local } => {
                self.state = State::Listening;
                // Clients of an earlier run are gone; a target picked among them would be stale.
                self.target = Target::All;
                self.selected_conn = None;
                self.ever_started = true;
                self.local = Some(local);
                self.since = Some(time);
                self.log.system(time, None, format!("listening on {local}"));
            }
            EventKind::ListenFailed { error } => {
                self.log.system(
                    time,
                    None,
                    format!("cannot listen on {}: {error}", self.addr),
                );
                self.state = State::Failed(error);
            }
            EventKind::Stopped => {
                self.state = State::Stopped;
                self.since = None;
                if let Some(udp) = &mut self.udp {
                    udp.socket_closed();
                }
                self.log.system(time, None, "stopped".into());
            }
            EventKind::Connecting { peer } => {
                self.state = State::Connecting;
                self.log
                    .system(time, Some(peer), format!("connecting to {peer}"));
            }
            EventKind::ConnectFailed { error } => {
                self.log.system(
                    time,
                    None,
                    format!("cannot connect to {}: {error}", self.addr),
                );
                self.state = State::Failed(error);
            }
            EventKind::Connected(info) => {
                let text = format!("connected: peername {} sockname {}", info.peer, info.local);
                self.log.system(time, Some(info.peer), text);
                if !self.is_server() {
                    self.state = State::Connected;
                    self.ever_started = true;
                    self.local = Some(info.local);
                    self.peer = Some(info.peer);
                    self.since = Some(time);
                }
                self.conns.insert(
                    info.conn,
                    ConnRow {
                        info,
                        since: time,
                        closing: false,
                        tls: None,
                        peer_finished: false,
                        sending_finished: false,
                    },
                );
            }
            EventKind::Received {
                conn,
                data,
                messages,
            } => {
                let peer = self.peer_of(conn);
                self.log_messages(time, peer, data, &messages);
            }
            EventKind::ReceivedUnreported { messages, bytes } => self.log.system(
                time,
                None,
                format!(
                    "{messages} received messages ({bytes} bytes) not shown: the window fell \
                     behind (the rules answered all of them)"
                ),
            ),
            EventKind::ReceivedSize {
                conn,
                bytes,
                messages,
            } => {
                // The window always asks for the data; a size alone still gets its row.
                let peer = self.peer_of(conn);
                let text = format!("received {bytes} bytes in {messages} messages (no data)");
                self.log.system(time, peer, text);
            }
            EventKind::Sent { conn, data } => {
                let peer = self.peer_of(conn);
                self.log.push(LogRow {
                    time,
                    direction: Direction::Sent,
                    peer,
                    data: &data,
                    note: Default::default(),
                });
            }
            EventKind::ChatLine { peer, line, .. } => {
                self.log
                    .push_owned(time, Direction::Relayed, Some(peer), line);
            }
            EventKind::LinesUnreported { count } => self.log.system(
                time,
                None,
                format!(
                    "{count} relayed lines not shown: the window fell behind (all were relayed)"
                ),
            ),
            EventKind::SendsUnreported { messages, bytes } => self.log.system(
                time,
                None,
                format!("{messages} sends ({bytes} bytes) not shown: the window fell behind (all were sent)"),
            ),
            EventKind::SendingFinished { conn } => {
                let peer = self.peer_of(conn);
                if let Some(row) = self.conns.get_mut(&conn) {
                    row.sending_finished = true;
                }
                self.log
                    .system(time, peer, "sending finished (FIN sent)".into());
            }
            EventKind::PeerFinished { conn } => {
                let peer = self.peer_of(conn);
                if let Some(row) = self.conns.get_mut(&conn) {
                    row.peer_finished = true;
                }
                self.log.system(
                    time,
                    peer,
                    "peer finished sending (FIN received); you can still send".into(),
                );
            }
            EventKind::ListenerOptions { options } => self.listener_options = Some(options),
            EventKind::TlsEstablished { conn, info } => self.tls_established(time, conn, info),
            EventKind::Closed {
                conn,
                reason,
                unsent,
            } => self.closed(time, conn, reason, unsent),
            EventKind::Error { message } => self.log.system(time, None, message),
            EventKind::EngineFailed { error } => {
                // Every socket went with the net thread; nothing of this one is live now.
                for row in self.conns.values_mut() {
                    row.closing = true;
                }
                self.log.system(time, None, format!("network engine stopped: {error}"));
                self.state = State::Failed(error);
            }
            EventKind::RepeatStarted { sent, count } => {
                self.repeat = Some(RepeatStatus { sent, count });
            }
            EventKind::RepeatFinished { sent, end } => {
                self.repeat = None;
                self.log.system(
                    time,
                    None,
                    format!("repeat ended after {sent} sends: {end}"),
                );
            }
            EventKind::TransferStarted {
                transfer,
                path,
                size,
                sent,
            } => {
                self.log.system(
                    time,
                    None,
                    format!("sending file {} ({size} bytes)", path.display()),
                );
                self.transfers.push(TransferStatus {
                    id: transfer,
                    path,
                    size,
                    sent,
                });
            }
            EventKind::TransferFinished {
                transfer,
                path,
                sent,
                outcome,
            } => {
                self.transfers.retain(|t| t.id != transfer);
                let how = match outcome {
                    TransferOutcome::Completed => "sent".to_string(),
                    TransferOutcome::Cancelled => "cancelled".to_string(),
                    TransferOutcome::Failed(error) => format!("failed: {error}"),
                };
                self.log.system(
                    time,
                    None,
                    format!("file {} {how} ({sent} bytes sent)", path.display()),
                );
            }
            EventKind::CaptureStarted { path } => {
                self.log.system(
                    time,
                    None,
                    format!("capturing received bytes to {}", path.display()),
                );
                self.capture = Some(path);
            }
            EventKind::CaptureStopped { path, bytes, error } => {
                if self.capture.as_ref() == Some(&path) {
                    self.capture = None;
                }
                let text = match error {
                    Some(error) => format!("{error} ({bytes} bytes written)"),
                    None => format!(
                        "capture to {} closed: {bytes} bytes written",
                        path.display()
                    ),
                };
                self.log.system(time, None, text);
            }
            EventKind::UdpOpened {
                local,
                peer,
                totals,
                stats,
            } => self.udp_opened(time, local, peer, totals, stats),
            EventKind::UdpFailed { error } => {
                self.log
                    .system(time, None, format!("cannot open {}: {error}", self.addr));
                self.state = State::Failed(error);
            }
            EventKind::UdpOptionsApplied { options } => {
                if let Some(udp) = &mut self.udp {
                    udp.options = options.clone();
                    udp.applied = Some(options);
                }
            }
            EventKind::PeerSeen(info) => {
                if let Some(udp) = &mut self.udp {
                    udp.peers.insert(info.peer, info);
                }
            }
            EventKind::DatagramsReceived { datagrams } => {
                if let Some(last) = datagrams.last()
                    && let Some(udp) = &mut self.udp
                {
                    udp.last_sender = Some(last.addr);
                }
                self.log_datagrams(time, Direction::Received, &datagrams);
            }
            EventKind::DatagramsSent { datagrams } => {
                self.log_datagrams(time, Direction::Sent, &datagrams);
            }
            EventKind::DatagramsUnreported { count, bytes } => self.log.system(
                time,
                None,
                format!(
                    "{count} datagrams ({bytes} bytes) arrived while the window was busy: \
                     counted, not shown"
                ),
            ),
            EventKind::Joined { membership } => {
                self.log
                    .system(time, None, format!("joined group {membership}"));
                if let Some(udp) = &mut self.udp {
                    udp.remember(membership, true);
                }
            }
            EventKind::Left { membership } => {
                self.log.system(time, None, format!("left group {membership}"));
                if let Some(udp) = &mut self.udp {
                    udp.forget(&membership);
                }
            }
        }
    }

    fn udp_opened(
        &mut self,
        time: DateTime<Local>,
        local: SocketAddr,
        peer: Option<SocketAddr>,
        totals: Arc<Counters>,
        stats: Arc<crate::engine::UdpStats>,
    ) {
        self.state = State::Open;
        self.ever_started = true;
        self.local = Some(local);
        self.peer = peer;
        self.since = Some(time);
        // Peers of an earlier opening are gone; a target picked among them would be stale.
        if matches!(self.target, Target::One(_) | Target::LastSender) {
            self.target = Target::All;
        }
        let text = match peer {
            Some(peer) => format!("open: sockname {local} peername {peer}"),
            None => format!("open: sockname {local}"),
        };
        self.log.system(time, peer, text);
        let udp = self.udp.get_or_insert_with(UdpSide::default);
        // The earlier socket's counters stop here: keep its figures in the session's totals.
        if let Some(old) = udp.totals.replace(totals) {
            self.closed.add(Totals::of(&old));
        }
        udp.stats = Some(stats);
        udp.last_sender = None;
        udp.selected_peer = None;
        for id in std::mem::take(&mut udp.peers).into_keys() {
            self.conn_baselines.remove(&id);
        }
        udp.socket_closed();
        // Groups asked for before are joined again on the new socket.
        self.follow_ups.extend(
            udp.wanted_memberships()
                .map(|membership| Command::JoinGroup {
                    session: self.id,
                    membership: membership.clone(),
                }),
        );
    }

    /// One row per message; a single message keeps its allocation.
    fn log_messages(
        &mut self,
        time: DateTime<Local>,
        peer: Option<SocketAddr>,
        data: Vec<u8>,
        messages: &[MessageMark],
    ) {
        if let [mark] = messages
            && mark.end == data.len()
            && row_note(mark) == RowNote::None
        {
            self.log.push_owned(time, Direction::Received, peer, data);
            return;
        }
        let mut start = 0;
        for mark in messages {
            self.log.push(LogRow {
                time,
                direction: Direction::Received,
                peer,
                data: &data[start..mark.end],
                note: row_note(mark),
            });
            start = mark.end;
        }
    }

    /// One row per datagram, with the datagram's address as the row's peer.
    fn log_datagrams(
        &mut self,
        time: DateTime<Local>,
        direction: Direction,
        datagrams: &[Datagram],
    ) {
        for datagram in datagrams {
            self.log.push(LogRow {
                time,
                direction,
                peer: Some(datagram.addr),
                data: &datagram.data,
                note: checksum_note(datagram.checksum_ok),
            });
            if datagram.truncated {
                self.log.system(
                    time,
                    Some(datagram.addr),
                    format!(
                        "the datagram above was cut to {} bytes: it was larger than the \
                         receive buffer",
                        datagram.data.len()
                    ),
                );
            }
        }
    }

    fn closed(&mut self, time: DateTime<Local>, conn: ConnId, reason: CloseReason, unsent: u64) {
        let Some(row) = self.conns.remove(&conn) else {
            return;
        };
        let final_totals = Totals::of(&row.info.counters);
        self.closed.add(final_totals);
        self.conn_baselines.remove(&conn);
        let tls_failure = matches!(reason, CloseReason::TlsFailed(_));
        let reason = match reason {
            CloseReason::Closed if self.is_server() => "kicked".to_string(),
            other => other.to_string(),
        };
        let unsent = if unsent > 0 {
            format!(", {unsent} bytes not sent")
        } else {
            String::new()
        };
        self.log.system(
            time,
            Some(row.info.peer),
            format!("disconnected: {reason}{unsent}"),
        );
        if self.selected_conn == Some(conn) {
            self.selected_conn = None;
        }
        if !self.is_server() {
            // A refused handshake is the client's failure, shown in its header.
            self.state = if tls_failure {
                State::Failed(reason)
            } else {
                State::Stopped
            };
            self.since = None;
        }
    }
}

/// Reads a live counter shared by the engine.
pub fn live(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

fn checksum_note(checksum_ok: Option<bool>) -> RowNote {
    match checksum_ok {
        None => RowNote::None,
        Some(true) => RowNote::ChecksumOk,
        Some(false) => RowNote::ChecksumWrong,
    }
}

fn row_note(mark: &MessageMark) -> RowNote {
    match mark.cut {
        Cut::TooLong => RowNote::TooLong,
        Cut::Leftover => RowNote::Leftover,
        Cut::Whole => checksum_note(mark.checksum_ok),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starting_again_listens_or_connects_on_the_typed_address() {
        let id = SessionId::for_test(3);
        let mut server = Session::restored(id, Kind::Server { chat: true }, "[::1]:0".into());
        match server.start() {
            Command::Listen {
                session,
                addr,
                options,
            } => assert_eq!(
                (session, addr.as_str(), options.chat),
                (id, "[::1]:0", true)
            ),
            other => panic!("a server listens, got {other:?}"),
        }
        assert_eq!(server.state, State::Starting);
        let mut client = Session::restored(id, Kind::Client, "localhost:7".into());
        match client.start() {
            Command::Connect { addr, timeout, .. } => {
                assert_eq!(
                    (addr.as_str(), timeout),
                    ("localhost:7", DEFAULT_CONNECT_TIMEOUT)
                )
            }
            other => panic!("a client connects, got {other:?}"),
        }
        assert_eq!(client.state, State::Connecting);
    }

    fn opened(totals: &Arc<Counters>) -> EventKind {
        EventKind::UdpOpened {
            local: "127.0.0.1:5000".parse().unwrap(),
            peer: None,
            totals: totals.clone(),
            stats: Arc::default(),
        }
    }

    fn datagram(addr: &str, data: &[u8], truncated: bool) -> Datagram {
        Datagram {
            checksum_ok: None,
            peer: None,
            addr: addr.parse().unwrap(),
            data: Arc::from(data),
            truncated,
        }
    }

    fn membership(group: &str) -> crate::engine::Membership {
        crate::engine::Membership {
            group: group.parse().unwrap(),
            interface: "lo".into(),
            source: None,
        }
    }

    #[test]
    fn a_udp_socket_logs_one_row_per_datagram_with_its_source() {
        let mut session = Session::new(SessionId::for_test(1), Kind::Udp, "127.0.0.1:0".into());
        let now = Local::now();
        session.apply(now, opened(&Arc::default()));
        assert_eq!(session.state, State::Open);
        let datagrams = vec![
            datagram("127.0.0.1:6001", b"one", false),
            datagram("10.0.0.2:6002", b"two", true),
        ];
        session.apply(now, EventKind::DatagramsReceived { datagrams });
        session.apply(
            now,
            EventKind::DatagramsSent {
                datagrams: vec![datagram("10.0.0.2:6002", b"back", false)],
            },
        );
        session.apply(
            now,
            EventKind::DatagramsUnreported {
                count: 3,
                bytes: 30,
            },
        );
        let rows: Vec<(Direction, Option<String>, String)> = session
            .log
            .iter()
            .skip(1)
            .map(|r| {
                let peer = r.peer.map(|p| p.to_string());
                (
                    r.direction,
                    peer,
                    String::from_utf8_lossy(r.data).into_owned(),
                )
            })
            .collect();
        let peer = |p: &str| Some(p.to_string());
        assert_eq!(
            rows,
            [
                (Direction::Received, peer("127.0.0.1:6001"), "one".into()),
                (Direction::Received, peer("10.0.0.2:6002"), "two".into()),
                (
                    Direction::System,
                    peer("10.0.0.2:6002"),
                    "the datagram above was cut to 3 bytes: it was larger than the receive \
                     buffer"
                        .into()
                ),
                (Direction::Sent, peer("10.0.0.2:6002"), "back".into()),
                (
                    Direction::System,
                    None,
                    "3 datagrams (30 bytes) arrived while the window was busy: counted, not \
                     shown"
                        .into()
                ),
            ]
        );
        let udp = session.udp.as_ref().unwrap();
        assert_eq!(udp.last_sender, Some("10.0.0.2:6002".parse().unwrap()));
        session.target = Target::LastSender;
        assert_eq!(session.send_target(), Some(Target::LastSender));
    }

    #[test]
    fn the_filter_finds_a_datagram_by_its_source_address() {
        let mut session = Session::new(SessionId::for_test(1), Kind::Udp, "127.0.0.1:0".into());
        let now = Local::now();
        session.apply(now, opened(&Arc::default()));
        let datagrams = vec![
            datagram("127.0.0.1:6001", b"alpha", false),
            datagram("[::1]:7002", b"beta", false),
        ];
        session.apply(now, EventKind::DatagramsReceived { datagrams });
        let found = |text: &str| {
            let mut filter = Filter::default();
            filter.text = text.into();
            let mut rows = FilteredRows::default();
            rows.update(&session.log, &filter, 100);
            (0..rows.len())
                .filter_map(|i| rows.matches_at(i))
                .filter_map(|seq| session.log.by_seq(seq))
                .map(|r| String::from_utf8_lossy(r.data).into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(found("127.0.0.1:6001"), ["alpha"]);
        assert_eq!(found("[::1]:7002"), ["beta"]);
        assert_eq!(found(":7002"), ["beta"]);
    }

    #[test]
    fn typed_udp_targets_are_checked_and_a_closed_socket_sends_nothing() {
        let mut session = Session::new(SessionId::for_test(1), Kind::Udp, "127.0.0.1:0".into());
        assert_eq!(
            session.cannot_send_reason().as_deref(),
            Some("The UDP socket is not open.")
        );
        session.apply(Local::now(), opened(&Arc::default()));
        assert!(
            session
                .cannot_send_reason()
                .unwrap()
                .contains("No peer yet")
        );
        session.target = crate::model::udp::TYPED_ADDRESS;
        session.udp.as_mut().unwrap().send_to = "example.org:9".into();
        assert!(session.send_target().is_none());
        assert!(
            session
                .cannot_send_reason()
                .unwrap()
                .contains("\"example.org\" is not an IP address")
        );
        session.udp.as_mut().unwrap().send_to = "localhost:9".into();
        assert_eq!(
            session.send_target(),
            Some(Target::Addr("127.0.0.1:9".parse().unwrap()))
        );
    }

    #[test]
    fn a_udp_session_with_groups_and_options_round_trips_and_joins_again_when_opened() {
        let id = SessionId::for_test(4);
        let options = crate::engine::UdpOptions {
            broadcast: true,
            multicast_ttl: Some(7),
            multicast_loop: false,
            multicast_interface: "lo".into(),
        };
        let mut session = Session::new_udp(
            id,
            Kind::UdpClient,
            "127.0.0.1:9".into(),
            "127.0.0.1:0".into(),
            options.clone(),
        );
        session.encoding = crate::payload::TextEncoding::Gbk;
        session.apply(Local::now(), opened(&Arc::default()));
        for group in ["239.1.2.3", "239.1.2.4"] {
            session.apply(
                Local::now(),
                EventKind::Joined {
                    membership: membership(group),
                },
            );
        }
        let text = ron::to_string(&session.to_saved()).unwrap();
        let saved: SavedSocket = ron::from_str(&text).unwrap();
        let mut restored = Session::from_saved(id, &saved);
        assert_eq!(
            (restored.kind, restored.state.clone(), restored.encoding),
            (
                Kind::UdpClient,
                State::Stopped,
                crate::payload::TextEncoding::Gbk
            )
        );
        let udp = restored.udp.as_ref().unwrap();
        assert_eq!(udp.options, options);
        assert_eq!(udp.bind, "127.0.0.1:0");
        let wanted: Vec<_> = udp.wanted_memberships().cloned().collect();
        assert_eq!(wanted, [membership("239.1.2.3"), membership("239.1.2.4")]);
        assert!(udp.memberships.iter().all(|row| !row.joined));
        match restored.start() {
            Command::OpenUdp {
                bind,
                connect,
                options: sent,
                ..
            } => assert_eq!(
                (bind.as_str(), connect.as_deref(), sent),
                ("127.0.0.1:0", Some("127.0.0.1:9"), options)
            ),
            other => panic!("a UDP client opens, got {other:?}"),
        }
        assert!(restored.take_follow_ups().is_empty(), "nothing to join yet");
        let first = Arc::new(Counters::default());
        first.add_in(5);
        restored.apply(Local::now(), opened(&first));
        let joins: Vec<_> = restored
            .take_follow_ups()
            .into_iter()
            .map(|c| match c {
                Command::JoinGroup {
                    session,
                    membership,
                } => (session, membership),
                other => panic!("only joins follow, got {other:?}"),
            })
            .collect();
        assert_eq!(
            joins,
            [(id, membership("239.1.2.3")), (id, membership("239.1.2.4"))],
            "every group is joined again on the new socket"
        );
        // Opened again: the first socket's counts stay in the totals.
        restored.apply(Local::now(), EventKind::Stopped);
        restored.apply(Local::now(), opened(&Arc::default()));
        assert_eq!(restored.totals().bytes_in, 5);
        restored.apply(
            Local::now(),
            EventKind::Left {
                membership: membership("239.1.2.3"),
            },
        );
        let wanted: Vec<_> = restored
            .udp
            .as_ref()
            .unwrap()
            .wanted_memberships()
            .cloned()
            .collect();
        assert_eq!(
            wanted,
            [membership("239.1.2.4")],
            "a group left is forgotten"
        );
    }

    #[test]
    fn rates_keep_one_sample_a_second_for_the_last_minute() {
        let start = Instant::now();
        let mut rates = Rates::default();
        let at = |s: u64| start + std::time::Duration::from_secs(s);
        let totals = |n: u64| Totals {
            bytes_in: 100 * n,
            bytes_out: 10 * n,
            messages_in: 2 * n,
            messages_out: n,
        };
        rates.sample(at(0), totals(0));
        rates.sample(start + std::time::Duration::from_millis(500), totals(7));
        assert_eq!(
            rates.history().len(),
            0,
            "no sample before a second has passed"
        );
        rates.sample(at(2), totals(4));
        let first = *rates.history().next().unwrap();
        assert_eq!(
            (
                first.bytes_in_per_s,
                first.bytes_out_per_s,
                first.messages_in_per_s,
                first.messages_out_per_s
            ),
            (200.0, 20.0, 4.0, 2.0),
            "per second over the two seconds"
        );
        assert_eq!(rates.bytes_in_per_s, 200.0);
        for s in 3..3 + RATE_HISTORY as u64 + 5 {
            rates.sample(at(s), totals(s));
        }
        assert_eq!(rates.history().len(), RATE_HISTORY);
        assert_eq!(
            rates.history().last().unwrap().at,
            at(2 + RATE_HISTORY as u64 + 5)
        );
        assert_eq!(
            rates.history().next().unwrap().at,
            at(8),
            "the oldest went first"
        );
    }
}

impl Session {
    /// A connection's handshake finished: one log row with what was agreed on.
    fn tls_established(&mut self, time: DateTime<Local>, conn: ConnId, info: Arc<TlsInfo>) {
        let peer = self.peer_of(conn);
        let text = handshake_text(&info, self.is_server(), time.with_timezone(&Utc));
        self.log.system(time, peer, text);
        if let Some(warning) = &info.unverified {
            self.log.system(
                time,
                peer,
                format!("WARNING: certificate not verified: {warning}"),
            );
        }
        if let Some(row) = self.conns.get_mut(&conn) {
            row.tls = Some(info);
        }
    }
}

/// A finished handshake in one line: "TLS 1.3, TLS13_AES_256_GCM_SHA384, ALPN h2, server
/// certificate CN=localhost (valid until 2027-11-27, 365 days left)".
pub fn handshake_text(info: &TlsInfo, server: bool, now: DateTime<Utc>) -> String {
    let mut parts = vec![info.version.clone(), info.cipher_suite.clone()];
    parts.push(match &info.alpn {
        Some(alpn) => format!("ALPN {alpn}"),
        None => "no ALPN".into(),
    });
    if server && let Some(name) = &info.server_name {
        parts.push(format!("SNI {name}"));
    }
    let whose = if server { "client" } else { "server" };
    parts.push(match info.peer_certificates.first() {
        Some(leaf) => format!(
            "{whose} certificate {} (valid until {}, {})",
            leaf.subject,
            leaf.not_after.format("%Y-%m-%d"),
            days_left_text(leaf.days_left(now))
        ),
        None => format!("no {whose} certificate"),
    });
    parts.join(", ")
}

/// "365 days left", "1 day left", or "expired 3 days ago".
pub fn days_left_text(days: i64) -> String {
    match days {
        1 => "1 day left".into(),
        d if d >= 0 => format!("{d} days left"),
        -1 => "expired 1 day ago".into(),
        d => format!("expired {} days ago", -d),
    }
}

#[cfg(test)]
mod tls_tests {
    use chrono::TimeZone;

    use super::*;
    use crate::engine::tls::CertSummary;

    fn info() -> TlsInfo {
        TlsInfo {
            version: "TLS 1.3".into(),
            cipher_suite: "TLS13_AES_256_GCM_SHA384".into(),
            alpn: Some("h2".into()),
            server_name: Some("localhost".into()),
            peer_certificates: vec![CertSummary {
                subject: "CN=localhost".into(),
                issuer: "CN=localhost".into(),
                names: vec!["localhost".into()],
                not_before: Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap(),
                not_after: Utc.with_ymd_and_hms(2027, 11, 27, 0, 0, 0).unwrap(),
                sha256: "AB:CD".into(),
            }],
            unverified: Some("verification is off".into()),
        }
    }

    #[test]
    fn a_handshake_is_one_line_naming_the_peers_certificate() {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap();
        assert_eq!(
            handshake_text(&info(), false, now),
            "TLS 1.3, TLS13_AES_256_GCM_SHA384, ALPN h2, server certificate CN=localhost \
             (valid until 2027-11-27, 365 days left)"
        );
        let mut without = info();
        without.peer_certificates.clear();
        without.alpn = None;
        assert_eq!(
            handshake_text(&without, true, now),
            "TLS 1.3, TLS13_AES_256_GCM_SHA384, no ALPN, SNI localhost, no client certificate"
        );
        assert_eq!(days_left_text(-2), "expired 2 days ago");
    }

    #[test]
    fn an_unverified_handshake_adds_a_warning_row_and_marks_the_connection() {
        let mut session = Session::new(SessionId::new(1), Kind::Client, "localhost:1".into());
        let conn = ConnId::new(1);
        session.apply(
            Local::now(),
            EventKind::Connected(ConnInfo {
                conn,
                local: "127.0.0.1:2".parse().unwrap(),
                peer: "127.0.0.1:1".parse().unwrap(),
                counters: Default::default(),
                options: Default::default(),
                tls: true,
            }),
        );
        session.apply(
            Local::now(),
            EventKind::TlsEstablished {
                conn,
                info: Arc::new(info()),
            },
        );
        assert!(session.conns[&conn].tls.is_some());
        let rows = session.log.len();
        let text = |index: usize| {
            String::from_utf8(session.log.get(index).unwrap().data.to_vec()).unwrap()
        };
        assert_eq!(
            text(rows - 1),
            "WARNING: certificate not verified: verification is off"
        );
        assert!(text(rows - 2).starts_with("TLS 1.3, TLS13_AES_256"));
    }
}
