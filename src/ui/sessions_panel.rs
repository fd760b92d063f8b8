//! The side panel: the form that creates sockets, and the list of every socket, grouped.

use eframe::egui;

use super::app::{FormKind, SocklabApp};
use super::session::{Kind, Session};

pub fn sessions_panel_ui(ui: &mut egui::Ui, app: &mut SocklabApp) {
    ui.add_space(6.0);
    ui.heading("New socket");
    ui.horizontal(|ui| {
        ui.radio_value(&mut app.form.kind, FormKind::Server, "TCP server");
        ui.radio_value(&mut app.form.kind, FormKind::Client, "TCP client");
    });
    let label = ui.label(match app.form.kind {
        FormKind::Server => "Listen on (host:port, port 0 = any free port)",
        FormKind::Client => "Connect to (host:port)",
    });
    let field = ui.add(
        egui::TextEdit::singleline(&mut app.form.addr)
            .hint_text("127.0.0.1:9999")
            .desired_width(f32::INFINITY),
    );
    let field = field.labelled_by(label.id);
    if field.changed() {
        app.form.error = None;
    }
    let submitted = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    if app.form.kind == FormKind::Server {
        ui.checkbox(
            &mut app.form.chat,
            "Group chat (relay each line to all clients)",
        );
    }
    let button = match app.form.kind {
        FormKind::Server => "Start server",
        FormKind::Client => "Connect",
    };
    if ui.button(button).clicked() || submitted {
        app.start_from_form();
    }
    if let Some(error) = &app.form.error {
        ui.colored_label(ui.visuals().error_fg_color, error);
    }
    ui.separator();

    let servers: Vec<usize> = (0..app.sessions.len())
        .filter(|&i| app.sessions[i].is_server())
        .collect();
    let clients: Vec<usize> = (0..app.sessions.len())
        .filter(|&i| !app.sessions[i].is_server())
        .collect();
    egui::ScrollArea::vertical().show(ui, |ui| {
        for (title, indices) in [("TCP servers", servers), ("TCP clients", clients)] {
            ui.strong(format!("{title} ({})", indices.len()));
            if indices.is_empty() {
                ui.weak("none");
            }
            for index in indices {
                let session = &app.sessions[index];
                let selected = app.selected == Some(session.id);
                if session_entry_ui(ui, session, selected).clicked() {
                    app.selected = Some(session.id);
                }
            }
            ui.add_space(8.0);
        }
    });
}

/// One list entry: a status dot and the socket's address.
fn session_entry_ui(ui: &mut egui::Ui, session: &Session, selected: bool) -> egui::Response {
    ui.horizontal(|ui| {
        status_dot_ui(ui, session.state.colour(ui.visuals()));
        let text = entry_text(session);
        let state = session.state.label();
        let response = ui
            .selectable_label(selected, &text)
            .on_hover_text(format!("state: {state}"));
        // The dot's colour says the state on screen; screen readers get it in the name.
        ui.ctx().accesskit_node_builder(response.id, |node| {
            node.set_label(format!("{text}, {state}"));
        });
        response
    })
    .inner
}

pub fn entry_text(session: &Session) -> String {
    match session.kind {
        Kind::Server { chat } => {
            let addr = session
                .local
                .map_or(session.addr.clone(), |a| a.to_string());
            if chat { format!("{addr} (chat)") } else { addr }
        }
        Kind::Client => match (session.local, session.peer) {
            (Some(local), Some(peer)) => format!("{local} -> {peer}"),
            _ => format!("-> {}", session.addr),
        },
    }
}

pub fn status_dot_ui(ui: &mut egui::Ui, colour: egui::Color32) {
    let size = ui.spacing().interact_size.y * 0.5;
    let (rect, _) = ui.allocate_exact_size(egui::vec2(size, size), egui::Sense::hover());
    ui.painter()
        .circle_filled(rect.center(), size * 0.4, colour);
}
