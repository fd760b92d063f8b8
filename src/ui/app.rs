//! The eframe app: each frame it applies engine events (within a time budget), draws the
//! panels, and applies the actions they pushed, in one place: every engine command the
//! window sends, and the change to sessions or saved settings that goes with it, is here.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use eframe::egui;

use super::action::{Action, Pane, UdpSetup};
use super::composer::ComposerPanel;
use super::dialogs::{Chosen, Dialogs, Purpose};
use super::scenarios_panel::scenarios_page_ui;
use super::session_view::{self, ViewContext};
use super::sessions_panel::{self, FormKind, NewSocketForm};
use super::socket_options_form::TcpSettingsForm;
use super::theme;
use super::udp_panel::Interfaces;
use crate::engine::Target;
use crate::engine::responder::{ResponderSpec, RulesFile, parse_rules_file, write_rules_file};
use crate::engine::{CloseHow, Command, Engine, Event, EventKind, SessionId};
use crate::model::export::{self, ExportFormat};
use crate::model::log::Direction;
use crate::model::persist::{STORAGE_KEY, Saved};
use crate::model::scenario::ScenarioPage;
use crate::model::session::{Kind, Session, State};
use crate::model::settings_file::{LoadOutcome, Saver};
use crate::model::udp::parse_pacing;
use crate::scenario::file::write_scenario;
use crate::scenario::record::{RecordedRow, RecordedSocket, scenario_from_rows};
use crate::scenario::{Output, Progress, Protocol, Role};

/// What came of reading or writing a rules file on its background thread.
enum RulesFileDone {
    Imported(Result<RulesFile, String>),
    /// The notice to show in the responder page: `Ok` a success, `Err` a failure.
    Exported(Result<String, String>),
}

/// Time per frame spent applying events; the rest is for drawing.
const EVENT_BUDGET: Duration = Duration::from_millis(6);

pub struct SocklabApp {
    /// The window's context, for the file dialogs to wake it when they close.
    ctx: egui::Context,
    engine: Engine,
    /// What is remembered between runs; the socket list is filled in when saving.
    saved: Saved,
    dialogs: Dialogs,
    sessions: Vec<Session>,
    selected: Option<SessionId>,
    /// The Scenarios page, and whether the main area shows it instead of a session.
    scenarios: ScenarioPage,
    scenarios_shown: bool,
    form: NewSocketForm,
    composer: ComposerPanel,
    /// This machine's interfaces for UDP's multicast choices, listed once and on asking.
    interfaces: Interfaces,
    /// Stopped TCP sockets' own settings as being edited in their views.
    tcp_forms: HashMap<SessionId, TcpSettingsForm>,
    /// Why the engine stopped for good, shown above everything once it happens.
    engine_failure: Option<String>,
    /// Results of background work (saving a log) to show in a session's log.
    notices_tx: Sender<(SessionId, String)>,
    notices_rx: Receiver<(SessionId, String)>,
    /// Rules files read or written in the background, and what came of it.
    rules_files_tx: Sender<(SessionId, RulesFileDone)>,
    rules_files_rx: Receiver<(SessionId, RulesFileDone)>,
    /// Writes the settings file; none in tests, or while an unreadable file must be kept.
    settings_saver: Option<Saver>,
    /// The settings file has been written this run, so eframe's old copy can go.
    settings_written: bool,
    /// The last failure to save the settings, so a failing disk is reported once.
    settings_save_failure: Option<String>,
    /// What the user should know about the settings file, shown at the top until dismissed.
    settings_notices: Vec<String>,
}

impl SocklabApp {
    /// The app as [`super::run`] opens it: starts from what reading the settings file found
    /// (`loaded`), tells the user when it could not be read, and saves to `settings_file`
    /// (none: no folder for it) unless an unreadable file there must be kept.
    pub fn with_settings(
        ctx: &egui::Context,
        loaded: LoadOutcome,
        settings_file: Option<PathBuf>,
    ) -> std::io::Result<Self> {
        let mut app = Self::new(ctx, loaded.saved())?;
        app.settings_notices.extend(loaded.notice());
        match settings_file {
            Some(path) if loaded.may_save() => match Saver::spawn(path) {
                Ok(saver) => app.settings_saver = Some(saver),
                Err(e) => app.settings_notices.push(format!(
                    "socklab cannot save its settings (no thread for it: {e}); \
                     changes made now will not be remembered."
                )),
            },
            Some(_) => {}
            None => app.settings_notices.push(
                "socklab found no folder for its settings (no home folder), so changes made \
                 now will not be remembered."
                    .into(),
            ),
        }
        Ok(app)
    }

