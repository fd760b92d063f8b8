//! A run's results: lines for the terminal (on a failure, what was expected above what
//! arrived, each as text and hex) and JUnit XML for CI systems.
//!
//! A [`Collector`] takes a run's [`Progress`] as it comes and says which lines to print; at
//! the end it holds the [`RunReport`]. The terminal output of one run:
//!
//! ```text
//! RUN   http.toml
//!   PASS  open       2 ms  open web
//!   PASS  1        350 µs  send on web
//!   FAIL  2        2.00 s  expect on web: starts with "HTTP/1.1"
//!           nothing matched within 2 s
//!           expected  8 bytes: "HTTP/1.1"
//!                     0000  48 54 54 50 2f 31 2e 31
//!           received  12 bytes: "HTTP/1.0 404"
//!                     0000  48 54 54 50 2f 31 2e 30 20 34 30 34
//!   SKIP  3                close web
//! FAIL http.toml: step 2 of 3 failed after 2.01 s
//! ```
//!
//! Steps inside a `repeat` (those whose [`StepRef::iteration`] is set) are not printed one
//! iteration at a time: each becomes one aggregate line, printed when its block ends (the
//! next step outside the repeat, or the end of the run), and one aggregate result in the
//! report (one JUnit testcase):
//!
//! ```text
//!   PASS  4.1      3.20 s  send on echo  ×100000, mean 32 µs
//! ```
//!
//! The repeat itself is a step of the run too (`PASS  4  … repeat …`), printed after its
//! block's aggregates. A failing iteration is printed in full at once, with its iteration
//! (`[517/100000]`), before its block's aggregates; `verbose` prints every iteration's line as well. Steps
//! never run (a step before them failed, or the run was stopped) are listed as `SKIP`, one
//! per top-level step.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Local};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::Scenario;
use super::run::{Failure, Progress, StepOutcome, StepRef};
use crate::payload::{escape_for_display, hex_dump};

/// At most this many bytes of what was expected and of what arrived are shown.
pub const SHOWN_BYTES: usize = 256;
/// Bytes per line of a hex dump.
const HEX_ROW: usize = 16;
/// Where a failure's details start (under the step number).
const DETAIL_INDENT: &str = "          ";

/// One finished step, or every iteration of one step inside a repeat.
#[derive(Clone, Debug, PartialEq)]
pub struct StepResult {
    /// The step (for an aggregate: as its last iteration reported it).
    pub step: StepRef,
    /// `None`: not run (a step before it failed, or the run was stopped). An aggregate:
    /// its first failure, or passed.
    pub outcome: Option<StepOutcome>,
    /// An aggregate: the total over its iterations.
    pub duration: Duration,
    /// How many times it ran: 1, or the iterations of an aggregate (0 when not run).
    pub runs: u64,
    /// How many of those runs failed.
    pub failed: u64,
}

impl StepResult {
    /// It stands for the iterations of a step inside a repeat.
    pub fn is_aggregate(&self) -> bool {
        self.step.iteration.is_some()
    }

    pub fn failure(&self) -> Option<&Failure> {
        match &self.outcome {
            Some(StepOutcome::Failed(failure)) => Some(failure),
            _ => None,
        }
    }
}

/// One run of one scenario file.
#[derive(Clone, Debug, PartialEq)]
pub struct RunReport {
    pub scenario: String,
    pub file: PathBuf,
    /// 1-based, with `--repeat N`: this round of `rounds`.
    pub round: u64,
    pub rounds: u64,
    pub started: DateTime<Local>,
    /// The scenario's top-level steps.
    pub top_steps: usize,
    pub steps: Vec<StepResult>,
    pub duration: Duration,
    pub passed: bool,
    /// The scenario could not run at all (an invalid file, a variable without a value):
    /// why. Its `steps` are empty.
    pub error: Option<String>,
}

impl RunReport {
    /// The report of a scenario that is invalid (`error` as `FILE: line L, column C: …`).
    pub fn invalid(file: &Path, error: String, started: DateTime<Local>) -> RunReport {
        RunReport {
            scenario: file_stem(file),
            file: file.to_path_buf(),
            round: 1,
            rounds: 1,
            started,
            top_steps: 0,
            steps: Vec::new(),
            duration: Duration::ZERO,
            passed: false,
            error: Some(error),
        }
    }

    /// The file's name, as the summary shows it.
    pub fn file_name(&self) -> String {
        display_name(&self.file)
    }

    fn failures(&self) -> usize {
        self.steps.iter().filter(|s| s.failed > 0).count()
    }

    fn skipped(&self) -> usize {
        self.steps.iter().filter(|s| s.outcome.is_none()).count()
    }
}

/// Turns a run's progress into lines to print and its [`RunReport`].
#[derive(Debug)]
pub struct Collector {
    report: RunReport,
    verbose: bool,
    /// Labels of the top-level steps, for those never run.
    top_labels: Vec<(usize, String)>,
    /// Which top-level steps reported a result.
    top_seen: Vec<bool>,
    /// Indices in `report.steps` of the aggregates of the repeat block under way.
    open_aggregates: Vec<usize>,
    finished: bool,
}

