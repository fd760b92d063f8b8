//! TLS scenarios: `tls-ingest` (a blocking rustls client floods a socklab TLS server
//! session, beside a plain blocking rustls server reading into a sink, alternating rounds)
//! and `tls-handshakes` (concurrent clients doing full handshakes, against a socklab TLS
//! server and against a thread-per-connection rustls server).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
use socklab::engine::tls::{CertFiles, ServerIdentity, TlsServerSetup, self_signed};
use socklab::engine::{Engine, EventKind, ServerOptions};

use super::{GIB, gbps, wait_listening};

/// A self-signed certificate for `localhost` in `dir`, and configurations that use it.
struct Identity {
    files: CertFiles,
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
}

fn identity(dir: &Path) -> Identity {
    let made = self_signed(&["localhost".into()]).unwrap();
    let files = CertFiles {
        chain: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    std::fs::write(&files.chain, &made.cert_pem).unwrap();
    std::fs::write(&files.key, &made.key_pem).unwrap();
    let cert = CertificateDer::from_pem_slice(made.cert_pem.as_bytes()).unwrap();
    let key = PrivateKeyDer::from_pem_slice(made.key_pem.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    let mut client = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    // Every handshake a full one.
    client.resumption = rustls::client::Resumption::disabled();
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    Identity {
        files,
        client: Arc::new(client),
        server: Arc::new(server),
    }
}

fn socklab_tls_server(engine: &Engine, files: &CertFiles) -> SocketAddr {
    let options = ServerOptions {
        tls: Some(TlsServerSetup {
            identity: ServerIdentity::Files(files.clone()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let session = engine.listen("127.0.0.1:0", options);
    wait_listening(engine, session)
}

fn tls_client(
    config: &Arc<ClientConfig>,
    addr: SocketAddr,
) -> rustls::StreamOwned<ClientConnection, TcpStream> {
    let name = ServerName::try_from("localhost").unwrap();
    let connection = ClientConnection::new(config.clone(), name).unwrap();
    rustls::StreamOwned::new(connection, TcpStream::connect(addr).unwrap())
}

/// Sends `total` bytes through a blocking rustls client on its own thread, then
/// close_notify.
fn flood(config: Arc<ClientConfig>, addr: SocketAddr, total: u64) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut stream = tls_client(&config, addr);
        let chunk = vec![0x5a_u8; 1 << 20];
        let mut sent = 0;
        while sent < total {
            let n = chunk.len().min((total - sent) as usize);
            stream.write_all(&chunk[..n]).unwrap();
            sent += n as u64;
        }
        close_and_drain(&mut stream);
    })
}

/// close_notify and FIN, then reads to the server's end: closing with the server's session
/// tickets unread would send RST, which drops what the server has not read yet.
fn close_and_drain(stream: &mut rustls::StreamOwned<ClientConnection, TcpStream>) {
    stream.conn.send_close_notify();
    let _ = stream.flush();
    let _ = stream.sock.shutdown(std::net::Shutdown::Write);
    let mut sink = [0u8; 4096];
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
}

/// `total` bytes into a socklab TLS server session, counted from its `Received` events.
fn socklab_round(identity: &Identity, total: u64) -> f64 {
    let engine = Engine::spawn(|| {}).unwrap();
    let addr = socklab_tls_server(&engine, &identity.files);
    let start = Instant::now();
    let writer = flood(identity.client.clone(), addr, total);
    let mut received = 0u64;
    loop {
        let event = engine
            .events()
            .recv_timeout(Duration::from_secs(30))
            .expect("events");
        match event.kind {
            EventKind::Received { data, .. } => received += data.len() as u64,
            EventKind::Closed { reason, .. } => {
                assert_eq!(received, total, "all bytes arrived ({reason})");
                break;
            }
            _ => {}
        }
    }
    let elapsed = start.elapsed();
    writer.join().unwrap();
    gbps(received, elapsed)
}

/// The same into a blocking rustls server reading into a sink.
fn plain_round(identity: &Identity, total: u64) -> f64 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let config = identity.server.clone();
    let reader = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let connection = ServerConnection::new(config).unwrap();
        let mut stream = rustls::StreamOwned::new(connection, tcp);
        let mut buf = vec![0u8; 64 * 1024];
        let mut received = 0u64;
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return received,
                Ok(n) => received += n as u64,
                Err(e) => panic!("plain rustls read: {e}"),
            }
        }
    });
    let start = Instant::now();
    let writer = flood(identity.client.clone(), addr, total);
    let received = reader.join().unwrap();
    let elapsed = start.elapsed();
    writer.join().unwrap();
    assert_eq!(received, total);
    gbps(received, elapsed)
}