    /// Starts the engine (it wakes the window whenever events arrive) and restores `saved`:
    /// its sockets come back stopped, to be started with one click. Saves nothing to disk.
    pub fn new(ctx: &egui::Context, saved: Saved) -> std::io::Result<Self> {
        let repaint = ctx.clone();
        let engine = Engine::spawn(move || repaint.request_repaint())?;
        let sessions = saved
            .sockets
            .iter()
            .map(|socket| Session::from_saved(engine.new_session_id(), socket))
            .collect::<Vec<_>>();
        // The engine keeps each socket's framing and rules from now on, across stop and start.
        for session in &sessions {
            for command in session.setup_commands() {
                engine.execute(command);
            }
        }
        let (notices_tx, notices_rx) = crossbeam_channel::unbounded();
        let (rules_files_tx, rules_files_rx) = crossbeam_channel::unbounded();
        Ok(SocklabApp {
            ctx: ctx.clone(),
            selected: sessions.first().map(|s| s.id),
            sessions,
            scenarios: ScenarioPage::default(),
            scenarios_shown: false,
            form: NewSocketForm::new(saved.options.form_addr.clone()),
            composer: ComposerPanel::default(),
            interfaces: Interfaces::default(),
            tcp_forms: HashMap::new(),
            engine,
            saved,
            dialogs: Dialogs::default(),
            engine_failure: None,
            notices_tx,
            notices_rx,
            rules_files_tx,
            rules_files_rx,
            settings_saver: None,
            settings_written: false,
            settings_save_failure: None,
            settings_notices: Vec::new(),
        })
    }

    /// Read-only view of the sessions, for tests and the benchmark.
    pub fn sessions(&self) -> &[Session] {
        &self.sessions
    }

    /// What would be stored now.
    pub fn snapshot(&self) -> Saved {
        let mut saved = self.saved.clone();
        // A scenario's sockets belong to its file, not to the saved list.
        saved.sockets = self
            .sessions
            .iter()
            .filter(|s| s.scenario_socket.is_none())
            .map(Session::to_saved)
            .collect();
        saved.options.form_addr = self.form.addr.clone();
        saved
    }

    /// Starts a socket as the new-socket form would: a bad address is shown in the form.
    pub fn start(&mut self, kind: FormKind, addr: &str, chat: bool) {
        self.form.kind = kind;
        self.form.addr = addr.to_string();
        self.form.chat = chat;
        if let Some(action) = self.form.submit() {
            self.apply_action(action);
        }
    }

    /// Streams the file at `path` to the session's current target (after the file dialog).
    pub fn send_file(&mut self, session: SessionId, path: PathBuf) {
        self.apply_action(Action::SendFile { session, path });
    }

    /// Writes the session's log to `path` on a background thread (after the save dialog).
    pub fn save_log(&mut self, session: SessionId, path: PathBuf) {
        self.apply_action(Action::SaveLog { session, path });
    }

    /// Imports the rules file at `path` into the session (after the import dialog).
    pub fn import_rules_from(&mut self, session: SessionId, path: PathBuf) {
        self.apply_action(Action::ImportRules { session, path });
    }

    /// Exports the session's rules to `path` (after the export dialog).
    pub fn export_rules_to(&mut self, session: SessionId, path: PathBuf) {
        self.apply_action(Action::ExportRules { session, path });
    }

    /// Captures every received byte of the session to `path` (after the capture dialog).
    pub fn capture_to(&mut self, session: SessionId, path: PathBuf) {
        let path = Some(path);
        self.apply_action(Action::Capture { session, path });
    }

    fn session(&self, id: SessionId) -> Option<&Session> {
        self.sessions.iter().find(|s| s.id == id)
    }

    fn session_mut(&mut self, id: SessionId) -> Option<&mut Session> {
        self.sessions.iter_mut().find(|s| s.id == id)
    }

    /// Applies waiting events for at most [`EVENT_BUDGET`]; asks for another frame if more wait.
    fn drain_events(&mut self, ctx: &egui::Context) {
        let started = Instant::now();
        while let Ok(event) = self.engine.events().try_recv() {
            self.apply_event(event);
            if started.elapsed() > EVENT_BUDGET {
                ctx.request_repaint();
                return;
            }
        }
    }

