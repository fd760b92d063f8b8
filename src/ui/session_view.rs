//! The selected socket: status line, controls, the server's client table (a UDP socket's
//! peers table, options and groups), the log and the composer. Picking a client row changes
//! the session's selection in place; everything else the user asks for is pushed as an
//! [`Action`].

use chrono::Local;
use eframe::egui;

use super::action::{Action, Pane};
use super::composer::{self, ComposerPanel};
use super::framing_panel::waiting_bytes;
use super::udp_panel::{self, Interfaces};
use super::{log_view, rate_chart, rules_panel, table, theme};
use std::collections::HashMap;

use super::socket_options_form::{TcpSettingsForm, close_text, in_effect_ui};
use super::tls_panel::{UNVERIFIED_WARNING, tls_info_ui};
use crate::engine::{ConnId, SessionId, Target};
use crate::model::format;
use crate::model::persist::Saved;
use crate::model::session::{BehaviourPage, ConnRow, Kind, Session, State};

/// What the session view reads besides the session, and where its actions go.
pub struct ViewContext<'a> {
    /// History, presets and view options (changed only through actions).
    pub saved: &'a Saved,
    /// A file dialog is open: buttons that would open another are disabled.
    pub dialog_open: bool,
    /// This machine's interfaces, for UDP's multicast choices.
    pub interfaces: &'a mut Interfaces,
    /// The TCP settings of stopped sockets as being edited, by socket.
    pub tcp_forms: &'a mut HashMap<SessionId, TcpSettingsForm>,
    pub actions: &'a mut Vec<Action>,
}

/// The least height of each pane; below the window's minimum size they shrink together.
const CLIENTS_MIN: f32 = 72.0;
const CHART_MIN: f32 = 80.0;
const COMPOSER_MIN: f32 = 96.0;
/// Room for the log's toolbar wrapped on three lines, its header and a few rows.
const LOG_MIN: f32 = 190.0;
/// Height of the draggable strip between two panes.
const SPLITTER: f32 = 8.0;

/// One pane the user sizes: which, and its height this frame.
struct Placed {
    pane: Pane,
    height: f32,
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
        interfaces,
        tcp_forms,
        actions,
    } = cx;
    let options = &saved.options;
    egui::Panel::top("session_header").show(ui, |ui| {
        header_ui(ui, session, options.show_chart, actions);
        if session.kind == Kind::UdpClient {
            udp_client_options_ui(ui, session, interfaces, actions);
        }
        if matches!(session.kind, Kind::Server { .. } | Kind::Client) {
            tcp_sections_ui(ui, session, tcp_forms, actions);
            tls_section_ui(ui, session, tcp_forms, actions);
        }
        if matches!(session.kind, Kind::Client | Kind::UdpClient) {
            behaviour_sections_ui(ui, session, dialog_open, actions);
        }
    });
    // Client table and chart at the top, composer at the bottom, the log between them
    // taking the rest; each pane is clipped to its rectangle and scrolls inside it.
    let area = ui.available_rect_before_wrap();
    let mut wanted = Vec::new();
    // A UDP socket's peers table takes the client table's place (and its height).
    if session.is_server() || session.kind == Kind::Udp {
        wanted.push((Pane::Clients, options.clients_pane_height, CLIENTS_MIN));
    }
    if options.show_chart {
        wanted.push((Pane::Chart, options.chart_pane_height, CHART_MIN));
    }
    wanted.push((Pane::Composer, options.composer_pane_height, COMPOSER_MIN));
    let room = area.height() - LOG_MIN - SPLITTER * wanted.len() as f32;
    let sizes: Vec<(f32, f32)> = wanted.iter().map(|&(_, want, min)| (want, min)).collect();
    let placed: Vec<Placed> = wanted
        .iter()
        .zip(fit_heights(room, &sizes))
        .map(|(&(pane, ..), height)| Placed { pane, height })
        .collect();
    let composer_height = placed.last().map_or(0.0, |p| p.height);
    let above: f32 = placed
        .iter()
        .rev()
        .skip(1)
        .map(|p| p.height + SPLITTER)
        .sum();
    let log_height = (area.height() - above - composer_height - SPLITTER).max(0.0);
    let mut top = area.top();
    for placed in &placed[..placed.len() - 1] {
        let rect = egui::Rect::from_x_y_ranges(area.x_range(), top..=top + placed.height);
        pane_ui(ui, rect, |ui| match placed.pane {
            Pane::Clients if session.kind == Kind::Udp => {
                udp_panel::udp_pane_ui(ui, session, interfaces, dialog_open, actions)
            }
            Pane::Clients if session.takes_rules() => {
                server_pane_ui(ui, session, dialog_open, actions)
            }
            Pane::Clients => clients_ui(ui, session, actions),
            Pane::Chart => rate_chart::rate_chart_ui(ui, session),
            Pane::Composer => {}
        });
        top += placed.height;
        // Dragging down makes the pane above taller, up to what the log can give.
        let max = placed.height + log_height - LOG_MIN;
        let name = match placed.pane {
            Pane::Clients if session.kind == Kind::Udp => "Resize the peers pane",
            Pane::Clients => "Resize the client table",
            Pane::Chart => "Resize the rate chart",
            Pane::Composer => "Resize the composer",
        };
        let strip = Strip {
            y: top,
            name,
            max: max.max(placed.height),
            sign: 1.0,
        };
        splitter_ui(ui, area, placed, strip, actions);
        top += SPLITTER;
    }
    let log_rect = egui::Rect::from_x_y_ranges(area.x_range(), top..=top + log_height);
    pane_ui(ui, log_rect, |ui| {
        log_view::log_view_ui(ui, session, options.display, dialog_open, actions)
    });
    top += log_height;
    let composer = &placed[placed.len() - 1];
    // Dragging up makes the composer taller.
    let max = composer.height + log_height - LOG_MIN;
    let strip = Strip {
        y: top,
        name: "Resize the composer",
        max: max.max(composer.height),
        sign: -1.0,
    };
    splitter_ui(ui, area, composer, strip, actions);
    top += SPLITTER;
    let composer_rect = egui::Rect::from_x_y_ranges(area.x_range(), top..=area.bottom());
    pane_ui(ui, composer_rect, |ui| {
        egui::ScrollArea::vertical()
            .id_salt("composer_pane")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                composer::composer_ui(ui, session, composer_panel, saved, dialog_open, actions)
            });
    });
    ui.allocate_rect(area, egui::Sense::hover());
}

