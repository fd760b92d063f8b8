//! The selected socket: status line, controls, the server's client table, the log and
//! the composer.

use chrono::Local;
use eframe::egui;

use super::app::Shared;
use super::session::{Kind, Session, State};
use super::sessions_panel::status_dot_ui;
use super::{composer, format, log_view};
use crate::engine::{CloseHow, Command, ConnId, Engine, SessionId, Target};
use egui_extras::{Column, TableBuilder};

/// Up to this many clients, every row of the client table is laid out.
const CLIENT_ROWS_ALWAYS_LAID_OUT: usize = 200;

/// What the view asks of the app (things that change the session list).
pub enum Action {
    Remove(SessionId),
}

pub fn session_view_ui(
    ui: &mut egui::Ui,
    session: &mut Session,
    shared: &mut Shared,
) -> Option<Action> {
    let mut action = None;
    egui::Panel::top("session_header").show(ui, |ui| {
        action = header_ui(ui, session, &shared.engine);
        if session.is_server() {
            clients_ui(ui, session, &shared.engine);
        }
        ui.add_space(4.0);
    });
    egui::Panel::bottom("composer")
        .resizable(true)
        .default_size(190.0)
        .show(ui, |ui| composer::composer_ui(ui, session, shared));
    log_view::log_view_ui(ui, session, shared);
    action
}

fn header_ui(ui: &mut egui::Ui, session: &mut Session, engine: &Engine) -> Option<Action> {
    let mut action = None;
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
                action = Some(Action::Remove(session.id));
            }
            controls_ui(ui, session, engine);
        });
    });
    ui.horizontal_wrapped(|ui| {
        status_dot_ui(ui, session.state.colour(ui.visuals()));
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
            session.reset_counters();
        }
    });
    if let State::Failed(error) = &session.state {
        ui.colored_label(ui.visuals().error_fg_color, error);
    }
    action
}

/// Stop / start again for servers; disconnect / reconnect for clients.
fn controls_ui(ui: &mut egui::Ui, session: &mut Session, engine: &Engine) {
    let id = session.id;
    let running = matches!(
        session.state,
        State::Listening | State::Starting | State::Connected | State::Connecting
    );
    match session.kind {
        Kind::Server { chat } => {
            if running {
                if ui
                    .button("Stop")
                    .on_hover_text("Stop listening and close every client")
                    .clicked()
                {
                    engine.execute(Command::Stop { session: id });
                }
            } else if ui.button("Start again").clicked() {
                session.state = State::Starting;
                engine.execute(Command::Listen {
                    session: id,
                    addr: session.addr.clone(),
                    options: crate::engine::ServerOptions { chat },
                });
            }
        }
        Kind::Client => {
            if running {
                if ui.button("Disconnect").clicked() {
                    engine.execute(Command::Stop { session: id });
                }
            } else if ui
                .button("Reconnect")
                .on_hover_text(format!("Connect to {} again", session.addr))
                .clicked()
            {
                session.state = State::Connecting;
                engine.execute(Command::Connect {
                    session: id,
                    addr: session.addr.clone(),
                    timeout: crate::engine::DEFAULT_CONNECT_TIMEOUT,
                });
            }
        }
    }
}

/// The server's connected clients: pick one to kick or to send to.
fn clients_ui(ui: &mut egui::Ui, session: &mut Session, engine: &Engine) {
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
            engine.execute(Command::Close {
                session: session.id,
                conn,
                how: CloseHow::Graceful,
            });
            session.mark_closing(conn);
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
