//! The window's Scenarios page as data: the scenario file chosen, the variables typed, one
//! row per step ticking live as a [`Run`] reports, and the run itself. No egui: the app
//! feeds it the run's progress and the page draws it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Local};

use crate::engine::SessionId;
use crate::scenario::file::read_scenario;
use crate::scenario::run::Failure;
use crate::scenario::vars::parse_cli_var;
use crate::scenario::{Progress, Run, Scenario, StepOutcome};

/// Where a step is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepState {
    Waiting,
    /// Running; inside a repeat, the iteration (1-based) of how many.
    Running {
        iteration: Option<(u64, u64)>,
    },
    Passed {
        duration: Duration,
        note: Option<String>,
    },
    Failed {
        duration: Duration,
        /// Which step inside a repeat failed, and in which iteration (`"4.2", 17 of 100`).
        inner: Option<String>,
        failure: Failure,
    },
    /// Not run: an earlier step failed or the run was stopped.
    NotRun,
}

/// One row of the page: a socket opened at start, or a top-level step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepRow {
    /// `"open"` or the step's number.
    pub number: String,
    pub label: String,
    pub line: usize,
    pub state: StepState,
}

/// How the last run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEnd {
    Passed,
    Failed,
}

#[derive(Default)]
pub struct ScenarioPage {
    /// The file chosen (read afresh on every run, so edits to it are picked up).
    pub path: Option<PathBuf>,
    /// As read when chosen or last run.
    pub scenario: Option<Scenario>,
    /// Why the file cannot run (unreadable, invalid, a bad variable): shown at the file.
    pub error: Option<String>,
    /// `name=value` pairs separated by spaces or lines, as `--var` takes them.
    pub vars_text: String,
    /// Why the variables typed are not usable, shown at the field.
    pub vars_error: Option<String>,
    pub rows: Vec<StepRow>,
    pub run: Option<Run>,
    pub started: Option<DateTime<Local>>,
    pub finished: Option<(RunEnd, Duration)>,
}

impl ScenarioPage {
    pub fn is_running(&self) -> bool {
        self.run.is_some()
    }

    /// Reads the scenario at `path` and lists its steps, or says why it cannot.
    pub fn open(&mut self, path: &Path) {
        self.path = Some(path.to_path_buf());
        self.finished = None;
        self.reload();
    }

    /// Reads the file again; `true` when it is valid.
    pub fn reload(&mut self) -> bool {
        let Some(path) = &self.path else {
            return false;
        };
        match read_scenario(path) {
            Ok(scenario) => {
                self.rows = rows_of(&scenario);
                self.scenario = Some(scenario);
                self.error = None;
                true
            }
            Err(error) => {
                self.scenario = None;
                self.rows.clear();
                self.error = Some(format!("{}: {error}", path.display()));
                false
            }
        }
    }

    /// The variables typed, checked.
    pub fn vars(&self) -> Result<Vec<(String, String)>, String> {
        self.vars_text
            .split_whitespace()
            .map(parse_cli_var)
            .collect()
    }

    /// Makes a run of the file as it is now with the variables typed; `None` with the
    /// reason shown when it cannot run. The caller starts it and executes its commands.
    pub fn prepare_run(&mut self, new_session: &mut dyn FnMut() -> SessionId) -> Option<&mut Run> {
        self.vars_error = None;
        let vars = match self.vars() {
            Ok(vars) => vars,
            Err(error) => {
                self.vars_error = Some(error);
                return None;
            }
        };
        if !self.reload() {
            return None;
        }
        let scenario = self.scenario.as_ref()?;
        match Run::new(scenario, &vars, new_session) {
            Ok(run) => {
                self.finished = None;
                self.started = None;
                self.run = Some(run);
                self.run.as_mut()
            }
            Err(error) => {
                self.error = Some(format!(
                    "{}: {error}",
                    self.path
                        .as_deref()
                        .unwrap_or(Path::new("scenario"))
                        .display()
                ));
                None
            }
        }
    }

