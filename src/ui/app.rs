//! The eframe app: drains engine events within a time budget, then draws the panels.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use eframe::egui;

use super::dialogs::{Dialogs, Purpose};
use super::log_export::{self, ExportFormat};
use super::persist::{STORAGE_KEY, Saved, SavedSocket};
use super::session::{Kind, Session, State};
use super::{session_view, sessions_panel};
use crate::engine::{Command, Engine, Event, EventKind, ServerOptions, SessionId};

/// Time per frame spent applying events; the rest is for drawing.
const EVENT_BUDGET: Duration = Duration::from_millis(6);

/// What the panels share besides the session they draw.
pub struct Shared {
    pub engine: Engine,
    pub saved: Saved,
    pub dialogs: Dialogs,
    /// The preset name field in the composer.
    pub preset_name: String,
}

pub struct SocklabApp {
    pub(super) shared: Shared,
    pub(super) sessions: Vec<Session>,
    pub(super) selected: Option<SessionId>,
    pub(super) form: NewSocketForm,
    /// Why the engine stopped for good, shown above everything once it happens.
    pub(super) engine_failure: Option<String>,
    /// Results of background work (saving a log) to show in a session's log.
    notices_tx: Sender<(SessionId, String)>,
    notices_rx: Receiver<(SessionId, String)>,
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
    /// The app as eframe creates it: restores what the last run saved.
    pub fn from_creation(cc: &eframe::CreationContext) -> std::io::Result<Self> {
        let saved = cc
            .storage
            .and_then(|storage| eframe::get_value::<Saved>(storage, STORAGE_KEY))
            .unwrap_or_default();
        Self::new(&cc.egui_ctx, saved)
    }

    /// Starts the engine (it wakes the window whenever events arrive) and restores `saved`:
    /// its sockets come back stopped, to be started with one click.
    pub fn new(ctx: &egui::Context, saved: Saved) -> std::io::Result<Self> {
        let repaint = ctx.clone();
        let engine = Engine::spawn(move || repaint.request_repaint())?;
        let sessions = saved
            .sockets
            .iter()
            .map(|socket| {
                let kind = if socket.server {
                    Kind::Server { chat: socket.chat }
                } else {
                    Kind::Client
                };
                let mut session =
                    Session::restored(engine.new_session_id(), kind, socket.addr.clone());
                session.encoding = socket.encoding;
                session
            })
            .collect::<Vec<_>>();
        let (notices_tx, notices_rx) = crossbeam_channel::unbounded();
        Ok(SocklabApp {
            selected: sessions.first().map(|s| s.id),
            sessions,
            form: NewSocketForm {
                kind: FormKind::Server,
                addr: saved.options.form_addr.clone(),
                chat: false,
                error: None,
            },
            shared: Shared {
                engine,
                saved,
                dialogs: Dialogs::default(),
                preset_name: String::new(),
            },
            engine_failure: None,
            notices_tx,
            notices_rx,
        })
    }

    /// Read-only view of the sessions, for tests and the benchmark.
    pub fn sessions(&self) -> &[Session] {
        &self.sessions
    }

    /// What would be stored now.
    pub fn snapshot(&self) -> Saved {
        let mut saved = self.shared.saved.clone();
        saved.sockets = self
            .sessions
            .iter()
            .map(|s| SavedSocket {
                server: s.is_server(),
                chat: matches!(s.kind, Kind::Server { chat: true }),
                addr: s.addr.clone(),
                encoding: s.encoding,
            })
            .collect();
        saved.options.form_addr = self.form.addr.clone();
        saved
    }

    pub(super) fn session_mut(&mut self, id: SessionId) -> Option<&mut Session> {
        self.sessions.iter_mut().find(|s| s.id == id)
    }