/// Heights for panes that want `(height, least height)` within `room`: when they do not all
/// fit, each gives up the same share of what it has above its least height; when even the
/// least heights do not fit, those shrink in proportion.
fn fit_heights(room: f32, panes: &[(f32, f32)]) -> Vec<f32> {
    let room = room.max(0.0);
    let wanted: f32 = panes.iter().map(|&(want, min)| want.max(min)).sum();
    if wanted <= room {
        return panes.iter().map(|&(want, min)| want.max(min)).collect();
    }
    let least: f32 = panes.iter().map(|&(_, min)| min).sum();
    if least >= room {
        let scale = if least > 0.0 { room / least } else { 0.0 };
        return panes.iter().map(|&(_, min)| min * scale).collect();
    }
    let share = (room - least) / (wanted - least);
    panes
        .iter()
        .map(|&(want, min)| min + (want.max(min) - min) * share)
        .collect()
}

/// Draws `add` in a child of `ui` confined to `rect` and clipped to it.
fn pane_ui(ui: &mut egui::Ui, rect: egui::Rect, add: impl FnOnce(&mut egui::Ui)) {
    let mut pane = ui.new_child(
        egui::UiBuilder::new()
            .max_rect(rect)
            .layout(egui::Layout::top_down(egui::Align::Min)),
    );
    pane.set_clip_rect(rect.intersect(ui.clip_rect()));
    add(&mut pane);
}

/// A draggable strip: where it is, its accessible name, and how the pane it sizes grows.
struct Strip {
    y: f32,
    name: &'static str,
    /// The pane's greatest height.
    max: f32,
    /// 1: the strip is under its pane; -1: over it.
    sign: f32,
}

