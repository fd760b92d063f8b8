//! A TCP socket's options: the form's section that asks for them (new socket, or the
//! socket's own settings while it is stopped), and the view of what the kernel says is in
//! effect. Typed numbers are checked on submit with `engine::options::typed`, the checks
//! the command line uses, and each error is shown under its field.

use std::time::Duration;

use eframe::egui;

use super::action::TcpSetup;
use super::combo::choice_combo;
use super::theme;
use super::tls_panel::TlsForm;
use crate::engine::options::{Keepalive, OptionsInEffect, SocketOptions, typed};
use crate::engine::{DEFAULT_CONNECT_TIMEOUT, group_thousands};
use crate::model::session::Session;

/// Field labels (tests and screen readers find the fields by them).
pub const RECV_BUFFER_LABEL: &str = "Receive buffer SO_RCVBUF (bytes)";
pub const SEND_BUFFER_LABEL: &str = "Send buffer SO_SNDBUF (bytes)";
pub const KEEPALIVE_LABEL: &str = "SO_KEEPALIVE: probe a quiet connection";
pub const KEEPALIVE_IDLE_LABEL: &str = "Keepalive idle time (s)";
pub const KEEPALIVE_INTERVAL_LABEL: &str = "Keepalive interval (s)";
pub const KEEPALIVE_COUNT_LABEL: &str = "Keepalive probes";
pub const TTL_LABEL: &str = "TTL / hop limit (1-255)";
pub const LOCAL_BIND_LABEL: &str = "Local address (ip:port, port 0 = any)";
pub const CONNECT_TIMEOUT_LABEL: &str = "Connect timeout (s)";
pub const NODELAY_LABEL: &str = "TCP_NODELAY: send at once (no Nagle delay)";
pub const REUSEADDR_LABEL: &str = "SO_REUSEADDR: listen again at once after a stop";
pub const REUSEPORT_LABEL: &str = "SO_REUSEPORT: share the port with other listeners";
pub const V6ONLY_LABEL: &str = "IPV6_V6ONLY (IPv6 sockets)";
pub const RESET_LABEL: &str = "Close with RST (Disconnect, Kick and Stop reset the connection)";
pub const PEER_FIN_LABEL: &str = "Close when the peer finishes sending";

/// What empty fields mean.
const SYSTEMS_VALUE: &str = "system's value";

/// A typed field: its text and, after a submit that failed, what is wrong with it.
#[derive(Default)]
struct Typed {
    text: String,
    error: Option<String>,
}

impl Typed {
    fn new(value: Option<impl ToString>) -> Self {
        Typed {
            text: value.map(|v| v.to_string()).unwrap_or_default(),
            error: None,
        }
    }

    /// The value (`None` when left empty), or `Err` with the error kept for the field.
    fn check<T>(&mut self, parse: impl FnOnce(&str) -> Result<T, String>) -> Result<Option<T>, ()> {
        self.error = None;
        if self.text.trim().is_empty() {
            return Ok(None);
        }
        parse(&self.text)
            .map(Some)
            .map_err(|e| self.error = Some(e))
    }
}

/// The options as edited, with the typed text of each number and its error.
pub struct SocketOptionsForm {
    /// The switches are edited here directly; the numbers are typed below.
    pub options: SocketOptions,
    keepalive: bool,
    idle: Typed,
    interval: Typed,
    count: Typed,
    recv_buffer: Typed,
    send_buffer: Typed,
    ttl: Typed,
    local_bind: Typed,
    connect_timeout: Typed,
}

impl SocketOptionsForm {
    pub fn new(options: &SocketOptions) -> Self {
        Self::with_timeout(options, DEFAULT_CONNECT_TIMEOUT)
    }

    /// The form for these options and a client's connect timeout.
    pub fn with_timeout(options: &SocketOptions, connect_timeout: Duration) -> Self {
        let keepalive = options.keepalive.unwrap_or_default();
        SocketOptionsForm {
            options: options.clone(),
            keepalive: options.keepalive.is_some(),
            idle: Typed::new(keepalive.idle.map(|d| d.as_secs())),
            interval: Typed::new(keepalive.interval.map(|d| d.as_secs())),
            count: Typed::new(keepalive.count),
            recv_buffer: Typed::new(options.recv_buffer),
            send_buffer: Typed::new(options.send_buffer),
            ttl: Typed::new(options.ttl),
            local_bind: Typed::new(options.local_bind),
            connect_timeout: Typed::new(Some(seconds_text(connect_timeout))),
        }
    }

