//! The composer: a message, a line ending, a target, and Send (or Ctrl+Enter).

use eframe::egui;

use super::session::{LineEnding, Session};
use crate::engine::{Engine, Target};

pub fn composer_ui(ui: &mut egui::Ui, session: &mut Session, engine: &Engine) {
    ui.add_space(4.0);
    let mut send = false;
    ui.horizontal(|ui| {
        if session.is_server() {
            target_ui(ui, session);
        }
        let label = ui.label("Line ending");
        egui::ComboBox::from_id_salt("line_ending")
            .selected_text(session.composer.line_ending.label())
            .show_ui(ui, |ui| {
                for ending in LineEnding::ALL {
                    ui.selectable_value(&mut session.composer.line_ending, ending, ending.label());
                }
            })
            .response
            .labelled_by(label.id);
        let reason = session.cannot_send_reason();
        let button = ui
            .add_enabled(reason.is_none(), egui::Button::new("Send"))
            .on_hover_text("Send the message (Ctrl+Enter)");
        if let Some(reason) = reason {
            button.on_disabled_hover_text(reason);
            ui.weak(reason);
        } else if button.clicked() {
            send = true;
        }
    });
    let label = ui.label("Message");
    let editor_id = ui.make_persistent_id(("composer", session.id.0));
    // Taken before the editor sees it, so Ctrl+Enter sends instead of adding a newline.
    if ui.memory(|m| m.has_focus(editor_id))
        && ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Enter))
        && session.send_target().is_some()
    {
        send = true;
    }
    egui::ScrollArea::vertical()
        .id_salt("composer_scroll")
        .show(ui, |ui| {
            ui.add(
                egui::TextEdit::multiline(&mut session.composer.text)
                    .id(editor_id)
                    .hint_text("Type what to send; Ctrl+Enter sends")
                    .desired_rows(3)
                    .desired_width(f32::INFINITY)
                    .font(egui::TextStyle::Monospace),
            )
            .labelled_by(label.id);
        });
    if send && let Some(target) = session.send_target() {
        engine.send(session.id, target, session.composer.payload());
    }
}

fn target_ui(ui: &mut egui::Ui, session: &mut Session) {
    let current = match session.target {
        Target::All => format!("All clients ({})", session.conns.len()),
        Target::One(conn) => session
            .conns
            .iter()
            .find(|c| c.info.conn == conn)
            .map_or_else(
                || "(disconnected client)".to_string(),
                |c| c.info.peer.to_string(),
            ),
    };
    let label = ui.label("Send to");
    egui::ComboBox::from_id_salt("send_to")
        .selected_text(current)
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut session.target, Target::All, "All clients");
            for row in &session.conns {
                ui.selectable_value(
                    &mut session.target,
                    Target::One(row.info.conn),
                    row.info.peer.to_string(),
                );
            }
        })
        .response
        .labelled_by(label.id);
}
