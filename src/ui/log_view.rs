//! The message log as a virtualized table: only the visible rows are laid out, and the view
//! follows new rows unless the user scrolled up.

use eframe::egui;
use egui_extras::{Column, TableBuilder};

use super::format;
use super::log::{Direction, Log};
use crate::payload::escape_for_display;

/// Bytes of one row shown in the table; the size column tells the whole length.
const SHOWN_BYTES: usize = 1024;

pub fn log_view_ui(ui: &mut egui::Ui, log: &mut Log) {
    ui.horizontal(|ui| {
        ui.strong("Log");
        if ui
            .button("Clear")
            .on_hover_text("Empty the log (counters are kept)")
            .clicked()
        {
            log.clear();
        }
        ui.weak(format!("{} rows", log.len()));
        if log.dropped() > 0 {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!(
                    "{} older rows dropped to bound memory; byte counters stay exact",
                    log.dropped()
                ),
            );
        }
    });
    let row_height = ui.text_style_height(&egui::TextStyle::Monospace) + 4.0;
    let visuals = ui.visuals().clone();
    TableBuilder::new(ui)
        .id_salt(("log", log.generation()))
        .striped(true)
        .stick_to_bottom(true)
        .auto_shrink([false, false])
        .column(Column::exact(96.0))
        .column(Column::exact(40.0))
        .column(Column::exact(170.0))
        .column(Column::exact(64.0))
        .column(Column::remainder().at_least(120.0))
        .header(20.0, |mut header| {
            for title in ["Time", "Dir", "Peer", "Size", "Data"] {
                header.col(|ui| {
                    ui.strong(title);
                });
            }
        })
        .body(|body| {
            body.rows(row_height, log.len(), |mut row| {
                let Some(entry) = log.get(row.index()) else {
                    return;
                };
                let colour = match entry.direction {
                    Direction::Received => visuals.text_color(),
                    Direction::Sent => egui::Color32::from_rgb(0x3a, 0x8e, 0xe6),
                    Direction::Relayed => egui::Color32::from_rgb(0x2e, 0xb8, 0x5c),
                    Direction::System => visuals.weak_text_color(),
                };
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
                row.col(|ui| {
                    let text = if entry.direction == Direction::System {
                        String::from_utf8_lossy(&entry.data).into_owned()
                    } else {
                        let shown = &entry.data[..entry.data.len().min(SHOWN_BYTES)];
                        let mut text = escape_for_display(shown);
                        if entry.data.len() > SHOWN_BYTES {
                            text.push('…');
                        }
                        text
                    };
                    ui.add(
                        egui::Label::new(egui::RichText::new(text).monospace().color(colour))
                            .truncate(),
                    );
                });
            });
        });
}
