//! The side panel: the form that creates sockets (TCP server or client, UDP socket or
//! client, with UDP's options), and the list of every socket, grouped by kind.

use eframe::egui;

use super::action::{Action, TcpSetup, UdpSetup};
use super::socket_options_form::SocketOptionsForm;
use super::theme;
use super::tls_panel::TlsForm;
use super::udp_panel::{self, Interfaces};
use crate::engine::options::SocketOptions;
use crate::engine::{SessionId, UdpOptions};
use crate::model::scenario::{RunEnd, ScenarioPage};
use crate::model::session::{Kind, Session};
use crate::model::tls::TlsSide;
use crate::model::udp::{DEFAULT_CLIENT_BIND, check_bind_address};

/// The "new socket" form: its fields, and the errors shown under them.
pub struct NewSocketForm {
    pub kind: FormKind,
    pub addr: String,
    pub chat: bool,
    /// Shown under the address field: a typo, or why the last start failed.
    pub error: Option<String>,
    /// A UDP client's local address.
    pub bind: String,
    pub bind_error: Option<String>,
    pub udp_options: UdpOptions,
    /// TCP: the options section.
    pub socket_options: SocketOptionsForm,
    /// TCP: the TLS section.
    pub tls: TlsForm,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormKind {
    Server,
    Client,
    /// A UDP socket: bound, hears anyone, sends anywhere.
    Udp,
    /// A connected UDP socket: talks to one address.
    UdpClient,
}

impl FormKind {
    const ALL: [(FormKind, &'static str); 4] = [
        (FormKind::Server, "TCP server"),
        (FormKind::Client, "TCP client"),
        (FormKind::Udp, "UDP socket"),
        (FormKind::UdpClient, "UDP client"),
    ];
}

/// The address field's label for each kind (tests find the field by it).
pub fn address_label(kind: FormKind) -> &'static str {
    match kind {
        FormKind::Server => "Listen on (port or host:port, 0 = any free port)",
        FormKind::Client | FormKind::UdpClient => "Connect to (host:port)",
        FormKind::Udp => "Bind to (port or host:port, 0 = any free port)",
    }
}

/// The label of a UDP client's local address field.
pub const LOCAL_ADDRESS_LABEL: &str = "Local address (empty = 0.0.0.0:0)";

impl NewSocketForm {
    pub fn new(addr: String) -> Self {
        NewSocketForm {
            kind: FormKind::Server,
            addr,
            chat: false,
            error: None,
            bind: String::new(),
            bind_error: None,
            udp_options: UdpOptions::default(),
            socket_options: SocketOptionsForm::new(&SocketOptions::default()),
            tls: TlsForm::new(&TlsSide::default()),
        }
    }

