"""The real Pulumi CLI, as the demo, the end-to-end tests and the benchmarks run it.

``./run`` finds or builds the CLI (pulumi-cli/install.sh) and exports its directory as AOVPN_PULUMI_DIR;
run outside ``./run`` (plain ``venv/bin/pytest``), the same script is asked here. There is no other
engine: when the CLI can be neither found nor built, this raises with the script's reason.

Every command runs offline, as a pipeline would with a self-hosted backend: a ``file://`` backend, the
passphrase secrets provider, no update check, no plugin download, and a PULUMI_HOME of its own.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / "pulumi-cli" / "install.sh"


class PulumiCliMissing(RuntimeError):
    """The Pulumi CLI could not be found or built; the message says why."""


@functools.cache
def cli_dir() -> Path:
    """The directory holding ``pulumi``, its Python language host and the SDK's two helper scripts."""
    given = os.environ.get("AOVPN_PULUMI_DIR")
    if given:
        path = Path(given)
    else:
        proc = subprocess.run(["bash", str(INSTALL)], capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not proc.stdout.strip():
            raise PulumiCliMissing(proc.stderr.strip() or f"{INSTALL} exited {proc.returncode}")
        path = Path(proc.stdout.strip().splitlines()[-1])
    if not (path / "pulumi").is_file():
        raise PulumiCliMissing(f"no pulumi binary in {path} (run ./run setup)")
    return path


def pulumi_bin() -> str:
    return str(cli_dir() / "pulumi")


@functools.cache
def cli_version() -> str:
    proc = subprocess.run([pulumi_bin(), "version"], capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def cli_env(backend: Path, home: Path, passphrase: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of one CLI command: ``base`` (default os.environ) plus the offline settings."""
    env = dict(os.environ if base is None else base)
    home.mkdir(parents=True, exist_ok=True)
    backend.mkdir(parents=True, exist_ok=True)
    env.update(
        PATH=f"{cli_dir()}{os.pathsep}{env.get('PATH', '')}",
        PULUMI_HOME=str(home),
        PULUMI_BACKEND_URL=backend.resolve().as_uri(),
        PULUMI_CONFIG_PASSPHRASE=passphrase,
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
    )
    # The passphrase is given as a value; a _FILE from the caller's environment would conflict with it.
    env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    # Terminal niceties off: the output is read by tests and by people in CI logs.
    env.setdefault("PULUMI_SKIP_CONFIRMATIONS", "true")
    env["NO_COLOR"] = "1"
    return env
