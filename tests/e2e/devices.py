"""Per-vendor views of a running load-balancer twin: everything the end-to-end tests need to know about one
vendor, in one place, so that a test names what it checks and the view knows how the appliance says it.

A view reads the twin through the vendor's own API, as a person at the appliance would (F5 iControl REST,
Citrix NITRO, the LoadMaster's classic /access API), reads the twin's request log (``writes``,
``last_seq``, the drain requests of a rolling restart, the configuration saves) and writes the
declaration's ``loadBalancer`` block and its secret. One subclass per ``loadBalancer.kind``; they are
found by ``kind`` (``view``), and parametrised tests take their vendors from ``components.registry``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import parse_qs

import requests
from defusedxml import ElementTree

from components.registry import kinds
from providers.common.device import Device

#: The twins' seeded automation account (the same on every twin).
USER, PASSWORD = "automation", "automation-pass"

#: A cluster declaration, as the stack file holds it (``aovpn:clusters`` item).
Decl = dict[str, Any]
#: One drain request in a load balancer's log: (time, the node or None when the request does not name it,
#: "off"/"on" or None when the log does not say which).
DrainEvent = tuple[float, str | None, str | None]
#: Per drained node: (first drain request, last drain request, first enable request).
DrainWindow = tuple[float, float, float]


def last_seq(twin: Any) -> int:
    """The sequence number of the last request in a twin's log (0 when it is empty): a mark to read from."""
    log = twin.admin().log()
    return int(log[-1]["seq"]) if log else 0


def nodes(*addresses: str) -> list[dict[str, str]]:
    """The ``nodes`` of a declaration: rras1, rras2... at ``addresses``."""
    return [{"name": f"rras{i}", "address": a} for i, a in enumerate(addresses, start=1)]


@dataclass(frozen=True)
class RrasAccess:
    """How the rolling-restart tests reach the RRAS nodes behind this load balancer (a different way behind
    each, so that every way is exercised)."""

    #: one WinRM twin serves every node at /<name>/wsman (else a twin per node, at /wsman)
    shared: bool
    https: bool
    auth: str


