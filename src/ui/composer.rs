//! The composer: a message in a format and encoding, a line ending, a target, and Send
//! (or Ctrl+Enter); repeat on a timer, send a file, reuse history and presets. The draft
//! itself is the session's; the preset name field is this panel's own state. For a UDP
//! socket the target is all peers, one, the last sender or a typed address, and a file
//! goes out as datagrams of a chosen size and rate.

use std::time::Duration;

use eframe::egui;

use super::action::Action;
use super::combo::choice_combo;
use super::dialogs::Purpose;
use super::theme;
use crate::engine::{Payload, Target};
use crate::model::format;
use crate::model::persist::Saved;
use crate::model::session::{Kind, Session, live};
use crate::model::udp::{TYPED_ADDRESS, parse_pacing};
use crate::payload::{ByteOrder, ChecksumKind, LineEnding, PayloadFormat, TextEncoding};

/// Clients offered in the "Send to" list; with thousands the table is the way to pick.
const TARGETS_LISTED: usize = 100;

/// The composer's own state, shared by every session's composer.
#[derive(Debug, Default)]
pub struct ComposerPanel {
    /// The preset name field.
    pub preset_name: String,
}

pub fn composer_ui(
    ui: &mut egui::Ui,
    session: &mut Session,
    panel: &mut ComposerPanel,
    saved: &Saved,
    dialog_open: bool,
    actions: &mut Vec<Action>,
) {
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
    let blocked = invalid.clone().or(session.cannot_send_reason());
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
        match &payload {
            Ok(Payload::Bytes(bytes)) => {
                ui.weak(match bytes.len() {
                    1 => "1 byte".to_string(),
                    n => format!("{n} bytes"),
                });
            }
            Ok(Payload::Template(_)) => {
                ui.weak("variables filled in at each send");
            }
            Err(_) => {}
        }
        ui.separator();
        let pacing_error = pacing_ui(ui, session);
        let file = ui
            .add_enabled(
                session.send_target().is_some() && !dialog_open && pacing_error.is_none(),
                egui::Button::new("Send file…"),
            )
            .on_hover_text(if session.kind.is_udp() {
                "Send a file to the target as datagrams of the size and at the rate typed beside"
            } else {
                "Stream a file to the target, chunk by chunk"
            });
        if let Some(error) = pacing_error {
            theme::error_label_ui(ui, error);
        }
        if file.clicked() {
            actions.push(Action::OpenDialog {
                session: session.id,
                purpose: Purpose::SendFile,
            });
        }
        ui.separator();
        repeat_ui(ui, session, blocked.is_none(), actions);
    });
    match &invalid {
        Some(error) => {
            theme::error_label_ui(ui, error);
        }
        None => {
            if let Some(reason) = session.cannot_send_reason() {
                ui.weak(reason);
            }
        }
    }
    if send && blocked.is_none() {
        actions.push(Action::Send(session.id));
    }
    transfers_ui(ui, session, actions);
    history_ui(ui, session, panel, saved, actions);
}

fn settings_row_ui(ui: &mut egui::Ui, session: &mut Session) {
    ui.horizontal_wrapped(|ui| {
        if session.is_server() {
            target_ui(ui, session);
        } else if session.kind == Kind::Udp {
            udp_target_ui(ui, session);
        }
        let label = ui.label("Format");
        let composer = &mut session.composer;
        choice_combo(
            ui,
            "format",
            composer.format.label(),
            &mut composer.format,
            || PayloadFormat::ALL.map(|f| (f, f.label().to_string())),
            None,
        )
        .labelled_by(label.id);
        let label = ui.label("Encoding");
        choice_combo(
            ui,
            "encoding",
            session.encoding.label(),
            &mut session.encoding,
            || TextEncoding::ALL.map(|e| (e, e.label().to_string())),
            None,
        )
        .labelled_by(label.id)
        .on_hover_text("For typed text and for showing received text");
        let label = ui.label("Line ending");
        let composer = &mut session.composer;
        let takes_ending = composer.format.takes_line_ending();
        ui.add_enabled_ui(takes_ending, |ui| {
            choice_combo(
                ui,
                "line_ending",
                composer.line_ending.label(),
                &mut composer.line_ending,
                || LineEnding::ALL.map(|e| (e, e.label().to_string())),
                None,
            )
            .labelled_by(label.id)
            .on_disabled_hover_text("Hex sends exactly the bytes typed; add 0d 0a yourself");
        });
        let composer = &mut session.composer;
        checksum_ui(
            ui,
            "composer",
            "Appended to what is sent, before the line ending",
            &mut composer.checksum,
            &mut composer.checksum_order,
            ["Checksum".into(), "Byte order".into()],
        );
        ui.checkbox(&mut composer.variables, "Variables")
            .on_hover_text(VARIABLES_HELP);
    });
}

