//! What the user asked for, as the panels report it. Panels draw and push actions; the app
//! applies them all in one place once per frame, so the engine commands and the changes to
//! sessions and saved settings that go with them are never spread over the drawing code.

use std::path::PathBuf;
use std::time::Duration;

use super::dialogs::Purpose;
use crate::engine::{ConnId, Membership, SessionId, Target, TransferId, UdpOptions};
use crate::model::persist::DisplayMode;
use crate::model::session::Kind;

/// A pane of the session view whose height the user sets (the log takes the rest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pane {
    Clients,
    Chart,
    Composer,
}

/// What the form says of a new UDP socket besides its address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpSetup {
    /// A UDP client's local address (a UDP socket binds its address).
    pub bind: String,
    pub options: UdpOptions,
}

/// A new TCP socket's options and TLS settings, from the form.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TcpSetup {
    pub socket: crate::engine::options::SocketOptions,
    pub tls: crate::model::tls::TlsSide,
    /// A client's connect timeout (`None` for a server).
    pub connect_timeout: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// A new socket from the form (its addresses already checked).
    Create {
        kind: Kind,
        addr: String,
        /// UDP only: the local address of a UDP client, and the options.
        udp: Option<UdpSetup>,
        /// TCP only: socket options and TLS.
        tcp: Option<TcpSetup>,
    },
    /// Listen or connect again on the session's address.
    Start(SessionId),
    /// A file chosen for a TLS field: into the new-socket form (`SessionId::ENGINE`) or a
    /// stopped socket's settings form.
    SetTlsPath {
        session: SessionId,
        file: super::tls_panel::TlsFile,
        path: PathBuf,
    },
    /// A stopped TCP socket's own settings changed (they apply at its next start).
    SetTcpSettings {
        session: SessionId,
        setup: TcpSetup,
    },
    /// Stop listening (closing every client), or disconnect.
    Stop(SessionId),
    /// Close the socket and forget it.
    Remove(SessionId),
    /// Show this session in the main area.
    Select(SessionId),
    /// Send the session's draft to its target.
    Send(SessionId),
    /// Send the session's draft to this target (a UDP peer's *Reply*).
    SendTo {
        session: SessionId,
        target: Target,
    },
    /// New options for a UDP session, applied at once if it is open.
    SetUdpOptions {
        session: SessionId,
        options: UdpOptions,
    },
    /// Join a group now, or when the UDP socket opens.
    JoinGroup {
        session: SessionId,
        membership: Membership,
    },
    /// Leave a joined group, or forget one not joined.
    LeaveGroup {
        session: SessionId,
        membership: Membership,
    },
    /// Send the session's draft every `interval`, `count` times (or until stopped).
    Repeat {
        session: SessionId,
        interval: Duration,
        count: Option<u64>,
    },
    StopRepeat(SessionId),
    /// Stream a chosen file to the session's target.
    SendFile {
        session: SessionId,
        path: PathBuf,
    },
    CancelTransfer {
        session: SessionId,
        transfer: TransferId,
    },
    /// Close one client of a server.
    Kick {
        session: SessionId,
        conn: ConnId,
    },
    /// Shut down our sending half (FIN) of one connection, or of every one; receiving
    /// goes on.
    ShutDownSending {
        session: SessionId,
        conn: Option<ConnId>,
    },
    /// Capture received bytes to a file; `None` stops capturing.
    Capture {
        session: SessionId,
        path: Option<PathBuf>,
    },
    /// Write the session's log to a file.
    SaveLog {
        session: SessionId,
        path: PathBuf,
    },
    /// Show the Scenarios page in the main area.
    ShowScenarios,
    /// Ask for a scenario file in a file dialog.
    OpenScenarioDialog,
    /// Read this scenario file into the Scenarios page (chosen or dropped).
    OpenScenario(PathBuf),
    RunScenario,
    StopScenario,
    /// Write the session's log as a scenario that replays it.
    SaveScenario {
        session: SessionId,
        path: PathBuf,
    },
    /// Ask for a path in a file dialog; the answer comes back as another action.
    OpenDialog {
        session: SessionId,
        purpose: Purpose,
    },
    ResetCounters(SessionId),
    ClearLog(SessionId),
    /// How every log shows data.
    SetDisplay(DisplayMode),
    /// The user dragged a split of the session view: the pane's new height in points.
    ResizePane {
        pane: Pane,
        height: f32,
    },
    /// Show or hide the rate chart pane.
    ShowChart(bool),
    /// Save the session's draft as a named preset (replacing one of the same name).
    SavePreset {
        session: SessionId,
        name: String,
    },
    DeletePreset {
        name: String,
    },
    /// Take the framing form as the session's framing (checked first; the error stays at
    /// its field).
    ApplyFraming(SessionId),
    /// Give the engine the rules as edited (and the "Respond with rules" switch).
    ApplyRules(SessionId),
    /// "Respond with rules" switched: applied at once.
    SetRespond {
        session: SessionId,
        on: bool,
    },
    /// Replace the rules with one echo rule and respond with it at once.
    EchoServer(SessionId),
    /// Read a rules file (after the dialog): its rules, and its framing if it has one,
    /// replace the session's and are applied.
    ImportRules {
        session: SessionId,
        path: PathBuf,
    },
    /// Write the session's rules and framing to a file (after the dialog).
    ExportRules {
        session: SessionId,
        path: PathBuf,
    },
}
