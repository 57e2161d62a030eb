"""The generator of the declaration reference (docs/declaration.md) and of the stack file's JSON schema.

The prose per field (what it does, what it becomes on each appliance and on the RRAS nodes) is
components/declaration_prose.py's ``PROSE``. Everything else the
reference shows (type, default, whether it is required, allowed values, the weak ones, ranges, patterns,
which vendors a load-balancer field belongs to) is read from the pydantic models of
components/declaration.py, so a new field or a changed model shows up, and a field without prose fails
tests/unit/test_declaration_reference.py.

    python -m components.declaration_doc --write   # regenerate docs/declaration.md and the JSON schema
    python -m components.declaration_doc --check   # exit 1 when either is out of date

How fields are found: the models are walked from ``Cluster`` through ``model_fields`` (aliases as the
stack file spells them), into nested models, lists of models and optional models. ``loadBalancer`` is
walked once per registered vendor (components/registry.py) when the vendor class declares its own
declaration model (a ``ClassVar`` holding a pydantic model class, e.g. ``declaration`` or ``model``), so
vendor-specific fields are listed under their vendors; otherwise the one ``LoadBalancer`` model is walked.
Allowed values come from ``Literal`` annotations, or from the module-level tuples of strings a field's
validators use (``ENCRYPTION_METHODS``, ``PROTOCOLS``...); ranges from ``*RANGE*`` tuples, ``*MIN*`` /
``*MAX*`` constants and annotated constraints; patterns from a vendor model's ``user_pattern``, the secret
key names' pattern and ``FIELD_PATTERNS``; weak values from ``WEAK_VALUES``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Strict
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from components import declaration, registry
from components.declaration_prose import CONFIG_KEYS, PROSE
from providers.f5.client import OBJECT_NAME_RE

ROOT = Path(__file__).resolve().parents[1]
DOC_PATH = ROOT / "docs" / "declaration.md"
SCHEMA_PATH = ROOT / "docs" / "declaration.schema.json"
#: The path of the schema as the stack files' modeline names it (relative to stacks/).
SCHEMA_MODELINE = "# yaml-language-server: $schema=../docs/declaration.schema.json"
#: Where the effects of a field on the RRAS nodes are keyed in ``Prose.effects``.
NODES = "nodes"
LOAD_BALANCER = "loadBalancer"
#: Names a vendor class may give its declaration model (any ClassVar holding a model class is found).
MODEL_CLASSVARS = ("declaration", "model")
#: The whole-value patterns of fields, by (model class name, field name), as their validators use them.
FIELD_PATTERNS: dict[tuple[str, str], re.Pattern[str]] = {
    ("Cluster", "name"): declaration.NAME_RE,
    ("Node", "name"): declaration.NODE_NAME_RE,
    ("BigIpLoadBalancer", "partition"): OBJECT_NAME_RE,
    ("BigIpLoadBalancer", "device_group"): OBJECT_NAME_RE,
}


# --- walking the models --------------------------------------------------------------------------------


@dataclass
class Row:
    """One field path as the models define it (merged over the vendors whose model has it)."""

    path: str
    type: str
    required: bool
    default: str
    allowed: tuple[str, ...] = ()
    weak: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    #: Vendor kinds whose own declaration model has this field (None: not a per-vendor field).
    vendors: tuple[str, ...] | None = None
    #: Per vendor kind, the field as that vendor's model has it.
    by_vendor: dict[str, Row] = field(default_factory=dict)


def vendor_model(vendor: Any) -> type[BaseModel] | None:
    """The vendor's own declaration model of ``loadBalancer``, if its class declares one."""
    cls = type(vendor)
    for name in MODEL_CLASSVARS:
        found = getattr(cls, name, None)
        if isinstance(found, type) and issubclass(found, BaseModel):
            return found
    for klass in cls.__mro__:
        for value in vars(klass).values():
            if isinstance(value, type) and issubclass(value, BaseModel):
                return value
    return None


def vendor_models() -> dict[str, type[BaseModel]]:
    """Per registered kind, its declaration model (empty when no vendor declares one)."""
    found: dict[str, type[BaseModel]] = {}
    for kind in registry.kinds():
        model = vendor_model(registry.vendor(kind))
        if model is not None:
            found[kind] = model
    return found


