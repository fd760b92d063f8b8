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

use std::time::Duration;

use chrono::{DateTime, Local};

use super::{Scenario, ScenarioError, SocketIndex};
use crate::engine::{Command, Event, SessionId};

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
#[derive(Debug)]
pub struct Run {
    _private: (),
}

impl Run {
    /// Checks and compiles the scenario with these variables (`--var`, overriding the
    /// file's `[vars]`). `new_session` hands out the engine's session ids.
    pub fn new(
        scenario: &Scenario,
        vars: &[(String, String)],
        new_session: &mut dyn FnMut() -> SessionId,
    ) -> Result<Run, ScenarioError> {
        let _ = (scenario, vars, new_session);
        todo!("scenario runner")
    }

    /// Opens the sockets marked to open at start and begins the first step.
    pub fn start(&mut self, now: DateTime<Local>, out: &mut Output) {
        let _ = (now, out);
        todo!("scenario runner")
    }

    /// Whether `session` is one of this run's sockets (its events belong to the run).
    pub fn owns(&self, session: SessionId) -> bool {
        let _ = session;
        todo!("scenario runner")
    }

    /// An event of one of this run's sessions.
    pub fn on_event(&mut self, event: &Event, out: &mut Output) {
        let _ = (event, out);
        todo!("scenario runner")
    }

    /// Time passes: a time limit ran out, a sleep ended, an expect-nothing window closed.
    pub fn advance(&mut self, now: DateTime<Local>, out: &mut Output) {
        let _ = (now, out);
        todo!("scenario runner")
    }

    /// When `advance` has something to do next, if ever.
    pub fn next_deadline(&self) -> Option<DateTime<Local>> {
        todo!("scenario runner")
    }

    /// The user stops the run: the current step fails as `stopped`, the sockets stop.
    pub fn stop(&mut self, now: DateTime<Local>, out: &mut Output) {
        let _ = (now, out);
        todo!("scenario runner")
    }

    /// `Some(passed)` once finished.
    pub fn result(&self) -> Option<bool> {
        todo!("scenario runner")
    }

    /// The session of a socket (for the window, to label it with the socket's name).
    pub fn session_of(&self, socket: SocketIndex) -> Option<SessionId> {
        let _ = socket;
        todo!("scenario runner")
    }
}
