"""Property values as the engine handles them.

Values are kept in the SDK's wire form (what ``google.protobuf.Struct`` carries): plain JSON values, where a
secret is the object ``{SIG_KEY: SECRET_SIG, "value": v}`` and an unknown is the string ``UNKNOWN``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format, struct_pb2

SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
PROVIDER_KEY = "__provider"

Props = dict[str, Any]


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def make_secret(value: Any) -> dict[str, Any]:
    if is_secret(value):
        return dict(value)
    return {SIG_KEY: SECRET_SIG, "value": value}


def unwrap(value: Any) -> Any:
    """Strip every secret wrapper (what the engine does before sending to a host that refused secrets)."""
    if is_secret(value):
        return unwrap(value.get("value"))
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def contains_secret(value: Any) -> bool:
    if is_secret(value):
        return True
    if isinstance(value, dict):
        return any(contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_secret(v) for v in value)
    return False


def contains_unknown(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def remark_secrets(result: Any, reference: Any) -> Any:
    """Re-mark secrets on a provider result by key name, the way the engine does.

    A key is secret if the same key of ``reference`` held a secret; objects recurse; an array is made
    secret as a whole when the reference array held any secret.
    """
    if is_secret(result):
        return result
    if is_secret(reference):
        return make_secret(result)
    if isinstance(result, dict) and isinstance(reference, dict):
        return {k: remark_secrets(v, reference[k]) if k in reference else v for k, v in result.items()}
    if isinstance(result, list) and isinstance(reference, list) and contains_secret(reference):
        return make_secret(result)
    return result


def apply_additional_secret_outputs(outputs: Props, keys: list[str]) -> Props:
    out = dict(outputs)
    for key in keys:
        if key in out and key != "id":
            out[key] = make_secret(out[key])
    return out


def normalize_numbers(value: Any) -> Any:
    """Integral floats back to ints, as Go's JSON encoder writes a float64 like 10.0 as ``10``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: normalize_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize_numbers(v) for v in value]
    return value


def to_struct(props: Props) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(props)
    return struct


def from_struct(struct: struct_pb2.Struct | None) -> Props:
    if struct is None:
        return {}
    result: Props = normalize_numbers(json_format.MessageToDict(struct))
    return result


def equal(a: Any, b: Any) -> bool:
    """Compare values the way the engine's input diff does: secrets unwrapped, numbers by value."""
    return bool(normalize_numbers(unwrap(a)) == normalize_numbers(unwrap(b)))


def changed_keys(old: Props, new: Props, ignore: tuple[str, ...] = ()) -> list[str]:
    keys = sorted(set(old) | set(new))
    return [
        k for k in keys if k not in ignore and (k not in old or k not in new or not equal(old[k], new[k]))
    ]


def encode_secrets(value: Any, encrypt: Callable[[str], str]) -> Any:
    """State form: each secret becomes ``{sig, ciphertext}`` over the JSON of its plaintext value."""
    if is_secret(value):
        plaintext = json.dumps(normalize_numbers(unwrap(value.get("value"))), separators=(",", ":"))
        return {SIG_KEY: SECRET_SIG, "ciphertext": encrypt(plaintext)}
    if isinstance(value, dict):
        return {k: encode_secrets(v, encrypt) for k, v in value.items()}
    if isinstance(value, list):
        return [encode_secrets(v, encrypt) for v in value]
    return value


def decode_secrets(value: Any, decrypt: Callable[[str], str]) -> Any:
    if isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG:
        if "ciphertext" in value:
            return make_secret(json.loads(decrypt(value["ciphertext"])))
        if "plaintext" in value:
            return make_secret(json.loads(value["plaintext"]))
        return make_secret(value.get("value"))
    if isinstance(value, dict):
        return {k: decode_secrets(v, decrypt) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_secrets(v, decrypt) for v in value]
    return value


def display(value: Any, show_secrets: bool = False) -> Any:
    """A JSON-able rendering for humans and --json: secrets as "[secret]", unknowns as "[unknown]"."""
    if is_secret(value):
        return display(value.get("value"), show_secrets) if show_secrets else "[secret]"
    if value == UNKNOWN:
        return "[unknown]"
    if isinstance(value, dict):
        return {k: display(v, show_secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [display(v, show_secrets) for v in value]
    return value


def config_string(value: Any) -> str:
    """How a config value reaches programs and providers: strings stay, everything else as JSON text."""
    value = unwrap(value)
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(normalize_numbers(value), separators=(",", ":"))
