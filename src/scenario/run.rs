//! [`Run`]: one run of a scenario, as a state machine the owner drives (sans I/O), so
//! the headless runner and the window share every rule of how a step passes or fails.
//!
//! The owner (the CLI's loop, the window's frame) does four things:
//! - makes a run with [`Run::new`] (every variable, template, pattern and address is
//!   checked here: an error means the scenario is invalid, exit 2), then calls
//!   [`Run::start`] and executes the commands it returns on its engine;
//! - hands it every event of the sessions it [`Run::owns`] ([`Run::on_event`]);
//! - calls [`Run::advance`] at [`Run::next_deadline`] (time limits, sleeps);
//! - reads [`Output::progress`] to show each step, and stops when it is finished.
//!
//! Times are the events' own times (taken on the net thread), so a busy owner does not
//! make a step late: an expect passes if the bytes arrived within its limit, whenever the
//! owner got to look at them.

use std::collections::{HashSet, VecDeque};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Local};

use super::pattern::{Pattern, StreamMatch};
use super::vars::{self, Escape, Lookup, Vars};
use super::{
    Action, Expectation, Protocol, Role, Scenario, ScenarioError, SocketDef, SocketIndex, Step,
    open_words,
};
use crate::engine::framing::{Framing, FramingSpec};
use crate::engine::options::SocketOptions;
use crate::engine::responder::MatchKind;
use crate::engine::{
    ClientOptions, CloseReason, Command, ConnId, Event, EventKind, Payload, ServerOptions,
    SessionId, Target, TransferId, TransferOutcome, UdpOptions, describe_file_error,
    parse_bind_address, parse_endpoint,
};
use crate::payload::{PayloadFormat, PayloadSpec, Template, TextEncoding};

/// What a call into the run asks of its owner. Drained (`take`) by the owner each time.
#[derive(Debug, Default)]
pub struct Output {
    /// To execute on the engine, in order.
    pub commands: Vec<Command>,
    pub progress: Vec<Progress>,
}

/// Which step, for showing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepRef {
    /// `"3"`, `"4.2"` inside a repeat; `"open"` for opening the sockets at start.
    pub number: String,
    /// What it does, in words: `expect on web: starts with "HTTP/1.1 200"`.
    pub label: String,
    /// 1-based line in the file (the `[[socket]]` for opening at start).
    pub line: usize,
    /// The top-level step this belongs to (`None`: opening at start), so a window can tick
    /// one row per top-level step.
    pub top: Option<usize>,
    /// Inside a repeat: this iteration (1-based) of how many, innermost repeat.
    pub iteration: Option<(u64, u64)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepOutcome {
    /// `note`: what else is worth saying (messages skipped, values captured).
    Passed {
        note: Option<String>,
    },
    Failed(Failure),
}

/// Why a step failed, with what arrived instead for expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// In plain words: `nothing matched within 2 s`, `the peer closed the connection`,
    /// `connection refused`, `stopped`.
    pub message: String,
    /// What was looked for, as bytes (a regex: its text); `None` when not an expect.
    pub expected: Option<Vec<u8>>,
    /// What arrived and was not consumed (the message looked at, or the stream so far).
    pub received: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    /// A socket of the scenario is being opened as `session` (the window shows it in its
    /// session list with its log).
    SocketOpening {
        socket: SocketIndex,
        session: SessionId,
        /// Where it listens or connects, variables substituted.
        addr: String,
    },
    StepStarted(StepRef),
    StepFinished {
        step: StepRef,
        outcome: StepOutcome,
        duration: Duration,
    },
    /// The last event of a run: every step passed, or not (a step failed or it was
    /// stopped). The run has asked for its sockets to be stopped.
    Finished {
        passed: bool,
    },
}

/// One run of a scenario.
///
/// Rules the scenario file does not spell out:
/// - sockets marked `open-at-start` open one after the other, in file order, so a later
///   one's address may use `{{earlier.port}}`;
/// - a raw TCP socket's bytes are one stream per socket: a listener's clients are merged
///   in arrival order; a UDP socket is always message based (one message per datagram);
/// - on a raw stream `ends-with` matches when the bytes waiting end with the pattern, and
///   `skip-others` lets `exact`/`starts-with` skip bytes before the match (reported);
/// - `expect-nothing` is strict: data or a close that was already waiting unread fails it;
/// - a repeat is reported as a step of its own (started before its first inner step,
///   finished after its last), its inner steps numbered `4.1`, `4.2`, …;
/// - the owner hands over the events waiting before calling [`Run::advance`], so a
///   limit never runs out on data that had arrived in time.
#[derive(Debug)]
pub struct Run {
    timeout: Duration,
    encoding: TextEncoding,
    sockets: Vec<Socket>,
    steps: Vec<Compiled>,
    vars: Vars,
    /// `name.port` and `name.addr` of every socket: values known only once it is open.
    socket_vars: HashSet<String>,
    phase: Phase,
    /// Where the run is: the top-level list, then one level per repeat entered.
    levels: Vec<Level>,
    current: Option<Current>,
    /// The latest time the run has heard of (the owner's clock and the events' times).
    clock: DateTime<Local>,
    transfers: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Ready,
    /// Opening the sockets marked to open at start, from this index on.
    Opening {
        next: usize,
    },
    Steps,
    Finished(bool),
}

#[derive(Debug)]
struct Level {
    /// The step being run (or next) in this level's list.
    pos: usize,
    /// 1-based.
    iteration: u64,
    times: u64,
    /// The repeat step itself (none for the top level).
    repeat: Option<(StepRef, DateTime<Local>)>,
}

#[derive(Debug)]
struct Current {
    step: StepRef,
    started: DateTime<Local>,
    wait: Wait,
}

#[derive(Debug)]
enum Wait {
    Open {
        socket: SocketIndex,
        deadline: DateTime<Local>,
    },
    Expect {
        socket: SocketIndex,
        deadline: DateTime<Local>,
        within: Duration,
        /// No match starts before this offset of the waiting stream.
        searched: usize,
        skipped: u64,
        last_skipped: Option<Vec<u8>>,
    },
    Connection {
        socket: SocketIndex,
        deadline: DateTime<Local>,
        within: Duration,
    },
    PeerClose {
        socket: SocketIndex,
        deadline: DateTime<Local>,
        within: Duration,
    },
    Nothing {
        socket: Option<SocketIndex>,
        until: DateTime<Local>,
    },
    Sleep {
        until: DateTime<Local>,
    },
    Closing {
        socket: SocketIndex,
        deadline: DateTime<Local>,
    },
    Transfer {
        transfer: TransferId,
    },
}

