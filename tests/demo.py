"""``./run demo``: start the local appliance twins and provision stacks/Pulumi.local.yaml against them with
the real Pulumi CLI, on a local file backend (.state/). Safe to run twice: the second run changes nothing.

``./run pulumi ARGS`` runs the same CLI with the same backend and passphrase, e.g.
``./run pulumi stack output --stack local`` or ``./run pulumi preview --refresh --stack local``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

from tests.pulumi_cli import cli_env, cli_version, pulumi_bin

ROOT = Path(__file__).resolve().parent.parent
STACK = "local"
BACKEND = ROOT / ".state"
HOME = ROOT / ".state" / "pulumi-home"
# The local stack's secrets are the twins' passwords only; this passphrase protects nothing else.
LOCAL_PASSPHRASE = "aovpn-local-twins"


def _pulumi(*args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [pulumi_bin(), *args],
        cwd=ROOT,
        env=cli_env(BACKEND, HOME, LOCAL_PASSPHRASE),
        text=True,
        capture_output=capture,
        check=False,
    )


def set_aside_foreign_checkpoint(stack: str) -> Path | None:
    """A checkpoint the CLI would refuse ("snapshot integrity failure": its ``magic`` is not the sha256 of
    its ``version``), as the project's earlier stand-in engine wrote them, is moved aside so the CLI can
    start the stack afresh. Nothing is lost on the twins: the next ``up`` finds the objects carrying this
    stack's ownership marker and adopts them."""
    path = BACKEND / ".pulumi" / "stacks" / "aovpn" / f"{stack}.json"
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
        checkpoint = doc.get("checkpoint") or {}
        latest = checkpoint.get("latest") or {}
        manifest = latest.get("manifest") or {}
        version = str(manifest.get("version", ""))
        ok = manifest.get("magic") == hashlib.sha256(version.encode()).hexdigest()
    except (OSError, ValueError, AttributeError):
        ok = False
    if ok:
        return None
    aside = path.with_name(f"{path.name}.refused-{int(time.time())}")
    path.rename(aside)
    for extra in (path.with_name(path.name + ".bak"), path.with_name(path.name + ".attrs")):
        extra.unlink(missing_ok=True)
    return aside


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """The demo's options; anything else is passed on to ``pulumi up``."""
    parser = argparse.ArgumentParser(
        prog="./run demo",
        description=(
            "Start the local appliance twins a stack points at and provision that stack with the real Pulumi "
            "CLI, on a local file backend (.state/). Safe to run twice: the second run changes nothing."
        ),
        epilog=(
            "Other arguments go to `pulumi up` (e.g. --diff). Afterwards: ./run twins status | stop; "
            "./run pulumi preview --refresh --stack NAME."
        ),
    )
    parser.add_argument(
        "--stack",
        default=STACK,
        metavar="NAME",
        help="the stack to provision: stacks/Pulumi.NAME.yaml (default: %(default)s)",
    )
    return parser.parse_known_args(argv)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--pulumi"]:
        return _pulumi(*argv[1:]).returncode
    args, up_args = parse_args(argv)
    stack = args.stack
    stack_file = ROOT / "stacks" / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        print(
            f"./run demo: no stack file {stack_file.relative_to(ROOT)} (stacks: {_stacks()})", file=sys.stderr
        )
        return 2
    from emulators.launcher import stack_file_problem  # needs the venv: after --help

    problem = stack_file_problem(stack_file)
    if problem is not None:
        print(f"./run demo: stacks/{problem}; nothing was started", file=sys.stderr)
        return 2

    print(f"Starting the appliance twins for stacks/Pulumi.{stack}.yaml ...")
    started = subprocess.run([sys.executable, "-m", "emulators", "start", "--stack", stack], cwd=ROOT)
    if started.returncode != 0:
        return started.returncode

    print(
        f"Provisioning with the Pulumi CLI {cli_version()} ({pulumi_bin()}), backend {BACKEND.as_uri()} ..."
    )
    aside = set_aside_foreign_checkpoint(stack)
    if aside is not None:
        print(f"  the checkpoint of stack '{stack}' failed the CLI's integrity check; moved to {aside}")
    select = _pulumi("stack", "select", "--create", stack, "--non-interactive", capture=True)
    if select.returncode != 0:
        print(select.stdout + select.stderr)
        return select.returncode
    up = _pulumi("up", "--stack", stack, "--yes", "--skip-preview", "--non-interactive", *up_args)
    if up.returncode != 0:
        print(
            f"\n`pulumi up` failed with exit code {up.returncode}; the twins keep running (./run twins stop)."
        )
        return up.returncode

    out = _pulumi("stack", "output", "--stack", stack, "--json", capture=True)
    if out.returncode == 0 and out.stdout.strip():
        clusters = json.loads(out.stdout).get("clusters", {})
        print("\nWhat was configured:")
        for name, cluster in clusters.items():
            print(f"  cluster {name}: {cluster['loadBalancer']} at {cluster['virtualAddress']}")
            for kind, count in sorted(cluster.get("objectsByKind", {}).items()):
                print(f"    {kind:<28} {count}")
            policy = cluster.get("ipsecPolicy", {})
            print("    IPsec policy: " + ", ".join(f"{k}={v}" for k, v in policy.items()))
    print("\nThe twins keep running for inspection (./run twins status | stop);")
    print(f"the CLI on this stack: ./run pulumi preview --refresh --stack {stack}")
    return 0


def _stacks() -> str:
    return ", ".join(
        sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
