//! What the window knows about one socket, built only from engine events: state, both
//! addresses, the connection table, the log, and the composer's contents.

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Local};

use super::log::{Direction, Log, LogRow};
use crate::engine::{CloseReason, ConnId, ConnInfo, Counters, EventKind, SessionId, Target};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Server { chat: bool },
    Client,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    Starting,
    Listening,
    Connecting,
    Connected,
    /// Stopped by the user, or a client whose connection ended.
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
            State::Stopped => "stopped",
            State::Failed(_) => "error",
        }
    }

    pub fn is_active(&self) -> bool {
        matches!(self, State::Listening | State::Connected)
    }
}

/// A live connection as the table shows it.
#[derive(Clone, Debug)]
pub struct ConnRow {
    pub info: ConnInfo,
    pub since: DateTime<Local>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineEnding {
    None,
    Lf,
    CrLf,
    Cr,
}

impl LineEnding {
    pub const ALL: [LineEnding; 4] = [
        LineEnding::None,
        LineEnding::Lf,
        LineEnding::CrLf,
        LineEnding::Cr,
    ];

    pub fn label(self) -> &'static str {
        match self {
            LineEnding::None => "None",
            LineEnding::Lf => "LF (\\n)",
            LineEnding::CrLf => "CRLF (\\r\\n)",
            LineEnding::Cr => "CR (\\r)",
        }
    }

    pub fn bytes(self) -> &'static [u8] {
        match self {
            LineEnding::None => b"",
            LineEnding::Lf => b"\n",
            LineEnding::CrLf => b"\r\n",
            LineEnding::Cr => b"\r",
        }
    }
}

#[derive(Debug)]
pub struct Composer {
    pub text: String,
    pub line_ending: LineEnding,
}

impl Default for Composer {
    fn default() -> Self {
        Composer {
            text: String::new(),
            line_ending: LineEnding::Lf,
        }
    }
}

impl Composer {
    pub fn payload(&self) -> Vec<u8> {
        let mut data = self.text.as_bytes().to_vec();
        data.extend_from_slice(self.line_ending.bytes());
        data
    }
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
    pub conns: Vec<ConnRow>,
    /// Totals of connections that have closed, so socket totals stay exact.
    closed_in: u64,
    closed_out: u64,
    pub log: Log,
    pub target: Target,
    /// The row picked in the client table (servers).
    pub selected_conn: Option<ConnId>,
    pub composer: Composer,
    /// Until the first success, a failure removes the session and shows in the new-socket form.
    pub ever_started: bool,
}

impl Session {
    pub fn new(id: SessionId, kind: Kind, addr: String) -> Self {
        Session {
            id,
            kind,
            addr,
            state: match kind {
                Kind::Server { .. } => State::Starting,
                Kind::Client => State::Connecting,
            },
            local: None,
            peer: None,
            since: None,
            conns: Vec::new(),
            closed_in: 0,
            closed_out: 0,
            log: Log::default(),
            target: Target::All,
            selected_conn: None,
            composer: Composer::default(),
            ever_started: false,
        }
    }

    pub fn is_server(&self) -> bool {
        matches!(self.kind, Kind::Server { .. })
    }

    pub fn bytes_in(&self) -> u64 {
        self.closed_in
            + self
                .conns
                .iter()
                .map(|c| c.info.counters.bytes_in())
                .sum::<u64>()
    }

    pub fn bytes_out(&self) -> u64 {
        self.closed_out
            + self
                .conns
                .iter()
                .map(|c| c.info.counters.bytes_out())
                .sum::<u64>()
    }

    fn peer_of(&self, conn: ConnId) -> Option<SocketAddr> {
        self.conns
            .iter()
            .find(|c| c.info.conn == conn)
            .map(|c| c.info.peer)
    }

    /// Where a send goes now; `None` when there is no connection to send to.
    pub fn send_target(&self) -> Option<Target> {
        match self.target {
            Target::All if !self.conns.is_empty() => Some(Target::All),
            Target::One(conn) if self.peer_of(conn).is_some() => Some(Target::One(conn)),
            _ => None,
        }
    }

    /// Why sending is impossible right now, in words for the disabled Send button.
    pub fn cannot_send_reason(&self) -> Option<&'static str> {
        if self.send_target().is_some() {
            None
        } else if self.conns.is_empty() {
            Some(if self.is_server() {
                "No client is connected."
            } else {
                "Not connected."
            })
        } else {
            Some("The chosen client has disconnected; pick another target.")
        }
    }

    /// Applies one engine event to this session's state and log.
    pub fn apply(&mut self, time: DateTime<Local>, kind: EventKind) {
        match kind {
            EventKind::Listening { local } => {
                self.state = State::Listening;
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
                self.conns.push(ConnRow { info, since: time });
            }
            EventKind::Received { conn, data } => {
                let peer = self.peer_of(conn);
                self.log.push(LogRow {
                    time,
                    direction: Direction::Received,
                    peer,
                    data: data.into_boxed_slice(),
                });
            }
            EventKind::Sent { conn, data } => {
                let peer = self.peer_of(conn);
                self.log.push(LogRow {
                    time,
                    direction: Direction::Sent,
                    peer,
                    data: Box::from(&*data),
                });
            }
            EventKind::ChatLine { peer, line, .. } => self.log.push(LogRow {
                time,
                direction: Direction::Relayed,
                peer: Some(peer),
                data: line.into_boxed_slice(),
            }),
            EventKind::LinesUnreported { count } => self.log.system(
                time,
                None,
                format!(
                    "{count} relayed lines not shown: the window fell behind (all were relayed)"
                ),
            ),
            EventKind::SendingFinished { conn } => {
                let peer = self.peer_of(conn);
                self.log
                    .system(time, peer, "sending finished (FIN sent)".into());
            }
            EventKind::Closed {
                conn,
                reason,
                unsent,
            } => self.closed(time, conn, reason, unsent),
            EventKind::Error { message } => self.log.system(time, None, message),
        }
    }

    fn closed(&mut self, time: DateTime<Local>, conn: ConnId, reason: CloseReason, unsent: u64) {
        let Some(index) = self.conns.iter().position(|c| c.info.conn == conn) else {
            return;
        };
        let row = self.conns.remove(index);
        let counters: &Arc<Counters> = &row.info.counters;
        self.closed_in += counters.bytes_in();
        self.closed_out += counters.bytes_out();
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
            self.state = State::Stopped;
            self.since = None;
        }
    }
}
