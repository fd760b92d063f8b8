//! The *Scenarios* page: open (or drop) a scenario file, type its variables, *Run*, *Stop*,
//! *Run again*; each step ticks or crosses live with its time, and a failed expect shows what
//! arrived instead. The sockets a run opens are ordinary sessions in the list meanwhile.

use eframe::egui;

use super::action::Action;
use super::theme;
use crate::model::scenario::{RunEnd, ScenarioPage, StepRow, StepState};
use crate::payload::{escape_for_display, hex_dump};
use crate::scenario::report::format_duration;
use crate::scenario::run::Failure;

/// Bytes of what was expected or received shown under a failed step.
const SHOWN_BYTES: usize = 512;

pub fn scenarios_page_ui(
    ui: &mut egui::Ui,
    page: &mut ScenarioPage,
    dialog_open: bool,
    actions: &mut Vec<Action>,
) {
    ui.heading("Scenarios");
    ui.horizontal_wrapped(|ui| {
        if ui
            .add_enabled(
                !dialog_open && !page.is_running(),
                egui::Button::new("Open scenario…"),
            )
            .on_hover_text("Choose a scenario file (.toml); you can also drop one on the window")
            .clicked()
        {
            actions.push(Action::OpenScenarioDialog);
        }
        match &page.path {
            Some(path) => ui.monospace(path.display().to_string()),
            None => ui.weak("No scenario yet: open a file, or drop one on the window."),
        };
    });
    if let Some(error) = &page.error {
        theme::error_label_ui(ui, error.as_str());
    }
    ui.horizontal(|ui| {
        let label = ui.label("Variables");
        ui.add(
            egui::TextEdit::singleline(&mut page.vars_text)
                .hint_text("host=127.0.0.1 port=8080")
                .desired_width(320.0),
        )
        .labelled_by(label.id)
        .on_hover_text("name=value pairs, separated by spaces; they override the file's [vars]");
    });
    if let Some(error) = &page.vars_error {
        theme::error_label_ui(ui, error.as_str());
    }
    ui.horizontal_wrapped(|ui| {
        let can_run = page.scenario.is_some() && !page.is_running();
        let run_label = if page.finished.is_some() {
            "Run again"
        } else {
            "Run"
        };
        if ui
            .add_enabled(can_run, egui::Button::new(run_label))
            .on_hover_text("Read the file again and run it")
            .clicked()
        {
            actions.push(Action::RunScenario);
        }
        if ui
            .add_enabled(page.is_running(), egui::Button::new("Stop"))
            .on_hover_text("Stop the run: the current step fails and its sockets stop")
            .clicked()
        {
            actions.push(Action::StopScenario);
        }
        status_ui(ui, page);
    });
    ui.separator();
    if page.rows.is_empty() {
        return;
    }
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for row in &page.rows {
                step_row_ui(ui, row);
                ui.separator();
            }
        });
}

fn status_ui(ui: &mut egui::Ui, page: &ScenarioPage) {
    if page.is_running() {
        let at = page
            .rows
            .iter()
            .position(|row| matches!(row.state, StepState::Running { .. }));
        match at {
            Some(index) => ui.label(format!(
                "Running: {} of {} steps",
                index + 1,
                page.rows.len()
            )),
            None => ui.label("Running…"),
        };
        return;
    }
    match page.finished {
        Some((RunEnd::Passed, took)) => {
            ui.colored_label(
                theme::passed_colour(),
                format!(
                    "Passed: {} steps in {}",
                    page.rows.len(),
                    format_duration(took)
                ),
            );
        }
        Some((RunEnd::Failed, took)) => {
            let failed = page
                .rows
                .iter()
                .find(|row| matches!(row.state, StepState::Failed { .. }))
                .map_or(String::new(), |row| format!(" at step {}", row.number));
            theme::error_label_ui(
                ui,
                format!("Failed{failed} after {}", format_duration(took)),
            );
        }
        None => {}
    }
}

/// One step: its state, number and time in fixed columns, then what it does (wrapped),
/// and under a failure what arrived instead.
fn step_row_ui(ui: &mut egui::Ui, row: &StepRow) {
    // Words, not symbols: every font has them, and a screen reader says them.
    let word = match &row.state {
        StepState::Waiting => "waiting",
        StepState::Running { .. } => "running",
        StepState::Passed { .. } => "passed",
        StepState::Failed { .. } => "FAILED",
        StepState::NotRun => "not run",
    };
    let text = egui::RichText::new(word).strong();
    let text = match row.state {
        StepState::Failed { .. } => text.color(ui.visuals().error_fg_color),
        StepState::Passed { .. } => text.color(theme::passed_colour()),
        _ => text,
    };
    let time = match &row.state {
        StepState::Running {
            iteration: Some((k, n)),
        } => format!("{k} of {n}"),
        StepState::Passed { duration, .. } | StepState::Failed { duration, .. } => {
            format_duration(*duration)
        }
        _ => String::new(),
    };
    ui.horizontal_top(|ui| {
        fixed_column_ui(ui, 64.0, egui::Label::new(text));
        fixed_column_ui(
            ui,
            44.0,
            egui::Label::new(egui::RichText::new(&row.number).monospace()),
        )
        .on_hover_text(format!("line {} of the file", row.line));
        fixed_column_ui(ui, 76.0, egui::Label::new(time));
        ui.vertical(|ui| {
            ui.add(egui::Label::new(&row.label).wrap());
            match &row.state {
                StepState::Passed {
                    note: Some(note), ..
                } => {
                    ui.weak(note.as_str());
                }
                StepState::Failed { inner, failure, .. } => {
                    failure_ui(ui, inner.as_deref(), failure)
                }
                _ => {}
            }
        });
    });
}

fn fixed_column_ui(ui: &mut egui::Ui, width: f32, label: egui::Label) -> egui::Response {
    ui.allocate_ui_with_layout(
        egui::vec2(width, ui.spacing().interact_size.y),
        egui::Layout::left_to_right(egui::Align::Min),
        |ui| {
            ui.set_min_width(width);
            ui.add(label.truncate())
        },
    )
    .inner
}

/// Why it failed, and what was expected and received, as text and as hex.
fn failure_ui(ui: &mut egui::Ui, inner: Option<&str>, failure: &Failure) {
    let message = match inner {
        Some(inner) => format!("{inner}: {}", failure.message),
        None => failure.message.clone(),
    };
    theme::error_label_ui(ui, message);
    if let Some(expected) = &failure.expected {
        bytes_ui(ui, "expected", expected);
    }
    if failure.expected.is_some() || !failure.received.is_empty() {
        bytes_ui(ui, "received", &failure.received);
    }
}

fn bytes_ui(ui: &mut egui::Ui, what: &str, bytes: &[u8]) {
    let shown = &bytes[..bytes.len().min(SHOWN_BYTES)];
    let more = match bytes.len() - shown.len() {
        0 => String::new(),
        rest => format!(" (and {rest} more bytes)"),
    };
    if bytes.is_empty() {
        ui.monospace(format!("{what}: nothing"));
        return;
    }
    ui.monospace(format!(
        "{what} ({} bytes): {}{more}",
        bytes.len(),
        escape_for_display(shown)
    ));
    ui.monospace(format!("{what} hex: {}", hex_dump(shown)));
}
