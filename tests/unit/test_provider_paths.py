"""Every provider class a state of this project may reference stays importable where it was pickled.

tests/fixtures/upgrade/provider-classes.txt lists them (module.Class); the end-to-end proof with a real
state of an earlier release is tests/e2e/test_upgrade.py.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

from pulumi.dynamic import ResourceProvider

import providers

LISTED = Path(__file__).resolve().parents[1] / "fixtures" / "upgrade" / "provider-classes.txt"


def _listed() -> list[str]:
    lines = LISTED.read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _current() -> set[str]:
    found: set[str] = set()
    for info in pkgutil.walk_packages(providers.__path__, "providers."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, ResourceProvider)
                and obj.__module__ == module.__name__
            ):
                found.add(f"{obj.__module__}.{obj.__qualname__}")
    return found


def test_every_provider_class_of_a_released_state_still_imports_where_it_was_pickled() -> None:
    for path in _listed():
        module_name, _, class_name = path.rpartition(".")
        cls = getattr(importlib.import_module(module_name), class_name, None)
        assert inspect.isclass(cls) and issubclass(cls, ResourceProvider), (
            f"{path} is referenced by existing stacks' state; keep a compatibility name there"
        )


def test_every_current_provider_class_is_listed() -> None:
    missing = _current() - set(_listed())
    assert not missing, f"add to {LISTED.name} (states will reference them): {sorted(missing)}"