    /// Ticks the rows as the run reports.
    pub fn apply(&mut self, progress: &Progress, now: DateTime<Local>) {
        self.started.get_or_insert(now);
        match progress {
            // The app adds the socket to its list.
            Progress::SocketOpening { .. } => {}
            Progress::StepStarted(step) => {
                let is_top = step.top.is_none() || step.number == top_number(step.top);
                if let Some(row) = self.row_of(&step.number, step.top, step.line) {
                    row.state = StepState::Running {
                        iteration: step.iteration,
                    };
                    if is_top {
                        // The run's words: addresses with their variables substituted.
                        row.label.clone_from(&step.label);
                    }
                }
            }
            Progress::StepFinished {
                step,
                outcome,
                duration,
            } => {
                let is_top = step.top.is_none() || step.number == top_number(step.top);
                let Some(row) = self.row_of(&step.number, step.top, step.line) else {
                    return;
                };
                match outcome {
                    // A repeat fails after the step inside it that failed: keep that
                    // step's details (what arrived), with the repeat's time.
                    StepOutcome::Failed(_)
                        if is_top && matches!(row.state, StepState::Failed { .. }) =>
                    {
                        if let StepState::Failed { duration: took, .. } = &mut row.state {
                            *took = *duration;
                        }
                    }
                    StepOutcome::Failed(failure) => {
                        row.state = StepState::Failed {
                            duration: *duration,
                            inner: (!is_top).then(|| match step.iteration {
                                Some((k, n)) => {
                                    format!("step {}, iteration {k} of {n}", step.number)
                                }
                                None => format!("step {}", step.number),
                            }),
                            failure: failure.clone(),
                        }
                    }
                    StepOutcome::Passed { note } if is_top => {
                        row.state = StepState::Passed {
                            duration: *duration,
                            note: note.clone(),
                        }
                    }
                    // A step inside a repeat: the row runs on until the repeat ends.
                    StepOutcome::Passed { .. } => {
                        row.state = StepState::Running {
                            iteration: step.iteration,
                        }
                    }
                }
            }
            Progress::Finished { passed } => {
                for row in &mut self.rows {
                    row.state = match &row.state {
                        // A repeat whose every iteration passed.
                        StepState::Running { .. } if *passed => StepState::Passed {
                            duration: Duration::ZERO,
                            note: None,
                        },
                        StepState::Running { .. } | StepState::Waiting => StepState::NotRun,
                        done => done.clone(),
                    };
                }
                let end = if *passed {
                    RunEnd::Passed
                } else {
                    RunEnd::Failed
                };
                let took = self
                    .started
                    .and_then(|started| (now - started).to_std().ok())
                    .unwrap_or_default();
                self.finished = Some((end, took));
                self.run = None;
            }
        }
    }

    /// The row a step belongs to: its top-level step, or the socket it opens at start.
    fn row_of(&mut self, number: &str, top: Option<usize>, line: usize) -> Option<&mut StepRow> {
        match top {
            Some(index) => {
                let wanted = top_number(Some(index));
                self.rows.iter_mut().find(|row| row.number == wanted)
            }
            None => self
                .rows
                .iter_mut()
                .find(|row| row.number == number && row.line == line),
        }
    }

    /// Rows back to waiting for a new run.
    pub fn reset_rows(&mut self) {
        if let Some(scenario) = &self.scenario {
            self.rows = rows_of(scenario);
        }
    }
}

fn top_number(top: Option<usize>) -> String {
    top.map_or_else(|| "open".to_string(), |index| (index + 1).to_string())
}

/// A row per socket opened at start, then one per top-level step.
fn rows_of(scenario: &Scenario) -> Vec<StepRow> {
    let opening = scenario
        .sockets
        .iter()
        .enumerate()
        .filter(|(_, socket)| socket.open_at_start)
        .map(|(index, socket)| StepRow {
            number: "open".into(),
            label: scenario.open_label(index),
            line: socket.line,
            state: StepState::Waiting,
        });
    let steps = scenario
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| StepRow {
            number: (index + 1).to_string(),
            label: scenario.step_label(&step.action),
            line: step.line,
            state: StepState::Waiting,
        });
    opening.chain(steps).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::file::parse_scenario;
    use crate::scenario::run::StepRef;

    const TWO_STEPS_AND_A_REPEAT: &str = r#"