    /// The fields; `server` leaves out what only a client has (local address, connect
    /// timeout).
    pub fn ui(&mut self, ui: &mut egui::Ui, id_salt: &str, server: bool) {
        let has_errors = self.has_errors();
        egui::CollapsingHeader::new("Socket options")
            .id_salt(("socket_options", id_salt))
            // An error after a submit must be seen where it is.
            .open(has_errors.then_some(true))
            .show(ui, |ui| {
                // Scrolled within a share of the window, so the form's button stays in view.
                let max_height = (ui.ctx().content_rect().height() * 0.3).max(96.0);
                egui::ScrollArea::vertical()
                    .id_salt(("socket_options_scroll", id_salt))
                    .max_height(max_height)
                    .show(ui, |ui| self.fields_ui(ui, id_salt, server));
            });
    }

    /// The fields without the section around them.
    pub fn fields_ui(&mut self, ui: &mut egui::Ui, id_salt: &str, server: bool) {
        let salt = |name: &str| (id_salt.to_string(), name.to_string());
        ui.checkbox(&mut self.options.no_delay, NODELAY_LABEL)
            .on_hover_text("Off: small writes wait to be sent together (Nagle's algorithm)");
        ui.checkbox(&mut self.keepalive, KEEPALIVE_LABEL)
            .on_hover_text("Send probes on a quiet connection and drop it if none is answered");
        if self.keepalive {
            ui.indent(salt("keepalive"), |ui| {
                typed_field_ui(ui, salt("idle"), KEEPALIVE_IDLE_LABEL, &mut self.idle);
                typed_field_ui(
                    ui,
                    salt("interval"),
                    KEEPALIVE_INTERVAL_LABEL,
                    &mut self.interval,
                );
                typed_field_ui(ui, salt("count"), KEEPALIVE_COUNT_LABEL, &mut self.count);
            });
        }
        typed_field_ui(ui, salt("rcvbuf"), RECV_BUFFER_LABEL, &mut self.recv_buffer);
        typed_field_ui(ui, salt("sndbuf"), SEND_BUFFER_LABEL, &mut self.send_buffer);
        ui.checkbox(&mut self.options.reuse_address, REUSEADDR_LABEL);
        ui.checkbox(&mut self.options.reuse_port, REUSEPORT_LABEL)
            .on_hover_text("Unix only: several sockets listen on one port and share its clients");
        let label = ui.label(V6ONLY_LABEL);
        let shown = v6only_text(self.options.only_v6);
        choice_combo(
            ui,
            salt("v6only"),
            shown,
            &mut self.options.only_v6,
            || [None, Some(true), Some(false)].map(|v| (v, v6only_text(v))),
            None,
        )
        .labelled_by(label.id)
        .on_hover_text("Off: a socket on [::] takes IPv4 clients too. IPv6 addresses only.");
        typed_field_ui(ui, salt("ttl"), TTL_LABEL, &mut self.ttl);
        if !server {
            typed_field_ui(ui, salt("bind"), LOCAL_BIND_LABEL, &mut self.local_bind);
            typed_field_ui(
                ui,
                salt("timeout"),
                CONNECT_TIMEOUT_LABEL,
                &mut self.connect_timeout,
            );
        }
        ui.checkbox(&mut self.options.reset_on_close, RESET_LABEL)
            .on_hover_text("SO_LINGER 0 at close: the peer reads \"connection reset\"");
        ui.label(close_text(server, self.options.reset_on_close));
        ui.checkbox(&mut self.options.close_when_peer_finishes, PEER_FIN_LABEL)
            .on_hover_text(
                "Off: a connection whose peer sent FIN stays half-open, so you can still \
                 answer. On: it closes at the FIN (each half-open connection holds a \
                 descriptor until closed)",
            );
    }

    /// A submit found errors (shown at their fields).
    pub fn has_errors(&self) -> bool {
        [
            &self.idle,
            &self.interval,
            &self.count,
            &self.recv_buffer,
            &self.send_buffer,
            &self.ttl,
            &self.local_bind,
            &self.connect_timeout,
        ]
        .iter()
        .any(|field| field.error.is_some())
    }

