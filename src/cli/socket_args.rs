//! `--nodelay`, `--keepalive`, `--rcvbuf`, … : a TCP session's socket options on the command
//! line, checked before anything opens (exit 2). The checks are the window's
//! (`engine::options::typed`), so both refuse the same values in the same words.

use clap::Args;

use super::Failure;
use crate::engine::options::{Keepalive, SocketOptions, typed};

#[derive(Args, Debug, Default)]
pub struct SocketArgs {
    /// TCP_NODELAY: `on` sends each write at once, `off` lets Nagle's algorithm gather small
    /// writes.
    #[arg(long, value_name = "on|off", default_value = "on")]
    pub nodelay: OnOff,
    /// SO_KEEPALIVE with its timings in seconds: quiet time before the first probe, then
    /// the time between probes and how many go unanswered before the connection is dropped
    /// (those left out keep the system's values).
    #[arg(long, value_name = "IDLE[,INTERVAL[,COUNT]]")]
    pub keepalive: Option<String>,
    /// SO_RCVBUF in bytes (Linux doubles it; the value in effect is printed).
    #[arg(long, value_name = "BYTES")]
    pub rcvbuf: Option<String>,
    /// SO_SNDBUF in bytes.
    #[arg(long, value_name = "BYTES")]
    pub sndbuf: Option<String>,
    /// Do not set SO_REUSEADDR (set by default, so a stopped server can listen again at
    /// once).
    #[arg(long)]
    pub no_reuseaddr: bool,
    /// SO_REUSEPORT (Unix): several servers on one port share its clients.
    #[arg(long)]
    pub reuseport: bool,
    /// IPV6_V6ONLY, IPv6 addresses only: `off` makes `[::]:PORT` take IPv4 clients too.
    #[arg(long, value_name = "on|off")]
    pub v6only: Option<OnOff>,
    /// IP_TTL (IPv4) or the unicast hop limit (IPv6), 1 to 255.
    #[arg(long, value_name = "N")]
    pub ttl: Option<String>,
    /// Client only: the local address to connect from, `ip:port` (port 0: any free port).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// How Ctrl-C, the end of input and `quit` close the connection: `fin` (graceful) or
    /// `rst` (SO_LINGER 0: the peer reads "connection reset").
    #[arg(long, value_name = "fin|rst", default_value = "fin")]
    pub close: CloseStyle,
    /// What a connection does when its peer finishes sending (FIN): `keep` it half-open so
    /// it can still be sent to (as nc does), or `close` it (for a server that many short
    /// clients leave: each half-open connection holds a descriptor until closed).
    #[arg(long, value_name = "keep|close", default_value = "keep")]
    pub peer_fin: PeerFin,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PeerFin {
    #[default]
    Keep,
    Close,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OnOff {
    #[default]
    On,
    Off,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum CloseStyle {
    #[default]
    Fin,
    Rst,
}

impl SocketArgs {
    /// The options asked for; `server` refuses what only a client has (`--bind`).
    pub(super) fn options(&self, server: bool) -> Result<SocketOptions, Failure> {
        let flag = |name: &'static str| move |e: String| Failure::usage(format!("--{name}: {e}"));
        if server && self.bind.is_some() {
            return Err(Failure::usage(
                "--bind is for `socklab client` (a server binds the address it listens on)".into(),
            ));
        }
        Ok(SocketOptions {
            no_delay: self.nodelay == OnOff::On,
            keepalive: self
                .keepalive
                .as_deref()
                .map(parse_keepalive)
                .transpose()
                .map_err(flag("keepalive"))?,
            recv_buffer: self
                .rcvbuf
                .as_deref()
                .map(typed::buffer_size)
                .transpose()
                .map_err(flag("rcvbuf"))?,
            send_buffer: self
                .sndbuf
                .as_deref()
                .map(typed::buffer_size)
                .transpose()
                .map_err(flag("sndbuf"))?,
            reuse_address: !self.no_reuseaddr,
            reuse_port: self.reuseport,
            only_v6: self.v6only.map(|on| on == OnOff::On),
            ttl: self
                .ttl
                .as_deref()
                .map(typed::ttl)
                .transpose()
                .map_err(flag("ttl"))?,
            local_bind: self
                .bind
                .as_deref()
                .map(typed::local_bind)
                .transpose()
                .map_err(flag("bind"))?,
            reset_on_close: self.close == CloseStyle::Rst,
            close_when_peer_finishes: self.peer_fin == PeerFin::Close,
        })
    }
}

/// `IDLE[,INTERVAL[,COUNT]]`.
fn parse_keepalive(text: &str) -> Result<Keepalive, String> {
    let parts: Vec<&str> = text.split(',').collect();
    if parts.len() > 3 {
        return Err(format!(
            "\"{text}\" has more than three parts: IDLE[,INTERVAL[,COUNT]]"
        ));
    }
    Ok(Keepalive {
        idle: Some(typed::keepalive_seconds(parts[0], "the idle time")?),
        interval: parts
            .get(1)
            .map(|part| typed::keepalive_seconds(part, "the interval"))
            .transpose()?,
        count: parts
            .get(2)
            .map(|part| typed::keepalive_count(part))
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Line {
        #[command(flatten)]
        socket: SocketArgs,
    }

    fn options(args: &[&str], server: bool) -> Result<SocketOptions, String> {
        let line = Line::try_parse_from(std::iter::once("socklab").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        line.socket.options(server).map_err(|f| f.message)
    }

    #[test]
    fn no_flags_are_the_defaults() {
        assert_eq!(options(&[], true), Ok(SocketOptions::default()));
    }

    #[test]
    fn every_flag_reaches_its_option() {
        let options = options(
            &[
                "--nodelay=off",
                "--keepalive=60,10,5",
                "--rcvbuf=65536",
                "--sndbuf=32768",
                "--no-reuseaddr",
                "--reuseport",
                "--v6only=off",
                "--ttl=7",
                "--bind=127.0.0.1:0",
                "--close=rst",
                "--peer-fin=close",
            ],
            false,
        )
        .unwrap();
        assert_eq!(
            options,
            SocketOptions {
                no_delay: false,
                keepalive: Some(Keepalive {
                    idle: Some(Duration::from_secs(60)),
                    interval: Some(Duration::from_secs(10)),
                    count: Some(5),
                }),
                recv_buffer: Some(65_536),
                send_buffer: Some(32_768),
                reuse_address: false,
                reuse_port: true,
                only_v6: Some(false),
                ttl: Some(7),
                local_bind: Some("127.0.0.1:0".parse().unwrap()),
                reset_on_close: true,
                close_when_peer_finishes: true,
            }
        );
    }

    #[test]
    fn keepalive_may_leave_out_its_interval_and_count() {
        let keepalive = options(&["--keepalive", "30"], true).unwrap().keepalive;
        assert_eq!(
            keepalive,
            Some(Keepalive {
                idle: Some(Duration::from_secs(30)),
                interval: None,
                count: None,
            })
        );
    }

    #[test]
    fn bad_values_say_which_flag_and_why() {
        assert_eq!(
            options(&["--rcvbuf", "lots"], true),
            Err(
                "--rcvbuf: a buffer size in bytes must be a whole number from 1 to 2147483647"
                    .into()
            )
        );
        assert_eq!(
            options(&["--keepalive", "60,0"], true),
            Err(
                "--keepalive: the interval in seconds must be a whole number from 1 to 32767"
                    .into()
            )
        );
        assert!(
            options(&["--keepalive", "1,2,3,4"], true)
                .unwrap_err()
                .contains("more than three parts")
        );
        assert!(
            options(&["--ttl", "300"], true)
                .unwrap_err()
                .starts_with("--ttl: ")
        );
        assert!(
            options(&["--bind", "127.0.0.1:0"], true)
                .unwrap_err()
                .starts_with("--bind is for `socklab client`")
        );
    }
}