impl Wait {
    fn deadline(&self) -> Option<DateTime<Local>> {
        match self {
            Wait::Open { deadline, .. }
            | Wait::Expect { deadline, .. }
            | Wait::Connection { deadline, .. }
            | Wait::PeerClose { deadline, .. }
            | Wait::Closing { deadline, .. } => Some(*deadline),
            Wait::Nothing { until, .. } | Wait::Sleep { until } => Some(*until),
            Wait::Transfer { .. } => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SocketState {
    Closed,
    Opening,
    Open,
}

#[derive(Debug)]
struct Socket {
    name: String,
    protocol: Protocol,
    role: Role,
    addr: Text,
    framing: FramingSpec,
    open_at_start: bool,
    line: usize,
    session: SessionId,
    opened: bool,
    state: SocketState,
    /// Open TCP connections (a client: at most one).
    conns: Vec<ConnId>,
    /// Raw TCP: what arrived, consumed up to `offset`.
    stream: Vec<u8>,
    offset: usize,
    /// Framed TCP and UDP: whole messages (bodies) not yet consumed.
    messages: VecDeque<Message>,
    /// Clients accepted and not yet consumed by an expect-connection.
    connections: u64,
    /// Closes not yet consumed by an expect-close, with their reason.
    closes: VecDeque<CloseReason>,
    last_close: Option<CloseReason>,
    last_sender: Option<SocketAddr>,
}

#[derive(Debug)]
struct Message {
    data: Vec<u8>,
    checksum_ok: Option<bool>,
}

impl Socket {
    fn message_based(&self) -> bool {
        self.protocol == Protocol::Udp || self.framing.framing != Framing::Raw
    }

    fn waiting(&self) -> Vec<u8> {
        if self.message_based() {
            self.messages
                .iter()
                .flat_map(|message| message.data.iter().copied())
                .collect()
        } else {
            self.stream[self.offset..].to_vec()
        }
    }

    fn has_waiting(&self) -> bool {
        !self.messages.is_empty() || self.offset < self.stream.len() || !self.closes.is_empty()
    }

    fn consume(&mut self, end: usize) {
        self.offset += end;
        if self.offset >= self.stream.len() {
            self.stream.clear();
            self.offset = 0;
        } else if self.offset >= 64 * 1024 && self.offset * 2 >= self.stream.len() {
            // Now and then, not at every match: the stream stays linear in what arrives.
            self.stream.drain(..self.offset);
            self.offset = 0;
        }
    }

    fn clear(&mut self) {
        self.conns.clear();
        self.stream.clear();
        self.offset = 0;
        self.messages.clear();
        self.connections = 0;
        self.closes.clear();
        self.last_close = None;
        self.last_sender = None;
    }

    fn is_tcp_client(&self) -> bool {
        self.protocol == Protocol::Tcp && self.role == Role::Connect
    }

    /// Why nothing can be sent on it now, if so.
    fn not_ready(&self) -> Option<String> {
        let name = &self.name;
        if self.state == SocketState::Closed && !(self.is_tcp_client() && self.opened) {
            return Some(format!("{name} is not open"));
        }
        match (self.protocol, self.role) {
            (Protocol::Tcp, Role::Listen) if self.conns.is_empty() => {
                Some(format!("no client is connected to {name}"))
            }
            (Protocol::Tcp, Role::Connect) if self.conns.is_empty() => {
                Some(match &self.last_close {
                    Some(reason) => {
                        format!("{name} is not connected (its connection ended: {reason})")
                    }
                    None => format!("{name} is not connected"),
                })
            }
            (Protocol::Udp, _) if self.state != SocketState::Open => {
                Some(format!("{name} is not open"))
            }
            _ => None,
        }
    }
}

/// Text with the user's variables: substituted once when it uses only values known
/// before the run, or at the step when it uses captures or sockets' ports.
#[derive(Debug)]
enum Text {
    Fixed(String),
    Runtime(String),
}

#[derive(Debug)]
struct Compiled {
    line: usize,
    label: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Send {
        socket: SocketIndex,
        payload: SendPayload,
        to: Option<To>,
    },
    SendFile {
        socket: SocketIndex,
        path: PathBuf,
    },
    Expect {
        socket: SocketIndex,
        pattern: PatternSlot,
        within: Duration,
    },
    ExpectConnection {
        socket: SocketIndex,
        within: Duration,
    },
    ExpectClose {
        socket: SocketIndex,
        within: Duration,
    },
    ExpectNothing {
        socket: Option<SocketIndex>,
        during: Duration,
    },
    Sleep(Duration),
    Open {
        socket: SocketIndex,
        within: Duration,
    },
    Close {
        socket: SocketIndex,
    },
    Repeat {
        times: u64,
        steps: Vec<Compiled>,
    },
}

#[derive(Debug)]
enum SendPayload {
    Fixed(Arc<Template>),
    /// Compiled at the step; the last compilation is kept while the text is the same.
    Runtime {
        spec: PayloadSpec,
        cache: Option<(String, Arc<Template>)>,
    },
}

#[derive(Debug)]
enum To {
    Fixed(SocketAddr),
    Runtime(String),
}

#[derive(Debug)]
enum PatternSlot {
    Fixed(Pattern),
    Runtime {
        expectation: Expectation,
        cache: Option<(String, Pattern)>,
    },
}

impl PatternSlot {
    fn pattern(&self) -> Option<&Pattern> {
        match self {
            PatternSlot::Fixed(pattern) => Some(pattern),
            PatternSlot::Runtime { cache, .. } => cache.as_ref().map(|(_, pattern)| pattern),
        }
    }

    fn skip_others(&self) -> bool {
        match self {
            PatternSlot::Fixed(pattern) => pattern.skip_others(),
            PatternSlot::Runtime { expectation, .. } => expectation.skip_others,
        }
    }
}

/// How a value is written into text of this format.
fn escape_for(format: PayloadFormat) -> Escape {
    match format {
        PayloadFormat::Escaped => Escape::Backslashes,
        PayloadFormat::Text | PayloadFormat::Hex => Escape::None,
    }
}

fn pattern_escape(expectation: &Expectation) -> Escape {
    match expectation.matches {
        MatchKind::Regex => Escape::Regex,
        _ => escape_for(expectation.format),
    }
}

/// What checks the scenario before it runs: which names will have values, and when.
struct Checker<'a> {
    vars: &'a Vars,
    encoding: TextEncoding,
    /// Names whose values come during the run (sockets' ports, captures so far).
    runtime: HashSet<String>,
}

impl Checker<'_> {
    /// `text` with every known variable replaced (runtime ones by `placeholder`), and
    /// whether it uses runtime values. With `strict`, a `{{name}}` left over is an error
    /// (patterns and addresses have no variables of their own); otherwise a left-over one
    /// must be one of the payload template's.
    fn check(
        &self,
        text: &str,
        escape: Escape,
        placeholder: &str,
        strict: bool,
    ) -> Result<(String, bool), String> {
        let mut runtime = false;
        let substituted = vars::substitute_with(text, escape, |name| {
            if self.runtime.contains(name) {
                runtime = true;
                // A socket's address stands for a whole address, except in hex.
                let value = match name.ends_with(".addr") && placeholder != "00" {
                    true => "127.0.0.1:1",
                    false => placeholder,
                };
                return Ok(Lookup::Value(value.to_string().into()));
            }
            if let Some(value) = self.vars.get(name) {
                return Ok(Lookup::Value(value.into_owned().into()));
            }
            if let Some(variable) = name.strip_prefix("env:") {
                return Err(format!(
                    "the environment variable {} is not set",
                    variable.trim()
                ));
            }
            if strict {
                if vars::looks_like_variable(name) {
                    return Err(format!("unknown variable {{{{{name}}}}}"));
                }
            } else {
                let alone = PayloadSpec {
                    text: format!("{{{{{name}}}}}"),
                    ..PayloadSpec::default()
                };
                Template::compile(&alone, self.encoding).map_err(|error| error.message)?;
            }
            Ok(Lookup::Keep)
        })?;
        Ok((substituted, runtime))
    }
}

fn placeholder_for(format: PayloadFormat) -> &'static str {
    match format {
        PayloadFormat::Hex => "00",
        PayloadFormat::Text | PayloadFormat::Escaped => "0",
    }
}

fn error_at(line: usize, message: impl Into<String>) -> ScenarioError {
    ScenarioError {
        line,
        column: 1,
        message: message.into(),
    }
}

/// `2 s`, `500 ms`, `1.5 s`.
pub fn describe_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        format!("{millis} ms")
    } else if millis.is_multiple_of(1000) {
        format!("{} s", millis / 1000)
    } else {
        let text = format!("{:.3}", duration.as_secs_f64());
        format!("{} s", text.trim_end_matches('0'))
    }
}