pub(super) fn tls_ingest(total: u64) {
    let dir = tempfile::tempdir().unwrap();
    let identity = identity(dir.path());
    let (mut ours, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..2 {
        ours.push(socklab_round(&identity, total));
        plain.push(plain_round(&identity, total));
    }
    let best = |v: &[f64]| v.iter().cloned().fold(0.0, f64::max);
    let list = |v: &[f64]| {
        v.iter()
            .map(|g| format!("{g:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "tls-ingest {:.1} GiB from a rustls client (TLS 1.3, rustls's default suite), 2 alternating rounds each: socklab TLS server session {:.2} GB/s best ({}), plain blocking rustls server into a sink {:.2} GB/s best ({})",
        total as f64 / GIB as f64,
        best(&ours),
        list(&ours),
        best(&plain),
        list(&plain),
    );
}

/// `clients` threads doing full handshakes against `addr` until `stop`; returns the count.
fn handshake_load(
    config: &Arc<ClientConfig>,
    addr: SocketAddr,
    clients: usize,
    duration: Duration,
) -> (u64, Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (config, stop, done) = (config.clone(), stop.clone(), done.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let mut stream = tls_client(&config, addr);
                    while stream.conn.is_handshaking() {
                        stream.conn.complete_io(&mut stream.sock).unwrap();
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                    close_and_drain(&mut stream);
                }
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    let count = done.load(Ordering::Relaxed);
    let elapsed = start.elapsed();
    for thread in threads {
        thread.join().unwrap();
    }
    (count, elapsed)
}

pub(super) fn tls_handshakes(clients: usize, duration: Duration) {
    let dir = tempfile::tempdir().unwrap();
    let identity = identity(dir.path());

    let engine = Arc::new(Engine::spawn(|| {}).unwrap());
    let addr = socklab_tls_server(&engine, &identity.files);
    let draining = Arc::new(AtomicBool::new(true));
    let established = Arc::new(AtomicU64::new(0));
    let drain = {
        let (engine, draining, established) =
            (engine.clone(), draining.clone(), established.clone());
        std::thread::spawn(move || {
            while draining.load(Ordering::Relaxed) {
                if let Ok(event) = engine.events().recv_timeout(Duration::from_millis(50)) {
                    match event.kind {
                        EventKind::TlsEstablished { .. } => {
                            established.fetch_add(1, Ordering::Relaxed);
                        }
                        EventKind::Closed {
                            reason: socklab::engine::CloseReason::TlsFailed(text),
                            ..
                        } => panic!("a handshake failed: {text}"),
                        _ => {}
                    }
                }
            }
        })
    };
    let (ours, ours_elapsed) = handshake_load(&identity.client, addr, clients, duration);
    draining.store(false, Ordering::Relaxed);
    drain.join().unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let plain_addr = listener.local_addr().unwrap();
    let config = identity.server.clone();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(mut tcp) = tcp else { continue };
            let config = config.clone();
            std::thread::spawn(move || {
                let mut connection = ServerConnection::new(config).unwrap();
                while connection.is_handshaking() {
                    if connection.complete_io(&mut tcp).is_err() {
                        return;
                    }
                }
                let mut stream = rustls::StreamOwned::new(connection, tcp);
                let mut buf = [0u8; 1024];
                while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    let (plain, plain_elapsed) = handshake_load(&identity.client, plain_addr, clients, duration);
    let rate = |n: u64, t: Duration| n as f64 / t.as_secs_f64();
    println!(
        "tls-handshakes {clients} concurrent clients, full TLS 1.3 handshakes (ECDSA P-256, no resumption) for {:.0} s: socklab TLS server {:.0} handshakes/s ({ours} done, {} reported established), thread-per-connection rustls server {:.0} handshakes/s ({plain} done)",
        duration.as_secs_f64(),
        rate(ours, ours_elapsed),
        established.load(Ordering::Relaxed),
        rate(plain, plain_elapsed),
    );
}
