//! rustls configurations built from a session's setup, on the net thread when it starts.
//! Every error names the file and what is wrong with it.

use std::sync::Arc;

use super::{TlsClientSetup, TlsServerSetup};

/// A client's configuration and the name it checks, ready for each connect.
pub(crate) struct ClientConfigs {
    pub config: Arc<rustls::ClientConfig>,
}

impl ClientConfigs {
    pub fn build(setup: &TlsClientSetup) -> Result<ClientConfigs, String> {
        let _ = setup;
        todo!("tls: client config")
    }
}

/// A server's configuration, shared by every accepted connection.
pub(crate) struct ServerConfigs {
    pub config: Arc<rustls::ServerConfig>,
}

impl ServerConfigs {
    pub fn build(setup: &TlsServerSetup) -> Result<ServerConfigs, String> {
        let _ = setup;
        todo!("tls: server config")
    }
}
