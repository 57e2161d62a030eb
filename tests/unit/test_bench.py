"""The benchmark's instrument (tests/bench): its counting, critical-path, depth and duplicate functions on
synthetic logs and states, and one tiny real bench through its command line whose request counts must be
reported (the counts are the bench's output, not targets asserted here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.bench import analysis, report
from tests.pulumi_cli import cli_dir

ROOT = Path(__file__).resolve().parents[2]


def _e(method, path, *, write=False, status=200, t=(0.0, 0.1), query="", **extra):
    return {
        "method": method,
        "path": path,
        "query": query,
        "status": status,
        "write": write,
        "t": list(t),
        **extra,
    }


def test_counts_split_requests_writes_logins_saves_and_types():
    log = [
        _e("POST", "/mgmt/shared/authn/login"),
        _e("GET", "/mgmt/tm/ltm/node/~Common~a"),
        _e("POST", "/mgmt/tm/ltm/node", write=True),
        _e("GET", "/mgmt/tm/ltm/pool/~Common~p/members"),
        _e("GET", "/mgmt/tm/ltm/pool", query="expandSubcollections=true"),
        _e("POST", "/mgmt/tm/sys/config", write=True),
        _e("POST", "/mgmt/tm/sys/config", write=False, status=503, fault="status", chaos=True),
        _e("DELETE", "/mgmt/shared/authz/tokens/T", write=True),
    ]
    got = analysis.counts("f5", log)
    assert (got["requests"], got["writes"], got["reads"], got["logins"], got["saves"], got["faults"]) == (
        8,
        3,
        5,
        1,
        1,
        1,
    )
    assert got["per_type"] == {"ltm/node": 2, "ltm/pool": 2, "sys/config": 2}
    assert got["max_per_type"] == 2


@pytest.mark.parametrize(
    ("vendor", "path", "kind"),
    [
        ("f5", "/mgmt/tm/ltm/pool/~Common~p/members/~Common~n:500", "ltm/pool"),
        ("f5", "/mgmt/tm/ltm/persistence/source-addr", "ltm/persistence/source-addr"),
        (
            "citrix",
            "/nitro/v1/config/servicegroup_servicegroupmember_binding/sg",
            "servicegroup_servicegroupmember_binding",
        ),
        ("citrix", "/nitro/v1/stat/lbvserver/v", "stat/lbvserver"),
        ("kemp", "/access/showvs", "vs"),
        ("kemp", "/access/listvs", "vs"),
        ("kemp", "/access/addrs", "rs"),
        ("kemp", "/access/usershow", "user"),
    ],
)
def test_object_type_of_a_request(vendor, path, kind):
    assert analysis.object_type(vendor, {"method": "GET", "path": path}) == kind


def test_citrix_save_is_the_save_action_only():
    save = _e("POST", "/nitro/v1/config/nsconfig", query="action=save", write=True)
    clear = _e("POST", "/nitro/v1/config/nsconfig", query="action=clear", write=True)
    assert [analysis.is_save("citrix", e) for e in (save, clear)] == [True, False]
    assert not analysis.is_save("kemp", save)


def test_rounds_and_chain_of_sequential_and_parallel_requests():
    # three one after the other, then two at once: four rounds of 100 ms
    log = [
        _e("GET", "/a", t=(0.0, 0.1)),
        _e("GET", "/b", t=(0.1, 0.2)),
        _e("GET", "/c", t=(0.2, 0.3)),
        _e("GET", "/d", t=(0.3, 0.4)),
        _e("GET", "/e", t=(0.3, 0.4)),
    ]
    assert analysis.spread(log) == pytest.approx(0.4)
    assert analysis.rounds(log, 0.1) == pytest.approx(4.0)
    assert analysis.rounds(log, 0.0) is None
    assert analysis.chain(log) == 4
    # overlapping requests are one round, whatever their order in the log
    assert analysis.chain([_e("GET", "/x", t=(0.05, 0.2)), _e("GET", "/y", t=(0.0, 0.1))]) == 1
    assert analysis.chain([]) == 0 and analysis.spread([]) == 0.0


def _res(urn, *, custom=True, parent=None, deps=(), prop_deps=None, type_="pulumi-python:dynamic/f5:Node"):
    r = {"urn": urn, "type": type_, "custom": custom, "dependencies": list(deps)}
    if parent:
        r["parent"] = parent
    if prop_deps:
        r["propertyDependencies"] = prop_deps
    return r


def test_depth_follows_declared_input_and_component_dependencies():
    resources = [
        _res("stack", custom=False, type_="pulumi:pulumi:Stack"),
        _res("provider", type_="pulumi:providers:pulumi-python"),
        _res("cluster", custom=False, parent="stack", type_="aovpn:index:VpnCluster"),
        _res("node-a", parent="cluster"),
        _res("node-b", parent="cluster"),
        _res("pool", parent="cluster", deps=["node-a", "node-b"]),
        _res("virtual", parent="cluster", prop_deps={"pool": ["pool"]}),
        # a dependency on the component stands for every object under it (itself aside)
        _res("save", parent="cluster", deps=["cluster"]),
    ]
    checkpoint = {"checkpoint": {"latest": {"resources": resources}}}
    assert len(analysis.custom_resources(checkpoint)) == 5
    assert analysis.depth(checkpoint) == 4
    assert analysis.depth({"checkpoint": {"latest": {"resources": resources[:4]}}}) == 1


def test_duplicates_and_orphans_against_a_clean_run():
    clean_state = {
        "running": {
            "objects": {
                "ltm/node": {"/Common/a": {}, "/Common/b": {}},
                "ltm/pool": {"/Common/p": {"_sub": {"members": {"/Common/a:500": {}}}}},
            }
        }
    }
    after_state = {
        "running": {
            "objects": {
                "ltm/node": {"/Common/a": {}, "/Common/b": {}, "/Common/x": {}},
                "ltm/pool": {"/Common/p": {"_sub": {"members": {}}}},
            }
        }
    }
    clean = analysis.inventory("f5", clean_state)
    after = analysis.inventory("f5", after_state)
    assert analysis.duplicates_and_orphans(clean, after) == (
        ["ltm/node /Common/x"],
        ["ltm/pool /Common/p/members /Common/a:500"],
    )
    kemp = {
        "vs": [
            {
                "VSAddress": "192.0.2.1",
                "VSPort": 500,
                "Protocol": "udp",
                "Rs": [{"Addr": "10.0.0.1", "Port": 500}],
            }
        ]
    }
    doubled = {"vs": [dict(kemp["vs"][0], Rs=[{"Addr": "10.0.0.1", "Port": 500}] * 2)]}
    dups, orphans = analysis.duplicates_and_orphans(
        analysis.inventory("kemp", kemp), analysis.inventory("kemp", doubled)
    )
    assert (dups, orphans) == (["rs 192.0.2.1:500/udp 10.0.0.1:500"], [])
    citrix = {"members": [{"servicegroupname": "sg", "servername": "s", "port": 500}], "server": {"s": {}}}
    assert analysis.inventory("citrix", {"running": citrix}) == Counter(
        {'members {"port": 500, "servername": "s", "servicegroupname": "sg"}': 1, "server s": 1}
    )


def test_markdown_reports_every_operation_and_fault_run():
    row = {
        "vendor": "f5",
        "clusters": 1,
        "op": "create",
        "exit": 0,
        "requests": 12,
        "writes": 9,
        "logins": 1,
        "saves": 1,
        "max_per_type": 3,
        "max_type": "ltm/node",
        "rounds": 6.0,
        "chain": 5,
        "depth": 4,
        "wall_s": 1.0,
        "per_type": {"ltm/node": 3},
    }
    faults = {
        "vendor": "f5",
        "ok": True,
        "fault_runs": 2,
        "rate": 0.2,
        "converged_in_1": 1,
        "converged": 2,
        "max_runs_to_converge": 2,
        "duplicates": 0,
        "orphans": 0,
        "runs": [
            {
                "run": 1,
                "seed": 1,
                "exits": [0],
                "runs": 1,
                "converged": True,
                "faults": 3,
                "duplicates": [],
                "orphans": [],
            }
        ],
    }
    text = report.markdown(
        {
            "meta": {"cli": "v3", "product": "/p", "latency_ms": 100.0},
            "benches": [{"operations": [row, dict(row, op="refresh")]}],
            "faults": [faults],
            "anchors": {"status": "not measured: no proxy"},
            "failures": [],
        }
    )
    row_text = "| f5 | 1 | create | 0 | 12 | 9 | 1 | 1 | 3 (ltm/node) | 6.00 | 5 | 4 | 1.50 | 1.25 | 1.00 |"
    assert row_text in text
    assert "| f5 | 2 | 20% | 1 (50%) | 2 | 2 | 3 | 0 | 0 |" in text
    assert "not measured: no proxy" in text


@pytest.mark.e2e
def test_a_tiny_real_bench_reports_its_request_counts(tmp_path):
    """One vendor, one cluster, create and no-op through ``python -m tests.bench``: every count is reported,
    and the instrument's invariants hold (a write per object at least; no chain shorter than the depth)."""
    out = tmp_path / "bench.json"
    md = tmp_path / "bench.md"
    args = ["--vendor", "f5", "--clusters", "1", "--ops", "create", "noop", "--fault-runs", "0"]
    args += ["--latency-ms", "0", "--no-anchors", "--json", str(out), "--markdown", str(md)]
    proc = subprocess.run(
        [sys.executable, "-m", "tests.bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "AOVPN_PULUMI_DIR": str(cli_dir())},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    (bench,) = result["benches"]
    create, noop = bench["operations"]
    assert (create["op"], noop["op"]) == ("create", "noop")
    for row in (create, noop):
        for key in ("requests", "writes", "reads", "logins", "saves", "max_per_type", "chain"):
            assert isinstance(row[key], int), (key, row)
        assert row["requests"] == row["writes"] + row["reads"]
    assert create["objects"] >= 1 and create["depth"] >= 1
    assert create["requests"] >= create["writes"] >= create["objects"]
    assert create["chain"] >= create["depth"]
    assert create["rounds"] is None  # no latency injected: no critical path in latencies
    assert f"| f5 | 1 | create | 0 | {create['requests']} | {create['writes']} |" in md.read_text()
    assert md.read_text().strip() in proc.stdout
