//! The message log as a virtualized table: only the visible rows are laid out, and the view
//! follows new rows unless the user scrolled up. Shown as text, hex or both; filterable;
//! savable; and received bytes can be captured to a file.

use eframe::egui;
use egui_extras::{Column, TableBuilder};

use super::app::Shared;
use super::dialogs::Purpose;
use super::format;
use super::log::{Direction, FILTER_ROWS_PER_FRAME, LogRow};
use super::persist::DisplayMode;
use super::session::Session;
use crate::engine::Command;
use crate::payload::{TextEncoding, hex_dump};

/// Bytes of one row shown in the table; the size column tells the whole length.
const SHOWN_BYTES: usize = 512;
/// Bytes of one row shown when hovering it.
const HOVER_BYTES: usize = 4096;

pub fn log_view_ui(ui: &mut egui::Ui, session: &mut Session, shared: &mut Shared) {
    toolbar_ui(ui, session, shared);
    let display = shared.saved.options.display;
    let encoding = session.encoding;
    // Typed text finds bytes the way they are shown.
    session.filter.encoding = encoding;
    session.filter.hex = display != DisplayMode::Text;
    let everything = session.filter.is_everything();
    let shown_rows = if everything {
        session.log.len()
    } else {
        let done = session
            .filtered
            .update(&session.log, &session.filter, FILTER_ROWS_PER_FRAME);
        if !done {
            ui.ctx().request_repaint();
        }
        session.filtered.len()
    };
    let row_height = ui.text_style_height(&egui::TextStyle::Monospace) + 4.0;
    let visuals = ui.visuals().clone();
    let mut table = TableBuilder::new(ui)
        .id_salt(("log", session.id.get(), session.log.generation()))
        .striped(true)
        .stick_to_bottom(true)
        .auto_shrink([false, false])
        .column(Column::exact(96.0))
        .column(Column::exact(40.0))
        .column(Column::exact(160.0))
        .column(Column::exact(60.0));
    let titles: &[&str] = match display {
        DisplayMode::Text => {
            table = table.column(Column::remainder().at_least(120.0));
            &["Time", "Dir", "Peer", "Size", "Data"]
        }
        DisplayMode::Hex => {
            table = table.column(Column::remainder().at_least(120.0));
            &["Time", "Dir", "Peer", "Size", "Hex"]
        }
        DisplayMode::Both => {
            table = table
                .column(Column::initial(360.0).at_least(120.0).clip(true))
                .column(Column::remainder().at_least(120.0));
            &["Time", "Dir", "Peer", "Size", "Hex", "Text"]
        }
    };
    let log = &session.log;
    let filtered = &session.filtered;
    table
        .header(20.0, |mut header| {
            for title in titles {
                header.col(|ui| {
                    ui.strong(*title);
                });
            }
        })
        .body(|body| {
            body.rows(row_height, shown_rows, |mut row| {
                let entry = if everything {
                    log.get(row.index())
                } else {
                    filtered
                        .matches_at(row.index())
                        .and_then(|seq| log.by_seq(seq))
                };
                let Some(entry) = entry else {
                    return;
                };
                let colour = direction_colour(entry.direction, &visuals);
                row.col(|ui| {
                    ui.monospace(format::clock(&entry.time));
                });
                row.col(|ui| {
                    ui.colored_label(colour, entry.direction.label());
                });
                row.col(|ui| {
                    ui.label(entry.peer.map_or_else(String::new, |p| p.to_string()));
                });
                row.col(|ui| {
                    if entry.direction != Direction::System {
                        ui.label(entry.data.len().to_string());
                    }
                });
                let cells: &[DisplayMode] = match display {
                    DisplayMode::Both => &[DisplayMode::Hex, DisplayMode::Text],
                    DisplayMode::Hex => &[DisplayMode::Hex],
                    DisplayMode::Text => &[DisplayMode::Text],
                };
                for &mode in cells {
                    row.col(|ui| {
                        // An event has no bytes: its text goes in the first data column only.
                        if entry.direction == Direction::System
                            && mode == DisplayMode::Text
                            && display == DisplayMode::Both
                        {
                            return;
                        }
                        let text = cell_text(&entry, mode, encoding, SHOWN_BYTES);
                        ui.add(
                            egui::Label::new(egui::RichText::new(text).monospace().color(colour))
                                .truncate(),
                        )
                        .on_hover_ui(|ui| {
                            ui.set_max_width(640.0);
                            ui.monospace(cell_text(&entry, mode, encoding, HOVER_BYTES));
                        });
                    });
                }
            });
        });
}

