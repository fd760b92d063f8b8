//! TLS in the window: the form's section (client: server name, ALPN, verification, client
//! certificate; server: self-signed or PEM files, ALPN, client certificates) and the view of
//! a finished handshake (version, cipher suite, ALPN, the peer's certificate chain).

use std::path::{Path, PathBuf};

use chrono::Utc;
use eframe::egui;

use super::action::Action;
use super::combo::choice_combo;
use super::dialogs::Purpose;
use super::theme;
use crate::engine::SessionId;
use crate::engine::tls::{
    CertFiles, ClientCerts, ServerIdentity, TlsClientSetup, TlsInfo, TlsServerSetup, Verify,
    check_client_setup, check_server_setup,
};
use crate::model::session::days_left_text;
use crate::model::tls::TlsSide;

/// Labels (tests and screen readers find the fields by them).
pub const TLS_LABEL: &str = "TLS";
pub const SERVER_NAME_LABEL: &str = "Server name (SNI, empty = the host typed)";
pub const ALPN_LABEL: &str = "ALPN (comma-separated)";
pub const VERIFY_LABEL: &str = "Verify the server's certificate";
pub const CA_FILE_LABEL: &str = "CA file (PEM)";
pub const CLIENT_CHAIN_LABEL: &str = "Client certificate chain (PEM, empty = none)";
pub const CLIENT_KEY_LABEL: &str = "Client private key (PEM)";
pub const IDENTITY_LABEL: &str = "Server certificate";
pub const NAMES_LABEL: &str = "Names (comma-separated DNS names or IPs)";
pub const SERVER_CHAIN_LABEL: &str = "Certificate chain (PEM)";
pub const SERVER_KEY_LABEL: &str = "Private key (PEM)";
pub const CLIENT_CERTS_LABEL: &str = "Client certificates";
pub const CLIENT_CA_LABEL: &str = "Client CA file (PEM, empty = take any, unverified)";
pub const UNVERIFIED_WARNING: &str = "Certificate not verified";

/// A TLS file field, for the dialog that fills it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TlsFile {
    CaFile,
    ClientChain,
    ClientKey,
    ServerChain,
    ServerKey,
    ClientCa,
}

