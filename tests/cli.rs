//! The built `socklab` binary, run headless as a user would.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use common::*;

fn socklab(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_socklab"));
    command.args(args);
    command
}

/// A running `socklab`, killed and reaped when dropped: a failing test leaves no process
/// behind and cannot hang on one.
struct Running {
    child: Child,
}

impl Running {
    fn spawn(command: &mut Command) -> Self {
        Running {
            child: command.spawn().expect("socklab starts"),
        }
    }

    /// Waits for the process to end, failing the test after [`WAIT`].
    fn wait_bounded(&mut self) -> ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "socklab did not exit in time");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything it wrote to a piped stdout or stderr, once it has ended.
    fn output(&mut self) -> (Vec<u8>, String) {
        let mut out = Vec::new();
        let mut err = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            stdout.read_to_end(&mut out).unwrap();
        }
        if let Some(mut stderr) = self.child.stderr.take() {
            stderr.read_to_string(&mut err).unwrap();
        }
        (out, err)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs to completion with no stdin; returns (status, stdout, stderr).
fn run(args: &[&str]) -> (ExitStatus, String, String) {
    run_command(&mut socklab(args))
}

fn run_command(command: &mut Command) -> (ExitStatus, String, String) {
    let mut process = Running::spawn(
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let status = process.wait_bounded();
    let (out, err) = process.output();
    (status, String::from_utf8(out).unwrap(), err)
}

struct Server {
    process: Running,
    lines: Receiver<String>,
    addr: SocketAddr,
    /// The `options …` line printed after `listening`.
    options: String,
}

impl Server {
    fn type_line(&mut self, line: &[u8]) {
        let stdin = self.process.child.stdin.as_mut().unwrap();
        stdin.write_all(line).unwrap();
    }
}

fn start_server(extra: &[&str]) -> Server {
    start_server_on("127.0.0.1:0", extra)
}

fn start_server_on(addr: &str, extra: &[&str]) -> Server {
    let mut args = vec!["server", addr];
    args.extend_from_slice(extra);
    let mut process = Running::spawn(
        socklab(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let lines = stdout_lines(process.child.stdout.take().unwrap());
    // Only a capture's line may come before the address.
    let mut first = next_line(&lines);
    if first.contains(" capturing to ") {
        first = next_line(&lines);
    }
    let addr = first
        .split_once(" listening ")
        .unwrap_or_else(|| panic!("the address is announced first: {first:?}"))
        .1
        .trim()
        .parse()
        .unwrap();
    // The listener's options in effect come next, once.
    let options = next_line(&lines);
    assert!(options.contains(" options TCP_NODELAY="), "{options:?}");
    Server {
        process,
        lines,
        addr,
        options,
    }
}

/// Stdout lines, read on their own thread so that a silent process fails the test after
/// [`WAIT`] instead of blocking it.
fn stdout_lines(stdout: ChildStdout) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        loop {
            let mut line = String::new();
            match stdout.read_line(&mut line) {
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

fn next_line(lines: &Receiver<String>) -> String {
    match lines.recv_timeout(WAIT) {
        Ok(line) => line,
        Err(RecvTimeoutError::Timeout) => panic!("no stdout line within {WAIT:?}"),
        Err(RecvTimeoutError::Disconnected) => panic!("stdout ended early"),
    }
}

fn line_with(lines: &Receiver<String>, needle: &str) -> String {
    for _ in 0..50 {
        let line = next_line(lines);
        if line.contains(needle) {
            return line;
        }
    }
    panic!("no line with {needle:?}");
}

/// Accepts one connection, failing the test after [`WAIT`].
fn accept_bounded(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        match listener.accept() {
            Ok((stream, addr)) => {
                stream.set_nonblocking(false).unwrap();
                return (stream, addr);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "no connection within {WAIT:?}");
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

#[test]
fn chat_server_relays_logs_and_quits_on_stdin_quit() {
    let mut server = start_server(&["--chat"]);
    let mut a = client(server.addr);
    let mut b = BufReader::new(client(server.addr));
    let a_addr = a.local_addr().unwrap();
    line_with(
        &server.lines,
        &format!("accepted #1 {a_addr} -> {}", server.addr),
    );
    line_with(&server.lines, "accepted #2");
    a.write_all("hi\tthere 你好\r\n".as_bytes()).unwrap();
    assert_eq!(read_relay(&mut b, a_addr), "hi\tthere 你好");
    let logged = line_with(&server.lines, " line ");
    assert!(
        logged.ends_with(&format!(" line #1 {a_addr} \"hi\\tthere 你好\"\n")),
        "{logged:?}"
    );
    server.type_line(b"quit\n");
    assert!(line_with(&server.lines, "closed #").contains("server stopped"));
    line_with(&server.lines, " stopped");
    assert!(server.process.wait_bounded().success());
    let mut a = BufReader::new(a);
    assert_eq!(
        read_relay(&mut a, a_addr),
        "hi\tthere 你好",
        "the sender gets its own line too"
    );
    assert_eq!(read_to_close(a.get_mut()).unwrap(), b"");
}

#[test]
fn a_bare_port_listens_on_loopback() {
    // Port 0: a fixed port might be taken on the machine running the tests.
    for bare in ["0", ":0"] {
        let mut server = start_server_on(bare, &[]);
        assert_eq!(
            server.addr.ip(),
            std::net::Ipv4Addr::LOCALHOST,
            "`socklab server {bare}` listens on 127.0.0.1"
        );
        assert_ne!(server.addr.port(), 0);
        let client = TcpStream::connect(server.addr).unwrap();
        let accepted = next_line(&server.lines);
        assert!(
            accepted.contains(&format!("accepted #1 {}", client.local_addr().unwrap())),
            "{accepted}"
        );
        server.type_line(b"quit\n");
    }
}

#[test]
fn plain_server_logs_received_bytes_and_broadcasts_stdin_lines() {
    let mut server = start_server(&[]);
    let mut a = client(server.addr);
    line_with(&server.lines, "accepted #1");
    a.write_all(b"GET /\r\n").unwrap();
    let logged = line_with(&server.lines, "received");
    let expected = format!(
        "received #1 {} 7 bytes \"GET /\\r\\n\"\n",
        a.local_addr().unwrap()
    );
    assert!(logged.ends_with(&expected), "{logged:?}");
    server.type_line(b"hello client\n");
    assert_eq!(read_exact(&mut a, 13), b"hello client\n");
    line_with(&server.lines, "sent #1");
    send_sigterm(&server.process.child);
    assert!(
        server.process.wait_bounded().success(),
        "SIGTERM ends it cleanly"
    );
}

fn send_sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn client_sends_stdin_prints_replies_and_addresses() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut process = Running::spawn(
        socklab(&["client", &addr.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let (mut peer, peer_addr) = accept_bounded(&listener);
    peer.set_read_timeout(Some(WAIT)).unwrap();
    let mut stdin = process.child.stdin.take().unwrap();
    stdin.write_all(b"hello\nworld\n").unwrap();
    drop(stdin);
    let mut request = Vec::new();
    peer.read_to_end(&mut request).unwrap();
    assert_eq!(request, b"hello\nworld\n");
    peer.write_all(b"reply\x00\n").unwrap();
    drop(peer);
    let status = process.wait_bounded();
    let (out, err) = process.output();
    assert!(status.success(), "{err}");
    assert_eq!(out, b"reply\x00\n");
    assert!(
        err.contains(&format!("sockname {peer_addr} peername {addr}")),
        "{err}"
    );
}

#[test]
fn bad_input_gives_one_clear_line_and_a_non_zero_exit() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap().to_string();
    let refused_addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let cases: [(&[&str], i32, &str); 4] = [
        (
            &["server", "127.0.0.1:99999"],
            2,
            "not a valid port: \"99999\"",
        ),
        (&["server", &taken_addr], 1, "address already in use"),
        (&["client", &refused_addr], 1, "connection refused"),
        (&["client", "::1:80"], 2, "brackets"),
    ];
    for (args, code, message) in cases {
        let (status, _, err) = run(args);
        assert_eq!(status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(
            err.lines().filter(|l| l.starts_with("socklab:")).count(),
            1,
            "{err}"
        );
    }
}

#[test]
fn a_failed_engine_ends_the_server_with_exit_code_1_and_the_reason() {
    // The `socklab` that tests run is built with the `testing` feature, which reads this.
    let (status, out, err) =
        run_command(socklab(&["server", "127.0.0.1:0"]).env("SOCKLAB_TEST_FAIL_ENGINE", "1"));
    assert_eq!(status.code(), Some(1), "{err}");
    let out: Vec<&str> = out.lines().collect();
    assert!(
        matches!(&out[..], [listening, options]
            if listening.contains(" listening 127.0.0.1:") && options.contains(" options ")),
        "it failed once listening, after printing that and the options: {out:?}"
    );
    assert_eq!(
        err, "socklab: the network loop failed: injected by a test\n",
        "the reason, alone, on stderr"
    );
}

#[test]
fn server_socket_flags_reach_the_listener_and_are_printed_once_after_listening() {
    let server = start_server(&["--nodelay", "off", "--rcvbuf", "65536", "--ttl", "9"]);
    let options = &server.options;
    assert!(options.contains(" options TCP_NODELAY=off "), "{options}");
    assert!(options.contains(" IP_TTL=9 "), "{options}");
    let rcvbuf: usize = options
        .split_once(" SO_RCVBUF=")
        .and_then(|(_, rest)| rest.split(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("SO_RCVBUF is printed: {options}"));
    assert!(
        rcvbuf >= 65_536,
        "the kernel keeps at least what was asked: {rcvbuf}"
    );
}

#[test]
fn client_close_rst_resets_the_connection_on_sigterm_and_prints_its_options() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut process = Running::spawn(
        socklab(&[
            "client",
            &addr.to_string(),
            "--close",
            "rst",
            "--keepalive",
            "30",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped()),
    );
    let (mut peer, _) = accept_bounded(&listener);
    peer.set_read_timeout(Some(WAIT)).unwrap();
    // Stdin is read once connected: a line that arrives proves the client is connected.
    let stdin = process.child.stdin.as_mut().unwrap();
    stdin.write_all(b"hi\n").unwrap();
    assert_eq!(read_exact(&mut peer, 3), b"hi\n");
    send_sigterm(&process.child);
    let error = peer.read(&mut [0; 8]).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset);
    let status = process.wait_bounded();
    let (_, err) = process.output();
    assert!(
        status.success(),
        "a reset the user asked for is not a failure: {err}"
    );
    let options = err
        .lines()
        .find(|line| line.starts_with("socklab: options "))
        .unwrap_or_else(|| panic!("one options line on stderr: {err}"));
    assert!(
        options.contains(" SO_KEEPALIVE=on TCP_KEEPIDLE=30s "),
        "{options}"
    );
}

#[test]
fn bad_socket_flags_are_refused_before_anything_opens() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["server", "0", "--rcvbuf", "lots"],
            "--rcvbuf: a buffer size in bytes must be a whole number",
        ),
        (
            &["server", "0", "--keepalive", "60,0"],
            "--keepalive: the interval in seconds must be a whole number from 1 to 32767",
        ),
        (&["server", "0", "--ttl", "256"], "--ttl: the TTL must be"),
        (
            &["server", "0", "--bind", "127.0.0.1:0"],
            "--bind is for `socklab client`",
        ),
        (
            &["client", "127.0.0.1:9", "--bind", "here"],
            "--bind: \"here\" is not a local address",
        ),
    ];
    for (args, message) in cases {
        let (status, out, err) = run(args);
        assert_eq!(status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(out.is_empty(), "nothing opened: {out}");
    }
}

/// The size the capture was first found lacking at: just under the old 1 MiB buffer.
const CAPTURED: usize = 1_024_020;

/// Waits until `path` holds `len` bytes, failing the test after [`WAIT`]; returns how long.
fn wait_for_file_len(path: &std::path::Path, len: u64) -> Duration {
    let start = Instant::now();
    loop {
        let have = std::fs::metadata(path).map_or(0, |m| m.len());
        if have == len {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < WAIT,
            "the capture holds {have} of {len} bytes after {WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_capture_reaches_the_disk_while_the_server_runs_and_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.bin");
    let mut server = start_server(&["--capture", path.to_str().unwrap()]);
    let sent: Vec<u8> = (0..CAPTURED).map(|i| (i % 251) as u8).collect();
    let mut peer = client(server.addr);
    peer.write_all(&sent).unwrap();
    // The connection stays open: the bytes must reach the file anyway, not at close.
    let waited = wait_for_file_len(&path, CAPTURED as u64);
    eprintln!("capture on disk {waited:?} after the last write");
    server.process.child.kill().unwrap();
    server.process.wait_bounded();
    assert_eq!(std::fs::read(&path).unwrap(), sent);
    drop(peer);
}

#[test]
fn a_capture_that_cannot_be_written_is_reported_and_the_server_serves_on() {
    let mut server = start_server(&["--capture", "/dev/full"]);
    let mut peer = client(server.addr);
    peer.write_all(b"still heard\n").unwrap();
    let (mut failed, mut received) = (None, None);
    while failed.is_none() || received.is_none() {
        let line = next_line(&server.lines);
        if line.contains(" error capture to /dev/full") {
            failed = Some(line);
        } else if line.contains(" received ") {
            received = Some(line);
        }
    }
    let (failed, received) = (failed.unwrap(), received.unwrap());
    assert!(
        failed.ends_with("failed: no space left on the disk (0 bytes written)\n"),
        "{failed:?}"
    );
    assert!(received.ends_with("\"still heard\\n\"\n"), "{received:?}");
    server.type_line(b"reply\n");
    assert_eq!(read_exact(&mut peer, 6), b"reply\n");
}

#[test]
fn help_documents_the_commands_and_the_output_format() {
    let (status, out, _) = run(&["--help"]);
    assert!(status.success());
    for needle in [
        "server",
        "client",
        "udp",
        "listening ADDR",
        "bound LOCAL",
        "received PEER N bytes",
        "--chat",
    ] {
        assert!(out.contains(needle), "help lacks {needle}: {out}");
    }
    let (status, out, _) = run(&["server", "--help"]);
    assert!(status.success());
    assert!(out.contains("127.0.0.1:9999"), "{out}");
    let (status, out, _) = run(&["udp", "--help"]);
    assert!(status.success());
    for needle in [
        "--to",
        "--join <GROUP[@IFACE]>",
        "--broadcast",
        "--ttl",
        "--no-loop",
    ] {
        assert!(out.contains(needle), "udp help lacks {needle}: {out}");
    }
}

// ---- socklab udp

/// A running `socklab udp`, with its stdout lines and the address it announced.
struct Udp {
    process: Running,
    lines: Receiver<String>,
    addr: SocketAddr,
}

impl Udp {
    fn type_line(&mut self, line: &[u8]) {
        let stdin = self.process.child.stdin.as_mut().unwrap();
        stdin.write_all(line).unwrap();
        stdin.flush().unwrap();
    }

    /// SIGTERM, then the clean end: `stopped` and exit code 0.
    fn stop(mut self) {
        send_sigterm(&self.process.child);
        line_with(&self.lines, " stopped");
        let status = self.process.wait_bounded();
        assert!(status.success(), "SIGTERM ends it cleanly: {status:?}");
    }
}

fn start_udp(args: &[&str]) -> Udp {
    let mut all = vec!["udp"];
    all.extend_from_slice(args);
    let mut process = Running::spawn(
        socklab(&all)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let lines = stdout_lines(process.child.stdout.take().unwrap());
    let mut first = next_line(&lines);
    if first.contains(" capturing to ") {
        first = next_line(&lines);
    }
    let addr = first
        .split_once(" bound ")
        .unwrap_or_else(|| panic!("the address is announced first: {first:?}"))
        .1
        .trim()
        .parse()
        .unwrap();
    Udp {
        process,
        lines,
        addr,
    }
}

fn recv_datagram(socket: &std::net::UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buffer = [0; 2048];
    let (len, from) = socket
        .recv_from(&mut buffer)
        .expect("a datagram within the wait");
    (buffer[..len].to_vec(), from)
}

#[test]
fn udp_prints_each_datagram_with_its_source_and_replies_to_the_last_sender() {
    let mut udp = start_udp(&["127.0.0.1:0"]);
    assert_eq!(udp.addr.ip(), std::net::Ipv4Addr::LOCALHOST);
    // Nobody has sent yet: the engine's reason is printed and the command goes on.
    udp.type_line(b"too early\n");
    let refused = line_with(&udp.lines, " error ");
    assert!(
        refused.ends_with(
            " error not sent: no datagram has arrived yet, so there is no sender to reply to\n"
        ),
        "{refused:?}"
    );
    let (a, b) = (udp_peer(), udp_peer());
    a.send_to(b"hello\n", udp.addr).unwrap();
    let line = line_with(&udp.lines, " received ");
    let a_addr = a.local_addr().unwrap();
    assert!(
        line.ends_with(&format!(" received {a_addr} 6 bytes \"hello\\n\"\n")),
        "{line:?}"
    );
    b.send_to(b"\0\xff\\", udp.addr).unwrap();
    let line = line_with(&udp.lines, " received ");
    let b_addr = b.local_addr().unwrap();
    assert!(
        line.ends_with(&format!(" received {b_addr} 3 bytes \"\\0\\xff\\\\\"\n")),
        "{line:?}"
    );
    // The reply goes to b, the last sender, with its newline, as one datagram.
    udp.type_line(b"reply\n");
    assert_eq!(recv_datagram(&b), (b"reply\n".to_vec(), udp.addr));
    let line = line_with(&udp.lines, " sent ");
    assert!(
        line.ends_with(&format!(" sent {b_addr} 6 bytes \"reply\\n\"\n")),
        "{line:?}"
    );
    udp.stop();
}

#[test]
fn udp_sends_stdin_lines_to_a_name_resolved_once_and_keeps_receiving_after_stdin_ends() {
    let peer = udp_peer();
    let to = format!("localhost:{}", peer.local_addr().unwrap().port());
    let mut udp = start_udp(&["--to", &to]);
    assert_eq!(
        udp.addr.ip(),
        std::net::Ipv4Addr::UNSPECIFIED,
        "by default it binds to any address of --to's family"
    );
    udp.type_line(b"one\ntwo");
    // Stdin ends: the last line goes out without a newline, and the socket stays open.
    drop(udp.process.child.stdin.take());
    let (first, from) = recv_datagram(&peer);
    assert_eq!(first, b"one\n");
    assert_eq!(from.port(), udp.addr.port());
    assert_eq!(recv_datagram(&peer).0, b"two");
    peer.send_to(b"still here", from).unwrap();
    let line = line_with(&udp.lines, " received ");
    assert!(
        line.ends_with(&format!(
            " received {} 10 bytes \"still here\"\n",
            peer.local_addr().unwrap()
        )),
        "{line:?}"
    );
    udp.stop();
}

#[test]
fn udp_bad_input_or_a_port_in_use_gives_one_clear_line_and_its_exit_code() {
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap().to_string();
    let cases: [(&[&str], i32, &str); 6] = [
        (&["udp", &taken_addr], 1, "address already in use"),
        (
            &["udp", "127.0.0.1:99999"],
            2,
            "not a valid port: \"99999\"",
        ),
        (&["udp", "example.test:5000"], 2, "is not an IP address"),
        (&["udp", "--to", "::1:9"], 2, "brackets"),
        (&["udp", "--join", "10.1.2.3"], 2, "not a multicast address"),
        (
            &["udp", "0.0.0.0:0", "--join", "239.1.2.3@no-such-if0"],
            1,
            "\"no-such-if0\"",
        ),
    ];
    for (args, code, message) in cases {
        let (status, _, err) = run(args);
        assert_eq!(status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(
            err.lines().filter(|l| l.starts_with("socklab:")).count(),
            1,
            "{err}"
        );
    }
    let (status, _, err) = run(&["udp", "--ttl", "256"]);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("256"), "{err}");
}

#[test]
fn udp_joins_a_group_and_prints_what_is_sent_to_it() {
    let group: std::net::IpAddr = "239.1.2.3".parse().unwrap();
    let sender = multicast_sender();
    sender
        .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    let sender_addr = sender.local_addr().unwrap().as_socket().unwrap();
    for bind in ["239.1.2.3:0", "0.0.0.0:0"] {
        let udp = start_udp(&[bind, "--join", "239.1.2.3@127.0.0.1"]);
        let joined = next_line(&udp.lines);
        assert!(
            joined.ends_with(" joined 239.1.2.3 on 127.0.0.1\n"),
            "{bind}: {joined:?}"
        );
        let to = SocketAddr::new(group, udp.addr.port());
        sender.send_to(b"to-group", &to.into()).unwrap();
        let line = line_with(&udp.lines, " received ");
        assert!(
            line.ends_with(&format!(" received {sender_addr} 8 bytes \"to-group\"\n")),
            "{bind}: {line:?}"
        );
        udp.stop();
    }
}

#[test]
fn udp_sends_to_a_broadcast_address_only_with_broadcast() {
    let receiver = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    receiver.set_read_timeout(Some(WAIT)).unwrap();
    let to = format!("127.255.255.255:{}", receiver.local_addr().unwrap().port());

    let mut refused = start_udp(&["--to", &to]);
    refused.type_line(b"no\n");
    let line = line_with(&refused.lines, " error ");
    assert!(line.contains("turn on Broadcast"), "{line:?}");
    refused.stop();

    let mut allowed = start_udp(&["--broadcast", "--to", &to]);
    allowed.type_line(b"yes\n");
    assert_eq!(recv_datagram(&receiver).0, b"yes\n");
    allowed.stop();
}

#[test]
fn udp_captures_every_received_datagram_to_a_file_and_quits_on_stdin_quit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.bin");
    let mut udp = start_udp(&["127.0.0.1:0", "--capture", path.to_str().unwrap()]);
    let peer = udp_peer();
    peer.send_to(b"abc", udp.addr).unwrap();
    peer.send_to(b"\0def\n", udp.addr).unwrap();
    wait_for_file_len(&path, 8);
    assert_eq!(std::fs::read(&path).unwrap(), b"abc\0def\n");
    udp.type_line(b"quit\n");
    line_with(&udp.lines, " stopped");
    assert!(
        udp.process.wait_bounded().success(),
        "quit on stdin ends it cleanly"
    );
}

#[test]
fn udp_talks_with_socat() {
    if Command::new("socat").arg("-V").output().is_err() {
        eprintln!("skipped: socat is not installed (it is the peer this test talks to)");
        return;
    }
    let mut udp = start_udp(&["127.0.0.1:0"]);
    let mut socat = Running::spawn(
        Command::new("socat")
            .args(["-", &format!("UDP:{}", udp.addr)])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let socat_lines = stdout_lines(socat.child.stdout.take().unwrap());
    let mut socat_in = socat.child.stdin.take().unwrap();
    socat_in.write_all(b"hello from socat\n").unwrap();
    socat_in.flush().unwrap();
    let line = line_with(&udp.lines, " received ");
    assert!(
        line.ends_with(" 17 bytes \"hello from socat\\n\"\n"),
        "{line:?}"
    );
    udp.type_line(b"hello socat\n");
    assert_eq!(next_line(&socat_lines), "hello socat\n");
    drop(socat_in);
    udp.stop();
}

#[test]
fn a_rules_file_makes_the_headless_server_answer_like_a_device() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("device.toml");
    std::fs::write(
        &rules,
        r#"
mode = "first-match"
framing = "line"
[[rule]]
match = "regex"
pattern = '^READ (\d+)$'
reply = "VALUE {{1}} #{{counter}}"
line-ending = "lf"
[[rule]]
match = "exact"
pattern = "BYE"
action = "close"
"#,
    )
    .unwrap();
    let server = start_server(&["--rules", rules.to_str().unwrap()]);
    let mut stream = client(server.addr);
    stream.write_all(b"READ 7\r\nREAD 42\n").unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "VALUE 7 #1\n");
    line.clear();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "VALUE 42 #2\n");
    // One log line per message, and the replies are logged as sent.
    line_with(&server.lines, "received #1 ");
    let second = line_with(&server.lines, "received #1 ");
    assert!(
        second.trim_end().ends_with("8 bytes \"READ 42\\n\""),
        "{second}"
    );
    line_with(&server.lines, "sent #1 ");
    stream.write_all(b"BYE\n").unwrap();
    let closed = line_with(&server.lines, "closed #1 ");
    assert!(closed.contains("closed by rule 2"), "{closed}");
}

#[test]
fn echo_and_framing_flags_need_no_file_and_a_checksum_check_marks_lines() {
    let server = start_server(&["--echo", "--framing", "fixed:3", "--check", "sum8"]);
    let mut stream = client(server.addr);
    // Sum-8 of "ab" is 0xc3.
    stream.write_all(b"ab\xc3ab\x00").unwrap();
    assert_eq!(read_exact(&mut stream, 6), b"ab\xc3ab\x00");
    let good = line_with(&server.lines, "received #1 ");
    assert!(good.trim_end().ends_with(", checksum ok"), "{good}");
    let bad = line_with(&server.lines, "received #1 ");
    assert!(bad.trim_end().ends_with(", checksum WRONG"), "{bad}");
}

#[test]
fn a_bad_rules_file_or_framing_is_refused_before_anything_opens() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("bad.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nmatch = \"regex\"\npattern = \"(unclosed\"\n",
    )
    .unwrap();
    let (status, _, err) = run(&["server", "0", "--rules", rules.to_str().unwrap()]);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("rule 1") && err.contains("unclosed"), "{err}");
    std::fs::write(&rules, "[[rule]]\nmatch = \"exact\"\npatern = \"x\"\n").unwrap();
    let (status, _, err) = run(&["udp", "--rules", rules.to_str().unwrap()]);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("patern") && err.contains("line"), "{err}");
    let (status, _, err) = run(&["server", "0", "--framing", "len:3"]);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.starts_with("socklab: --framing len:3: "), "{err}");
    let missing = dir.path().join("missing.toml");
    let (status, _, err) = run(&[
        "client",
        "127.0.0.1:9",
        "--rules",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("cannot read the rules file"), "{err}");
}

#[test]
fn udp_rules_answer_each_datagram_headless() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("udp.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nmatch = \"starts-with\"\npattern = \"ping\"\nreply = \"pong {{len}}\"\n",
    )
    .unwrap();
    let udp = start_udp(&["127.0.0.1:0", "--rules", rules.to_str().unwrap()]);
    let peer = udp_peer();
    peer.send_to(b"ping!", udp.addr).unwrap();
    assert_eq!(recv_datagram(&peer), (b"pong 5".to_vec(), udp.addr));
    line_with(&udp.lines, " received ");
}

#[test]
fn data_hex_and_data_none_change_only_how_received_bytes_are_shown() {
    let server = start_server(&["--data", "hex"]);
    let mut a = client(server.addr);
    line_with(&server.lines, "accepted #1");
    a.write_all(b"A\0\xff").unwrap();
    let logged = line_with(&server.lines, "received");
    let peer = a.local_addr().unwrap();
    assert!(
        logged.ends_with(&format!("received #1 {peer} 3 bytes 41 00 ff\n")),
        "{logged:?}"
    );

    let quiet = start_server(&["--data", "none"]);
    let mut b = client(quiet.addr);
    line_with(&quiet.lines, "accepted #1");
    b.write_all(b"not shown").unwrap();
    let logged = line_with(&quiet.lines, "received");
    let peer = b.local_addr().unwrap();
    assert!(
        logged.ends_with(&format!("received #1 {peer} 9 bytes\n")),
        "{logged:?}"
    );

    let (status, _, err) = run(&["server", "127.0.0.1:0", "--data", "binary"]);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("--data"), "{err}");
}

#[test]
fn the_headless_server_answers_a_client_that_finished_sending() {
    let mut server = start_server(&[]);
    let mut a = client(server.addr);
    line_with(&server.lines, "accepted #1");
    a.write_all(b"request").unwrap();
    a.shutdown(std::net::Shutdown::Write).unwrap();
    let logged = line_with(&server.lines, "peer-finished");
    assert!(
        logged.ends_with(&format!("peer-finished #1 {}\n", a.local_addr().unwrap())),
        "{logged:?}"
    );
    server.type_line(b"answer\n");
    assert_eq!(read_exact(&mut a, 7), b"answer\n");
    send_sigterm(&server.process.child);
    assert!(server.process.wait_bounded().success());
}

#[test]
fn the_client_keeps_sending_stdin_after_the_peer_finished_and_ends_with_stdin() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut process = Running::spawn(
        socklab(&["client", &addr.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let (mut peer, _) = accept_bounded(&listener);
    peer.set_read_timeout(Some(WAIT)).unwrap();
    peer.write_all(b"greeting\n").unwrap();
    peer.shutdown(std::net::Shutdown::Write).unwrap();
    let mut stdin = process.child.stdin.take().unwrap();
    // Written after the peer's FIN reached the client: it still goes out.
    std::thread::sleep(Duration::from_millis(200));
    stdin.write_all(b"answer\n").unwrap();
    drop(stdin);
    let mut got = Vec::new();
    peer.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"answer\n");
    let status = process.wait_bounded();
    let (out, err) = process.output();
    assert!(status.success(), "{err}");
    assert_eq!(out, b"greeting\n");
    assert!(err.contains("peer finished sending"), "{err}");
}
