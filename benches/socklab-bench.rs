//! socklab-bench: drives the real engine (in-process) or the real binary over loopback with
//! its own load generator and prints one result line per scenario. It reports figures; it
//! never passes or fails on time.
//!
//! `cargo bench --bench socklab-bench -- [SCENARIO …]`, scenarios: chat, chat-1000, ingest,
//! ingest-idle, send, file, scale, churn, logview, flood, crowded, udp-ingest, udp-fanout,
//! udp-flood, responder, framing-ingest, scenario, tls-ingest, tls-handshakes, or all (the
//! default).

#[path = "socklab-bench/messages.rs"]
mod messages;
#[path = "socklab-bench/scenario.rs"]
mod scenario;
#[path = "socklab-bench/tls.rs"]
mod tls;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command as Process, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eframe::egui;
use mio::net::TcpStream as MioStream;
use mio::{Events, Interest, Poll, Token};
use socklab::engine::{
    Command, ConnInfo, Counters, Engine, Event, EventKind, Membership, ServerOptions, SessionId,
    Target, UdpOptions, UdpStats,
};
use socklab::model::log::{Direction, LogRow};
use socklab::model::persist::Saved;
use socklab::model::session::{Kind, Session};
use socklab::ui::{FormKind, SocklabApp};

const GIB: u64 = 1024 * 1024 * 1024;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("hold-clients") {
        hold_clients(&args[2], args[3].parse().unwrap());
        return;
    }
    raise_descriptor_limit();
    let mut scenarios: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if scenarios.is_empty() || scenarios.iter().any(|s| s == "all") {
        scenarios = [
            "chat",
            "chat-1000",
            "ingest",
            "ingest-idle",
            "send",
            "file",
            "scale",
            "churn",
            "logview",
            "flood",
            "crowded",
            "udp-ingest",
            "udp-fanout",
            "udp-flood",
            "responder",
            "framing-ingest",
            "scenario",
            "tls-ingest",
            "tls-handshakes",
        ]
        .map(String::from)
        .to_vec();
    }
    for scenario in scenarios {
        match scenario.as_str() {
            "chat" => chat(200, 50),
            "chat-1000" => chat(1000, 10),
            "ingest" => ingest(4 * GIB, 0),
            "ingest-idle" => ingest(4 * GIB, 10_000),
            "send" => send(4 * GIB),
            "file" => file(GIB),
            "scale" => scale(10_000),
            "churn" => {
                churn(100_000, false);
                churn(100_000, true);
            }
            "logview" => logview(1_000_000),
            "flood" => flood(Duration::from_secs(5)),
            "crowded" => crowded(10_000, 1_000_000),
            "udp-ingest" => udp_ingest(Duration::from_secs(3), 2),
            "udp-fanout" => udp_fanout(8, Duration::from_secs(3)),
            "udp-flood" => udp_flood(200_000, Duration::from_secs(5)),
            "responder" => messages::responder(100, 10_000),
            "framing-ingest" => messages::framing_ingest(4 * GIB),
            "scenario" => scenario::scenario(100_000),
            "tls-ingest" => tls::tls_ingest(4 * GIB),
            "tls-handshakes" => tls::tls_handshakes(100, Duration::from_secs(3)),
            other => eprintln!("unknown scenario {other:?}"),
        }
    }
}

// ---- helpers -------------------------------------------------------------------

fn rss_kib(pid: &str) -> u64 {
    status_field(pid, "VmRSS:")
}

fn status_field(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).map(|v| v.parse().unwrap_or(0)))
        })
        .unwrap_or(0)
}

/// Resets the peak-RSS counter of this process (Linux), so VmHWM measures one scenario.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn wait_listening(engine: &Engine, session: SessionId) -> SocketAddr {
    loop {
        let event = engine
            .events()
            .recv_timeout(Duration::from_secs(10))
            .expect("listening");
        match event.kind {
            EventKind::Listening { local } if event.session == session => return local,
            EventKind::ListenFailed { error } => panic!("listen failed: {error}"),
            _ => {}
        }
    }
}

