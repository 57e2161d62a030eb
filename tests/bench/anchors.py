"""The anchors: OpenTofu with terraform-provider-bigip, built by tests/bench_anchors/install.sh from the Go
module proxy. The bench reports whether they could be built, and why not in one line."""

from __future__ import annotations

import subprocess
from pathlib import Path

INSTALL = Path(__file__).resolve().parents[1] / "bench_anchors" / "install.sh"


def locate() -> tuple[Path | None, str]:
    """(the directory of ``tofu`` and the provider, None when they cannot be built; a one-line status)."""
    proc = subprocess.run(["bash", str(INSTALL)], capture_output=True, text=True, timeout=1800, check=False)
    if proc.returncode != 0:
        reasons = [line for line in proc.stderr.strip().splitlines() if line.startswith("bench-anchors:")]
        return None, "not measured: " + (reasons[-1] if reasons else f"install.sh exited {proc.returncode}")
    return Path(proc.stdout.strip()), f"built in {proc.stdout.strip()}"