/// A short quotation of typed text for a step's label.
pub(crate) fn quote(text: &str) -> String {
    const LONGEST: usize = 40;
    let mut quoted = String::from("\"");
    for (index, c) in text.chars().enumerate() {
        if index == LONGEST {
            quoted.push('…');
            break;
        }
        match c {
            '\r' => quoted.push_str("\\r"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            '"' => quoted.push_str("\\\""),
            c if c.is_control() => {
                let _ = write!(quoted, "\\u{{{:x}}}", c as u32);
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

fn duration_since(later: DateTime<Local>, earlier: DateTime<Local>) -> Duration {
    (later - earlier).to_std().unwrap_or_default()
}

fn add(time: DateTime<Local>, duration: Duration) -> DateTime<Local> {
    time + chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

fn passed(note: Option<String>) -> StepOutcome {
    StepOutcome::Passed { note }
}

fn failed(message: impl Into<String>) -> StepOutcome {
    StepOutcome::Failed(Failure {
        message: message.into(),
        expected: None,
        received: Vec::new(),
    })
}

fn failed_expect(message: impl Into<String>, expected: Vec<u8>, received: Vec<u8>) -> StepOutcome {
    StepOutcome::Failed(Failure {
        message: message.into(),
        expected: Some(expected),
        received,
    })
}

/// The list of steps at the innermost level.
fn list_at<'a>(steps: &'a mut Vec<Compiled>, levels: &[Level]) -> &'a mut Vec<Compiled> {
    let mut list = steps;
    for level in &levels[..levels.len().saturating_sub(1)] {
        list = match &mut list[level.pos].kind {
            Kind::Repeat { steps, .. } => steps,
            _ => unreachable!("levels are entered only through repeats"),
        };
    }
    list
}

fn current_step<'a>(steps: &'a mut Vec<Compiled>, levels: &[Level]) -> Option<&'a mut Compiled> {
    let pos = levels.last()?.pos;
    list_at(steps, levels).get_mut(pos)
}

/// Runtime substitution: a socket's value before it is open is an error in words.
fn substitute_now(
    vars: &Vars,
    socket_vars: &HashSet<String>,
    text: &str,
    escape: Escape,
) -> Result<String, String> {
    vars::substitute_with(text, escape, |name| {
        if let Some(value) = vars.get(name) {
            return Ok(Lookup::Value(value));
        }
        if socket_vars.contains(name) {
            let socket = name.rsplit_once('.').map_or(name, |(socket, _)| socket);
            return Err(format!(
                "{{{{{name}}}}} has no value yet: {socket} is not open"
            ));
        }
        if let Some(variable) = name.strip_prefix("env:") {
            return Err(format!(
                "the environment variable {} is not set",
                variable.trim()
            ));
        }
        Ok(Lookup::Keep)
    })
}

impl Run {
    /// Checks and compiles the scenario with these variables (`--var`, overriding the
    /// file's `[vars]`). `new_session` hands out the engine's session ids.
    pub fn new(
        scenario: &Scenario,
        vars: &[(String, String)],
        new_session: &mut dyn FnMut() -> SessionId,
    ) -> Result<Run, ScenarioError> {
        let store = Vars::new(&scenario.vars, vars);
        let mut socket_vars = HashSet::new();
        for socket in &scenario.sockets {
            socket_vars.insert(format!("{}.port", socket.name));
            socket_vars.insert(format!("{}.addr", socket.name));
        }
        let mut checker = Checker {
            vars: &store,
            encoding: scenario.encoding,
            runtime: socket_vars.clone(),
        };
        let mut sockets = Vec::with_capacity(scenario.sockets.len());
        for socket in &scenario.sockets {
            sockets.push(compile_socket(socket, &checker, new_session)?);
        }
        let context = Context {
            scenario,
            sockets: &scenario.sockets,
            encoding: scenario.encoding,
            base_dir: &scenario.base_dir,
        };
        let steps = compile_steps(&scenario.steps, &context, &mut checker)?;
        Ok(Run {
            timeout: scenario.timeout,
            encoding: scenario.encoding,
            sockets,
            steps,
            vars: store,
            socket_vars,
            phase: Phase::Ready,
            levels: Vec::new(),
            current: None,
            clock: DateTime::<chrono::Utc>::MIN_UTC.with_timezone(&Local),
            transfers: 0,
        })
    }

    /// Opens the sockets marked to open at start and begins the first step.
    pub fn start(&mut self, now: DateTime<Local>, out: &mut Output) {
        if self.phase != Phase::Ready {
            return;
        }
        self.clock = self.clock.max(now);
        self.phase = Phase::Opening { next: 0 };
        self.begin_next(out);
    }

    /// Whether `session` is one of this run's sockets (its events belong to the run).
    /// [`SessionId::ENGINE`] counts too: its `EngineFailed` ends the run.
    pub fn owns(&self, session: SessionId) -> bool {
        session == SessionId::ENGINE || self.sockets.iter().any(|s| s.session == session)
    }

    /// An event of one of this run's sessions.
    pub fn on_event(&mut self, event: &Event, out: &mut Output) {
        if matches!(self.phase, Phase::Finished(_)) {
            return;
        }
        // A limit that ran out before this event happened counts first.
        self.expire(event.time, out);
        self.clock = self.clock.max(event.time);
        if let EventKind::EngineFailed { error } = &event.kind {
            self.fail_run(
                failed(format!("the network engine stopped: {error}")),
                event.time,
                out,
            );
            return;
        }
        let Some(index) = self.sockets.iter().position(|s| s.session == event.session) else {
            return;
        };
        self.handle(index, event, out);
        self.begin_next(out);
    }

    /// Time passes: a time limit ran out, a sleep ended, an expect-nothing window closed.
    pub fn advance(&mut self, now: DateTime<Local>, out: &mut Output) {
        self.clock = self.clock.max(now);
        self.expire(now, out);
    }

    /// When `advance` has something to do next, if ever.
    pub fn next_deadline(&self) -> Option<DateTime<Local>> {
        if matches!(self.phase, Phase::Finished(_)) {
            return None;
        }
        self.current.as_ref()?.wait.deadline()
    }

    /// The user stops the run: the current step fails as `stopped`, the sockets stop.
    pub fn stop(&mut self, now: DateTime<Local>, out: &mut Output) {
        if matches!(self.phase, Phase::Finished(_)) {
            return;
        }
        self.clock = self.clock.max(now);
        if self.current.is_some() {
            self.fail_run(failed("stopped"), now, out);
        } else {
            self.finish(false, out);
        }
    }

    /// `Some(passed)` once finished.
    pub fn result(&self) -> Option<bool> {
        match self.phase {
            Phase::Finished(passed) => Some(passed),
            _ => None,
        }
    }

    /// The session of a socket (for the window, to label it with the socket's name), once
    /// the run has opened it.
    pub fn session_of(&self, socket: SocketIndex) -> Option<SessionId> {
        self.sockets
            .get(socket)
            .filter(|s| s.opened)
            .map(|s| s.session)
    }

    /// A variable's value now (`[vars]`, `--var`, captures, sockets' `name.port`).
    pub fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).map(|value| value.into_owned())
    }

    // ---- the steps, one after the other ----

    /// Begins steps until one has to wait (or the run is over).
    fn begin_next(&mut self, out: &mut Output) {
        while self.current.is_none() {
            match self.phase {
                Phase::Ready | Phase::Finished(_) => return,
                Phase::Opening { next } => {
                    match (next..self.sockets.len()).find(|&i| self.sockets[i].open_at_start) {
                        Some(index) => {
                            self.phase = Phase::Opening { next: index + 1 };
                            let step = StepRef {
                                number: "open".into(),
                                label: self.open_label(index),
                                line: self.sockets[index].line,
                                top: None,
                                iteration: None,
                            };
                            out.progress.push(Progress::StepStarted(step.clone()));
                            let outcome = self.open_socket(index, self.timeout, out);
                            self.settle(step, outcome, out);
                        }
                        None => {
                            self.phase = Phase::Steps;
                            self.levels.push(Level {
                                pos: 0,
                                iteration: 1,
                                times: 1,
                                repeat: None,
                            });
                        }
                    }
                }
                Phase::Steps => self.begin_step(out),
            }
        }
    }

    /// Begins the step at the cursor, or moves past the end of a list.
    fn begin_step(&mut self, out: &mut Output) {
        let depth = self.levels.len();
        let length = list_at(&mut self.steps, &self.levels).len();
        let level = self
            .levels
            .last_mut()
            .expect("the top level is entered first");
        if level.pos >= length {
            if depth == 1 {
                self.finish(true, out);
                return;
            }
            level.iteration += 1;
            level.pos = 0;
            if level.iteration > level.times {
                let done = self.levels.pop().expect("a repeat level");
                if let Some((step, started)) = done.repeat {
                    out.progress.push(Progress::StepFinished {
                        step,
                        outcome: passed(Some(format!("{} iterations", done.times))),
                        duration: duration_since(self.clock, started),
                    });
                }
                if let Some(parent) = self.levels.last_mut() {
                    parent.pos += 1;
                }
            }
            return;
        }
        let step_ref = self.step_ref();
        let step = current_step(&mut self.steps, &self.levels).expect("the cursor is in range");
        if let Kind::Repeat { times, steps } = &step.kind {
            let times = if steps.is_empty() { 0 } else { *times };
            out.progress.push(Progress::StepStarted(step_ref.clone()));
            if times == 0 {
                out.progress.push(Progress::StepFinished {
                    step: step_ref,
                    outcome: passed(Some("0 iterations".into())),
                    duration: Duration::ZERO,
                });
                self.levels.last_mut().expect("a level").pos += 1;
            } else {
                self.levels.push(Level {
                    pos: 0,
                    iteration: 1,
                    times,
                    repeat: Some((step_ref, self.clock)),
                });
            }
            return;
        }
        out.progress.push(Progress::StepStarted(step_ref.clone()));
        let outcome = self.execute(out);
        self.settle(step_ref, outcome, out);
    }

    /// A step just begun: finished at once, or waiting (checked once right away).
    fn settle(&mut self, step: StepRef, outcome: Result<StepOutcome, Wait>, out: &mut Output) {
        match outcome {
            Ok(outcome) => {
                self.current = Some(Current {
                    step,
                    started: self.clock,
                    wait: Wait::Sleep { until: self.clock },
                });
                self.complete(outcome, self.clock, out);
            }
            Err(wait) => {
                self.current = Some(Current {
                    step,
                    started: self.clock,
                    wait,
                });
                if let Some(outcome) = self.evaluate(false) {
                    self.complete(outcome, self.clock, out);
                }
            }
        }
    }

    fn step_ref(&self) -> StepRef {
        let mut number = String::new();
        for (depth, level) in self.levels.iter().enumerate() {
            if depth > 0 {
                number.push('.');
            }
            let _ = write!(number, "{}", level.pos + 1);
        }
        let mut list = &self.steps;
        for level in &self.levels[..self.levels.len() - 1] {
            list = match &list[level.pos].kind {
                Kind::Repeat { steps, .. } => steps,
                _ => unreachable!("levels are entered only through repeats"),
            };
        }
        let step = &list[self.levels.last().expect("a level").pos];
        let innermost = self.levels.last().expect("a level");
        StepRef {
            number,
            label: step.label.clone(),
            line: step.line,
            top: Some(self.levels[0].pos),
            iteration: (self.levels.len() > 1).then_some((innermost.iteration, innermost.times)),
        }
    }

    /// The current step ends: report it, and go on or end the run.
    fn complete(&mut self, outcome: StepOutcome, at: DateTime<Local>, out: &mut Output) {
        let Some(current) = self.current.take() else {
            return;
        };
        self.clock = self.clock.max(at);
        let failed_step = matches!(outcome, StepOutcome::Failed(_)).then(|| current.step.clone());
        out.progress.push(Progress::StepFinished {
            step: current.step,
            outcome,
            duration: duration_since(at, current.started),
        });
        if let Some(step) = failed_step {
            self.fail_repeats(&step, out);
            self.finish(false, out);
            return;
        }
        if self.phase == Phase::Steps
            && let Some(level) = self.levels.last_mut()
        {
            level.pos += 1;
        }
    }

    /// The repeats around a failed step fail with it, innermost first.
    fn fail_repeats(&mut self, failed_step: &StepRef, out: &mut Output) {
        while let Some(level) = self.levels.pop() {
            let Some((step, started)) = level.repeat else {
                continue;
            };
            out.progress.push(Progress::StepFinished {
                step,
                outcome: failed(format!(
                    "step {} failed in iteration {} of {}",
                    failed_step.number, level.iteration, level.times
                )),
                duration: duration_since(self.clock, started),
            });
        }
    }

    /// Fails the current step (a run-wide reason) and ends the run.
    fn fail_run(&mut self, outcome: StepOutcome, at: DateTime<Local>, out: &mut Output) {
        if self.current.is_some() {
            self.complete(outcome, at, out);
        } else {
            self.finish(false, out);
        }
    }

    fn finish(&mut self, passed: bool, out: &mut Output) {
        if matches!(self.phase, Phase::Finished(_)) {
            return;
        }
        self.phase = Phase::Finished(passed);
        self.current = None;
        out.progress.push(Progress::Finished { passed });
        for socket in &self.sockets {
            if socket.opened && socket.state != SocketState::Closed {
                out.commands.push(Command::Stop {
                    session: socket.session,
                });
            }
        }
    }

    /// Limits that ran out by `time`, in order (a sleep that ends lets the next step
    /// begin, whose own limit is later).
    fn expire(&mut self, time: DateTime<Local>, out: &mut Output) {
        while let Some(current) = &self.current {
            let Some(deadline) = current.wait.deadline() else {
                return;
            };
            if deadline > time || matches!(self.phase, Phase::Finished(_)) {
                return;
            }
            let outcome = self.expired();
            self.complete(outcome, deadline, out);
            self.begin_next(out);
        }
    }

    /// What the current step comes to when its time is up.
    fn expired(&mut self) -> StepOutcome {
        let Some(current) = &self.current else {
            return passed(None);
        };
        let name = |socket: &SocketIndex| self.sockets[*socket].name.clone();
        match &current.wait {
            Wait::Sleep { .. } | Wait::Nothing { .. } => passed(None),
            Wait::Open { socket, .. } => failed(format!(
                "{} did not open within {}",
                name(socket),
                describe_duration(self.timeout_of_open())
            )),
            Wait::Expect {
                socket,
                within,
                last_skipped,
                ..
            } => {
                let s = &self.sockets[*socket];
                let mut received = s.waiting();
                if received.is_empty()
                    && let Some(skipped) = last_skipped
                {
                    received = skipped.clone();
                }
                let expected = self.current_pattern().map(Pattern::expected);
                failed_expect(
                    format!("nothing matched within {}", describe_duration(*within)),
                    expected.unwrap_or_default(),
                    received,
                )
            }
            Wait::Connection { socket, within, .. } => {
                let s = &self.sockets[*socket];
                failed(match s.role {
                    Role::Listen => format!(
                        "no client connected to {} within {}",
                        s.name,
                        describe_duration(*within)
                    ),
                    Role::Connect => format!(
                        "{} did not connect within {}",
                        s.name,
                        describe_duration(*within)
                    ),
                })
            }
            Wait::PeerClose { socket, within, .. } => failed(format!(
                "no connection of {} closed within {}",
                name(socket),
                describe_duration(*within)
            )),
            Wait::Closing { socket, .. } => failed(format!(
                "{} did not close within {}",
                name(socket),
                describe_duration(self.timeout)
            )),
            Wait::Transfer { .. } => passed(None),
        }
    }

    fn timeout_of_open(&self) -> Duration {
        let Some(current) = &self.current else {
            return self.timeout;
        };
        match &current.wait {
            Wait::Open { deadline, .. } => duration_since(*deadline, current.started),
            _ => self.timeout,
        }
    }

    fn current_pattern(&self) -> Option<&Pattern> {
        if self.phase != Phase::Steps {
            return None;
        }
        let mut list = &self.steps;
        for level in &self.levels[..self.levels.len().saturating_sub(1)] {
            list = match &list[level.pos].kind {
                Kind::Repeat { steps, .. } => steps,
                _ => return None,
            };
        }
        match &list.get(self.levels.last()?.pos)?.kind {
            Kind::Expect { pattern, .. } => pattern.pattern(),
            _ => None,
        }
    }

    /// Runs the step at the cursor: `Ok` when it is over at once, `Err` what it waits for.
    fn execute(&mut self, out: &mut Output) -> Result<StepOutcome, Wait> {
        let now = self.clock;
        let step = current_step(&mut self.steps, &self.levels).expect("the cursor is in range");
        match &mut step.kind {
            Kind::Send {
                socket,
                payload,
                to,
            } => {
                let socket = *socket;
                let template = match payload {
                    SendPayload::Fixed(template) => Arc::clone(template),
                    SendPayload::Runtime { spec, cache } => {
                        let text = match substitute_now(
                            &self.vars,
                            &self.socket_vars,
                            &spec.text,
                            escape_for(spec.format),
                        ) {
                            Ok(text) => text,
                            Err(message) => return Ok(failed(message)),
                        };
                        match cache {
                            Some((cached, template)) if *cached == text => Arc::clone(template),
                            _ => {
                                let compiled = PayloadSpec {
                                    text: text.clone(),
                                    ..spec.clone()
                                };
                                let template = match Template::compile(&compiled, self.encoding) {
                                    Ok(template) => Arc::new(template),
                                    Err(error) => return Ok(failed(error.to_string())),
                                };
                                *cache = Some((text, Arc::clone(&template)));
                                template
                            }
                        }
                    }
                };
                let target = match to {
                    Some(To::Fixed(addr)) => Ok(Some(*addr)),
                    Some(To::Runtime(text)) => {
                        substitute_now(&self.vars, &self.socket_vars, text, Escape::None)
                            .and_then(|text| parse_bind_address(&text).map(Some))
                    }
                    None => Ok(None),
                };
                let target = match target {
                    Ok(to) => self.target(socket, to),
                    Err(message) => Err(message),
                };
                Ok(match target {
                    Ok(target) => {
                        out.commands.push(Command::Send {
                            session: self.sockets[socket].session,
                            target,
                            data: Payload::Template(template),
                        });
                        passed(None)
                    }
                    Err(message) => failed(message),
                })
            }
            Kind::SendFile { socket, path } => {
                let (socket, path) = (*socket, path.clone());
                if let Err(error) = std::fs::metadata(&path).and_then(|meta| {
                    if meta.is_dir() {
                        Err(std::io::Error::from(std::io::ErrorKind::IsADirectory))
                    } else {
                        Ok(())
                    }
                }) {
                    return Ok(failed(format!(
                        "cannot send {}: {}",
                        path.display(),
                        describe_file_error(&error)
                    )));
                }
                let target = match self.target(socket, None) {
                    Ok(target) => target,
                    Err(message) => return Ok(failed(message)),
                };
                self.transfers += 1;
                // Ids from the top of the range, which the engine's own counter never
                // reaches, so the run needs no engine to hand them out.
                let transfer = TransferId::new(u64::MAX - self.transfers);
                out.commands.push(Command::SendFile {
                    session: self.sockets[socket].session,
                    target,
                    path,
                    transfer,
                    pacing: None,
                });
                Err(Wait::Transfer { transfer })
            }
            Kind::Expect {
                socket,
                pattern,
                within,
            } => {
                let (socket, within) = (*socket, *within);
                if let PatternSlot::Runtime { expectation, cache } = pattern {
                    let text = match substitute_now(
                        &self.vars,
                        &self.socket_vars,
                        &expectation.pattern,
                        pattern_escape(expectation),
                    ) {
                        Ok(text) => text,
                        Err(message) => return Ok(failed(message)),
                    };
                    if cache.as_ref().is_none_or(|(cached, _)| *cached != text) {
                        match Pattern::compile(
                            expectation.matches,
                            &text,
                            expectation.format,
                            self.encoding,
                            expectation.skip_others,
                        ) {
                            Ok(compiled) => *cache = Some((text, compiled)),
                            Err(message) => return Ok(failed(message)),
                        }
                    }
                }
                let s = &self.sockets[socket];
                if s.state == SocketState::Closed && !(s.is_tcp_client() && s.opened) {
                    return Ok(failed(format!("{} is not open", s.name)));
                }
                Err(Wait::Expect {
                    socket,
                    deadline: add(now, within),
                    within,
                    searched: 0,
                    skipped: 0,
                    last_skipped: None,
                })
            }
            Kind::ExpectConnection { socket, within } => {
                let (socket, within) = (*socket, *within);
                Err(Wait::Connection {
                    socket,
                    deadline: add(now, within),
                    within,
                })
            }
            Kind::ExpectClose { socket, within } => {
                let (socket, within) = (*socket, *within);
                Err(Wait::PeerClose {
                    socket,
                    deadline: add(now, within),
                    within,
                })
            }
            Kind::ExpectNothing { socket, during } => {
                let (socket, until) = (*socket, add(now, *during));
                // Strict: what was already waiting unread is something that arrived.
                let leftover = self
                    .sockets
                    .iter()
                    .enumerate()
                    .filter(|(index, _)| socket.is_none_or(|s| s == *index))
                    .find(|(_, s)| s.has_waiting());
                if let Some((_, s)) = leftover {
                    let received = s.waiting();
                    let message = if received.is_empty() {
                        format!("a connection of {} had closed and was not expected", s.name)
                    } else {
                        format!("data from {} was waiting unread", s.name)
                    };
                    return Ok(StepOutcome::Failed(Failure {
                        message,
                        expected: None,
                        received,
                    }));
                }
                Err(Wait::Nothing { socket, until })
            }
            Kind::Sleep(duration) => Err(Wait::Sleep {
                until: add(now, *duration),
            }),
            Kind::Open { socket, within } => {
                let (socket, within) = (*socket, *within);
                self.open_socket(socket, within, out)
            }
            Kind::Close { socket } => {
                let socket = *socket;
                let s = &mut self.sockets[socket];
                let connected_client = s.is_tcp_client() && !s.conns.is_empty();
                if s.state == SocketState::Closed && !connected_client {
                    return Ok(passed(Some(format!("{} was not open", s.name))));
                }
                out.commands.push(Command::Stop { session: s.session });
                Err(Wait::Closing {
                    socket,
                    deadline: add(now, self.timeout),
                })
            }
            Kind::Repeat { .. } => Ok(passed(None)),
        }
    }

    /// Where a send on `socket` goes, or why it cannot go anywhere now.
    fn target(&self, socket: SocketIndex, to: Option<SocketAddr>) -> Result<Target, String> {
        let s = &self.sockets[socket];
        if let Some(reason) = s.not_ready() {
            return Err(reason);
        }
        Ok(match (s.protocol, s.role, to) {
            (Protocol::Udp, Role::Listen, Some(addr)) => Target::Addr(addr),
            (Protocol::Udp, Role::Listen, None) => {
                if s.last_sender.is_none() {
                    return Err(format!(
                        "nobody has sent to {} yet, so there is no one to answer (give `to`)",
                        s.name
                    ));
                }
                Target::LastSender
            }
            _ => Target::All,
        })
    }

    /// Asks the engine to open a socket: framing first, then listen, connect or bind.
    /// The socket's address with its variables as they are now (as typed if one has no
    /// value yet: opening then fails and says why).
    fn address_now(&self, index: SocketIndex) -> Result<String, String> {
        match &self.sockets[index].addr {
            Text::Fixed(addr) => Ok(addr.clone()),
            Text::Runtime(text) => {
                substitute_now(&self.vars, &self.socket_vars, text, Escape::None)
            }
        }
    }

    fn open_label(&self, index: SocketIndex) -> String {
        let s = &self.sockets[index];
        let addr = match (self.address_now(index), &s.addr) {
            (Ok(addr), _) => addr,
            (Err(_), Text::Runtime(typed) | Text::Fixed(typed)) => typed.clone(),
        };
        open_words(&s.name, s.protocol, s.role, &addr)
    }

    fn open_socket(
        &mut self,
        index: SocketIndex,
        within: Duration,
        out: &mut Output,
    ) -> Result<StepOutcome, Wait> {
        let addr = match self.address_now(index) {
            Ok(addr) => addr,
            Err(message) => return Ok(failed(message)),
        };
        let s = &mut self.sockets[index];
        s.clear();
        s.opened = true;
        s.state = SocketState::Opening;
        let session = s.session;
        out.progress.push(Progress::SocketOpening {
            socket: index,
            session,
            addr: addr.clone(),
        });
        if s.framing != FramingSpec::default() {
            out.commands.push(Command::SetFraming {
                session,
                framing: s.framing.clone(),
            });
        }
        // A scenario's peer that finishes sending has closed, as `expect-close` means it.
        let socket_options = SocketOptions {
            close_when_peer_finishes: true,
            ..SocketOptions::default()
        };
        out.commands.push(match (s.protocol, s.role) {
            (Protocol::Tcp, Role::Listen) => Command::Listen {
                session,
                addr,
                options: ServerOptions {
                    socket: socket_options,
                    ..ServerOptions::default()
                },
            },
            (Protocol::Tcp, Role::Connect) => Command::Connect {
                session,
                addr,
                timeout: within,
                options: ClientOptions {
                    socket: socket_options,
                    tls: None,
                },
            },
            (Protocol::Udp, Role::Listen) => Command::OpenUdp {
                session,
                bind: addr,
                connect: None,
                options: UdpOptions::default(),
            },
            (Protocol::Udp, Role::Connect) => Command::OpenUdp {
                session,
                bind: "0.0.0.0:0".into(),
                connect: Some(addr),
                options: UdpOptions::default(),
            },
        });
        Err(Wait::Open {
            socket: index,
            deadline: add(self.clock, within),
        })
    }

    // ---- events ----

    fn handle(&mut self, index: SocketIndex, event: &Event, out: &mut Output) {
        let time = event.time;
        match &event.kind {
            EventKind::Listening { local } => self.opened(index, *local, time, out),
            EventKind::UdpOpened { local, .. } => self.opened(index, *local, time, out),
            EventKind::Connected(info) => {
                let s = &mut self.sockets[index];
                s.conns.push(info.conn);
                match s.role {
                    Role::Connect => self.opened(index, info.local, time, out),
                    Role::Listen => {
                        s.connections += 1;
                        self.recheck(time, out);
                    }
                }
            }
            EventKind::ListenFailed { error }
            | EventKind::ConnectFailed { error }
            | EventKind::UdpFailed { error } => {
                let s = &mut self.sockets[index];
                s.state = SocketState::Closed;
                let message = match &event.kind {
                    EventKind::ConnectFailed { .. } => {
                        format!("{} could not connect: {error}", s.name)
                    }
                    _ => format!("{} could not open: {error}", s.name),
                };
                self.fail_run(failed(message), time, out);
            }
            EventKind::Received { data, messages, .. } => {
                if self.nothing_expected_on(index) {
                    return self.fail_run(
                        StepOutcome::Failed(Failure {
                            message: format!("{} received data", self.sockets[index].name),
                            expected: None,
                            received: data.clone(),
                        }),
                        time,
                        out,
                    );
                }
                let s = &mut self.sockets[index];
                if s.message_based() {
                    let mut start = 0;
                    for mark in messages {
                        let bytes = &data[start..mark.end];
                        start = mark.end;
                        s.messages.push_back(Message {
                            data: mark.body(bytes).to_vec(),
                            checksum_ok: mark.checksum_ok,
                        });
                    }
                } else {
                    s.stream.extend_from_slice(data);
                }
                self.recheck(time, out);
            }
            EventKind::DatagramsReceived { datagrams } => {
                if self.nothing_expected_on(index) && !datagrams.is_empty() {
                    return self.fail_run(
                        StepOutcome::Failed(Failure {
                            message: format!("{} received a datagram", self.sockets[index].name),
                            expected: None,
                            received: datagrams[0].data.to_vec(),
                        }),
                        time,
                        out,
                    );
                }
                let s = &mut self.sockets[index];
                for datagram in datagrams {
                    s.last_sender = Some(datagram.addr);
                    s.messages.push_back(Message {
                        data: datagram.data.to_vec(),
                        checksum_ok: datagram.checksum_ok,
                    });
                }
                self.recheck(time, out);
            }
            EventKind::Closed { conn, reason, .. } => {
                let s = &mut self.sockets[index];
                s.conns.retain(|c| c != conn);
                if s.is_tcp_client() {
                    s.state = SocketState::Closed;
                }
                let closing = matches!(
                    self.current.as_ref().map(|c| &c.wait),
                    Some(Wait::Closing { socket, .. }) if *socket == index
                );
                let s = &mut self.sockets[index];
                if closing {
                    // Our own close: not the peer's, nothing to expect.
                    if s.is_tcp_client() {
                        self.complete(passed(None), time, out);
                    }
                    return;
                }
                s.closes.push_back(reason.clone());
                s.last_close = Some(reason.clone());
                if self.nothing_expected_on(index) {
                    let s = &self.sockets[index];
                    let message =
                        format!("the peer closed the connection to {} ({reason})", s.name);
                    return self.fail_run(failed(message), time, out);
                }
                let lost = self.sockets[index].conns.is_empty();
                self.recheck_closed(index, lost, time, out);
            }
            EventKind::Stopped => {
                let s = &mut self.sockets[index];
                s.state = SocketState::Closed;
                s.conns.clear();
                if matches!(
                    self.current.as_ref().map(|c| &c.wait),
                    Some(Wait::Closing { socket, .. }) if *socket == index
                ) {
                    self.complete(passed(None), time, out);
                }
            }
            EventKind::TransferFinished {
                transfer, outcome, ..
            } => {
                if matches!(
                    self.current.as_ref().map(|c| &c.wait),
                    Some(Wait::Transfer { transfer: t, .. }) if t == transfer
                ) {
                    let outcome = match outcome {
                        TransferOutcome::Completed => passed(None),
                        TransferOutcome::Cancelled => failed("the transfer was cancelled"),
                        TransferOutcome::Failed(error) => failed(error.clone()),
                    };
                    self.complete(outcome, time, out);
                }
            }
            EventKind::Error { message } => {
                let message = format!("{}: {message}", self.sockets[index].name);
                self.fail_run(failed(message), time, out);
            }
            EventKind::DatagramsUnreported { count, bytes } => {
                // The run cannot judge data it never saw: say so rather than time out.
                let message = format!(
                    "{}: {count} datagrams ({bytes} bytes) arrived while this run was behind \
                     and were counted but not shown to it",
                    self.sockets[index].name
                );
                self.fail_run(failed(message), time, out);
            }
            _ => {}
        }
    }

    fn nothing_expected_on(&self, index: SocketIndex) -> bool {
        matches!(
            self.current.as_ref().map(|c| &c.wait),
            Some(Wait::Nothing { socket, .. }) if socket.is_none_or(|s| s == index)
        )
    }

    /// A socket is open (listening, connected, bound): its variables have values.
    fn opened(
        &mut self,
        index: SocketIndex,
        local: SocketAddr,
        time: DateTime<Local>,
        out: &mut Output,
    ) {
        let s = &mut self.sockets[index];
        s.state = SocketState::Open;
        let name = s.name.clone();
        self.vars
            .set(&format!("{name}.port"), &local.port().to_string());
        self.vars.set(&format!("{name}.addr"), &local.to_string());
        if matches!(
            self.current.as_ref().map(|c| &c.wait),
            Some(Wait::Open { socket, .. }) if *socket == index
        ) {
            self.complete(passed(None), time, out);
            return;
        }
        self.recheck(time, out);
    }

    /// Something arrived: the current step may be done.
    fn recheck(&mut self, time: DateTime<Local>, out: &mut Output) {
        if let Some(outcome) = self.evaluate(false) {
            self.complete(outcome, time, out);
        }
    }

    fn recheck_closed(
        &mut self,
        index: SocketIndex,
        lost: bool,
        time: DateTime<Local>,
        out: &mut Output,
    ) {
        let waits_on_it = matches!(
            self.current.as_ref().map(|c| &c.wait),
            Some(Wait::Expect { socket, .. }) if *socket == index
        );
        if let Some(outcome) = self.evaluate(lost && waits_on_it) {
            self.complete(outcome, time, out);
        }
    }

    /// Whether the current step is done with what has arrived; `peer_closed`: the
    /// expect's connection just ended.
    fn evaluate(&mut self, peer_closed: bool) -> Option<StepOutcome> {
        let current = self.current.as_mut()?;
        match &mut current.wait {
            Wait::Expect {
                socket,
                searched,
                skipped,
                last_skipped,
                ..
            } => {
                let index = *socket;
                let step = current_step(&mut self.steps, &self.levels)?;
                let Kind::Expect { pattern, .. } = &step.kind else {
                    return None;
                };
                let skip_others = pattern.skip_others();
                let pattern = pattern.pattern()?;
                let s = &mut self.sockets[index];
                let mut notes = Vec::new();
                let mut matched = None;
                if s.message_based() {
                    while let Some(message) = s.messages.front() {
                        match pattern.match_message(&message.data) {
                            Some(captures) => {
                                let message = s.messages.pop_front().expect("looked at");
                                if message.checksum_ok == Some(false) {
                                    return Some(failed_expect(
                                        "bad checksum",
                                        pattern.expected(),
                                        message.data,
                                    ));
                                }
                                matched = Some(captures);
                                break;
                            }
                            None if skip_others => {
                                let message = s.messages.pop_front().expect("looked at");
                                *skipped += 1;
                                *last_skipped = Some(message.data);
                            }
                            None => {
                                return Some(failed_expect(
                                    "the next message does not match",
                                    pattern.expected(),
                                    message.data.clone(),
                                ));
                            }
                        }
                    }
                    if matched.is_some() && *skipped > 0 {
                        let plural = if *skipped == 1 { "" } else { "s" };
                        notes.push(format!("skipped {skipped} message{plural}"));
                    }
                } else {
                    match pattern.search_stream(&s.stream[s.offset..], *searched) {
                        StreamMatch::Found(found) => {
                            if found.start > 0 {
                                let plural = if found.start == 1 { "" } else { "s" };
                                notes.push(format!("skipped {} byte{plural}", found.start));
                            }
                            s.consume(found.end);
                            matched = Some(found.captures);
                        }
                        StreamMatch::NotYet { searched: now } => *searched = now,
                        StreamMatch::Never => {
                            return Some(failed_expect(
                                "the data received does not match",
                                pattern.expected(),
                                s.waiting(),
                            ));
                        }
                    }
                }
                match matched {
                    Some(captures) => {
                        for (name, value) in &captures {
                            notes.push(format!("captured {name} = {value}"));
                            self.vars.set(name, value);
                        }
                        Some(passed((!notes.is_empty()).then(|| notes.join("; "))))
                    }
                    None => {
                        let s = &self.sockets[index];
                        let client_gone = s.is_tcp_client()
                            && s.conns.is_empty()
                            && s.state != SocketState::Opening;
                        (peer_closed || client_gone).then(|| {
                            let message = match &s.last_close {
                                Some(reason) => {
                                    format!("the peer closed the connection ({reason})")
                                }
                                None => "the peer closed the connection".to_string(),
                            };
                            failed_expect(message, pattern.expected(), s.waiting())
                        })
                    }
                }
            }
            Wait::Connection { socket, .. } => {
                let s = &mut self.sockets[*socket];
                match s.role {
                    Role::Listen if s.connections > 0 => {
                        s.connections -= 1;
                        Some(passed(None))
                    }
                    Role::Connect if !s.conns.is_empty() => Some(passed(None)),
                    _ => None,
                }
            }
            Wait::PeerClose { socket, .. } => {
                let s = &mut self.sockets[*socket];
                s.closes
                    .pop_front()
                    .map(|reason| passed(Some(format!("{reason}"))))
            }
            Wait::Open { .. }
            | Wait::Nothing { .. }
            | Wait::Sleep { .. }
            | Wait::Closing { .. }
            | Wait::Transfer { .. } => None,
        }
    }
}