/// The strip under (`sign` 1) or over (`sign` -1) a pane at `y`: dragging it sets the
/// pane's height, between its least height and `max`.
fn splitter_ui(
    ui: &mut egui::Ui,
    area: egui::Rect,
    placed: &Placed,
    strip: Strip,
    actions: &mut Vec<Action>,
) {
    let Strip { y, name, max, sign } = strip;
    let rect = egui::Rect::from_x_y_ranges(area.x_range(), y..=y + SPLITTER);
    let id = ui.scope_id().with(("splitter", placed.pane));
    let response = ui.interact(rect, id, egui::Sense::drag());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Splitter, true, name));
    if response.hovered() || response.dragged() {
        ui.ctx().set_cursor_icon(egui::CursorIcon::ResizeVertical);
    }
    let stroke = if response.hovered() || response.dragged() {
        ui.visuals().widgets.hovered.fg_stroke
    } else {
        ui.visuals().widgets.noninteractive.bg_stroke
    };
    ui.painter().hline(area.x_range(), rect.center().y, stroke);
    if response.dragged()
        && let Some(pointer) = response.interact_pointer_pos()
    {
        // The pane's edge follows the pointer; the pane's other edge stays put.
        let edge = if sign > 0.0 {
            y - placed.height
        } else {
            y + SPLITTER + placed.height
        };
        let min = match placed.pane {
            Pane::Clients => CLIENTS_MIN,
            Pane::Chart => CHART_MIN,
            Pane::Composer => COMPOSER_MIN,
        };
        // The pointer holds the middle of the strip.
        let height = (sign * (pointer.y - edge) - SPLITTER / 2.0).clamp(min, max.max(min));
        if (height - placed.height).abs() >= 0.5 {
            actions.push(Action::ResizePane {
                pane: placed.pane,
                height,
            });
        }
    }
}

fn header_ui(ui: &mut egui::Ui, session: &Session, show_chart: bool, actions: &mut Vec<Action>) {
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        if session.tls.enabled {
            ui.heading(format!("{} (TLS)", session.kind.title()));
        } else {
            ui.heading(session.kind.title());
        }
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
        if matches!(session.kind, Kind::Client | Kind::UdpClient) {
            ui.label(shown("peername", session.peer));
        }
        // Half-closed: which side has finished sending.
        if let Some(row) = session.client_conn()
            && !row.closing
            && (row.peer_finished || row.sending_finished)
        {
            theme::warning_label_ui(ui, row.state_label());
        }
        if let Some(since) = session.since {
            ui.label(format!("up {}", format::uptime(since, Local::now())));
        }
    });
    ui.horizontal_wrapped(|ui| {
        // The buttons come first, so they stay put while the counters' text grows.
        if matches!(session.kind, Kind::Server { .. } | Kind::Client) {
            // A toggle in this row rather than a section of its own: the header keeps its
            // height for the panes below until it is opened.
            let id = section_id("tcp_options", session);
            let mut open = section_open(ui, id);
            if ui
                .toggle_value(&mut open, "Socket options")
                .on_hover_text("The socket's TCP options: in effect, or to change while stopped")
                .changed()
            {
                ui.data_mut(|d| d.insert_temp(id, open));
            }
            if session.tls.enabled || !is_running(&session.state) {
                let id = section_id("tls", session);
                let mut open = section_open(ui, id);
                if ui
                    .toggle_value(&mut open, "TLS")
                    .on_hover_text("The handshake and the peer's certificates, or TLS settings")
                    .changed()
                {
                    ui.data_mut(|d| d.insert_temp(id, open));
                }
            }
        }
        if ui
            .small_button("Reset counters")
            .on_hover_text("Count from zero again (for the socket and each connection)")
            .clicked()
        {
            actions.push(Action::ResetCounters(session.id));
        }
        let mut shown = show_chart;
        if ui
            .checkbox(&mut shown, "Rate chart")
            .on_hover_text("Bytes and messages per second, in and out, over the last minute")
            .changed()
        {
            actions.push(Action::ShowChart(shown));
        }
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
        let waiting = waiting_bytes(session);
        if waiting > 0 {
            ui.label(format!("{waiting} bytes waiting"))
                .on_hover_text("Read, waiting for the rest of their message (see Framing)");
        }
    });
    if let Some(stats) = session.udp.as_ref().and_then(|udp| udp.stats.as_ref()) {
        let drops = stats.kernel_drops().unwrap_or(0);
        let truncated = stats.truncated();
        if drops > 0 || truncated > 0 {
            ui.horizontal_wrapped(|ui| {
                if drops > 0 {
                    theme::warning_label_ui(
                        ui,
                        format!("kernel dropped {drops} datagrams (receive buffer full)"),
                    );
                }
                if truncated > 0 {
                    theme::warning_label_ui(
                        ui,
                        format!("{truncated} datagrams cut short (larger than the buffer)"),
                    );
                }
            });
        }
    }
    if let State::Failed(error) = &session.state {
        theme::error_label_ui(ui, error);
    }
    // A client talking to an unverified server must see it without opening anything.
    if session.kind == Kind::Client
        && let Some(why) = session
            .conns
            .values()
            .find_map(|row| row.tls.as_ref().and_then(|info| info.unverified.clone()))
    {
        theme::warning_label_ui(ui, format!("{UNVERIFIED_WARNING}: {why}"));
    }
}

