//! The composer: a message in a format and encoding, a line ending, a target, and Send
//! (or Ctrl+Enter); repeat on a timer, send a file, reuse history and presets.

use std::time::Duration;

use eframe::egui;

use super::app::Shared;
use super::dialogs::Purpose;
use super::format;
use super::persist::SavedPayload;
use super::session::{Session, live};
use crate::engine::{Command, Target};
use crate::payload::{LineEnding, PayloadFormat, TextEncoding};

/// Clients offered in the "Send to" list; with thousands the table is the way to pick.
const TARGETS_LISTED: usize = 100;

pub fn composer_ui(ui: &mut egui::Ui, session: &mut Session, shared: &mut Shared) {
    ui.add_space(4.0);
    settings_row_ui(ui, session);
    let label = ui.label("Message");
    let editor_id = ui.make_persistent_id(("composer", session.id.get()));
    let payload = session.payload();
    let mut send = false;
    // Taken before the editor sees it, so Ctrl+Enter sends instead of adding a newline.
    if ui.memory(|m| m.has_focus(editor_id))
        && ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Enter))
    {
        send = true;
    }
    egui::ScrollArea::vertical()
        .id_salt("composer_scroll")
        .max_height(120.0)
        .show(ui, |ui| {
            let hint = match session.composer.format {
                PayloadFormat::Text => "Type what to send; Ctrl+Enter sends",
                PayloadFormat::Escaped => "Text with escapes: \\r \\n \\t \\0 \\\\ \\xNN",
                PayloadFormat::Hex => "Hex bytes: 01 02 ff or 0102FF",
            };
            ui.add(
                egui::TextEdit::multiline(&mut session.composer.text)
                    .id(editor_id)
                    .hint_text(hint)
                    .desired_rows(3)
                    .desired_width(f32::INFINITY)
                    .font(egui::TextStyle::Monospace),
            )
            .labelled_by(label.id);
        });
    let invalid = payload
        .as_ref()
        .err()
        .map(|e| format!("Invalid payload: {e}"));
    let blocked = invalid
        .clone()
        .or(session.cannot_send_reason().map(str::to_string));
    ui.horizontal_wrapped(|ui| {
        let button = ui
            .add_enabled(blocked.is_none(), egui::Button::new("Send"))
            .on_hover_text("Send the message (Ctrl+Enter)");
        match &blocked {
            Some(reason) => {
                button.on_disabled_hover_text(reason);
            }
            None => send |= button.clicked(),
        }
        if let Ok(bytes) = &payload {
            ui.weak(match bytes.len() {
                1 => "1 byte".to_string(),
                n => format!("{n} bytes"),
            });
        }
        ui.separator();
        let file = ui
            .add_enabled(
                session.send_target().is_some() && !shared.dialogs.is_open(),
                egui::Button::new("Send file…"),
            )
            .on_hover_text("Stream a file to the target, chunk by chunk");
        if file.clicked() {
            shared.dialogs.open(ui.ctx(), session.id, Purpose::SendFile);
        }
        ui.separator();
        repeat_ui(
            ui,
            session,
            shared,
            payload.as_ref().ok(),
            blocked.is_none(),
        );
    });
    match &invalid {
        Some(error) => {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        None => {
            if let Some(reason) = session.cannot_send_reason() {
                ui.weak(reason);
            }
        }
    }
    if send
        && blocked.is_none()
        && let (Ok(bytes), Some(target)) = (payload, session.send_target())
    {
        shared.engine.send(session.id, target, bytes);
        shared.saved.remember(saved_payload(session));
    }
    transfers_ui(ui, session, shared);
    history_ui(ui, session, shared);
}

fn saved_payload(session: &Session) -> SavedPayload {
    SavedPayload {
        text: session.composer.text.clone(),
        format: session.composer.format,
        encoding: session.encoding,
        line_ending: session.composer.line_ending,
    }
}

fn load_payload(session: &mut Session, payload: &SavedPayload) {
    session.composer.text = payload.text.clone();
    session.composer.format = payload.format;
    session.composer.line_ending = payload.line_ending;
    session.encoding = payload.encoding;
}

