"""Pulumi.yaml, the stack config file (``Pulumi.<stack>.yaml`` under ``stackConfigDir``) and the backend.

The stack file keeps the real CLI's layout: ``encryptionsalt: v1:...`` at the top and a ``config:`` map of
namespaced keys; a secret leaf (at any depth) is ``{secure: v1:...}``.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

from . import crypto
from .values import Props, contains_secret, is_secret, make_secret, unwrap


class EngineError(Exception):
    """An error the CLI prints as ``error: ...``; ``exit_code`` follows pkg/cmd/pulumi/cmd/exit_codes.go."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Project:
    dir: Path
    name: str
    runtime_options: dict[str, Any]
    stack_config_dir: Path
    backend_url: str | None
    main: Path
    config_schema: dict[str, Any] = field(default_factory=dict)
    refresh_always: bool = False

    def stack_file(self, stack: str) -> Path:
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"

    def python(self) -> str:
        venv = self.runtime_options.get("virtualenv")
        if venv:
            base = Path(venv) if os.path.isabs(venv) else self.dir / venv
            for candidate in (base / "bin" / "python", base / "Scripts" / "python.exe"):
                if candidate.exists():
                    return str(candidate)
        return sys.executable

    def venv_dir(self) -> Path | None:
        venv = self.runtime_options.get("virtualenv")
        if not venv:
            return None
        return Path(venv) if os.path.isabs(venv) else self.dir / venv

    def backend_dir(self, env: dict[str, str]) -> Path:
        url = env.get("PULUMI_BACKEND_URL") or self.backend_url or f"file://{self.dir}"
        if not url.startswith("file://"):
            raise EngineError(f"tests/engine supports only file:// backends, not {url!r}", 2)
        path = unquote(url[len("file://") :])
        if path.startswith("~"):
            path = os.path.expanduser(path)
        resolved = Path(path)
        if not resolved.is_absolute():
            resolved = self.dir / resolved
        return resolved

    def checkpoint_path(self, env: dict[str, str], stack: str) -> Path:
        return self.backend_dir(env) / ".pulumi" / "stacks" / self.name / f"{stack}.json"


def find_project(cwd: Path) -> Project:
    here = cwd.resolve()
    for candidate in [here, *here.parents]:
        for fname in ("Pulumi.yaml", "Pulumi.yml"):
            path = candidate / fname
            if path.exists():
                return _load_project(path)
    raise EngineError(f"no Pulumi.yaml project file found (searching upwards from {cwd})", 2)


def _load_project(path: Path) -> Project:
    doc = yaml.safe_load(path.read_text()) or {}
    pdir = path.parent
    runtime = doc.get("runtime", "python")
    options: dict[str, Any] = {}
    if isinstance(runtime, dict):
        options = dict(runtime.get("options") or {})
        runtime = runtime.get("name")
    if runtime != "python":
        raise EngineError(f"tests/engine runs only Python programs (runtime {runtime!r})", 2)
    config = doc.get("config")
    stack_dir = doc.get("stackConfigDir")
    schema: dict[str, Any] = {}
    if isinstance(config, str):  # the deprecated spelling of stackConfigDir
        stack_dir = stack_dir or config
    elif isinstance(config, dict):
        schema = config
    backend = doc.get("backend") or {}
    options_section = doc.get("options") or {}
    return Project(
        dir=pdir,
        name=str(doc["name"]),
        runtime_options=options,
        stack_config_dir=(pdir / stack_dir) if stack_dir else pdir,
        backend_url=backend.get("url") if isinstance(backend, dict) else None,
        main=pdir / doc["main"] if doc.get("main") else pdir,
        config_schema=schema,
        refresh_always=str(options_section.get("refresh", "")).lower() == "always",
    )


# ---------------------------------------------------------------------------------------------- stack file


