"""Declared adoption (``adopt: True``) by the Citrix providers, called directly against the NITRO twin: the
preview's check reads the object once and names what changes (a person's comment included), the create
takes the unmarked object over writing only that, bindings follow the objects they hang from, and an
object of the wrong kind or marked by another stack is refused before anything is written."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from emulators.common import RunningTwin
from providers.citrix import objects as adc
from providers.citrix.client import close_all
from providers.common.clients import new_run
from providers.common.errors import DeviceStateError, OwnershipError
from providers.common.resource import ApplianceObjectProvider
from tests.audit.test_citrix_audit import Nitro
from tests.module_twin import module_twin

OWNER = "aovpn-iac:aovpn/test"
PERSON = "IKE for AOVPN, J. Smith"


shared_twin, twin = module_twin("citrix", after_reset=new_run, before_stop=close_all)


def provider(cls: type[ApplianceObjectProvider]) -> ApplianceObjectProvider:
    made = cls()
    made.configure(ConfigureRequest(Config({"aovpn:adcPassword": "automation-pass"}, "aovpn")))
    return made


def props(twin: RunningTwin, **attrs: Any) -> dict[str, Any]:
    assert twin.tls is not None
    device = {
        "url": twin.url,
        "user": "automation",
        "password_key": "adcPassword",
        "ca_bundle": str(twin.tls.ca_path),
    }
    return {"device": device, "owner": OWNER, "adopt": True, **attrs}


def writes(twin: RunningTwin, since: int) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in twin.admin().log(since=since) if e.get("write")]


def seq(twin: RunningTwin) -> int:
    log = twin.admin().log()
    return int(log[-1]["seq"]) if log else 0


def vserver(
    twin: RunningTwin, name: str = "AOVPN_IKE_VS", comment: str | None = PERSON, kind: str = "UDP"
) -> None:
    extra = {"comment": comment} if comment else {}
    Nitro(twin).add("lbvserver", name=name, servicetype=kind, ipv46="203.0.113.10", port=500, **extra)


def vserver_props(twin: RunningTwin, name: str = "AOVPN_IKE_VS") -> dict[str, Any]:
    return props(
        twin, name=name, service_type="UDP", port=500, address="203.0.113.10", lb_method="LEASTCONNECTION"
    )


def test_a_vserver_with_a_persons_comment_is_previewed_and_taken_over(
    twin: RunningTwin, capsys: pytest.CaptureFixture[str]
) -> None:
    vserver(twin)
    p = provider(adc.LbVserverProvider)
    since = seq(twin)
    p.check({}, vserver_props(twin))
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(f"adopting lbvserver AOVPN_IKE_VS: comment: {PERSON} -> {OWNER}")
    )
    assert writes(twin, since) == []
    created = p.create(vserver_props(twin))
    assert created.id == "AOVPN_IKE_VS"
    assert writes(twin, since) == ["PUT /nitro/v1/config/lbvserver/AOVPN_IKE_VS"]
    assert Nitro(twin).call("GET", "lbvserver/AOVPN_IKE_VS")["lbvserver"][0]["comment"] == OWNER


def test_an_object_another_stack_marked_is_refused_at_preview(twin: RunningTwin) -> None:
    vserver(twin, comment="aovpn-iac:aovpn/other-stack")
    since = seq(twin)
    with pytest.raises(
        OwnershipError,
        match="lbvserver AOVPN_IKE_VS already exists and is marked 'aovpn-iac:aovpn/other-stack'",
    ):
        provider(adc.LbVserverProvider).check({}, vserver_props(twin))
    with pytest.raises(OwnershipError):
        provider(adc.LbVserverProvider).create(vserver_props(twin))
    assert writes(twin, since) == []


def test_an_object_of_another_kind_cannot_be_adopted(twin: RunningTwin) -> None:
    vserver(twin, kind="TCP")
    Nitro(twin).add("lbmonitor", monitorname="Ping_Mon", type="UDP-ECV")
    since = seq(twin)
    with pytest.raises(
        DeviceStateError,
        match=r"lbvserver AOVPN_IKE_VS cannot be adopted: it has servicetype TCP \(the cluster needs UDP\)",
    ):
        provider(adc.LbVserverProvider).check({}, vserver_props(twin))
    monitor = props(
        twin, name="Ping_Mon", monitor_type="PING", interval=5, response_timeout=2, retries=3, downtime=30
    )
    with pytest.raises(
        DeviceStateError,
        match=r"lbmonitor Ping_Mon cannot be adopted: it has type UDP-ECV \(the cluster needs PING\)",
    ):
        provider(adc.PingMonitorProvider).create(monitor)
    assert writes(twin, since) == []


def test_a_persistency_group_holding_unmarked_vservers_is_adopted_with_them(
    twin: RunningTwin, capsys: pytest.CaptureFixture[str]
) -> None:
    vserver(twin, comment=None)
    nitro = Nitro(twin)
    nitro.add("lbgroup", name="IKEv2-Persist", persistencetype="SOURCEIP", timeout=5)
    nitro.bind("lbgroup_lbvserver_binding", name="IKEv2-Persist", vservername="AOVPN_IKE_VS")
    group = props(twin, name="IKEv2-Persist", persistence_type="SOURCEIP", timeout=30)
    member = props(
        twin, group="IKEv2-Persist", vserver="AOVPN_IKE_VS", parents=["IKEv2-Persist", "AOVPN_IKE_VS"]
    )
    since = seq(twin)
    provider(adc.LbGroupProvider).check({}, group)
    provider(adc.LbGroupVserverBindingProvider).check({}, member)  # exists: nothing to say, no refusal
    assert capsys.readouterr().err.strip().splitlines() == [
        f"{twin.url.split('//', 1)[1]}: adopting lbgroup IKEv2-Persist: timeout: 5 -> 30"
    ]
    provider(adc.LbGroupProvider).create(group)
    provider(adc.LbVserverProvider).create(vserver_props(twin))
    provider(adc.LbGroupVserverBindingProvider).create(member)
    assert writes(twin, since) == [
        "PUT /nitro/v1/config/lbgroup/IKEv2-Persist",
        "PUT /nitro/v1/config/lbvserver/AOVPN_IKE_VS",
    ]


def test_a_group_holding_another_stacks_vserver_is_refused(twin: RunningTwin) -> None:
    vserver(twin, comment="aovpn-iac:aovpn/other-stack")
    nitro = Nitro(twin)
    nitro.add("lbgroup", name="IKEv2-Persist", persistencetype="SOURCEIP", timeout=30)
    nitro.bind("lbgroup_lbvserver_binding", name="IKEv2-Persist", vservername="AOVPN_IKE_VS")
    with pytest.raises(OwnershipError, match="holding lbvserver AOVPN_IKE_VS"):
        provider(adc.LbGroupProvider).check(
            {}, props(twin, name="IKEv2-Persist", persistence_type="SOURCEIP", timeout=30)
        )
