//! A TCP session's TLS side: whether it speaks TLS, and its client or server settings as
//! edited (kept across runs even while TLS is off, so switching it back loses nothing).

use serde::{Deserialize, Serialize};

use crate::engine::tls::{TlsClientSetup, TlsServerSetup};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsSide {
    pub enabled: bool,
    /// Used by a client session.
    pub client: TlsClientSetup,
    /// Used by a server session.
    pub server: TlsServerSetup,
}

impl TlsSide {
    /// What a client session asks the engine for.
    pub fn client_setup(&self) -> Option<TlsClientSetup> {
        self.enabled.then(|| self.client.clone())
    }

    /// What a server session asks the engine for.
    pub fn server_setup(&self) -> Option<TlsServerSetup> {
        self.enabled.then(|| self.server.clone())
    }
}
