"""Adoption by the LoadMaster providers themselves (providers/kemp/objects.py over the base's adoption,
providers/common/resource.py), against the twin: a service a person made, under a name with spaces, is
taken over on purpose (``adopt: True``) with one ``modvs`` of what differs and the marker, keeping its name
and its Index; its real servers come with it; without ``adopt`` it is refused, and so is one another stack
marked, at preview (``check``) already."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from emulators.common import RunningTwin, start_twin
from providers.common.clients import new_run
from providers.common.errors import OwnershipError
from providers.common.resource import ApplianceObjectProvider
from providers.kemp import client as kemp_clients
from providers.kemp.objects import (
    PortFollowProvider,
    RealServerProvider,
    VirtualServiceProvider,
    nickname_owner,
)
from tests.emulators.kemp_access import Kemp, fields

VIP = "203.0.113.40"
NODE = "10.0.0.11"
OWNER = "aovpn-iac:aovpn/adopt"
OTHER = "aovpn-iac:aovpn/other"
SECRETS = {"lmPassword": "automation-pass"}  # the twin's seeded account, not a real credential


@pytest.fixture
def twin(tls: Any) -> Iterator[RunningTwin]:
    running = start_twin("kemp", tls=tls)
    yield running
    kemp_clients._CLIENTS.close_all()
    running.stop()


def provider(cls: type[ApplianceObjectProvider]) -> Any:
    made = cls()
    made.configure(ConfigureRequest(Config({f"aovpn:{k}": v for k, v in SECRETS.items()}, "aovpn")))
    return made


def device(twin: RunningTwin) -> dict[str, Any]:
    assert twin.tls is not None
    return {
        "url": twin.url,
        "user": "automation",
        "password_key": "lmPassword",
        "ca_bundle": str(twin.tls.ca_path),
    }


def service(twin: RunningTwin, port: int = 500, **more: Any) -> dict[str, Any]:
    return {
        "device": device(twin),
        "owner": OWNER,
        "address": VIP,
        "port": port,
        "protocol": "udp",
        "name": "AOVPN IKE",
        "enabled": True,
        "transparent": True,
        "force_l7": True,
        "persist": "src",
        "persist_timeout": 3600,
        "schedule": "rr",
        "check_type": "icmp",
        **more,
    }


def hand_built(twin: RunningTwin, port: int = 500, nickname: str = "AOVPN IKE") -> str:
    """A service as a person makes it: transparency off, no persistence; answers its Index."""
    lm = Kemp(twin)
    index = fields(lm.ok("addvs", vs=VIP, port=port, prot="udp", NickName=nickname, Transparent="N"))["Index"]
    lm.ok("addrs", vs=index, rs=NODE, rsport=port)
    return index


def writes(twin: RunningTwin, since: int) -> list[dict[str, list[str]]]:
    return [
        {"command": [e["command"]], **parse_qs(e.get("query", ""))}
        for e in twin.admin().log(since=since)
        if e.get("write")
    ]


def last_seq(twin: RunningTwin) -> int:
    log = twin.admin().log()
    return int(log[-1]["seq"]) if log else 0


def test_a_name_with_spaces_is_the_name_and_only_an_aovpn_word_is_a_marker():
    assert nickname_owner("AOVPN IKE") == ("AOVPN IKE", None)
    assert nickname_owner(f"AOVPN IKE {OWNER}") == ("AOVPN IKE", OWNER)
    assert nickname_owner(f"vpn-lab_ikev2_500 {OWNER}") == ("vpn-lab_ikev2_500", OWNER)
    assert nickname_owner("hand made") == ("hand made", None)
    assert nickname_owner(None) == (None, None)


def test_an_unmarked_service_is_adopted_with_one_write_of_what_differs(twin, capsys):
    index = hand_built(twin)
    vs = provider(VirtualServiceProvider)
    props = service(twin, adopt=True)

    seq = last_seq(twin)
    vs.check({}, dict(props))  # the preview: reads, tells, writes nothing
    told = capsys.readouterr().err
    assert f"adopting virtual service {VIP}:500/udp: Transparent: N -> Y; Persist: none -> src; " in told
    assert f"NickName: AOVPN IKE -> AOVPN IKE {OWNER}" in told
    assert writes(twin, seq) == []

    seq = last_seq(twin)
    outs = vs.create(dict(props)).outs
    [write] = writes(twin, seq)
    assert write["command"] == ["modvs"]
    assert {k.lower() for k in write} - {"command", "vs", "port", "prot"} == {
        "nickname",
        "transparent",
        "persist",
        "persisttimeout",
    }
    after = fields(Kemp(twin).ok("showvs", vs=VIP, port=500, prot="udp"))
    assert after["Index"] == index and after["NickName"] == f"AOVPN IKE {OWNER}"
    assert (after["Transparent"], after["Persist"], after["PersistTimeout"]) == ("Y", "src", "3600")
    assert {k: outs[k] for k in ("name", "owner", "transparent", "persist")} == {
        "name": "AOVPN IKE",
        "owner": OWNER,
        "transparent": True,
        "persist": "src",
    }

    # its real server comes with it: nothing to write, and it is ours now
    rs = provider(RealServerProvider)
    rs_props = {
        "device": device(twin),
        "owner": OWNER,
        "adopt": True,
        "vs": {"address": VIP, "port": 500, "protocol": "udp"},
        "vs_id": f"{VIP}:500/udp",
        "address": NODE,
        "port": 500,
        "weight": 1000,
        "enabled": True,
    }
    seq = last_seq(twin)
    assert rs.create(dict(rs_props)).outs["owner"] == OWNER
    assert writes(twin, seq) == []

    # the next run finds it ours: the same inputs write nothing
    new_run()
    seq = last_seq(twin)
    assert vs.create(dict(props)).outs["revision"] == "adopted"
    assert writes(twin, seq) == []


def test_the_real_servers_of_an_adopted_service_preview_as_no_change(twin, capsys):
    hand_built(twin)
    rs_props = {
        "device": device(twin),
        "owner": OWNER,
        "adopt": True,
        "vs": {"address": VIP, "port": 500, "protocol": "udp"},
        "vs_id": f"{VIP}:500/udp",
        "address": NODE,
        "port": 500,
        "weight": 1000,
        "enabled": True,
    }
    provider(RealServerProvider).check({}, dict(rs_props))
    assert (
        f"adopting real server {NODE}:500 of virtual service {VIP}:500/udp: no change"
        in capsys.readouterr().err
    )
    follow = {
        "device": device(twin),
        "owner": OWNER,
        "adopt": True,
        "vs": {"address": VIP, "port": 500, "protocol": "udp"},
        "vs_id": "a",
        "follow": {"address": VIP, "port": 4500, "protocol": "udp"},
        "follow_id": "b",
    }
    provider(PortFollowProvider).check({}, dict(follow))
    assert "is not there to adopt; it will be created" in capsys.readouterr().err


def test_without_adopt_an_unmarked_service_is_refused(twin):
    hand_built(twin)
    seq = last_seq(twin)
    with pytest.raises(OwnershipError) as refused:
        provider(VirtualServiceProvider).create(service(twin))
    assert "is not marked as managed by this project" in str(refused.value)
    assert writes(twin, seq) == []


def test_a_service_another_stack_marked_is_refused_at_preview_and_on_create(twin):
    hand_built(twin, nickname=f"theirs {OTHER}")
    vs = provider(VirtualServiceProvider)
    seq = last_seq(twin)
    with pytest.raises(OwnershipError) as refused:
        vs.check({}, service(twin, adopt=True))
    host = twin.url.removeprefix("https://")
    assert str(refused.value).startswith(
        f"{host}: virtual service {VIP}:500/udp already exists and is marked {OTHER!r}"
    )
    with pytest.raises(OwnershipError):
        vs.create(service(twin, adopt=True))
    assert writes(twin, seq) == []
    # a real server on it is refused too, naming the service's owner
    rs_props = {
        "device": device(twin),
        "owner": OWNER,
        "adopt": True,
        "vs": {"address": VIP, "port": 500, "protocol": "udp"},
        "vs_id": "x",
        "address": NODE,
        "port": 500,
        "weight": 1000,
        "enabled": True,
    }
    with pytest.raises(OwnershipError) as child:
        provider(RealServerProvider).check({}, rs_props)
    assert OTHER in str(child.value)
