//! `--tls` and its companions: a TCP session's TLS settings on the command line, checked
//! before anything opens (exit 2).

use clap::Args;

use super::Failure;
use crate::engine::tls::{TlsClientSetup, TlsServerSetup};

#[derive(Args, Debug, Default)]
pub struct TlsArgs {
    /// Speak TLS.
    #[arg(long)]
    pub tls: bool,
}

impl TlsArgs {
    /// A client's TLS settings, if `--tls`; the flags a client cannot use are refused.
    pub(super) fn client_setup(&self) -> Result<Option<TlsClientSetup>, Failure> {
        Ok(self.tls.then(TlsClientSetup::default))
    }

    /// A server's TLS settings, if `--tls`; the flags a server cannot use are refused.
    pub(super) fn server_setup(&self) -> Result<Option<TlsServerSetup>, Failure> {
        Ok(self.tls.then(TlsServerSetup::default))
    }
}