impl Collector {
    pub fn new(
        scenario: &Scenario,
        file: &Path,
        round: u64,
        rounds: u64,
        started: DateTime<Local>,
        verbose: bool,
    ) -> Collector {
        let top_labels = scenario
            .steps
            .iter()
            .map(|step| (step.line, scenario.step_label(&step.action)))
            .collect();
        Collector {
            report: RunReport {
                scenario: scenario.name.clone(),
                file: file.to_path_buf(),
                round,
                rounds,
                started,
                top_steps: scenario.steps.len(),
                steps: Vec::new(),
                duration: Duration::ZERO,
                passed: false,
                error: None,
            },
            verbose,
            top_labels,
            top_seen: vec![false; scenario.steps.len()],
            open_aggregates: Vec::new(),
            finished: false,
        }
    }

    /// The line to print before the run's steps.
    pub fn header(&self) -> String {
        let mut line = format!("RUN   {}", self.report.file_name());
        if self.report.rounds > 1 {
            let _ = write!(
                line,
                " (round {} of {})",
                self.report.round, self.report.rounds
            );
        }
        line
    }

    /// Takes one piece of progress; pushes the lines it makes to `lines`.
    pub fn on_progress(&mut self, progress: &Progress, lines: &mut Vec<String>) {
        match progress {
            Progress::SocketOpening { .. } => {}
            Progress::StepStarted(step) => {
                if step.iteration.is_none() {
                    self.close_block(lines);
                }
            }
            Progress::StepFinished {
                step,
                outcome,
                duration,
            } => self.on_step_finished(step, outcome, *duration, lines),
            Progress::Finished { passed } => {
                let elapsed = (Local::now() - self.report.started)
                    .to_std()
                    .unwrap_or_default();
                self.finish(*passed, elapsed, lines);
            }
        }
    }

    /// The end of the run, `duration` after it started (what `Progress::Finished` does,
    /// with the clock's time).
    pub fn finish(&mut self, passed: bool, duration: Duration, lines: &mut Vec<String>) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.close_block(lines);
        for (index, seen) in self.top_seen.iter().enumerate() {
            if *seen {
                continue;
            }
            let (line, label) = &self.top_labels[index];
            let step = StepRef {
                number: (index + 1).to_string(),
                label: label.clone(),
                line: *line,
                top: Some(index),
                iteration: None,
            };
            let result = StepResult {
                step,
                outcome: None,
                duration: Duration::ZERO,
                runs: 0,
                failed: 0,
            };
            lines.push(step_line(&result));
            self.report.steps.push(result);
        }
        self.report.passed = passed;
        self.report.duration = duration;
        lines.push(summary_line(&self.report));
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }

    pub fn report(&self) -> &RunReport {
        &self.report
    }

    pub fn into_report(self) -> RunReport {
        self.report
    }

    fn on_step_finished(
        &mut self,
        step: &StepRef,
        outcome: &StepOutcome,
        duration: Duration,
        lines: &mut Vec<String>,
    ) {
        if let Some(seen) = step.top.and_then(|top| self.top_seen.get_mut(top)) {
            *seen = true;
        }
        let failed = matches!(outcome, StepOutcome::Failed(_));
        let single = StepResult {
            step: step.clone(),
            outcome: Some(outcome.clone()),
            duration,
            runs: 1,
            failed: u64::from(failed),
        };
        if step.iteration.is_none() {
            self.close_block(lines);
            lines.push(step_line(&single));
            push_failure_details(&single, lines);
            self.report.steps.push(single);
            return;
        }
        if failed || self.verbose {
            lines.push(iteration_line(&single));
            push_failure_details(&single, lines);
        }
        let open = self
            .open_aggregates
            .iter()
            .copied()
            .find(|&index| self.report.steps[index].step.number == step.number);
        match open {
            Some(index) => {
                let aggregate = &mut self.report.steps[index];
                aggregate.step = step.clone();
                aggregate.duration += duration;
                aggregate.runs += 1;
                aggregate.failed += single.failed;
                if failed && aggregate.failed == 1 {
                    aggregate.outcome = single.outcome;
                }
            }
            None => {
                let mut aggregate = single;
                if !failed {
                    // Notes say what one iteration did; the aggregate keeps none.
                    aggregate.outcome = Some(StepOutcome::Passed { note: None });
                }
                self.open_aggregates.push(self.report.steps.len());
                self.report.steps.push(aggregate);
            }
        }
    }

    /// The repeat block under way ended: its aggregates are printed.
    fn close_block(&mut self, lines: &mut Vec<String>) {
        for index in self.open_aggregates.drain(..) {
            lines.push(step_line(&self.report.steps[index]));
        }
    }
}

/// `  PASS  3          12 ms  expect on web: starts with "HTTP/1.1"`: a result of the
/// report (an aggregate with its count and mean).
pub fn step_line(result: &StepResult) -> String {
    format_step(result, result.is_aggregate())
}

/// One iteration of a step inside a repeat, with its `[i/n]`.
fn iteration_line(result: &StepResult) -> String {
    format_step(result, false)
}

