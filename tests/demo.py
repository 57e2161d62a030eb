"""``./run demo``: start the local appliance twins and provision stacks/Pulumi.local.yaml against them.

Uses the real Pulumi CLI when it is installed, otherwise tests/engine (the project's stand-in for the
engine), and says which. Safe to run twice: the second run finds nothing to change.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STACK = "local"
# The local stack's secrets are the twins' passwords only; this passphrase protects nothing else.
LOCAL_PASSPHRASE = "aovpn-local-twins"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PULUMI_CONFIG_PASSPHRASE", LOCAL_PASSPHRASE)
    env.setdefault("PULUMI_BACKEND_URL", (ROOT / ".state").as_uri())
    env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    (ROOT / ".state").mkdir(exist_ok=True)
    return env


def _run(cmd: list[str], env: dict[str, str], *, capture: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, env=env, text=True, capture_output=capture, check=False)


def main(argv: list[str]) -> int:
    env = _env()
    print("Starting the appliance twins for stacks/Pulumi.local.yaml ...")
    started = _run([sys.executable, "-m", "emulators", "start", "--stack", STACK], env)
    if started.returncode != 0:
        return started.returncode

    pulumi = shutil.which("pulumi")
    if pulumi:
        print(f"Provisioning with the real Pulumi CLI ({pulumi}) ...")
        _run([pulumi, "stack", "select", "--create", STACK], env)
        base = [pulumi]
    else:
        print("Provisioning with tests/engine (the Pulumi CLI is not installed here) ...")
        base = [sys.executable, "-m", "tests.engine"]
        init = _run([*base, "stack", "init", "--stack", STACK], env, capture=True)
        if init.returncode != 0 and "already exists" not in init.stdout + init.stderr:
            print(init.stdout + init.stderr)
            return init.returncode
    up = _run([*base, "up", "--stack", STACK, "--yes", "--skip-preview", *argv], env)
    if up.returncode != 0:
        print(f"\n`up` failed with exit code {up.returncode}; the twins keep running (./run twins stop).")
        return up.returncode

    out = _run([*base, "stack", "output", "--stack", STACK, "--json"], env, capture=True)
    if out.returncode == 0 and out.stdout.strip():
        clusters = json.loads(out.stdout).get("clusters", {})
        print("\nWhat was configured:")
        for name, cluster in clusters.items():
            print(f"  cluster {name}: {cluster['loadBalancer']} at {cluster['virtualAddress']}")
            for obj in cluster.get("objects", []):
                print(f"    {obj['role']:<12} {obj['id']}")
            policy = cluster.get("ipsecPolicy", {})
            print("    IPsec policy: " + ", ".join(f"{k}={v}" for k, v in policy.items()))
    print("\nThe twins keep running for inspection (./run twins status | stop).")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