    /// The socket the form describes, or `None` with the typo shown under the field.
    pub fn submit(&mut self) -> Option<Action> {
        // Kept as the parser read it, so a bare `8080` is listed as 127.0.0.1:8080.
        let addr = match self.kind {
            // A UDP socket binds: only this machine's addresses, no name lookup.
            FormKind::Udp => check_bind_address(&self.addr),
            _ => crate::engine::parse_endpoint(&self.addr)
                .map(|endpoint| endpoint.to_string())
                .map_err(|e| e.to_string()),
        };
        self.error = addr.as_ref().err().cloned();
        let bind = match self.kind {
            FormKind::UdpClient if !self.bind.trim().is_empty() => check_bind_address(&self.bind),
            _ => Ok(DEFAULT_CLIENT_BIND.to_string()),
        };
        self.bind_error = bind.as_ref().err().cloned();
        let tcp = match self.kind {
            FormKind::Server | FormKind::Client => {
                let socket = self.socket_options.submit();
                let tls = self.tls.submit_for(self.kind == FormKind::Server);
                match (socket, tls) {
                    (Some(socket), Some(tls)) => Some(TcpSetup {
                        socket,
                        tls,
                        connect_timeout: (self.kind == FormKind::Client)
                            .then(|| self.socket_options.connect_timeout()),
                    }),
                    _ => return None,
                }
            }
            FormKind::Udp | FormKind::UdpClient => None,
        };
        let (Ok(addr), Ok(bind)) = (addr, bind) else {
            return None;
        };
        let udp = Some(UdpSetup {
            bind,
            options: self.udp_options.clone(),
        });
        let (kind, udp) = match self.kind {
            FormKind::Server => (Kind::Server { chat: self.chat }, None),
            FormKind::Client => (Kind::Client, None),
            FormKind::Udp => (Kind::Udp, udp),
            FormKind::UdpClient => (Kind::UdpClient, udp),
        };
        Some(Action::Create {
            kind,
            addr,
            udp,
            tcp,
        })
    }
}

pub fn sessions_panel_ui(
    ui: &mut egui::Ui,
    form: &mut NewSocketForm,
    interfaces: &mut Interfaces,
    sessions: &[Session],
    selected: Option<SessionId>,
    scenarios: ScenariosEntry<'_>,
    actions: &mut Vec<Action>,
) {
    ui.add_space(6.0);
    new_socket_form_ui(ui, form, interfaces, actions);
    ui.separator();
    scenarios_entry_ui(ui, scenarios, actions);
    ui.separator();
    let of_kind = |wanted: fn(Kind) -> bool| -> Vec<&Session> {
        sessions.iter().filter(|s| wanted(s.kind)).collect()
    };
    let groups = [
        ("TCP servers", of_kind(|k| matches!(k, Kind::Server { .. }))),
        ("TCP clients", of_kind(|k| k == Kind::Client)),
        ("UDP sockets", of_kind(Kind::is_udp)),
    ];
    egui::ScrollArea::vertical().show(ui, |ui| {
        for (title, group) in groups {
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

fn new_socket_form_ui(
    ui: &mut egui::Ui,
    form: &mut NewSocketForm,
    interfaces: &mut Interfaces,
    actions: &mut Vec<Action>,
) {
    ui.heading("New socket");
    for pair in FormKind::ALL.chunks(2) {
        ui.horizontal(|ui| {
            for &(kind, text) in pair {
                ui.radio_value(&mut form.kind, kind, text);
            }
        });
    }
    let label = ui.label(address_label(form.kind));
    let field = ui.add(
        egui::TextEdit::singleline(&mut form.addr)
            .hint_text("127.0.0.1:9999")
            .desired_width(f32::INFINITY),
    );
    let field = field.labelled_by(label.id);
    if field.changed() {
        form.error = None;
    }
    let mut submitted = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    if let Some(error) = &form.error {
        theme::error_label_ui(ui, error);
    }
    if form.kind == FormKind::UdpClient {
        let label = ui.label(LOCAL_ADDRESS_LABEL);
        let field = ui
            .add(
                egui::TextEdit::singleline(&mut form.bind)
                    .hint_text(DEFAULT_CLIENT_BIND)
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(label.id);
        if field.changed() {
            form.bind_error = None;
        }
        submitted |= field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if let Some(error) = &form.bind_error {
            theme::error_label_ui(ui, error);
        }
    }
    if form.kind == FormKind::Server {
        ui.checkbox(
            &mut form.chat,
            "Group chat (relay each line to all clients)",
        );
    }
    if matches!(form.kind, FormKind::Server | FormKind::Client) {
        let server = form.kind == FormKind::Server;
        form.tls.ui(ui, SessionId::ENGINE, server, actions);
        form.socket_options.ui(ui, "form", server);
    }
    if matches!(form.kind, FormKind::Udp | FormKind::UdpClient) {
        // Closed at first: the open socket's view has the same options, changeable live.
        egui::CollapsingHeader::new("UDP options")
            .id_salt("form_udp_options")
            .show(ui, |ui| {
                udp_panel::options_ui(ui, "form", &mut form.udp_options, interfaces);
            });
    }
    let button = match form.kind {
        FormKind::Server => "Start server",
        FormKind::Client => "Connect",
        FormKind::Udp => "Open UDP socket",
        FormKind::UdpClient => "Open UDP client",
    };
    if (ui.button(button).clicked() || submitted)
        && let Some(action) = form.submit()
    {
        actions.push(action);
    }
}

/// The Scenarios page as the side panel's entry for it shows it.
pub struct ScenariosEntry<'a> {
    pub page: &'a ScenarioPage,
    /// The main area shows the page.
    pub shown: bool,
}

/// The way to the Scenarios page, saying how the last run went.
fn scenarios_entry_ui(
    ui: &mut egui::Ui,
    ScenariosEntry {
        page: scenarios,
        shown,
    }: ScenariosEntry<'_>,
    actions: &mut Vec<Action>,
) {
    let status = if scenarios.is_running() {
        " (running)"
    } else {
        match scenarios.finished {
            Some((RunEnd::Passed, _)) => " (passed)",
            Some((RunEnd::Failed, _)) => " (failed)",
            None => "",
        }
    };
    if ui
        .selectable_label(shown, format!("Scenarios{status}"))
        .on_hover_text("Run scripted send/expect tests from a scenario file")
        .clicked()
    {
        actions.push(Action::ShowScenarios);
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
    let mut addresses = addresses_text(session);
    if session.tls.enabled {
        addresses.push_str(" (TLS)");
    }
    match &session.scenario_socket {
        Some(name) => format!("{name}: {addresses}"),
        None => addresses,
    }
}

fn addresses_text(session: &Session) -> String {
    match session.kind {
        Kind::Server { chat } => {
            let addr = session
                .local
                .map_or(session.addr.clone(), |a| a.to_string());
            if chat { format!("{addr} (chat)") } else { addr }
        }
        Kind::Client | Kind::UdpClient => match (session.local, session.peer) {
            (Some(local), Some(peer)) => format!("{local} -> {peer}"),
            _ => format!("-> {}", session.addr),
        },
        Kind::Udp => session
            .local
            .map_or(session.addr.clone(), |a| a.to_string()),
    }
}