    fn apply_event(&mut self, event: Event) {
        if let Some(run) = &mut self.scenarios.run
            && (run.owns(event.session) || event.session == SessionId::ENGINE)
        {
            let mut out = Output::default();
            run.on_event(&event, &mut out);
            self.carry_out_scenario(out);
        }
        let Event {
            time,
            session,
            kind,
        } = event;
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
        if let EventKind::ListenFailed { error }
        | EventKind::ConnectFailed { error }
        | EventKind::UdpFailed { error } = &kind
            && self
                .session(session)
                .is_some_and(|s| !s.ever_started && s.scenario_socket.is_none())
        {
            // Never worked: show the error where the user typed the address, keep no dead socket.
            self.form.error = Some(error.clone());
            self.remove_session(session);
            return;
        }
        if let Some(target) = self.session_mut(session) {
            target.apply(time, kind);
            for command in target.take_follow_ups() {
                self.engine.execute(command);
            }
        }
    }

    /// Does what the user asked for.
    fn apply_action(&mut self, action: Action) {
        match action {
            Action::Create {
                kind,
                addr,
                udp,
                tcp,
            } => {
                let id = self.engine.new_session_id();
                let mut session = match udp {
                    Some(UdpSetup { bind, options }) if kind.is_udp() => {
                        Session::new_udp(id, kind, addr, bind, options)
                    }
                    _ => Session::new(id, kind, addr),
                };
                if let Some(tcp) = tcp {
                    session.set_tcp_settings(tcp.socket, tcp.tls, tcp.connect_timeout);
                }
                for command in session.setup_commands() {
                    self.engine.execute(command);
                }
                self.sessions.push(session);
                self.selected = Some(id);
                self.start_session(id);
            }
            Action::Start(id) => self.start_session(id),
            Action::SetTlsPath {
                session,
                file,
                path,
            } => {
                if session == SessionId::ENGINE {
                    self.form.tls.set_path(file, &path);
                } else if let Some(s) = self.sessions.iter().find(|s| s.id == session) {
                    self.tcp_forms
                        .entry(session)
                        .or_insert_with(|| TcpSettingsForm::of(s))
                        .tls
                        .set_path(file, &path);
                }
            }
            Action::SetTcpSettings { session, setup } => {
                if let Some(s) = self.session_mut(session) {
                    s.set_tcp_settings(setup.socket, setup.tls, setup.connect_timeout);
                }
                self.tcp_forms.remove(&session);
            }
            Action::Stop(session) => self.engine.execute(Command::Stop { session }),
            Action::Remove(id) => self.remove_session(id),
            Action::Select(id) => {
                self.selected = Some(id);
                self.scenarios_shown = false;
            }
            Action::ShowScenarios => self.scenarios_shown = true,
            Action::OpenScenarioDialog => {
                self.dialogs
                    .open(&self.ctx, SessionId::ENGINE, Purpose::OpenScenario)
            }
            Action::OpenScenario(path) => {
                if !self.scenarios.is_running() {
                    self.scenarios.open(&path);
                }
                self.scenarios_shown = true;
            }
            Action::RunScenario => self.run_scenario(),
            Action::StopScenario => {
                if let Some(run) = &mut self.scenarios.run {
                    let mut out = Output::default();
                    run.stop(chrono::Local::now(), &mut out);
                    self.carry_out_scenario(out);
                }
            }
            Action::SaveScenario { session, path } => self.save_scenario_now(session, path),
            Action::Send(id) => {
                if let Some(s) = self.sessions.iter().find(|s| s.id == id)
                    && let (Ok(data), Some(target)) = (s.payload(), s.send_target())
                {
                    self.engine.execute(Command::Send {
                        session: id,
                        target,
                        data,
                    });
                    self.saved.remember(s.draft());
                }
            }
            Action::SendTo { session, target } => {
                if let Some(s) = self.session(session)
                    && let Ok(data) = s.payload()
                {
                    self.engine.execute(Command::Send {
                        session,
                        target,
                        data,
                    });
                    self.saved.remember(s.draft());
                }
            }
            Action::SetUdpOptions { session, options } => {
                if let Some(s) = self.session_mut(session)
                    && let Some(udp) = &mut s.udp
                {
                    udp.options = options.clone();
                    // A closed socket takes them when it opens.
                    if s.state == State::Open {
                        self.engine
                            .execute(Command::SetUdpOptions { session, options });
                    }
                }
            }
            Action::JoinGroup {
                session,
                membership,
            } => {
                if let Some(s) = self.session_mut(session)
                    && let Some(udp) = &mut s.udp
                {
                    if s.state == State::Open {
                        // Listed once the engine says it joined.
                        self.engine.execute(Command::JoinGroup {
                            session,
                            membership,
                        });
                    } else {
                        udp.remember(membership, false);
                    }
                }
            }
            Action::LeaveGroup {
                session,
                membership,
            } => {
                if let Some(s) = self.session_mut(session)
                    && let Some(udp) = &mut s.udp
                {
                    let joined = udp
                        .memberships
                        .iter()
                        .any(|row| row.joined && row.membership == membership);
                    if joined && s.state == State::Open {
                        // Gone from the list once the engine says it left.
                        self.engine.execute(Command::LeaveGroup {
                            session,
                            membership,
                        });
                    } else {
                        udp.forget(&membership);
                    }
                }
            }
            Action::Repeat {
                session,
                interval,
                count,
            } => {
                if let Some(s) = self.sessions.iter().find(|s| s.id == session)
                    && let (Ok(data), Some(target)) = (s.payload(), s.send_target())
                {
                    self.engine.execute(Command::Repeat {
                        session,
                        target,
                        data,
                        interval,
                        count,
                    });
                    self.saved.remember(s.draft());
                }
            }
            Action::StopRepeat(session) => self.engine.execute(Command::StopRepeat { session }),
            Action::SendFile { session, path } => self.send_file_now(session, path),
            Action::CancelTransfer { session, transfer } => self
                .engine
                .execute(Command::CancelTransfer { session, transfer }),
            Action::Kick { session, conn } => {
                if let Some(s) = self.sessions.iter_mut().find(|s| s.id == session) {
                    self.engine.execute(Command::Close {
                        session,
                        conn,
                        how: CloseHow::Graceful,
                    });
                    s.mark_closing(conn);
                }
            }
            Action::ShutDownSending { session, conn } => {
                let target = conn.map_or(Target::All, Target::One);
                self.engine
                    .execute(Command::FinishSending { session, target });
            }
            Action::Capture { session, path } => {
                // The socket may have been removed while the dialog was open.
                if self.session(session).is_some() {
                    self.engine.execute(Command::Capture { session, path });
                }
            }
            Action::SaveLog { session, path } => self.save_log_now(session, path),
            Action::OpenDialog { session, purpose } => {
                self.dialogs.open(&self.ctx, session, purpose)
            }
            Action::ResetCounters(id) => {
                if let Some(s) = self.session_mut(id) {
                    s.reset_counters();
                }
            }
            Action::ClearLog(id) => {
                if let Some(s) = self.session_mut(id) {
                    s.log.clear();
                }
            }
            Action::SetDisplay(mode) => self.saved.options.display = mode,
            Action::ResizePane { pane, height } => {
                let options = &mut self.saved.options;
                *match pane {
                    Pane::Clients => &mut options.clients_pane_height,
                    Pane::Chart => &mut options.chart_pane_height,
                    Pane::Composer => &mut options.composer_pane_height,
                } = height;
            }
            Action::ShowChart(shown) => self.saved.options.show_chart = shown,
            Action::SavePreset { session, name } => {
                if let Some(s) = self.sessions.iter().find(|s| s.id == session) {
                    self.saved.save_preset(&name, s.draft());
                }
            }
            Action::DeletePreset { name } => self.saved.presets.retain(|p| p.name != name),
            Action::ApplyFraming(session) => {
                if let Some(s) = self.session_mut(session)
                    && let Ok(framing) = s.framing.apply()
                {
                    self.engine
                        .execute(Command::SetFraming { session, framing });
                }
            }
            Action::ApplyRules(session) => self.apply_rules(session),
            Action::SetRespond { session, on } => {
                if let Some(s) = self.session_mut(session) {
                    s.rules.respond = on;
                    self.apply_rules(session);
                }
            }
            Action::EchoServer(session) => {
                if let Some(s) = self.session_mut(session) {
                    let encoding = s.rules.spec.encoding;
                    s.rules.spec = ResponderSpec {
                        encoding,
                        ..ResponderSpec::echo()
                    };
                    s.rules.respond = true;
                    self.apply_rules(session);
                }
            }
            Action::ImportRules { session, path } => self.import_rules(session, path),
            Action::ExportRules { session, path } => self.export_rules(session, path),
        }
    }