class DeviceView:
    """One running load-balancer twin, seen as its vendor's appliance."""

    #: The declaration's ``loadBalancer.kind`` (and the twin's name).
    kind: ClassVar[str]
    #: The secret config key of the appliance password (``loadBalancer.passwordSecret``).
    secret: ClassVar[str]
    #: How the rolling-restart tests reach the RRAS nodes behind it.
    rras: ClassVar[RrasAccess]
    #: The configuration save request (method, path, query); None: the appliance has no save step.
    save: ClassVar[tuple[str, str, str] | None] = None
    #: The persistence object's update as the provider sends it (method, path pattern for a twin fault).
    persistence_write: ClassVar[tuple[str, str] | None] = None

    def __init__(self, twin: Any) -> None:
        self.twin = twin
        self.verify = str(twin.tls.ca_path)

    # --- the twin ---------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return str(self.twin.url)

    @property
    def tls(self) -> Any:
        return self.twin.tls

    def admin(self) -> Any:
        return self.twin.admin()

    # --- the declaration --------------------------------------------------------------------------------

    def load_balancer(self, **changes: Any) -> dict[str, Any]:
        """The declaration's ``loadBalancer`` block for this twin."""
        return {
            "kind": self.kind,
            "url": self.url,
            "user": USER,
            "passwordSecret": self.secret,
            "caBundle": self.verify,
            **changes,
        }

    def secrets(self) -> dict[str, str]:
        """The secret config the declaration needs for this twin."""
        return {self.secret: PASSWORD}

    def cluster(self, base: Decl, **changes: Any) -> Decl:
        """The cluster ``base`` (name, addresses, nodes...) behind this twin, IKEv2 unless it says otherwise,
        with ``changes`` on top."""
        decl: Decl = {"protocols": ["ikev2"], **copy.deepcopy(base), "loadBalancer": self.load_balancer()}
        decl.update(copy.deepcopy(changes))
        return decl

    def device(self) -> Device:
        """How a provider reaches this twin (for tests that drive a provider's client directly)."""
        return Device(url=self.url, user=USER, password_key=self.secret, ca_bundle=self.verify)

    # --- the request log --------------------------------------------------------------------------------

    def last_seq(self) -> int:
        return last_seq(self.twin)

    def describe(self, entry: dict[str, Any]) -> str:
        """One request of the log, as ``writes`` lists it."""
        return f"{entry['method']} {entry['path']}"

    def writes(self, since: int) -> list[str]:
        """The writes the twin received after ``since``."""
        return [self.describe(e) for e in self.admin().log(since=since) if e.get("write")]

    def saves(self, since: int = 0) -> int:
        """How many configuration saves succeeded after ``since``."""
        return sum(
            1
            for e in self.admin().log(since=since)
            if (e["method"], e["path"], e.get("query", "")) == self.save and e["status"] == 200
        )

    def saved(self) -> Any:
        """The saved configuration (what a reboot returns to)."""
        return self.admin().state()["saved"]

    def persistence_timeout(self, cluster: Decl) -> int | None:
        """The IKEv2 persistence timeout (seconds) of ``cluster`` as the device has it; None when absent."""
        raise NotImplementedError

    # --- draining (rolling restarts) --------------------------------------------------------------------

    def drain_events(self, since: int, cluster: Decl) -> list[DrainEvent]:
        """One event per drain request after ``since`` for a node of ``cluster``."""
        raise NotImplementedError

    def drain_windows(self, since: int, cluster: Decl, order: list[str]) -> dict[str, DrainWindow]:
        """Per node of ``order`` (the nodes restarted after ``since``): when it was drained and enabled."""
        events = self.drain_events(since, cluster)
        assert {n for _, n, _ in events} == set(order), events
        windows: dict[str, DrainWindow] = {}
        for node in order:
            offs, ons = self.drain_split([(ts, action) for ts, n, action in events if n == node])
            windows[node] = (min(offs), max(offs), min(ons))
        return windows

    def drain_split(self, mine: list[tuple[float, str | None]]) -> tuple[list[float], list[float]]:
        """One node's drain requests: (the disabling ones, the enabling ones), the log saying which."""
        offs = [ts for ts, a in mine if a == "off"]
        ons = [ts for ts, a in mine if a == "on"]
        assert offs and len(offs) == len(ons) and max(offs) < min(ons), mine
        return offs, ons

    def node_enabled(self, cluster: Decl, node: str) -> bool:
        """Whether the load balancer sends new connections of ``cluster`` to ``node``."""
        raise NotImplementedError


