//! The window: eframe/egui on top of the engine. One file per panel; `session.rs` and
//! `log.rs` hold the state built from engine events, apart from the drawing code.

mod app;
mod composer;
mod dialogs;
mod format;
pub mod log;
pub mod log_export;
mod log_view;
pub mod persist;
pub mod session;
mod session_view;
mod sessions_panel;

pub use app::{FormKind, SocklabApp};

/// Opens the window and runs until it is closed.
pub fn run() -> eframe::Result {
    let mut viewport = eframe::egui::ViewportBuilder::default()
        .with_title("socklab")
        .with_app_id("socklab")
        .with_inner_size([1100.0, 720.0])
        .with_min_inner_size([640.0, 420.0]);
    // A broken icon only costs the icon.
    if let Ok(icon) = eframe::icon_data::from_png_bytes(include_bytes!("../../assets/icon.png")) {
        viewport = viewport.with_icon(icon);
    }
    let options = eframe::NativeOptions {
        viewport,
        persist_window: true,
        ..Default::default()
    };
    eframe::run_native(
        "socklab",
        options,
        Box::new(|cc| Ok(Box::new(SocklabApp::from_creation(cc)?))),
    )
}