fn format_step(result: &StepResult, aggregate: bool) -> String {
    let status = match (&result.outcome, result.failed) {
        (None, _) => "SKIP",
        (Some(_), 0) => "PASS",
        (Some(_), _) => "FAIL",
    };
    let duration = if result.outcome.is_some() {
        format_duration(result.duration)
    } else {
        String::new()
    };
    let mut line = format!(
        "  {status}  {:<6} {duration:>8}  {}",
        result.step.number,
        printable(&result.step.label)
    );
    if aggregate {
        let _ = write!(line, "  ×{}", result.runs);
        if result.failed > 0 {
            let _ = write!(line, ", {} failed", result.failed);
        }
        let runs = u32::try_from(result.runs).unwrap_or(u32::MAX).max(1);
        let _ = write!(line, ", mean {}", format_duration(result.duration / runs));
    } else if let Some((iteration, of)) = result.step.iteration {
        let _ = write!(line, "  [{iteration}/{of}]");
    }
    if let Some(StepOutcome::Passed { note: Some(note) }) = &result.outcome {
        let _ = write!(line, "  ({note})");
    }
    line
}

/// `text` with control characters escaped, so a label quoting typed bytes cannot move
/// the terminal's cursor or break a CI log's line.
fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            let mut buf = [0; 4];
            // Backslashes already in the text stay as they are.
            out.push_str(&escape_for_display(c.encode_utf8(&mut buf).as_bytes()));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The lines under a failed step: the message, then what was expected and what arrived.
fn push_failure_details(result: &StepResult, lines: &mut Vec<String>) {
    if let Some(failure) = result.failure() {
        for line in failure_details(failure) {
            lines.push(format!("{DETAIL_INDENT}{line}"));
        }
    }
}

/// A failure's message, then `expected` above `received`, each as escaped text and as a
/// hex dump, at most [`SHOWN_BYTES`] of each. Not indented.
pub fn failure_details(failure: &Failure) -> Vec<String> {
    let mut lines = vec![failure.message.clone()];
    if let Some(expected) = &failure.expected {
        push_bytes("expected", expected, &mut lines);
    }
    if failure.expected.is_some() || !failure.received.is_empty() {
        push_bytes("received", &failure.received, &mut lines);
    }
    lines
}

fn push_bytes(title: &str, data: &[u8], lines: &mut Vec<String>) {
    if data.is_empty() {
        lines.push(format!("{title}  nothing"));
        return;
    }
    let shown = &data[..data.len().min(SHOWN_BYTES)];
    let unit = if data.len() == 1 { "byte" } else { "bytes" };
    lines.push(format!(
        "{title}  {} {unit}: \"{}\"",
        data.len(),
        escape_for_display(shown)
    ));
    let pad = " ".repeat(title.len() + 2);
    for (row, chunk) in shown.chunks(HEX_ROW).enumerate() {
        lines.push(format!("{pad}{:04x}  {}", row * HEX_ROW, hex_dump(chunk)));
    }
    if data.len() > shown.len() {
        lines.push(format!(
            "{pad}... {} more bytes not shown",
            data.len() - shown.len()
        ));
    }
}

