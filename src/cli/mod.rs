//! The headless commands, `socklab server`, `socklab client` and `socklab udp`, on the
//! same engine as the window. Events go to stdout one line each; errors to stderr with a
//! non-zero exit.
//!
//! - this module: the command-line syntax, the exit codes and the I/O the commands share;
//! - `format`: the server's and the UDP command's output lines, pure functions of events;
//! - `server`, `client` and `udp`: the event loops (`udp` also turns its options into
//!   engine commands).

mod client;
mod format;
mod rules;
mod run;
mod server;
mod socket_args;
mod tls_args;
mod udp;

use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use crossbeam_channel::Receiver;

use crate::engine::{Command, Engine, SessionId, parse_endpoint};
pub use rules::MessageArgs;
pub use run::{Driven, Ended, drive_scenario};
pub use socket_args::SocketArgs;
pub use tls_args::TlsArgs;

const EVENT_FORMAT_HELP: &str = "\
SERVER OUTPUT
  One line per event on stdout: TIME EVENT DETAILS, TIME as 2026-11-26T14:03:05.123 (local).
    listening ADDR
    options NAME=VALUE ...                    (the listener's socket options in effect:
                                               TCP_NODELAY, SO_KEEPALIVE [TCP_KEEPIDLE,
                                               TCP_KEEPINTVL, TCP_KEEPCNT], SO_RCVBUF,
                                               SO_SNDBUF, SO_REUSEADDR, SO_REUSEPORT,
                                               IPV6_V6ONLY, IP_TTL or IPV6_UNICAST_HOPS,
                                               SO_LINGER; sizes in bytes, times in s)
    accepted #ID PEER -> LOCAL
    tls #ID PEER VERSION SUITE [alpn=P] [sni=NAME] [peer-cert=\"SUBJECT\"] [unverified]
                                              (--tls: the handshake finished)
    received #ID PEER N bytes \"ESCAPED DATA\" [, NOTE]   (one line per message)
    sent #ID PEER N bytes \"ESCAPED DATA\"
      --data hex: the bytes as hex (`41 0a`) instead of quoted text;
      --data none: no data; one `received #ID PEER N bytes[, M messages]` line per batch of reads
    peer-finished #ID PEER                    (the client sent FIN; it can still be sent to)
    line #ID PEER \"ESCAPED LINE\"              (chat mode: a relayed line)
    unreported N lines                        (chat mode: stdout fell behind the relay)
    unreported N sends (M bytes)              (stdout fell behind the sends)
    closed #ID PEER REASON [, N bytes unsent]
    capturing to FILE                         (--capture)
    capture closed FILE, N bytes written
    stopped
    error MESSAGE

UDP OUTPUT
  `socklab udp`, the same way; one line per datagram.
    bound LOCAL
    joined GROUP [from SOURCE] [on IFACE]
    received PEER N bytes \"ESCAPED DATA\"
    sent PEER N bytes \"ESCAPED DATA\"
    unreported N datagrams (M bytes)          (stdout fell behind the socket)
    unreported N sends (M bytes)
    capturing to FILE / capture closed FILE, N bytes written
    stopped
    error MESSAGE                             (e.g. nothing to reply to yet; it goes on)
  NOTE: `checksum ok` or `checksum WRONG` (--check), `cut: over the maximum message size`,
  `incomplete message` (bytes left when the peer closed).

RUN OUTPUT
  `socklab run FILE...`: a header per run, then one line per finished step:
    RUN   http.toml
      PASS  1        350 µs  send on web: \"GET / HTTP/1.0\\r\\n\\r\\n\"
      FAIL  2        2.00 s  expect on web: starts with \"HTTP/1.1\"
              MESSAGE, then what was expected and what arrived: text and hex, 256 bytes at most
      SKIP  3                close web                     (not run after a failure)
    FAIL http.toml: step 2 of 3 failed after 2.01 s        (or PASS http.toml: 3 steps in 0.21 s)
  A step inside a `repeat` gets one line per repeat, with its count and mean time
  (`×100000, mean 32 µs`); a failing iteration is shown in full, with `[517/100000]`;
  --verbose shows every iteration. Exit 0: all passed; 1: a step failed; 2: invalid input.

