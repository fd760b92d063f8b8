//! The selected socket: status line, controls, the server's client table, the log and
//! the composer. Picking a client row changes the session's selection in place; everything
//! else the user asks for is pushed as an [`Action`].

use chrono::Local;
use eframe::egui;

use egui_extras::{Column, TableBuilder};

use super::action::Action;
use super::composer::{self, ComposerPanel};
use super::{log_view, theme};
use crate::engine::{ConnId, Target};
use crate::model::format;
use crate::model::persist::Saved;
use crate::model::session::{Kind, Session, State};

/// Up to this many clients, every row of the client table is laid out.
const CLIENT_ROWS_ALWAYS_LAID_OUT: usize = 200;

/// What the session view reads besides the session, and where its actions go.
pub struct ViewContext<'a> {
    /// History, presets and view options (changed only through actions).
    pub saved: &'a Saved,
    /// A file dialog is open: buttons that would open another are disabled.
    pub dialog_open: bool,
    pub actions: &'a mut Vec<Action>,
}

pub fn session_view_ui(
    ui: &mut egui::Ui,
    session: &mut Session,
    composer_panel: &mut ComposerPanel,
    cx: ViewContext<'_>,
) {
    let ViewContext {
        saved,
        dialog_open,
        actions,
    } = cx;
    egui::Panel::top("session_header").show(ui, |ui| {
        header_ui(ui, session, actions);
        if session.is_server() {
            clients_ui(ui, session, actions);
        }
        ui.add_space(4.0);
    });
    egui::Panel::bottom("composer")
        .resizable(true)
        .default_size(190.0)
        .show(ui, |ui| {
            composer::composer_ui(ui, session, composer_panel, saved, dialog_open, actions)
        });
    log_view::log_view_ui(ui, session, saved.options.display, dialog_open, actions);
}

fn header_ui(ui: &mut egui::Ui, session: &Session, actions: &mut Vec<Action>) {
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        let title = match session.kind {
            Kind::Server { chat: true } => "TCP server · group chat",
            Kind::Server { chat: false } => "TCP server",
            Kind::Client => "TCP client",
        };
        ui.heading(title);
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .button("Remove")
                .on_hover_text("Close this socket and remove it from the list")
                .clicked()
            {
                actions.push(Action::Remove(session.id));
            }
            controls_ui(ui, session, actions);
        });
    });
    ui.horizontal_wrapped(|ui| {
        theme::status_dot_ui(ui, &session.state);
        ui.strong(session.state.label());
        // Addresses stay shown after a stop, marked as the last ones, not as live.
        let shown = |name: &str, addr: Option<std::net::SocketAddr>| match addr {
            None => format!("{name} —"),
            Some(addr) if session.state.is_active() => format!("{name} {addr}"),
            Some(addr) => format!("last {name} {addr}"),
        };
        ui.label(shown("sockname", session.local));
        if !session.is_server() {
            ui.label(shown("peername", session.peer));
        }
        if let Some(since) = session.since {
            ui.label(format!("up {}", format::uptime(since, Local::now())));
        }
    });
    ui.horizontal_wrapped(|ui| {
        let totals = session.totals();
        ui.label(format!(
            "in {} / {} msgs · {}",
            format::bytes(totals.bytes_in),
            totals.messages_in,
            format::rate(session.rates.bytes_in_per_s)
        ));
        ui.label(format!(
            "out {} / {} msgs · {}",
            format::bytes(totals.bytes_out),
            totals.messages_out,
            format::rate(session.rates.bytes_out_per_s)
        ));
        if ui
            .small_button("Reset counters")
            .on_hover_text("Count from zero again (for the socket and each connection)")
            .clicked()
        {
            actions.push(Action::ResetCounters(session.id));
        }
    });
    if let State::Failed(error) = &session.state {
        theme::error_label_ui(ui, error);
    }
}