def _unwrap(annotation: Any) -> tuple[Any, bool, bool]:
    """(inner annotation, is a sequence, is optional), through Annotated, Optional and sequences."""
    optional = False
    sequence = False
    while True:
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin is typing.Annotated:
            annotation = args[0]
        elif origin in (typing.Union, types.UnionType):
            rest = [a for a in args if a is not type(None)]
            optional = optional or len(rest) < len(args)
            if len(rest) == 1:
                annotation = rest[0]
            else:
                return annotation, sequence, optional
        elif origin in (tuple, list, Sequence, frozenset, set) and args:
            sequence = True
            annotation = args[0]
        else:
            return annotation, sequence, optional


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    inner, _, _ = _unwrap(annotation)
    candidates = typing.get_args(inner) if typing.get_origin(inner) in (typing.Union, types.UnionType) else ()
    out = [c for c in (candidates or (inner,)) if isinstance(c, type) and issubclass(c, BaseModel)]
    return out


def _type_name(annotation: Any) -> str:
    inner, sequence, _ = _unwrap(annotation)
    if typing.get_origin(inner) is Literal:
        base = "string"
    elif typing.get_origin(inner) in (typing.Union, types.UnionType):
        base = " or ".join(_type_name(a) for a in typing.get_args(inner))
    elif isinstance(inner, type) and issubclass(inner, BaseModel):
        base = "mapping"
    else:
        base = {str: "string", int: "integer", bool: "boolean", float: "number"}.get(inner, str(inner))
    return f"list of {base}s" if sequence else base


def _validators(model: type[BaseModel], name: str) -> list[Any]:
    """The functions of the field validators of ``name`` on ``model``."""
    out = []
    for dec in model.__pydantic_decorators__.field_validators.values():
        if name in dec.info.fields or "*" in dec.info.fields:
            out.append(getattr(dec.func, "__func__", dec.func))
    return out


def _declared_patterns(model: type[BaseModel], name: str) -> list[str]:
    """The syntax a field's validator holds its value to, as the models declare it: a vendor model's
    ``user_pattern``, the secret key names' pattern, and the named patterns of ``FIELD_PATTERNS``."""
    found: list[re.Pattern[str] | None] = []
    if name == "user":
        found.append(getattr(model, "user_pattern", None))
    elif name.endswith("_secret"):
        found.append(declaration.SECRET_KEY_RE)
    for cls in model.__mro__:
        found.append(FIELD_PATTERNS.get((cls.__name__, name)))
    return [p.pattern for p in found if p is not None]


