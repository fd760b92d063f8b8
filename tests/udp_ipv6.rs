//! IPv6 multicast through the real engine. Linux refuses IPv6 multicast on `lo`
//! (ENETUNREACH), so the checks run in a private network namespace with a veth pair
//! `v0` <-> `v1`: the outer test re-runs this test binary under `unshare -n` and fails when
//! that inner run fails. Where a namespace cannot be made (not root, no `unshare` or `ip`,
//! no veth) it says why and passes. Network namespaces are Linux's: elsewhere the file is
//! empty.
#![cfg(target_os = "linux")]

mod common;

use std::io::Read;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use common::*;
use socklab::engine::{Datagram, Engine, EventKind, Membership, SessionId, Target, UdpOptions};

/// Set (to anything) only in the inner run, inside the namespace.
const INNER_ENV: &str = "SOCKLAB_TEST_IPV6_NETNS_INNER";
const INNER_TEST: &str = "ipv6_multicast_inside_a_private_network_namespace";
/// The inner run prints this last; its absence means the checks did not all run.
const INNER_DONE: &str = "ipv6 multicast in a namespace: every check ran";
const OUTER_LIMIT: Duration = Duration::from_secs(20);
/// A transient site-local group: not link-local, so it needs no scope on the address.
const GROUP: Ipv6Addr = Ipv6Addr::new(0xff15, 0, 0, 0, 0, 0, 0, 1);
const V0_ADDR: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
const V1_ADDR: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
const HOP_LIMIT: u32 = 7;

