//! `socklab udp`: one UDP socket. Each datagram becomes a stdout line (see
//! [`super::format`]), stdin lines go out as datagrams to `--to` or to the last sender, and
//! `quit`, Ctrl-C or SIGTERM stop it. [`plan`] turns the arguments into what the engine
//! is asked for, checking every address first so a typo exits 2 before anything opens.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, never, select};

use super::format::{UdpLog, UdpStep};
use super::{
    EventLines, Failure, UdpArgs, new_session_capturing, start_engine, stdin_lines,
    termination_signals,
};
use crate::engine::{Command, Membership, Target, UdpOptions, parse_bind_address, parse_endpoint};

/// How long a stopping socket waits for its `stopped` before the command exits anyway.
const STOP_GRACE: Duration = Duration::from_secs(6);

/// What the arguments ask of the engine.
#[derive(Debug, PartialEq, Eq)]
struct Plan {
    bind: SocketAddr,
    /// Where stdin lines go; `None`: the last sender.
    to: Option<SocketAddr>,
    joins: Vec<Membership>,
    options: UdpOptions,
}

pub(super) fn run(args: UdpArgs) -> Result<(), Failure> {
    let plan = plan(&args, resolve)?;
    let setup = args.messages.setup()?;
    let engine = start_engine()?;
    let signals = termination_signals();
    let lines = stdin_lines();
    let session = new_session_capturing(&engine, args.capture.as_deref());
    setup.apply(&engine, session);
    engine.execute(Command::OpenUdp {
        session,
        bind: plan.bind.to_string(),
        connect: None,
        options: plan.options,
    });
    // Commands run in order, so these find the socket open (or the command has already
    // ended on the failure to open it).
    for membership in &plan.joins {
        engine.execute(Command::JoinGroup {
            session,
            membership: membership.clone(),
        });
    }
    let target = plan.to.map_or(Target::LastSender, Target::Addr);
    let mut log = UdpLog::new(plan.joins.len(), args.data);
    let mut stdout = EventLines::new();
    // Stdin is read once the socket is open and set up, so a line typed early waits.
    let mut stdin: Receiver<Vec<u8>> = never();
    let mut reading = false;
    let mut stopping: Option<Instant> = None;
    loop {
        if let Some(since) = stopping
            && (!log.is_open() || since.elapsed() > STOP_GRACE)
        {
            return Ok(());
        }
        let mut stop_now = false;
        select! {
            recv(engine.events()) -> event => {
                let Ok(event) = event else { return Ok(()) };
                match log.step(&event) {
                    UdpStep::Print(printed) => printed.iter().for_each(|line| stdout.line(line)),
                    UdpStep::Quiet => {}
                    UdpStep::Fail(failure) => return Err(failure),
                }
                stdout.caught_up(!engine.events().is_empty());
                if log.ready() && !reading && stopping.is_none() {
                    reading = true;
                    stdin = lines.clone();
                }
            }
            recv(stdin) -> line => match line {
                Ok(line) if line.trim_ascii() == b"quit" => stop_now = true,
                Ok(line) => engine.send(session, target, line),
                // Stdin ended (e.g. started with < /dev/null): keep receiving, as the
                // server keeps serving.
                Err(_) => stdin = never(),
            },
            recv(signals) -> _ => stop_now = true,
            default(Duration::from_millis(200)) => {}
        }
        if stop_now && stopping.is_none() {
            stopping = Some(Instant::now());
            stdin = never();
            engine.execute(Command::Stop { session });
        }
    }
}

/// The arguments checked and turned into a [`Plan`]; `resolve` looks a host name up.
/// Every error here is a usage error (exit 2).
fn plan(
    args: &UdpArgs,
    resolve: impl Fn(&str, u16) -> Result<Vec<SocketAddr>, String>,
) -> Result<Plan, Failure> {
    let bind = args.bind.as_deref().map(bind_address).transpose()?;
    let to = args
        .to
        .as_deref()
        .map(|to| destination(to, bind, &resolve))
        .transpose()?;
    let source = args
        .source
        .as_deref()
        .map(|source| {
            source
                .trim()
                .parse::<IpAddr>()
                .map_err(|_| Failure::usage(format!("--source {source}: not an IP address")))
        })
        .transpose()?;
    let joins = args
        .joins
        .iter()
        .map(|join| membership(join, source))
        .collect::<Result<Vec<_>, _>>()?;
    let bind = match bind {
        Some(bind) => bind,
        None => {
            // The family of where it sends, else of the groups it joins, else IPv4.
            let v6 = to.map_or_else(
                || joins.first().is_some_and(|m| m.group.is_ipv6()),
                |to| to.is_ipv6(),
            );
            let any = if v6 {
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            } else {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            };
            SocketAddr::new(any, 0)
        }
    };
    let options = UdpOptions {
        broadcast: args.broadcast,
        multicast_ttl: args.ttl,
        multicast_loop: !args.no_loop,
        ..UdpOptions::default()
    };
    Ok(Plan {
        bind,
        to,
        joins,
        options,
    })
}