    /// Applies waiting events for at most [`EVENT_BUDGET`]; asks for another frame if more wait.
    fn drain_events(&mut self, ctx: &egui::Context) {
        let started = Instant::now();
        while let Ok(event) = self.shared.engine.events().try_recv() {
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
        if let EventKind::EngineFailed { error } = &kind {
            self.engine_failure = Some(error.clone());
            for target in &mut self.sessions {
                target.apply(
                    time,
                    EventKind::EngineFailed {
                        error: error.clone(),
                    },
                );
            }
            return;
        }
        if let Some(error) = first_failure {
            // Never worked: show the error where the user typed the address, keep no dead socket.
            self.remove_session(session);
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
        let engine = &self.shared.engine;
        let (id, kind) = match self.form.kind {
            FormKind::Server => {
                let options = ServerOptions {
                    chat: self.form.chat,
                };
                (
                    engine.listen(&addr, options),
                    Kind::Server { chat: options.chat },
                )
            }
            FormKind::Client => (
                engine.connect(&addr, crate::engine::DEFAULT_CONNECT_TIMEOUT),
                Kind::Client,
            ),
        };
        self.sessions.push(Session::new(id, kind, addr));
        self.selected = Some(id);
    }

    pub(super) fn remove_session(&mut self, id: SessionId) {
        self.shared.engine.execute(Command::Remove { session: id });
        self.sessions.retain(|s| s.id != id);
        if self.selected == Some(id) {
            self.selected = self.sessions.last().map(|s| s.id);
        }
    }

    /// Streams the file at `path` to the session's current target (after the file dialog).
    pub fn send_file(&mut self, session: SessionId, path: PathBuf) {
        let Some(s) = self.sessions.iter().find(|s| s.id == session) else {
            return;
        };
        match s.send_target() {
            Some(target) => {
                let transfer = self.shared.engine.new_transfer_id();
                self.shared.engine.execute(Command::SendFile {
                    session,
                    target,
                    path,
                    transfer,
                });
            }
            None => {
                let reason = s.cannot_send_reason().unwrap_or("nowhere to send");
                let text = format!("file not sent: {reason}");
                self.notices_tx.send((session, text)).ok();
            }
        }
    }

    /// Writes the session's log to `path` on a background thread (after the save dialog).
    pub fn save_log(&mut self, session: SessionId, path: PathBuf) {
        let Some(s) = self.sessions.iter().find(|s| s.id == session) else {
            return;
        };
        let rows = s.log.snapshot();
        let encoding = s.encoding;
        let notices = self.notices_tx.clone();
        let _ = std::thread::Builder::new()
            .name("socklab-save-log".into())
            .spawn(move || {
                let format = ExportFormat::for_path(&path);
                let result = std::fs::File::create(&path).and_then(|file| {
                    let mut out = std::io::BufWriter::new(file);
                    log_export::write_log(rows.iter(), &mut out, format, encoding)
                });
                let text = match result {
                    Ok(()) => format!("log saved to {} ({} rows)", path.display(), rows.len()),
                    Err(e) => format!("cannot save the log to {}: {e}", path.display()),
                };
                let _ = notices.send((session, text));
            });
    }

    /// Captures every received byte of the session to `path` (after the capture dialog).
    pub fn capture_to(&mut self, session: SessionId, path: PathBuf) {
        // The socket may have been removed while the dialog was open.
        if !self.sessions.iter().any(|s| s.id == session) {
            return;
        }
        self.shared.engine.execute(Command::Capture {
            session,
            path: Some(path),
        });
    }

    fn handle_background(&mut self) {
        for chosen in self.shared.dialogs.poll() {
            let Some(path) = chosen.path else {
                if chosen.no_dialog {
                    let text = "No file dialog appeared: this desktop offers no file chooser \
                                (install xdg-desktop-portal or zenity)";
                    let _ = self.notices_tx.send((chosen.session, text.to_string()));
                }
                continue;
            };
            match chosen.purpose {
                Purpose::SendFile => self.send_file(chosen.session, path),
                Purpose::SaveLog => self.save_log(chosen.session, path),
                Purpose::Capture => self.capture_to(chosen.session, path),
            }
        }
        while let Ok((session, text)) = self.notices_rx.try_recv() {
            if let Some(s) = self.session_mut(session) {
                s.log.system(chrono::Local::now(), None, text);
            }
        }
    }
}

impl SocklabApp {
    /// One frame of the whole window: apply events, then draw. eframe calls it through
    /// [`eframe::App::ui`]; the benchmark calls it on a headless context.
    pub fn window_ui(&mut self, ui: &mut egui::Ui) {
        self.drain_events(ui.ctx());
        self.handle_background();
        let now = Instant::now();
        for session in &mut self.sessions {
            let totals = session.totals();
            session.rates.sample(now, totals);
        }
        if let Some(error) = &self.engine_failure {
            egui::Panel::top("engine_failure").show(ui, |ui| {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    format!(
                        "The network engine stopped: {error}. No socket works any more; \
                         restart socklab (your sockets, history and presets are saved)."
                    ),
                );
            });
        }
        egui::Panel::left("sessions")
            .resizable(true)
            .default_size(290.0)
            .min_size(220.0)
            .show(ui, |ui| sessions_panel::sessions_panel_ui(ui, self));
        egui::CentralPanel::default().show(ui, |ui| {
            let selected = self.selected;
            match selected.and_then(|id| self.sessions.iter_mut().find(|s| s.id == id)) {
                Some(session) => {
                    if let Some(action) =
                        session_view::session_view_ui(ui, session, &mut self.shared)
                    {
                        match action {
                            session_view::Action::Remove(id) => self.remove_session(id),
                        }
                    }
                }
                None => welcome_ui(ui),
            }
        });
        if self.sessions.iter().any(|s| s.state.is_active()) {
            // Uptime and rates tick once a second.
            ui.ctx().request_repaint_after(Duration::from_secs(1));
        }
    }

    /// Starts a socket as the new-socket form would (used by the benchmark).
    pub fn start(&mut self, kind: FormKind, addr: &str, chat: bool) {
        self.form.kind = kind;
        self.form.addr = addr.to_string();
        self.form.chat = chat;
        self.start_from_form();
    }

    /// Adds a session the engine knows nothing of, e.g. to fill a log in a benchmark.
    pub fn insert_session(&mut self, session: Session) {
        self.selected = Some(session.id);
        self.sessions.push(session);
    }

    pub fn sessions_mut(&mut self) -> &mut [Session] {
        &mut self.sessions
    }
}

impl eframe::App for SocklabApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.window_ui(ui);
    }

    /// The saved state is a few KiB; saving often loses little if the process is killed.
    fn auto_save_interval(&self) -> Duration {
        Duration::from_secs(5)
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STORAGE_KEY, &self.snapshot());
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