/// Stop / start again for servers; disconnect / reconnect for clients.
fn controls_ui(ui: &mut egui::Ui, session: &Session, actions: &mut Vec<Action>) {
    let id = session.id;
    let running = matches!(
        session.state,
        State::Listening | State::Starting | State::Connected | State::Connecting
    );
    let clicked = match (session.kind, running) {
        (Kind::Server { .. }, true) => ui
            .button("Stop")
            .on_hover_text("Stop listening and close every client")
            .clicked()
            .then_some(Action::Stop(id)),
        (Kind::Server { .. }, false) => ui
            .button("Start again")
            .clicked()
            .then_some(Action::Start(id)),
        (Kind::Client, true) => ui
            .button("Disconnect")
            .clicked()
            .then_some(Action::Stop(id)),
        (Kind::Client, false) => ui
            .button("Reconnect")
            .on_hover_text(format!("Connect to {} again", session.addr))
            .clicked()
            .then_some(Action::Start(id)),
    };
    actions.extend(clicked);
}

/// The server's connected clients: pick one to kick or to send to.
fn clients_ui(ui: &mut egui::Ui, session: &mut Session, actions: &mut Vec<Action>) {
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        ui.strong(format!("Connected clients ({})", session.conns.len()));
        let selected = session.selected_conn;
        let kick = ui
            .add_enabled(selected.is_some(), egui::Button::new("Kick"))
            .on_hover_text("Close the selected client's connection")
            .on_disabled_hover_text("Select a client in the table first");
        if kick.clicked()
            && let Some(conn) = selected
        {
            actions.push(Action::Kick {
                session: session.id,
                conn,
            });
        }
    });
    if session.conns.is_empty() {
        ui.weak("No client connected yet.");
        return;
    }
    // Only the visible rows are laid out: a server may hold thousands of clients.
    let ids: Vec<ConnId> = session.conns.keys().copied().collect();
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
    TableBuilder::new(ui)
        .id_salt(("clients", session.id.get()))
        .striped(true)
        .max_scroll_height(140.0)
        .column(Column::auto().at_least(170.0))
        .column(Column::auto().at_least(150.0))
        .column(Column::auto().at_least(100.0))
        .column(Column::auto().at_least(110.0))
        .column(Column::remainder().at_least(110.0))
        .header(row_height, |mut header| {
            for heading in [
                "Peername",
                "Sockname",
                "Connected since",
                "In (msgs)",
                "Out (msgs)",
            ] {
                header.col(|ui| {
                    ui.strong(heading);
                });
            }
        })
        .body(|mut body| {
            let mut row_ui = |mut table_row: egui_extras::TableRow<'_, '_>| {
                let conn = ids[table_row.index()];
                let Some(row) = session.conns.get(&conn) else {
                    return;
                };
                let (peer, local, since, closing) =
                    (row.info.peer, row.info.local, row.since, row.closing);
                let totals = session.conn_totals(row);
                let selected = session.selected_conn == Some(conn);
                table_row.col(|ui| {
                    let text = if closing {
                        format!("{peer} (closing)")
                    } else {
                        peer.to_string()
                    };
                    if ui.selectable_label(selected, text).clicked() {
                        session.selected_conn = if selected { None } else { Some(conn) };
                        if !selected {
                            session.target = Target::One(conn);
                        }
                    }
                });
                table_row.col(|ui| {
                    ui.label(local.to_string());
                });
                table_row.col(|ui| {
                    ui.label(format::clock(&since));
                });
                table_row.col(|ui| {
                    ui.label(format!(
                        "{} ({})",
                        format::bytes(totals.bytes_in),
                        totals.messages_in
                    ));
                });
                table_row.col(|ui| {
                    ui.label(format!(
                        "{} ({})",
                        format::bytes(totals.bytes_out),
                        totals.messages_out
                    ));
                });
            };
            // Every row is laid out (reachable by Tab and screen readers) until there are
            // too many to lay out each frame; then only the visible ones are.
            if ids.len() > CLIENT_ROWS_ALWAYS_LAID_OUT {
                body.rows(row_height, ids.len(), &mut row_ui);
            } else {
                for _ in 0..ids.len() {
                    body.row(row_height, &mut row_ui);
                }
            }
        });
}
