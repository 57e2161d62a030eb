"""Base class of every twin's backend: the appliance's state, its saved configuration and reboot."""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path
from typing import Any


class TwinBackend:
    """Owns an appliance's state and rules.

    ``running`` is the running configuration (a JSON-able dict); ``saved`` is what the appliance would
    come back with after a reboot (what ``save sys config`` / ``save ns config`` stored). A subclass
    supplies ``factory_config()`` and uses ``self.lock`` around every read-modify-write. Runtime-only
    state (sessions, tokens, counters) lives outside ``running`` and is dropped by ``reboot()`` through
    ``on_reboot()``.

    With ``data_dir`` the saved configuration also survives a restart of the twin process
    (``<data_dir>/saved-config.json``).
    """

    vendor = "twin"

    def __init__(self, data_dir: Path | str | None = None) -> None:
        self.lock = threading.RLock()
        self.data_dir = Path(data_dir) if data_dir else None
        self.saved: dict[str, Any] = self._load_saved() or self.factory_config()
        self.running: dict[str, Any] = copy.deepcopy(self.saved)
        self.boot_count = 1

    # -- to override ---------------------------------------------------------------------------
    def factory_config(self) -> dict[str, Any]:
        """The configuration of a freshly installed appliance (built-in objects included)."""
        return {}

    def on_reboot(self) -> None:
        """Drop runtime-only state (sessions, tokens...)."""

    def runtime_state(self) -> dict[str, Any]:
        """Runtime-only state to include in the state dump (never secrets)."""
        return {}

    # -- common behaviour ----------------------------------------------------------------------
    def save_config(self) -> None:
        with self.lock:
            self.saved = copy.deepcopy(self.running)
            if self.data_dir:
                self.data_dir.mkdir(parents=True, exist_ok=True)
                path = self.data_dir / "saved-config.json"
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(self.saved, indent=1, sort_keys=True))
                tmp.replace(path)

    def reboot(self) -> None:
        """Come back with the saved configuration; unsaved changes and sessions are lost."""
        with self.lock:
            self.running = copy.deepcopy(self.saved)
            self.boot_count += 1
            self.on_reboot()

    def factory_reset(self) -> None:
        with self.lock:
            self.saved = self.factory_config()
            self.running = copy.deepcopy(self.saved)
            if self.data_dir and (self.data_dir / "saved-config.json").exists():
                (self.data_dir / "saved-config.json").unlink()
            self.on_reboot()

    def dump_state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "vendor": self.vendor,
                "boot_count": self.boot_count,
                "running": copy.deepcopy(self.running),
                "saved": copy.deepcopy(self.saved),
                "unsaved_changes": self.running != self.saved,
                "runtime": self.runtime_state(),
            }

    def _load_saved(self) -> dict[str, Any] | None:
        if self.data_dir and (self.data_dir / "saved-config.json").exists():
            loaded: dict[str, Any] = json.loads((self.data_dir / "saved-config.json").read_text())
            return loaded
        return None
