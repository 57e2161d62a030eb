"""Start, stop and report the twins a stack points at (``python -m emulators start --stack local``).

Filled in with the demo stack; see ``./run demo``.
"""

from __future__ import annotations


def main(argv: list[str]) -> int:
    raise SystemExit("emulators.launcher: not available yet")
