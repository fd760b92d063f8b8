//! The window's colours in one place: socket states (and the status dot that shows them),
//! log directions, errors and warnings; and the accessible name of a widget whose visible
//! label is shared by several rows. Fixed colours only where egui's visuals have none
//! for the purpose; the rest follow the dark or light theme.

use eframe::egui::{self, Color32, Visuals};

use crate::model::log::Direction;
use crate::model::session::State;

const GREEN: Color32 = Color32::from_rgb(0x2e, 0xb8, 0x5c);
const AMBER: Color32 = Color32::from_rgb(0xe0, 0xa8, 0x00);
const BLUE: Color32 = Color32::from_rgb(0x3a, 0x8e, 0xe6);

/// A state's colour: green up, amber starting, grey stopped, red error.
pub fn state_colour(state: &State, visuals: &Visuals) -> Color32 {
    match state {
        State::Listening | State::Connected | State::Open => GREEN,
        State::Starting | State::Connecting => AMBER,
        State::Stopped => visuals.weak_text_color(),
        State::Failed(_) => visuals.error_fg_color,
    }
}

/// A log row's colour by direction: sent blue, relayed green, events dimmed.
pub fn direction_colour(direction: Direction, visuals: &Visuals) -> Color32 {
    match direction {
        Direction::Received => visuals.text_color(),
        Direction::Sent => BLUE,
        Direction::Relayed => GREEN,
        Direction::System => visuals.weak_text_color(),
    }
}

/// What passed: a test step, a run.
pub fn passed_colour() -> Color32 {
    GREEN
}

/// The dot before a socket in the list and in its status line.
pub fn status_dot_ui(ui: &mut egui::Ui, state: &State) {
    let colour = state_colour(state, ui.visuals());
    let size = ui.spacing().interact_size.y * 0.5;
    let (rect, _) = ui.allocate_exact_size(egui::vec2(size, size), egui::Sense::hover());
    ui.painter()
        .circle_filled(rect.center(), size * 0.4, colour);
}

/// Text saying what went wrong, where it went wrong.
pub fn error_label_ui(ui: &mut egui::Ui, text: impl Into<egui::RichText>) -> egui::Response {
    ui.colored_label(ui.visuals().error_fg_color, text)
}

/// Text saying something the user should know but need not act on.
pub fn warning_label_ui(ui: &mut egui::Ui, text: impl Into<egui::RichText>) -> egui::Response {
    ui.colored_label(ui.visuals().warn_fg_color, text)
}

/// Gives a widget the name a screen reader (and a test) reads, when its visible label is
/// not enough: several rows with the same fields, e.g. "Pattern of rule 2".
pub fn name_widget(ui: &egui::Ui, response: &egui::Response, name: impl Into<String>) {
    let name = name.into();
    ui.ctx()
        .accesskit_node_builder(response.id, |node| node.set_label(name));
}