impl TlsFile {
    fn label(self) -> &'static str {
        match self {
            TlsFile::CaFile => CA_FILE_LABEL,
            TlsFile::ClientChain => CLIENT_CHAIN_LABEL,
            TlsFile::ClientKey => CLIENT_KEY_LABEL,
            TlsFile::ServerChain => SERVER_CHAIN_LABEL,
            TlsFile::ServerKey => SERVER_KEY_LABEL,
            TlsFile::ClientCa => CLIENT_CA_LABEL,
        }
    }

    /// The file dialog's title.
    pub fn title(self) -> &'static str {
        match self {
            TlsFile::CaFile => "CA certificates (PEM)",
            TlsFile::ClientChain => "Client certificate chain (PEM)",
            TlsFile::ClientKey => "Client private key (PEM)",
            TlsFile::ServerChain => "Server certificate chain (PEM)",
            TlsFile::ServerKey => "Server private key (PEM)",
            TlsFile::ClientCa => "CA certificates for client certificates (PEM)",
        }
    }

    /// The Choose… button's accessible name ("Choose CA file (PEM)").
    fn choose_name(self) -> String {
        format!("Choose {}", self.label())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum VerifyChoice {
    SystemRoots,
    CaFile,
    Off,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IdentityChoice {
    SelfSigned,
    Files,
}

/// A typed field and, after a submit that failed, what is wrong with it.
#[derive(Default)]
struct Field {
    text: String,
    error: Option<String>,
}

impl Field {
    fn new(text: impl Into<String>) -> Self {
        Field {
            text: text.into(),
            error: None,
        }
    }

    fn path(path: &Path) -> Self {
        Field::new(path.display().to_string())
    }

    fn trimmed(&self) -> &str {
        self.text.trim()
    }

    /// A file that must exist; `Ok(None)` when empty and `optional`.
    fn file(&mut self, optional: bool) -> Result<Option<PathBuf>, ()> {
        self.error = None;
        let text = self.trimmed();
        if text.is_empty() {
            if optional {
                return Ok(None);
            }
            self.error = Some("type a file's path, or choose one".into());
            return Err(());
        }
        let path = PathBuf::from(text);
        if path.is_file() {
            Ok(Some(path))
        } else if path.exists() {
            self.error = Some(format!("{text} is not a file"));
            Err(())
        } else {
            self.error = Some(format!("no such file: {text}"));
            Err(())
        }
    }
}

/// The TLS settings as edited.
pub struct TlsForm {
    pub side: TlsSide,
    server_name: Field,
    client_alpn: Field,
    verify: VerifyChoice,
    ca_file: Field,
    client_chain: Field,
    client_key: Field,
    identity: IdentityChoice,
    names: Field,
    server_chain: Field,
    server_key: Field,
    server_alpn: Field,
    client_certs: ClientCerts,
    client_ca: Field,
    /// What building the configuration said (a file that is not PEM, a key that does
    /// not match), shown under the section.
    error: Option<String>,
}

impl TlsForm {
    pub fn new(side: &TlsSide) -> Self {
        let client = &side.client;
        let server = &side.server;
        let (verify, ca_file) = match &client.verify {
            Verify::SystemRoots => (VerifyChoice::SystemRoots, Field::default()),
            Verify::CaFile(path) => (VerifyChoice::CaFile, Field::path(path)),
            Verify::Off => (VerifyChoice::Off, Field::default()),
        };
        let (client_chain, client_key) = match &client.client_cert {
            Some(files) => (Field::path(&files.chain), Field::path(&files.key)),
            None => (Field::default(), Field::default()),
        };
        let (identity, names, server_chain, server_key) = match &server.identity {
            ServerIdentity::SelfSigned { names } => (
                IdentityChoice::SelfSigned,
                Field::new(names.join(", ")),
                Field::default(),
                Field::default(),
            ),
            ServerIdentity::Files(files) => (
                IdentityChoice::Files,
                Field::new("localhost"),
                Field::path(&files.chain),
                Field::path(&files.key),
            ),
        };
        TlsForm {
            side: side.clone(),
            server_name: Field::new(client.server_name.clone()),
            client_alpn: Field::new(client.alpn.join(", ")),
            verify,
            ca_file,
            client_chain,
            client_key,
            identity,
            names,
            server_chain,
            server_key,
            server_alpn: Field::new(server.alpn.join(", ")),
            client_certs: server.client_certs,
            client_ca: server
                .client_ca
                .as_deref()
                .map_or_else(Field::default, Field::path),
            error: None,
        }
    }

    /// Puts a path chosen in a file dialog into its field.
    pub fn set_path(&mut self, file: TlsFile, path: &Path) {
        let field = match file {
            TlsFile::CaFile => {
                self.verify = VerifyChoice::CaFile;
                &mut self.ca_file
            }
            TlsFile::ClientChain => &mut self.client_chain,
            TlsFile::ClientKey => &mut self.client_key,
            TlsFile::ServerChain => {
                self.identity = IdentityChoice::Files;
                &mut self.server_chain
            }
            TlsFile::ServerKey => {
                self.identity = IdentityChoice::Files;
                &mut self.server_key
            }
            TlsFile::ClientCa => &mut self.client_ca,
        };
        *field = Field::path(path);
        self.error = None;
    }

    pub fn has_errors(&self) -> bool {
        self.error.is_some()
            || [
                &self.server_name,
                &self.client_alpn,
                &self.ca_file,
                &self.client_chain,
                &self.client_key,
                &self.names,
                &self.server_chain,
                &self.server_key,
                &self.server_alpn,
                &self.client_ca,
            ]
            .iter()
            .any(|field| field.error.is_some())
    }

    /// The fields; file choosers push actions (dialogs run on their own thread).
    /// `session` is the socket the form belongs to (`SessionId::ENGINE`: the new-socket form).
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        session: SessionId,
        server: bool,
        actions: &mut Vec<Action>,
    ) {
        ui.checkbox(&mut self.side.enabled, TLS_LABEL)
            .on_hover_text("Speak TLS over the TCP connection");
        if !self.side.enabled {
            return;
        }
        // Scrolled within a share of the window, so the form's button stays in view.
        let max_height = (ui.ctx().content_rect().height() * 0.3).max(96.0);
        egui::ScrollArea::vertical()
            .id_salt(("tls_form_scroll", session.get()))
            .max_height(max_height)
            .show(ui, |ui| {
                ui.indent(("tls_form", session.get()), |ui| {
                    if server {
                        self.server_ui(ui, session, actions);
                    } else {
                        self.client_ui(ui, session, actions);
                    }
                    if let Some(error) = &self.error {
                        theme::error_label_ui(ui, error.as_str());
                    }
                });
            });
    }

    fn client_ui(&mut self, ui: &mut egui::Ui, session: SessionId, actions: &mut Vec<Action>) {
        let salt = session.get();
        text_field_ui(ui, (salt, "sni"), SERVER_NAME_LABEL, &mut self.server_name);
        text_field_ui(ui, (salt, "alpn"), ALPN_LABEL, &mut self.client_alpn);
        let label = ui.label(VERIFY_LABEL);
        choice_combo(
            ui,
            (salt, "verify"),
            verify_text(self.verify),
            &mut self.verify,
            || {
                [
                    VerifyChoice::SystemRoots,
                    VerifyChoice::CaFile,
                    VerifyChoice::Off,
                ]
                .map(|v| (v, verify_text(v).to_string()))
            },
            None,
        )
        .labelled_by(label.id);
        match self.verify {
            VerifyChoice::CaFile => {
                file_field_ui(ui, session, TlsFile::CaFile, &mut self.ca_file, actions)
            }
            VerifyChoice::Off => {
                theme::error_label_ui(
                    ui,
                    "Verification off: anyone on the way can pretend to be the server.",
                );
            }
            VerifyChoice::SystemRoots => {}
        }
        file_field_ui(
            ui,
            session,
            TlsFile::ClientChain,
            &mut self.client_chain,
            actions,
        );
        file_field_ui(
            ui,
            session,
            TlsFile::ClientKey,
            &mut self.client_key,
            actions,
        );
    }

    fn server_ui(&mut self, ui: &mut egui::Ui, session: SessionId, actions: &mut Vec<Action>) {
        let salt = session.get();
        let label = ui.label(IDENTITY_LABEL);
        choice_combo(
            ui,
            (salt, "identity"),
            identity_text(self.identity),
            &mut self.identity,
            || {
                [IdentityChoice::SelfSigned, IdentityChoice::Files]
                    .map(|v| (v, identity_text(v).to_string()))
            },
            None,
        )
        .labelled_by(label.id);
        match self.identity {
            IdentityChoice::SelfSigned => {
                text_field_ui(ui, (salt, "names"), NAMES_LABEL, &mut self.names);
            }
            IdentityChoice::Files => {
                file_field_ui(
                    ui,
                    session,
                    TlsFile::ServerChain,
                    &mut self.server_chain,
                    actions,
                );
                file_field_ui(
                    ui,
                    session,
                    TlsFile::ServerKey,
                    &mut self.server_key,
                    actions,
                );
            }
        }
        text_field_ui(ui, (salt, "server_alpn"), ALPN_LABEL, &mut self.server_alpn);
        let label = ui.label(CLIENT_CERTS_LABEL);
        choice_combo(
            ui,
            (salt, "client_certs"),
            client_certs_text(self.client_certs),
            &mut self.client_certs,
            || {
                [
                    ClientCerts::NotAsked,
                    ClientCerts::Requested,
                    ClientCerts::Required,
                ]
                .map(|v| (v, client_certs_text(v).to_string()))
            },
            None,
        )
        .labelled_by(label.id);
        if self.client_certs != ClientCerts::NotAsked {
            file_field_ui(ui, session, TlsFile::ClientCa, &mut self.client_ca, actions);
        }
    }

    /// The settings typed (or `None` with each error shown at its field) for a server or a
    /// client; only that side's fields are checked,
    /// and only while TLS is on (the other side's are kept as they were typed).
    pub fn submit_for(&mut self, server: bool) -> Option<TlsSide> {
        self.error = None;
        let enabled = self.side.enabled;
        let mut side = self.side.clone();
        if server {
            side.server = self.server_setup(enabled)?;
        } else {
            side.client = self.client_setup(enabled)?;
        }
        if enabled {
            // A file that exists may still not hold what it should: say so now, not at start.
            let checked = if server {
                match side.server.identity {
                    ServerIdentity::Files(_) => check_server_setup(&side.server),
                    ServerIdentity::SelfSigned { .. } if side.server.client_ca.is_some() => {
                        check_server_setup(&side.server)
                    }
                    ServerIdentity::SelfSigned { .. } => Ok(()),
                }
            } else if matches!(side.client.verify, Verify::CaFile(_))
                || side.client.client_cert.is_some()
            {
                check_client_setup(&side.client)
            } else {
                Ok(())
            };
            if let Err(error) = checked {
                self.error = Some(error);
                return None;
            }
        }
        self.side = side.clone();
        Some(side)
    }

    fn client_setup(&mut self, check: bool) -> Option<TlsClientSetup> {
        let verify = match self.verify {
            VerifyChoice::SystemRoots => Ok(Verify::SystemRoots),
            VerifyChoice::Off => Ok(Verify::Off),
            VerifyChoice::CaFile if check => self
                .ca_file
                .file(false)
                .map(|path| Verify::CaFile(path.unwrap_or_default())),
            VerifyChoice::CaFile => Ok(Verify::CaFile(self.ca_file.trimmed().into())),
        };
        let client_cert = self.client_cert_files(check);
        Some(TlsClientSetup {
            server_name: self.server_name.trimmed().to_string(),
            alpn: list(&self.client_alpn.text),
            verify: verify.ok()?,
            client_cert: client_cert.ok()?,
        })
    }

    /// The client's certificate chain and key: both or neither.
    fn client_cert_files(&mut self, check: bool) -> Result<Option<CertFiles>, ()> {
        let (chain_field, key_field) = (&mut self.client_chain, &mut self.client_key);
        if !check {
            return Ok((!chain_field.trimmed().is_empty()).then(|| CertFiles {
                chain: chain_field.trimmed().into(),
                key: key_field.trimmed().into(),
            }));
        }
        let wanted = !chain_field.trimmed().is_empty() || !key_field.trimmed().is_empty();
        let chain = chain_field.file(!wanted);
        let key = key_field.file(!wanted);
        match (chain?, key?) {
            (Some(chain), Some(key)) => Ok(Some(CertFiles { chain, key })),
            _ => Ok(None),
        }
    }

    fn server_setup(&mut self, check: bool) -> Option<TlsServerSetup> {
        let identity = match self.identity {
            IdentityChoice::SelfSigned => {
                let names = list(&self.names.text);
                self.names.error = None;
                if check && names.is_empty() {
                    self.names.error =
                        Some("type at least one name, e.g. localhost or 127.0.0.1".into());
                    Err(())
                } else {
                    Ok(ServerIdentity::SelfSigned { names })
                }
            }
            IdentityChoice::Files if check => {
                let chain = self.server_chain.file(false);
                let key = self.server_key.file(false);
                match (chain, key) {
                    (Ok(chain), Ok(key)) => Ok(ServerIdentity::Files(CertFiles {
                        chain: chain.unwrap_or_default(),
                        key: key.unwrap_or_default(),
                    })),
                    _ => Err(()),
                }
            }
            IdentityChoice::Files => Ok(ServerIdentity::Files(CertFiles {
                chain: self.server_chain.trimmed().into(),
                key: self.server_key.trimmed().into(),
            })),
        };
        let asks = self.client_certs != ClientCerts::NotAsked;
        let client_ca = if check && asks {
            // Required needs a CA to check against; Requested takes any without one.
            let optional = self.client_certs == ClientCerts::Requested;
            self.client_ca.file(optional)
        } else {
            self.client_ca.error = None;
            Ok((!self.client_ca.trimmed().is_empty()).then(|| self.client_ca.trimmed().into()))
        };
        Some(TlsServerSetup {
            identity: identity.ok()?,
            alpn: list(&self.server_alpn.text),
            client_certs: self.client_certs,
            client_ca: client_ca.ok()?,
        })
    }
}

/// `h2, http/1.1` → `["h2", "http/1.1"]`.
fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(String::from)
        .collect()
}