/// Where a socket binds (the engine's rule, checked here so a typo exits 2 at once).
fn bind_address(typed: &str) -> Result<SocketAddr, Failure> {
    parse_bind_address(typed).map_err(|e| Failure::usage(format!("{typed}: {e}")))
}

/// The address `--to` stands for. A name is resolved now, once; of its addresses the
/// first of the bound socket's family is taken (IPv4 when the bind is left to default).
fn destination(
    typed: &str,
    bind: Option<SocketAddr>,
    resolve: impl Fn(&str, u16) -> Result<Vec<SocketAddr>, String>,
) -> Result<SocketAddr, Failure> {
    let endpoint =
        parse_endpoint(typed).map_err(|e| Failure::usage(format!("--to {typed}: {e}")))?;
    let to = match endpoint.literal() {
        Some(to) => to,
        None => {
            let found = resolve(&endpoint.host, endpoint.port).map_err(|e| {
                Failure::usage(format!(
                    "--to {typed}: cannot resolve {}: {e}",
                    endpoint.host
                ))
            })?;
            let want_v4 = bind.is_none_or(|bind| bind.is_ipv4());
            found
                .iter()
                .find(|addr| addr.is_ipv4() == want_v4)
                .or(found.first())
                .copied()
                .ok_or_else(|| {
                    Failure::usage(format!(
                        "--to {typed}: {} resolved to no address",
                        endpoint.host
                    ))
                })?
        }
    };
    if let Some(bind) = bind
        && bind.is_ipv4()
        && to.is_ipv6()
    {
        return Err(Failure::usage(format!(
            "--to {typed}: {to} is IPv6 but the socket binds to {bind} (IPv4); bind to [::]:0 \
             or leave the bind address out"
        )));
    }
    Ok(to)
}

/// `GROUP[@IFACE]`: a multicast address (IPv6 optionally in brackets) and the interface
/// that joins, a name or one of its addresses (checked by the engine, which lists them).
fn membership(typed: &str, source: Option<IpAddr>) -> Result<Membership, Failure> {
    let (group, interface) = typed.trim().split_once('@').unwrap_or((typed.trim(), ""));
    let bare = group
        .strip_prefix('[')
        .and_then(|g| g.strip_suffix(']'))
        .unwrap_or(group);
    let group: IpAddr = bare
        .parse()
        .map_err(|_| Failure::usage(format!("--join {typed}: \"{group}\" is not an IP address")))?;
    if !group.is_multicast() {
        return Err(Failure::usage(format!(
            "--join {typed}: {group} is not a multicast address (IPv4 groups are 224.0.0.0 to \
             239.255.255.255, IPv6 groups start with ff)"
        )));
    }
    if interface.is_empty() && typed.contains('@') {
        return Err(Failure::usage(format!(
            "--join {typed}: name the interface after @ (eth0, or one of its addresses)"
        )));
    }
    Ok(Membership {
        group,
        interface: interface.to_string(),
        source,
    })
}

