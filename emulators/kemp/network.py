"""The LoadMaster's network interfaces: which subnets it is attached to, so which real servers are local.

A LoadMaster only assigns real servers on its local networks (the subnets of its interfaces) to a
Virtual Service. A non-local one needs the per-request "Allow Remote Addresses" (``non_local=1`` on
addrs), which is only offered once the global "Enable Non-Local Real Servers" (``nonlocalrs``) is on,
and only while the Virtual Service is not transparent:

* WUI guide, "Add a Real Server": "By default only Real Servers on local networks can be assigned to a
  Virtual Service. Enabling this option will allow a non-local Real Server ..."; the option is visible
  only with Enable Non-Local Real Servers selected and Transparency disabled in the Virtual Service
  (https://docs.progress.com/bundle/loadmaster-configuration-guide-web-user-interface-wui-ltsf/page/Add-a-Real-Server.html);
* "Transparency cannot be used with non-local Real Servers" (routing feature description,
  https://docs.progress.com/bundle/loadmaster-feature-description-routing-ga/page/Transparency.html;
  also the "Implications of Network Transparency" table: "Cannot have non-local Real Servers");
* clients that add remote servers send ``non_local=1`` on addrs and modrs (mathlu/loadmaster-go-client
  commit 8500e0a "Allow Real Servers outside of local networks"); the global is ``set?param=nonlocalrs``.

[?] not confirmed by any source: the error texts (``emulators.kemp.exceptions``); that the API, like the
WUI, refuses ``non_local=1`` while ``nonlocalrs`` is off; and the default of ``nonlocalrs`` — the 7.2.6x
WUI guide says "enabled by default", the twin keeps it off (older firmware, and the stricter case).

The interfaces are a twin option (``local_networks``): each entry is an interface address with its
prefix (``10.0.0.2/16``) or a network (``10.0.0.0/16``). The default is a three-armed unit whose
networks hold every real server the demo stacks and tests use; TEST-NET-3 (203.0.113.0/24) and
everything else is non-local. ``["0.0.0.0/0", "::/0"]`` makes every address local.
The interface list is read-only through ``showiface`` (the shape python-kemptech-api reads:
``<Interface><Id>``, ``<IPAddress>`` as address/prefix, ``<Mtu>``, ...; [?] fields beyond those).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from emulators.kemp.types import View

#: eth0 the client side (the stacks' VIPs, TEST-NET-1), eth1 the local demo stack's RRAS nodes
#: (TEST-NET-2), eth2 the 10.0.0.0/16 servers of the twin and e2e tests
DEFAULT_INTERFACES: tuple[str, ...] = ("192.0.2.2/24", "198.51.100.2/24", "10.0.0.2/16")


@dataclass(frozen=True)
class Interface:
    """One interface of the unit: its index and its address with the prefix of its network."""

    index: int
    address: ipaddress.IPv4Interface | ipaddress.IPv6Interface

    def view(self) -> View:
        return [
            ("Id", self.index),
            ("IPAddress", str(self.address)),
            ("Mtu", 1500),
            ("InterfaceType", "Port"),
            ("GeoTrafficEnable", "yes"),
            ("DefaultInterface", "yes" if self.index == 0 else "no"),
        ]


def parse_interfaces(specs: Sequence[str] | None) -> tuple[Interface, ...]:
    """The unit's interfaces from ``local_networks`` (``None``: the defaults); a bad entry is a ValueError."""
    return tuple(
        Interface(n, ipaddress.ip_interface(spec.strip()))
        for n, spec in enumerate(DEFAULT_INTERFACES if specs is None else specs)
    )


def is_local(interfaces: Sequence[Interface], address: str) -> bool:
    """Whether ``address`` is on the network of one of the interfaces."""
    ip = ipaddress.ip_address(address)
    return any(ip in iface.address.network for iface in interfaces)