RULES FILES
  --rules FILE answers each received message on the network thread, as the window's
  Responder page does (its \"Export rules…\" writes such a file):
    mode = \"first-match\"          # or \"all-matching\"
    framing = \"line\"              # optional, as --framing
    [[rule]]
    match = \"regex\"               # any, exact, starts-with, contains, ends-with, regex
    pattern = '^PING (\\d+)'
    reply = \"PONG {{1}} #{{counter}}\"
    line-ending = \"lf\"            # none, lf, crlf, cr
    delay-ms = 0
  Variables: {{counter}} {{counter:global}} {{time}} {{date}} {{unixtime}} {{uuid}}
  {{random:0..100}} {{peer}} {{echo}} {{len}} {{1}}… and checksums such as {{crc16-modbus}}.

  Data is escaped: \\n \\r \\t \\0 \\\\ and \\xNN for other control or non-UTF-8 bytes.

EXAMPLES
  socklab server 127.0.0.1:9999 --chat     group chat; try `nc 127.0.0.1 9999` twice
  socklab server [::1]:0                   any free port on IPv6 loopback
  socklab server 7 --echo                  an echo server on 127.0.0.1:7
  socklab server 502 --framing len:2@4 --rules plc.toml   answer like a device
  socklab client 127.0.0.1:9999 < request.txt > reply.bin
  socklab server 8443 --tls --alpn h2      TLS, self-signed for localhost and 127.0.0.1
  socklab client example.com:443 --tls --alpn http/1.1 < request.txt
                                           the certificate's details go to stderr
  socklab udp 5000                         UDP on 127.0.0.1:5000; stdin lines reply to the last sender
  socklab udp --to 192.0.2.7:514           send stdin lines there from any free port
  socklab udp 0.0.0.0:5000 --join 239.1.2.3@eth0     receive a multicast group on eth0
  socklab udp --broadcast --to 192.168.1.255:9       send to a broadcast address";

/// socklab: a TCP socket test bench. With no command it opens the window.
#[derive(Parser, Debug)]
#[command(name = "socklab", version, about, after_help = EVENT_FORMAT_HELP)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<CliCommand>,
    /// Without a command: a scenario file to open in the window's Scenarios page.
    #[arg(value_name = "SCENARIO")]
    pub scenario: Option<std::path::PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum CliCommand {
    /// Run a TCP server headless. Typed stdin lines go to every client; `quit` stops it.
    /// Ctrl-C or SIGTERM stop it too.
    Server(ServerArgs),
    /// Connect to a TCP server: stdin lines are sent, received bytes go to stdout
    /// (sockname and peername on stderr). Ends when the peer closes, or when stdin ends
    /// and everything is sent (waiting up to --wait for the peer's last bytes).
    Client(ClientArgs),
    /// Open a UDP socket headless: each datagram is printed with its source; stdin lines
    /// are sent as datagrams (newline included) to --to, or else to the last sender.
    /// `quit`, Ctrl-C or SIGTERM stop it; stdin ending does not.
    Udp(UdpArgs),
    /// Run scenario files (send/expect tests): every file is read and checked first, then
    /// each runs in turn. One line per step; on a failure what was expected and what
    /// arrived, as text and hex. Exit 0 when every step passed, 1 when one failed (or
    /// Ctrl-C stopped it), 2 when a file or an option is invalid.
    Run(RunArgs),
}

#[derive(Args, Debug)]
pub struct ServerArgs {
    /// Address to listen on: host:port or [v6addr]:port; port 0 picks a free port.
    #[arg(default_value = "127.0.0.1:9999")]
    pub addr: String,
    /// Group chat: relay each line a client sends to every client, stamped
    /// `YYYY/MM/DD HH:MM:SS ip:port`; a `quit` line leaves.
    #[arg(long)]
    pub chat: bool,
    /// Write every byte received from any client to FILE (replaced if it exists); bytes
    /// reach the file within 250 ms.
    #[arg(long, value_name = "FILE")]
    pub capture: Option<PathBuf>,
    /// How received data is printed: `text` (escaped, the default), `hex`, or `none` (one
    /// line per event with its size, no data: the fastest).
    #[arg(long, value_name = "HOW", default_value = "text")]
    pub data: DataOutput,
    #[command(flatten)]
    pub messages: MessageArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub socket: SocketArgs,
}

/// How the server and UDP commands print received and sent data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DataOutput {
    /// Escaped text: `\n`, `\xNN` for other control or non-UTF-8 bytes.
    #[default]
    Text,
    /// Hex bytes, space-separated.
    Hex,
    /// No data: sizes only.
    None,
}