fn verify_text(choice: VerifyChoice) -> &'static str {
    match choice {
        VerifyChoice::SystemRoots => "System roots",
        VerifyChoice::CaFile => "CA file",
        VerifyChoice::Off => "Off (insecure)",
    }
}

fn identity_text(choice: IdentityChoice) -> &'static str {
    match choice {
        IdentityChoice::SelfSigned => "Self-signed for names",
        IdentityChoice::Files => "Certificate files",
    }
}

fn client_certs_text(choice: ClientCerts) -> &'static str {
    match choice {
        ClientCerts::NotAsked => "Not asked",
        ClientCerts::Requested => "Requested",
        ClientCerts::Required => "Required",
    }
}

fn text_field_ui(
    ui: &mut egui::Ui,
    id_salt: impl std::hash::Hash + std::fmt::Debug,
    label: &str,
    field: &mut Field,
) {
    let label = ui.label(label);
    let edit = ui
        .add(
            egui::TextEdit::singleline(&mut field.text)
                .id_salt(id_salt)
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id);
    if edit.changed() {
        field.error = None;
    }
    if let Some(error) = &field.error {
        theme::error_label_ui(ui, error.as_str());
    }
}

/// A path field with its "Choose…" button (a file dialog on its own thread).
fn file_field_ui(
    ui: &mut egui::Ui,
    session: SessionId,
    file: TlsFile,
    field: &mut Field,
    actions: &mut Vec<Action>,
) {
    let label = ui.label(file.label());
    ui.horizontal(|ui| {
        let button = ui.button("Choose…");
        theme::name_widget(ui, &button, file.choose_name());
        if button.clicked() {
            actions.push(Action::OpenDialog {
                session,
                purpose: Purpose::TlsFile(file),
            });
        }
        let edit = ui
            .add(
                egui::TextEdit::singleline(&mut field.text)
                    .id_salt((session.get(), file))
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(label.id);
        if edit.changed() {
            field.error = None;
        }
    });
    if let Some(error) = &field.error {
        theme::error_label_ui(ui, error.as_str());
    }
}

/// A finished handshake: version, cipher suite, ALPN, SNI, the peer's chain, and a warning
/// when the peer was not verified. `server`: the peer is a client.
pub fn tls_info_ui(ui: &mut egui::Ui, info: &TlsInfo, server: bool) {
    if let Some(why) = &info.unverified {
        theme::error_label_ui(ui, format!("{UNVERIFIED_WARNING}: {why}"));
    }
    let now = Utc::now();
    egui::Grid::new(ui.next_auto_id())
        .num_columns(2)
        .spacing([12.0, 2.0])
        .show(ui, |ui| {
            let mut row = |name: &str, value: String| {
                ui.label(name);
                ui.add(egui::Label::new(value).selectable(true));
                ui.end_row();
            };
            row("Version", info.version.clone());
            row("Cipher suite", info.cipher_suite.clone());
            row("ALPN", info.alpn.clone().unwrap_or_else(|| "none".into()));
            row(
                "SNI",
                info.server_name.clone().unwrap_or_else(|| "none".into()),
            );
        });
    let whose = if server { "Client" } else { "Server" };
    if info.peer_certificates.is_empty() {
        ui.weak(format!("{whose} sent no certificate."));
    }
    for (index, cert) in info.peer_certificates.iter().enumerate() {
        let title = if index == 0 {
            format!("{whose} certificate")
        } else {
            format!("Chain certificate {}", index + 1)
        };
        ui.strong(title);
        egui::Grid::new(ui.next_auto_id())
            .num_columns(2)
            .spacing([12.0, 2.0])
            .show(ui, |ui| {
                let mut row = |name: &str, value: String| {
                    ui.label(name);
                    ui.add(egui::Label::new(value).selectable(true));
                    ui.end_row();
                };
                row("Subject", cert.subject.clone());
                row("Issuer", cert.issuer.clone());
                if !cert.names.is_empty() {
                    row("Names", cert.names.join(", "));
                }
                row(
                    "Not before",
                    cert.not_before.format("%Y-%m-%d %H:%M UTC").to_string(),
                );
                row(
                    "Not after",
                    format!(
                        "{} ({})",
                        cert.not_after.format("%Y-%m-%d %H:%M UTC"),
                        days_left_text(cert.days_left(now))
                    ),
                );
                row("SHA-256", cert.sha256.clone());
            });
    }
}
