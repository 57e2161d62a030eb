"""Citrix twin system settings: modes, features, lbparameter, save ns config and ``configchanged``.

Modes and features answer one object (docs/citrix.md, docs/citrix.md#empty-results-and-singletons);
``configchanged`` flips with writes and saves (docs/citrix.md#saving-the-configuration); a save while another
runs is refused with 293."""

from __future__ import annotations

import threading
from typing import Any

from emulators.citrix.base import CitrixBase
from emulators.citrix.exceptions import NitroError, invalid_argument, invalid_value, required_missing
from emulators.citrix.tables import FEATURES, MODE_ALIASES, MODES, Obj


class SystemMixin(CitrixBase):
    saving: threading.Lock

    # -- actions ----------------------------------------------------------------------------------------
    def modes(self) -> Obj:
        with self.lock:
            enabled = set(self.running["modes"])
            out: Obj = {"mode": [m for m in MODES if m in enabled]}
            for mode in MODES:
                out[mode.lower()] = mode in enabled
            return out

    def set_modes(self, body: Any, enable: bool) -> None:
        if not isinstance(body, dict) or "mode" not in body:
            raise required_missing("mode")
        raw = body["mode"]
        names = raw.split() if isinstance(raw, str) else [str(m) for m in raw]
        canon = {m.lower(): m for m in MODES}
        with self.lock:
            for name in names:
                mode = MODE_ALIASES.get(name.lower()) or canon.get(name.lower())
                if mode is None:
                    raise invalid_value("mode", name)
                if enable and mode not in self.running["modes"]:
                    self.running["modes"].append(mode)
                if not enable and mode in self.running["modes"]:
                    self.running["modes"].remove(mode)

    def save(self) -> None:
        if not self.saving.acquire(blocking=False):
            raise NitroError(599, 293, "Operation already in progress")
        try:
            self.save_config()
        finally:
            self.saving.release()

    def features(self) -> Obj:
        """``GET /config/nsfeature``: one object (docs/citrix.md#empty-results-and-singletons), booleans per
        feature plus the list of those on."""
        with self.lock:
            enabled = set(self.running["features"])
            out: Obj = {"feature": [f for f in FEATURES if f in enabled]}
            for feature in FEATURES:
                out[feature.lower()] = feature in enabled
            return out

    def set_features(self, body: Any, enable: bool) -> None:
        """``nsfeature?action=enable|disable {"nsfeature": {"feature": ["LB", "SSL"]}}`` (any case)."""
        if not isinstance(body, dict) or "feature" not in body:
            raise required_missing("feature")
        raw = body["feature"]
        names = raw.split() if isinstance(raw, str) else [str(f) for f in raw]
        canon = {f.lower(): f for f in FEATURES}
        with self.lock:
            for name in names:
                feature = canon.get(name.lower())
                if feature is None:
                    raise invalid_value("feature", name)
                if enable and feature not in self.running["features"]:
                    self.running["features"].append(feature)
                if not enable and feature in self.running["features"]:
                    self.running["features"].remove(feature)

    def lbparameter(self) -> Obj:
        with self.lock:
            return dict(self.running["lbparameter"])

    def set_lbparameter(self, body: Any) -> None:
        """``PUT /config/lbparameter``: only ``allowboundsvcremoval`` is modelled."""
        if not isinstance(body, dict):
            raise required_missing("allowboundsvcremoval")
        with self.lock:
            for attr, value in body.items():
                if attr != "allowboundsvcremoval":
                    raise invalid_argument(attr)
                canon = str(value).upper()
                if canon not in ("ENABLED", "DISABLED"):
                    raise invalid_value(attr, value)
                self.running["lbparameter"][attr] = canon

    def nsconfig(self) -> Obj:
        with self.lock:
            return {
                "configchanged": self.running != self.saved,
                "lastconfigsavetime": "",
                "systemtype": "Stand-alone",
            }
