"""The RRAS part of VpnCluster: a resource per node setting, then a chained restart per node (mocks)."""

from __future__ import annotations

from typing import Any

import pulumi

from tests.unit.support import BASE, build_objects, cluster

MGMT = {"endpoint": "https://127.0.0.1:5986/wsman", "user": "LAB\\svc", "passwordSecret": "rrasPassword"}


def managed_nodes() -> list[dict[str, Any]]:
    return [{**n, "management": MGMT} for n in BASE["nodes"]]


@pulumi.runtime.test
def test_ikev2_node_settings_and_rolling_restart(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
        policy = objs["vpn-east-rras1-ipsec-policy"]
        assert policy["policy"]["DHGroup"] == "Group14" and policy["policy"]["SALifeTimeSeconds"] == 28800
        assert policy["device"] == {
            "url": "https://127.0.0.1:5986/wsman",
            "user": "LAB\\svc",
            "password_key": "rrasPassword",
            "auth": "ntlm",
        }
        frag = objs["vpn-east-rras2-ikev2-fragmentation"]
        assert (frag["path"], frag["name"], frag["kind"], frag["ensure"], frag["value"]) == (
            r"HKLM:\SYSTEM\CurrentControlSet\Services\RemoteAccess\Parameters\Ikev2",
            "EnableServerFragmentation",
            "DWord",
            "present",
            1,
        )
        assert objs["vpn-east-rras1-ike-initial-query"]["ensure"] == "absent"  # address preserved
        first, second = objs["vpn-east-rras1-restart"], objs["vpn-east-rras2-restart"]
        assert (first["node"], first["later_nodes"], second["later_nodes"]) == ("rras1", ["rras2"], [])
        drain = first["drain"]
        assert drain["kind"] == "f5"
        assert [m["pool"] for m in drain["members"]] == ["vpn-east_ikev2_500", "vpn-east_ikev2_4500"]
        assert drain["members"][0]["member"] == "vpn-east_rras1:500"
        assert not any("sstp" in name for name in objs if name.startswith("vpn-east-rras"))

    return build_objects(mocks, nodes=managed_nodes()).apply(check)


@pulumi.runtime.test
def test_translated_address_and_sstp_offload_settings(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
        assert objs["vpn-east-rras1-ike-initial-query"]["value"] == 50000
        assert objs["vpn-east-rras1-sstp-use-https"]["value"] == 0
        assert objs["vpn-east-rras1-sstp-hash-by-admin"]["value"] == 1
        assert objs["vpn-east-rras1-sstp-sha256-hash"]["kind"] == "Binary"
        assert objs["vpn-east-rras1-sstp-sha1-hash"]["ensure"] == "absent"

    offload = {"tlsOffload": {"certificateSecret": "c", "privateKeySecret": "k"}}
    return build_objects(
        mocks, nodes=managed_nodes(), clientAddress="translated", protocols=["ikev2", "sstp"], sstp=offload
    ).apply(check)


def test_management_for_some_nodes_only_is_refused():
    from tests.unit.support import problems

    nodes = managed_nodes()
    del nodes[1]["management"]
    (msg,) = problems([cluster(nodes=nodes)])
    assert "management is declared for some nodes but not for rras2" in msg


def test_basic_auth_over_http_is_refused():
    from tests.unit.support import problems

    nodes = [
        {**n, "management": {**MGMT, "endpoint": "http://h:5985/wsman", "auth": "basic"}}
        for n in BASE["nodes"]
    ]
    msgs = problems([cluster(nodes=nodes)])
    assert any("Basic authentication is only allowed over HTTPS" in m for m in msgs)


def test_connection_failures_are_explained_in_terms_the_user_can_act_on():
    import requests
    from pypsrp.exceptions import AuthenticationError, WinRMTransportError

    from providers.rras.session import NodeConnection, _explain

    conn = NodeConnection("rras1", "https://rras1:5986/wsman", "LAB\\svc", "rrasPassword", "ntlm", "ca.pem")
    secret = "s3cret-pass"
    cases = {
        AuthenticationError(f"Failed to authenticate the user LAB\\svc with ntlm ({secret})"): (
            "refused the credentials of 'LAB\\\\svc' (ntlm): check the secret 'rrasPassword'"
        ),
        requests.exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"): (
            "the certificate of https://rras1:5986/wsman is not trusted by the caBundle ca.pem"
        ),
        requests.exceptions.SSLError("EOF occurred in violation of protocol (_ssl.c:2427)"): (
            "cannot reach https://rras1:5986/wsman"
        ),
        WinRMTransportError("http", 500, ""): "WinRM at https://rras1:5986/wsman answered HTTP 500",
        requests.exceptions.ReadTimeout("read timed out"): "no answer from https://rras1:5986/wsman in time",
        requests.exceptions.ConnectionError("Connection refused"): "cannot reach https://rras1:5986/wsman",
    }
    for exc, wanted in cases.items():
        text = _explain(conn, exc, secret)
        assert wanted in text, (exc, text)
        assert secret not in text
    kerberos = NodeConnection("rras1", "https://rras1:5986/wsman", "svc@LAB", "k", "kerberos", None)
    missing = ImportError("GSSAPIProxy requires the Python gssapi library: No module named 'gssapi'")
    assert "Kerberos is not available on this machine" in _explain(kerberos, missing, secret)
    credssp = NodeConnection("rras1", "https://rras1:5986/wsman", "LAB\\svc", "k", "credssp", None)
    refused = Exception("The server did not response CredSSP being an available authentication method")
    assert "does not offer CredSSP: enable it on the node" in _explain(credssp, refused, secret)


# --- the dependency graph: node settings in parallel with the load balancer ---------------------------------


def _graph(monkeypatch: Any) -> tuple[dict[str, str], dict[str, set[str]]]:
    """Build a VpnCluster (mocks) recording, per custom resource name, its type and its depends_on."""
    import components.cluster
    from components.declaration import parse_clusters
    from providers.common.resources import type_token

    kinds: dict[str, str] = {}
    edges: dict[str, set[str]] = {}
    original = pulumi.CustomResource.__init__

    def spy(self: Any, t: str, name: str, props: Any = None, opts: Any = None, *args: Any, **kw: Any) -> None:
        kinds[name] = type_token(type(self)).removeprefix("pulumi-python:dynamic/")
        edges[name] = {d._name for d in ((opts.depends_on if opts else None) or [])}
        original(self, t, name, props, opts, *args, **kw)

    monkeypatch.setattr(pulumi.CustomResource, "__init__", spy)
    (c,) = parse_clusters(
        [cluster(nodes=managed_nodes(), protocols=["ikev2", "sstp"], sstp={"tlsHardening": "security"})]
    )
    components.cluster.VpnCluster(c, "aovpn-iac:aovpn/test")
    return kinds, edges


def _upstream(edges: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(edges.get(start, ()))
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(edges.get(n, ()))
    return seen


SETTING_TYPES = {"rras:IpsecPolicy", "rras:RegistryValue", "rras:TlsRegistryValue", "rras:WindowsBuild"}


@pulumi.runtime.test
def test_node_settings_wait_for_no_load_balancer_object_and_restarts_and_removals_do(mocks, monkeypatch):
    kinds, edges = _graph(monkeypatch)
    lb = {n for n, k in kinds.items() if k.startswith("f5:")}
    settings = {n for n, k in kinds.items() if k in SETTING_TYPES}
    assert lb and len(settings) > 10, kinds
    for name in settings:
        assert not _upstream(edges, name) & lb, name
        assert not {kinds[n] for n in _upstream(edges, name)} & {"rras:NodeRemoval", "rras:NodeRestart"}
    for node in ("rras1", "rras2"):
        for record in (f"vpn-east-{node}-restart", f"vpn-east-{node}-removal"):
            assert lb <= _upstream(edges, record), record
        mine = {n for n in settings if n.startswith(f"vpn-east-{node}-")}
        assert mine <= _upstream(edges, f"vpn-east-{node}-removal")  # deleted before them: reverts them
        assert settings <= _upstream(edges, f"vpn-east-{node}-restart")  # every node's written first
    assert "vpn-east-rras1-removal" in edges["vpn-east-rras2-removal"]
    assert "vpn-east-rras1-restart" in edges["vpn-east-rras2-restart"]


@pulumi.runtime.test
def test_a_removal_lists_what_it_puts_back(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
        listed = objs["vpn-east-rras1-removal"]["settings"]
        assert {"type": "ipsec-policy"} in listed
        fragmentation = {
            "type": "registry-value",
            "path": r"HKLM:\SYSTEM\CurrentControlSet\Services\RemoteAccess\Parameters\Ikev2",
            "name": "EnableServerFragmentation",
            "ensure": "present",
            "keep_on_delete": False,
        }
        assert fragmentation in listed
        tls = [e for e in listed if e["type"] == "tls-registry-value"]
        assert len(tls) == 4 and {e["name"] for e in tls} == {"Enabled", "Functions"}
        assert all("value" not in e and "device" not in e for e in listed)  # what a delete reads, no more

    sstp = {"tlsHardening": "security"}
    return build_objects(mocks, nodes=managed_nodes(), protocols=["ikev2", "sstp"], sstp=sstp).apply(check)


def test_a_removal_puts_its_listed_settings_back_then_their_own_deletes_send_nothing(
    twin_factory: Any, capsys: Any
) -> None:
    """The delete order of the graph: the removal first (it reverts the settings and restarts the node),
    then the settings, which send nothing more; with keep, neither sends anything."""
    from pulumi.dynamic import ConfigureRequest
    from pulumi.dynamic.config import Config

    from providers.rras.objects import IpsecPolicyProvider, RegistryValueProvider
    from providers.rras.removal import NodeRemovalProvider

    twin = twin_factory("winrm")
    assert twin.tls is not None

    def configured(cls: type[Any]) -> Any:
        provider = cls()
        provider.configure(ConfigureRequest(Config({"aovpn:rrasPassword": "automation-pass"}, "aovpn")))
        return provider

    device = {
        "url": f"{twin.url}/wsman",
        "user": "automation",
        "password_key": "rrasPassword",
        "auth": "ntlm",
        "ca_bundle": str(twin.tls.ca_path),
    }
    base = {"node": "rras1", "device": device, "owner": "o"}
    key = r"HKLM:\SYSTEM\CurrentControlSet\Services\RemoteAccess\Parameters\Ikev2"
    value = {**base, "path": key, "name": "EnableServerFragmentation", "kind": "DWord"}
    value |= {"keep_on_delete": False, "ensure": "present", "value": 1}
    policy = {**base, "policy": {"EncryptionMethod": "AES256"}}
    listed = [
        {"type": "ipsec-policy"},
        {"type": "registry-value", "path": key, "name": "EnableServerFragmentation"}
        | {"ensure": "present", "keep_on_delete": False},
    ]
    removal = {**base, "cluster": "vpn", "drain": None, "drain_timeout_seconds": 0}
    removal |= {"services": ["RemoteAccess"], "settings": listed}
    providers = configured(IpsecPolicyProvider), configured(RegistryValueProvider)

    def made(on_remove: str) -> tuple[dict[str, Any], dict[str, Any]]:
        outs = [
            p.create({**props, "on_remove": on_remove, "revision": None}).outs
            for p, props in zip(providers, (policy, value), strict=True)
        ]
        return outs[0], outs[1]

    def node_requests(since: int) -> list[str]:
        return [e.get("cmdlet") or e["path"] for e in twin.admin().log(since=since)]

    def seq() -> int:
        log = twin.admin().log()
        return int(log[-1]["seq"]) if log else 0

    outs = made("keep")
    since = seq()
    configured(NodeRemovalProvider).delete("removal-rras1", {**removal, "on_remove": "keep"})
    for p, o in zip(providers, outs, strict=True):
        p.delete(o["id"] if "id" in o else "x", o)
    assert node_requests(since) == []  # keep: not a single request
    told = capsys.readouterr().err
    assert "removed from the stack with rras.onRemove: keep" in told
    assert "EnableServerFragmentation, ipsec-policy stay on it" in told and "left on the node" not in told

    outs = made("revert")
    starts = twin.admin().state()["runtime"]["services"]["RemoteAccess"]["start_count"]
    configured(NodeRemovalProvider).delete("removal-rras1", {**removal, "on_remove": "revert"})
    state = twin.admin().state()
    assert state["running"]["vpn"]["policies"]["IKEv2"]["CustomPolicy"] is False
    assert "EnableServerFragmentation" not in state["running"]["registry"].get(
        key.replace("HKLM:", "HKEY_LOCAL_MACHINE"), {}
    )
    assert state["runtime"]["services"]["RemoteAccess"]["start_count"] == starts + 1
    since = seq()
    for p, o in zip(providers, outs, strict=True):
        p.delete("x", o)
    assert node_requests(since) == []  # the removal put them back: nothing more to send
    told = capsys.readouterr().err
    reverted = "rras1: reverted to Windows' defaults (rras.onRemove: revert): "
    assert f"{reverted}EnableServerFragmentation, ipsec-policy; " in told and "fail with error 13868" in told