    /// Sends the session's edited rules, if they all compile (else their errors show).
    fn apply_rules(&mut self, session: SessionId) {
        if let Some(s) = self.session_mut(session)
            && let Some(responder) = s.rules.apply()
        {
            self.engine
                .execute(Command::SetResponder { session, responder });
        }
    }

    /// Reads and parses a rules file on a background thread; the result comes back to
    /// `handle_background`.
    fn import_rules(&mut self, session: SessionId, path: PathBuf) {
        let done = self.rules_files_tx.clone();
        let ctx = self.ctx.clone();
        let _ = std::thread::Builder::new()
            .name("socklab-rules-file".into())
            .spawn(move || {
                let result = std::fs::read_to_string(&path)
                    .map_err(|e| crate::engine::describe_file_error(&e))
                    .and_then(|text| parse_rules_file(&text))
                    .map_err(|e| format!("Cannot import {}: {e}", path.display()));
                let _ = done.send((session, RulesFileDone::Imported(result)));
                ctx.request_repaint();
            });
    }

    /// Writes the session's rules (and its framing, unless raw) on a background thread.
    fn export_rules(&mut self, session: SessionId, path: PathBuf) {
        let Some(s) = self.session(session) else {
            return;
        };
        let framing = &s.framing.applied;
        let file = RulesFile {
            responder: s.rules.spec.clone(),
            // Always written, raw too, so importing it elsewhere frames the same way.
            framing: Some(framing.clone()),
        };
        let text = write_rules_file(&file);
        let done = self.rules_files_tx.clone();
        let ctx = self.ctx.clone();
        let _ = std::thread::Builder::new()
            .name("socklab-rules-file".into())
            .spawn(move || {
                let result = match std::fs::write(&path, text) {
                    Ok(()) => Ok(format!("Rules exported to {}", path.display())),
                    Err(e) => Err(format!(
                        "Cannot export the rules to {}: {}",
                        path.display(),
                        crate::engine::describe_file_error(&e)
                    )),
                };
                let _ = done.send((session, RulesFileDone::Exported(result)));
                ctx.request_repaint();
            });
    }