/// A UDP client's options, a section that opens on a click (a UDP socket has them in its
/// pane instead), scrolled when it would crowd out the panes below.
fn udp_client_options_ui(
    ui: &mut egui::Ui,
    session: &mut Session,
    interfaces: &mut Interfaces,
    actions: &mut Vec<Action>,
) {
    let max_height = (ui.ctx().content_rect().height() * 0.25).max(48.0);
    egui::CollapsingHeader::new("Socket options")
        .id_salt(("udp_options", session.id.get()))
        .show(ui, |ui| {
            egui::ScrollArea::vertical()
                .id_salt("udp_client_options")
                .max_height(max_height)
                .show(ui, |ui| {
                    udp_panel::udp_options_section_ui(ui, session, interfaces, actions)
                });
        });
    ui.add_space(4.0);
}

/// Listening, connecting or connected: the socket's settings are in use and cannot change.
fn is_running(state: &State) -> bool {
    matches!(
        state,
        State::Listening | State::Starting | State::Connected | State::Connecting | State::Open
    )
}

fn section_id(name: &str, session: &Session) -> egui::Id {
    egui::Id::NULL.with((name, session.id.get()))
}

/// Whether a header section toggled in the header's row is open (closed at first).
fn section_open(ui: &egui::Ui, id: egui::Id) -> bool {
    ui.data(|d| d.get_temp::<bool>(id)).unwrap_or(false)
}

/// A TCP socket's "Socket options" section: while it runs, what is in effect (the
/// listener's and the selected client's, or the connection's); while it is stopped, its
/// settings to edit for the next start.
fn tcp_sections_ui(
    ui: &mut egui::Ui,
    session: &Session,
    forms: &mut HashMap<SessionId, TcpSettingsForm>,
    actions: &mut Vec<Action>,
) {
    let id = section_id("tcp_options", session);
    if is_running(&session.state) {
        forms.remove(&session.id);
        if section_open(ui, id) {
            section_body_ui(
                ui,
                Some("Socket options in effect"),
                "tcp_options_scroll",
                |ui| options_in_effect_ui(ui, session),
            );
        }
        return;
    }
    let form = forms
        .entry(session.id)
        .or_insert_with(|| TcpSettingsForm::of(session));
    if form.socket.has_errors() {
        // Errors found by Start again must be seen where they are.
        ui.data_mut(|d| d.insert_temp(id, true));
    }
    if section_open(ui, id) {
        let heading = Some("Socket options for the next start");
        section_body_ui(ui, heading, "tcp_settings_scroll", |ui| {
            form.socket.fields_ui(ui, "session", session.is_server());
            apply_settings_ui(
                ui,
                "Apply socket options",
                "options",
                form,
                session,
                actions,
            );
        });
    }
}

/// A TCP socket's "TLS" section: while it runs, the handshake (the connection's, or the
/// selected client's); while it is stopped, its TLS settings to edit for the next start.
fn tls_section_ui(
    ui: &mut egui::Ui,
    session: &Session,
    forms: &mut HashMap<SessionId, TcpSettingsForm>,
    actions: &mut Vec<Action>,
) {
    let server = session.is_server();
    let id = section_id("tls", session);
    if is_running(&session.state) {
        if session.tls.enabled && section_open(ui, id) {
            section_body_ui(ui, None, "tls_info_scroll", |ui| {
                let row = if server {
                    session.selected_conn.and_then(|c| session.conns.get(&c))
                } else {
                    session.client_conn()
                };
                match row {
                    Some(row) => match &row.tls {
                        Some(info) => {
                            ui.strong(format!("TLS with {}", row.info.peer));
                            tls_info_ui(ui, info, server);
                        }
                        None => {
                            ui.weak("Handshaking…");
                        }
                    },
                    None if server => {
                        ui.weak("Select a client in the table to see its handshake.");
                    }
                    None => {
                        ui.weak("Not connected yet.");
                    }
                }
            });
        }
        return;
    }
    let form = forms
        .entry(session.id)
        .or_insert_with(|| TcpSettingsForm::of(session));
    if form.tls.has_errors() {
        ui.data_mut(|d| d.insert_temp(id, true));
    }
    if section_open(ui, id) {
        section_body_ui(
            ui,
            Some("TLS for the next start"),
            "tls_settings_scroll",
            |ui| {
                form.tls.ui(ui, session.id, server, actions);
                apply_settings_ui(ui, "Apply TLS settings", "settings", form, session, actions);
            },
        );
    }
}