/// What compiling a step needs to know of the scenario.
struct Context<'a> {
    scenario: &'a Scenario,
    sockets: &'a [SocketDef],
    encoding: TextEncoding,
    base_dir: &'a std::path::Path,
}

fn compile_socket(
    socket: &SocketDef,
    checker: &Checker<'_>,
    new_session: &mut dyn FnMut() -> SessionId,
) -> Result<Socket, ScenarioError> {
    let fail =
        |message: String| error_at(socket.line, format!("socket {}: {message}", socket.name));
    socket.framing.validate().map_err(fail)?;
    let (checked, runtime) = checker
        .check(&socket.addr, Escape::None, "1", true)
        .map_err(fail)?;
    let valid = match socket.role {
        Role::Listen => parse_bind_address(&checked).map(|_| ()),
        Role::Connect => parse_endpoint(&checked)
            .map(|_| ())
            .map_err(|error| error.to_string()),
    };
    valid.map_err(|error| fail(format!("address {}: {error}", quote(&socket.addr))))?;
    Ok(Socket {
        name: socket.name.clone(),
        protocol: socket.protocol,
        role: socket.role,
        addr: if runtime {
            Text::Runtime(socket.addr.clone())
        } else {
            Text::Fixed(checked)
        },
        framing: socket.framing.clone(),
        open_at_start: socket.open_at_start,
        line: socket.line,
        session: new_session(),
        opened: false,
        state: SocketState::Closed,
        conns: Vec::new(),
        stream: Vec::new(),
        offset: 0,
        messages: VecDeque::new(),
        connections: 0,
        closes: VecDeque::new(),
        last_close: None,
        last_sender: None,
    })
}

