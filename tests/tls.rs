//! TLS sessions on real loopback sockets: socklab against `openssl s_server` and
//! `openssl s_client`, socklab against itself, certificates made here with rcgen
//! (a test CA, leaves with chosen names and validity), refusals in words, and the CLI.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{WAIT, engine, wait_for};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use socklab::engine::tls::{
    CertFiles, ClientCerts, ServerIdentity, TlsClientSetup, TlsInfo, TlsServerSetup, Verify,
};
use socklab::engine::{
    ClientOptions, CloseReason, ConnId, Engine, EventKind, ServerOptions, SessionId, Target,
};

// ---- certificates ----------------------------------------------------------------

/// A test CA and the files it signed, in a temporary folder.
struct Pki {
    dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
}

/// A leaf certificate's files and DER.
struct Leaf {
    files: CertFiles,
    der: Vec<u8>,
}

impl Pki {
    fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params
            .distinguished_name
            .push(DnType::CommonName, "socklab test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let pki = Pki {
            dir: tempfile::tempdir().unwrap(),
            ca,
        };
        std::fs::write(pki.ca_file(), pki.ca.pem()).unwrap();
        pki
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A leaf for `names`, called `cn`; `adjust` may change its validity.
    fn leaf(&self, cn: &str, names: &[&str], adjust: impl FnOnce(&mut CertificateParams)) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        adjust(&mut params);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        let chain = self.dir.path().join(format!("{cn}.pem"));
        let key_path = self.dir.path().join(format!("{cn}.key"));
        std::fs::write(&chain, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        Leaf {
            files: CertFiles {
                chain,
                key: key_path,
            },
            der: cert.der().to_vec(),
        }
    }
}

fn sha256_hex(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let hex: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}

// ---- sessions ------------------------------------------------------------------------

fn tls_server(engine: &Engine, setup: TlsServerSetup) -> (SessionId, SocketAddr) {
    let options = ServerOptions {
        tls: Some(setup),
        ..Default::default()
    };
    let session = engine.listen("127.0.0.1:0", options);
    let local = wait_for(engine, |e| match &e.kind {
        EventKind::Listening { local } if e.session == session => Some(*local),
        EventKind::ListenFailed { error } => panic!("listen failed: {error}"),
        _ => None,
    });
    (session, local)
}

fn server_with(leaf: &Leaf) -> TlsServerSetup {
    TlsServerSetup {
        identity: ServerIdentity::Files(leaf.files.clone()),
        ..Default::default()
    }
}

fn tls_client(engine: &Engine, addr: &str, setup: TlsClientSetup) -> SessionId {
    let options = ClientOptions {
        tls: Some(setup),
        ..Default::default()
    };
    engine.connect_with(addr, WAIT, options)
}

fn trusting(pki: &Pki) -> TlsClientSetup {
    TlsClientSetup {
        verify: Verify::CaFile(pki.ca_file()),
        ..Default::default()
    }
}

/// The session's next finished handshake.
fn established(engine: &Engine, session: SessionId) -> (ConnId, Arc<TlsInfo>) {
    wait_for(engine, |e| match &e.kind {
        EventKind::TlsEstablished { conn, info } if e.session == session => {
            Some((*conn, info.clone()))
        }
        EventKind::Closed { reason, .. } if e.session == session => {
            panic!("closed before the handshake finished: {reason}")
        }
        EventKind::ConnectFailed { error } => panic!("connect failed: {error}"),
        _ => None,
    })
}

/// Both ends' handshakes, in whatever order they come: (server's, client's).
fn both_established(
    engine: &Engine,
    server: SessionId,
    client: SessionId,
) -> (Arc<TlsInfo>, Arc<TlsInfo>) {
    let (mut on_server, mut on_client) = (None, None);
    wait_for(engine, |e| {
        match &e.kind {
            EventKind::TlsEstablished { info, .. } if e.session == server => {
                on_server = Some(info.clone())
            }
            EventKind::TlsEstablished { info, .. } if e.session == client => {
                on_client = Some(info.clone())
            }
            EventKind::Closed { reason, .. } => panic!("closed: {reason}"),
            EventKind::ConnectFailed { error } => panic!("connect failed: {error}"),
            _ => {}
        }
        (on_server.is_some() && on_client.is_some()).then_some(())
    });
    (on_server.unwrap(), on_client.unwrap())
}