def _allowed_and_limits(
    model: type[BaseModel], name: str, info: FieldInfo
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Allowed values, constraints ("300 to 17279999", "at least 1024") and regex patterns of a field."""
    allowed: list[str] = []
    constraints: list[str] = []
    patterns: list[str] = []
    inner, _, _ = _unwrap(info.annotation)
    if typing.get_origin(inner) is Literal:
        allowed += [str(a) for a in typing.get_args(inner)]
    for meta in info.metadata:
        for attr, text in (("ge", "at least"), ("gt", "more than"), ("le", "at most"), ("lt", "less than")):
            if getattr(meta, attr, None) is not None:
                constraints.append(f"{text} {getattr(meta, attr)}")
        if getattr(meta, "pattern", None):
            patterns.append(str(meta.pattern))
    patterns += _declared_patterns(model, name)
    for func in _validators(model, name):
        module_globals: dict[str, Any] = func.__globals__
        for ref in func.__code__.co_names:
            value = module_globals.get(ref)
            if ref == "kinds" and value is None:
                allowed += [k for k in registry.kinds() if k not in allowed]
            elif isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
                allowed += [v for v in value if v not in allowed]
            elif isinstance(value, tuple) and "RANGE" in ref and len(value) == 2:
                constraints.append(f"{value[0]} to {value[1]}")
            elif isinstance(value, int) and not isinstance(value, bool) and "MIN" in ref:
                constraints.append(f"at least {value}")
            elif isinstance(value, int) and not isinstance(value, bool) and "MAX" in ref:
                constraints.append(f"at most {value}")
    return tuple(allowed), tuple(constraints), tuple(dict.fromkeys(patterns))


def _strict(annotation: Any, info: FieldInfo) -> bool:
    if any(isinstance(m, Strict) for m in info.metadata):
        return True
    for arg in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(arg) is typing.Annotated:
            if any(isinstance(m, Strict) for m in typing.get_args(arg)[1:]):
                return True
    return False


def _default(info: FieldInfo) -> tuple[bool, str]:
    if info.is_required():
        return True, "required"
    value = info.get_default(call_default_factory=True) if info.default_factory else info.default
    if value is PydanticUndefined:
        return True, "required"
    if value is None:
        return False, "none"
    if isinstance(value, BaseModel):
        return False, "the defaults of its fields"
    if isinstance(value, bool):
        return False, "`true`" if value else "`false`"
    if isinstance(value, tuple | list):
        return False, "`[" + ", ".join(str(v) for v in value) + "]`"
    return False, f"`{value}`"


def _walk(model: type[BaseModel], prefix: str, vendor: str | None) -> Iterator[tuple[str, Row]]:
    weak_table: Mapping[str, frozenset[str]] = getattr(declaration, "WEAK_VALUES", {})
    for name, info in model.model_fields.items():
        alias = info.alias or name
        path = f"{prefix}.{alias}" if prefix else alias
        if path == LOAD_BALANCER and vendor is None and vendor_models():
            yield from _walk_vendors(path, info)
            continue
        required, default = _default(info)
        allowed, constraints, patterns = _allowed_and_limits(model, name, info)
        weak: tuple[str, ...] = ()
        if prefix == "ipsec" and alias in weak_table:
            weak = tuple(v for v in allowed if v in weak_table[alias])
        type_name = _type_name(info.annotation) + (" (strict)" if _strict(info.annotation, info) else "")
        row = Row(path, type_name, required, default, allowed, weak, constraints, patterns)
        yield path, row
        _, sequence, _ = _unwrap(info.annotation)
        for sub in _models_in(info.annotation):
            yield from _walk(sub, path + ("[]" if sequence else ""), vendor)


def _walk_vendors(path: str, info: FieldInfo) -> Iterator[tuple[str, Row]]:
    required, default = _default(info)
    yield path, Row(path, "mapping", required, default)
    for kind, model in vendor_models().items():
        for sub_path, row in _walk(model, path, kind):
            row.vendors = (kind,)
            yield sub_path, row


def fields() -> list[Row]:
    """Every field path of ``aovpn:clusters`` in declaration order, merged over per-vendor models."""
    merged: dict[str, Row] = {}
    for path, row in _walk(declaration.Cluster, "", None):
        known = merged.get(path)
        if known is None:
            merged[path] = row
            if row.vendors is not None:
                row.by_vendor = {row.vendors[0]: row}
            continue
        assert known.vendors is not None and row.vendors is not None
        known.by_vendor[row.vendors[0]] = row
        known.vendors = (*known.vendors, *row.vendors)
        known.required = known.required and row.required
    return list(merged.values())


def differs(row: Row, attr: str) -> bool:
    """Whether the vendors' models disagree on ``attr`` of this field."""
    return len({repr(getattr(r, attr)) for r in row.by_vendor.values()}) > 1


def applies_to(row: Row) -> tuple[str, ...] | None:
    """The vendor kinds a field applies to: the per-vendor models' say, else the prose's (None: all)."""
    if row.vendors is not None:
        return None if set(row.vendors) == set(registry.kinds()) else row.vendors
    prose = PROSE.get(row.path)
    return prose.vendors if prose else None


# --- the documents -------------------------------------------------------------------------------------


def _product(kind: str) -> str:
    try:
        return str(registry.vendor(kind).product)
    except KeyError:
        return kind


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _anchor(path: str) -> str:
    text = re.sub(r"[^\w\- ]", "", path.strip().lower())
    return text.replace(" ", "-")


def _limits(row: Row) -> str:
    parts = [", ".join(f"`{v}`" for v in row.allowed)] if row.allowed else []
    parts += row.constraints
    parts += [f"pattern `{p}`" for p in row.patterns]
    return "; ".join(parts)


def _allowed_text(row: Row) -> str:
    if any(differs(row, attr) for attr in ("allowed", "constraints", "patterns")):
        return "; ".join(f"{k}: {_limits(r) or 'any'}" for k, r in row.by_vendor.items())
    return _limits(row)


def _per_vendor_or(row: Row, attr: str) -> str:
    if differs(row, attr):
        return "; ".join(f"{k}: {getattr(r, attr)}" for k, r in row.by_vendor.items())
    return str(getattr(row, attr))


def render_markdown(rows: Sequence[Row] | None = None) -> str:
    rows = list(rows if rows is not None else fields())
    kinds = registry.kinds()
    out = [
        "# Cluster declaration reference",
        "",
        "<!-- Generated by `python -m components.declaration_doc --write` from the models of",
        "components/declaration.py, the vendors of components/registry.py and the prose of",
        "components/declaration_prose.py. Do not edit by hand: tests/unit/test_declaration_reference.py",
        "fails when this page is out of date. -->",
        "",
        "Every field of `aovpn:clusters` in a stack file (`stacks/Pulumi.<stack>.yaml`), a list with one",
        "entry per cluster. Field names are spelled as in the stack file (camelCase); `nodes[]` is each",
        "entry of the `nodes` list. Choices are matched case-insensitively and stored in the spelling shown.",
        'Types marked *strict* take no conversion: `"443"` is not a number, `yes` is not a string. Every',
        "problem is reported by `pulumi preview` before any appliance is contacted, naming the cluster and",
        "the field. Editors that speak the YAML language server validate and complete the stack files with",
        "[declaration.schema.json](declaration.schema.json), which the stack files name in their first line.",
        "",
        "Load balancers: " + ", ".join(f"`{k}` ({_product(k)})" for k in kinds) + ".",
        "",
        "## Summary",
        "",
        "| Field | Type | Default | Allowed | Applies to |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        vendors = applies_to(row)
        out.append(
            f"| [`{row.path}`](#{_anchor(row.path)}) | {_cell(_per_vendor_or(row, 'type'))} | "
            f"{_cell(_per_vendor_or(row, 'default'))} | {_cell(_allowed_text(row)) or '-'} | "
            f"{', '.join(vendors) if vendors else 'all'} |"
        )
    out += ["", "## Fields", ""]
    for row in rows:
        prose = PROSE.get(row.path)
        vendors = applies_to(row)
        out += [f"### {row.path}", ""]
        facts = [
            f"**Type:** {_per_vendor_or(row, 'type')}",
            f"**Default:** {_per_vendor_or(row, 'default')}",
        ]
        allowed = _allowed_text(row)
        if allowed:
            facts.append(f"**Allowed:** {allowed}")
        if row.weak:
            facts.append(
                "**Weak (refused unless `allowWeakCrypto: true`):** " + ", ".join(f"`{v}`" for v in row.weak)
            )
        facts.append(
            "**Applies to:** "
            + (", ".join(_product(k) for k in vendors) + " only" if vendors else "every load balancer")
        )
        out += [f"- {fact}" for fact in facts]
        out.append("")
        out.append(prose.what if prose else "(no description)")
        effects = prose.effects if prose else {}
        lines = [f"- **{_product(k)}:** {effects[k]}" for k in kinds if k in effects]
        if NODES in effects:
            lines.append(f"- **RRAS nodes:** {effects[NODES]}")
        if lines:
            out += ["", *lines]
        out.append("")
    if CONFIG_KEYS:
        out += ["## Other stack config keys", ""]
        out.append(
            "Keys of a stack file besides `aovpn:clusters` that the project reads; none declares a cluster."
        )
        out.append("")
        for key, prose in CONFIG_KEYS.items():
            out += [f"### {key}", "", prose.what, ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _case_insensitive(value: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in value)


def _describe(row: Row) -> str:
    prose = PROSE.get(row.path)
    text = prose.what if prose else ""
    vendors = applies_to(row)
    if vendors:
        text += f" Applies to: {', '.join(vendors)}."
    if row.weak:
        text += f" Weak (refused unless allowWeakCrypto): {', '.join(row.weak)}."
    return text + f" See docs/declaration.md#{_anchor(row.path)}"


def _ecma_safe(pattern: str) -> bool:
    """Whether a Python pattern means the same in the ECMA-262 dialect JSON-schema editors use."""
    return not re.search(r"\(\?[PaiLmsux#<]|\\[AZz]", pattern.replace("(?<!", "").replace("(?<=", ""))


def _annotate(
    node: Any, path: str, rows: Mapping[str, Row], texts: Mapping[str, str], defs: dict[str, Any]
) -> None:
    """Add descriptions, choices and patterns to the properties of the schema ``node`` at ``path``."""
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        _annotate(defs[ref.removeprefix("#/$defs/")], path, rows, texts, defs)
    for combo in ("anyOf", "oneOf", "allOf"):
        for option in node.get(combo, []):
            _annotate(option, path, rows, texts, defs)
    if isinstance(node.get("items"), dict):
        _annotate(node["items"], path + "[]", rows, texts, defs)
    for alias, prop in node.get("properties", {}).items():
        sub = f"{path}.{alias}" if path else alias
        row = rows.get(sub)
        if sub == LOAD_BALANCER and "oneOf" in prop:
            # The vendors' models, each annotated with its own rows already.
            prop["description"] = texts[sub]
            continue
        if row is None:
            _annotate(prop, sub, rows, texts, defs)
            continue
        prop["description"] = texts[sub]
        prop.pop("title", None)
        strings = [prop, *[o for o in prop.get("anyOf", []) if o.get("type") == "string"]]
        for target in (t for t in strings if t.get("type") == "string"):
            if row.allowed:
                alternatives = "|".join(_case_insensitive(v) for v in row.allowed)
                target["pattern"] = rf"^\s*(?:{alternatives})\s*$"
                target["examples"] = list(row.allowed)
            elif len(row.patterns) == 1 and _ecma_safe(row.patterns[0]):
                # Identity escapes such as \" are errors in unicode-mode ECMA regexes: unescape them.
                target["pattern"] = re.sub(r"\\([^\w\s^$\\.*+?()\[\]{}|/-])", r"\1", row.patterns[0])
        if row.allowed and prop.get("type") == "array" and isinstance(prop.get("items"), dict):
            prop["items"]["examples"] = list(row.allowed)
        _annotate(prop, sub, rows, texts, defs)


def render_schema(rows: Sequence[Row] | None = None) -> str:
    merged = list(rows if rows is not None else fields())
    texts = {r.path: _describe(r) for r in merged}
    common = {r.path: r for r in merged}
    cluster = declaration.Cluster.model_json_schema(by_alias=True)
    defs: dict[str, Any] = cluster.pop("$defs", {})
    models = vendor_models()
    options = []
    for kind, model in models.items():
        # Each vendor's own loadBalancer model, chosen by its kind (Cluster validates with it).
        sub = model.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
        defs.update(sub.pop("$defs", {}))
        defs[model.__name__] = sub
        own = {path: row.by_vendor.get(kind, row) for path, row in common.items()}
        _annotate({"$ref": f"#/$defs/{model.__name__}"}, LOAD_BALANCER, own, texts, defs)
        options.append(
            {
                "title": f"{_product(kind)} (kind: {kind})",
                "allOf": [{"$ref": f"#/$defs/{model.__name__}"}],
                "properties": {"kind": {"pattern": rf"^\s*{_case_insensitive(kind)}\s*$"}},
                "required": ["kind"],
            }
        )
    if options:
        cluster["properties"][LOAD_BALANCER] = {"oneOf": options}
    defs["Cluster"] = cluster
    _annotate({"$ref": "#/$defs/Cluster"}, "", common, texts, defs)
    used = json.dumps(defs)
    defs = {name: d for name, d in defs.items() if name == "Cluster" or f'"#/$defs/{name}"' in used}
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "aovpn-iac stack file (stacks/Pulumi.<stack>.yaml)",
        "description": "Generated by `python -m components.declaration_doc --write`; the field reference is "
        "docs/declaration.md.",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "description": "Stack configuration; aovpn:clusters is the cluster declaration, the other "
                "keys are ordinary Pulumi config (secrets as {secure: ...}).",
                "properties": {
                    "aovpn:clusters": {
                        "type": "array",
                        "description": "One entry per cluster. See docs/declaration.md",
                        "items": {"$ref": "#/$defs/Cluster"},
                    }
                },
                "additionalProperties": True,
            },
        },
        "additionalProperties": True,
        "$defs": dict(sorted(defs.items())),
    }
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def outputs() -> dict[Path, str]:
    rows = fields()
    return {DOC_PATH: render_markdown(rows), SCHEMA_PATH: render_schema(rows)}


def stale() -> list[Path]:
    """The generated files that differ from what the models and prose give now."""
    return [p for p, text in outputs().items() if not p.is_file() or p.read_text(encoding="utf-8") != text]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.declaration_doc", description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate the reference and the schema")
    mode.add_argument("--check", action="store_true", help="exit 1 if either is out of date")
    args = parser.parse_args(argv)
    if args.write:
        for path, text in outputs().items():
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    out_of_date = stale()
    for path in out_of_date:
        print(f"{path.relative_to(ROOT)} is out of date: run python -m components.declaration_doc --write")
    return 1 if out_of_date else 0


if __name__ == "__main__":
    sys.exit(main())
