//! The one combo box every choice in the window uses (Format, Encoding, Line ending,
//! Send to, Show data as). Choosing closes the list explicitly: after a choice made through
//! the accessibility action (a screen reader, UI automation) egui would otherwise keep the
//! list marked open, and the next activation would only close it.

use std::hash::Hash;

use eframe::egui;

/// A combo box showing `shown`, offering what `options` lists (value and text) and setting
/// `current` to the chosen value; `footer` is a note under the options.
pub fn choice_combo<T: PartialEq, I: IntoIterator<Item = (T, String)>>(
    ui: &mut egui::Ui,
    id_salt: impl Hash + std::fmt::Debug,
    shown: impl Into<egui::WidgetText>,
    current: &mut T,
    options: impl FnOnce() -> I,
    footer: Option<String>,
) -> egui::Response {
    egui::ComboBox::from_id_salt(id_salt)
        .selected_text(shown)
        .show_ui(ui, |ui| {
            for (value, text) in options() {
                if ui.selectable_label(*current == value, text).clicked() {
                    *current = value;
                    ui.close();
                }
            }
            if let Some(footer) = footer {
                ui.weak(footer);
            }
        })
        .response
}