#[test]
fn ipv6_multicast_join_receive_hop_limit_loop_and_leave_in_a_private_network_namespace() {
    if let Some(reason) = why_no_namespace() {
        eprintln!("skipped: {reason}");
        return;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = Process::new("unshare")
        .args(["-n", "--"])
        .arg(exe)
        .args([
            "--exact",
            INNER_TEST,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(INNER_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare starts (it did for the probe)");
    let stdout = read_in_background(child.stdout.take().unwrap());
    let stderr = read_in_background(child.stderr.take().unwrap());
    let deadline = Instant::now() + OUTER_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            // `unshare` execs the test binary, so this is the inner run itself.
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = stdout.join().unwrap();
    let stderr = stderr.join().unwrap();
    let output = format!("--- inner stdout\n{stdout}\n--- inner stderr\n{stderr}");
    let Some(status) = status else {
        panic!("the inner run took longer than {OUTER_LIMIT:?} and was killed\n{output}");
    };
    assert!(
        status.success(),
        "the inner run failed ({status})\n{output}"
    );
    assert!(
        stdout.contains(INNER_DONE) && stdout.contains("1 passed"),
        "the inner test did not run to its end\n{output}"
    );
}

fn read_in_background(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Why this machine cannot run the inner test, found by making a throwaway namespace with a
/// veth pair in it; `None` when it can.
fn why_no_namespace() -> Option<String> {
    let probe = Process::new("unshare")
        .args(["-n", "--", "ip", "link", "add", "v0", "type", "veth"])
        .args(["peer", "name", "v1"])
        .output();
    match probe {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Some("`unshare` is not installed".into())
        }
        Err(e) => Some(format!("`unshare` could not start: {e}")),
        Ok(out) if !out.status.success() => Some(format!(
            "`unshare -n -- ip link add … type veth` failed ({}; root is needed): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Ok(_) => None,
    }
}

// ---- inside the namespace ------------------------------------------------------------

#[test]
#[ignore = "runs only inside the private network namespace that the test above makes"]
fn ipv6_multicast_inside_a_private_network_namespace() {
    if std::env::var_os(INNER_ENV).is_none() {
        return;
    }
    assert_fresh_namespace();
    make_veth_pair();
    let v0_index = interface_index("v0");
    let v1_index = interface_index("v1");
    let engine = engine();

    // The receiver joins on v0; the sender is a second session whose multicast leaves by v1,
    // so each datagram crosses the veth pair once.
    let (receiver, receiver_local) = open_udp(&engine, "[::]:0", None, UdpOptions::default());
    let on_v0 = Membership {
        group: IpAddr::V6(GROUP),
        interface: "v0".into(),
        source: None,
    };
    join(&engine, receiver, &on_v0);
    let sender_options = UdpOptions {
        multicast_ttl: Some(HOP_LIMIT),
        multicast_interface: "v1".into(),
        ..UdpOptions::default()
    };
    let (sender, sender_local) = open_udp(&engine, "[::]:0", None, sender_options.clone());
    assert_eq!(
        options_applied(&engine, sender),
        sender_options,
        "hop limit 7, loop on and v1 read back from the socket"
    );
    let to_receiver = SocketAddr::new(IpAddr::V6(GROUP), receiver_local.port());
    engine.send(sender, Target::Addr(to_receiver), b"to-group\x00\xff");
    // The veth hop and `lo` are separate paths: the marker goes once the group datagram
    // is in, so a second copy would show before it.
    let mut got = datagrams_until(&engine, receiver, b"to-group\x00\xff");
    let marker = b"marker";
    send_marker(receiver_local.port(), marker);
    got.extend(datagrams_until(&engine, receiver, marker));
    let rows: Vec<&[u8]> = got.iter().map(|d| &d.data[..]).collect();
    assert_eq!(
        rows,
        [&b"to-group\x00\xff"[..], marker],
        "the group datagram arrives once, bytes exact"
    );
    assert_eq!(
        got[0].addr,
        SocketAddr::V6(SocketAddrV6::new(V1_ADDR, sender_local.port(), 0, v0_index)),
        "from the sender's port at v1's address, received on v0"
    );

    // The hop limit is the one set: a plain socket that asks for each datagram's hop limit.
    let hops_socket = plain_member(GROUP, v0_index);
    enable_hop_limit_reports(&hops_socket);
    let hops_port = hops_socket.local_addr().unwrap().port();
    engine.send(
        sender,
        Target::Addr(SocketAddr::new(IpAddr::V6(GROUP), hops_port)),
        b"hops",
    );
    assert_eq!(
        recv_with_hop_limit(&hops_socket),
        (b"hops".to_vec(), Some(HOP_LIMIT as i32))
    );
    drop(hops_socket);

    // After leaving, a group datagram no longer arrives; a unicast marker after it shows the
    // session still reads.
    engine.execute(socklab::engine::Command::LeaveGroup {
        session: receiver,
        membership: on_v0.clone(),
    });
    wait_for(&engine, |e| match &e.kind {
        EventKind::Left { membership } if e.session == receiver => {
            assert_eq!(*membership, on_v0);
            Some(())
        }
        EventKind::Error { message } => panic!("leave failed: {message}"),
        _ => None,
    });
    engine.send(sender, Target::Addr(to_receiver), b"after-leave");
    sent_datagram(&engine, sender, b"after-leave");
    // The veth hop is asynchronous; the marker goes over `lo`.
    std::thread::sleep(Duration::from_millis(100));
    send_marker(receiver_local.port(), b"marker-2");
    let got = datagrams_until(&engine, receiver, b"marker-2");
    let rows: Vec<&[u8]> = got.iter().map(|d| &d.data[..]).collect();
    assert_eq!(
        rows,
        [&b"marker-2"[..]],
        "nothing from the group after leaving"
    );

    // Multicast loop: a member on v1 (the sender's own outgoing interface) gets the looped
    // copy while loop is on, and nothing once it is off. Nothing is joined on v0 any more,
    // so the copy that crosses the pair is dropped there.
    let looped = plain_member(GROUP, v1_index);
    let looped_port = looped.local_addr().unwrap().port();
    let to_looped = SocketAddr::new(IpAddr::V6(GROUP), looped_port);
    engine.send(sender, Target::Addr(to_looped), b"looped");
    assert_eq!(recv(&looped), b"looped");
    let no_loop = UdpOptions {
        multicast_loop: false,
        ..sender_options
    };
    engine.execute(socklab::engine::Command::SetUdpOptions {
        session: sender,
        options: no_loop.clone(),
    });
    assert_eq!(options_applied(&engine, sender), no_loop);
    engine.send(sender, Target::Addr(to_looped), b"not-looped");
    sent_datagram(&engine, sender, b"not-looped");
    std::thread::sleep(Duration::from_millis(100));
    let direct = UdpSocket::bind("[::1]:0").unwrap();
    direct.send_to(b"marker-3", ("::1", looped_port)).unwrap();
    assert_eq!(
        recv(&looped),
        b"marker-3",
        "no looped copy with multicast loop off"
    );

    println!("{INNER_DONE}");
}

/// A new network namespace has only `lo`; anything else means this is not one, and the
/// veth pair must not be made.
fn assert_fresh_namespace() {
    // /proc/net follows the reading process's namespace (unlike a /sys mounted outside it).
    let devices = std::fs::read_to_string("/proc/net/dev").unwrap();
    let names: Vec<&str> = devices
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(names, ["lo"], "not a fresh network namespace: refusing");
}

/// v0 <-> v1, up, each with one fixed link-local address usable at once (no duplicate
/// address detection, no generated second address to make the source ambiguous).
fn make_veth_pair() {
    let v0 = V0_ADDR.to_string();
    let v1 = V1_ADDR.to_string();
    for args in [
        &["link", "set", "lo", "up"][..],
        &["link", "add", "v0", "type", "veth", "peer", "name", "v1"],
        &["link", "set", "v0", "addrgenmode", "none"],
        &["link", "set", "v1", "addrgenmode", "none"],
        &["addr", "add", &format!("{v0}/64"), "dev", "v0", "nodad"],
        &["addr", "add", &format!("{v1}/64"), "dev", "v1", "nodad"],
        &["link", "set", "v0", "up"],
        &["link", "set", "v1", "up"],
    ] {
        let out = Process::new("ip").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for name in ["v0", "v1"] {
        let deadline = Instant::now() + WAIT;
        loop {
            let out = Process::new("ip")
                .args(["-o", "link", "show", "dev", name])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            if text.contains("LOWER_UP") && text.contains("state UP") {
                break;
            }
            assert!(Instant::now() < deadline, "{name} never came up: {text}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn interface_index(name: &str) -> u32 {
    socklab::engine::interfaces::list()
        .unwrap()
        .into_iter()
        .find(|i| i.name == name)
        .and_then(|i| i.index)
        .unwrap_or_else(|| panic!("{name} is listed with an index"))
}

fn join(engine: &Engine, session: SessionId, membership: &Membership) {
    engine.execute(socklab::engine::Command::JoinGroup {
        session,
        membership: membership.clone(),
    });
    wait_for(engine, |e| match &e.kind {
        EventKind::Joined { membership: m } if e.session == session => {
            assert_eq!(m, membership);
            Some(())
        }
        EventKind::Error { message } => panic!("join failed: {message}"),
        _ => None,
    });
}

fn options_applied(engine: &Engine, session: SessionId) -> UdpOptions {
    wait_for(engine, |e| match &e.kind {
        EventKind::UdpOptionsApplied { options } if e.session == session => Some(options.clone()),
        EventKind::UdpFailed { error } => panic!("UDP open failed: {error}"),
        EventKind::Error { message } if e.session == session => panic!("{message}"),
        _ => None,
    })
}

/// Waits until `session` reports handing `data` to the kernel.
fn sent_datagram(engine: &Engine, session: SessionId, data: &[u8]) {
    wait_for(engine, |e| match &e.kind {
        EventKind::DatagramsSent { datagrams }
            if e.session == session && datagrams.iter().any(|d| &d.data[..] == data) =>
        {
            Some(())
        }
        EventKind::Error { message } if e.session == session => panic!("{message}"),
        _ => None,
    })
}

/// Every datagram `session` receives, up to and including `marker`.
fn datagrams_until(engine: &Engine, session: SessionId, marker: &[u8]) -> Vec<Datagram> {
    let mut got: Vec<Datagram> = Vec::new();
    wait_for(engine, |e| match &e.kind {
        EventKind::DatagramsReceived { datagrams } if e.session == session => {
            got.extend(datagrams.iter().cloned());
            got.iter().any(|d| &d.data[..] == marker).then_some(())
        }
        _ => None,
    });
    got
}

/// A unicast datagram over `lo` to `port`.
fn send_marker(port: u16, marker: &[u8]) {
    let socket = UdpSocket::bind("[::1]:0").unwrap();
    socket.send_to(marker, ("::1", port)).unwrap();
}

/// A plain IPv6 socket on a port of its own, a member of `group` on `interface`.
fn plain_member(group: Ipv6Addr, interface: u32) -> UdpSocket {
    let socket = UdpSocket::bind("[::]:0").unwrap();
    socket.join_multicast_v6(&group, interface).unwrap();
    socket.set_read_timeout(Some(WAIT)).unwrap();
    socket
}

fn recv(socket: &UdpSocket) -> Vec<u8> {
    let mut buffer = vec![0; 2048];
    let n = socket
        .recv(&mut buffer)
        .expect("a datagram within the wait");
    buffer.truncate(n);
    buffer
}

/// IPV6_RECVHOPLIMIT: each datagram then comes with the hop limit it arrived with.
fn enable_hop_limit_reports(socket: &UdpSocket) {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from `on`, which outlives the call.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_RECVHOPLIMIT,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(result, 0, "{}", std::io::Error::last_os_error());
}

/// One datagram and the hop limit reported with it.
fn recv_with_hop_limit(socket: &UdpSocket) -> (Vec<u8>, Option<i32>) {
    use std::os::fd::AsRawFd;
    let mut data = vec![0u8; 2048];
    // u64s keep the control buffer aligned for cmsghdr.
    let mut control = [0u64; 16];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // SAFETY: msghdr is plain data; all-zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: every pointer in `msg` points at a live buffer of the stated length.
    let n = unsafe { libc::recvmsg(socket.as_raw_fd(), &mut msg, 0) };
    assert!(n >= 0, "recvmsg: {}", std::io::Error::last_os_error());
    data.truncate(n as usize);
    let mut hop_limit = None;
    // SAFETY: the CMSG macros walk the control buffer the kernel filled, within
    // `msg_controllen`; the data of an IPV6_HOPLIMIT message is one c_int.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::IPPROTO_IPV6 && (*cmsg).cmsg_type == libc::IPV6_HOPLIMIT
            {
                hop_limit = Some(std::ptr::read_unaligned(
                    libc::CMSG_DATA(cmsg).cast::<libc::c_int>(),
                ));
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    (data, hop_limit)
}
