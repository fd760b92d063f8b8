//! The headless commands, `socklab server` and `socklab client`, on the same engine as
//! the window. Events go to stdout one line each; errors to stderr with a non-zero exit.

use std::collections::HashMap;
use std::io::{self, BufRead, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::{DateTime, Local};
use clap::{Args, Parser, Subcommand};
use crossbeam_channel::{Receiver, never, select};

use crate::engine::{
    CloseReason, Command, ConnId, Engine, Event, EventKind, ServerOptions, Target, parse_endpoint,
};
use crate::payload::escape_for_display;

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
}

/// Runs a headless command to completion.
pub fn run(command: CliCommand) -> ExitCode {
    let result = match command {
        CliCommand::Server(args) => run_server(args),
        CliCommand::Client(args) => run_client(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("socklab: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    fn usage(message: String) -> Self {
        Failure { message, code: 2 }
    }
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

fn stamp(time: &DateTime<Local>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}

fn print_line(text: std::fmt::Arguments) {
    let mut out = io::stdout().lock();
    // A closed stdout (e.g. `| head`) must not kill the server.
    let _ = out.write_fmt(text);
    let _ = out.write_all(b"\n");
    let _ = out.flush();
}

fn run_server(args: ServerArgs) -> Result<(), Failure> {
    check_address(&args.addr)?;
    let engine = start_engine()?;
    let signals = termination_signals();
    let mut stdin = stdin_lines();
    let session = engine.listen(&args.addr, ServerOptions { chat: args.chat });
    let mut peers: HashMap<ConnId, SocketAddr> = HashMap::new();
    let mut stopping: Option<Instant> = None;
    let mut listening = false;
    let peer_of = |peers: &HashMap<ConnId, SocketAddr>, conn: &ConnId| {
        peers
            .get(conn)
            .map_or_else(|| "?".into(), |p| p.to_string())
    };
    loop {
        if let Some(since) = stopping
            && (!listening || since.elapsed() > Duration::from_secs(6))
        {
            return Ok(());
        }
        let mut stop_now = false;
        select! {
            recv(engine.events()) -> event => {
                let Ok(Event { time, kind, .. }) = event else { return Ok(()) };
                let t = stamp(&time);
                match kind {
                    EventKind::Listening { local } => {
                        listening = true;
                        print_line(format_args!("{t} listening {local}"));
                    }
                    EventKind::ListenFailed { error } => {
                        return Err(Failure::runtime(format!("cannot listen on {}: {error}", args.addr)));
                    }
                    EventKind::Connected(info) => {
                        peers.insert(info.conn, info.peer);
                        print_line(format_args!("{t} accepted #{} {} -> {}", info.conn.get(), info.peer, info.local));
                    }
                    EventKind::Received { conn, data } => print_line(format_args!(
                        "{t} received #{} {} {} bytes \"{}\"",
                        conn.get(), peer_of(&peers, &conn), data.len(), escape_for_display(&data)
                    )),
                    EventKind::Sent { conn, data } => print_line(format_args!(
                        "{t} sent #{} {} {} bytes \"{}\"",
                        conn.get(), peer_of(&peers, &conn), data.len(), escape_for_display(&data)
                    )),
                    EventKind::ChatLine { conn, peer, line } => print_line(format_args!(
                        "{t} line #{} {peer} \"{}\"", conn.get(), escape_for_display(&line)
                    )),
                    EventKind::LinesUnreported { count } => print_line(format_args!("{t} unreported {count} lines")),
                    EventKind::SendsUnreported { messages, bytes } => {
                        print_line(format_args!("{t} unreported {messages} sends ({bytes} bytes)"));
                    }
                    EventKind::Closed { conn, reason, unsent } => {
                        let peer = peer_of(&peers, &conn);
                        peers.remove(&conn);
                        let unsent = if unsent > 0 { format!(", {unsent} bytes unsent") } else { String::new() };
                        print_line(format_args!("{t} closed #{} {peer} {reason}{unsent}", conn.get()));
                    }
                    EventKind::Stopped => {
                        // The engine reports every connection's close before this.
                        print_line(format_args!("{t} stopped"));
                        listening = false;
                    }
                    EventKind::Error { message } => print_line(format_args!("{t} error {message}")),
                    EventKind::EngineFailed { error } => return Err(Failure::runtime(error)),
                    // Repeats, transfers and captures are started from the window only.
                    _ => {}
                }
            }
            recv(stdin) -> line => match line {
                Ok(line) if line.trim_ascii() == b"quit" => stop_now = true,
                Ok(line) => engine.send(session, Target::All, line),
                // Stdin ended (e.g. started with < /dev/null): keep serving.
                Err(_) => stdin = never(),
            },
            recv(signals) -> _ => stop_now = true,
            default(Duration::from_millis(200)) => {}
        }
        if stop_now && stopping.is_none() {
            stopping = Some(Instant::now());
            engine.execute(Command::Stop { session });
        }
    }
}

fn run_client(args: ClientArgs) -> Result<(), Failure> {
    check_address(&args.addr)?;
    let timeout = seconds(args.timeout, "timeout")?;
    let wait = seconds(args.wait, "wait")?;
    let engine = start_engine()?;
    let signals = termination_signals();
    let lines = stdin_lines();
    let session = engine.connect(&args.addr, timeout);
    let mut stdin: Receiver<Vec<u8>> = never();
    let mut finish_deadline: Option<Instant> = None;
    loop {
        if finish_deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return Ok(());
        }
        select! {
            recv(engine.events()) -> event => {
                let Ok(Event { kind, .. }) = event else { return Ok(()) };
                match kind {
                    EventKind::ConnectFailed { error } => {
                        return Err(Failure::runtime(format!("cannot connect to {}: {error}", args.addr)));
                    }
                    EventKind::Connected(info) => {
                        eprintln!("socklab: connected, sockname {} peername {}", info.local, info.peer);
                        stdin = lines.clone();
                    }
                    EventKind::Received { data, .. } => {
                        let mut out = io::stdout().lock();
                        if out.write_all(&data).and_then(|()| out.flush()).is_err() {
                            // Nobody reads our output any more: stop like `nc` would.
                            return Ok(());
                        }
                    }
                    EventKind::SendingFinished { .. } => {
                        finish_deadline = Some(Instant::now() + wait);
                    }
                    // Interrupted before the connection was made.
                    EventKind::Stopped => return Ok(()),
                    EventKind::Closed { reason, unsent, .. } => {
                        return match reason {
                            CloseReason::PeerClosed | CloseReason::Closed if unsent == 0 => Ok(()),
                            reason if unsent > 0 => Err(Failure::runtime(format!("connection closed ({reason}), {unsent} bytes not sent"))),
                            CloseReason::PeerClosed | CloseReason::Closed => Ok(()),
                            reason => Err(Failure::runtime(format!("connection closed: {reason}"))),
                        };
                    }
                    EventKind::Error { message } => eprintln!("socklab: {message}"),
                    EventKind::EngineFailed { error } => return Err(Failure::runtime(error)),
                    _ => {}
                }
            }
            recv(stdin) -> line => match line {
                Ok(line) => engine.send(session, Target::All, line),
                Err(_) => {
                    stdin = never();
                    engine.execute(Command::FinishSending { session });
                }
            },
            recv(signals) -> _ => {
                engine.execute(Command::Stop { session });
                finish_deadline.get_or_insert(Instant::now() + Duration::from_secs(2));
            }
            default(Duration::from_millis(100)) => {}
        }
    }
}