/// Starts a child process (this benchmark, as `hold-clients ADDR N`) that connects `count`
/// clients to `addr`, says `ready`, and keeps them open until its stdin closes.
fn hold_idle_clients(addr: SocketAddr, count: usize) -> std::process::Child {
    let exe = std::env::current_exe().unwrap();
    let mut child = Process::new(exe)
        .args(["hold-clients", &addr.to_string(), &count.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready", "the client holder started");
    child
}

/// The child's side of [`hold_idle_clients`].
fn hold_clients(addr: &str, count: usize) {
    raise_descriptor_limit();
    let clients: Vec<TcpStream> = (0..count)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    println!("ready");
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
    drop(clients);
}

/// Takes the hard limit of open descriptors as the soft one (often 1,024 otherwise).
fn raise_descriptor_limit() {
    // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
    unsafe {
        let mut limit = std::mem::zeroed::<libc::rlimit>();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

fn gbps(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / elapsed.as_secs_f64() / 1e9
}

// ---- chat fan-out --------------------------------------------------------------

struct ChatClient {
    stream: MioStream,
    out: Vec<u8>,
    written: usize,
    partial: Vec<u8>,
    /// Relays alternate header and text lines.
    next_is_text: bool,
    received: u64,
}

fn chat(clients: usize, lines: usize) {
    let engine = Engine::spawn(|| {}).unwrap();
    let session = engine.listen(
        "127.0.0.1:0",
        ServerOptions {
            chat: true,
            ..Default::default()
        },
    );
    let addr = wait_listening(&engine, session);
    let joined = AtomicU64::new(0);
    let reported = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        // The owner's side: counts events as a window would, without slowing the relay.
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                if let Ok(event) = engine.events().recv_timeout(Duration::from_millis(50)) {
                    match event.kind {
                        EventKind::Connected(_) => {
                            joined.fetch_add(1, Ordering::Relaxed);
                        }
                        EventKind::ChatLine { .. } => {
                            reported.fetch_add(1, Ordering::Relaxed);
                        }
                        EventKind::LinesUnreported { count } => {
                            reported.fetch_add(count, Ordering::Relaxed);
                        }
                        _ => {}
                    }
                }
            }
        });
        let mut poll = Poll::new().unwrap();
        let mut members: Vec<ChatClient> = (0..clients)
            .map(|i| {
                let std = TcpStream::connect(addr).unwrap();
                std.set_nonblocking(true).unwrap();
                let mut stream = MioStream::from_std(std);
                poll.registry()
                    .register(
                        &mut stream,
                        Token(i),
                        Interest::READABLE | Interest::WRITABLE,
                    )
                    .unwrap();
                ChatClient {
                    stream,
                    out: Vec::new(),
                    written: 0,
                    partial: Vec::new(),
                    next_is_text: false,
                    received: 0,
                }
            })
            .collect();
        while joined.load(Ordering::Relaxed) < clients as u64 {
            std::thread::sleep(Duration::from_millis(5));
        }
        let start = Instant::now();
        for (i, member) in members.iter_mut().enumerate() {
            let now = start.elapsed().as_nanos();
            for seq in 0..lines {
                writeln!(member.out, "{i:05} {seq:05} {now:020}").unwrap();
            }
        }
        let expected = (clients * lines) as u64;
        let mut latencies: Vec<u32> = Vec::with_capacity(clients * clients * lines);
        let mut finished = 0;
        let mut events = Events::with_capacity(4096);
        let mut buf = vec![0u8; 256 * 1024];
        let deadline = Instant::now() + Duration::from_secs(120);
        while finished < clients && Instant::now() < deadline {
            // Writable edges may have fired before the lines existed: try every writer once.
            for member in members.iter_mut().filter(|m| m.written < m.out.len()) {
                write_some(member);
            }
            poll.poll(&mut events, Some(Duration::from_millis(100)))
                .unwrap();
            for event in events.iter() {
                let member = &mut members[event.token().0];
                if event.is_writable() {
                    write_some(member);
                }
                if event.is_readable() {
                    let before = member.received;
                    loop {
                        match member.stream.read(&mut buf) {
                            Ok(0) => break,
                            Ok(n) => {
                                let now = start.elapsed().as_nanos();
                                take_relays(member, &buf[..n], now, &mut latencies);
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                            Err(e) => panic!("client read: {e}"),
                        }
                    }
                    if before < expected && member.received >= expected {
                        finished += 1;
                    }
                }
            }
        }
        let elapsed = start.elapsed();
        done.store(true, Ordering::Relaxed);
        let delivered: u64 = members.iter().map(|m| m.received).sum();
        let lost = (expected * clients as u64).saturating_sub(delivered);
        latencies.sort_unstable();
        println!(
            "chat fan-out {clients} clients x {lines} lines: {delivered} deliveries in {:.3} s = {:.0} deliveries/s, latency p50 {:.2} ms p99 {:.2} ms, lost {lost}, server events {} lines",
            elapsed.as_secs_f64(),
            delivered as f64 / elapsed.as_secs_f64(),
            percentile(&latencies, 0.50) as f64 / 1000.0,
            percentile(&latencies, 0.99) as f64 / 1000.0,
            reported.load(Ordering::Relaxed),
        );
    });
}

fn write_some(member: &mut ChatClient) {
    while member.written < member.out.len() {
        match member.stream.write(&member.out[member.written..]) {
            Ok(n) => member.written += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
            Err(e) => panic!("client write: {e}"),
        }
    }
}

/// Counts complete relayed text lines and records each one's latency in microseconds.
fn take_relays(member: &mut ChatClient, data: &[u8], now_ns: u128, latencies: &mut Vec<u32>) {
    let mut rest = data;
    while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
        let (line, tail) = rest.split_at(newline);
        rest = &tail[1..];
        if member.next_is_text {
            let text = if member.partial.is_empty() {
                line
            } else {
                member.partial.extend_from_slice(line);
                &member.partial[..]
            };
            // "CCCCC SSSSS NNNN…": the send time in ns is the third field.
            if let Some(sent) = text
                .get(12..32)
                .and_then(|t| std::str::from_utf8(t).ok())
                .and_then(|t| t.parse::<u128>().ok())
            {
                latencies.push(((now_ns.saturating_sub(sent)) / 1000) as u32);
            }
            member.received += 1;
        }
        member.partial.clear();
        member.next_is_text = !member.next_is_text;
    }
    member.partial.extend_from_slice(rest);
}

// ---- ingest and send -----------------------------------------------------------

/// One client floods a server session; events go through the window's session model
/// (counted, and kept in the bounded log) exactly as the GUI applies them. With `idle`
/// clients connected first and left silent, it shows what idle connections cost the loop.
fn ingest(total: u64, idle: usize) {
    let engine = Engine::spawn(|| {}).unwrap();
    let session = engine.listen("127.0.0.1:0", ServerOptions::default());
    let addr = wait_listening(&engine, session);
    let mut model = Session::new(session, Kind::Server { chat: false }, addr.to_string());
    // The idle clients live in a child process, so neither process needs more than about
    // 10,000 descriptors.
    let mut holder = (idle > 0).then(|| hold_idle_clients(addr, idle));
    let mut accepted = 0;
    while accepted < idle {
        let Event { time, kind, .. } = engine
            .events()
            .recv_timeout(Duration::from_secs(30))
            .expect("idle clients accepted");
        accepted += usize::from(matches!(kind, EventKind::Connected(_)));
        model.apply(time, kind);
    }
    let start = Instant::now();
    let writer = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        let chunk = vec![0x5a_u8; 1 << 20];
        let mut sent = 0;
        while sent < total {
            let n = chunk.len().min((total - sent) as usize);
            stream.write_all(&chunk[..n]).unwrap();
            sent += n as u64;
        }
    });
    let mut received = 0u64;
    let mut events = 0u64;
    loop {
        let Event { time, kind, .. } = engine
            .events()
            .recv_timeout(Duration::from_secs(30))
            .expect("events");
        events += 1;
        if let EventKind::Received { data, .. } = &kind {
            received += data.len() as u64;
        }
        let closed = matches!(kind, EventKind::Closed { .. });
        model.apply(time, kind);
        if closed {
            break;
        }
    }
    let elapsed = start.elapsed();
    writer.join().unwrap();
    if let Some(holder) = &mut holder {
        // Closing its stdin lets the holder exit and close its clients.
        drop(holder.stdin.take());
        let _ = holder.wait();
    }
    println!(
        "ingest {:.1} GiB into a server session with {idle} idle clients, through the GUI event path: {:.2} GB/s ({events} events, received {received} = counter {}, log kept {} rows / {} MiB, dropped {} rows, RSS {} MiB)",
        total as f64 / GIB as f64,
        gbps(received, elapsed),
        model.totals().bytes_in,
        model.log.len(),
        model.log.bytes() >> 20,
        model.log.dropped(),
        rss_kib("self") >> 10,
    );
}

