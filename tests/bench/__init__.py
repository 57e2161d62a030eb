"""``./run bench`` (``python -m tests.bench``): the reference cluster (3 RRAS nodes, IKEv2 only) at 1, 5
and 20 clusters on one twin per vendor through the real Pulumi CLI.

Per operation (create, refresh, no-op, one-property change, destroy): the requests, writes, logins, saves and
requests per object type the twin logged, the critical path under injected latency beside the dependency
depth of the object graph, and wall time. Fault runs under the twin's seeded chaos mode: runs to converge,
duplicates, orphans. The anchors (OpenTofu with terraform-provider-bigip) where the Go module proxy serves
them. ``--rras``: the RRAS-node bench (tests/bench/rras.py).

Modules: analysis (pure functions on logs and states), runner (twins and the CLI), report (Markdown),
anchors (tests/bench_anchors/install.sh).
"""
