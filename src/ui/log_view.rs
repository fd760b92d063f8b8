//! The message log as a virtualized table: only the visible rows are laid out, and the view
//! follows new rows unless the user scrolled up. Shown as text, hex or both; filterable;
//! savable; and received bytes can be captured to a file. Each row's text comes from
//! [`row_text::cells`], the renderer the saved log uses too.

use eframe::egui;
use egui_extras::{Column, TableBuilder};

use super::action::Action;
use super::combo::choice_combo;
use super::dialogs::Purpose;
use super::theme;
use crate::model::filter::FILTER_ROWS_PER_FRAME;
use crate::model::format;
use crate::model::log::Direction;
use crate::model::persist::DisplayMode;
use crate::model::row_text;
use crate::model::session::Session;

/// Bytes of one row shown in the table; the size column tells the whole length.
const SHOWN_BYTES: usize = 512;
/// Bytes of one row shown when hovering it.
const HOVER_BYTES: usize = 4096;

pub fn log_view_ui(
    ui: &mut egui::Ui,
    session: &mut Session,
    display: DisplayMode,
    dialog_open: bool,
    actions: &mut Vec<Action>,
) {
    toolbar_ui(ui, session, display, dialog_open, actions);
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
    // The body scrolls within what the pane has left under the header, however little.
    let header_height = 20.0;
    let height = (ui.available_height() - header_height - ui.spacing().item_spacing.y).max(0.0);
    let mut table = TableBuilder::new(ui)
        .id_salt(("log", session.id.get(), session.log.generation()))
        .striped(true)
        .stick_to_bottom(true)
        .auto_shrink([false, false])
        .min_scrolled_height(0.0)
        .max_scroll_height(height)
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
        .header(header_height, |mut header| {
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
                let colour = theme::direction_colour(entry.direction, &visuals);
                let cells = row_text::cells(&entry, display, encoding, SHOWN_BYTES);
                row.col(|ui| {
                    ui.monospace(&cells.time);
                });
                row.col(|ui| {
                    ui.colored_label(colour, cells.direction);
                });
                row.col(|ui| {
                    ui.label(&cells.peer);
                });
                row.col(|ui| {
                    if cells.note.is_empty() {
                        ui.label(&cells.size);
                        return;
                    }
                    // The size, then a short mark; the whole note on hover.
                    let (mark, colour) = if cells.note_is_problem {
                        ("!", visuals.error_fg_color)
                    } else {
                        ("ok", visuals.text_color())
                    };
                    ui.label(egui::RichText::new(format!("{} {mark}", cells.size)).color(colour))
                        .on_hover_text(cells.note);
                });
                for (column, text) in cells.data_columns(display).into_iter().enumerate() {
                    row.col(|ui| {
                        if text.is_empty() {
                            return;
                        }
                        ui.add(
                            egui::Label::new(egui::RichText::new(text).monospace().color(colour))
                                .truncate(),
                        )
                        .on_hover_ui(|ui| {
                            // More of the same cell, rendered again only while hovered.
                            ui.set_max_width(640.0);
                            let more = row_text::cells(&entry, display, encoding, HOVER_BYTES);
                            ui.monospace(more.data_columns(display)[column]);
                        });
                    });
                }
            });
        });
}

fn toolbar_ui(
    ui: &mut egui::Ui,
    session: &mut Session,
    display: DisplayMode,
    dialog_open: bool,
    actions: &mut Vec<Action>,
) {
    ui.horizontal_wrapped(|ui| tools_ui(ui, session, display, dialog_open, actions));
    status_line_ui(ui, session);
}

fn tools_ui(
    ui: &mut egui::Ui,
    session: &mut Session,
    display: DisplayMode,
    dialog_open: bool,
    actions: &mut Vec<Action>,
) {
    ui.strong("Log");
    if ui
        .button("Clear")
        .on_hover_text("Empty the log (counters are kept)")
        .clicked()
    {
        actions.push(Action::ClearLog(session.id));
    }
    let label = ui.label("Show data as");
    let mut chosen = display;
    choice_combo(
        ui,
        "display_mode",
        display.label(),
        &mut chosen,
        || DisplayMode::ALL.map(|m| (m, m.label().to_string())),
        None,
    )
    .labelled_by(label.id);
    if chosen != display {
        actions.push(Action::SetDisplay(chosen));
    }
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
    let dialog_free = !dialog_open;
    let session_id = session.id;
    let open_dialog = |purpose| Action::OpenDialog {
        session: session_id,
        purpose,
    };
    if ui
        .add_enabled(dialog_free, egui::Button::new("Save log…"))
        .on_hover_text("Save every kept row as text, or as CSV with a .csv name")
        .clicked()
    {
        actions.push(open_dialog(Purpose::SaveLog));
    }
    if ui
        .add_enabled(dialog_free, egui::Button::new("Save as scenario…"))
        .on_hover_text(
            "Write a scenario that replays this log: what was sent is sent again, what was \
             received is expected",
        )
        .clicked()
    {
        actions.push(open_dialog(Purpose::SaveScenario));
    }
    if session.capture.is_some() {
        if ui.button("Stop capture").clicked() {
            actions.push(Action::Capture {
                session: session_id,
                path: None,
            });
        }
    } else if ui
        .add_enabled(dialog_free, egui::Button::new("Capture to file…"))
        .on_hover_text("Write every received byte to a file, whatever the log keeps")
        .clicked()
    {
        actions.push(open_dialog(Purpose::Capture));
    }
}

/// How many rows are shown, what is captured, and what the bounded log dropped.
fn status_line_ui(ui: &mut egui::Ui, session: &Session) {
    ui.horizontal_wrapped(|ui| {
        let shown = if session.filter.is_everything() {
            format::count(session.log.len() as u64, "row")
        } else {
            format!(
                "{} of {} match",
                session.filtered.len(),
                format::count(session.log.len() as u64, "row")
            )
        };
        ui.weak(shown);
        if let Some(path) = &session.capture {
            ui.weak(format!("capturing to {}", path.display()));
        }
        if session.log.dropped() > 0 {
            theme::warning_label_ui(
                ui,
                format!(
                    "{} older rows dropped to bound memory; counters stay exact",
                    session.log.dropped()
                ),
            );
        }
    });
}
