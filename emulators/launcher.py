"""Start, stop and report the twins a stack points at: ``python -m emulators start|stop|status --stack S``.

Every load balancer (and, with the RRAS adapter, every WinRM endpoint) of the stack whose URL is on
this machine (127.0.0.1 / localhost) gets a twin of its vendor on that port, in a background process
of its own. TLS material lives in ``.twins/tls`` (the stack's ``caBundle`` points at its ``ca.pem``),
saved configurations in ``.twins/<vendor>-<port>``, pids and logs in ``.twins/run``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from emulators.common import ensure_tls

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
TWIN_DIR = Path(".twins")


@dataclass(frozen=True)
class TwinSpec:
    vendor: str
    port: int
    user: str | None
    password_key: str | None
    #: WinRM only: the node hostnames one twin serves (``/<hostname>/wsman``), and plain HTTP
    nodes: tuple[str, ...] = ()
    plain_http: bool = False

    @property
    def key(self) -> str:
        return f"{self.vendor}-{self.port}"

    @property
    def url(self) -> str:
        return f"{'http' if self.plain_http else 'https'}://127.0.0.1:{self.port}"


def stack_file_problem(path: Path) -> str | None:
    """A YAML syntax error in the stack file, by line and column, as a person reads it: it is parsed here
    before the CLI sees it, and would otherwise stop with a Python traceback."""
    try:
        yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return f"{path.name}: cannot be read ({exc.strerror or type(exc).__name__})"
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        context = getattr(exc, "context", None)
        return f"{path.name}: {where}{problem}" + (f" ({context})" if context else "")
    return None


def stack_twins(stack_file: Path) -> list[TwinSpec]:
    """The twins a stack points at: each local load balancer, and one WinRM twin per local port that
    serves every managed node whose endpoint is on it (``https://127.0.0.1:<port>/<hostname>/wsman``)."""
    config = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
    specs: dict[str, TwinSpec] = {}
    for cluster in config.get("aovpn:clusters") or []:
        lb = cluster.get("loadBalancer") or {}
        parts = urlsplit(str(lb.get("url", "")))
        if parts.hostname in LOCAL_HOSTS and parts.port:
            spec = TwinSpec(str(lb.get("kind")), parts.port, lb.get("user"), lb.get("passwordSecret"))
            specs.setdefault(spec.key, spec)
        for node in cluster.get("nodes") or []:
            management = node.get("management") or {}
            parts = urlsplit(str(management.get("endpoint", "")))
            if parts.hostname not in LOCAL_HOSTS or not parts.port:
                continue
            segments = [s for s in parts.path.split("/") if s]
            hostname = segments[0] if len(segments) == 2 and segments[1].lower() == "wsman" else None
            key = f"winrm-{parts.port}"
            known = specs.get(key)
            nodes = tuple(known.nodes if known else ()) + ((hostname,) if hostname else ())
            specs[key] = TwinSpec(
                "winrm",
                parts.port,
                management.get("user"),
                management.get("passwordSecret"),
                nodes=tuple(dict.fromkeys(nodes)),
                plain_http=parts.scheme == "http",
            )
    return list(specs.values())


def _pid_file(spec: TwinSpec) -> Path:
    return TWIN_DIR / "run" / f"{spec.key}.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _running_pid(spec: TwinSpec) -> int | None:
    path = _pid_file(spec)
    if path.exists():
        pid = int(path.read_text().strip() or 0)
        if pid and _alive(pid):
            return pid
    return None


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"twin on port {port} exited with code {proc.returncode}; see .twins/run/*.log")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"twin on port {port} did not start listening within {timeout:.0f} s")


def start(specs: list[TwinSpec]) -> None:
    ensure_tls(TWIN_DIR / "tls")
    (TWIN_DIR / "run").mkdir(parents=True, exist_ok=True)
    for spec in specs:
        pid = _running_pid(spec)
        if pid:
            print(f"  {spec.vendor} twin already running on {spec.url} (pid {pid})")
            continue
        cmd = [
            sys.executable,
            "-m",
            "emulators",
            spec.vendor,
            "--port",
            str(spec.port),
            "--tls-dir",
            str(TWIN_DIR / "tls"),
            "--data-dir",
            str(TWIN_DIR / spec.key),
        ]
        if spec.nodes:
            cmd += ["--nodes", ",".join(spec.nodes)]
        if spec.plain_http:
            cmd.append("--plain-http")
        log = (TWIN_DIR / "run" / f"{spec.key}.log").open("ab")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_listening(spec.port, proc)
        _pid_file(spec).write_text(str(proc.pid))
        served = f" for {', '.join(spec.nodes)}" if spec.nodes else ""
        print(f"  {spec.vendor} twin started on {spec.url}{served} (pid {proc.pid})")


def stop(specs: list[TwinSpec]) -> None:
    for spec in specs:
        pid = _running_pid(spec)
        if pid:
            os.kill(pid, signal.SIGTERM)
            print(f"  {spec.vendor} twin on port {spec.port} stopped")
        _pid_file(spec).unlink(missing_ok=True)


def status(specs: list[TwinSpec]) -> None:
    for spec in specs:
        pid = _running_pid(spec)
        state = f"running (pid {pid})" if pid else "stopped"
        print(f"  {spec.vendor} twin {spec.url}: {state}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulators", description=__doc__)
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("--stack", default="local")
    parser.add_argument("--stacks-dir", default="stacks")
    args = parser.parse_args(argv)
    stack_file = Path(args.stacks_dir) / f"Pulumi.{args.stack}.yaml"
    if not stack_file.exists():
        raise SystemExit(f"no stack file {stack_file}")
    problem = stack_file_problem(stack_file)
    if problem is not None:
        raise SystemExit(f"{stack_file.parent}/{problem}")
    specs = stack_twins(stack_file)
    {"start": start, "stop": stop, "status": status}[args.action](specs)
    return 0