/// What the "Variables" checkboxes explain.
pub const VARIABLES_HELP: &str = "Fill in {{variables}} at each send (off: send {{ as typed):\n\
    {{counter}}  this composer's (or rule's) sends, from 1\n\
    {{counter:global}}  every templated send of the socket\n\
    {{time}}  {{date}}  {{unixtime}}  now\n\
    {{uuid}}  a random UUID\n\
    {{random:0..100}}  a number in the range\n\
    {{peer}}  the address sent to\n\
    {{echo}}  {{len}}  the message answered (rules only)\n\
    {{1}} {{2}} …  the groups a regex rule captured\n\
    {{crc16-modbus}} {{crc32}} …  a checksum of what comes before";

/// A "Checksum" combo (none or a kind) and, for a kind wider than a byte, a "Byte order"
/// combo; `names` are their accessible names. Choosing a kind puts its usual order.
pub fn checksum_ui(
    ui: &mut egui::Ui,
    id_salt: impl std::hash::Hash + std::fmt::Debug + Copy,
    hover: &str,
    kind: &mut Option<ChecksumKind>,
    order: &mut ByteOrder,
    names: [String; 2],
) -> bool {
    let [kind_name, order_name] = names;
    ui.label("Checksum");
    let before = *kind;
    let response = choice_combo(
        ui,
        (id_salt, "checksum"),
        kind.map_or("None", |k| k.label()),
        kind,
        || {
            std::iter::once((None, "None".to_string()))
                .chain(ChecksumKind::ALL.map(|k| (Some(k), k.label().to_string())))
        },
        None,
    )
    .on_hover_text(hover);
    theme::name_widget(ui, &response, kind_name);
    let mut changed = *kind != before;
    if changed && let Some(kind) = kind {
        *order = kind.usual_order();
    }
    if let Some(kind) = kind
        && kind.width() > 1
    {
        ui.label("Byte order");
        let shown = order_label(*order);
        let before = *order;
        let response = choice_combo(
            ui,
            (id_salt, "checksum_order"),
            shown,
            order,
            || [ByteOrder::Big, ByteOrder::Little].map(|o| (o, order_label(o).to_string())),
            None,
        );
        theme::name_widget(ui, &response, order_name);
        changed |= *order != before;
    }
    changed
}

fn order_label(order: ByteOrder) -> &'static str {
    match order {
        ByteOrder::Big => "Big endian",
        ByteOrder::Little => "Little endian",
    }
}

fn target_ui(ui: &mut egui::Ui, session: &mut Session) {
    let current = match session.target {
        Target::All => format!("All clients ({})", session.open_conns().count()),
        Target::One(conn) => session.conns.get(&conn).map_or_else(
            || "(disconnected client)".to_string(),
            |c| c.info.peer.to_string(),
        ),
        Target::Addr(addr) => addr.to_string(),
        Target::LastSender => "The last sender".to_string(),
    };
    let label = ui.label("Send to");
    let open = session.open_conns().count();
    let unlisted = open.saturating_sub(TARGETS_LISTED);
    let footer = (unlisted > 0).then(|| format!("{unlisted} more: pick one in the client table"));
    let listed: Vec<(Target, String)> = std::iter::once((Target::All, "All clients".to_string()))
        .chain(
            session
                .open_conns()
                .take(TARGETS_LISTED)
                .map(|row| (Target::One(row.info.conn), row.info.peer.to_string())),
        )
        .collect();
    choice_combo(
        ui,
        "send_to",
        current,
        &mut session.target,
        || listed,
        footer,
    )
    .labelled_by(label.id);
}

/// "Send to" for a UDP socket: all peers, one of them, the last sender, or a typed address
/// (its field appears beside the list, with what is wrong with it next to it).
fn udp_target_ui(ui: &mut egui::Ui, session: &mut Session) {
    let Some(udp) = &mut session.udp else {
        return;
    };
    if let Target::Addr(_) = session.target {
        // Whatever address it held, "Address…" is the one choice that stands for the field.
        session.target = TYPED_ADDRESS;
    }
    let name_of = |peer: crate::engine::ConnId| {
        udp.peers
            .get(&peer)
            .map_or_else(|| "(gone peer)".to_string(), |p| p.addr.to_string())
    };
    let current = match session.target {
        Target::All => format!("All peers ({})", udp.peers.len()),
        Target::One(peer) => name_of(peer),
        Target::LastSender => LAST_SENDER.to_string(),
        Target::Addr(_) => TYPED_ADDRESS_CHOICE.to_string(),
    };
    let unlisted = udp.peers.len().saturating_sub(TARGETS_LISTED);
    let footer = (unlisted > 0).then(|| format!("{unlisted} more: pick one in the peers table"));
    let listed: Vec<(Target, String)> = [
        (Target::All, "All peers".to_string()),
        (Target::LastSender, LAST_SENDER.to_string()),
        (TYPED_ADDRESS, TYPED_ADDRESS_CHOICE.to_string()),
    ]
    .into_iter()
    .chain(
        udp.peers
            .values()
            .take(TARGETS_LISTED)
            .map(|p| (Target::One(p.peer), p.addr.to_string())),
    )
    .collect();
    let label = ui.label("Send to");
    choice_combo(
        ui,
        "send_to",
        current,
        &mut session.target,
        || listed,
        footer,
    )
    .labelled_by(label.id);
    if let Target::One(peer) = session.target {
        udp.selected_peer = Some(peer);
    }
    if session.target == TYPED_ADDRESS {
        let label = ui.label(SEND_TO_ADDRESS);
        ui.add(
            egui::TextEdit::singleline(&mut udp.send_to)
                .hint_text("192.168.1.20:9000")
                .desired_width(150.0),
        )
        .labelled_by(label.id);
        if let Err(error) = udp.typed_target() {
            theme::error_label_ui(ui, error);
        }
    }
}