    /// An imported file's rules (and framing) replace the session's and are applied; an
    /// export's outcome is shown in the responder page.
    fn rules_file_done(&mut self, session: SessionId, done: RulesFileDone) {
        let Some(s) = self.session_mut(session) else {
            return;
        };
        match done {
            RulesFileDone::Imported(Ok(file)) => {
                let count = file.responder.rules.len();
                s.rules.spec = file.responder;
                s.rules.notice = Some(Ok(match count {
                    1 => "Imported 1 rule".to_string(),
                    n => format!("Imported {n} rules"),
                }));
                if let Some(framing) = file.framing {
                    s.framing.draft = crate::model::responder::FramingDraft::of(&framing);
                    if let Ok(framing) = s.framing.apply() {
                        self.engine
                            .execute(Command::SetFraming { session, framing });
                    }
                }
                self.apply_rules(session);
            }
            RulesFileDone::Imported(Err(error)) | RulesFileDone::Exported(Err(error)) => {
                s.rules.notice = Some(Err(error));
            }
            RulesFileDone::Exported(Ok(text)) => s.rules.notice = Some(Ok(text)),
        }
    }

    /// The one place a session starts listening or connecting: new from the form, "Start
    /// again" and "Reconnect".
    fn start_session(&mut self, id: SessionId) {
        let Some(session) = self.sessions.iter_mut().find(|s| s.id == id) else {
            return;
        };
        // Settings being edited in the socket's view are what Start again means to use.
        if let Some(form) = self.tcp_forms.get_mut(&id) {
            let Some(setup) = form.submit(session.is_server()) else {
                session.log.system(
                    chrono::Local::now(),
                    None,
                    "not started: correct the socket options shown in red first".into(),
                );
                return;
            };
            session.set_tcp_settings(setup.socket, setup.tls, setup.connect_timeout);
            self.tcp_forms.remove(&id);
        }
        self.engine.execute(session.start());
    }

    fn remove_session(&mut self, id: SessionId) {
        self.engine.execute(Command::Remove { session: id });
        self.sessions.retain(|s| s.id != id);
        self.tcp_forms.remove(&id);
        if self.selected == Some(id) {
            self.selected = self.sessions.last().map(|s| s.id);
        }
    }

    fn send_file_now(&mut self, session: SessionId, path: PathBuf) {
        let Some(s) = self.session(session) else {
            return;
        };
        let pacing = if s.kind.is_udp() {
            parse_pacing(&s.composer.datagram_size, &s.composer.datagrams_per_second).map(Some)
        } else {
            Ok(None)
        };
        match (s.send_target(), pacing) {
            (Some(target), Ok(pacing)) => {
                let transfer = self.engine.new_transfer_id();
                self.engine.execute(Command::SendFile {
                    session,
                    target,
                    path,
                    transfer,
                    pacing,
                });
            }
            (target, pacing) => {
                let reason = match (target, pacing) {
                    (_, Err(error)) => error,
                    _ => s
                        .cannot_send_reason()
                        .unwrap_or_else(|| "nowhere to send".into()),
                };
                let text = format!("file not sent: {reason}");
                self.notices_tx.send((session, text)).ok();
            }
        }
    }