/// The system resolver.
fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    (host, port)
        .to_socket_addrs()
        .map(Iterator::collect)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(bind: Option<&str>, to: Option<&str>, joins: &[&str]) -> UdpArgs {
        UdpArgs {
            bind: bind.map(Into::into),
            to: to.map(Into::into),
            joins: joins.iter().map(|j| j.to_string()).collect(),
            source: None,
            broadcast: false,
            ttl: None,
            no_loop: false,
            capture: None,
            data: Default::default(),
            messages: Default::default(),
        }
    }

    /// A resolver that knows one name, with an IPv6 address listed first.
    fn fake_resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        match host {
            "dual.test" => Ok(vec![
                SocketAddr::new("2001:db8::7".parse().unwrap(), port),
                SocketAddr::new("192.0.2.7".parse().unwrap(), port),
            ]),
            "v6only.test" => Ok(vec![SocketAddr::new("2001:db8::8".parse().unwrap(), port)]),
            _ => Err("name or service not known".into()),
        }
    }

    fn planned(args: &UdpArgs) -> Result<Plan, Failure> {
        plan(args, fake_resolve)
    }

    fn usage_error(args: &UdpArgs) -> String {
        match planned(args) {
            Err(Failure { message, code: 2 }) => message,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn the_default_bind_is_any_address_of_the_destinations_family() {
        let bind = |to: Option<&str>, joins: &[&str]| planned(&args(None, to, joins)).unwrap().bind;
        assert_eq!(bind(None, &[]), "0.0.0.0:0".parse().unwrap());
        assert_eq!(bind(Some("192.0.2.1:9"), &[]), "0.0.0.0:0".parse().unwrap());
        assert_eq!(bind(Some("[::1]:9"), &[]), "[::]:0".parse().unwrap());
        assert_eq!(bind(None, &["ff15::1@lo"]), "[::]:0".parse().unwrap());
        assert_eq!(
            bind(Some("192.0.2.1:9"), &["ff15::1"]),
            "0.0.0.0:0".parse().unwrap(),
            "--to decides first"
        );
    }

    #[test]
    fn a_bare_port_or_localhost_binds_to_loopback_and_a_name_is_refused() {
        let bind = |typed: &str| planned(&args(Some(typed), None, &[])).map(|p| p.bind);
        assert_eq!(bind("5000"), Ok("127.0.0.1:5000".parse().unwrap()));
        assert_eq!(bind(":5000"), Ok("127.0.0.1:5000".parse().unwrap()));
        assert_eq!(bind("localhost:7"), Ok("127.0.0.1:7".parse().unwrap()));
        assert_eq!(bind("[::]:7"), Ok("[::]:7".parse().unwrap()));
        let error = usage_error(&args(Some("example.test:7"), None, &[]));
        assert!(
            error.contains("\"example.test\" is not an IP address"),
            "{error}"
        );
        let error = usage_error(&args(Some("127.0.0.1:70000"), None, &[]));
        assert!(
            error.starts_with("127.0.0.1:70000: not a valid port"),
            "{error}"
        );
    }

    #[test]
    fn to_is_a_literal_or_a_name_resolved_to_the_binds_family() {
        let to = |bind: Option<&str>, to: &str| planned(&args(bind, Some(to), &[])).map(|p| p.to);
        assert_eq!(
            to(None, "8.8.8.8:53"),
            Ok(Some("8.8.8.8:53".parse().unwrap()))
        );
        assert_eq!(
            to(None, "dual.test:9"),
            Ok(Some("192.0.2.7:9".parse().unwrap()))
        );
        assert_eq!(
            to(Some("[::]:0"), "dual.test:9"),
            Ok(Some("[2001:db8::7]:9".parse().unwrap()))
        );
        assert_eq!(
            to(None, "v6only.test:9"),
            Ok(Some("[2001:db8::8]:9".parse().unwrap())),
            "the other family when it is all there is"
        );
        assert_eq!(planned(&args(None, None, &[])).unwrap().to, None);
    }

    #[test]
    fn a_bad_or_unresolvable_destination_is_a_usage_error() {
        let error = usage_error(&args(None, Some("nowhere.test:9"), &[]));
        assert_eq!(
            error,
            "--to nowhere.test:9: cannot resolve nowhere.test: name or service not known"
        );
        let error = usage_error(&args(None, Some("::1:9"), &[]));
        assert!(error.contains("brackets"), "{error}");
        let error = usage_error(&args(Some("127.0.0.1:0"), Some("[::1]:9"), &[]));
        assert!(
            error.contains("is IPv6 but the socket binds to 127.0.0.1:0"),
            "{error}"
        );
    }

    #[test]
    fn joins_take_a_group_an_optional_interface_and_the_shared_source() {
        let mut with_source = args(
            None,
            None,
            &["239.1.2.3@127.0.0.1", "232.1.1.1", "[ff15::1]@eth0"],
        );
        with_source.source = Some("192.0.2.9".into());
        let joins = planned(&with_source).unwrap().joins;
        let source = Some("192.0.2.9".parse().unwrap());
        assert_eq!(
            joins,
            vec![
                Membership {
                    group: "239.1.2.3".parse().unwrap(),
                    interface: "127.0.0.1".into(),
                    source,
                },
                Membership {
                    group: "232.1.1.1".parse().unwrap(),
                    interface: String::new(),
                    source,
                },
                Membership {
                    group: "ff15::1".parse().unwrap(),
                    interface: "eth0".into(),
                    source,
                },
            ]
        );
    }

    #[test]
    fn a_join_that_is_not_a_group_or_lacks_its_interface_is_a_usage_error() {
        let error = usage_error(&args(None, None, &["10.1.2.3"]));
        assert!(
            error.contains("10.1.2.3 is not a multicast address"),
            "{error}"
        );
        let error = usage_error(&args(None, None, &["group@eth0"]));
        assert!(error.contains("\"group\" is not an IP address"), "{error}");
        let error = usage_error(&args(None, None, &["239.1.2.3@"]));
        assert!(error.contains("name the interface after @"), "{error}");
        let mut bad_source = args(None, None, &["239.1.2.3"]);
        bad_source.source = Some("me".into());
        assert_eq!(usage_error(&bad_source), "--source me: not an IP address");
    }

    #[test]
    fn flags_become_the_sockets_options() {
        let mut flags = args(None, None, &[]);
        flags.broadcast = true;
        flags.ttl = Some(4);
        flags.no_loop = true;
        assert_eq!(
            planned(&flags).unwrap().options,
            UdpOptions {
                broadcast: true,
                multicast_ttl: Some(4),
                multicast_loop: false,
                multicast_interface: String::new(),
            }
        );
        assert_eq!(
            planned(&args(None, None, &[])).unwrap().options,
            UdpOptions::default()
        );
    }
}