fn toolbar_ui(ui: &mut egui::Ui, session: &mut Session, shared: &mut Shared) {
    ui.horizontal_wrapped(|ui| {
        ui.strong("Log");
        if ui
            .button("Clear")
            .on_hover_text("Empty the log (counters are kept)")
            .clicked()
        {
            session.log.clear();
        }
        let label = ui.label("Show data as");
        egui::ComboBox::from_id_salt("display_mode")
            .selected_text(shared.saved.options.display.label())
            .show_ui(ui, |ui| {
                for mode in DisplayMode::ALL {
                    ui.selectable_value(&mut shared.saved.options.display, mode, mode.label());
                }
            })
            .response
            .labelled_by(label.id);
        ui.separator();
        for direction in Direction::ALL {
            let mut shown = session.filter.shows(direction);
            if ui.checkbox(&mut shown, direction.label()).changed() {
                session.filter.set(direction, shown);
            }
        }
        let label = ui.label("Filter");
        ui.add(
            egui::TextEdit::singleline(&mut session.filter.text)
                .hint_text("text or address")
                .desired_width(120.0),
        )
        .labelled_by(label.id)
        .on_hover_text(
            "Finds text in the socket's encoding, escapes as shown (\\r\\n, \\xff), \
             hex bytes when the log shows hex (0d 0a), or part of a peer address",
        );
        ui.separator();
        let dialog_free = !shared.dialogs.is_open();
        if ui
            .add_enabled(dialog_free, egui::Button::new("Save log…"))
            .on_hover_text("Save every kept row as text, or as CSV with a .csv name")
            .clicked()
        {
            shared.dialogs.open(ui.ctx(), session.id, Purpose::SaveLog);
        }
        if session.capture.is_some() {
            if ui.button("Stop capture").clicked() {
                shared.engine.execute(Command::Capture {
                    session: session.id,
                    path: None,
                });
            }
        } else if ui
            .add_enabled(dialog_free, egui::Button::new("Capture to file…"))
            .on_hover_text("Write every received byte to a file, whatever the log keeps")
            .clicked()
        {
            shared.dialogs.open(ui.ctx(), session.id, Purpose::Capture);
        }
    });
    ui.horizontal_wrapped(|ui| {
        let shown = if session.filter.is_everything() {
            format!("{} rows", session.log.len())
        } else {
            format!(
                "{} of {} rows match",
                session.filtered.len(),
                session.log.len()
            )
        };
        ui.weak(shown);
        if let Some(path) = &session.capture {
            ui.weak(format!("capturing to {}", path.display()));
        }
        if session.log.dropped() > 0 {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!(
                    "{} older rows dropped to bound memory; counters stay exact",
                    session.log.dropped()
                ),
            );
        }
    });
}

fn direction_colour(direction: Direction, visuals: &egui::Visuals) -> egui::Color32 {
    match direction {
        Direction::Received => visuals.text_color(),
        Direction::Sent => egui::Color32::from_rgb(0x3a, 0x8e, 0xe6),
        Direction::Relayed => egui::Color32::from_rgb(0x2e, 0xb8, 0x5c),
        Direction::System => visuals.weak_text_color(),
    }
}

/// A row's data as one line in `mode`, at most `limit` bytes of it.
pub fn cell_text(
    entry: &LogRow<'_>,
    mode: DisplayMode,
    encoding: TextEncoding,
    limit: usize,
) -> String {
    if entry.direction == Direction::System {
        return String::from_utf8_lossy(entry.data).into_owned();
    }
    let shown = &entry.data[..entry.data.len().min(limit)];
    let mut text = match mode {
        DisplayMode::Hex => hex_dump(shown),
        _ => encoding.decode_for_display(shown),
    };
    if entry.data.len() > limit {
        text.push_str(" …");
    }
    text
}