    /// Writes a snapshot of the log on a background thread; the result comes back as a notice.
    fn save_log_now(&mut self, session: SessionId, path: PathBuf) {
        let Some(s) = self.session(session) else {
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
                    export::write_log(rows.iter(), &mut out, format, encoding)
                });
                let text = match result {
                    Ok(()) => format!("log saved to {} ({} rows)", path.display(), rows.len()),
                    Err(e) => format!(
                        "cannot save the log to {}: {}",
                        path.display(),
                        crate::engine::describe_file_error(&e)
                    ),
                };
                let _ = notices.send((session, text));
            });
    }

    /// Runs the Scenarios page's file afresh: the last run's sockets go, the new run's come.
    fn run_scenario(&mut self) {
        if self.scenarios.is_running() {
            return;
        }
        let last_run: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|s| s.scenario_socket.is_some())
            .map(|s| s.id)
            .collect();
        for id in last_run {
            self.remove_session(id);
        }
        let engine = &self.engine;
        let Some(run) = self.scenarios.prepare_run(&mut || engine.new_session_id()) else {
            return;
        };
        let mut out = Output::default();
        run.start(chrono::Local::now(), &mut out);
        self.carry_out_scenario(out);
    }

    /// Executes what the run asked for and ticks the page; a socket it opens joins the list.
    fn carry_out_scenario(&mut self, out: Output) {
        let now = chrono::Local::now();
        for progress in &out.progress {
            if let Progress::SocketOpening {
                socket,
                session,
                addr,
            } = progress
                && let Some(def) = self
                    .scenarios
                    .scenario
                    .as_ref()
                    .and_then(|s| s.sockets.get(*socket))
            {
                let kind = match (def.protocol, def.role) {
                    (Protocol::Tcp, Role::Listen) => Kind::Server { chat: false },
                    (Protocol::Tcp, Role::Connect) => Kind::Client,
                    (Protocol::Udp, Role::Listen) => Kind::Udp,
                    (Protocol::Udp, Role::Connect) => Kind::UdpClient,
                };
                let mut model = Session::new(*session, kind, addr.clone());
                model.scenario_socket = Some(def.name.clone());
                model.framing = crate::model::responder::FramingState::new(def.framing.clone());
                self.sessions.push(model);
            }
            self.scenarios.apply(progress, now);
        }
        for command in out.commands {
            self.engine.execute(command);
        }
    }

    /// Time limits and sleeps of a running scenario, and the next repaint it needs.
    fn advance_scenario(&mut self, ctx: &egui::Context) {
        let Some(run) = &mut self.scenarios.run else {
            return;
        };
        let mut out = Output::default();
        run.advance(chrono::Local::now(), &mut out);
        let next = run.next_deadline();
        self.carry_out_scenario(out);
        if let Some(next) = next {
            let wait = (next - chrono::Local::now()).to_std().unwrap_or_default();
            ctx.request_repaint_after(wait);
        }
    }

    /// Writes the session's log as a scenario on a background thread; a notice says how it went.
    fn save_scenario_now(&mut self, session: SessionId, path: PathBuf) {
        let Some(s) = self.session(session) else {
            return;
        };
        let rows: Vec<RecordedRow> = s
            .log
            .iter()
            .filter(|row| matches!(row.direction, Direction::Sent | Direction::Received))
            .map(|row| RecordedRow {
                time: row.time,
                sent: row.direction == Direction::Sent,
                data: row.data.to_vec(),
            })
            .collect();
        let (protocol, role) = match s.kind {
            Kind::Server { .. } => (Protocol::Tcp, Role::Listen),
            Kind::Client => (Protocol::Tcp, Role::Connect),
            Kind::Udp => (Protocol::Udp, Role::Listen),
            Kind::UdpClient => (Protocol::Udp, Role::Connect),
        };
        let socket = RecordedSocket {
            protocol,
            role,
            addr: match (s.kind, s.peer) {
                (Kind::Client | Kind::UdpClient, Some(peer)) => peer.to_string(),
                _ => s.addr.clone(),
            },
            framing: s.framing.applied.clone(),
        };
        let dropped = s.log.dropped();
        let name = path.file_stem().map_or("recorded".into(), |stem| {
            stem.to_string_lossy().into_owned()
        });
        let notices = self.notices_tx.clone();
        let _ = std::thread::Builder::new()
            .name("socklab-save-scenario".into())
            .spawn(move || {
                let text = match scenario_from_rows(&name, &socket, &rows) {
                    Err(reason) => format!("no scenario saved: {reason}"),
                    Ok(scenario) => match std::fs::write(&path, write_scenario(&scenario)) {
                        Ok(()) if dropped > 0 => format!(
                            "scenario saved to {} ({} steps); the log had dropped its {} \
                             oldest rows, so it replays only what was kept",
                            path.display(),
                            scenario.steps.len(),
                            dropped
                        ),
                        Ok(()) => format!(
                            "scenario saved to {} ({} steps)",
                            path.display(),
                            scenario.steps.len()
                        ),
                        Err(e) => format!(
                            "cannot save the scenario to {}: {}",
                            path.display(),
                            crate::engine::describe_file_error(&e)
                        ),
                    },
                };
                let _ = notices.send((session, text));
            });
    }

    /// Paths chosen in file dialogs become actions; background results become log rows.
    fn handle_background(&mut self) {
        for chosen in self.dialogs.poll() {
            if let Some(action) = self.dialog_action(chosen) {
                self.apply_action(action);
            }
        }
        while let Ok((session, done)) = self.rules_files_rx.try_recv() {
            self.rules_file_done(session, done);
        }
        while let Ok((session, text)) = self.notices_rx.try_recv() {
            if let Some(s) = self.session_mut(session) {
                s.log.system(chrono::Local::now(), None, text);
            }
        }
        self.check_settings_saved();
    }

    /// Hands the settings to the saving thread (it writes only what changed).
    fn save_settings(&mut self) {
        let snapshot = self.snapshot();
        if let Some(saver) = &mut self.settings_saver {
            saver.save(&snapshot);
        }
    }

    /// A failure to save is told once (again only if the reason changes); a success clears it.
    fn check_settings_saved(&mut self) {
        let Some(saver) = &mut self.settings_saver else {
            return;
        };
        for result in saver.results() {
            match result {
                Ok(()) => {
                    self.settings_written = true;
                    self.settings_save_failure = None;
                }
                Err(e) if self.settings_save_failure.as_ref() != Some(&e) => {
                    self.settings_notices.push(format!(
                        "socklab could not save its settings to {}: {e}. It tries again \
                         every few seconds; until then, changes are not saved.",
                        saver.path().display()
                    ));
                    self.settings_save_failure = Some(e);
                }
                Err(_) => {}
            }
        }
    }

    /// The settings notices, each with its own Dismiss button.
    fn settings_notices_ui(&mut self, ui: &mut egui::Ui) {
        if self.settings_notices.is_empty() {
            return;
        }
        let mut dismissed = None;
        egui::Panel::top("settings_notices").show(ui, |ui| {
            for (index, notice) in self.settings_notices.iter().enumerate() {
                ui.horizontal_wrapped(|ui| {
                    if ui
                        .button("Dismiss")
                        .on_hover_text("Hide this message")
                        .clicked()
                    {
                        dismissed = Some(index);
                    }
                    theme::warning_label_ui(ui, notice.as_str());
                });
            }
        });
        if let Some(index) = dismissed {
            self.settings_notices.remove(index);
            ui.ctx().request_repaint();
        }
    }

    fn dialog_action(&self, chosen: Chosen) -> Option<Action> {
        let Chosen {
            session,
            purpose,
            path,
            no_dialog,
        } = chosen;
        let Some(path) = path else {
            if no_dialog {
                let text = "No file dialog appeared: this desktop offers no file chooser \
                            (install xdg-desktop-portal or zenity)";
                let _ = self.notices_tx.send((session, text.to_string()));
            }
            return None;
        };
        Some(match purpose {
            Purpose::SendFile => Action::SendFile { session, path },
            Purpose::SaveLog => Action::SaveLog { session, path },
            Purpose::Capture => Action::Capture {
                session,
                path: Some(path),
            },
            Purpose::ImportRules => Action::ImportRules { session, path },
            Purpose::ExportRules => Action::ExportRules { session, path },
            Purpose::OpenScenario => Action::OpenScenario(path),
            Purpose::SaveScenario => Action::SaveScenario { session, path },
            Purpose::TlsFile(file) => Action::SetTlsPath {
                session,
                file,
                path,
            },
        })
    }

    /// One frame of the whole window: apply events, draw, then apply what the user asked
    /// for. eframe calls it through [`eframe::App::ui`]; the benchmark calls it on a
    /// headless context.
    pub fn window_ui(&mut self, ui: &mut egui::Ui) {
        self.drain_events(ui.ctx());
        self.advance_scenario(ui.ctx());
        self.handle_background();
        self.open_dropped_scenario(ui.ctx());
        let now = Instant::now();
        for session in &mut self.sessions {
            let totals = session.totals();
            session.rates.sample(now, totals);
        }
        self.settings_notices_ui(ui);
        if let Some(error) = &self.engine_failure {
            egui::Panel::top("engine_failure").show(ui, |ui| {
                theme::error_label_ui(
                    ui,
                    format!(
                        "The network engine stopped: {error}. No socket works any more; \
                         restart socklab (your sockets, history and presets are saved)."
                    ),
                );
            });
        }
        let mut actions = Vec::new();
        egui::Panel::left("sessions")
            .resizable(true)
            .default_size(290.0)
            .min_size(220.0)
            .show(ui, |ui| {
                sessions_panel::sessions_panel_ui(
                    ui,
                    &mut self.form,
                    &mut self.interfaces,
                    &self.sessions,
                    self.selected.filter(|_| !self.scenarios_shown),
                    sessions_panel::ScenariosEntry {
                        page: &self.scenarios,
                        shown: self.scenarios_shown,
                    },
                    &mut actions,
                )
            });
        egui::CentralPanel::default().show(ui, |ui| {
            if self.scenarios_shown {
                scenarios_page_ui(
                    ui,
                    &mut self.scenarios,
                    self.dialogs.is_open(),
                    &mut actions,
                );
                return;
            }
            let selected = self.selected;
            match selected.and_then(|id| self.sessions.iter_mut().find(|s| s.id == id)) {
                Some(session) => {
                    let cx = ViewContext {
                        saved: &self.saved,
                        dialog_open: self.dialogs.is_open(),
                        interfaces: &mut self.interfaces,
                        tcp_forms: &mut self.tcp_forms,
                        actions: &mut actions,
                    };
                    session_view::session_view_ui(ui, session, &mut self.composer, cx);
                }
                None => welcome_ui(ui),
            }
        });
        if !actions.is_empty() {
            for action in actions {
                self.apply_action(action);
            }
            // What the actions changed is drawn in the next frame.
            ui.ctx().request_repaint();
        }
        if self.sessions.iter().any(|s| s.state.is_active()) {
            // Uptime and rates tick once a second.
            ui.ctx().request_repaint_after(Duration::from_secs(1));
        }
    }
}

