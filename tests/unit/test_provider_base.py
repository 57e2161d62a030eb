"""The read → diff → apply contract every appliance-object provider inherits, with an in-memory device."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from providers.common.errors import ConfigurationError, OwnershipError
from providers.common.resource import ApplianceObjectProvider, plain
from providers.f5.objects import _monitor, _parse_destination

OWNER = "aovpn-iac:aovpn/test"


class FakeDevice:
    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.writes: list[tuple[str, str]] = []


class WidgetProvider(ApplianceObjectProvider):
    object_type = "widget"
    identity_keys = ("name",)
    property_keys = ("size", "tags")

    def __init__(self, device: FakeDevice) -> None:
        super().__init__()
        self.device = device

    def client(self, device: Any) -> FakeDevice:
        return self.device

    def object_id(self, props: dict[str, Any]) -> str:
        return props["name"]

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        obj = client.objects.get(props["name"])
        return dict(obj) if obj else None

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        client.writes.append(("create", props["name"]))
        client.objects[props["name"]] = {k: props[k] for k in ("name", "size", "tags", "owner")}

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: Any
    ) -> None:
        client.writes.append(("update", ",".join(sorted(changed))))
        client.objects[props["name"]].update(changed)

    def delete_object(self, client: Any, props: dict[str, Any]) -> None:
        client.writes.append(("delete", props["name"]))
        del client.objects[props["name"]]


def props(**changes: Any) -> dict[str, Any]:
    base = {
        "device": {"url": "https://lb.example", "user": "u", "password_key": "pw"},
        "name": "w1",
        "size": 3.0,  # ints arrive as floats through the protobuf Struct
        "tags": ["a", "b"],
        "owner": OWNER,
    }
    base.update(changes)
    return base


def test_plain_turns_integral_floats_back_into_ints():
    assert plain({"a": 3.0, "b": [1.0, 2.5], "c": "x"}) == {"a": 3, "b": [1, 2.5], "c": "x"}


def test_create_then_identical_diff_has_no_changes_and_no_writes():
    device = FakeDevice()
    p = WidgetProvider(device)
    created = p.create(props())
    assert created.id == "w1"
    assert created.outs["size"] == 3 and created.outs["owner"] == OWNER
    diff = p.diff("w1", created.outs, props())
    assert diff.changes is False
    assert device.writes == [("create", "w1")]


def test_update_writes_only_what_differs_from_the_device():
    device = FakeDevice()
    p = WidgetProvider(device)
    outs = p.create(props()).outs
    diff = p.diff("w1", outs, props(size=4))
    assert diff.changes is True and diff.replaces == []
    p.update("w1", outs, props(size=4))
    assert device.writes[-1] == ("update", "size")


def test_identity_change_replaces_delete_before_replace():
    device = FakeDevice()
    p = WidgetProvider(device)
    outs = p.create(props()).outs
    diff = p.diff("w1", outs, props(name="w2"))
    assert diff.replaces == ["name"] and diff.delete_before_replace is True
    moved = p.diff(
        "w1", outs, props(device={"url": "https://other.example", "user": "u", "password_key": "pw"})
    )
    assert moved.replaces == ["device"]


def test_create_adopts_an_object_carrying_our_marker_and_refuses_any_other():
    device = FakeDevice()
    device.objects["w1"] = {"name": "w1", "size": 1, "tags": ["a", "b"], "owner": OWNER}
    p = WidgetProvider(device)
    assert p.create(props()).outs["size"] == 3
    assert device.writes == [("update", "size")]
    device.objects["w9"] = {"name": "w9", "size": 1, "tags": [], "owner": "aovpn-iac:aovpn/other"}
    with pytest.raises(OwnershipError, match="refusing to adopt it because it is not owned by"):
        p.create(props(name="w9"))
    device.objects["w8"] = {"name": "w8", "size": 1, "tags": [], "owner": None}
    with pytest.raises(OwnershipError, match="not marked as managed by this project"):
        p.create(props(name="w8"))


def test_read_reports_drift_and_a_vanished_object():
    device = FakeDevice()
    p = WidgetProvider(device)
    outs = p.create(props()).outs
    device.objects["w1"]["tags"] = ["a"]
    read = p.read("w1", outs)
    assert read.outs["tags"] == ["a"]
    assert p.diff("w1", read.outs, props()).changes is True
    del device.objects["w1"]
    gone = p.read("w1", outs)
    assert gone.id == "" and gone.outs == {}


def test_delete_is_idempotent_and_refuses_objects_owned_by_others():
    device = FakeDevice()
    p = WidgetProvider(device)
    outs = p.create(props()).outs
    device.objects["w1"]["owner"] = "someone else"
    with pytest.raises(OwnershipError, match="refusing to delete"):
        p.delete("w1", outs)
    device.objects["w1"]["owner"] = OWNER
    p.delete("w1", outs)
    p.delete("w1", outs)  # already gone: nothing to do
    assert [w for w in device.writes if w[0] == "delete"] == [("delete", "w1")]


def test_missing_secret_names_the_key_and_how_to_set_it():
    from providers.common.device import Device, SecretConfig

    secrets = SecretConfig(Config({}, "aovpn"))
    with pytest.raises(ConfigurationError, match="`pulumi config set --secret f5Password <password>`"):
        secrets.password(
            Device.from_props(props(device={"url": "https://lb", "user": "u", "password_key": "f5Password"}))
        )
    p = WidgetProvider(FakeDevice())
    p.configure(ConfigureRequest(Config({"aovpn:f5Password": "s3cret"}, "aovpn")))
    dev = Device.from_props(props(device={"url": "https://lb", "user": "u", "password_key": "f5Password"}))
    assert p._secrets.password(dev) == "s3cret"


@pytest.mark.parametrize(
    ("echo", "expected"),
    [
        ("/Common/203.0.113.10:500", ("203.0.113.10", 500)),
        ("/Common/203.0.113.10%2:4500", ("203.0.113.10", 4500)),
        ("/Common/2001:db8::10.500", ("2001:db8::10", 500)),
        ("203.0.113.10:443", ("203.0.113.10", 443)),
    ],
)
def test_f5_destination_echoes_are_normalised(echo, expected):
    assert _parse_destination(echo) == expected


def test_f5_monitor_echo_trailing_space_is_not_drift():
    assert _monitor("/Common/gateway_icmp ") == "/Common/gateway_icmp"
    assert _monitor(None) == ""


def test_a_request_without_an_answer_names_the_device_object_and_cause():
    import requests

    from providers.common.http import transport_error

    tls = transport_error(
        "bigip:443",
        "/mgmt/tm/ltm/pool",
        "GET",
        requests.exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
        retried=True,
    )
    assert (tls.code, tls.status) == ("TLS", None)
    assert "TLS certificate verification failed" in str(tls) and "check loadBalancer.caBundle" in str(tls)
    refused = requests.exceptions.ConnectionError("Connection refused")
    assert str(transport_error("lm:443", "showvs", "showvs", refused, retried=False)).endswith(
        "lm:443: showvs showvs failed: no response: cannot reach the device (connection refused)"
    )
    assert "cannot reach the device (connection refused), retried with backoff" in str(
        transport_error("adc:443", "server", "GET", refused, retried=True)
    )