/// The close reason of the session's next closed connection.
fn closed(engine: &Engine, session: SessionId) -> CloseReason {
    wait_for(engine, |e| match &e.kind {
        EventKind::Closed { reason, .. } if e.session == session => Some(reason.clone()),
        _ => None,
    })
}

/// Both ends' close reasons: (server's, client's).
fn both_closed(engine: &Engine, server: SessionId, client: SessionId) -> (String, String) {
    let (mut on_server, mut on_client) = (None, None);
    wait_for(engine, |e| {
        match &e.kind {
            EventKind::Closed { reason, .. } if e.session == server => {
                on_server = Some(reason.clone())
            }
            EventKind::Closed { reason, .. } if e.session == client => {
                on_client = Some(reason.clone())
            }
            EventKind::ConnectFailed { error } => panic!("connect failed: {error}"),
            _ => {}
        }
        (on_server.is_some() && on_client.is_some()).then_some(())
    });
    let failed = |reason: CloseReason| match reason {
        CloseReason::TlsFailed(text) => text,
        other => panic!("expected a TLS failure, got {other:?}"),
    };
    (failed(on_server.unwrap()), failed(on_client.unwrap()))
}

/// Received bytes of `session` until `len` have come.
fn received(engine: &Engine, session: SessionId, len: usize) -> Vec<u8> {
    let mut got = Vec::new();
    wait_for(engine, |e| {
        if let EventKind::Received { data, .. } = &e.kind
            && e.session == session
        {
            got.extend_from_slice(data);
        }
        (got.len() >= len).then_some(())
    });
    got
}

// ---- openssl ---------------------------------------------------------------------------

/// A child process killed when the test ends, however it ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn openssl_available() -> bool {
    let found = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!("skip: openssl is not installed (.ci/run installs it)");
    }
    found
}

