//! Scenarios: scripted send/expect tests. A scenario file names sockets (listen or connect,
//! TCP or UDP, each with its framing) and a list of steps (send, expect, expect a
//! connection or a close, expect nothing, sleep, open, close, repeat a block). It runs
//! headless (`socklab run`) and in the window's Scenarios panel alike.
//!
//! Pure, no I/O of its own and never egui:
//! - `file`: the TOML file → [`Scenario`] (errors with line and column), and back to text
//!   (what *Save as scenario…* writes);
//! - `vars`: `{{name}}` of the user's variables (`--var`, `[vars]`, `{{env:NAME}}`,
//!   captures, `{{socket.port}}`), substituted before the payload's own template compiles;
//! - `run`: [`Run`], a state machine the owner drives: it hands out engine commands, takes
//!   the events of its own sessions and the clock, and says what happened to each step;
//! - `report`: a run's results as text for the terminal (expected and received side by
//!   side, text and hex) and as JUnit XML;
//! - `record`: a session's sent and received rows → a scenario that replays them.

pub mod file;
pub mod record;
pub mod report;
pub mod run;
pub mod vars;

mod pattern;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::engine::framing::FramingSpec;
use crate::engine::responder::MatchKind;
use crate::payload::{PayloadSpec, TextEncoding};

use run::quote;
pub use run::{Output, Progress, Run, StepOutcome, StepRef, describe_duration};

/// How long an expect waits when the file does not say (`timeout = "…"` at the top).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A scenario as read from its file, variables not yet substituted.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// `name = "…"`, or the file's stem.
    pub name: String,
    /// Where `send-file` paths are relative to (the file's directory).
    pub base_dir: PathBuf,
    /// `[vars]`: defaults the command line's `--var` overrides, in file order.
    pub vars: Vec<(String, String)>,
    /// The default time limit of expects and of opening sockets.
    pub timeout: Duration,
    /// How text in sends and patterns becomes bytes.
    pub encoding: TextEncoding,
    pub sockets: Vec<SocketDef>,
    pub steps: Vec<Step>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Udp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// TCP: a listener whose clients are the socket's connections. UDP: a bound socket
    /// (sends go to the last sender unless a step says `to`).
    Listen,
    /// TCP: a client. UDP: a `connect()`ed socket.
    Connect,
}

/// `[[socket]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct SocketDef {
    pub name: String,
    pub protocol: Protocol,
    pub role: Role,
    /// `host:port`, may hold `{{variables}}`.
    pub addr: String,
    pub framing: FramingSpec,
    /// `open-at-start = false`: opened by an `open` step instead.
    pub open_at_start: bool,
    /// 1-based line of the `[[socket]]` header, for errors.
    pub line: usize,
}

/// One `[[step]]`, or one step inside a `repeat`.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// 1-based line where the step starts in the file.
    pub line: usize,
    pub action: Action,
}

/// A socket by its index in [`Scenario::sockets`].
pub type SocketIndex = usize;

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// `send = "…"`: a payload as the composer builds it (format, line ending, checksum,
    /// the composer's `{{variables}}`); the user's variables are substituted first. On a
    /// TCP listener it goes to every client; on a UDP listener to `to` or the last sender.
    Send {
        socket: SocketIndex,
        payload: PayloadSpec,
        /// UDP listener only: where to (`host:port`, may hold variables).
        to: Option<String>,
    },
    /// `send-file = "path"` (relative to the scenario's directory).
    SendFile { socket: SocketIndex, path: PathBuf },
    /// `expect = "…"`.
    Expect {
        socket: SocketIndex,
        expectation: Expectation,
        within: Duration,
    },
    /// `expect-connection = "socket"`: a listener accepts a (new) client; a connecting
    /// socket is connected.
    ExpectConnection {
        socket: SocketIndex,
        within: Duration,
    },
    /// `expect-close = "socket"`: the peer closes (a listener: one of its clients).
    ExpectClose {
        socket: SocketIndex,
        within: Duration,
    },
    /// `expect-nothing = "500ms"`: fails if anything arrives during that time, on `on`
    /// or on any socket.
    ExpectNothing {
        socket: Option<SocketIndex>,
        during: Duration,
    },
    /// `sleep = "100ms"`.
    Sleep(Duration),
    /// `open = "socket"`: opens a socket with `open-at-start = false` (or one closed
    /// before) and waits until it listens or is connected.
    Open {
        socket: SocketIndex,
        within: Duration,
    },
    /// `close = "socket"`: closes it gracefully (a listener stops and drops its clients).
    Close { socket: SocketIndex },
    /// `repeat = N` with `steps = [...]` (or `[[step.steps]]`).
    Repeat { times: u64, steps: Vec<Step> },
}