class F5(DeviceView):
    """BIG-IP through iControl REST (basic authentication)."""

    kind = "f5"
    secret = "f5Password"
    rras = RrasAccess(shared=True, https=True, auth="ntlm")
    save = ("POST", "/mgmt/tm/sys/config", "")
    persistence_write = ("PATCH", r"/ltm/persistence/source-addr/")
    #: Every collection the project makes objects in.
    COLLECTIONS = (
        "ltm/node",
        "ltm/pool",
        "ltm/virtual",
        "ltm/monitor/http",
        "ltm/monitor/https",
        "ltm/persistence/ssl",
        "ltm/persistence/source-addr",
        "ltm/profile/client-ssl",
        "sys/crypto/cert",
        "sys/crypto/key",
    )

    def send(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(
            method, f"{self.url}{path}", json=body, auth=(USER, PASSWORD), verify=self.verify, timeout=30
        )

    def get(self, path: str) -> Any:
        """The object at ``path``, None when the appliance does not answer 200."""
        resp = self.send("GET", path)
        return resp.json() if resp.status_code == 200 else None

    def items(self, collection: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (self.get(f"/mgmt/tm/{collection}") or {}).get("items", [])
        return found

    def names(self, collection: str) -> set[str]:
        return {i["name"] for i in self.items(collection)}

    def full_paths(self, collection: str) -> set[str]:
        return {i["fullPath"] for i in self.items(collection)}

    def everything(self) -> dict[str, set[str]]:
        """The full path of every object, by collection."""
        return {c: self.full_paths(c) for c in self.COLLECTIONS}

    def saved(self) -> Any:
        """The saved configuration less BIG-IP's change counter (it counts every change, undone or not)."""
        return _without_generation(super().saved())

    def persistence_timeout(self, cluster: Decl) -> int | None:
        found = self.get(f"/mgmt/tm/ltm/persistence/source-addr/~Common~{cluster['name']}_ikev2_srcaddr")
        return int(found["timeout"]) if found is not None else None

    def drain_events(self, since: int, cluster: Decl) -> list[DrainEvent]:
        """A member PATCH names the node; whether it disables or enables it is in the body, not logged."""
        names = "|".join(re.escape(n["name"]) for n in cluster["nodes"])
        named = re.compile(rf"{re.escape(cluster['name'])}_({names})(?![\w-])")
        events: list[DrainEvent] = []
        for e in self.admin().log(since=since):
            if e["method"] == "PATCH" and "/members/" in e["path"]:
                found = named.search(e["path"])
                events.append((e["ts"], found.group(1) if found else None, None))
        return events

    def drain_split(self, mine: list[tuple[float, str | None]]) -> tuple[list[float], list[float]]:
        """The node's members first all off, then all on."""
        half = len(mine) // 2
        assert half and len(mine) == 2 * half, mine
        return [ts for ts, _ in mine[:half]], [ts for ts, _ in mine[half:]]

    def node_enabled(self, cluster: Decl, node: str) -> bool:
        name = cluster["name"]
        states = []
        for port in (500, 4500):
            member = self.get(
                f"/mgmt/tm/ltm/pool/~Common~{name}_ikev2_{port}/members/~Common~{name}_{node}:{port}"
            )
            states.append(member["session"] in ("user-enabled", "monitor-enabled"))
        assert len(set(states)) == 1, states
        return states[0]


def _without_generation(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_generation(v) for k, v in value.items() if k != "generation"}
    if isinstance(value, list):
        return [_without_generation(v) for v in value]
    return value


class Citrix(DeviceView):
    """Citrix ADC through NITRO (header authentication)."""

    kind = "citrix"
    secret = "adcPassword"
    rras = RrasAccess(shared=False, https=True, auth="basic")
    save = ("POST", "/nitro/v1/config/nsconfig", "action=save")
    persistence_write = ("PUT", r"/nitro/v1/config/lbgroup")
    #: A person at the appliance is its administrator; the project's ``automation`` account holds only the
    #: least-privilege policy (docs/citrix.md#least-privilege-account).
    admin_user: ClassVar[tuple[str, str]] = ("nsroot", "nsroot")

    def call(
        self, method: str, path: str, body: Any = None, as_user: tuple[str, str] | None = None
    ) -> requests.Response:
        user, password = as_user or self.admin_user
        return requests.request(
            method,
            f"{self.url}/nitro/v1/config/{path}",
            json=body,
            headers={"X-NITRO-USER": user, "X-NITRO-PASS": password},
            verify=self.verify,
            timeout=30,
        )

    def get(self, path: str) -> list[dict[str, Any]]:
        """The objects at ``path`` ([] when there are none)."""
        resp = self.call("GET", path)
        if resp.status_code == 404:
            return []
        assert resp.status_code == 200, resp.text
        resource = path.split("/", 1)[0].split("?", 1)[0]
        found: list[dict[str, Any]] = resp.json().get(resource, [])
        return found

    def names(self, resource: str) -> set[str]:
        key = {"servicegroup": "servicegroupname", "lbmonitor": "monitorname"}.get(resource, "name")
        return {str(o[key]) for o in self.get(resource)}

    def persistence_timeout(self, cluster: Decl) -> int | None:
        """The lbgroup's timeout is in minutes."""
        resp = self.call("GET", f"lbgroup/{cluster['name']}_ikev2_persist")
        return int(resp.json()["lbgroup"][0]["timeout"]) * 60 if resp.status_code == 200 else None

    def drain_events(self, since: int, cluster: Decl) -> list[DrainEvent]:
        """A server disable/enable names the server in the body only: the event names no node."""
        events: list[DrainEvent] = []
        for e in self.admin().log(since=since):
            if e["path"].endswith("/config/server") and "action=" in e["query"]:
                action = parse_qs(e["query"])["action"][0]
                events.append((e["ts"], None, "off" if action == "disable" else "on"))
        return events

    def drain_windows(self, since: int, cluster: Decl, order: list[str]) -> dict[str, DrainWindow]:
        """Pairs of disable/enable, one pair per node of ``order``, in order."""
        events = self.drain_events(since, cluster)
        assert [a for _, _, a in events] == ["off", "on"] * len(order), events
        windows: dict[str, DrainWindow] = {}
        for k, node in enumerate(order):
            off, on = events[2 * k][0], events[2 * k + 1][0]
            windows[node] = (off, off, on)
        return windows

    def node_enabled(self, cluster: Decl, node: str) -> bool:
        return bool(self.get(f"server/{cluster['name']}_{node}")[0]["state"] == "ENABLED")


class Kemp(DeviceView):
    """Kemp LoadMaster through the classic /access API (basic authentication, XML answers)."""

    kind = "kemp"
    secret = "lmPassword"
    rras = RrasAccess(shared=True, https=False, auth="ntlm")

    def command(self, command: str, **params: Any) -> tuple[int, Any]:
        resp = requests.get(
            f"{self.url}/access/{command}",
            params=params,
            auth=(USER, PASSWORD),
            verify=self.verify,
            timeout=30,
        )
        return resp.status_code, ElementTree.fromstring(resp.content)

    def show_vs(self, port: int, address: str, prot: str = "udp") -> dict[str, Any] | None:
        """A virtual service's fields, its real servers' under "Rs"; None when there is none."""
        status, root = self.command("showvs", vs=address, port=port, prot=prot)
        if status == 422:
            return None
        assert status == 200, ElementTree.tostring(root)
        data = root.find("Success/Data")
        fields: dict[str, Any] = {child.tag: (child.text or "") for child in data if len(child) == 0}
        fields["Rs"] = [{c.tag: (c.text or "") for c in rs} for rs in data.findall("Rs")]
        return fields

    @staticmethod
    def real_servers(vs: dict[str, Any]) -> list[tuple[str, str]]:
        """A virtual service's real servers, (address, port), sorted."""
        return sorted((rs["Addr"], rs["Port"]) for rs in vs["Rs"])

    def listed(self) -> list[dict[str, str]]:
        status, root = self.command("listvs")
        assert status == 200
        return [{c.tag: (c.text or "") for c in vs if len(c) == 0} for vs in root.findall("Success/Data/VS")]

    def certificates(self) -> list[str | None]:
        _, root = self.command("listcert")
        return [c.findtext("name") for c in root.findall("Success/Data/cert")]

    def describe(self, entry: dict[str, Any]) -> str:
        """/access commands are GETs: the command and its parameters say what was written."""
        return f"{entry['path']}?{entry.get('query', '')}"

    def persistence_timeout(self, cluster: Decl) -> int | None:
        vs = self.show_vs(500, cluster["virtualAddress"])
        return int(vs["PersistTimeout"]) if vs is not None else None

    def drain_events(self, since: int, cluster: Decl) -> list[DrainEvent]:
        """``modrs`` names the real server by address, and says Enable=N or Y."""
        by_address = {n["address"]: n["name"] for n in cluster["nodes"]}
        events: list[DrainEvent] = []
        for e in self.admin().log(since=since):
            if e.get("command") == "modrs":
                query = parse_qs(e["query"])
                node = by_address[query["rs"][0]]
                events.append((e["ts"], node, "off" if query["Enable"][0] in ("N", "False", "0") else "on"))
        return events

    def node_enabled(self, cluster: Decl, node: str) -> bool:
        (address,) = [n["address"] for n in cluster["nodes"] if n["name"] == node]
        states = []
        for port in (500, 4500):
            vs = self.show_vs(port, cluster["virtualAddress"])
            assert vs is not None
            (rs,) = [r for r in vs["Rs"] if r["Addr"] == address]
            states.append(rs["Enable"] == "Y")
        assert len(set(states)) == 1, states
        return states[0]


def views() -> dict[str, type[DeviceView]]:
    """The view class of each ``loadBalancer.kind``."""
    return {cls.kind: cls for cls in DeviceView.__subclasses__()}


def view(kind: str, twin: Any) -> DeviceView:
    """The view of ``twin``, a running twin of the load balancer ``kind``."""
    found = views().get(kind)
    if found is None:
        raise LookupError(f"no DeviceView for loadBalancer.kind {kind!r} in tests/e2e/devices.py")
    return found(twin)


def saving_kinds() -> list[str]:
    """The registered kinds whose appliance has a configuration save step."""
    return [k for k in kinds() if views()[k].save is not None]