/// A sink: accepts one connection and reads until it closes; returns the bytes read.
fn sink() -> (SocketAddr, std::thread::JoinHandle<(u64, Duration)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        let mut start = None;
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    start.get_or_insert_with(Instant::now);
                    total += n as u64;
                }
            }
        }
        (total, start.map_or(Duration::ZERO, |s| s.elapsed()))
    });
    (addr, handle)
}

fn connect_client(engine: &Engine, addr: SocketAddr) -> (SessionId, ConnInfo) {
    let session = engine.connect(&addr.to_string(), Duration::from_secs(5));
    loop {
        let event = engine
            .events()
            .recv_timeout(Duration::from_secs(10))
            .expect("connected");
        match event.kind {
            EventKind::Connected(info) => return (session, info),
            EventKind::ConnectFailed { error } => panic!("connect failed: {error}"),
            _ => {}
        }
    }
}

/// A client session sends as fast as the window could ask it to, into a sink.
fn send(total: u64) {
    let engine = Engine::spawn(|| {}).unwrap();
    let (addr, sink) = sink();
    let (session, info) = connect_client(&engine, addr);
    let mut model = Session::new(session, Kind::Client, addr.to_string());
    let chunk = vec![0xa5_u8; 1 << 20];
    let mut queued = 0u64;
    while queued < total {
        // Keep 32 MiB in flight, as a repeat or file would.
        while queued < total && queued - info.counters.bytes_out() < 32 << 20 {
            let n = chunk.len().min((total - queued) as usize);
            engine.send(session, Target::All, chunk[..n].to_vec());
            queued += n as u64;
        }
        while let Ok(Event { time, kind, .. }) = engine.events().try_recv() {
            model.apply(time, kind);
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    engine.execute(Command::Stop { session });
    let (received, elapsed) = sink.join().unwrap();
    println!(
        "send {:.1} GiB from a client session to a sink: {:.2} GB/s (sink got {received} bytes, counter {})",
        total as f64 / GIB as f64,
        gbps(received, elapsed),
        info.counters.bytes_out(),
    );
}

/// A 1 GiB file streamed to a sink: throughput and the peak memory it took.
fn file(size: u64) {
    let path = std::env::temp_dir().join(format!("socklab-bench-{}.bin", std::process::id()));
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let block: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        for _ in 0..size / block.len() as u64 {
            out.write_all(&block).unwrap();
        }
    }
    let engine = Engine::spawn(|| {}).unwrap();
    let (addr, sink) = sink();
    let (session, _) = connect_client(&engine, addr);
    reset_peak_rss();
    let before = rss_kib("self");
    let transfer = engine.new_transfer_id();
    let start = Instant::now();
    engine.execute(Command::SendFile {
        session,
        target: Target::All,
        path: path.clone(),
        transfer,
        pacing: None,
    });
    loop {
        let event = engine
            .events()
            .recv_timeout(Duration::from_secs(60))
            .expect("transfer events");
        if let EventKind::TransferFinished { outcome, .. } = event.kind {
            assert_eq!(outcome, socklab::engine::TransferOutcome::Completed);
            break;
        }
    }
    engine.execute(Command::Stop { session });
    let (received, _) = sink.join().unwrap();
    let elapsed = start.elapsed();
    let peak = status_field("self", "VmHWM:");
    std::fs::remove_file(&path).unwrap();
    println!(
        "file {:.1} GiB sent from disk cache to a sink: {:.2} GB/s, {received} bytes received, RSS before {} MiB, peak {} MiB",
        size as f64 / GIB as f64,
        gbps(received, elapsed),
        before >> 10,
        peak >> 10,
    );
}

// ---- scale ---------------------------------------------------------------------

/// Starts the real `socklab server` with `args` (its address is chosen by the system) and
/// counts, on a thread, the stdout lines that contain `counted`.
fn spawn_server(
    args: &[&str],
    counted: &'static str,
) -> (Child, String, SocketAddr, Arc<AtomicU64>) {
    let mut server = Process::new(env!("CARGO_BIN_EXE_socklab"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = server.id().to_string();
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let addr: SocketAddr = first
        .split_once(" listening ")
        .unwrap()
        .1
        .trim()
        .parse()
        .unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let counter = count.clone();
    std::thread::spawn(move || {
        let mut line = String::new();
        while stdout.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            if line.contains(counted) {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            line.clear();
        }
    });
    (server, pid, addr, count)
}

/// 10,000 clients on the real `socklab server --chat` binary.
fn scale(clients: usize) {
    let (mut server, pid, addr, accepted) =
        spawn_server(&["server", "127.0.0.1:0", "--chat"], " accepted #");
    let idle_rss = rss_kib(&pid);
    let start = Instant::now();
    let mut poll = Poll::new().unwrap();
    let mut streams: Vec<MioStream> = Vec::with_capacity(clients);
    for i in 0..clients {
        let mut stream = MioStream::connect(addr).unwrap();
        poll.registry()
            .register(&mut stream, Token(i), Interest::READABLE)
            .unwrap();
        streams.push(stream);
        // Stay within the listen backlog: a dropped SYN costs a 1 s retransmit.
        while (i + 1) as u64 - accepted.load(Ordering::Relaxed) > 2000 {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    while accepted.load(Ordering::Relaxed) < clients as u64
        && start.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    let accept_time = start.elapsed();
    let all_accepted = accepted.load(Ordering::Relaxed);
    let full_rss = rss_kib(&pid);
    // One line from one client must reach every client.
    let relay_start = Instant::now();
    streams[0].write_all(b"hello ten thousand\n").unwrap();
    let mut reached = 0;
    let mut seen: HashMap<usize, Vec<u8>> = HashMap::new();
    let mut events = Events::with_capacity(4096);
    let mut buf = [0u8; 4096];
    while reached < clients && relay_start.elapsed() < Duration::from_secs(30) {
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .unwrap();
        for event in events.iter() {
            let i = event.token().0;
            loop {
                match streams[i].read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let got = seen.entry(i).or_default();
                        let before = got.windows(19).any(|w| w == b"hello ten thousand\n");
                        got.extend_from_slice(&buf[..n]);
                        if !before && got.windows(19).any(|w| w == b"hello ten thousand\n") {
                            reached += 1;
                        }
                    }
                    Err(_) => break,
                }
            }
        }
    }
    let relay_time = relay_start.elapsed();
    let _ = server.stdin.as_mut().unwrap().write_all(b"quit\n");
    drop(streams);
    let _ = server.wait();
    println!(
        "scale {clients} clients on `socklab server --chat`: {all_accepted} accepted in {:.3} s, server RSS {} MiB idle -> {} MiB with all connected, one line reached {reached} clients in {:.1} ms",
        accept_time.as_secs_f64(),
        idle_rss >> 10,
        full_rss >> 10,
        relay_time.as_secs_f64() * 1000.0,
    );
}

// ---- the window, headless ------------------------------------------------------

// ---- churn ---------------------------------------------------------------------

/// Descriptors and threads of process `pid`.
fn fds_and_threads(pid: &str) -> (usize, usize) {
    let count = |dir: String| std::fs::read_dir(dir).map_or(0, |d| d.count());
    (
        count(format!("/proc/{pid}/fd")),
        count(format!("/proc/{pid}/task")),
    )
}

/// `cycles` connect/disconnect cycles against the real `socklab server` (or `--chat`):
/// every third client sends a line first, every second one closes with RST. Reports the
/// rate and the server's descriptors, threads and RSS before and after.
fn churn(cycles: usize, chat: bool) {
    let mut args = vec!["server", "127.0.0.1:0"];
    if chat {
        args.push("--chat");
    } else {
        // A plain server keeps a finished client half-open by default; churn wants each
        // connection gone when its client leaves.
        args.extend(["--peer-fin", "close"]);
    }
    let (mut server, pid, addr, closed) = spawn_server(&args, " closed #");
    let (fds_before, threads_before) = fds_and_threads(&pid);
    let rss_before = rss_kib(&pid);
    let start = Instant::now();
    let workers = 2;
    let handles: Vec<_> = (0..workers)
        .map(|worker| {
            std::thread::spawn(move || {
                let mut failed = 0u64;
                for i in (worker..cycles).step_by(workers) {
                    let Ok(mut stream) = TcpStream::connect(addr) else {
                        failed += 1;
                        continue;
                    };
                    if i % 3 == 0 {
                        let _ = stream.write_all(b"churn line\n");
                    }
                    if i % 2 == 0 {
                        let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
                    }
                }
                failed
            })
        })
        .collect();
    let failed: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let connected = cycles as u64 - failed;
    while closed.load(Ordering::Relaxed) < connected && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let elapsed = start.elapsed();
    let (fds_after, threads_after) = fds_and_threads(&pid);
    let rss_after = rss_kib(&pid);
    let _ = server.stdin.as_mut().unwrap().write_all(b"quit\n");
    let _ = server.wait();
    println!(
        "churn {cycles} connect/disconnect cycles on `socklab server{}` (a third send a line, half close with RST): {:.0} cycles/s, {} closes seen, {failed} connects failed; server descriptors {fds_before} -> {fds_after}, threads {threads_before} -> {threads_after}, RSS {} -> {} MiB",
        if chat { " --chat" } else { "" },
        connected as f64 / elapsed.as_secs_f64(),
        closed.load(Ordering::Relaxed),
        rss_before >> 10,
        rss_after >> 10,
    );
}

fn frame_input(time: f64) -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1280.0, 800.0),
        )),
        time: Some(time),
        ..Default::default()
    }
}