/// What an expect looks for.
///
/// On a raw (unframed) socket what arrived is one stream: `exact` and `starts-with` must
/// match at its start, `contains`, `regex` and `ends-with` search it, and a match
/// consumes the stream up to its end. On a framed socket each message is looked at in
/// turn: the next message must match, unless `skip-others` lets non-matching messages
/// pass (they are reported with the step).
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    pub matches: MatchKind,
    /// As typed; may hold the user's `{{variables}}` (regex-escaped for `regex`).
    pub pattern: String,
    /// Text, escapes, or hex with `??` wildcards (not for `regex`).
    pub format: crate::payload::PayloadFormat,
    pub skip_others: bool,
}

/// A scenario file that cannot run: where, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// 1-based; 0 when the error is not in the file (a `--var`, a missing file).
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(
                f,
                "line {}, column {}: {}",
                self.line, self.column, self.message
            )
        }
    }
}

impl std::error::Error for ScenarioError {}

/// Labels: what a step does in words, the same in the terminal, the JUnit file and the
/// window (which lists the steps before they run).
impl Scenario {
    /// `open web: connect {{host}}:8080`, the address as written (a run shows it with its
    /// variables substituted).
    pub fn open_label(&self, socket: SocketIndex) -> String {
        let def = &self.sockets[socket];
        open_words(&def.name, def.protocol, def.role, &def.addr)
    }

    pub fn step_label(&self, action: &Action) -> String {
        let name = |socket: SocketIndex| self.sockets[socket].name.as_str();
        match action {
            Action::Send {
                socket, payload, ..
            } => format!("send on {}: {}", name(*socket), quote(&payload.text)),
            Action::SendFile { socket, path } => {
                format!("send file {} on {}", path.display(), name(*socket))
            }
            Action::Expect {
                socket,
                expectation,
                ..
            } => {
                let kind = match expectation.matches {
                    MatchKind::Any => return format!("expect on {}: anything", name(*socket)),
                    MatchKind::Exact => "exactly",
                    MatchKind::StartsWith => "starts with",
                    MatchKind::Contains => "contains",
                    MatchKind::EndsWith => "ends with",
                    MatchKind::Regex => "matches",
                };
                format!(
                    "expect on {}: {kind} {}",
                    name(*socket),
                    quote(&expectation.pattern)
                )
            }
            Action::ExpectConnection { socket, .. } => {
                format!("expect a connection on {}", name(*socket))
            }
            Action::ExpectClose { socket, .. } => {
                format!("expect the peer of {} to close", name(*socket))
            }
            Action::ExpectNothing { socket, during } => format!(
                "expect nothing on {} for {}",
                socket.map_or("any socket", name),
                describe_duration(*during)
            ),
            Action::Sleep(duration) => format!("sleep {}", describe_duration(*duration)),
            Action::Open { socket, .. } => self.open_label(*socket),
            Action::Close { socket } => format!("close {}", name(*socket)),
            Action::Repeat { times, .. } => format!("repeat {times} times"),
        }
    }
}

/// `open web: connect 127.0.0.1:8080`.
pub(crate) fn open_words(name: &str, protocol: Protocol, role: Role, addr: &str) -> String {
    let verb = match (protocol, role) {
        (Protocol::Tcp, Role::Listen) => "listen on",
        (Protocol::Tcp, Role::Connect) => "connect",
        (Protocol::Udp, Role::Listen) => "UDP bind",
        (Protocol::Udp, Role::Connect) => "UDP connect",
    };
    format!("open {name}: {verb} {addr}")
}