impl SocklabApp {
    /// Shows the scenario at `path` in the Scenarios page, as choosing it in the file dialog
    /// (or `socklab FILE`) does.
    pub fn open_scenario(&mut self, path: PathBuf) {
        self.apply_action(Action::OpenScenario(path));
    }

    /// A scenario file dropped on the window opens in the Scenarios page.
    fn open_dropped_scenario(&mut self, ctx: &egui::Context) {
        let dropped = ctx.input(|input| {
            input
                .raw
                .dropped_files
                .iter()
                .map(|file| file.path().to_path_buf())
                .next()
        });
        if let Some(path) = dropped {
            self.apply_action(Action::OpenScenario(path));
        }
    }
}

/// Hooks for this crate's tests and benchmark only.
#[cfg(feature = "testing")]
impl SocklabApp {
    /// Adds a session the engine knows nothing of, e.g. to fill a log in a benchmark.
    pub fn insert_session(&mut self, session: Session) {
        self.selected = Some(session.id);
        self.sessions.push(session);
    }

    /// Saves a session's log as a scenario as the file dialog would.
    pub fn save_scenario(&mut self, session: SessionId, path: PathBuf) {
        self.apply_action(Action::SaveScenario { session, path });
    }

    pub fn scenario_page(&self) -> &ScenarioPage {
        &self.scenarios
    }

    pub fn sessions_mut(&mut self) -> &mut [Session] {
        &mut self.sessions
    }

    /// The engine, e.g. to make it fail with `inject_failure`.
    pub fn engine_for_test(&self) -> &Engine {
        &self.engine
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

    /// Called on eframe's autosave interval and at exit: socklab's settings go to its own
    /// file; eframe's storage keeps the window's geometry only.
    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.save_settings();
        self.check_settings_saved();
        // Settings an earlier socklab kept in eframe's file, once they are safe in ours.
        if self.settings_written && storage.get_string(STORAGE_KEY).is_some() {
            storage.remove_string(STORAGE_KEY);
        }
    }

    /// Waits for the last settings write (`save` has just been called).
    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.settings_saver = None;
    }
}

fn welcome_ui(ui: &mut egui::Ui) {
    ui.vertical_centered(|ui| {
        ui.add_space(ui.available_height() / 3.0);
        ui.heading("No socket yet");
        ui.label(
            "Start a TCP server, connect a TCP client, or open a UDP socket or client with the \
             form on the left.",
        );
        ui.label(
            "Each socket you create appears in the list; pick one to see its log and send data.",
        );
    });
}