/// An open header section's body under a separator and its heading, scrolling within
/// 30 % of the window so the log keeps its room.
fn section_body_ui(
    ui: &mut egui::Ui,
    heading: Option<&str>,
    scroll_salt: &str,
    body: impl FnOnce(&mut egui::Ui),
) {
    ui.separator();
    if let Some(heading) = heading {
        ui.strong(heading);
    }
    let max_height = (ui.ctx().content_rect().height() * 0.3).max(64.0);
    egui::ScrollArea::vertical()
        .id_salt(scroll_salt)
        .max_height(max_height)
        .show(ui, body);
    ui.add_space(4.0);
}

/// The button that keeps a stopped socket's edited socket options and TLS settings (both
/// forms are checked: Start again uses them together).
fn apply_settings_ui(
    ui: &mut egui::Ui,
    label: &str,
    what: &str,
    form: &mut TcpSettingsForm,
    session: &Session,
    actions: &mut Vec<Action>,
) {
    let hover = format!("Keep these {what} for this socket (Start again uses them too)");
    if ui.button(label).on_hover_text(hover).clicked()
        && let Some(setup) = form.submit(session.is_server())
    {
        actions.push(Action::SetTcpSettings {
            session: session.id,
            setup,
        });
    }
}

/// The options the kernel has for a running TCP socket.
fn options_in_effect_ui(ui: &mut egui::Ui, session: &Session) {
    let asked = &session.socket_options;
    let server = session.is_server();
    ui.label(close_text(server, asked.reset_on_close));
    if server {
        ui.strong("Listener");
        match &session.listener_options {
            Some(options) => in_effect_ui(ui, asked, options),
            None => {
                ui.weak("Not listening yet.");
            }
        }
        if let Some(row) = session.selected_conn.and_then(|c| session.conns.get(&c)) {
            ui.strong(format!(
                "Selected client {} ({})",
                row.info.conn, row.info.peer
            ));
            in_effect_ui(ui, asked, &row.info.options);
        } else {
            ui.weak("Select a client in the table to see its connection's options.");
        }
    } else {
        ui.label(format!(
            "Connect timeout: {} s",
            session.connect_timeout.as_secs_f64()
        ));
        match session.conns.values().next() {
            Some(row) => in_effect_ui(ui, asked, &row.info.options),
            None => {
                ui.weak("Not connected yet.");
            }
        }
    }
}

/// A (non-chat) server's pane: its clients, or its framing or responder page.
fn server_pane_ui(
    ui: &mut egui::Ui,
    session: &mut Session,
    dialog_open: bool,
    actions: &mut Vec<Action>,
) {
    ui.horizontal_wrapped(|ui| {
        let text = format!("Clients ({})", session.conns.len());
        if ui.selectable_label(session.page.is_none(), text).clicked() {
            session.page = None;
        }
        rules_panel::behaviour_tabs_ui(ui, &mut session.page);
    });
    match session.page {
        Some(page) => rules_panel::behaviour_page_ui(ui, session, page, dialog_open, actions),
        None => clients_ui(ui, session, actions),
    }
}

/// A client's framing and responder, sections that open on a click (a client has no pane
/// of pages), scrolled when they would crowd out the panes below.
fn behaviour_sections_ui(
    ui: &mut egui::Ui,
    session: &mut Session,
    dialog_open: bool,
    actions: &mut Vec<Action>,
) {
    let max_height = (ui.ctx().content_rect().height() * 0.3).max(64.0);
    for (page, title) in [
        (BehaviourPage::Framing, "Framing"),
        (BehaviourPage::Responder, "Responder"),
    ] {
        egui::CollapsingHeader::new(title)
            .id_salt((title, session.id.get()))
            .show(ui, |ui| {
                ui.set_max_height(max_height);
                rules_panel::behaviour_page_ui(ui, session, page, dialog_open, actions);
            });
    }
    ui.add_space(4.0);
}