/// `PASS http.toml: 7 steps in 0.21 s` or `FAIL http.toml: step 3 of 7 failed after
/// 2.01 s` (with `(round 2 of 3)` after the name when repeated).
pub fn summary_line(report: &RunReport) -> String {
    let mut name = report.file_name();
    if report.rounds > 1 {
        let _ = write!(name, " (round {} of {})", report.round, report.rounds);
    }
    let seconds = report.duration.as_secs_f64();
    if let Some(error) = &report.error {
        return format!("FAIL {name}: invalid: {error}");
    }
    if report.passed {
        let steps = plural(report.top_steps, "step", "steps");
        return format!("PASS {name}: {steps} in {seconds:.2} s");
    }
    let failed = report.steps.iter().find(|s| s.failed > 0);
    match failed {
        Some(result) if result.step.top.is_none() => {
            format!("FAIL {name}: opening the sockets failed after {seconds:.2} s")
        }
        Some(result) => format!(
            "FAIL {name}: step {} of {} failed after {seconds:.2} s",
            result.step.number, report.top_steps
        ),
        None => format!("FAIL {name}: stopped after {seconds:.2} s"),
    }
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// `850 µs`, `12 ms`, `2.01 s`.
pub fn format_duration(duration: Duration) -> String {
    let micros = duration.as_micros();
    if micros < 1_000 {
        format!("{micros} µs")
    } else if micros < 1_000_000 {
        format!("{} ms", micros / 1_000)
    } else {
        format!("{:.2} s", duration.as_secs_f64())
    }
}

fn file_stem(file: &Path) -> String {
    file.file_stem().map_or_else(
        || file.display().to_string(),
        |s| s.to_string_lossy().into(),
    )
}

fn display_name(file: &Path) -> String {
    file.file_name().map_or_else(
        || file.display().to_string(),
        |s| s.to_string_lossy().into(),
    )
}

/// The reports as JUnit XML: one `<testsuite>` per run, one `<testcase>` per step (an
/// aggregate of a repeated step is one testcase), `<failure>` with what was expected and
/// what arrived, `<skipped/>` for steps not run, and one `<error>` testcase for a scenario
/// that could not run.
pub fn junit_xml(reports: &[RunReport]) -> String {
    let mut writer = Writer::new_with_indent(Cursor::new(Vec::new()), b' ', 2);
    // Writing to a Vec cannot fail.
    write_junit(&mut writer, reports).expect("writing XML to memory");
    let mut bytes = writer.into_inner().into_inner();
    bytes.push(b'\n');
    String::from_utf8(bytes).expect("the XML writer writes UTF-8")
}

fn write_junit(writer: &mut Writer<Cursor<Vec<u8>>>, reports: &[RunReport]) -> std::io::Result<()> {
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let tests: usize = reports.iter().map(suite_tests).sum();
    let failures: usize = reports.iter().map(RunReport::failures).sum();
    let errors = reports.iter().filter(|r| r.error.is_some()).count();
    let time: f64 = reports.iter().map(|r| r.duration.as_secs_f64()).sum();
    writer
        .create_element("testsuites")
        .with_attributes([
            ("name", "socklab run"),
            ("tests", &tests.to_string()),
            ("failures", &failures.to_string()),
            ("errors", &errors.to_string()),
            ("time", &seconds(time)),
        ])
        .write_inner_content(|writer| {
            for report in reports {
                write_suite(writer, report)?;
            }
            Ok(())
        })?;
    Ok(())
}

fn suite_tests(report: &RunReport) -> usize {
    if report.error.is_some() {
        1
    } else {
        report.steps.len()
    }
}

fn write_suite(writer: &mut Writer<Cursor<Vec<u8>>>, report: &RunReport) -> std::io::Result<()> {
    let mut name = report.scenario.clone();
    if report.rounds > 1 {
        let _ = write!(name, " (round {} of {})", report.round, report.rounds);
    }
    let file = report.file.display().to_string();
    let errors = usize::from(report.error.is_some());
    writer
        .create_element("testsuite")
        .with_attributes([
            ("name", xml_safe(&name).as_ref()),
            ("tests", &suite_tests(report).to_string()),
            ("failures", &report.failures().to_string()),
            ("errors", &errors.to_string()),
            ("skipped", &report.skipped().to_string()),
            ("time", &seconds(report.duration.as_secs_f64())),
            (
                "timestamp",
                &report.started.format("%Y-%m-%dT%H:%M:%S").to_string(),
            ),
            ("file", xml_safe(&file).as_ref()),
        ])
        .write_inner_content(|writer| {
            let classname = xml_safe(&report.scenario);
            if let Some(error) = &report.error {
                let error = xml_safe(error);
                writer
                    .create_element("testcase")
                    .with_attributes([
                        ("classname", classname.as_ref()),
                        ("name", "scenario file"),
                        ("time", "0.000"),
                    ])
                    .write_inner_content(|writer| {
                        writer
                            .create_element("error")
                            .with_attributes([
                                ("message", error.as_ref()),
                                ("type", "invalid scenario"),
                            ])
                            .write_text_content(BytesText::new(&error))?;
                        Ok(())
                    })?;
                return Ok(());
            }
            for result in &report.steps {
                write_case(writer, &classname, result)?;
            }
            Ok(())
        })?;
    Ok(())
}

fn write_case(
    writer: &mut Writer<Cursor<Vec<u8>>>,
    classname: &str,
    result: &StepResult,
) -> std::io::Result<()> {
    let name = xml_safe(&format!("{} {}", result.step.number, result.step.label)).into_owned();
    let case = writer.create_element("testcase").with_attributes([
        ("classname", classname),
        ("name", &name),
        ("time", &seconds(result.duration.as_secs_f64())),
    ]);
    match &result.outcome {
        None => {
            case.write_inner_content(|writer| {
                writer.create_element("skipped").write_empty()?;
                Ok(())
            })?;
        }
        Some(StepOutcome::Failed(failure)) => {
            let mut message = failure.message.clone();
            if result.is_aggregate() {
                let _ = write!(
                    message,
                    " (iteration {}, {} of {} failed)",
                    result.step.iteration.map_or(0, |(i, _)| i),
                    result.failed,
                    result.runs
                );
            }
            let message = xml_safe(&message).into_owned();
            let body = xml_safe(&failure_details(failure).join("\n")).into_owned();
            let kind = result
                .step
                .label
                .split_whitespace()
                .next()
                .unwrap_or("step")
                .to_string();
            case.write_inner_content(|writer| {
                writer
                    .create_element("failure")
                    .with_attributes([("message", message.as_str()), ("type", &xml_safe(&kind))])
                    .write_text_content(BytesText::new(&body))?;
                Ok(())
            })?;
        }
        Some(StepOutcome::Passed { .. }) => {
            case.write_empty()?;
        }
    }
    Ok(())
}

fn seconds(value: f64) -> String {
    format!("{value:.3}")
}

/// `text` with the characters XML 1.0 cannot hold at all (control characters but tab
/// and line ends; U+FFFE and U+FFFF) written as `\u{..}`: the writer escapes markup, not
/// these.
fn xml_safe(text: &str) -> Cow<'_, str> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r')
            || (!c.is_control() && c != '\u{fffe}' && c != '\u{ffff}')
            || ('\u{7f}'..='\u{9f}').contains(&c)
    };
    if text.chars().all(allowed) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if allowed(c) {
            out.push(c);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;
    use quick_xml::Reader;
    use quick_xml::events::Event as XmlEvent;

    use super::*;
    use crate::engine::framing::FramingSpec;
    use crate::scenario::{Action, Role};
    use crate::scenario::{Protocol, SocketDef, Step};

    fn scenario() -> Scenario {
        let socket = SocketDef {
            name: "echo".into(),
            protocol: Protocol::Tcp,
            role: Role::Connect,
            addr: "127.0.0.1:7".into(),
            framing: FramingSpec::default(),
            open_at_start: true,
            line: 3,
        };
        let sleep = |line| Step {
            line,
            action: Action::Sleep(Duration::from_millis(1)),
        };
        Scenario {
            name: "echo test".into(),
            base_dir: PathBuf::from("."),
            vars: Vec::new(),
            timeout: crate::scenario::DEFAULT_TIMEOUT,
            encoding: Default::default(),
            sockets: vec![socket],
            steps: vec![
                sleep(8),
                Step {
                    line: 11,
                    action: Action::Repeat {
                        times: 3,
                        steps: vec![sleep(13), sleep(14)],
                    },
                },
                Step {
                    line: 16,
                    action: Action::Close { socket: 0 },
                },
            ],
        }
    }

    fn started() -> DateTime<Local> {
        Local.with_ymd_and_hms(2026, 11, 27, 9, 30, 0).unwrap()
    }

    fn collector(verbose: bool) -> Collector {
        Collector::new(
            &scenario(),
            Path::new("tests/echo.toml"),
            1,
            1,
            started(),
            verbose,
        )
    }

    fn step(number: &str, label: &str, top: usize, iteration: Option<(u64, u64)>) -> StepRef {
        StepRef {
            number: number.into(),
            label: label.into(),
            line: 1,
            top: Some(top),
            iteration,
        }
    }

    fn passed(step: StepRef, micros: u64) -> Progress {
        Progress::StepFinished {
            step,
            outcome: StepOutcome::Passed { note: None },
            duration: Duration::from_micros(micros),
        }
    }

    fn mismatch() -> Failure {
        Failure {
            message: "nothing matched within 2 s".into(),
            expected: Some(b"pong\n".to_vec()),
            received: b"pon\x07\x00g".to_vec(),
        }
    }

    fn feed(collector: &mut Collector, progress: &[Progress]) -> Vec<String> {
        let mut lines = Vec::new();
        for p in progress {
            collector.on_progress(p, &mut lines);
        }
        lines
    }

    #[test]
    fn a_passing_step_is_one_aligned_line() {
        let mut c = collector(false);
        let lines = feed(
            &mut c,
            &[
                passed(step("1", "send on echo", 0, None), 350),
                passed(step("3", "close echo", 2, None), 12_345),
            ],
        );
        assert_eq!(
            lines,
            [
                "  PASS  1        350 µs  send on echo",
                "  PASS  3         12 ms  close echo",
            ]
        );
    }

    #[test]
    fn a_failure_shows_expected_above_received_as_text_and_hex() {
        let mut c = collector(false);
        let lines = feed(
            &mut c,
            &[Progress::StepFinished {
                step: step("1", "expect on echo: exact \"pong\\n\"", 0, None),
                outcome: StepOutcome::Failed(mismatch()),
                duration: Duration::from_millis(2003),
            }],
        );
        assert_eq!(
            lines,
            [
                "  FAIL  1        2.00 s  expect on echo: exact \"pong\\n\"",
                "          nothing matched within 2 s",
                "          expected  5 bytes: \"pong\\n\"",
                "                    0000  70 6f 6e 67 0a",
                "          received  6 bytes: \"pon\\x07\\0g\"",
                "                    0000  70 6f 6e 07 00 67",
            ]
        );
    }

    #[test]
    fn long_data_is_cut_to_256_bytes_and_says_how_many_more() {
        let failure = Failure {
            message: "the peer closed the connection".into(),
            expected: None,
            received: vec![b'a'; 300],
        };
        let lines = failure_details(&failure);
        assert_eq!(
            lines[1],
            format!("received  300 bytes: \"{}\"", "a".repeat(256))
        );
        // 256 bytes: 16 rows of 16.
        assert_eq!(
            lines[2],
            format!("          0000  {}", ["61"; 16].join(" "))
        );
        assert!(lines[17].starts_with("          00f0  61"), "{}", lines[17]);
        assert_eq!(lines[18], "          ... 44 more bytes not shown");
        assert_eq!(lines.len(), 19);
    }

    #[test]
    fn no_expected_and_nothing_received_is_the_message_alone() {
        let failure = Failure {
            message: "connection refused".into(),
            expected: None,
            received: Vec::new(),
        };
        assert_eq!(failure_details(&failure), ["connection refused"]);
        let expected_only = Failure {
            expected: Some(b"x".to_vec()),
            ..failure
        };
        assert_eq!(
            failure_details(&expected_only),
            [
                "connection refused",
                "expected  1 byte: \"x\"",
                "          0000  78",
                "received  nothing"
            ]
        );
    }

    #[test]
    fn repeated_steps_print_one_aggregate_each_when_the_block_ends() {
        let mut c = collector(false);
        let mut progress = vec![passed(step("1", "sleep 1ms", 0, None), 1_000)];
        for i in 1..=3 {
            progress.push(passed(step("2.1", "send on echo", 1, Some((i, 3))), 30));
            progress.push(passed(step("2.2", "expect on echo", 1, Some((i, 3))), 70));
        }
        let lines = feed(&mut c, &progress);
        assert_eq!(
            lines,
            ["  PASS  1          1 ms  sleep 1ms"],
            "nothing while the block runs"
        );
        let lines = feed(
            &mut c,
            &[
                Progress::StepStarted(step("3", "close echo", 2, None)),
                passed(step("3", "close echo", 2, None), 1000),
                Progress::Finished { passed: true },
            ],
        );
        assert_eq!(
            lines[..3],
            [
                "  PASS  2.1       90 µs  send on echo  ×3, mean 30 µs",
                "  PASS  2.2      210 µs  expect on echo  ×3, mean 70 µs",
                "  PASS  3          1 ms  close echo",
            ]
        );
        assert!(
            lines[3].starts_with("PASS echo.toml: 3 steps in "),
            "{}",
            lines[3]
        );
        let report = c.into_report();
        assert_eq!(report.steps.len(), 4);
        assert_eq!(report.steps[2].runs, 3);
        assert_eq!(report.steps[2].duration, Duration::from_micros(210));
        assert!(report.passed);
    }

    #[test]
    fn a_failing_iteration_is_printed_at_once_and_counted_in_its_aggregate() {
        let mut c = collector(false);
        let mut lines = feed(
            &mut c,
            &[
                passed(step("2.1", "send on echo", 1, Some((1, 3))), 30),
                passed(step("2.2", "expect on echo", 1, Some((1, 3))), 70),
                passed(step("2.1", "send on echo", 1, Some((2, 3))), 30),
                Progress::StepFinished {
                    step: step("2.2", "expect on echo", 1, Some((2, 3))),
                    outcome: StepOutcome::Failed(mismatch()),
                    duration: Duration::from_millis(2000),
                },
            ],
        );
        assert_eq!(lines[0], "  FAIL  2.2      2.00 s  expect on echo  [2/3]");
        assert_eq!(lines[1], "          nothing matched within 2 s");
        lines.clear();
        c.finish(false, Duration::from_millis(2100), &mut lines);
        assert_eq!(
            lines,
            [
                "  PASS  2.1       60 µs  send on echo  ×2, mean 30 µs",
                "  FAIL  2.2      2.00 s  expect on echo  ×2, 1 failed, mean 1.00 s",
                "  SKIP  1                sleep 1 ms",
                "  SKIP  3                close echo",
                "FAIL echo.toml: step 2.2 of 3 failed after 2.10 s",
            ]
        );
        let report = c.into_report();
        assert_eq!(report.steps[1].failure(), Some(&mismatch()));
        assert_eq!(report.steps[1].step.iteration, Some((2, 3)));
        assert_eq!(report.steps[2].outcome, None);
    }

    #[test]
    fn verbose_prints_every_iteration_and_the_aggregate() {
        let mut c = collector(true);
        let lines = feed(
            &mut c,
            &[
                passed(step("2.1", "send on echo", 1, Some((1, 2))), 30),
                passed(step("2.1", "send on echo", 1, Some((2, 2))), 50),
                Progress::StepStarted(step("3", "close echo", 2, None)),
            ],
        );
        assert_eq!(
            lines,
            [
                "  PASS  2.1       30 µs  send on echo  [1/2]",
                "  PASS  2.1       50 µs  send on echo  [2/2]",
                "  PASS  2.1       80 µs  send on echo  ×2, mean 40 µs",
            ]
        );
    }

    #[test]
    fn control_characters_in_a_label_are_escaped() {
        let result = StepResult {
            step: step("1", "send on echo: \"a\u{1}b\u{1b}[2J\\n\"", 0, None),
            outcome: Some(StepOutcome::Passed { note: None }),
            duration: Duration::from_micros(5),
            runs: 1,
            failed: 0,
        };
        assert_eq!(
            step_line(&result),
            "  PASS  1          5 µs  send on echo: \"a\\x01b\\x1b[2J\\n\""
        );
    }

    #[test]
    fn a_pass_note_follows_the_label() {
        let result = StepResult {
            step: step("4", "expect on echo: contains \"ok\"", 3, None),
            outcome: Some(StepOutcome::Passed {
                note: Some("2 messages skipped".into()),
            }),
            duration: Duration::from_millis(3),
            runs: 1,
            failed: 0,
        };
        assert_eq!(
            step_line(&result),
            "  PASS  4          3 ms  expect on echo: contains \"ok\"  (2 messages skipped)"
        );
    }

    #[test]
    fn summaries_name_the_file_the_round_and_the_failing_step() {
        let mut report = collector(false).into_report();
        report.duration = Duration::from_millis(210);
        report.passed = true;
        assert_eq!(summary_line(&report), "PASS echo.toml: 3 steps in 0.21 s");
        report.rounds = 3;
        report.round = 2;
        assert_eq!(
            summary_line(&report),
            "PASS echo.toml (round 2 of 3): 3 steps in 0.21 s"
        );
        report.passed = false;
        assert_eq!(
            summary_line(&report),
            "FAIL echo.toml (round 2 of 3): stopped after 0.21 s"
        );
        let mut open = step("open", "open echo", 0, None);
        open.top = None;
        report.steps.push(StepResult {
            step: open,
            outcome: Some(StepOutcome::Failed(mismatch())),
            duration: Duration::ZERO,
            runs: 1,
            failed: 1,
        });
        assert_eq!(
            summary_line(&report),
            "FAIL echo.toml (round 2 of 3): opening the sockets failed after 0.21 s"
        );
    }

    #[test]
    fn durations_read_in_their_unit() {
        assert_eq!(format_duration(Duration::from_nanos(999)), "0 µs");
        assert_eq!(format_duration(Duration::from_micros(999)), "999 µs");
        assert_eq!(format_duration(Duration::from_micros(1_500)), "1 ms");
        assert_eq!(format_duration(Duration::from_millis(999)), "999 ms");
        assert_eq!(format_duration(Duration::from_millis(2_014)), "2.01 s");
    }

    /// Each element of a JUnit document with its attributes, and each text, in order.
    #[derive(Debug)]
    enum Node {
        Open(String, Vec<(String, String)>),
        Close,
        Text(String),
    }

    fn parse(xml: &str) -> Vec<Node> {
        let mut reader = Reader::from_str(xml);
        let mut nodes = Vec::new();
        loop {
            match reader.read_event().expect("well-formed XML") {
                XmlEvent::Start(e) | XmlEvent::Empty(e) => {
                    let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                    let attrs = e
                        .attributes()
                        .map(|a| {
                            let a = a.unwrap();
                            let key = String::from_utf8(a.key.as_ref().to_vec()).unwrap();
                            let value = a.normalized_value(quick_xml::XmlVersion::Implicit1_0);
                            (key, value.unwrap().into_owned())
                        })
                        .collect();
                    nodes.push(Node::Open(name, attrs));
                    // An empty element closes at once.
                    if !xml[..reader.buffer_position() as usize].ends_with("/>") {
                        continue;
                    }
                    nodes.push(Node::Close);
                }
                XmlEvent::End(_) => nodes.push(Node::Close),
                XmlEvent::Text(t) => {
                    let text = t.xml_content(quick_xml::XmlVersion::Implicit1_0).unwrap();
                    match nodes.last_mut() {
                        Some(Node::Text(before)) => before.push_str(&text),
                        _ if !text.trim().is_empty() => nodes.push(Node::Text(text.into_owned())),
                        _ => {}
                    }
                }
                XmlEvent::GeneralRef(r) => {
                    let name = String::from_utf8(r.to_vec()).unwrap();
                    let c = match name.as_str() {
                        "lt" => "<",
                        "gt" => ">",
                        "amp" => "&",
                        "quot" => "\"",
                        "apos" => "'",
                        other => panic!("unexpected entity {other}"),
                    };
                    match nodes.last_mut() {
                        Some(Node::Text(text)) => text.push_str(c),
                        _ => nodes.push(Node::Text(c.into())),
                    }
                }
                XmlEvent::Eof => return nodes,
                _ => {}
            }
        }
    }

    fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> &'a str {
        attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("attribute {key} missing in {attrs:?}"))
    }

    /// The elements named `name`, with their attributes.
    fn elements<'a>(nodes: &'a [Node], name: &str) -> Vec<&'a [(String, String)]> {
        nodes
            .iter()
            .filter_map(|n| match n {
                Node::Open(n, attrs) if n == name => Some(attrs.as_slice()),
                _ => None,
            })
            .collect()
    }

    fn failed_run() -> RunReport {
        let mut c = collector(false);
        let mut received = b"<pong & \"friends\">\x1b[0m\x00".to_vec();
        received.extend_from_slice(&[0xff, 0xfe]);
        feed(
            &mut c,
            &[
                passed(step("1", "sleep 1ms", 0, None), 1_000),
                passed(step("2.1", "send on echo", 1, Some((1, 3))), 30),
                Progress::StepFinished {
                    step: step("2.2", "expect on echo: exact \"pong\\n\"", 1, Some((1, 3))),
                    outcome: StepOutcome::Failed(Failure {
                        received,
                        ..mismatch()
                    }),
                    duration: Duration::from_millis(2000),
                },
            ],
        );
        let mut lines = Vec::new();
        c.finish(false, Duration::from_millis(2500), &mut lines);
        c.into_report()
    }

    #[test]
    fn junit_has_suites_cases_failures_and_skips() {
        // A second round stopped before any step: all of them skipped.
        let mut second = Collector::new(
            &scenario(),
            Path::new("tests/echo.toml"),
            2,
            2,
            started(),
            false,
        );
        second.finish(false, Duration::ZERO, &mut Vec::new());
        let second = second.into_report();
        let mut first = failed_run();
        first.rounds = 2;
        let xml = junit_xml(&[first, second]);
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        let nodes = parse(&xml);

        let suites = elements(&nodes, "testsuites");
        assert_eq!(suites.len(), 1);
        assert_eq!(attr(suites[0], "tests"), "7");
        assert_eq!(attr(suites[0], "failures"), "1");
        assert_eq!(attr(suites[0], "errors"), "0");
        assert_eq!(attr(suites[0], "time"), "2.500");

        let suite = elements(&nodes, "testsuite");
        assert_eq!(suite.len(), 2);
        assert_eq!(attr(suite[0], "name"), "echo test (round 1 of 2)");
        assert_eq!(attr(suite[1], "name"), "echo test (round 2 of 2)");
        assert_eq!(attr(suite[0], "tests"), "4");
        assert_eq!(attr(suite[0], "failures"), "1");
        assert_eq!(attr(suite[0], "errors"), "0");
        assert_eq!(attr(suite[0], "skipped"), "1");
        assert_eq!(attr(suite[0], "time"), "2.500");
        assert_eq!(attr(suite[0], "timestamp"), "2026-11-27T09:30:00");
        assert_eq!(attr(suite[0], "file"), "tests/echo.toml");

        let cases = elements(&nodes, "testcase");
        let names: Vec<&str> = cases[..4].iter().map(|c| attr(c, "name")).collect();
        assert_eq!(
            names,
            [
                "1 sleep 1ms",
                "2.1 send on echo",
                "2.2 expect on echo: exact \"pong\\n\"",
                "3 close echo",
            ]
        );
        assert!(cases.iter().all(|c| attr(c, "classname") == "echo test"));
        assert_eq!(attr(cases[0], "time"), "0.001");
        assert_eq!(attr(cases[2], "time"), "2.000");

        let failures = elements(&nodes, "failure");
        assert_eq!(failures.len(), 1);
        assert_eq!(
            attr(failures[0], "message"),
            "nothing matched within 2 s (iteration 1, 1 of 1 failed)"
        );
        assert_eq!(attr(failures[0], "type"), "expect");
        let body = nodes
            .iter()
            .find_map(|n| match n {
                Node::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .unwrap();
        assert_eq!(
            body,
            "nothing matched within 2 s\n\
             expected  5 bytes: \"pong\\n\"\n          0000  70 6f 6e 67 0a\n\
             received  25 bytes: \"<pong & \"friends\">\\x1b[0m\\0\\xff\\xfe\"\n          \
             0000  3c 70 6f 6e 67 20 26 20 22 66 72 69 65 6e 64 73\n          \
             0010  22 3e 1b 5b 30 6d 00 ff fe"
        );
        // The skipped step: a testcase holding <skipped/>.
        let position = |name: &str| {
            nodes
                .iter()
                .position(|n| matches!(n, Node::Open(n, _) if n == name))
                .unwrap()
        };
        assert!(position("skipped") > position("failure"));
        assert_eq!(elements(&nodes, "skipped").len(), 4);
        assert_eq!(attr(suite[1], "skipped"), "3");
        assert_eq!(attr(suite[1], "tests"), "3");
    }

    #[test]
    fn an_invalid_scenario_is_a_suite_with_one_error() {
        let report = RunReport::invalid(
            Path::new("bad.toml"),
            "line 3, column 7: unknown field `sned`".into(),
            started(),
        );
        let nodes = parse(&junit_xml(&[report]));
        assert_eq!(attr(elements(&nodes, "testsuites")[0], "errors"), "1");
        let suite = elements(&nodes, "testsuite");
        assert_eq!(attr(suite[0], "name"), "bad");
        assert_eq!(attr(suite[0], "tests"), "1");
        assert_eq!(attr(suite[0], "errors"), "1");
        let error = elements(&nodes, "error");
        assert_eq!(error.len(), 1);
        assert_eq!(
            attr(error[0], "message"),
            "line 3, column 7: unknown field `sned`"
        );
        assert_eq!(elements(&nodes, "testcase").len(), 1);
    }

    #[test]
    fn characters_xml_cannot_hold_are_written_as_escapes() {
        assert_eq!(xml_safe("a\tb\nc"), "a\tb\nc");
        assert_eq!(
            xml_safe("bell\u{7}\u{0}\u{ffff}"),
            "bell\\u{7}\\u{0}\\u{ffff}"
        );
        let mut report = collector(false).into_report();
        report.scenario = "odd\u{1b} name".into();
        let xml = junit_xml(&[report]);
        assert!(xml.contains("name=\"odd\\u{1b} name\""), "{xml}");
        parse(&xml);
    }
}
