//! A socket's *Framing* page: how its received bytes are cut into messages (raw reads,
//! lines, a delimiter, fixed length, a length prefix), the largest message, and a checksum
//! to check on each. The form is typed freely; *Apply framing* checks it and shows what is
//! wrong beside the field it concerns, or hands it to the engine.

use eframe::egui;

use super::action::Action;
use super::combo::choice_combo;
use super::composer::checksum_ui;
use super::theme;
use crate::engine::framing::LineEnd;
use crate::model::responder::{FramingField, FramingMode};
use crate::model::session::Session;

/// The framing page of `session`, scrolling within its pane.
pub fn framing_page_ui(ui: &mut egui::Ui, session: &mut Session, actions: &mut Vec<Action>) {
    let id = session.id;
    // The engine keeps a datagram whole: only the checksum check applies to it.
    let datagrams = session.udp.is_some();
    let waiting = waiting_bytes(session);
    let state = &mut session.framing;
    let changed = state.changed();
    let error_at = |field| state.error_at(field).map(str::to_string);
    let errors = [
        FramingField::Mode,
        FramingField::Delimiter,
        FramingField::FixedLength,
        FramingField::PrefixOffset,
        FramingField::MaxMessage,
    ]
    .map(error_at);
    let [
        mode_error,
        delimiter_error,
        fixed_error,
        offset_error,
        max_error,
    ] = errors;
    let draft = &mut state.draft;
    if datagrams {
        ui.weak("Each datagram is one message, kept whole.");
    }
    ui.horizontal_wrapped(|ui| {
        if datagrams {
            return;
        }
        let label = ui.label("Cut messages by");
        choice_combo(
            ui,
            ("framing_mode", id.get()),
            draft.mode.label(),
            &mut draft.mode,
            || FramingMode::ALL.map(|m| (m, m.label().to_string())),
            None,
        )
        .labelled_by(label.id)
        .on_hover_text(
            "How received bytes are cut into messages: one log row, one count and one rules \
             check per message",
        );
        if let Some(error) = &mode_error {
            theme::error_label_ui(ui, error);
        }
        match draft.mode {
            FramingMode::Raw => {
                ui.weak("each read (UDP: each datagram) is a message");
            }
            FramingMode::Lines => {
                let label = ui.label("Line end");
                choice_combo(
                    ui,
                    ("framing_line_end", id.get()),
                    line_end_label(draft.line_end),
                    &mut draft.line_end,
                    || {
                        [LineEnd::Any, LineEnd::Lf, LineEnd::CrLf]
                            .map(|e| (e, line_end_label(e).to_string()))
                    },
                    None,
                )
                .labelled_by(label.id);
            }
            FramingMode::Delimiter => {
                let label = ui.label("Delimiter (hex)");
                ui.add(
                    egui::TextEdit::singleline(&mut draft.delimiter)
                        .hint_text("0d 0a")
                        .desired_width(110.0)
                        .font(egui::TextStyle::Monospace),
                )
                .labelled_by(label.id)
                .on_hover_text("The bytes that end each message, in hex");
                if let Some(error) = &delimiter_error {
                    theme::error_label_ui(ui, error);
                }
            }
            FramingMode::Fixed => {
                let label = ui.label("Message length (bytes)");
                ui.add(egui::TextEdit::singleline(&mut draft.fixed_length).desired_width(64.0))
                    .labelled_by(label.id);
                if let Some(error) = &fixed_error {
                    theme::error_label_ui(ui, error);
                }
            }
            FramingMode::LengthPrefixed => {
                let label = ui.label("Length field");
                choice_combo(
                    ui,
                    ("framing_prefix_width", id.get()),
                    width_label(draft.prefix_width),
                    &mut draft.prefix_width,
                    || [1u8, 2, 4].map(|w| (w, width_label(w).to_string())),
                    None,
                )
                .labelled_by(label.id);
                ui.checkbox(&mut draft.prefix_big_endian, "Big endian")
                    .on_hover_text("The length's most significant byte comes first");
                ui.checkbox(
                    &mut draft.prefix_includes_header,
                    "Length counts the header",
                )
                .on_hover_text(
                    "The length counts the bytes before it and the length field too, not \
                         only what follows",
                );
                let label = ui.label("Bytes before the length");
                ui.add(egui::TextEdit::singleline(&mut draft.prefix_offset).desired_width(40.0))
                    .labelled_by(label.id)
                    .on_hover_text(
                        "A magic or type byte in front of the length (part of the message)",
                    );
                if let Some(error) = &offset_error {
                    theme::error_label_ui(ui, error);
                }
            }
        }
    });
    ui.horizontal_wrapped(|ui| {
        if datagrams {
            // A datagram is never cut, so its checksum is all there is to check.
            checksum_ui(
                ui,
                ("framing", id.get()),
                "Each datagram ends with this checksum: a wrong one is marked in the log",
                &mut draft.checksum,
                &mut draft.checksum_order,
                ["Check checksum".into(), "Checked byte order".into()],
            );
            return;
        }
        let label = ui.label("Largest message (bytes)");
        ui.add(egui::TextEdit::singleline(&mut draft.max_message).desired_width(80.0))
            .labelled_by(label.id)
            .on_hover_text("A longer message is cut into pieces of this size, each marked");
        if let Some(error) = &max_error {
            theme::error_label_ui(ui, error);
        }
        checksum_ui(
            ui,
            ("framing", id.get()),
            "Each message ends with this checksum: a wrong one is marked in the log",
            &mut draft.checksum,
            &mut draft.checksum_order,
            ["Check checksum".into(), "Checked byte order".into()],
        );
    });
    ui.horizontal_wrapped(|ui| {
        if ui
            .add_enabled(changed, egui::Button::new("Apply framing"))
            .on_hover_text("Cut what arrives from now on this way")
            .on_disabled_hover_text("This is the framing in effect")
            .clicked()
        {
            actions.push(Action::ApplyFraming(id));
        }
        if changed {
            theme::warning_label_ui(ui, "Changed, not applied");
        }
        if waiting > 0 {
            ui.label(format!(
                "{waiting} bytes waiting for the rest of their message"
            ));
        }
    });
}

/// Bytes the session's connections have read that wait for the rest of their message.
pub fn waiting_bytes(session: &Session) -> u64 {
    session
        .conns
        .values()
        .map(|row| row.info.counters.waiting())
        .sum()
}

fn line_end_label(end: LineEnd) -> &'static str {
    match end {
        LineEnd::Any => "LF or CRLF",
        LineEnd::Lf => "LF (\\n)",
        LineEnd::CrLf => "CRLF (\\r\\n)",
    }
}

fn width_label(width: u8) -> &'static str {
    match width {
        1 => "1 byte",
        2 => "2 bytes",
        _ => "4 bytes",
    }
}
