//! Native file dialogs (rfd) on their own thread: a dialog blocks the thread that opens it,
//! and the UI thread must never block. The chosen path comes back over a channel.

use std::path::PathBuf;

use crossbeam_channel::{Receiver, Sender};
use eframe::egui;

use super::tls_panel::TlsFile;
use crate::engine::SessionId;

/// What a chosen path is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    SendFile,
    SaveLog,
    Capture,
    ImportRules,
    ExportRules,
    /// The Scenarios page's file (its session is [`SessionId::ENGINE`]: no socket's).
    OpenScenario,
    /// A session's log written as a scenario that replays it.
    SaveScenario,
    /// A TLS file field of the new-socket form (session `ENGINE`) or of a stopped socket.
    TlsFile(TlsFile),
}

/// What a dialog gave back: a path, or nothing (cancelled, or no dialog could be shown).
pub struct Chosen {
    pub session: SessionId,
    pub purpose: Purpose,
    pub path: Option<PathBuf>,
    /// True when "nothing" came back too fast for a person to have cancelled a dialog.
    pub no_dialog: bool,
}

/// Faster than anyone closes a dialog: none was shown.
const NO_DIALOG_WITHIN: std::time::Duration = std::time::Duration::from_millis(300);

pub struct Dialogs {
    tx: Sender<Chosen>,
    rx: Receiver<Chosen>,
    /// One dialog at a time; a second click while one is open does nothing.
    open: Option<Purpose>,
    closed_tx: Sender<()>,
    closed_rx: Receiver<()>,
}

impl Default for Dialogs {
    fn default() -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        let (closed_tx, closed_rx) = crossbeam_channel::unbounded();
        Dialogs {
            tx,
            rx,
            open: None,
            closed_tx,
            closed_rx,
        }
    }
}

impl Dialogs {
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    pub fn open(&mut self, ctx: &egui::Context, session: SessionId, purpose: Purpose) {
        if self.open.is_some() {
            return;
        }
        self.open = Some(purpose);
        let (tx, closed, ctx) = (self.tx.clone(), self.closed_tx.clone(), ctx.clone());
        let spawned = std::thread::Builder::new()
            .name("socklab-dialog".into())
            .spawn(move || {
                let opened = std::time::Instant::now();
                let dialog = rfd::FileDialog::new();
                let path = match purpose {
                    Purpose::SendFile => dialog.set_title("Send a file").pick_file(),
                    Purpose::SaveLog => dialog
                        .set_title("Save the log")
                        .add_filter("Text", &["txt", "log"])
                        .add_filter("CSV", &["csv"])
                        .set_file_name("socklab-log.txt")
                        .save_file(),
                    Purpose::Capture => dialog
                        .set_title("Capture received bytes to")
                        .set_file_name("capture.bin")
                        .save_file(),
                    Purpose::ImportRules => dialog
                        .set_title("Import rules")
                        .add_filter("Rules", &["toml"])
                        .pick_file(),
                    Purpose::ExportRules => dialog
                        .set_title("Export rules")
                        .add_filter("Rules", &["toml"])
                        .set_file_name("rules.toml")
                        .save_file(),
                    Purpose::OpenScenario => dialog
                        .set_title("Open a scenario")
                        .add_filter("Scenario", &["toml"])
                        .pick_file(),
                    Purpose::SaveScenario => dialog
                        .set_title("Save as scenario")
                        .add_filter("Scenario", &["toml"])
                        .set_file_name("scenario.toml")
                        .save_file(),
                    Purpose::TlsFile(file) => dialog
                        .set_title(file.title())
                        .add_filter("PEM", &["pem", "crt", "cer", "key"])
                        .add_filter("Any file", &["*"])
                        .pick_file(),
                };
                let no_dialog = path.is_none() && opened.elapsed() < NO_DIALOG_WITHIN;
                let _ = tx.send(Chosen {
                    session,
                    purpose,
                    path,
                    no_dialog,
                });
                let _ = closed.send(());
                ctx.request_repaint();
            });
        if spawned.is_err() {
            self.open = None;
        }
    }

    /// Dialog results since the last frame.
    pub fn poll(&mut self) -> Vec<Chosen> {
        if self.closed_rx.try_recv().is_ok() {
            self.open = None;
        }
        self.rx.try_iter().collect()
    }
}