#[derive(Args, Debug)]
pub struct ClientArgs {
    /// Address to connect to: host:port or [v6addr]:port.
    pub addr: String,
    /// Seconds to wait for the connection.
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    pub timeout: f64,
    /// Seconds to keep reading after stdin ended and everything was sent.
    #[arg(long, default_value_t = 1.0, value_name = "SECS")]
    pub wait: f64,
    /// Also write every received byte to FILE (replaced if it exists); bytes reach the
    /// file within 250 ms.
    #[arg(long, value_name = "FILE")]
    pub capture: Option<PathBuf>,
    #[command(flatten)]
    pub messages: MessageArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub socket: SocketArgs,
}

#[derive(Args, Debug)]
pub struct UdpArgs {
    /// Address to bind: IP:port or [v6addr]:port (port 0 picks a free port; a bare port
    /// means 127.0.0.1). Default: 0.0.0.0:0, or [::]:0 when --to (or else the first
    /// --join group) is IPv6.
    pub bind: Option<String>,
    /// Send stdin lines to this address (host:port; a name is resolved once, at start).
    /// Without it, each line goes to whoever sent the last datagram.
    #[arg(long, value_name = "ADDR")]
    pub to: Option<String>,
    /// Join a multicast group, on interface IFACE (a name such as eth0, or one of its
    /// addresses) or the system's choice. Repeatable: --join 239.1.2.3@127.0.0.1.
    #[arg(long = "join", value_name = "GROUP[@IFACE]")]
    pub joins: Vec<String>,
    /// Source-specific joins: only datagrams from this sender (IPv4).
    #[arg(long, value_name = "ADDR", requires = "joins")]
    pub source: Option<String>,
    /// Allow sending to broadcast addresses (SO_BROADCAST).
    #[arg(long)]
    pub broadcast: bool,
    /// Multicast TTL (IPv4) or hop limit (IPv6) of what is sent; the system's default is 1.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=255))]
    pub ttl: Option<u32>,
    /// Do not deliver what this socket sends to a group back to this machine's members.
    #[arg(long)]
    pub no_loop: bool,
    /// Write every received datagram's bytes to FILE (replaced if it exists); bytes reach
    /// the file within 250 ms.
    #[arg(long, value_name = "FILE")]
    pub capture: Option<PathBuf>,
    /// How received data is printed: `text` (escaped, the default), `hex`, or `none` (one
    /// line per batch with its size, no data).
    #[arg(long, value_name = "HOW", default_value = "text")]
    pub data: DataOutput,
    #[command(flatten)]
    pub messages: MessageArgs,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Scenario files (TOML), run one after another.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// A variable, overriding the file's `[vars]`: `--var host=10.0.0.7`. Repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Also write the results as JUnit XML to PATH (replaced if it exists).
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Run each file N times in a row.
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub repeat: u64,
    /// Print every iteration of steps inside a `repeat` (otherwise one line per step
    /// with its count, and failing iterations).
    #[arg(long)]
    pub verbose: bool,
}