fn settings_row_ui(ui: &mut egui::Ui, session: &mut Session) {
    ui.horizontal_wrapped(|ui| {
        if session.is_server() {
            target_ui(ui, session);
        }
        let label = ui.label("Format");
        egui::ComboBox::from_id_salt("format")
            .selected_text(session.composer.format.label())
            .show_ui(ui, |ui| {
                for format in PayloadFormat::ALL {
                    ui.selectable_value(&mut session.composer.format, format, format.label());
                }
            })
            .response
            .labelled_by(label.id);
        let label = ui.label("Encoding");
        egui::ComboBox::from_id_salt("encoding")
            .selected_text(session.encoding.label())
            .show_ui(ui, |ui| {
                for encoding in TextEncoding::ALL {
                    ui.selectable_value(&mut session.encoding, encoding, encoding.label());
                }
            })
            .response
            .labelled_by(label.id)
            .on_hover_text("For typed text and for showing received text");
        let label = ui.label("Line ending");
        let takes_ending = session.composer.format.takes_line_ending();
        ui.add_enabled_ui(takes_ending, |ui| {
            egui::ComboBox::from_id_salt("line_ending")
                .selected_text(session.composer.line_ending.label())
                .show_ui(ui, |ui| {
                    for ending in LineEnding::ALL {
                        ui.selectable_value(
                            &mut session.composer.line_ending,
                            ending,
                            ending.label(),
                        );
                    }
                })
                .response
                .labelled_by(label.id)
                .on_disabled_hover_text("Hex sends exactly the bytes typed; add 0d 0a yourself");
        });
    });
}

fn target_ui(ui: &mut egui::Ui, session: &mut Session) {
    let current = match session.target {
        Target::All => format!("All clients ({})", session.open_conns().count()),
        Target::One(conn) => session.conns.get(&conn).map_or_else(
            || "(disconnected client)".to_string(),
            |c| c.info.peer.to_string(),
        ),
    };
    let label = ui.label("Send to");
    egui::ComboBox::from_id_salt("send_to")
        .selected_text(current)
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut session.target, Target::All, "All clients");
            let listed: Vec<_> = session
                .open_conns()
                .take(TARGETS_LISTED)
                .map(|row| (row.info.conn, row.info.peer))
                .collect();
            let unlisted = session.open_conns().count() - listed.len();
            for (conn, peer) in listed {
                ui.selectable_value(&mut session.target, Target::One(conn), peer.to_string());
            }
            if unlisted > 0 {
                ui.weak(format!("{unlisted} more: pick one in the client table"));
            }
        })
        .response
        .labelled_by(label.id);
}

fn repeat_ui(
    ui: &mut egui::Ui,
    session: &mut Session,
    shared: &mut Shared,
    payload: Option<&Vec<u8>>,
    can_send: bool,
) {
    if let Some(repeat) = &session.repeat {
        let sent = live(&repeat.sent);
        let progress = match repeat.count {
            Some(count) => format!("repeating: {sent} of {count} sent"),
            None => format!("repeating: {sent} sent"),
        };
        ui.label(progress);
        if ui.button("Stop repeat").clicked() {
            shared.engine.execute(Command::StopRepeat {
                session: session.id,
            });
        }
        // The count moves without events; keep it fresh.
        ui.ctx().request_repaint_after(Duration::from_millis(100));
        return;
    }
    let label = ui.label("Repeat every (ms)");
    ui.add(egui::TextEdit::singleline(&mut session.composer.repeat_interval).desired_width(56.0))
        .labelled_by(label.id);
    let label = ui.label("times (empty = until stopped)");
    ui.add(egui::TextEdit::singleline(&mut session.composer.repeat_count).desired_width(48.0))
        .labelled_by(label.id);
    let plan = repeat_plan(
        &session.composer.repeat_interval,
        &session.composer.repeat_count,
    );
    let enabled = can_send && plan.is_ok();
    let button = ui.add_enabled(enabled, egui::Button::new("Start repeat"));
    if let Err(error) = &plan {
        button.on_disabled_hover_text(error.as_str());
        ui.colored_label(ui.visuals().error_fg_color, error.as_str());
    } else if button.clicked()
        && let (Ok((interval, count)), Some(bytes), Some(target)) =
            (plan, payload, session.send_target())
    {
        shared.engine.execute(Command::Repeat {
            session: session.id,
            target,
            data: bytes.clone(),
            interval,
            count,
        });
        shared.saved.remember(saved_payload(session));
    }
}

