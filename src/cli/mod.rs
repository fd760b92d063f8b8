//! The headless commands, `socklab server` and `socklab client`, on the same engine as
//! the window. Events go to stdout one line each; errors to stderr with a non-zero exit.
//!
//! - this module: the command-line syntax, the exit codes and the I/O both commands share;
//! - `format`: the server's output lines, a pure function of its events;
//! - `server` and `client`: the two event loops.

mod client;
mod format;
mod server;

use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use crossbeam_channel::Receiver;

use crate::engine::{Command, Engine, SessionId, parse_endpoint};

const EVENT_FORMAT_HELP: &str = "\
SERVER OUTPUT
  One line per event on stdout: TIME EVENT DETAILS, TIME as 2026-11-26T14:03:05.123 (local).
    listening ADDR
    accepted #ID PEER -> LOCAL
    received #ID PEER N bytes \"ESCAPED DATA\"
    sent #ID PEER N bytes \"ESCAPED DATA\"
    line #ID PEER \"ESCAPED LINE\"              (chat mode: a relayed line)
    unreported N lines                        (chat mode: stdout fell behind the relay)
    unreported N sends (M bytes)              (stdout fell behind the sends)
    closed #ID PEER REASON [, N bytes unsent]
    capturing to FILE                         (--capture)
    capture closed FILE, N bytes written
    stopped
    error MESSAGE
  Data is escaped: \\n \\r \\t \\0 \\\\ and \\xNN for other control or non-UTF-8 bytes.

EXAMPLES
  socklab server 127.0.0.1:9999 --chat     group chat; try `nc 127.0.0.1 9999` twice
  socklab server [::1]:0                   any free port on IPv6 loopback
  socklab client 127.0.0.1:9999 < request.txt > reply.bin";

/// socklab: a TCP socket test bench. With no command it opens the window.
#[derive(Parser, Debug)]
#[command(name = "socklab", version, about, after_help = EVENT_FORMAT_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<CliCommand>,
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
}

/// Runs a headless command to completion.
pub fn run(command: CliCommand) -> ExitCode {
    let result = match command {
        CliCommand::Server(args) => server::run(args),
        CliCommand::Client(args) => client::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("socklab: {}", failure.message);
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