/// Lays out one frame of the whole window and tessellates it; returns the thread's CPU time.
fn frame(ctx: &egui::Context, app: &mut SocklabApp, time: f64) -> Duration {
    let before = thread_cpu();
    let output = ctx.run_ui(frame_input(time), |ui| app.window_ui(ui));
    let _ = ctx.tessellate(output.shapes, output.pixels_per_point);
    thread_cpu().saturating_sub(before)
}

fn thread_cpu() -> Duration {
    // SAFETY: clock_gettime writes only the timespec passed to it.
    unsafe {
        let mut ts = std::mem::zeroed::<libc::timespec>();
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }
}

fn frame_stats(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (
        ms(times[times.len() / 2]),
        ms(times[(times.len() - 1) * 99 / 100]),
    )
}

fn logview(rows: usize) {
    let ctx = egui::Context::default();
    let mut app = SocklabApp::new(&ctx, Saved::default()).unwrap();
    let mut session = Session::restored(
        SessionId::for_test(u64::MAX),
        Kind::Server { chat: false },
        "127.0.0.1:9".into(),
    );
    let peer: SocketAddr = "127.0.0.1:50000".parse().unwrap();
    let before = rss_kib("self");
    let time = chrono::Local::now();
    for i in 0..rows {
        let data = format!("row {i:08} payload 0123456789\r\n");
        session.log.push(LogRow {
            time,
            direction: if i % 2 == 0 {
                Direction::Received
            } else {
                Direction::Sent
            },
            peer: Some(peer),
            data: data.as_bytes(),
            note: Default::default(),
        });
    }
    let after = rss_kib("self");
    let kept = session.log.len();
    app.insert_session(session);
    let mut times = Vec::new();
    for i in 0..300 {
        times.push(frame(&ctx, &mut app, i as f64 / 60.0));
    }
    let (p50, p99) = frame_stats(times[20..].to_vec());
    app.sessions_mut()[0].filter.text = "row 0099".into();
    let mut filtered = Vec::new();
    for i in 0..120 {
        filtered.push(frame(&ctx, &mut app, 11.0 + i as f64 / 60.0));
    }
    let worst_filter = filtered.iter().max().copied().unwrap_or_default();
    let matched = app.sessions()[0].filtered.len();
    let (f50, f99) = frame_stats(filtered);
    println!(
        "log view with {kept} rows: frame CPU p50 {p50:.2} ms p99 {p99:.2} ms; memory {:.0} bytes per row (36-byte payloads); text filter ({matched} matches): worst frame {:.1} ms, p50 {f50:.2} ms p99 {f99:.2} ms",
        ((after - before) * 1024) as f64 / rows as f64,
        worst_filter.as_secs_f64() * 1000.0,
    );
}