const LAST_SENDER: &str = "The last sender";
const TYPED_ADDRESS_CHOICE: &str = "Address…";
/// The label of the field a UDP socket's typed target goes in.
pub const SEND_TO_ADDRESS: &str = "Send to address";

/// A UDP session's "Datagram size" and "Datagrams/s" for sending a file; returns what is
/// wrong with them, if anything.
fn pacing_ui(ui: &mut egui::Ui, session: &mut Session) -> Option<String> {
    if !session.kind.is_udp() {
        return None;
    }
    let composer = &mut session.composer;
    let label = ui.label("Datagram size");
    ui.add(egui::TextEdit::singleline(&mut composer.datagram_size).desired_width(56.0))
        .labelled_by(label.id)
        .on_hover_text(format!(
            "Bytes per datagram when sending a file (at most {})",
            crate::engine::MAX_PAYLOAD_V4
        ));
    let label = ui.label("Datagrams/s");
    ui.add(egui::TextEdit::singleline(&mut composer.datagrams_per_second).desired_width(48.0))
        .labelled_by(label.id)
        .on_hover_text("Datagrams per second when sending a file (0: as fast as possible)");
    parse_pacing(&composer.datagram_size, &composer.datagrams_per_second).err()
}

fn repeat_ui(ui: &mut egui::Ui, session: &mut Session, can_send: bool, actions: &mut Vec<Action>) {
    if let Some(repeat) = &session.repeat {
        let sent = live(&repeat.sent);
        let progress = match repeat.count {
            Some(count) => format!("repeating: {sent} of {count} sent"),
            None => format!("repeating: {sent} sent"),
        };
        ui.label(progress);
        if ui.button("Stop repeat").clicked() {
            actions.push(Action::StopRepeat(session.id));
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
    match plan {
        Err(error) => {
            button.on_disabled_hover_text(error.as_str());
            theme::error_label_ui(ui, error);
        }
        Ok((interval, count)) => {
            if button.clicked() {
                actions.push(Action::Repeat {
                    session: session.id,
                    interval,
                    count,
                });
            }
        }
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

fn transfers_ui(ui: &mut egui::Ui, session: &Session, actions: &mut Vec<Action>) {
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
                actions.push(Action::CancelTransfer {
                    session: session.id,
                    transfer: transfer.id,
                });
            }
        });
        ui.ctx().request_repaint_after(Duration::from_millis(100));
    }
}

fn history_ui(
    ui: &mut egui::Ui,
    session: &mut Session,
    panel: &mut ComposerPanel,
    saved: &Saved,
    actions: &mut Vec<Action>,
) {
    ui.horizontal_wrapped(|ui| {
        ui.add_enabled_ui(!saved.history.is_empty(), |ui| {
            ui.menu_button("History", |ui| {
                for payload in &saved.history {
                    if ui.button(payload.summary()).clicked() {
                        session.load_draft(payload);
                        ui.close();
                    }
                }
            })
            .response
            .on_hover_text("Payloads sent before (kept across restarts)");
        });
        ui.add_enabled_ui(!saved.presets.is_empty(), |ui| {
            ui.menu_button("Presets", |ui| {
                for preset in &saved.presets {
                    if ui
                        .button(&preset.name)
                        .on_hover_text(preset.payload.summary())
                        .clicked()
                    {
                        session.load_draft(&preset.payload);
                        panel.preset_name = preset.name.clone();
                        ui.close();
                    }
                }
            });
        });
        let label = ui.label("Preset name");
        ui.add(egui::TextEdit::singleline(&mut panel.preset_name).desired_width(120.0))
            .labelled_by(label.id);
        let name = panel.preset_name.trim();
        if ui
            .add_enabled(!name.is_empty(), egui::Button::new("Save preset"))
            .on_disabled_hover_text("Type a name first")
            .clicked()
        {
            actions.push(Action::SavePreset {
                session: session.id,
                name: name.to_string(),
            });
        }
        let exists = saved.presets.iter().any(|p| p.name == name);
        if ui
            .add_enabled(exists, egui::Button::new("Delete preset"))
            .on_disabled_hover_text("Type the name of a saved preset")
            .clicked()
        {
            actions.push(Action::DeletePreset {
                name: name.to_string(),
            });
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