/// Lines of a child's stdout, read on their own thread so a silent peer fails in time.
fn lines_of(stdout: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// `openssl s_server` on a free 127.0.0.1 port (found by binding one and letting it go;
/// tried again if another process takes it first), waiting until it accepts.
fn s_server(leaf: &Leaf, extra: &[&str]) -> (Process, SocketAddr) {
    for _ in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut process = Process(
            Command::new("openssl")
                .args(["s_server", "-accept", &addr.to_string(), "-quiet", "-cert"])
                .arg(&leaf.files.chain)
                .arg("-key")
                .arg(&leaf.files.key)
                .args(extra)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("openssl starts"),
        );
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if process.0.try_wait().unwrap().is_some() {
                break; // The port was taken meanwhile: try another.
            }
            if TcpStream::connect(addr).is_ok() {
                // That probe was a connection of its own; s_server serves one at a time
                // and moves on when it goes.
                return (process, addr);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("openssl s_server did not start");
}

/// `openssl s_client` connected to `addr`, its stdin and stdout piped.
fn s_client(addr: SocketAddr, extra: &[&str]) -> (Process, mpsc::Receiver<String>) {
    let mut child = Command::new("openssl")
        .args(["s_client", "-connect", &addr.to_string(), "-quiet"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl starts");
    let lines = lines_of(child.stdout.take().unwrap());
    (Process(child), lines)
}

fn next_line(lines: &mpsc::Receiver<String>) -> String {
    lines.recv_timeout(WAIT).expect("a line in time")
}

// ---- socklab and openssl ------------------------------------------------------------------

#[test]
fn a_tls_server_talks_with_openssl_s_client_both_ways() {
    if !openssl_available() {
        return;
    }
    let engine = engine();
    let setup = TlsServerSetup {
        alpn: vec!["h2".into(), "http/1.1".into()],
        ..Default::default()
    };
    let (server, addr) = tls_server(&engine, setup);
    let (mut client, lines) = s_client(addr, &["-alpn", "h2", "-servername", "localhost"]);
    let (conn, info) = established(&engine, server);
    assert_eq!(info.version, "TLS 1.3");
    assert_eq!(
        info.cipher_suite, "TLS13_AES_256_GCM_SHA384",
        "openssl's first choice"
    );
    assert_eq!(info.alpn.as_deref(), Some("h2"));
    assert_eq!(info.server_name.as_deref(), Some("localhost"));
    assert!(
        info.peer_certificates.is_empty(),
        "s_client sent no certificate"
    );
    assert_eq!(info.unverified, None);

    let stdin = client.0.stdin.as_mut().unwrap();
    stdin.write_all(b"hello from openssl\n").unwrap();
    stdin.flush().unwrap();
    assert_eq!(received(&engine, server, 19), b"hello from openssl\n");
    engine.send(server, Target::One(conn), b"hello from socklab\n".to_vec());
    assert_eq!(next_line(&lines), "hello from socklab");
}

#[test]
fn a_tls_client_talks_with_openssl_s_server() {
    if !openssl_available() {
        return;
    }
    let pki = Pki::new();
    let leaf = pki.leaf("localhost", &["localhost"], |_| {});
    let (_server, addr) = s_server(&leaf, &["-rev", "-alpn", "h2"]);
    let engine = engine();
    let setup = TlsClientSetup {
        server_name: "localhost".into(),
        alpn: vec!["h2".into()],
        ..trusting(&pki)
    };
    let client = tls_client(&engine, &addr.to_string(), setup);
    let (_, info) = established(&engine, client);
    assert_eq!(info.version, "TLS 1.3");
    assert_eq!(info.alpn.as_deref(), Some("h2"));
    assert_eq!(info.server_name.as_deref(), Some("localhost"));
    assert_eq!(info.peer_certificates[0].subject, "CN=localhost");
    assert_eq!(info.peer_certificates[0].issuer, "CN=socklab test CA");
    assert_eq!(info.peer_certificates[0].sha256, sha256_hex(&leaf.der));
    assert_eq!(info.unverified, None);
    engine.send(client, Target::All, b"hello\n".to_vec());
    assert_eq!(
        received(&engine, client, 6),
        b"olleh\n",
        "s_server -rev reverses lines"
    );
}

// ---- socklab with itself -------------------------------------------------------------------

#[test]
fn a_verified_handshake_reports_version_cipher_names_and_fingerprint() {
    let pki = Pki::new();
    let leaf = pki.leaf("socklab server", &["localhost", "127.0.0.1"], |_| {});
    let engine = engine();
    let (server, addr) = tls_server(&engine, server_with(&leaf));
    let client = tls_client(&engine, &addr.to_string(), trusting(&pki));
    let (on_server, on_client) = both_established(&engine, server, client);
    for info in [&on_server, &on_client] {
        assert_eq!(info.version, "TLS 1.3");
        assert!(
            info.cipher_suite.starts_with("TLS13_"),
            "{}",
            info.cipher_suite
        );
        assert_eq!(info.alpn, None);
    }
    assert_eq!(on_client.server_name, None, "an IP address sends no SNI");
    let cert = &on_client.peer_certificates[0];
    assert_eq!(cert.subject, "CN=socklab server");
    assert_eq!(cert.names, ["localhost", "127.0.0.1"]);
    assert_eq!(cert.sha256, sha256_hex(&leaf.der));
    assert!(cert.not_before < cert.not_after);
    assert_eq!(on_client.unverified, None);
    assert!(on_server.peer_certificates.is_empty());
}

#[test]
fn alpn_is_agreed_between_two_socklab_sessions() {
    let pki = Pki::new();
    let leaf = pki.leaf("alpn", &["localhost"], |_| {});
    let engine = engine();
    let setup = TlsServerSetup {
        alpn: vec!["http/1.1".into(), "h2".into()],
        ..server_with(&leaf)
    };
    let (server, addr) = tls_server(&engine, setup);
    let client_setup = TlsClientSetup {
        alpn: vec!["h2".into()],
        server_name: "localhost".into(),
        ..trusting(&pki)
    };
    let client = tls_client(&engine, &addr.to_string(), client_setup);
    let (on_server, on_client) = both_established(&engine, server, client);
    assert_eq!(on_server.alpn.as_deref(), Some("h2"));
    assert_eq!(on_client.alpn.as_deref(), Some("h2"));
    assert_eq!(on_server.server_name.as_deref(), Some("localhost"));
}

#[test]
fn an_expired_certificate_is_refused_saying_so() {
    let pki = Pki::new();
    // Valid for one second in 1975.
    let leaf = pki.leaf("expired", &["localhost"], |p| p.not_after = p.not_before);
    let engine = engine();
    let (server, addr) = tls_server(&engine, server_with(&leaf));
    let client = tls_client(
        &engine,
        &format!("localhost:{}", addr.port()),
        trusting(&pki),
    );
    let (on_server, on_client) = both_closed(&engine, server, client);
    assert!(
        on_client.starts_with("certificate expired on 1975-01-01 (it is now "),
        "{on_client}"
    );
    assert_eq!(on_server, "the peer sent alert: certificate_expired");
}

#[test]
fn a_certificate_for_other_names_is_refused_naming_them() {
    let pki = Pki::new();
    let leaf = pki.leaf("others", &["a.example", "b.example"], |_| {});
    let engine = engine();
    let (server, addr) = tls_server(&engine, server_with(&leaf));
    let setup = TlsClientSetup {
        server_name: "c.example".into(),
        ..trusting(&pki)
    };
    let client = tls_client(&engine, &addr.to_string(), setup);
    let (on_server, on_client) = both_closed(&engine, server, client);
    assert_eq!(
        on_client,
        "name mismatch: certificate is for a.example, b.example, not c.example"
    );
    assert_eq!(on_server, "the peer sent alert: bad_certificate");
}

#[test]
fn an_unknown_issuer_is_refused_and_verification_off_connects_with_a_warning() {
    let engine = engine();
    let (server, addr) = tls_server(&engine, TlsServerSetup::default());
    let other = Pki::new();
    let client = tls_client(&engine, &addr.to_string(), trusting(&other));
    let (_, on_client) = both_closed(&engine, server, client);
    assert_eq!(
        on_client,
        "certificate not trusted: unknown issuer (self-signed?)"
    );

    let off = TlsClientSetup {
        verify: Verify::Off,
        ..Default::default()
    };
    let client = tls_client(&engine, &addr.to_string(), off);
    let (on_server, on_client) = both_established(&engine, server, client);
    assert!(
        on_client
            .unverified
            .as_deref()
            .unwrap()
            .contains("not verified")
    );
    assert_eq!(on_client.peer_certificates[0].names, ["localhost"]);
    assert_eq!(on_server.unverified, None);
    engine.send(client, Target::All, b"anyway\n".to_vec());
    assert_eq!(received(&engine, server, 7), b"anyway\n");
}

#[test]
fn a_required_client_certificate_refuses_a_client_without_one_and_shows_one_that_comes() {
    let pki = Pki::new();
    let leaf = pki.leaf("server", &["localhost"], |_| {});
    let client_leaf = pki.leaf("client one", &[], |_| {});
    let engine = engine();
    let setup = TlsServerSetup {
        client_certs: ClientCerts::Required,
        client_ca: Some(pki.ca_file()),
        ..server_with(&leaf)
    };
    let (server, addr) = tls_server(&engine, setup);
    let target = format!("localhost:{}", addr.port());

    let client = tls_client(&engine, &target, trusting(&pki));
    // TLS 1.3: the client finished its side before the server refused it.
    let (on_server, on_client) = both_closed(&engine, server, client);
    assert_eq!(on_server, "the peer sent no certificate");
    assert_eq!(on_client, "the peer sent alert: certificate_required");

    let with_cert = TlsClientSetup {
        client_cert: Some(client_leaf.files.clone()),
        ..trusting(&pki)
    };
    let client = tls_client(&engine, &target, with_cert);
    let (on_server, _) = both_established(&engine, server, client);
    let cert = &on_server.peer_certificates[0];
    assert_eq!(cert.subject, "CN=client one");
    assert_eq!(cert.sha256, sha256_hex(&client_leaf.der));
    assert_eq!(on_server.unverified, None, "checked against the client CA");
}

#[test]
fn a_requested_client_certificate_without_a_ca_is_shown_unverified() {
    let pki = Pki::new();
    let client_leaf = pki.leaf("anyone", &[], |_| {});
    let engine = engine();
    let setup = TlsServerSetup {
        client_certs: ClientCerts::Requested,
        ..Default::default()
    };
    let (server, addr) = tls_server(&engine, setup);
    let with_cert = TlsClientSetup {
        verify: Verify::Off,
        client_cert: Some(client_leaf.files.clone()),
        ..Default::default()
    };
    let client = tls_client(&engine, &addr.to_string(), with_cert);
    let (on_server, _) = both_established(&engine, server, client);
    assert_eq!(on_server.peer_certificates[0].subject, "CN=anyone");
    assert!(
        on_server
            .unverified
            .as_deref()
            .unwrap()
            .contains("not verified")
    );

    let without = TlsClientSetup {
        verify: Verify::Off,
        ..Default::default()
    };
    let client = tls_client(&engine, &addr.to_string(), without);
    let (on_server, _) = both_established(&engine, server, client);
    assert!(on_server.peer_certificates.is_empty());
    assert_eq!(on_server.unverified, None, "nothing unverified was taken");
}

#[test]
fn a_plain_tcp_peer_on_a_tls_server_is_closed_as_not_tls() {
    let engine = engine();
    let (server, addr) = tls_server(&engine, TlsServerSetup::default());
    let mut plain = common::client(addr);
    plain.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(
        closed(&engine, server),
        CloseReason::TlsFailed("not TLS (the peer sent something else)".into())
    );
    // The server's alert arrives before its FIN: a TLS record (content type 21).
    let mut reply = Vec::new();
    let _ = plain.read_to_end(&mut reply);
    assert_eq!(reply.first(), Some(&21), "{reply:?}");
}

#[test]
fn eight_mebibytes_cross_both_ways_exactly() {
    const LEN: usize = 8 << 20;
    let up: Vec<u8> = (0..LEN).map(|i| (i * 7 % 251) as u8).collect();
    let down: Vec<u8> = (0..LEN).map(|i| (i * 13 % 241) as u8).collect();
    let engine = engine();
    let (server, addr) = tls_server(&engine, TlsServerSetup::default());
    let off = TlsClientSetup {
        verify: Verify::Off,
        ..Default::default()
    };
    let client = tls_client(&engine, &addr.to_string(), off);
    // Sent before the handshake ends: they wait for it.
    let conn = wait_for(&engine, |e| match &e.kind {
        EventKind::Connected(info) if e.session == server => Some(info.conn),
        _ => None,
    });
    engine.send(client, Target::All, up.clone());
    engine.send(server, Target::One(conn), down.clone());
    let (mut at_server, mut at_client) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(60);
    while at_server.len() < LEN || at_client.len() < LEN {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = engine.events().recv_timeout(left).expect("bytes in time");
        match event.kind {
            EventKind::Received { data, .. } if event.session == server => {
                at_server.extend_from_slice(&data)
            }
            EventKind::Received { data, .. } if event.session == client => {
                at_client.extend_from_slice(&data)
            }
            EventKind::Closed { reason, .. } => panic!("closed: {reason}"),
            _ => {}
        }
    }
    assert!(at_server == up, "the server got the client's bytes exactly");
    assert!(
        at_client == down,
        "the client got the server's bytes exactly"
    );
}

// ---- the command line -------------------------------------------------------------------

fn socklab(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_socklab"));
    command.args(args);
    command
}

/// Waits for a process to end, failing the test after [`WAIT`].
fn wait_bounded(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "socklab did not exit in time");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn socklab_server_tls_serves_openssl_and_prints_the_handshake() {
    if !openssl_available() {
        return;
    }
    let mut server = Process(
        socklab(&["server", "127.0.0.1:0", "--tls", "--alpn", "h2"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("socklab starts"),
    );
    let lines = lines_of(server.0.stdout.take().unwrap());
    let first = next_line(&lines);
    let addr: SocketAddr = first
        .split_once(" listening ")
        .unwrap_or_else(|| panic!("the address first: {first:?}"))
        .1
        .parse()
        .unwrap();
    // The listener's socket options in effect come right after the address.
    assert!(next_line(&lines).contains(" options TCP_NODELAY="));
    let (mut client, client_lines) = s_client(addr, &["-alpn", "h2", "-servername", "localhost"]);
    assert!(next_line(&lines).contains(" accepted #1 "));
    let tls = next_line(&lines);
    let (_, tail) = tls.split_once(" tls #1 ").expect("the handshake's line");
    let tail = tail.split_once(' ').unwrap().1;
    assert_eq!(
        tail,
        "TLS 1.3 TLS13_AES_256_GCM_SHA384 alpn=h2 sni=localhost"
    );
    client
        .0
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"ping\n")
        .unwrap();
    let got = next_line(&lines);
    assert!(
        got.contains(" received #1 ") && got.ends_with(" 5 bytes \"ping\\n\""),
        "{got}"
    );
    server
        .0
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"pong\n")
        .unwrap();
    assert_eq!(next_line(&client_lines), "pong");
}

#[test]
fn socklab_client_tls_verifies_with_a_ca_file_and_tells_the_certificate() {
    let pki = Pki::new();
    let leaf = pki.leaf("cli server", &["localhost", "127.0.0.1"], |_| {});
    let engine = engine();
    let (server, addr) = tls_server(&engine, server_with(&leaf));
    let ca = pki.ca_file();
    let mut client = Process(
        socklab(&["client", &addr.to_string(), "--tls", "--wait", "5", "--ca"])
            .arg(&ca)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("socklab starts"),
    );
    let (conn, _) = established(&engine, server);
    engine.send(server, Target::One(conn), b"welcome\n".to_vec());
    client.0.stdin.as_mut().unwrap().write_all(b"hi\n").unwrap();
    assert_eq!(received(&engine, server, 3), b"hi\n");
    // Stdin's end finishes sending (the server sees the client's FIN); the server closing
    // then ends the client. Stopping before the FIN arrived would race it: the server's
    // close could meet the client's last record and reset.
    drop(client.0.stdin.take());
    wait_for(&engine, |e| match &e.kind {
        EventKind::PeerFinished { conn: finished } if *finished == conn => Some(()),
        _ => None,
    });
    engine.execute(socklab::engine::Command::Stop { session: server });
    let status = wait_bounded(&mut client.0);
    let mut out = Vec::new();
    client
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    let mut err = String::new();
    client
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{status:?}: {err}");
    assert_eq!(out, b"welcome\n");
    assert!(err.contains("socklab: tls TLS 1.3 TLS13_"), "{err}");
    assert!(
        err.contains("socklab: server certificate: CN=cli server\n"),
        "{err}"
    );
    assert!(
        err.contains("socklab:   issuer: CN=socklab test CA\n"),
        "{err}"
    );
    assert!(
        err.contains("socklab:   names: localhost, 127.0.0.1\n"),
        "{err}"
    );
    assert!(
        err.contains(&format!("socklab:   sha256: {}\n", sha256_hex(&leaf.der))),
        "{err}"
    );
    assert!(!err.contains("warning"), "{err}");
}

#[test]
fn tls_flags_are_checked_before_anything_opens() {
    let missing = Path::new("/nonexistent/ca.pem");
    let cases: [(Vec<&str>, String); 3] = [
        (
            vec!["client", "127.0.0.1:1", "--alpn", "h2"],
            "socklab: --alpn needs --tls\n".into(),
        ),
        (
            vec![
                "client",
                "127.0.0.1:1",
                "--tls",
                "--ca",
                missing.to_str().unwrap(),
            ],
            "socklab: CA file /nonexistent/ca.pem: cannot read: No such file or directory\n".into(),
        ),
        (
            vec!["server", "127.0.0.1:0", "--tls", "--client-cert", "require"],
            "socklab: --client-cert require needs --client-ca FILE (the CA client \
             certificates must chain to)\n"
                .into(),
        ),
    ];
    for (args, expected) in cases {
        let mut child = socklab(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let status = wait_bounded(&mut child);
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert_eq!(status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err, expected, "{args:?}");
    }
}