fn compile_steps(
    steps: &[Step],
    context: &Context<'_>,
    checker: &mut Checker<'_>,
) -> Result<Vec<Compiled>, ScenarioError> {
    steps
        .iter()
        .map(|step| compile_step(step, context, checker))
        .collect()
}

fn compile_step(
    step: &Step,
    context: &Context<'_>,
    checker: &mut Checker<'_>,
) -> Result<Compiled, ScenarioError> {
    let line = step.line;
    let fail = |message: String| error_at(line, message);
    let socket_at = |index: SocketIndex| {
        context
            .sockets
            .get(index)
            .ok_or_else(|| error_at(line, format!("no socket number {}", index + 1)))
    };
    let kind = match &step.action {
        Action::Send {
            socket,
            payload,
            to,
        } => {
            let def = socket_at(*socket)?;
            let payload = if payload.variables {
                let (text, runtime) = checker
                    .check(
                        &payload.text,
                        escape_for(payload.format),
                        placeholder_for(payload.format),
                        false,
                    )
                    .map_err(&fail)?;
                let spec = PayloadSpec {
                    text,
                    ..payload.clone()
                };
                let template = Template::compile(&spec, context.encoding)
                    .map_err(|error| fail(format!("send: {error}")))?;
                if runtime {
                    SendPayload::Runtime {
                        spec: payload.clone(),
                        cache: None,
                    }
                } else {
                    SendPayload::Fixed(Arc::new(template))
                }
            } else {
                let template = Template::compile(payload, context.encoding)
                    .map_err(|error| fail(format!("send: {error}")))?;
                SendPayload::Fixed(Arc::new(template))
            };
            let to = match to {
                None => None,
                Some(text) => {
                    if !(def.protocol == Protocol::Udp && def.role == Role::Listen) {
                        return Err(fail(format!(
                            "`to` is only for a UDP listening socket, and {} is not one",
                            def.name
                        )));
                    }
                    let (checked, runtime) = checker
                        .check(text, Escape::None, "1", true)
                        .map_err(&fail)?;
                    let addr = parse_bind_address(&checked)
                        .map_err(|error| fail(format!("to {}: {error}", quote(text))))?;
                    Some(if runtime {
                        To::Runtime(text.clone())
                    } else {
                        To::Fixed(addr)
                    })
                }
            };
            Kind::Send {
                socket: *socket,
                payload,
                to,
            }
        }
        Action::SendFile { socket, path } => {
            socket_at(*socket)?;
            Kind::SendFile {
                socket: *socket,
                path: context.base_dir.join(path),
            }
        }
        Action::Expect {
            socket,
            expectation,
            within,
        } => {
            socket_at(*socket)?;
            let (text, runtime) = checker
                .check(
                    &expectation.pattern,
                    pattern_escape(expectation),
                    placeholder_for(expectation.format),
                    true,
                )
                .map_err(&fail)?;
            let pattern = Pattern::compile(
                expectation.matches,
                &text,
                expectation.format,
                context.encoding,
                expectation.skip_others,
            )
            .map_err(|message| fail(format!("expect: {message}")))?;
            // Later steps may use what this one captures.
            checker.runtime.extend(pattern.capture_names());
            let pattern = if runtime {
                PatternSlot::Runtime {
                    expectation: expectation.clone(),
                    cache: None,
                }
            } else {
                PatternSlot::Fixed(pattern)
            };
            Kind::Expect {
                socket: *socket,
                pattern,
                within: *within,
            }
        }
        Action::ExpectConnection { socket, within } => {
            let def = socket_at(*socket)?;
            if def.protocol == Protocol::Udp {
                return Err(fail(format!(
                    "expect-connection needs a TCP socket; {} is UDP",
                    def.name
                )));
            }
            Kind::ExpectConnection {
                socket: *socket,
                within: *within,
            }
        }
        Action::ExpectClose { socket, within } => {
            let def = socket_at(*socket)?;
            if def.protocol == Protocol::Udp {
                return Err(fail(format!(
                    "expect-close needs a TCP socket; {} is UDP",
                    def.name
                )));
            }
            Kind::ExpectClose {
                socket: *socket,
                within: *within,
            }
        }
        Action::ExpectNothing { socket, during } => {
            if let Some(index) = socket {
                socket_at(*index)?;
            }
            Kind::ExpectNothing {
                socket: *socket,
                during: *during,
            }
        }
        Action::Sleep(duration) => Kind::Sleep(*duration),
        Action::Open { socket, within } => {
            socket_at(*socket)?;
            Kind::Open {
                socket: *socket,
                within: *within,
            }
        }
        Action::Close { socket } => {
            socket_at(*socket)?;
            Kind::Close { socket: *socket }
        }
        Action::Repeat { times, steps } => Kind::Repeat {
            times: *times,
            steps: compile_steps(steps, context, checker)?,
        },
    };
    Ok(Compiled {
        line,
        label: context.scenario.step_label(&step.action),
        kind,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::engine::ConnInfo;

    fn at(start: DateTime<Local>, millis: u64) -> DateTime<Local> {
        add(start, Duration::from_millis(millis))
    }

    /// A run of `actions` on one TCP client `web`, already connected at `t0`.
    fn connected(actions: Vec<Action>) -> (Run, Output, DateTime<Local>, SessionId) {
        let scenario = Scenario {
            name: "unit".into(),
            base_dir: Path::new("/nonexistent-socklab-dir").into(),
            vars: Vec::new(),
            timeout: Duration::from_secs(1),
            encoding: TextEncoding::Utf8,
            sockets: vec![SocketDef {
                name: "web".into(),
                protocol: Protocol::Tcp,
                role: Role::Connect,
                addr: "127.0.0.1:9".into(),
                framing: FramingSpec::default(),
                open_at_start: true,
                line: 3,
            }],
            steps: actions
                .into_iter()
                .enumerate()
                .map(|(index, action)| Step {
                    line: 10 + index,
                    action,
                })
                .collect(),
        };
        let mut next = 0;
        let mut run = Run::new(&scenario, &[], &mut || {
            next += 1;
            SessionId::new(next)
        })
        .unwrap();
        let t0 = Local::now();
        let mut out = Output::default();
        run.start(t0, &mut out);
        let session = run.session_of(0).unwrap();
        let info = ConnInfo {
            conn: ConnId::new(1),
            local: "127.0.0.1:5000".parse().unwrap(),
            peer: "127.0.0.1:9".parse().unwrap(),
            counters: Default::default(),
            options: Default::default(),
            tls: false,
        };
        run.on_event(&event(session, t0, EventKind::Connected(info)), &mut out);
        assert_eq!(run.var("web.port").as_deref(), Some("5000"));
        (run, out, t0, session)
    }

    fn event(session: SessionId, time: DateTime<Local>, kind: EventKind) -> Event {
        Event {
            time,
            session,
            kind,
        }
    }

    fn data(session: SessionId, time: DateTime<Local>, bytes: &[u8]) -> Event {
        event(
            session,
            time,
            EventKind::received_raw(ConnId::new(1), bytes.to_vec()),
        )
    }

    fn expect_ok(within_ms: u64) -> Action {
        Action::Expect {
            socket: 0,
            expectation: Expectation {
                matches: MatchKind::Exact,
                pattern: "OK".into(),
                format: PayloadFormat::Text,
                skip_others: false,
            },
            within: Duration::from_millis(within_ms),
        }
    }

    fn last_outcome(out: &Output) -> (String, StepOutcome, Duration) {
        out.progress
            .iter()
            .rev()
            .find_map(|p| match p {
                Progress::StepFinished {
                    step,
                    outcome,
                    duration,
                } => Some((step.number.clone(), outcome.clone(), *duration)),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn data_that_arrived_in_time_passes_even_when_handed_over_late() {
        let (mut run, mut out, t0, session) = connected(vec![expect_ok(100)]);
        assert_eq!(run.next_deadline(), Some(at(t0, 100)));
        // The owner was busy: the event stamped at 80 ms is handed over at 500 ms.
        run.on_event(&data(session, at(t0, 80), b"OK"), &mut out);
        run.advance(at(t0, 500), &mut out);
        assert_eq!(
            last_outcome(&out),
            ("1".into(), passed(None), Duration::from_millis(80))
        );
        assert_eq!(run.result(), Some(true));
        assert!(
            out.commands
                .iter()
                .any(|c| matches!(c, Command::Stop { session: s } if *s == session)),
            "the run stops its socket"
        );
    }

    #[test]
    fn data_stamped_after_the_limit_is_too_late() {
        let (mut run, mut out, t0, session) = connected(vec![expect_ok(100)]);
        run.on_event(&data(session, at(t0, 150), b"OK"), &mut out);
        let (number, outcome, duration) = last_outcome(&out);
        assert_eq!(number, "1");
        assert_eq!(duration, Duration::from_millis(100));
        assert_eq!(
            outcome,
            failed_expect("nothing matched within 100 ms", b"OK".to_vec(), Vec::new())
        );
        assert_eq!(run.result(), Some(false));
    }

    #[test]
    fn the_peer_closing_while_an_expect_waits_fails_it_with_what_arrived() {
        let (mut run, mut out, t0, session) = connected(vec![expect_ok(1000)]);
        run.on_event(&data(session, at(t0, 10), b"O"), &mut out);
        assert_eq!(run.result(), None, "a prefix of the pattern waits");
        let closed = EventKind::Closed {
            conn: ConnId::new(1),
            reason: CloseReason::PeerClosed,
            unsent: 0,
        };
        run.on_event(&event(session, at(t0, 20), closed), &mut out);
        assert_eq!(
            last_outcome(&out).1,
            failed_expect(
                "the peer closed the connection (peer closed)",
                b"OK".to_vec(),
                b"O".to_vec()
            )
        );
    }

    #[test]
    fn a_missing_file_fails_its_send_file_step_in_words() {
        let (run, out, _, _) = connected(vec![Action::SendFile {
            socket: 0,
            path: "missing.bin".into(),
        }]);
        assert_eq!(
            last_outcome(&out).1,
            failed(
                "cannot send /nonexistent-socklab-dir/missing.bin: no such file or folder (was it removed?)"
            )
        );
        assert_eq!(run.result(), Some(false));
    }

    #[test]
    fn an_engine_error_fails_the_current_step_with_its_words() {
        let (mut run, mut out, t0, session) = connected(vec![
            Action::Send {
                socket: 0,
                payload: PayloadSpec {
                    text: "x".into(),
                    ..PayloadSpec::default()
                },
                to: None,
            },
            Action::Sleep(Duration::from_secs(1)),
        ]);
        let error = EventKind::Error {
            message: "the send queue is full".into(),
        };
        run.on_event(&event(session, at(t0, 5), error), &mut out);
        assert_eq!(
            last_outcome(&out),
            (
                "2".into(),
                failed("web: the send queue is full"),
                Duration::from_millis(5)
            )
        );
    }

    #[test]
    fn datagrams_the_run_never_saw_fail_it_with_the_reason() {
        let (mut run, mut out, t0, session) =
            connected(vec![Action::Sleep(Duration::from_secs(1))]);
        let unreported = EventKind::DatagramsUnreported {
            count: 12,
            bytes: 768,
        };
        run.on_event(&event(session, at(t0, 5), unreported), &mut out);
        assert_eq!(
            last_outcome(&out),
            (
                "1".into(),
                failed(
                    "web: 12 datagrams (768 bytes) arrived while this run was behind and were \
                     counted but not shown to it"
                ),
                Duration::from_millis(5)
            )
        );
    }

    #[test]
    fn captures_and_socket_ports_are_known_only_in_file_order() {
        let capture = Action::Expect {
            socket: 0,
            expectation: Expectation {
                matches: MatchKind::Regex,
                pattern: "id=(?P<id>\\d+)".into(),
                format: PayloadFormat::Text,
                skip_others: false,
            },
            within: Duration::from_secs(1),
        };
        let use_it = Action::Send {
            socket: 0,
            payload: PayloadSpec {
                text: "{{id}} from {{web.port}}".into(),
                ..PayloadSpec::default()
            },
            to: None,
        };
        let (mut run, mut out, t0, session) = connected(vec![capture.clone(), use_it.clone()]);
        run.on_event(&data(session, at(t0, 1), b"id=42"), &mut out);
        let sent = out.commands.iter().find_map(|c| match c {
            Command::Send {
                data: Payload::Template(template),
                ..
            } => {
                let mut bytes = Vec::new();
                template.render(
                    &crate::payload::TemplateValues::unprompted(1, 1, None),
                    &mut bytes,
                );
                Some(bytes)
            }
            _ => None,
        });
        assert_eq!(sent.as_deref(), Some(&b"42 from 5000"[..]));

        let scenario = Scenario {
            name: "x".into(),
            base_dir: ".".into(),
            vars: Vec::new(),
            timeout: Duration::from_secs(1),
            encoding: TextEncoding::Utf8,
            sockets: vec![SocketDef {
                name: "web".into(),
                protocol: Protocol::Tcp,
                role: Role::Connect,
                addr: "127.0.0.1:9".into(),
                framing: FramingSpec::default(),
                open_at_start: true,
                line: 3,
            }],
            steps: vec![
                Step {
                    line: 7,
                    action: use_it,
                },
                Step {
                    line: 8,
                    action: capture,
                },
            ],
        };
        let error = Run::new(&scenario, &[], &mut || SessionId::new(1)).unwrap_err();
        assert_eq!(
            (error.line, error.message.as_str()),
            (7, "unknown variable {{id}}")
        );
    }
}
