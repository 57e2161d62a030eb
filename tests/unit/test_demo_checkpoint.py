"""./run demo moves aside a checkpoint the real CLI would refuse (written by the old stand-in engine, whose
``magic`` is not the sha256 of the CLI version), and leaves a valid one alone."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests import demo


def _write(backend: Path, magic: str, version: str = "v3.276.0") -> Path:
    path = backend / ".pulumi" / "stacks" / "aovpn" / "local.json"
    path.parent.mkdir(parents=True)
    manifest = {"time": "2026-11-01T00:00:00Z", "magic": magic, "version": version}
    path.write_text(json.dumps({"version": 3, "checkpoint": {"latest": {"manifest": manifest}}}))
    path.with_name("local.json.bak").write_text("{}")
    return path


def test_a_checkpoint_the_cli_refuses_is_moved_aside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "BACKEND", tmp_path)
    path = _write(tmp_path, magic="0" * 64)
    aside = demo.set_aside_foreign_checkpoint("local")
    assert aside is not None and aside.exists() and aside.name.startswith("local.json.refused-")
    assert not path.exists() and not path.with_name("local.json.bak").exists()


def test_a_valid_checkpoint_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "BACKEND", tmp_path)
    path = _write(tmp_path, magic=hashlib.sha256(b"v3.276.0").hexdigest())
    assert demo.set_aside_foreign_checkpoint("local") is None
    assert path.exists()


def test_no_checkpoint_is_nothing_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "BACKEND", tmp_path)
    assert demo.set_aside_foreign_checkpoint("local") is None