/// Stop / start again for servers; disconnect / reconnect for clients.
fn controls_ui(ui: &mut egui::Ui, session: &Session, actions: &mut Vec<Action>) {
    let id = session.id;
    let running = matches!(
        session.state,
        State::Listening | State::Starting | State::Connected | State::Connecting | State::Open
    );
    let clicked = match (session.kind, running) {
        (Kind::Udp | Kind::UdpClient, true) => ui
            .button("Close")
            .on_hover_text("Close the socket (its groups are joined again when it opens)")
            .clicked()
            .then_some(Action::Stop(id)),
        (Kind::Udp | Kind::UdpClient, false) => ui
            .button("Open again")
            .on_hover_text("Open the socket again, with its options and groups")
            .clicked()
            .then_some(Action::Start(id)),
        (Kind::Server { .. }, true) => ui
            .button("Stop")
            .on_hover_text("Stop listening and close every client")
            .clicked()
            .then_some(Action::Stop(id)),
        (Kind::Server { .. }, false) => ui
            .button("Start again")
            .clicked()
            .then_some(Action::Start(id)),
        (Kind::Client, true) => {
            let disconnect = ui
                .button("Disconnect")
                .clicked()
                .then_some(Action::Stop(id));
            let can_finish = session.client_conn().is_some_and(ConnRow::takes_sends);
            let finish = ui
                .add_enabled(can_finish, egui::Button::new("Shut down sending"))
                .on_hover_text("Send FIN: the peer reads the end, you keep receiving")
                .on_disabled_hover_text("Not connected, or sending is already shut down")
                .clicked()
                .then_some(Action::ShutDownSending {
                    session: id,
                    conn: None,
                });
            disconnect.or(finish)
        }
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
        let can_finish = selected
            .and_then(|conn| session.conns.get(&conn))
            .is_some_and(ConnRow::takes_sends);
        let finish = ui
            .add_enabled(can_finish, egui::Button::new("Shut down sending"))
            .on_hover_text("Send FIN to the selected client: it reads the end, you keep receiving")
            .on_disabled_hover_text("Select a client whose sending is not shut down yet");
        if finish.clicked() {
            actions.push(Action::ShutDownSending {
                session: session.id,
                conn: selected,
            });
        }
    });
    if session.conns.is_empty() {
        ui.weak("No client connected yet.");
        return;
    }
    // Only the visible rows are laid out past a few hundred: a server may hold thousands.
    let ids: Vec<ConnId> = session.conns.keys().copied().collect();
    let tls = session.tls.enabled;
    let mut columns = vec![
        ("Peername", 170.0),
        ("Sockname", 150.0),
        ("Connected since", 100.0),
        ("State", 140.0),
        ("In (msgs)", 110.0),
        ("Out (msgs)", 110.0),
    ];
    if tls {
        columns.push(("TLS", 90.0));
    }
    table::pane_table_ui(
        ui,
        ("clients", session.id.get()),
        &columns,
        ids.len(),
        |mut table_row| {
            let conn = ids[table_row.index()];
            let Some(row) = session.conns.get(&conn) else {
                return;
            };
            let (peer, local, since, state) =
                (row.info.peer, row.info.local, row.since, row.state_label());
            let totals = session.conn_totals(row);
            let selected = session.selected_conn == Some(conn);
            table_row.col(|ui| {
                if ui.selectable_label(selected, peer.to_string()).clicked() {
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
                ui.label(state);
            });
            table_row.col(|ui| table::traffic_label_ui(ui, totals.bytes_in, totals.messages_in));
            table_row.col(|ui| table::traffic_label_ui(ui, totals.bytes_out, totals.messages_out));
            if tls {
                let text = row
                    .tls
                    .as_ref()
                    .map_or("handshaking", |info| info.version.as_str());
                table_row.col(|ui| {
                    ui.label(text);
                });
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::fit_heights;

    #[test]
    fn panes_keep_their_heights_when_they_fit_and_share_the_squeeze_when_not() {
        assert_eq!(
            fit_heights(500.0, &[(100.0, 50.0), (200.0, 80.0)]),
            [100.0, 200.0]
        );
        assert_eq!(
            fit_heights(500.0, &[(10.0, 50.0)]),
            [50.0],
            "never below the least height while it fits"
        );
        // 130 above the least heights, 65 of room for it: each keeps half of its extra.
        assert_eq!(
            fit_heights(195.0, &[(100.0, 50.0), (160.0, 80.0)]),
            [75.0, 120.0]
        );
        // Not even the least heights fit: they shrink in proportion.
        assert_eq!(
            fit_heights(65.0, &[(100.0, 50.0), (160.0, 80.0)]),
            [25.0, 40.0]
        );
        assert_eq!(fit_heights(-10.0, &[(100.0, 50.0)]), [0.0]);
    }
}
