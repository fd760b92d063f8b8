//! The side panel: the form that creates sockets, and the list of every socket, grouped.

use eframe::egui;

use super::action::Action;
use super::theme;
use crate::engine::SessionId;
use crate::model::session::{Kind, Session};

/// The "new socket" form: its fields, and the error shown under the address.
pub struct NewSocketForm {
    pub kind: FormKind,
    pub addr: String,
    pub chat: bool,
    /// Shown under the address field: a typo, or why the last start failed.
    pub error: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormKind {
    Server,
    Client,
}

impl NewSocketForm {
    pub fn new(addr: String) -> Self {
        NewSocketForm {
            kind: FormKind::Server,
            addr,
            chat: false,
            error: None,
        }
    }

    /// The socket the form describes, or `None` with the typo shown under the field.
    pub fn submit(&mut self) -> Option<Action> {
        // Kept as the parser read it, so a bare `8080` is listed as 127.0.0.1:8080.
        let addr = match crate::engine::parse_endpoint(&self.addr) {
            Ok(endpoint) => endpoint.to_string(),
            Err(e) => {
                self.error = Some(e.to_string());
                return None;
            }
        };
        self.error = None;
        let kind = match self.kind {
            FormKind::Server => Kind::Server { chat: self.chat },
            FormKind::Client => Kind::Client,
        };
        Some(Action::Create { kind, addr })
    }
}

pub fn sessions_panel_ui(
    ui: &mut egui::Ui,
    form: &mut NewSocketForm,
    sessions: &[Session],
    selected: Option<SessionId>,
    actions: &mut Vec<Action>,
) {
    ui.add_space(6.0);
    new_socket_form_ui(ui, form, actions);
    ui.separator();
    let (servers, clients): (Vec<&Session>, Vec<&Session>) =
        sessions.iter().partition(|s| s.is_server());
    egui::ScrollArea::vertical().show(ui, |ui| {
        for (title, group) in [("TCP servers", servers), ("TCP clients", clients)] {
            ui.strong(format!("{title} ({})", group.len()));
            if group.is_empty() {
                ui.weak("none");
            }
            for session in group {
                if session_entry_ui(ui, session, selected == Some(session.id)).clicked() {
                    actions.push(Action::Select(session.id));
                }
            }
            ui.add_space(8.0);
        }
    });
}

fn new_socket_form_ui(ui: &mut egui::Ui, form: &mut NewSocketForm, actions: &mut Vec<Action>) {
    ui.heading("New socket");
    ui.horizontal(|ui| {
        ui.radio_value(&mut form.kind, FormKind::Server, "TCP server");
        ui.radio_value(&mut form.kind, FormKind::Client, "TCP client");
    });
    let label = ui.label(match form.kind {
        FormKind::Server => "Listen on (port or host:port, 0 = any free port)",
        FormKind::Client => "Connect to (host:port)",
    });
    let field = ui.add(
        egui::TextEdit::singleline(&mut form.addr)
            .hint_text("127.0.0.1:9999")
            .desired_width(f32::INFINITY),
    );
    let field = field.labelled_by(label.id);
    if field.changed() {
        form.error = None;
    }
    let submitted = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    if form.kind == FormKind::Server {
        ui.checkbox(
            &mut form.chat,
            "Group chat (relay each line to all clients)",
        );
    }
    let button = match form.kind {
        FormKind::Server => "Start server",
        FormKind::Client => "Connect",
    };
    if (ui.button(button).clicked() || submitted)
        && let Some(action) = form.submit()
    {
        actions.push(action);
    }
    if let Some(error) = &form.error {
        theme::error_label_ui(ui, error);
    }
}

/// One list entry: a status dot and the socket's address.
fn session_entry_ui(ui: &mut egui::Ui, session: &Session, selected: bool) -> egui::Response {
    ui.horizontal(|ui| {
        theme::status_dot_ui(ui, &session.state);
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
