//! The eframe app: drains engine events within a time budget, then draws the panels.

use std::time::{Duration, Instant};

use eframe::egui;

use super::session::{Kind, Session, State};
use super::{session_view, sessions_panel};
use crate::engine::{Command, Engine, Event, EventKind, SessionId};

/// Time per frame spent applying events; the rest is for drawing.
const EVENT_BUDGET: Duration = Duration::from_millis(6);

pub struct SocklabApp {
    pub(super) engine: Engine,
    pub(super) sessions: Vec<Session>,
    pub(super) selected: Option<SessionId>,
    pub(super) form: NewSocketForm,
}

/// The "new socket" form in the side panel.
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

impl SocklabApp {
    /// Starts the engine; it wakes the window whenever events arrive.
    pub fn new(ctx: &egui::Context) -> std::io::Result<Self> {
        let repaint = ctx.clone();
        let engine = Engine::spawn(move || repaint.request_repaint())?;
        Ok(SocklabApp {
            engine,
            sessions: Vec::new(),
            selected: None,
            form: NewSocketForm {
                kind: FormKind::Server,
                addr: "127.0.0.1:9999".into(),
                chat: false,
                error: None,
            },
        })
    }

    pub(super) fn session_mut(&mut self, id: SessionId) -> Option<&mut Session> {
        self.sessions.iter_mut().find(|s| s.id == id)
    }

    /// Applies waiting events for at most [`EVENT_BUDGET`]; asks for another frame if more wait.
    fn drain_events(&mut self, ctx: &egui::Context) {
        let started = Instant::now();
        while let Ok(event) = self.engine.events().try_recv() {
            self.apply(event);
            if started.elapsed() > EVENT_BUDGET {
                ctx.request_repaint();
                return;
            }
        }
    }

    fn apply(
        &mut self,
        Event {
            time,
            session,
            kind,
        }: Event,
    ) {
        let first_failure = match &kind {
            EventKind::ListenFailed { error } | EventKind::ConnectFailed { error } => self
                .sessions
                .iter()
                .find(|s| s.id == session && !s.ever_started)
                .map(|_| error.clone()),
            _ => None,
        };
        if let Some(error) = first_failure {
            // Never worked: show the error where the user typed the address, keep no dead socket.
            self.sessions.retain(|s| s.id != session);
            self.engine.execute(Command::Remove { session });
            if self.selected == Some(session) {
                self.selected = self.sessions.last().map(|s| s.id);
            }
            self.form.error = Some(error);
            return;
        }
        if let Some(target) = self.session_mut(session) {
            target.apply(time, kind);
        }
    }

    /// Validates the form and starts a server or client session.
    pub(super) fn start_from_form(&mut self) {
        let addr = self.form.addr.trim().to_string();
        if let Err(e) = crate::engine::parse_endpoint(&addr) {
            self.form.error = Some(e.to_string());
            return;
        }
        self.form.error = None;
        let (id, kind) = match self.form.kind {
            FormKind::Server => {
                let options = crate::engine::ServerOptions {
                    chat: self.form.chat,
                };
                let id = self.engine.listen(&addr, options);
                (id, Kind::Server { chat: options.chat })
            }
            FormKind::Client => (
                self.engine
                    .connect(&addr, crate::engine::DEFAULT_CONNECT_TIMEOUT),
                Kind::Client,
            ),
        };
        self.sessions.push(Session::new(id, kind, addr));
        self.selected = Some(id);
    }

    pub(super) fn remove_session(&mut self, id: SessionId) {
        self.engine.execute(Command::Remove { session: id });
        self.sessions.retain(|s| s.id != id);
        if self.selected == Some(id) {
            self.selected = self.sessions.last().map(|s| s.id);
        }
    }

    /// Read-only view of the sessions, for tests and the benchmark.
    pub fn sessions(&self) -> &[Session] {
        &self.sessions
    }
}

impl eframe::App for SocklabApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.drain_events(ui.ctx());
        egui::Panel::left("sessions")
            .resizable(true)
            .default_size(290.0)
            .min_size(220.0)
            .show(ui, |ui| sessions_panel::sessions_panel_ui(ui, self));
        egui::CentralPanel::default().show(ui, |ui| {
            let selected = self.selected;
            match selected.and_then(|id| self.sessions.iter_mut().find(|s| s.id == id)) {
                Some(session) => {
                    if let Some(action) = session_view::session_view_ui(ui, session, &self.engine) {
                        match action {
                            session_view::Action::Remove(id) => self.remove_session(id),
                        }
                    }
                }
                None => welcome_ui(ui),
            }
        });
        if self.sessions.iter().any(|s| s.state.is_active()) {
            // Uptime ticks once a second.
            ui.ctx().request_repaint_after(Duration::from_secs(1));
        }
    }
}

fn welcome_ui(ui: &mut egui::Ui) {
    ui.vertical_centered(|ui| {
        ui.add_space(ui.available_height() / 3.0);
        ui.heading("No socket yet");
        ui.label("Start a TCP server or connect a TCP client with the form on the left.");
        ui.label(
            "Each socket you create appears in the list; pick one to see its log and send data.",
        );
    });
}

impl State {
    /// The dot colour in the list and the status line.
    pub fn colour(&self, visuals: &egui::Visuals) -> egui::Color32 {
        match self {
            State::Listening | State::Connected => egui::Color32::from_rgb(0x2e, 0xb8, 0x5c),
            State::Starting | State::Connecting => egui::Color32::from_rgb(0xe0, 0xa8, 0x00),
            State::Stopped => visuals.weak_text_color(),
            State::Failed(_) => visuals.error_fg_color,
        }
    }
}