/// The real window with one socket of `kind` started on 127.0.0.1:0, once it is bound:
/// the app, the socket's address and the frame clock.
fn window_with_socket(ctx: &egui::Context, kind: FormKind) -> (SocklabApp, SocketAddr, f64) {
    let mut app = SocklabApp::new(ctx, Saved::default()).unwrap();
    app.start(kind, "127.0.0.1:0", false);
    let mut t = 0.0;
    loop {
        frame(ctx, &mut app, t);
        t += 0.016;
        if let Some(addr) = app.sessions()[0].local {
            return (app, addr, t);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Draws frames paced like a 60 Hz display for `duration`: each frame's wall and CPU time,
/// and the time it took.
fn frames_at_60hz(
    ctx: &egui::Context,
    app: &mut SocklabApp,
    t: &mut f64,
    duration: Duration,
) -> (Vec<Duration>, Vec<Duration>, Duration) {
    let start = Instant::now();
    let mut wall = Vec::new();
    let mut cpu = Vec::new();
    while start.elapsed() < duration {
        let began = Instant::now();
        cpu.push(frame(ctx, app, *t));
        wall.push(began.elapsed());
        *t += 1.0 / 60.0;
        if let Some(rest) = Duration::from_micros(16_667).checked_sub(began.elapsed()) {
            std::thread::sleep(rest);
        }
    }
    (wall, cpu, start.elapsed())
}

/// Frame times of the real window while a peer floods a server socket at full speed.
fn flood(duration: Duration) {
    let ctx = egui::Context::default();
    let (mut app, addr, mut t) = window_with_socket(&ctx, FormKind::Server);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let flooder = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        let chunk = vec![b'F'; 1 << 20];
        while !flag.load(Ordering::Relaxed) {
            if stream.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    reset_peak_rss();
    let (wall, cpu, elapsed) = frames_at_60hz(&ctx, &mut app, &mut t, duration);
    stop.store(true, Ordering::Relaxed);
    let received = app.sessions()[0].totals().bytes_in;
    // The flooder may be blocked in a write: keep taking events until it has finished it.
    while !flooder.is_finished() {
        frame(&ctx, &mut app, t);
        t += 1.0 / 60.0;
    }
    flooder.join().unwrap();
    let (w50, w99) = frame_stats(wall.clone());
    let (c50, c99) = frame_stats(cpu);
    let session = &app.sessions()[0];
    println!(
        "flood while drawing: {} frames in {:.1} s, frame wall p50 {w50:.2} ms p99 {w99:.2} ms (CPU p50 {c50:.2} ms p99 {c99:.2} ms), received {:.2} GB/s, log {} rows / {} MiB kept, {} dropped, peak RSS {} MiB",
        wall.len(),
        elapsed.as_secs_f64(),
        gbps(received, elapsed),
        session.log.len(),
        session.log.bytes() >> 20,
        session.log.dropped(),
        status_field("self", "VmHWM:") >> 10,
    );
}

/// Frame times of the real window while a peer sends 64-byte datagrams to a UDP socket at
/// `rate` a second; then whether every datagram sent was counted or dropped by the kernel.
fn udp_flood(rate: u64, duration: Duration) {
    let ctx = egui::Context::default();
    let (mut app, addr, mut t) = window_with_socket(&ctx, FormKind::Udp);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let sender = std::thread::spawn(move || {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let payload = [b'U'; 64];
        let started = Instant::now();
        let mut sent = 0u64;
        while !flag.load(Ordering::Relaxed) {
            // Paced in 1 ms steps: as many as the rate allows by now.
            let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
            while sent < due {
                if socket.send_to(&payload, addr).is_ok() {
                    sent += 1;
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        (sent, started.elapsed())
    });
    reset_peak_rss();
    let (wall, cpu, _) = frames_at_60hz(&ctx, &mut app, &mut t, duration);
    stop.store(true, Ordering::Relaxed);
    let (sent, sending) = sender.join().unwrap();
    // Let the kernel's drop count (read once a second) and the last events come in.
    let settle = Instant::now();
    while settle.elapsed() < Duration::from_millis(1500) {
        frame(&ctx, &mut app, t);
        t += 1.0 / 60.0;
        std::thread::sleep(Duration::from_millis(16));
    }
    let session = &app.sessions()[0];
    let udp = session.udp.as_ref().expect("a UDP session");
    let received = udp.totals.as_ref().map_or(0, |c| c.messages_in());
    let dropped = udp
        .stats
        .as_ref()
        .and_then(|s| s.kernel_drops())
        .unwrap_or(0);
    let balance = if sent == received + dropped {
        "balanced".to_string()
    } else {
        format!(
            "UNBALANCED by {}",
            sent as i64 - (received + dropped) as i64
        )
    };
    let (w50, w99) = frame_stats(wall.clone());
    let (c50, c99) = frame_stats(cpu);
    println!(
        "udp flood while drawing: {:.0} datagrams/s sent for {:.1} s, {} frames, frame wall p50 {w50:.2} ms p99 {w99:.2} ms (CPU p50 {c50:.2} ms p99 {c99:.2} ms); sent {sent} = received {received} + kernel drops {dropped}: {balance}; log {} rows kept, {} dropped; peak RSS {} MiB",
        sent as f64 / sending.as_secs_f64(),
        sending.as_secs_f64(),
        wall.len(),
        session.log.len(),
        session.log.dropped(),
        status_field("self", "VmHWM:") >> 10,
    );
}

// ---- crowded -------------------------------------------------------------------

/// Frame CPU of the crowded view: a server with `clients` real clients (as many as the
/// descriptor limit allows; both ends are in this process), a log of `rows` rows, and the
/// rate chart shown with a few seconds of live traffic behind it.
fn crowded(clients: usize, rows: usize) {
    let ctx = egui::Context::default();
    let mut saved = Saved::default();
    saved.options.show_chart = true;
    let mut app = SocklabApp::new(&ctx, saved).unwrap();
    app.start(FormKind::Server, "127.0.0.1:0", false);
    let mut t = 0.0;
    let mut next_frame = |app: &mut SocklabApp| {
        t += 1.0 / 60.0;
        frame(&ctx, app, t)
    };
    let addr = loop {
        next_frame(&mut app);
        if let Some(addr) = app.sessions()[0].local {
            break addr;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // One client in this process sends; the others are held by a child process.
    let mut sender = TcpStream::connect(addr).unwrap();
    let mut holder = hold_idle_clients(addr, clients - 1);
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.sessions()[0].conns.len() < clients && Instant::now() < deadline {
        next_frame(&mut app);
    }
    let time = chrono::Local::now();
    let peer = sender.local_addr().unwrap();
    let session = &mut app.sessions_mut()[0];
    for i in 0..rows {
        let data = format!("row {i:08} payload 0123456789\r\n");
        session.log.push(LogRow {
            time,
            direction: Direction::Received,
            peer: Some(peer),
            data: data.as_bytes(),
            note: Default::default(),
        });
    }
    // A few seconds of traffic at 60 Hz, so the chart has samples to draw.
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_secs(3) {
        sender.write_all(b"tick\n").unwrap();
        next_frame(&mut app);
        std::thread::sleep(Duration::from_millis(16));
    }
    let mut times = Vec::new();
    for _ in 0..300 {
        sender.write_all(b"tick\n").unwrap();
        times.push(next_frame(&mut app));
    }
    drop(holder.stdin.take());
    let _ = holder.wait();
    let (p50, p99) = frame_stats(times);
    let session = &app.sessions()[0];
    println!(
        "crowded view: {} clients, {} log rows, {} rate samples: frame CPU p50 {p50:.2} ms p99 {p99:.2} ms",
        session.conns.len(),
        session.log.len(),
        session.rates.history().len(),
    );
}

// ---- UDP -----------------------------------------------------------------------

/// Payload of every datagram the UDP scenarios send.
const DATAGRAM_BYTES: usize = 64;
/// SO_RCVBUF the engine asks for on its UDP sockets (`src/engine/udp.rs`); the plain
/// receiver asks for the same, so both start with the same room (capped by `rmem_max`).
const ENGINE_RECV_BUFFER: usize = 8 * 1024 * 1024;
/// The engine reads the kernel's drop count once a second; this much quiet after the last
/// datagram makes sure its figure is the final one.
const DROPS_SETTLE: Duration = Duration::from_millis(1200);

/// What one blast into one receiver came to.
struct UdpRun {
    /// Datagrams the kernel accepted from the sender (`send_to` returned their size).
    sent: u64,
    /// `send_to` calls that failed (they count as neither sent nor dropped).
    send_errors: u64,
    received: u64,
    /// The receiving sockets' drops column of `/proc/net/udp` (no room in the buffer).
    dropped: u64,
    /// From the first send to the last datagram read.
    elapsed: Duration,
    /// System-wide deltas over the run, as a cross-check of `dropped`: UDP RcvbufErrors
    /// from `/proc/net/snmp` and the loopback backlog's drops from `/proc/net/softnet_stat`.
    rcvbuf_errors: u64,
    backlog_drops: u64,
    /// CPU time of the receiving threads: the engine's net thread (or the plain loop's
    /// thread), and the owner thread that takes the engine's events.
    reader_cpu: Duration,
    owner_cpu: Duration,
}

impl UdpRun {
    /// Receiving cost per datagram, in ns of CPU: (reader, owner).
    fn cpu_per_datagram(&self) -> (f64, f64) {
        let per = |d: Duration| d.as_nanos() as f64 / self.received.max(1) as f64;
        (per(self.reader_cpu), per(self.owner_cpu))
    }

    fn rate(&self) -> f64 {
        self.received as f64 / self.elapsed.as_secs_f64()
    }

    /// `sent = received + dropped` (times `copies` for a group), in words.
    fn balance(&self, copies: u64) -> String {
        let expected = self.sent * copies;
        let accounted = self.received + self.dropped;
        let copies_text = if copies > 1 {
            format!(" x {copies}")
        } else {
            String::new()
        };
        let verdict = if expected == accounted {
            "balanced".to_string()
        } else {
            format!("UNBALANCED by {}", expected as i64 - accounted as i64)
        };
        format!(
            "sent {}{copies_text} = received {} + kernel drops {}: {verdict}; {} send errors; system RcvbufErrors +{}, backlog drops +{}",
            thousands(self.sent),
            thousands(self.received),
            thousands(self.dropped),
            self.send_errors,
            thousands(self.rcvbuf_errors),
            self.backlog_drops,
        )
    }
}

fn thousands(n: u64) -> String {
    socklab::engine::group_thousands(n)
}

/// System-wide counters read before and after a run.
struct SystemUdpCounters {
    rcvbuf_errors: u64,
    backlog_drops: u64,
}

impl SystemUdpCounters {
    fn read() -> Self {
        SystemUdpCounters {
            rcvbuf_errors: snmp_udp_field("RcvbufErrors"),
            backlog_drops: softnet_drops(),
        }
    }

    fn since(&self) -> (u64, u64) {
        let now = SystemUdpCounters::read();
        (
            now.rcvbuf_errors.saturating_sub(self.rcvbuf_errors),
            now.backlog_drops.saturating_sub(self.backlog_drops),
        )
    }
}

/// A field of the `Udp:` rows of `/proc/net/snmp` (a header row, then a value row).
fn snmp_udp_field(name: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("Udp:")).collect();
    let (Some(names), Some(values)) = (rows.first(), rows.get(1)) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == name)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// Packets dropped because a CPU's input backlog was full (second column, hex, per CPU).
fn softnet_drops() -> u64 {
    std::fs::read_to_string("/proc/net/softnet_stat")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter_map(|v| u64::from_str_radix(v, 16).ok())
        .sum()
}

/// The drops column of `/proc/net/udp` for `socket` (found by its inode).
fn socket_drops(socket: &std::net::UdpSocket) -> u64 {
    use std::os::fd::AsRawFd;
    // SAFETY: fstat writes only into `stat`, which lives for the call.
    let inode = unsafe {
        let mut stat = std::mem::zeroed::<libc::stat>();
        if libc::fstat(socket.as_raw_fd(), &mut stat) != 0 {
            return 0;
        }
        stat.st_ino.to_string()
    };
    std::fs::read_to_string("/proc/net/udp")
        .unwrap_or_default()
        .lines()
        .skip(1)
        .find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.get(9) == Some(&inode.as_str())).then(|| fields.last()?.parse().ok())?
        })
        .unwrap_or(0)
}

/// Sends 64-byte datagrams from `socket` to `to` as fast as the kernel takes them, for
/// `duration`; returns (sent, failed sends).
fn blast(socket: &std::net::UdpSocket, to: SocketAddr, duration: Duration) -> (u64, u64) {
    let payload = [0x55_u8; DATAGRAM_BYTES];
    let start = Instant::now();
    let (mut sent, mut errors) = (0u64, 0u64);
    loop {
        for _ in 0..64 {
            match socket.send_to(&payload, to) {
                Ok(_) => sent += 1,
                Err(_) => errors += 1,
            }
        }
        if start.elapsed() >= duration {
            return (sent, errors);
        }
    }
}

fn blast_sender() -> std::net::UdpSocket {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap()
}

/// The owner's side of the UDP scenarios: counts each session's datagrams as reported,
/// one by one in `DatagramsReceived` or together in `DatagramsUnreported`, until `done`.
fn count_reported_datagrams(
    engine: &Engine,
    done: &AtomicBool,
) -> (HashMap<SessionId, u64>, Duration) {
    let cpu_before = thread_cpu();
    let mut reported: HashMap<SessionId, u64> = HashMap::new();
    while !done.load(Ordering::Relaxed) {
        let Ok(event) = engine.events().recv_timeout(Duration::from_millis(20)) else {
            continue;
        };
        let count = match &event.kind {
            EventKind::DatagramsReceived { datagrams } => datagrams.len() as u64,
            EventKind::DatagramsUnreported { count, .. } => *count,
            _ => continue,
        };
        *reported.entry(event.session).or_default() += count;
    }
    (reported, thread_cpu().saturating_sub(cpu_before))
}

/// CPU time so far of this process's threads named `name` (Linux schedstat, in ns).
fn named_threads_cpu(name: &str) -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let mut total = 0u64;
    for task in tasks.flatten() {
        let path = task.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let schedstat = std::fs::read_to_string(path.join("schedstat")).unwrap_or_default();
        total += schedstat
            .split_whitespace()
            .next()
            .and_then(|ns| ns.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Duration::from_nanos(total)
}

/// Waits until the sum of `counters` has not moved for 100 ms; returns when it last moved.
fn wait_drained(counters: &[Arc<Counters>]) -> Instant {
    let total = || counters.iter().map(|c| c.messages_in()).sum::<u64>();
    let mut last = total();
    let mut moved = Instant::now();
    while moved.elapsed() < Duration::from_millis(100) {
        std::thread::sleep(Duration::from_millis(1));
        let now = total();
        if now != last {
            last = now;
            moved = Instant::now();
        }
    }
    moved
}

/// Opens a UDP session on `bind` and waits until it is open: its id, address, totals and
/// kernel statistics.
fn open_udp_session(
    engine: &Engine,
    bind: &str,
) -> (SessionId, SocketAddr, Arc<Counters>, Arc<UdpStats>) {
    let session = engine.open_udp(bind, None, UdpOptions::default());
    loop {
        let event = engine
            .events()
            .recv_timeout(Duration::from_secs(10))
            .expect("UDP open");
        match event.kind {
            EventKind::UdpOpened {
                local,
                totals,
                stats,
                ..
            } if event.session == session => return (session, local, totals, stats),
            EventKind::UdpFailed { error } => panic!("UDP open failed: {error}"),
            _ => {}
        }
    }
}

/// One blast of `duration` into engine sessions (all sharing `to`): `copies` is how many of
/// them receive each datagram. Returns the run and whether the owner's reported counts
/// matched the sessions' totals.
fn blast_engine(
    engine: &Engine,
    sessions: &[(SessionId, Arc<Counters>, Arc<UdpStats>)],
    sender: &std::net::UdpSocket,
    to: SocketAddr,
    duration: Duration,
) -> (UdpRun, String) {
    let done = AtomicBool::new(false);
    let system = SystemUdpCounters::read();
    let counters: Vec<Arc<Counters>> = sessions.iter().map(|(_, c, _)| c.clone()).collect();
    let net_cpu_before = named_threads_cpu("socklab-net");
    let (sent, send_errors, elapsed, (reported, owner_cpu), net_cpu) =
        std::thread::scope(|scope| {
            let owner = scope.spawn(|| count_reported_datagrams(engine, &done));
            let start = Instant::now();
            let (sent, errors) = blast(sender, to, duration);
            let last = wait_drained(&counters);
            let elapsed = last - start;
            let net_cpu = named_threads_cpu("socklab-net").saturating_sub(net_cpu_before);
            // The drop counts are read once a second, and the owner may still be behind.
            let settle = Instant::now() + DROPS_SETTLE.saturating_sub(last.elapsed());
            std::thread::sleep(settle.saturating_duration_since(Instant::now()));
            done.store(true, Ordering::Relaxed);
            (sent, errors, elapsed, owner.join().unwrap(), net_cpu)
        });
    let (rcvbuf_errors, backlog_drops) = system.since();
    let received: u64 = counters.iter().map(|c| c.messages_in()).sum();
    let dropped: u64 = sessions
        .iter()
        .map(|(_, _, stats)| stats.kernel_drops().unwrap_or(0))
        .sum();
    let reported_total: u64 = sessions
        .iter()
        .map(|(id, _, _)| reported.get(id).copied().unwrap_or(0))
        .sum();
    let each_matches = sessions
        .iter()
        .all(|(id, totals, _)| reported.get(id).copied().unwrap_or(0) == totals.messages_in());
    let events = format!(
        "owner's events reported {} datagrams {} the totals",
        thousands(reported_total),
        if each_matches {
            "= (per session)"
        } else {
            "DIFFERING FROM"
        }
    );
    let run = UdpRun {
        sent,
        send_errors,
        received,
        dropped,
        elapsed,
        rcvbuf_errors,
        backlog_drops,
        reader_cpu: net_cpu,
        owner_cpu,
    };
    (run, events)
}

/// The practical limit: one thread in a plain `recv_from` loop on a std socket with the
/// engine's buffer sizes, receiving the same blast.
fn blast_plain(duration: Duration) -> UdpRun {
    let receiver = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )
    .unwrap();
    let _ = receiver.set_recv_buffer_size(ENGINE_RECV_BUFFER);
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    receiver.bind(&any.into()).unwrap();
    let receiver: std::net::UdpSocket = receiver.into();
    receiver
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let to = receiver.local_addr().unwrap();
    let sender = blast_sender();
    let done = AtomicBool::new(false);
    let system = SystemUdpCounters::read();
    let (sent, send_errors, received, elapsed, reader_cpu) = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let cpu_before = thread_cpu();
            let mut buffer = vec![0u8; 65_536];
            let mut received = 0u64;
            let mut last = Instant::now();
            loop {
                match receiver.recv_from(&mut buffer) {
                    Ok(_) => {
                        received += 1;
                        last = Instant::now();
                    }
                    Err(_) if done.load(Ordering::Relaxed) => {
                        return (received, last, thread_cpu().saturating_sub(cpu_before));
                    }
                    Err(_) => {}
                }
            }
        });
        let start = Instant::now();
        let (sent, errors) = blast(&sender, to, duration);
        done.store(true, Ordering::Relaxed);
        let (received, last, cpu) = reader.join().unwrap();
        (sent, errors, received, last - start, cpu)
    });
    let (rcvbuf_errors, backlog_drops) = system.since();
    UdpRun {
        sent,
        send_errors,
        received,
        dropped: socket_drops(&receiver),
        elapsed,
        rcvbuf_errors,
        backlog_drops,
        reader_cpu,
        owner_cpu: Duration::ZERO,
    }
}

/// One sender blasts 64-byte datagrams at an engine UDP session, and in turn at a plain
/// `recv_from` loop, `rounds` times each, alternating so machine noise hits both alike.
fn udp_ingest(duration: Duration, rounds: usize) {
    let mut engine_runs = Vec::new();
    let mut plain_runs = Vec::new();
    for round in 1..=rounds {
        let plain = blast_plain(duration);
        println!(
            "  udp-ingest round {round} plain recv_from loop: {:.0} datagrams/s, reader CPU {:.0} ns/datagram; {}",
            plain.rate(),
            plain.cpu_per_datagram().0,
            plain.balance(1)
        );
        plain_runs.push(plain);
        let engine = Engine::spawn(|| {}).unwrap();
        let (session, local, totals, stats) = open_udp_session(&engine, "127.0.0.1:0");
        let sender = blast_sender();
        let (run, events) = blast_engine(
            &engine,
            &[(session, totals, stats)],
            &sender,
            local,
            duration,
        );
        println!(
            "  udp-ingest round {round} engine session: {:.0} datagrams/s, net thread CPU {:.0} ns/datagram + owner {:.0} ns/datagram; {}; {events}",
            run.rate(),
            run.cpu_per_datagram().0,
            run.cpu_per_datagram().1,
            run.balance(1)
        );
        engine_runs.push(run);
    }
    let overall = |runs: &[UdpRun]| {
        let received: u64 = runs.iter().map(|r| r.received).sum();
        let seconds: f64 = runs.iter().map(|r| r.elapsed.as_secs_f64()).sum();
        received as f64 / seconds
    };
    let loss = |runs: &[UdpRun]| {
        let sent: u64 = runs.iter().map(|r| r.sent).sum();
        let dropped: u64 = runs.iter().map(|r| r.dropped).sum();
        100.0 * dropped as f64 / sent.max(1) as f64
    };
    let (engine_rate, plain_rate) = (overall(&engine_runs), overall(&plain_runs));
    let cpu = |runs: &[UdpRun], owner: bool| {
        let received: u64 = runs.iter().map(|r| r.received).sum();
        let cpu: Duration = runs
            .iter()
            .map(|r| if owner { r.owner_cpu } else { r.reader_cpu })
            .sum();
        cpu.as_nanos() as f64 / received.max(1) as f64
    };
    let (engine_ns, owner_ns, plain_ns) = (
        cpu(&engine_runs, false),
        cpu(&engine_runs, true),
        cpu(&plain_runs, false),
    );
    println!(
        "udp-ingest {DATAGRAM_BYTES}-byte datagrams blasted for {:.0} s, {rounds} rounds each: engine session {:.0} datagrams/s ({:.1} % dropped by the kernel), plain recv_from loop {:.0} datagrams/s ({:.1} % dropped); engine/plain {:.0} %; receiving CPU per datagram: engine net thread {engine_ns:.0} ns (+ owner thread {owner_ns:.0} ns), plain loop {plain_ns:.0} ns, so one core receives at most {:.0} (engine) / {:.0} (plain) datagrams/s = {:.0} %",
        duration.as_secs_f64(),
        engine_rate,
        loss(&engine_runs),
        plain_rate,
        loss(&plain_runs),
        100.0 * engine_rate / plain_rate,
        1e9 / engine_ns,
        1e9 / plain_ns,
        100.0 * plain_ns / engine_ns,
    );
}

/// One sender, `members` engine sessions bound to one multicast group and port, each
/// joined on loopback: every datagram is delivered to every session.
fn udp_fanout(members: usize, duration: Duration) {
    const GROUP: &str = "239.1.2.3";
    let engine = Engine::spawn(|| {}).unwrap();
    let (first, local, totals, stats) = open_udp_session(&engine, &format!("{GROUP}:0"));
    let mut sessions = vec![(first, totals, stats)];
    for _ in 1..members {
        // The engine sets SO_REUSEADDR on multicast binds, so the port can be shared.
        let (session, _, totals, stats) = open_udp_session(&engine, &local.to_string());
        sessions.push((session, totals, stats));
    }
    for (session, _, _) in &sessions {
        let membership = Membership {
            group: GROUP.parse().unwrap(),
            interface: "127.0.0.1".into(),
            source: None,
        };
        engine.execute(Command::JoinGroup {
            session: *session,
            membership,
        });
    }
    let mut joined = 0;
    while joined < members {
        let event = engine
            .events()
            .recv_timeout(Duration::from_secs(10))
            .expect("joined");
        match event.kind {
            EventKind::Joined { .. } => joined += 1,
            EventKind::Error { message } => panic!("join failed: {message}"),
            _ => {}
        }
    }
    let sender = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )
    .unwrap();
    sender
        .set_multicast_if_v4(&"127.0.0.1".parse().unwrap())
        .unwrap();
    sender.set_multicast_loop_v4(true).unwrap();
    let sender: std::net::UdpSocket = sender.into();
    let (run, events) = blast_engine(&engine, &sessions, &sender, local, duration);
    let expected = run.sent * members as u64;
    let per_session: Vec<String> = sessions
        .iter()
        .map(|(_, totals, _)| thousands(totals.messages_in()))
        .collect();
    println!(
        "udp-fanout one sender to {members} engine sessions on {local} (joined on 127.0.0.1), {DATAGRAM_BYTES}-byte datagrams for {:.0} s: {:.0} deliveries/s ({:.0} datagrams/s sent; net thread CPU {:.0} ns/delivery), lost {} of {} ({:.1} %); {}; {events}; per session {}",
        duration.as_secs_f64(),
        run.rate(),
        run.sent as f64 / run.elapsed.as_secs_f64(),
        run.cpu_per_datagram().0,
        thousands(expected.saturating_sub(run.received)),
        thousands(expected),
        100.0 * expected.saturating_sub(run.received) as f64 / expected.max(1) as f64,
        run.balance(members as u64),
        per_session.join(", "),
    );
}
