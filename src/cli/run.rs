//! `socklab run`: scenario files, read and checked first, then run one after another on
//! one engine, each as many rounds as `--repeat` says. Each step's line goes to stdout
//! as it finishes (see [`crate::scenario::report`]); `--junit` writes every run's results
//! at the end, atomically.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Local;
use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::{Failure, RunArgs, print_line, start_engine, termination_signals};
use crate::engine::{Command, ConnId, Engine, Event, EventKind, SessionId};
use crate::scenario::file::read_scenario;
use crate::scenario::report::{Collector, RunReport, junit_xml};
use crate::scenario::vars::parse_cli_var;
use crate::scenario::{Output, Run, Scenario};

/// How long a finished run waits for its sockets' `Stopped` and `Closed` before the next
/// run starts anyway.
const SETTLE: Duration = Duration::from_secs(2);

/// How often a run waiting for events looks at its stop channel (Ctrl-C).
const STOP_POLL: Duration = Duration::from_millis(100);

pub(super) fn run(args: RunArgs) -> Result<(), Failure> {
    let vars = args
        .vars
        .iter()
        .map(|text| parse_cli_var(text).map_err(|e| Failure::usage(format!("--var: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let junit = args.junit.as_deref().map(JunitFile::prepare).transpose()?;

    let mut scenarios = Vec::new();
    let mut invalid = Vec::new();
    for path in &args.files {
        match read_scenario(path) {
            Ok(scenario) => scenarios.push((path.clone(), scenario)),
            Err(error) => invalid.push((path.clone(), error.to_string())),
        }
    }
    let engine = start_engine()?;
    if invalid.is_empty() {
        // Variables, templates, patterns and addresses are checked by making the run;
        // nothing opens until it starts.
        for (path, scenario) in &scenarios {
            if let Err(error) = Run::new(scenario, &vars, &mut || engine.new_session_id()) {
                invalid.push((path.clone(), error.to_string()));
            }
        }
    }
    if !invalid.is_empty() {
        let started = Local::now();
        let mut reports = Vec::new();
        for (path, error) in invalid {
            eprintln!("{}: {error}", path.display());
            reports.push(RunReport::invalid(&path, error, started));
        }
        if let Some(junit) = junit {
            junit.write(&reports)?;
        }
        return Err(Failure {
            message: String::new(),
            code: 2,
        });
    }

    let signals = termination_signals();
    let mut reports = Vec::new();
    let mut interrupted = false;
    let mut engine_failure = None;
    'files: for (path, scenario) in &scenarios {
        for round in 1..=args.repeat {
            let collector = Collector::new(
                scenario,
                path,
                round,
                args.repeat,
                Local::now(),
                args.verbose,
            );
            print_line(&collector.header());
            let run = Run::new(scenario, &vars, &mut || engine.new_session_id());
            // Checked above with the same variables.
            let run = run.map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
            let mut print = |line: &str| print_line(line);
            let driven = drive_scenario(&engine, scenario, run, collector, &signals, &mut print);
            reports.push(driven.report);
            match driven.ended {
                Ended::Finished => {}
                Ended::Interrupted => {
                    interrupted = true;
                    break 'files;
                }
                Ended::EngineFailed(error) => {
                    engine_failure = Some(error);
                    break 'files;
                }
            }
        }
    }
    if let Some(junit) = junit {
        junit.write(&reports)?;
    }
    if let Some(error) = engine_failure {
        return Err(Failure::runtime(format!(
            "the network thread failed: {error}"
        )));
    }
    if interrupted {
        return Err(Failure::runtime("stopped".into()));
    }
    let failed = reports.iter().filter(|r| !r.passed).count();
    if failed > 0 {
        return Err(Failure::runtime(format!(
            "{failed} of {} scenario runs failed",
            reports.len()
        )));
    }
    Ok(())
}

/// How [`drive_scenario`] ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The run finished (passed or not: see the report).
    Finished,
    /// `stop` fired: the run was stopped.
    Interrupted,
    /// The engine stopped for good; the run was stopped.
    EngineFailed(String),
}

/// A driven run's result.
#[derive(Debug)]
pub struct Driven {
    pub report: RunReport,
    pub ended: Ended,
}

/// Drives `run` to its end on `engine`: executes its commands, hands it its sessions'
/// events and the clock at its deadlines, and passes each line of `collector` to `print`
/// as it comes. A message on `stop` stops the run. Afterwards it waits (at most
/// [`SETTLE`]) for the run's sockets to close and removes its sessions, so the next run
/// on the same engine starts clean. The benchmark drives runs with it too.
pub fn drive_scenario(
    engine: &Engine,
    scenario: &Scenario,
    run: Run,
    collector: Collector,
    stop: &Receiver<()>,
    print: &mut dyn FnMut(&str),
) -> Driven {
    let mut driver = Driver {
        engine,
        run,
        collector,
        print,
        out: Output::default(),
        lines: Vec::new(),
        open: OpenSockets::default(),
        ended: None,
    };
    driver.run.start(Local::now(), &mut driver.out);
    driver.pass_on();
    // A stop finishes the run at once (its step fails as stopped); the engine's end too.
    while driver.run.result().is_none() && !driver.engine_gone() {
        let now = Local::now();
        let wait = match driver.run.next_deadline() {
            Some(deadline) if deadline <= now => {
                // Events that arrived in time are handed over before the limit runs out.
                while let Ok(event) = engine.events().try_recv() {
                    driver.on_event(event);
                }
                if driver.run.result().is_none() && !driver.engine_gone() {
                    driver.run.advance(Local::now(), &mut driver.out);
                }
                driver.pass_on();
                continue;
            }
            Some(deadline) => (deadline - now).to_std().unwrap_or_default(),
            // Nothing is due: only an event or a stop moves the run.
            None => Duration::from_secs(1),
        };
        if stop.try_recv().is_ok() {
            driver.ended = Some(Ended::Interrupted);
            driver.run.stop(Local::now(), &mut driver.out);
            driver.pass_on();
            continue;
        }
        // One channel waited on, as a plain engine owner does (a select over the stop
        // channel too measured slower per round trip); a stop is seen within STOP_POLL.
        match engine.events().recv_timeout(wait.min(STOP_POLL)) {
            Ok(event) => driver.on_event(event),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                driver.engine_failed("the network thread ended".into());
            }
        }
        driver.pass_on();
    }
    let Driver {
        run,
        mut collector,
        print,
        mut lines,
        mut open,
        ended,
        ..
    } = driver;
    if !collector.is_finished() {
        // A finished run reports `Finished`; this only guards the report's summary.
        collector.finish(run.result().unwrap_or(false), Duration::ZERO, &mut lines);
        for line in lines.drain(..) {
            print(&line);
        }
    }
    let ended = ended.unwrap_or(Ended::Finished);
    if !matches!(ended, Ended::EngineFailed(_)) {
        settle(engine, &run, &mut open);
        for socket in 0..scenario.sockets.len() {
            if let Some(session) = run.session_of(socket) {
                engine.execute(Command::Remove { session });
            }
        }
    }
    Driven {
        report: collector.into_report(),
        ended,
    }
}

/// What [`drive_scenario`] works with.
struct Driver<'a> {
    engine: &'a Engine,
    run: Run,
    collector: Collector,
    print: &'a mut dyn FnMut(&str),
    out: Output,
    lines: Vec<String>,
    open: OpenSockets,
    /// Set when the run was stopped from outside (a stop, the engine's end).
    ended: Option<Ended>,
}