[[socket]]
name = "web"
connect = "127.0.0.1:1"

[[step]]
send = "a"

[[step]]
repeat = 5
steps = [{ send = "b" }, { expect = "b" }]

[[step]]
sleep = "1ms"
"#;

    fn page() -> ScenarioPage {
        let scenario = parse_scenario(TWO_STEPS_AND_A_REPEAT, Path::new("."), "t").unwrap();
        ScenarioPage {
            rows: rows_of(&scenario),
            scenario: Some(scenario),
            ..ScenarioPage::default()
        }
    }

    fn step(number: &str, top: Option<usize>, iteration: Option<(u64, u64)>) -> StepRef {
        StepRef {
            number: number.into(),
            label: String::new(),
            line: 0,
            top,
            iteration,
        }
    }

    fn finished(step: StepRef, outcome: StepOutcome) -> Progress {
        Progress::StepFinished {
            step,
            outcome,
            duration: Duration::from_millis(7),
        }
    }

    #[test]
    fn a_row_per_socket_opened_at_start_then_per_top_level_step() {
        let page = page();
        let numbers: Vec<&str> = page.rows.iter().map(|row| row.number.as_str()).collect();
        assert_eq!(numbers, ["open", "1", "2", "3"]);
        assert_eq!(page.rows[2].label, "repeat 5 times");
        assert!(page.rows.iter().all(|row| row.state == StepState::Waiting));
    }

    #[test]
    fn a_failure_inside_a_repeat_keeps_what_arrived_and_the_rest_is_not_run() {
        let mut page = page();
        let now = Local::now();
        let passed = || StepOutcome::Passed { note: None };
        page.apply(&finished(step("1", Some(0), None), passed()), now);
        page.apply(&Progress::StepStarted(step("2", Some(1), None)), now);
        page.apply(&finished(step("2.1", Some(1), Some((3, 5))), passed()), now);
        assert_eq!(
            page.rows[2].state,
            StepState::Running {
                iteration: Some((3, 5))
            }
        );
        let arrived = Failure {
            message: "the next message does not match".into(),
            expected: Some(b"b".to_vec()),
            received: b"x".to_vec(),
        };
        page.apply(
            &finished(
                step("2.2", Some(1), Some((3, 5))),
                StepOutcome::Failed(arrived.clone()),
            ),
            now,
        );
        let summary = Failure {
            message: "step 2.2 failed in iteration 3 of 5".into(),
            expected: None,
            received: Vec::new(),
        };
        page.apply(
            &finished(step("2", Some(1), None), StepOutcome::Failed(summary)),
            now,
        );
        page.apply(&Progress::Finished { passed: false }, now);

        assert_eq!(
            page.rows[2].state,
            StepState::Failed {
                duration: Duration::from_millis(7),
                inner: Some("step 2.2, iteration 3 of 5".into()),
                failure: arrived,
            }
        );
        assert_eq!(page.rows[3].state, StepState::NotRun);
        assert_eq!(page.rows[0].state, StepState::NotRun, "never reported");
        assert!(matches!(page.finished, Some((RunEnd::Failed, _))));
        assert!(!page.is_running());
    }

    #[test]
    fn variables_are_name_value_pairs() {
        let mut page = page();
        page.vars_text = "host=10.0.0.7  port=502\n".into();
        assert_eq!(
            page.vars().unwrap(),
            [
                ("host".to_string(), "10.0.0.7".to_string()),
                ("port".to_string(), "502".to_string())
            ]
        );
        page.vars_text = "host".into();
        assert!(page.vars().unwrap_err().contains("NAME=VALUE"));
    }
}
