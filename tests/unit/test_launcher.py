"""Which twins `./run demo` starts for a stack: one per local load balancer, one WinRM twin per local port
serving every node whose management endpoint is on it; nothing for remote endpoints."""

from __future__ import annotations

from pathlib import Path

import yaml

from emulators.launcher import TwinSpec, stack_twins

ROOT = Path(__file__).resolve().parents[2]


def test_the_local_stack_gets_its_three_appliances_and_one_winrm_twin_for_three_nodes() -> None:
    specs = {s.key: s for s in stack_twins(ROOT / "stacks" / "Pulumi.local.yaml")}
    assert sorted(specs) == ["citrix-18444", "f5-18443", "kemp-18445", "winrm-18446"]
    winrm = specs["winrm-18446"]
    assert (winrm.nodes, winrm.plain_http, winrm.url) == (
        ("rras1", "rras2", "rras3"),
        False,
        "https://127.0.0.1:18446",
    )


def test_plain_http_nodes_and_remote_endpoints(tmp_path: Path) -> None:
    def node(name: str, endpoint: str) -> dict[str, object]:
        return {"name": name, "address": "198.51.100.1", "management": {"endpoint": endpoint, "user": "u"}}

    clusters = [
        {
            "name": "a",
            "nodes": [
                node("n1", "http://127.0.0.1:15985/n1/wsman"),
                node("n2", "http://localhost:15985/n2/wsman"),
                node("n3", "https://rras3.corp.example:5986/wsman"),  # a real server: no twin
            ],
            "loadBalancer": {"kind": "f5", "url": "https://bigip.corp.example"},
        },
        {"name": "b", "nodes": [node("n1", "https://127.0.0.1:15986/wsman")]},
    ]
    stack = tmp_path / "Pulumi.x.yaml"
    stack.write_text(yaml.safe_dump({"config": {"aovpn:clusters": clusters}}))
    assert stack_twins(stack) == [
        TwinSpec("winrm", 15985, "u", None, nodes=("n1", "n2"), plain_http=True),
        TwinSpec("winrm", 15986, "u", None, nodes=(), plain_http=False),
    ]


def test_a_stack_file_yaml_error_is_reported_by_line_without_a_traceback(tmp_path, capsys):
    import pytest

    from emulators.launcher import main

    (tmp_path / "Pulumi.bad.yaml").write_text("config:\n  aovpn:clusters:\n    - name: [vpn\n")
    with pytest.raises(SystemExit) as info:
        main(["status", "--stack", "bad", "--stacks-dir", str(tmp_path)])
    message = str(info.value.code)
    assert message.startswith(f"{tmp_path}/Pulumi.bad.yaml: line 4, column 1: ")
    assert "Traceback" not in message