/// Runs a headless command to completion.
pub fn run(command: CliCommand) -> ExitCode {
    let result = match command {
        CliCommand::Server(args) => server::run(args),
        CliCommand::Client(args) => client::run(args),
        CliCommand::Udp(args) => udp::run(args),
        CliCommand::Run(args) => run::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // An empty message: the command printed its own.
            if !failure.message.is_empty() {
                eprintln!("socklab: {}", failure.message);
            }
            ExitCode::from(failure.code)
        }
    }
}

/// Why a command ended badly: the line for stderr and the exit code.
#[derive(Debug, PartialEq, Eq)]
struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    /// Malformed input on the command line.
    fn usage(message: String) -> Self {
        Failure { message, code: 2 }
    }
    /// The network, or the engine, failed.
    fn runtime(message: String) -> Self {
        Failure { message, code: 1 }
    }
}

fn check_address(addr: &str) -> Result<(), Failure> {
    parse_endpoint(addr)
        .map(|_| ())
        .map_err(|e| Failure::usage(format!("{addr}: {e}")))
}

fn seconds(value: f64, name: &str) -> Result<Duration, Failure> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| Failure::usage(format!("--{name} must be a number of seconds, 0 or more")))
}

/// A new session whose capture (with `--capture`) is set before it starts, so the first
/// bytes received are captured too.
fn new_session_capturing(engine: &Engine, capture: Option<&std::path::Path>) -> SessionId {
    let session = engine.new_session_id();
    if let Some(path) = capture {
        let path = Some(path.to_path_buf());
        engine.execute(Command::Capture { session, path });
    }
    session
}

fn start_engine() -> Result<Engine, Failure> {
    Engine::spawn(|| {})
        .map_err(|e| Failure::runtime(format!("cannot start the network thread: {e}")))
}

/// Ctrl-C and SIGTERM arrive on this channel.
fn termination_signals() -> Receiver<()> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    // Without a handler the default action (exit) still applies; that is acceptable.
    let _ = ctrlc::set_handler(move || {
        let _ = tx.try_send(());
    });
    rx
}

/// Stdin lines, newline included, read on their own thread; the channel closes at EOF.
fn stdin_lines() -> Receiver<Vec<u8>> {
    let (tx, rx) = crossbeam_channel::bounded(64);
    let _ = std::thread::Builder::new()
        .name("socklab-stdin".into())
        .spawn(move || {
            let stdin = io::stdin();
            let mut stdin = stdin.lock();
            loop {
                let mut line = Vec::new();
                match stdin.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if tx.send(line).is_err() {
                            return;
                        }
                    }
                }
            }
        });
    rx
}

/// Writes one line to stdout at once.
fn print_line(line: &str) {
    let mut out = io::stdout().lock();
    // A closed stdout (e.g. `| head`) must not kill the server.
    let _ = out.write_all(line.as_bytes());
    let _ = out.write_all(b"\n");
    let _ = out.flush();
}

/// Stdout for a stream of event lines: buffered, and flushed whenever no further event
/// waits, so a busy server writes in large blocks and a quiet one shows each line at once.
struct EventLines {
    out: io::BufWriter<io::Stdout>,
}

impl EventLines {
    fn new() -> Self {
        EventLines {
            out: io::BufWriter::with_capacity(256 * 1024, io::stdout()),
        }
    }

    fn line(&mut self, line: &str) {
        // A closed stdout (e.g. `| head`) must not kill the server.
        let _ = self.out.write_all(line.as_bytes());
        let _ = self.out.write_all(b"\n");
    }

    /// Flushes unless `more_waiting`.
    fn caught_up(&mut self, more_waiting: bool) {
        if !more_waiting {
            let _ = self.out.flush();
        }
    }
}

impl Drop for EventLines {
    fn drop(&mut self) {
        let _ = self.out.flush();
    }
}
