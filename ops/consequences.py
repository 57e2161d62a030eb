"""What a drifted property breaks, in the domain's words: the table of consequences the drift report
(ops/drift.py) prints beside every change it finds.

Each rule is keyed by the object's kind as its resource type names it (``f5:VirtualServer`` for
``pulumi-python:dynamic/f5:VirtualServer``) and by the property as the provider names it (the input keys of
providers/<vendor>/objects.py; a field of the IPsec policy as ``policy.DHGroup``; a registry value by its
value name, ``EnableServerFragmentation``; ``None`` for the object itself, found deleted). A rule names
the declaration field the property comes from (as the stack file spells it: components/declaration_prose.py)
and may say what a device value means in the declaration's words (``automap`` is ``translated``).

Anything without a rule is reported as NOT_IN_TABLE, never left out.

Where the facts come from: DESIGN.md's domain page (why each setting exists), docs/kemp.md#port-following,
docs/citrix.md#persistency-groups, docs/citrix.md#global-modes-and-features,
docs/rras.md#ikev2-fragmentation, docs/rras.md#ike-initial-query-limit, docs/rras.md#sstp-tls-offload;
IKEv2 lifetimes from RFC 7296 section 2.8 (each end enforces its own lifetime; they are not negotiated).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: What the report says of a change no rule covers.
NOT_IN_TABLE = "not in the table: review the change"

#: The properties every appliance object has (its ownership marker).
ANY_KIND = "*"

Props = Mapping[str, Any]
Meaning = Mapping[Any, str] | Callable[[Any], str | None]


@dataclass(frozen=True)
class Rule:
    """What a change of ``prop`` of a ``kind`` object breaks."""

    kind: str
    #: the provider's name of the property; None: the object itself (deleted on the device)
    prop: str | None
    breaks: str
    #: the declaration field it comes from, as the stack file spells it (None: fixed by the project)
    declaration: str | None = None
    #: a device value in the declaration's words (``automap`` -> ``translated``)
    means: Meaning = field(default_factory=dict)
    #: the rule applies only to objects whose inputs pass this test (IKEv2 rather than SSTP)
    when: Callable[[Props], bool] | None = None

    def meaning(self, value: Any) -> str | None:
        if callable(self.means):
            return self.means(value)
        try:
            return self.means.get(value)
        except TypeError:  # an unhashable value (a list) has no meaning of its own
            return None


def _udp(props: Props) -> bool:
    """An IKEv2 object (UDP 500/4500) rather than an SSTP one (TCP)."""
    values = (props.get("ip_protocol"), props.get("service_type"), props.get("protocol"))
    return any(str(v).lower() == "udp" for v in values if v is not None)


def _tcp(props: Props) -> bool:
    return not _udp(props)


def _declared_absent(props: Props) -> bool:
    return props.get("ensure") == "absent"


def _declared_present(props: Props) -> bool:
    return props.get("ensure") != "absent"


def _minutes(value: Any) -> str | None:
    return f"{value * 60} s" if isinstance(value, int) and not isinstance(value, bool) else None


PRESERVED = {"none": "preserved", "automap": "translated"}
USIP = {"YES": "preserved", "NO": "translated"}
TRANSPARENT = {True: "preserved", False: "translated"}

SA_LIMIT = (
    "the client source address is translated, so every client reaches RRAS from one address: RRAS limits "
    "IPsec SAs per source address and clients fail with error 809 under load"
)
SSTP_ADDRESS = (
    "the nodes see the load balancer's address instead of the SSTP client's (SSTP uses no IPsec SA, so "
    "the per-address SA limit does not apply; per-client addresses are lost to RRAS)"
)
SPLIT = (
    "IKEv2 starts on UDP 500 and moves to 4500: without persistence across both services one client's "
    "500 and 4500 traffic can reach different nodes and the connection fails with error 809"
)
TIMEOUT = (
    "persistence lasts the device's timeout, not the declared one: shorter, and a client whose record "
    "expired can have its 500 and 4500 traffic sent to different nodes (809); longer, and clients stay on "
    "a node after it was drained or re-added"
)
SPREAD = "new clients are spread over the nodes by another method than declared: uneven load"
CAPACITY = "the node takes no new clients here: the cluster runs with less capacity than declared"
HEALTH = (
    "the nodes are health-checked differently than declared: a failed node may keep getting clients, "
    "or a healthy one none"
)
CIPHER = (
    "clients must use the same IPsec policy as the server (their profile carries the declared one): with "
    "the node's value they fail with error 13868, and a weaker value weakens every tunnel to this node"
)
LIFETIME = (
    "SAs are rekeyed on the node's own schedule instead of the declared one (IKEv2 does not negotiate "
    "lifetimes, so no client fails; only the rekey interval differs)"
)
FRAGMENTATION = (
    "IKEv2 fragmentation is off on the node: large IKE_AUTH messages (certificate chains) are "
    "IP-fragmented and dropped by some firewalls, and those clients fail with error 809"
)
INITIAL_QUERY = (
    "the SA-limit workaround is missing while the load balancer translates the client address: RRAS "
    "refuses further SAs from the load balancer's one address and clients fail with error 809 under load"
)
INITIAL_QUERY_EXTRA = (
    "the SA-limit workaround is set although the client address is preserved: not harmful, but not as "
    "declared (the next up removes it)"
)
SSTP_OFFLOAD = (
    "the SSTP TLS-offload values no longer match the load balancer (RRAS expects TLS where the load "
    "balancer sends plain HTTP, or another certificate hash): SSTP connections fail"
)
PORT_GONE = "the virtual address no longer answers on this port: clients fail to connect (809 for IKEv2)"
NO_NODES = "the service has no nodes behind it: clients on this port fail to connect (809 for IKEv2)"
OWNER = (
    "the ownership marker changed: the object now claims another owner, and the next up refuses to "
    "change or delete it; find out who changed it before repairing"
)

RULES: tuple[Rule, ...] = (
    # -- every appliance object --------------------------------------------------------------------------
    Rule(ANY_KIND, "owner", OWNER),
    # -- F5 BIG-IP ----------------------------------------------------------------------------------------
    Rule("f5:VirtualServer", "source_address_translation", SA_LIMIT, "clientAddress", PRESERVED, when=_udp),
    Rule(
        "f5:VirtualServer", "source_address_translation", SSTP_ADDRESS, "clientAddress", PRESERVED, when=_tcp
    ),
    Rule("f5:VirtualServer", "persistence", SPLIT, when=_udp),
    Rule("f5:VirtualServer", "pool", "the virtual server sends its clients to another pool's nodes"),
    Rule("f5:VirtualServer", "destination_address", PORT_GONE, "virtualAddress"),
    Rule("f5:VirtualServer", None, PORT_GONE),
    Rule("f5:SourceAddressPersistence", "match_across_services", SPLIT),
    Rule("f5:SourceAddressPersistence", "timeout", TIMEOUT, "persistenceTimeout"),
    Rule("f5:SourceAddressPersistence", None, SPLIT),
    Rule("f5:Pool", "members", CAPACITY, "nodes"),
    Rule("f5:Pool", "load_balancing_mode", SPREAD, "loadBalancingMethod"),
    Rule("f5:Pool", "monitor", HEALTH),
    Rule("f5:Pool", None, NO_NODES),
    Rule("f5:Node", None, CAPACITY, "nodes"),
    # -- Citrix ADC ---------------------------------------------------------------------------------------
    Rule("citrix:ServiceGroup", "usip", SA_LIMIT, "clientAddress", USIP, when=_udp),
    Rule("citrix:ServiceGroup", "usip", SSTP_ADDRESS, "clientAddress", USIP, when=_tcp),
    Rule("citrix:ServiceGroup", None, NO_NODES),
    Rule(
        "citrix:Mode",
        "enabled",
        "global mode USNIP, which this cluster's preserved client address relies on, is off; it is "
        "appliance-wide, so another workload's owner may have turned it off: agree with them before the "
        "repair turns it on again (otherwise clients fail with error 809 under load)",
        "clientAddress",
    ),
    Rule("citrix:LbGroup", "persistence_type", SPLIT),
    Rule("citrix:LbGroup", "timeout", TIMEOUT, "persistenceTimeout", _minutes),
    Rule("citrix:LbGroup", None, SPLIT),
    Rule("citrix:LbGroupMember", None, SPLIT),
    Rule("citrix:LbVserver", "lb_method", SPREAD, "loadBalancingMethod"),
    Rule("citrix:LbVserver", "address", PORT_GONE, "virtualAddress"),
    Rule("citrix:LbVserver", None, PORT_GONE),
    Rule("citrix:LbVserverServiceGroup", None, NO_NODES),
    Rule("citrix:ServiceGroupMember", None, CAPACITY, "nodes"),
    Rule("citrix:Server", "address", CAPACITY, "nodes[].address"),
    Rule("citrix:Server", None, CAPACITY, "nodes"),
    Rule("citrix:ServiceGroupMonitor", None, HEALTH),
    # -- Kemp LoadMaster ----------------------------------------------------------------------------------
    Rule("kemp:VirtualService", "transparent", SA_LIMIT, "clientAddress", TRANSPARENT),
    Rule("kemp:VirtualService", "persist", SPLIT),
    Rule("kemp:VirtualService", "persist_timeout", TIMEOUT, "persistenceTimeout"),
    Rule("kemp:VirtualService", "schedule", SPREAD, "loadBalancingMethod"),
    Rule(
        "kemp:VirtualService",
        "enabled",
        "the virtual service is disabled: no client reaches the cluster on this port (809)",
    ),
    Rule(
        "kemp:VirtualService",
        "force_l7",
        "the service runs at layer 4: port following may no longer hold on current firmware "
        "(docs/kemp.md#port-following, unconfirmed), splitting a client's 500 and 4500 traffic (809)",
    ),
    Rule("kemp:VirtualService", "check_type", HEALTH),
    Rule("kemp:VirtualService", None, PORT_GONE),
    Rule("kemp:PortFollow", None, SPLIT),
    Rule(
        "kemp:RealServer",
        "enabled",
        CAPACITY + " (a drain left in place?)",
        means={True: "enabled", False: "disabled (drained)"},
    ),
    Rule("kemp:RealServer", "weight", SPREAD),
    Rule("kemp:RealServer", None, CAPACITY, "nodes"),
    Rule("kemp:SstpVirtualService", "transparent", SSTP_ADDRESS, "clientAddress", TRANSPARENT),
    Rule("kemp:SstpVirtualService", None, PORT_GONE),
    # -- RRAS nodes ---------------------------------------------------------------------------------------
    *(
        Rule("rras:IpsecPolicy", f"policy.{name}", CIPHER, f"ipsec.{declared}")
        for name, declared in (
            ("EncryptionMethod", "encryptionMethod"),
            ("IntegrityCheckMethod", "integrityCheckMethod"),
            ("CipherTransformConstants", "cipherTransformConstants"),
            ("AuthenticationTransformConstants", "authenticationTransformConstants"),
            ("DHGroup", "dhGroup"),
            ("PfsGroup", "pfsGroup"),
        )
    ),
    *(
        Rule("rras:IpsecPolicy", f"policy.{name}", LIFETIME, f"ipsec.{declared}")
        for name, declared in (
            ("SALifeTimeSeconds", "saLifeTimeSeconds"),
            ("MMSALifeTimeSeconds", "mmSaLifeTimeSeconds"),
            ("SADataSizeForRenegotiationKilobytes", "saDataSizeForRenegotiationKilobytes"),
        )
    ),
    Rule("rras:RegistryValue", "EnableServerFragmentation", FRAGMENTATION, "ikev2Fragmentation"),
    Rule(
        "rras:RegistryValue",
        "IkeNumEstablishedForInitialQuery",
        INITIAL_QUERY,
        "ikeNumEstablishedForInitialQuery",
        when=_declared_present,
    ),
    Rule(
        "rras:RegistryValue",
        "IkeNumEstablishedForInitialQuery",
        INITIAL_QUERY_EXTRA,
        "clientAddress",
        when=_declared_absent,
    ),
    *(
        Rule("rras:RegistryValue", name, SSTP_OFFLOAD, "sstp.tlsOffload")
        for name in ("UseHttps", "isHashConfiguredByAdmin", "SHA256CertificateHash", "SHA1CertificateHash")
    ),
)


def _index(rules: Iterable[Rule]) -> dict[tuple[str, str | None], list[Rule]]:
    table: dict[tuple[str, str | None], list[Rule]] = {}
    for rule in rules:
        table.setdefault((rule.kind, rule.prop), []).append(rule)
    return table


TABLE = _index(RULES)


def rule_for(kind: str, prop: str | None, props: Props) -> Rule | None:
    """The rule for a change of ``prop`` (None: the object deleted) of a ``kind`` object whose declared
    inputs are ``props``; None when the table has none."""
    for key in ((kind, prop), (ANY_KIND, prop)):
        for rule in TABLE.get(key, []):
            if rule.when is None or rule.when(props):
                return rule
    return None


def breaks(kind: str, prop: str | None, props: Props) -> str:
    """What the change breaks, or NOT_IN_TABLE."""
    rule = rule_for(kind, prop, props)
    return rule.breaks if rule is not None else NOT_IN_TABLE
