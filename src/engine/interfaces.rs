//! This machine's network interfaces, for choosing where a multicast group is joined and
//! where multicast goes out. The list comes from the `if-addrs` crate; this file only
//! groups it by interface and turns what a person typed (a name, an address, or nothing)
//! into what the socket calls need.

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr};

/// One interface with all its addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetInterface {
    pub name: String,
    /// The kernel's index (what IPv6 multicast calls take); `None` where unknown.
    pub index: Option<u32>,
    pub addrs: Vec<IpAddr>,
}

impl NetInterface {
    /// `lo (127.0.0.1, ::1)`: how the interface is shown in a list.
    pub fn describe(&self) -> String {
        let addrs: Vec<String> = self.addrs.iter().map(IpAddr::to_string).collect();
        format!("{} ({})", self.name, addrs.join(", "))
    }
}

/// The interfaces that have an address, in the order the system lists them.
pub fn list() -> io::Result<Vec<NetInterface>> {
    let mut by_name: BTreeMap<String, (usize, NetInterface)> = BTreeMap::new();
    for (position, interface) in if_addrs::get_if_addrs()?.into_iter().enumerate() {
        let entry = by_name.entry(interface.name.clone()).or_insert_with(|| {
            (
                position,
                NetInterface {
                    name: interface.name.clone(),
                    index: interface.index,
                    addrs: Vec::new(),
                },
            )
        });
        let ip = interface.ip();
        if !entry.1.addrs.contains(&ip) {
            entry.1.addrs.push(ip);
        }
    }
    let mut listed: Vec<(usize, NetInterface)> = by_name.into_values().collect();
    listed.sort_by_key(|(position, _)| *position);
    Ok(listed.into_iter().map(|(_, interface)| interface).collect())
}

/// An interface as the multicast socket options want it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChosenInterface {
    /// An IPv4 address of the interface (`0.0.0.0`: the system's choice).
    pub v4: Ipv4Addr,
    /// Its index (0: the system's choice).
    pub index: u32,
}

impl ChosenInterface {
    pub const ANY: ChosenInterface = ChosenInterface {
        v4: Ipv4Addr::UNSPECIFIED,
        index: 0,
    };
}

/// What `typed` (a name such as `eth0`, one of an interface's addresses, or empty / `any`)
/// stands for, with the reason in words when it matches no interface.
pub(crate) fn choose(typed: &str, interfaces: &[NetInterface]) -> Result<ChosenInterface, String> {
    let typed = typed.trim();
    if typed.is_empty() || typed.eq_ignore_ascii_case("any") {
        return Ok(ChosenInterface::ANY);
    }
    let found = match typed.parse::<IpAddr>() {
        Ok(ip) => interfaces.iter().find(|i| i.addrs.contains(&ip)),
        Err(_) => interfaces.iter().find(|i| i.name == typed),
    };
    let Some(interface) = found else {
        let names: Vec<&str> = interfaces.iter().map(|i| i.name.as_str()).collect();
        return Err(format!(
            "no interface is called or has the address \"{typed}\" (this machine has: {})",
            names.join(", ")
        ));
    };
    let v4 = match typed.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip,
        _ => interface
            .addrs
            .iter()
            .find_map(|ip| match ip {
                IpAddr::V4(v4) => Some(*v4),
                IpAddr::V6(_) => None,
            })
            .unwrap_or(Ipv4Addr::UNSPECIFIED),
    };
    Ok(ChosenInterface {
        v4,
        index: interface.index.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> Vec<NetInterface> {
        vec![
            NetInterface {
                name: "lo".into(),
                index: Some(1),
                addrs: vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
            },
            NetInterface {
                name: "v0".into(),
                index: Some(7),
                addrs: vec!["fe80::1".parse().unwrap()],
            },
        ]
    }

    #[test]
    fn empty_or_any_leaves_the_choice_to_the_system() {
        assert_eq!(choose("", &machine()), Ok(ChosenInterface::ANY));
        assert_eq!(choose(" any ", &machine()), Ok(ChosenInterface::ANY));
    }

    #[test]
    fn a_name_gives_its_index_and_first_ipv4_address() {
        let lo = choose("lo", &machine()).unwrap();
        assert_eq!((lo.v4, lo.index), (Ipv4Addr::LOCALHOST, 1));
        let v0 = choose("v0", &machine()).unwrap();
        assert_eq!((v0.v4, v0.index), (Ipv4Addr::UNSPECIFIED, 7));
    }

    #[test]
    fn an_address_finds_its_interface() {
        assert_eq!(choose("fe80::1", &machine()).unwrap().index, 7);
        assert_eq!(choose("127.0.0.1", &machine()).unwrap().index, 1);
    }

    #[test]
    fn an_unknown_interface_is_refused_with_the_ones_there_are() {
        let error = choose("eth9", &machine()).unwrap_err();
        assert!(error.contains("\"eth9\""), "{error}");
        assert!(error.contains("lo, v0"), "{error}");
    }

    #[test]
    fn this_machine_lists_its_loopback() {
        let listed = list().expect("getifaddrs works here");
        let lo = listed
            .iter()
            .find(|i| i.addrs.contains(&IpAddr::V4(Ipv4Addr::LOCALHOST)))
            .expect("an interface has 127.0.0.1");
        assert!(lo.index.is_some_and(|index| index > 0), "{lo:?}");
    }
}
