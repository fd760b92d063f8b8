//! The window: eframe/egui drawing the [`crate::model`] that engine events build. Panels
//! draw and push `action::Action`s; `app.rs` applies them once per frame.
//!
//! - `app.rs`: the eframe app: events in, panels drawn, actions applied, settings saved
//!   (through `model::settings_file`), and a notice when they could not be read or saved.
//! - `action.rs`: what the user can ask for.
//! - `sessions_panel.rs`: the side panel: the new-socket form (TCP server or client, UDP
//!   socket or client) and the socket list.
//! - `session_view.rs`: the selected socket: status, controls, its panes (client or peers
//!   table, rate chart, log, composer) and the splitters between them.
//! - `udp_panel.rs`: a UDP socket's pane (pages: peers, options, groups), UDP options and
//!   multicast groups, and the cached interface list.
//! - `framing_panel.rs`: a socket's Framing page (how received bytes become messages).
//! - `rules_panel.rs`: a socket's Responder page (the rules that answer messages), and the
//!   tabs and sections that show both pages.
//! - `scenarios_panel.rs`: the Scenarios page: open or drop a file, run it, each step
//!   ticking live.
//! - `peers_table.rs`: a UDP socket's peers, to pick a send target or reply to.
//! - `table.rs`: the table the client and peers panes share.
//! - `rate_chart.rs`: bytes and messages per second over the last minute (egui_plot).
//! - `combo.rs`: the combo box every choice uses (closes on choosing, for screen readers).
//! - `log_view.rs`: the log table, its filter and its toolbar.
//! - `composer.rs`: the message editor, repeat, file sending, history and presets.
//! - `dialogs.rs`: native file dialogs on their own thread.
//! - `socket_options_form.rs`: a TCP socket's options: asked for, and in effect.
//! - `tls_panel.rs`: TLS settings in the form, and a finished handshake's details.
//! - `theme.rs`: colours and the status dot.

mod action;
mod app;
mod combo;
mod composer;
mod dialogs;
mod framing_panel;
mod log_view;
mod peers_table;
mod rate_chart;
mod rules_panel;
mod scenarios_panel;
mod session_view;
mod sessions_panel;
mod socket_options_form;
mod table;
mod theme;
mod tls_panel;
mod udp_panel;

pub use app::SocklabApp;
pub use composer::{SEND_TO_ADDRESS, repeat_plan};
pub use rate_chart::{BYTES_PLOT, MESSAGES_PLOT};
pub use sessions_panel::{FormKind, LOCAL_ADDRESS_LABEL, address_label};

use crate::model::settings_file::{self, LoadOutcome};

/// The smallest window, in points: every pane keeps a usable height down to this size
/// (the README states it; the GUI tests check the layout at it).
pub const MIN_WINDOW_SIZE: [f32; 2] = [720.0, 520.0];

/// Opens the window and runs until it is closed.
/// Opens the window; `scenario`, when given, is shown in the Scenarios page.
pub fn run(scenario: Option<std::path::PathBuf>) -> eframe::Result {
    let mut viewport = eframe::egui::ViewportBuilder::default()
        .with_title("socklab")
        .with_app_id("socklab")
        .with_inner_size([1100.0, 720.0])
        .with_min_inner_size(MIN_WINDOW_SIZE);
    // A broken icon only costs the icon.
    if let Ok(icon) = eframe::icon_data::from_png_bytes(include_bytes!("../../assets/icon.png")) {
        viewport = viewport.with_icon(icon);
    }
    let options = eframe::NativeOptions {
        viewport,
        persist_window: true,
        ..Default::default()
    };
    // Read before the window opens: an unreadable file is moved aside before eframe could
    // write over it.
    let settings_dir = eframe::storage_dir("socklab");
    let loaded = settings_dir
        .as_deref()
        .map_or(LoadOutcome::Missing, settings_file::load);
    let settings_path = settings_dir.map(|dir| dir.join(settings_file::FILE_NAME));
    eframe::run_native(
        "socklab",
        options,
        Box::new(|cc| {
            let mut app = SocklabApp::with_settings(&cc.egui_ctx, loaded, settings_path)?;
            if let Some(path) = scenario {
                app.open_scenario(path);
            }
            Ok(Box::new(app))
        }),
    )
}
