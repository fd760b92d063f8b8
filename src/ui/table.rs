//! The one table the panes use for rows of peers or clients: a header, then rows that are
//! all laid out while few (reachable by Tab and screen readers) and only the visible ones
//! past that, scrolling within what the pane has left.

use eframe::egui;
use egui_extras::{Column, TableBuilder, TableRow};

use crate::model::format;

/// Rows laid out every frame before only the visible ones are.
const ROWS_ALWAYS_LAID_OUT: usize = 200;

/// A table of `rows` rows under `columns` (heading, least width); the last column takes
/// the rest of the width. `row_ui` draws the row whose index `TableRow::index` gives.
pub fn pane_table_ui(
    ui: &mut egui::Ui,
    salt: impl std::hash::Hash + std::fmt::Debug,
    columns: &[(&str, f32)],
    rows: usize,
    mut row_ui: impl FnMut(TableRow<'_, '_>),
) {
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
    // The body scrolls within what the pane has left under the header.
    let height = (ui.available_height() - row_height - ui.spacing().item_spacing.y).max(0.0);
    let mut builder = TableBuilder::new(ui)
        .id_salt(salt)
        .striped(true)
        .auto_shrink([false, false])
        .min_scrolled_height(0.0)
        .max_scroll_height(height);
    for (i, (_, width)) in columns.iter().enumerate() {
        let column = if i + 1 == columns.len() {
            Column::remainder()
        } else {
            Column::auto()
        };
        builder = builder.column(column.at_least(*width));
    }
    builder
        .header(row_height, |mut header| {
            for (heading, _) in columns.iter().copied() {
                header.col(|ui| {
                    ui.strong(heading);
                });
            }
        })
        .body(|mut body| {
            if rows > ROWS_ALWAYS_LAID_OUT {
                body.rows(row_height, rows, &mut row_ui);
            } else {
                for _ in 0..rows {
                    body.row(row_height, &mut row_ui);
                }
            }
        });
}

/// `1.2 KiB (17)`: bytes and messages one way.
pub fn traffic_label_ui(ui: &mut egui::Ui, bytes: u64, messages: u64) {
    ui.label(format!("{} ({messages})", format::bytes(bytes)));
}