/// Interval and count as typed; the error says which field is wrong.
pub fn repeat_plan(interval: &str, count: &str) -> Result<(Duration, Option<u64>), String> {
    let interval = match interval.trim().parse::<u64>() {
        Ok(ms) if ms >= 1 => Duration::from_millis(ms),
        _ => return Err("The interval must be a whole number of milliseconds, 1 or more.".into()),
    };
    let count = match count.trim() {
        "" => None,
        text => match text.parse::<u64>() {
            Ok(n) if n >= 1 => Some(n),
            _ => return Err("Times must be a whole number, 1 or more (or empty).".into()),
        },
    };
    Ok((interval, count))
}

fn transfers_ui(ui: &mut egui::Ui, session: &mut Session, shared: &mut Shared) {
    for transfer in &session.transfers {
        ui.horizontal(|ui| {
            let sent = live(&transfer.sent);
            let fraction = if transfer.size == 0 {
                1.0
            } else {
                sent as f32 / transfer.size as f32
            };
            let name = transfer.path.file_name().map_or_else(
                || transfer.path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            ui.add(
                egui::ProgressBar::new(fraction)
                    .desired_width(220.0)
                    .text(format!(
                        "{name}: {} of {}",
                        format::bytes(sent),
                        format::bytes(transfer.size)
                    )),
            );
            if ui
                .button("Cancel")
                .on_hover_text("Stop sending this file")
                .clicked()
            {
                shared.engine.execute(Command::CancelTransfer {
                    session: session.id,
                    transfer: transfer.id,
                });
            }
        });
        ui.ctx().request_repaint_after(Duration::from_millis(100));
    }
}

fn history_ui(ui: &mut egui::Ui, session: &mut Session, shared: &mut Shared) {
    ui.horizontal_wrapped(|ui| {
        ui.add_enabled_ui(!shared.saved.history.is_empty(), |ui| {
            ui.menu_button("History", |ui| {
                for payload in &shared.saved.history {
                    if ui.button(payload.summary()).clicked() {
                        load_payload(session, payload);
                        ui.close();
                    }
                }
            })
            .response
            .on_hover_text("Payloads sent before (kept across restarts)");
        });
        ui.add_enabled_ui(!shared.saved.presets.is_empty(), |ui| {
            ui.menu_button("Presets", |ui| {
                for preset in &shared.saved.presets {
                    if ui
                        .button(&preset.name)
                        .on_hover_text(preset.payload.summary())
                        .clicked()
                    {
                        load_payload(session, &preset.payload);
                        shared.preset_name = preset.name.clone();
                        ui.close();
                    }
                }
            });
        });
        let label = ui.label("Preset name");
        ui.add(egui::TextEdit::singleline(&mut shared.preset_name).desired_width(120.0))
            .labelled_by(label.id);
        let named = !shared.preset_name.trim().is_empty();
        if ui
            .add_enabled(named, egui::Button::new("Save preset"))
            .on_disabled_hover_text("Type a name first")
            .clicked()
        {
            let payload = saved_payload(session);
            shared.saved.save_preset(&shared.preset_name, payload);
        }
        let exists = shared
            .saved
            .presets
            .iter()
            .any(|p| p.name == shared.preset_name.trim());
        if ui
            .add_enabled(exists, egui::Button::new("Delete preset"))
            .on_disabled_hover_text("Type the name of a saved preset")
            .clicked()
        {
            let name = shared.preset_name.trim().to_string();
            shared.saved.presets.retain(|p| p.name != name);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_plan_reads_fields_and_explains_errors() {
        assert_eq!(
            repeat_plan("5", "3"),
            Ok((Duration::from_millis(5), Some(3)))
        );
        assert_eq!(repeat_plan(" 1 ", ""), Ok((Duration::from_millis(1), None)));
        assert!(repeat_plan("0", "3").unwrap_err().contains("milliseconds"));
        assert!(repeat_plan("x", "3").is_err());
        assert!(repeat_plan("10", "0").unwrap_err().starts_with("Times"));
    }
}