    /// The options typed, or `None` with each error shown at its field.
    pub fn submit(&mut self) -> Option<SocketOptions> {
        // Every field is checked, so every error shows at once.
        let idle = self
            .idle
            .check(|t| typed::keepalive_seconds(t, "the idle time"));
        let interval = self
            .interval
            .check(|t| typed::keepalive_seconds(t, "the interval"));
        let count = self.count.check(typed::keepalive_count);
        let recv_buffer = self.recv_buffer.check(typed::buffer_size);
        let send_buffer = self.send_buffer.check(typed::buffer_size);
        let ttl = self.ttl.check(typed::ttl);
        let local_bind = self.local_bind.check(typed::local_bind);
        let timeout = self.connect_timeout.check(parse_timeout);
        let (
            Ok(idle),
            Ok(interval),
            Ok(count),
            Ok(recv_buffer),
            Ok(send_buffer),
            Ok(ttl),
            Ok(local_bind),
            Ok(_),
        ) = (
            idle,
            interval,
            count,
            recv_buffer,
            send_buffer,
            ttl,
            local_bind,
            timeout,
        )
        else {
            return None;
        };
        Some(SocketOptions {
            keepalive: self.keepalive.then_some(Keepalive {
                idle,
                interval,
                count,
            }),
            recv_buffer,
            send_buffer,
            ttl,
            local_bind,
            ..self.options.clone()
        })
    }

    /// The connect timeout typed (the default when empty); call after a successful submit.
    pub fn connect_timeout(&self) -> Duration {
        parse_timeout(&self.connect_timeout.text)
            .ok()
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT)
    }
}

/// A socket's own TCP settings as edited in its view while it is stopped.
pub struct TcpSettingsForm {
    pub socket: SocketOptionsForm,
    pub tls: TlsForm,
}

impl TcpSettingsForm {
    pub fn of(session: &Session) -> Self {
        TcpSettingsForm {
            socket: SocketOptionsForm::with_timeout(
                &session.socket_options,
                session.connect_timeout,
            ),
            tls: TlsForm::new(&session.tls),
        }
    }

    /// The settings typed, or `None` with the errors shown at their fields.
    pub fn submit(&mut self, server: bool) -> Option<TcpSetup> {
        let socket = self.socket.submit();
        let tls = self.tls.submit_for(server);
        Some(TcpSetup {
            socket: socket?,
            tls: tls?,
            connect_timeout: (!server).then(|| self.socket.connect_timeout()),
        })
    }
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    let wrong = || "the connect timeout must be a number of seconds above 0".to_string();
    let seconds: f64 = text.trim().parse().map_err(|_| wrong())?;
    if seconds <= 0.0 {
        return Err(wrong());
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| wrong())
}

fn seconds_text(time: Duration) -> String {
    let seconds = time.as_secs_f64();
    if seconds.fract() == 0.0 {
        format!("{}", time.as_secs())
    } else {
        format!("{seconds}")
    }
}

/// A labelled one-line field with its error under it; the error goes when the text changes.
fn typed_field_ui(
    ui: &mut egui::Ui,
    id_salt: impl std::hash::Hash + std::fmt::Debug,
    label: &str,
    field: &mut Typed,
) {
    ui.horizontal(|ui| {
        let label = ui.label(label);
        let edit = ui
            .add(
                egui::TextEdit::singleline(&mut field.text)
                    .id_salt(id_salt)
                    .hint_text(SYSTEMS_VALUE)
                    .desired_width(110.0),
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

fn v6only_text(value: Option<bool>) -> String {
    match value {
        None => "System's default".into(),
        Some(true) => "On: IPv6 only".into(),
        Some(false) => "Off: IPv4 clients too".into(),
    }
}

/// What the user's close sends, in words.
pub fn close_text(server: bool, reset: bool) -> String {
    let sends = if reset { "RST" } else { "FIN" };
    if server {
        format!("Kick and Stop send: {sends}")
    } else {
        format!("Disconnect sends: {sends}")
    }
}

/// What is in effect, beside what was asked for where they differ (the kernel may change a
/// buffer size: Linux doubles it).
pub fn in_effect_ui(ui: &mut egui::Ui, asked: &SocketOptions, in_effect: &OptionsInEffect) {
    let id = ui.next_auto_id();
    egui::Grid::new(id)
        .num_columns(2)
        .spacing([12.0, 2.0])
        .show(ui, |ui| {
            for (name, value) in in_effect.describe() {
                let asked_size = match name {
                    "SO_RCVBUF" => asked.recv_buffer.zip(in_effect.recv_buffer),
                    "SO_SNDBUF" => asked.send_buffer.zip(in_effect.send_buffer),
                    _ => None,
                };
                let value = match asked_size {
                    Some((asked, set)) if asked != set => format!(
                        "{value} (asked {}, kernel set {})",
                        group_thousands(asked as u64),
                        group_thousands(set as u64)
                    ),
                    _ => value,
                };
                ui.label(name);
                ui.add(egui::Label::new(value).selectable(true));
                ui.end_row();
            }
            if let Some(local) = asked.local_bind {
                ui.label("Local address asked");
                ui.label(local.to_string());
                ui.end_row();
            }
        });
}