class StackFile:
    """Read and edit ``Pulumi.<stack>.yaml``; decrypts ``secure:`` values with the stack's passphrase."""

    def __init__(self, project: Project, stack: str, env: dict[str, str]) -> None:
        self.project = project
        self.stack = stack
        self.env = env
        self.path = project.stack_file(stack)
        self.doc: dict[str, Any] = {}
        if self.path.exists():
            self.doc = yaml.safe_load(self.path.read_text()) or {}
        self._crypter: crypto.Crypter | None = None

    @property
    def exists(self) -> bool:
        return self.path.exists()

    @property
    def raw_config(self) -> dict[str, Any]:
        cfg = self.doc.get("config")
        return cfg if isinstance(cfg, dict) else {}

    def passphrase(self) -> str:
        phrase = crypto.passphrase_from_env(self.env)
        if phrase is None:
            raise EngineError(
                "passphrase must be set with PULUMI_CONFIG_PASSPHRASE or "
                "PULUMI_CONFIG_PASSPHRASE_FILE environment variables",
                2,
            )
        return phrase

    def secrets_state(self, create: bool) -> str | None:
        salt = self.doc.get("encryptionsalt")
        if salt or not create:
            return str(salt) if salt else None
        state, self._crypter = crypto.new_state(self.passphrase())
        self.doc["encryptionsalt"] = state
        self.save()
        return state

    def crypter(self, create: bool = True) -> crypto.Crypter:
        if self._crypter is None:
            state = self.secrets_state(create)
            if state is None:
                raise EngineError(f"stack {self.stack} has no encryptionsalt", 2)
            try:
                self._crypter = crypto.crypter_from_state(self.passphrase(), state)
            except crypto.SecretsError as exc:
                raise EngineError(f"constructing secrets manager: {exc}", 2) from None
        return self._crypter

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ordered: dict[str, Any] = {}
        if "encryptionsalt" in self.doc:
            ordered["encryptionsalt"] = self.doc["encryptionsalt"]
        ordered.update({k: v for k, v in self.doc.items() if k != "encryptionsalt"})
        if not ordered.get("config"):
            ordered.pop("config", None)
        text = yaml.safe_dump(ordered, sort_keys=False, default_flow_style=False, allow_unicode=True)
        self.path.write_text(text if ordered else "")

    # -- config values --------------------------------------------------------------------------------

    def full_key(self, key: str) -> str:
        return key if ":" in key else f"{self.project.name}:{key}"

    def _decode(self, value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"secure"}:
            try:
                return make_secret(self.crypter(create=False).decrypt(str(value["secure"])))
            except crypto.SecretsError as exc:
                raise EngineError(f"could not decrypt configuration value: {exc}", 2) from None
        if isinstance(value, dict):
            return {k: self._decode(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._decode(v) for v in value]
        return value

    def config(self) -> dict[str, Any]:
        """Every key, namespaced, with secret leaves decrypted and wrapped as wire secrets."""
        out: dict[str, Any] = {}
        for key, value in self.raw_config.items():
            out[self.full_key(str(key))] = self._decode(value)
        self._merge_project_defaults(out)
        return out

    def _merge_project_defaults(self, out: dict[str, Any]) -> None:
        for key, spec in self.project.config_schema.items():
            full = self.full_key(str(key))
            if full in out:
                continue
            if isinstance(spec, dict) and ("type" in spec or "description" in spec or "secret" in spec):
                if "default" in spec:
                    out[full] = spec["default"]
                elif "value" in spec:
                    out[full] = spec["value"]
            elif isinstance(spec, dict) and "value" in spec:
                out[full] = spec["value"]
            elif not isinstance(spec, dict):
                out[full] = spec

    def validate(self, config: dict[str, Any]) -> None:
        """pkg/workspace/config.go's checks: required project keys, declared types, secret: true."""
        missing: list[str] = []
        for key, spec in self.project.config_schema.items():
            if not isinstance(spec, dict):
                continue
            full = self.full_key(str(key))
            is_project_key = ":" not in str(key) or str(key).startswith(self.project.name + ":")
            if full not in config:
                if is_project_key and "default" not in spec and "value" not in spec:
                    missing.append(full)
                continue
            value = unwrap(config[full])
            want = spec.get("type")
            checks = {
                "string": lambda v: isinstance(v, str),
                "integer": lambda v: (
                    (isinstance(v, int) and not isinstance(v, bool))
                    or (isinstance(v, str) and re.fullmatch(r"-?\d+", v) is not None)
                ),
                "boolean": lambda v: isinstance(v, bool) or v in ("true", "false"),
                "array": lambda v: isinstance(v, list),
                "object": lambda v: isinstance(v, dict),
            }
            if want in checks and not checks[want](value):
                raise EngineError(
                    f"Stack '{self.stack}' with configuration key '{full}' must be of type '{want}'", 2
                )
            if spec.get("secret") and not contains_secret(config[full]):
                raise EngineError(
                    f"Stack '{self.stack}' with configuration key '{full}' must be encrypted as it's secret",
                    2,
                )
        if missing:
            raise EngineError(
                f"Stack '{self.stack}' is missing configuration value(s): {', '.join(sorted(missing))}", 2
            )

    def set(self, key: str, value: str, secret: bool, path: bool) -> None:
        cfg = self.doc.setdefault("config", {})
        if cfg is None:
            cfg = self.doc["config"] = {}
        stored: Any = value
        segments: list[str | int] = parse_path(key) if path else [key]
        if path and len(segments) > 1 and not secret:
            stored = _typed_leaf(value)
        if secret:
            stored = {"secure": self.crypter(create=True).encrypt(value)}
        top = self.full_key(str(segments[0]))
        if len(segments) == 1:
            cfg[top] = stored
        else:
            root = cfg.get(top)
            cfg[top] = _set_path(root, segments[1:], stored)
        self.save()

    def get(self, key: str, path: bool) -> Any:
        segments = parse_path(key) if path else [key]
        config = self.config()
        top = self.full_key(str(segments[0]))
        if top not in config:
            raise EngineError(f"configuration key '{key}' not found for stack '{self.stack}'", 1)
        value = config[top]
        for seg in segments[1:]:
            if is_secret(value):
                value = value["value"]
            try:
                value = value[seg]
            except (KeyError, IndexError, TypeError):
                raise EngineError(
                    f"configuration key '{key}' not found for stack '{self.stack}'", 1
                ) from None
        return value

    def remove(self, key: str, path: bool) -> None:
        segments = parse_path(key) if path else [key]
        cfg = self.raw_config
        top = self.full_key(str(segments[0]))
        if len(segments) == 1:
            cfg.pop(top, None)
        else:
            node: Any = cfg.get(top)
            for seg in segments[1:-1]:
                node = node[seg] if node is not None else None
            if isinstance(node, dict):
                node.pop(segments[-1], None)
            elif isinstance(node, list) and isinstance(segments[-1], int) and segments[-1] < len(node):
                node.pop(segments[-1])
        self.save()


_PATH_TOKEN = re.compile(r'\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]|\.?([^.\[\]]+)')


def parse_path(path: str) -> list[str | int]:
    """``a.b[0].c`` / ``a["x.y"]`` into segments; a namespace prefix stays on the first segment."""
    out: list[str | int] = []
    pos = 0
    while pos < len(path):
        m = _PATH_TOKEN.match(path, pos)
        if not m or m.end() == pos:
            raise EngineError(f"invalid config path {path!r}", 2)
        if m.group(1) is not None:
            out.append(m.group(1))
        elif m.group(2) is not None:
            out.append(int(m.group(2)))
        else:
            out.append(m.group(3))
        pos = m.end()
    return out


def _typed_leaf(value: str) -> Any:
    if value in ("true", "false"):
        return value == "true"
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def _set_path(node: Any, segments: list[str | int], value: Any) -> Any:
    seg = segments[0]
    if isinstance(seg, int):
        lst: list[Any] = node if isinstance(node, list) else []
        while len(lst) <= seg:
            lst.append(None)
        lst[seg] = value if len(segments) == 1 else _set_path(lst[seg], segments[1:], value)
        return lst
    obj: dict[str, Any] = node if isinstance(node, dict) and set(node) != {"secure"} else {}
    obj[seg] = value if len(segments) == 1 else _set_path(obj.get(seg), segments[1:], value)
    return obj


def program_config(config: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """PULUMI_CONFIG (strings; structured values as JSON text) and PULUMI_CONFIG_SECRET_KEYS."""
    from .values import config_string

    values = {k: config_string(v) for k, v in config.items()}
    secret_keys = sorted(k for k, v in config.items() if contains_secret(v))
    return values, secret_keys


def provider_config(config: dict[str, Any]) -> Props:
    """The default dynamic provider's inputs: every key, namespaced, as a string; secrets wrapped."""
    from .values import config_string

    return {
        k: make_secret(config_string(v)) if contains_secret(v) else config_string(v)
        for k, v in config.items()
    }