impl Driver<'_> {
    fn on_event(&mut self, event: Event) {
        if let EventKind::EngineFailed { error } = &event.kind {
            self.engine_failed(error.clone());
            return;
        }
        if self.run.owns(event.session) {
            self.open.note(event.session, &event.kind);
            self.run.on_event(&event, &mut self.out);
        }
    }

    fn engine_gone(&self) -> bool {
        matches!(self.ended, Some(Ended::EngineFailed(_)))
    }

    fn engine_failed(&mut self, error: String) {
        self.ended = Some(Ended::EngineFailed(error));
        self.run.stop(Local::now(), &mut self.out);
    }

    /// Executes the run's commands and prints what its progress makes.
    fn pass_on(&mut self) {
        for command in self.out.commands.drain(..) {
            self.engine.execute(command);
        }
        for progress in self.out.progress.drain(..) {
            self.collector.on_progress(&progress, &mut self.lines);
        }
        for line in self.lines.drain(..) {
            (self.print)(&line);
        }
    }
}

/// Waits until the run's sockets are closed, at most [`SETTLE`].
fn settle(engine: &Engine, run: &Run, open: &mut OpenSockets) {
    let deadline = Instant::now() + SETTLE;
    while !open.is_empty() {
        let Some(wait) = deadline.checked_duration_since(Instant::now()) else {
            return;
        };
        match engine.events().recv_timeout(wait) {
            Ok(event) => {
                if matches!(event.kind, EventKind::EngineFailed { .. }) {
                    return;
                }
                if run.owns(event.session) {
                    open.note(event.session, &event.kind);
                }
            }
            Err(_) => return,
        }
    }
}

/// The run's listeners, UDP sockets and connections that are still open.
#[derive(Debug, Default)]
struct OpenSockets {
    sessions: Vec<SessionId>,
    connections: Vec<(SessionId, ConnId)>,
}

impl OpenSockets {
    fn note(&mut self, session: SessionId, kind: &EventKind) {
        match kind {
            EventKind::Listening { .. } | EventKind::UdpOpened { .. }
                if !self.sessions.contains(&session) =>
            {
                self.sessions.push(session);
            }
            EventKind::Stopped => self.sessions.retain(|&s| s != session),
            EventKind::Connected(info) => self.connections.push((session, info.conn)),
            EventKind::Closed { conn, .. } => {
                self.connections.retain(|&c| c != (session, *conn));
            }
            _ => {}
        }
    }

    fn is_empty(&self) -> bool {
        self.sessions.is_empty() && self.connections.is_empty()
    }
}

/// The JUnit file: its directory checked (a temporary file made in it) before anything
/// runs, written in full to that file and renamed over the path at the end.
struct JunitFile {
    path: PathBuf,
    temp: PathBuf,
}

impl JunitFile {
    fn prepare(path: &Path) -> Result<JunitFile, Failure> {
        let cannot = |why: String| Failure::usage(format!("--junit {}: {why}", path.display()));
        if path.is_dir() {
            return Err(cannot("is a directory".into()));
        }
        let Some(name) = path.file_name() else {
            return Err(cannot("not a file name".into()));
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let temp = dir.join(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        fs::File::create(&temp).map_err(|e| cannot(format!("cannot write there: {e}")))?;
        Ok(JunitFile {
            path: path.to_path_buf(),
            temp,
        })
    }

    fn write(self, reports: &[RunReport]) -> Result<(), Failure> {
        let xml = junit_xml(reports);
        let written = fs::File::create(&self.temp)
            .and_then(|mut file| {
                file.write_all(xml.as_bytes())?;
                file.sync_all()
            })
            .and_then(|()| fs::rename(&self.temp, &self.path));
        written.map_err(|e| {
            Failure::runtime(format!(
                "cannot write the JUnit file {}: {e}",
                self.path.display()
            ))
        })
    }
}

impl Drop for JunitFile {
    /// A temporary file left by a run that ended early (or a failed write) goes away.
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.temp);
    }
}
