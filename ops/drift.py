"""The drift report: what was changed on the devices by hand, in the declaration's terms, and what it breaks.

    ./run drift --stack NAME [--markdown FILE] [--json FILE] [--cwd DIR]
    venv/bin/python -m ops.drift --stack NAME ...        (the same, with a CLI already on PATH)

It runs the scheduled drift check itself, ``pulumi preview --stack NAME --refresh --expect-no-changes --json``
(the ``pulumi`` of AOVPN_PULUMI_DIR or PATH, in the project directory, with the backend and passphrase of the
environment, as the pipeline's other steps run it), and reads the one JSON document the CLI writes: a
``refresh`` step per object with the state before (``oldState``) and what the device answered
(``newState``), then the steps the program needs, each with the refreshed state (``oldState``: the old
inputs and the device's values) and the declared inputs (``newState``). So, per property of each object
the program would change, the report knows what the declaration wants, what the device has, and whether
the device changed since the last ``up`` (the document's shape as CLI v3.276.0 writes it is recorded in
tests/fixtures/drift/ by its record.py). A refresh that finds an object gone shows as a ``create`` of an
object the refresh steps still had. The CLI's diff cannot say this itself: a dynamic provider answers a
drifted object's diff with "changes" and no changed keys, so ``--diff`` prints the whole object and
``--json`` carries no ``diffReasons`` (docs/pulumi-engine.md#detailed-diffs).

What it prints, for each object changed on a device only: the cluster, the device (vendor and URL, or the
RRAS node), the object by the device's own name, each changed property with the declaration field it comes
from (a field of the IPsec policy on its own line, never two whole policies), the declared and the found
value (with their meaning in the declaration's words where a device value has one), and what the change
breaks (ops/consequences.py; "not in the table: review the change" when no rule covers it). Objects that
differ from the declaration without a change on their device (a declaration change not yet applied, a value
a device does not report) are listed apart; the steps that only follow a repair (a configuration save, a
node's rolling restart) are named, never reported as drift. Values are printed as the CLI gives them:
secrets stay masked as ``[secret]``.

Human text goes to standard output, Markdown (a pull-request comment or an issue) to ``--markdown`` and
JSON (alerting) to ``--json``. Exit code: 0 no drift, 7 drift (the CLI's own code, kept for the pipeline),
1 the check itself failed (the CLI's errors are printed), 2 usage.

The repair is the merge command, ``pulumi up --stack NAME --refresh --yes`` (README.md, "Drift: the check
and the repair"): without ``--refresh`` an ``up`` compares the declaration with the state, which still
holds the values the last ``up`` wrote, and changes nothing.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import pkgutil
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from pulumi.dynamic import ResourceProvider

import providers
from ops.consequences import NOT_IN_TABLE, rule_for
from providers.common.resources import TypedResource, type_token

ROOT = Path(__file__).resolve().parents[1]
#: The value the engine sends for what is not known yet in a preview (another object's future revision).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
#: Inputs that are plumbing, never a device property: the pickled provider, the write stamp, the connection.
PLUMBING = frozenset({"__provider", "revision", "device"})
#: Steps that change an existing object in place or by replacing it.
CHANGES = ("update", "replace", "create-replacement")
DRIFT_EXIT = 7


class _Absent:
    def __repr__(self) -> str:
        return "absent"


#: A property the object does not have (on the device, or in the declaration).
ABSENT: Any = _Absent()


def repair_command(stack: str) -> str:
    return f"pulumi up --stack {stack} --refresh --yes"


def check_command(stack: str, machine: bool = True) -> list[str]:
    """The drift check's arguments (``machine``: with the JSON document and no prompts, as this runs it)."""
    args = ["preview", "--stack", stack, "--refresh", "--expect-no-changes"]
    return [*args, "--json", "--non-interactive"] if machine else args


# -- the providers, by the kind their resources' type tokens name ---------------------------------------
def kind_of(token: str) -> str:
    """``f5:VirtualServer`` for ``pulumi-python:dynamic/f5:VirtualServer``."""
    return token.removeprefix("pulumi-python:").removeprefix("dynamic/").removeprefix("dynamic:")


def _provider_of(resource: type[TypedResource], module: ModuleType) -> type[ResourceProvider] | None:
    """The provider class a resource class instantiates: its ``provider_class``, or the provider its
    ``__init__`` names (every resource class of providers/<vendor>/resources.py passes one to ``super``)."""
    named = getattr(resource, "provider_class", None)
    if isinstance(named, type) and issubclass(named, ResourceProvider):
        return named
    init = vars(resource).get("__init__")
    for name in getattr(getattr(init, "__code__", None), "co_names", ()):
        found = getattr(module, name, None)
        if isinstance(found, type) and issubclass(found, ResourceProvider):
            return found
    return None


@functools.cache
def provider_classes() -> dict[str, type[ResourceProvider]]:
    """Per kind (``f5:VirtualServer``), the provider class behind its resources, over every vendor package
    of providers/ (and rras)."""
    found: dict[str, type[ResourceProvider]] = {}
    for package in pkgutil.iter_modules(providers.__path__):
        name = f"providers.{package.name}.resources"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # a package without resources (providers/common)
                continue
            raise
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, TypedResource)
                and value.__module__ == module.__name__
                and "_resource_type_name" in vars(value)
            ):
                provider = _provider_of(value, module)
                if provider is not None:
                    found[kind_of(type_token(value))] = provider
    return found


def _managed(kind: str) -> frozenset[str] | None:
    """The input keys a kind's provider compares with its device (identity, properties, owner)."""
    provider = provider_classes().get(kind)
    if provider is None or not hasattr(provider, "property_keys"):
        return None
    keys = (*getattr(provider, "identity_keys", ()), *getattr(provider, "property_keys", ()), "owner")
    return frozenset(keys)


def object_type(kind: str) -> str:
    """The provider's words for the object type (``ltm virtual``), else the kind."""
    return str(getattr(provider_classes().get(kind), "object_type", "") or kind)


# -- the report ----------------------------------------------------------------------------------------
@dataclass
class Change:
    """One property: what the declaration wants, what the device has, and what that breaks."""

    #: the provider's name (``source_address_translation``, ``policy.DHGroup``); None: the object itself
    prop: str | None
    wanted: Any
    found: Any
    #: whether the device changed it since the last ``up`` (else it was already so, or never applied)
    on_device: bool
    #: the declaration field it comes from, as the stack file spells it
    declaration: str | None
    wanted_means: str | None
    found_means: str | None
    breaks: str


@dataclass
class Finding:
    """One object of one device."""

    cluster: str
    #: the vendor (``f5``, ``citrix``, ``kemp``) or ``rras``
    vendor: str
    #: ``f5 load balancer`` or ``RRAS node rras2``
    device: str
    #: the device's management URL (or the node's WinRM endpoint)
    url: str
    kind: str
    object_type: str
    #: the device's own name for it (``/Common/vpn-east_ikev2_500_vs``)
    object: str
    resource: str
    #: ``changed`` or ``deleted`` on the device; ``differs`` (not changed there), ``not created``,
    #: ``not declared`` (a removed object still on the device)
    state: str
    changes: list[Change] = field(default_factory=list)


@dataclass
class Report:
    stack: str
    cli_exit_code: int
    #: objects changed or deleted on their device since the last up
    drifted: list[Finding] = field(default_factory=list)
    #: objects not as declared although their device did not change (not applied yet, or not reported)
    differs: list[Finding] = field(default_factory=list)
    #: what the repair also updates because of the others (configuration saves, rolling restarts)
    follows: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.cli_exit_code in (0, DRIFT_EXIT):
            return self.cli_exit_code
        return 1

    @property
    def status(self) -> str:
        return {0: "no drift", DRIFT_EXIT: "drift"}.get(self.exit_code, "check failed")


def _flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        path = f"{prefix}{key}"
        if isinstance(item, Mapping) and item:
            out.update(_flatten(item, f"{path}."))
        else:
            out[path] = item
    return out


def view(kind: str, props: Mapping[str, Any] | None, declared: Mapping[str, Any]) -> dict[str, Any]:
    """An object's properties by path, as the report compares them: the managed keys of its provider that
    the declaration has, dicts flattened (``policy.DHGroup``); a registry value as its value's name."""
    props = props or {}
    if kind == "rras:RegistryValue":
        name = str(declared.get("name") or props.get("name") or "value")
        present = props.get("ensure", "present") == "present" and "value" in props
        out = {name: props["value"] if present else ABSENT}
        if "owner" in props:
            out["owner"] = props["owner"]
        return out
    managed = _managed(kind)
    keys = [k for k in declared if k not in PLUMBING and (managed is None or k in managed)]
    return _flatten({k: props[k] for k in keys if k in props})


def _unknown(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, list):
        return any(_unknown(v) for v in value)
    if isinstance(value, Mapping):
        return any(_unknown(v) for v in value.values())
    return False


def compare(
    kind: str, declared: Mapping[str, Any], device: Mapping[str, Any], last: Mapping[str, Any] | None
) -> list[Change]:
    """The properties where the device differs from the declaration (values the preview does not know
    yet are left out: they follow from other objects)."""
    wanted_view = view(kind, declared, declared)
    found_view = view(kind, device, declared)
    last_view = view(kind, last, declared) if last is not None else found_view
    computed = {k for k, v in declared.items() if _unknown(v)}
    changes: list[Change] = []
    for path in sorted(set(wanted_view) | set(found_view)):
        wanted = wanted_view.get(path, ABSENT)
        found = found_view.get(path, ABSENT)
        if path.split(".", 1)[0] in computed or _unknown(wanted) or wanted == found:
            continue
        changes.append(_change(kind, path, wanted, found, last_view.get(path, ABSENT) != found, declared))
    return changes


def _change(
    kind: str, prop: str | None, wanted: Any, found: Any, on_device: bool, declared: Mapping[str, Any]
) -> Change:
    rule = rule_for(kind, prop, declared)
    return Change(
        prop=prop,
        wanted=wanted,
        found=found,
        on_device=on_device,
        declaration=rule.declaration if rule else None,
        wanted_means=rule.meaning(wanted) if rule else None,
        found_means=rule.meaning(found) if rule else None,
        breaks=rule.breaks if rule else NOT_IN_TABLE,
    )


def _cluster(state: Mapping[str, Any]) -> str:
    parent = str(state.get("parent") or "")
    return parent.rsplit("::", 1)[-1] if "aovpn:index:VpnCluster" in parent else "(stack)"


def _finding(
    step: Mapping[str, Any], state: Mapping[str, Any], declared: Mapping[str, Any], what: str
) -> Finding:
    kind = kind_of(str(state.get("type", "")))
    vendor = kind.split(":", 1)[0]
    device = declared.get("device") if isinstance(declared.get("device"), Mapping) else {}
    node = declared.get("node")
    return Finding(
        cluster=_cluster(state),
        vendor=vendor,
        device=f"RRAS node {node}" if vendor == "rras" and node else f"{vendor} load balancer",
        url=str((device or {}).get("url") or ""),
        kind=kind,
        object_type=object_type(kind),
        object=str(state.get("id") or str(step.get("urn", "")).rsplit("::", 1)[-1]),
        resource=str(step.get("urn", "")).rsplit("::", 1)[-1],
        state=what,
    )


def _errors(doc: Mapping[str, Any] | None, stderr: str) -> list[str]:
    """The CLI's errors, each message once (with how many objects reported it)."""
    counted: dict[str, int] = {}
    for diagnostic in (doc or {}).get("diagnostics") or []:
        if diagnostic.get("severity") == "error":
            message = str(diagnostic.get("message", "")).strip().removeprefix("error: ").strip()
            counted[message] = counted.get(message, 0) + 1
    errors = [m if n == 1 else f"{m} ({n} objects)" for m, n in counted.items()]
    if not errors:
        errors = [line.strip() for line in stderr.splitlines() if line.strip()]
    return errors


def build(stack: str, cli_exit_code: int, doc: Mapping[str, Any] | None, stderr: str = "") -> Report:
    """The report of one drift check: the CLI's exit code, its JSON document (None when it wrote none)."""
    report = Report(stack, cli_exit_code)
    if cli_exit_code not in (0, DRIFT_EXIT) or doc is None:
        report.errors = _errors(doc, stderr) or [f"pulumi exited {cli_exit_code} and said nothing"]
        if report.cli_exit_code in (0, DRIFT_EXIT):
            report.cli_exit_code = 1  # no document to read: the check did not work
        return report
    steps: list[Mapping[str, Any]] = list(doc.get("steps") or [])
    refreshed = {s["urn"]: s for s in steps if s.get("op") == "refresh" and s.get("urn")}
    seen: set[str] = set()
    for step in steps:
        op, urn = step.get("op"), str(step.get("urn", ""))
        if urn in seen or op not in (*CHANGES, "create", "delete"):
            continue
        seen.add(urn)
        old, new = step.get("oldState") or {}, step.get("newState") or {}
        if op in CHANGES:
            declared = new.get("inputs") or {}
            before = refreshed.get(urn, {}).get("oldState")
            changes = compare(
                _kind(new or old), declared, old.get("outputs") or {}, (before or {}).get("outputs")
            )
            if not changes:
                report.follows.append(f"{new.get('urn', urn).rsplit('::', 1)[-1]} ({_kind(new or old)})")
                continue
            finding = _finding(step, old, declared, "changed")
            finding.changes = changes
            if any(c.on_device for c in changes):
                report.drifted.append(finding)
            else:
                finding.state = "differs"
                report.differs.append(finding)
        elif op == "create":
            declared = new.get("inputs") or {}
            before = refreshed.get(urn, {}).get("oldState")
            if before:  # in the state before the refresh, gone from the device now
                finding = _finding(step, before, declared, "deleted")
                finding.changes = [_change(finding.kind, None, "present", ABSENT, True, declared)]
                report.drifted.append(finding)
            else:
                finding = _finding(step, new, declared, "not created")
                finding.changes = [_change(finding.kind, None, "present", ABSENT, False, declared)]
                report.differs.append(finding)
        else:  # delete: an object no longer declared, still in the state and on the device
            declared = old.get("inputs") or {}
            finding = _finding(step, old, declared, "not declared")
            finding.changes = [_change(finding.kind, None, ABSENT, "present", False, declared)]
            report.differs.append(finding)
    for findings in (report.drifted, report.differs):
        findings.sort(key=lambda f: (f.cluster, f.vendor, f.device, f.object))
    return report


def _kind(state: Mapping[str, Any]) -> str:
    return kind_of(str(state.get("type", "")))


# -- rendering -----------------------------------------------------------------------------------------
DRIFTED = "Changed on the devices"
DIFFERS = "Not as declared, not changed on the devices (a change not applied yet, or a value not read back)"


def show(value: Any) -> str:
    """A value as the report prints it: text as it is, ``absent``, lists joined, numbers and switches as
    YAML spells them."""
    if value is ABSENT or value is None:
        return "absent"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(show(v) for v in value) if value else "(none)"
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _with_meaning(value: Any, means: str | None, code: bool = False) -> str:
    shown = _code(show(value)) if code else show(value)
    return f"{shown} ({means})" if means and means != show(value) else shown


def _prop_label(change: Change, code: bool = False) -> str:
    if change.prop is None:
        return "the object"
    name = _code(change.prop) if code else change.prop
    if not change.declaration:
        return name
    return f"{name} ({_code(change.declaration) if code else change.declaration})"


def _summary(report: Report) -> str:
    cli = f"`pulumi {' '.join(check_command(report.stack, machine=False))}`"
    if report.exit_code == 1:
        return f"The drift check could not run: {cli} exited {report.cli_exit_code}."
    if report.exit_code == 0:
        return f"No drift: {cli} exited 0; every device is as declared."
    n, m = len(report.drifted), len(report.differs)
    found = (
        f"{n} object(s) changed on the devices since the last up" if n else "no object changed on a device"
    )
    if m:
        found += f"; {m} {'more ' if n else ''}not as declared without a change on their device"
    if not n and not m:
        found += " (read `pulumi preview --refresh --diff` for what the CLI would change)"
    return f"{cli} exited {DRIFT_EXIT}: {found}."


def _where(f: Finding) -> str:
    return f"cluster {f.cluster}, {f.device}" + (f" ({f.url})" if f.url else "")


def _state(f: Finding) -> str:
    return {"changed": "changed on the device", "deleted": "deleted on the device"}.get(f.state, f.state)


def consequences(f: Finding) -> list[tuple[list[str], str]]:
    """What the object's changes break, each consequence once, with the properties it comes from."""
    grouped: dict[str, list[str]] = {}
    for c in f.changes:
        grouped.setdefault(c.breaks, []).append(c.prop or "the object")
    return [(props, text) for text, props in grouped.items()]


def _unchanged_note(c: Change, f: Finding) -> str:
    """Marks, in an object changed on its device, a difference the device did not make."""
    return " (unchanged since the last up)" if f.state == "changed" and not c.on_device else ""


def text(report: Report) -> str:
    """The human text (standard output)."""
    lines = [f"Drift check of stack {report.stack}: {report.status}", _summary(report).replace("`", "")]
    for title, findings in ((DRIFTED, report.drifted), (DIFFERS, report.differs)):
        if not findings:
            continue
        lines += ["", f"{title}:"]
        where = None
        for f in findings:
            if _where(f) != where:
                where = _where(f)
                lines.append(f"  {where}")
            lines.append(f"    {f.object_type} {f.object} [{f.kind} {f.resource}]: {_state(f)}")
            for c in f.changes:
                lines.append(
                    f"      {_prop_label(c)}: declared {_with_meaning(c.wanted, c.wanted_means)}, "
                    f"device has {_with_meaning(c.found, c.found_means)}{_unchanged_note(c, f)}"
                )
            several = len(consequences(f)) > 1
            for props, breaks in consequences(f):
                which = f" ({', '.join(props)})" if several else ""
                lines.append(f"      breaks{which}: {breaks}")
    if report.follows:
        lines += ["", "The repair also updates (follows from the above): " + ", ".join(report.follows)]
    if report.errors:
        lines += ["", "Errors:"] + [f"  {e}" for e in report.errors]
    if report.exit_code == DRIFT_EXIT:
        lines += ["", f"Repair (the merge command): {repair_command(report.stack)}"]
    return "\n".join(lines) + "\n"


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _code(value: str) -> str:
    return f"`{value}`" if value and "`" not in value else value


def markdown(report: Report) -> str:
    """A pull-request comment or an issue: per object its place, a table of its properties (declared and
    found) and what the changes break."""
    lines = [f"## Drift check of stack `{report.stack}`: {report.status}", "", _summary(report)]
    for title, findings in ((DRIFTED, report.drifted), (DIFFERS, report.differs)):
        if not findings:
            continue
        lines += ["", f"### {title}"]
        for f in findings:
            url = f" ({_code(f.url)})" if f.url else ""
            lines += [
                "",
                f"**cluster `{f.cluster}`, {f.device}**{url}: {f.object_type} {_code(f.object)}, {_state(f)}"
                f" (`{f.kind}` `{f.resource}`)",
                "",
                "| property | declared | on the device |",
                "|---|---|---|",
            ]
            for c in f.changes:
                cells = [
                    _prop_label(c, code=True),
                    _with_meaning(c.wanted, c.wanted_means, code=True),
                    _with_meaning(c.found, c.found_means, code=True) + _unchanged_note(c, f),
                ]
                lines.append("| " + " | ".join(_cell(x) for x in cells) + " |")
            several = len(consequences(f)) > 1
            lines.append("")
            for props, breaks in consequences(f):
                which = f" ({', '.join(_code(p) for p in props)})" if several else ""
                lines.append(f"- What it breaks{which}: {breaks}")
    if report.follows:
        lines += ["", "The repair also updates (follows from the above): " + ", ".join(report.follows) + "."]
    if report.errors:
        lines += ["", "### Errors", "", "```", *report.errors, "```"]
    if report.exit_code == DRIFT_EXIT:
        lines += ["", f"Repair: run the merge command, `{repair_command(report.stack)}`."]
    return "\n".join(lines) + "\n"


def _jsonable(value: Any) -> Any:
    if value is ABSENT:
        return None
    return value


def as_json(report: Report) -> dict[str, Any]:
    """For alerting: the same findings as data (``null``: absent)."""

    def finding(f: Finding) -> dict[str, Any]:
        out = asdict(f)
        out["changes"] = [
            {**asdict(c), "wanted": _jsonable(c.wanted), "found": _jsonable(c.found)} for c in f.changes
        ]
        return out

    return {
        "stack": report.stack,
        "status": report.status,
        "exit_code": report.exit_code,
        "cli_exit_code": report.cli_exit_code,
        "check": ["pulumi", *check_command(report.stack)],
        "drifted": [finding(f) for f in report.drifted],
        "differs": [finding(f) for f in report.differs],
        "follows": report.follows,
        "errors": report.errors,
        "repair": repair_command(report.stack) if report.exit_code == DRIFT_EXIT else None,
    }


# -- running the check ---------------------------------------------------------------------------------
def pulumi_binary(env: Mapping[str, str]) -> str | None:
    """The CLI ``./run`` set up (AOVPN_PULUMI_DIR), else the ``pulumi`` on PATH."""
    given = env.get("AOVPN_PULUMI_DIR")
    if given and (Path(given) / "pulumi").is_file():
        return str(Path(given) / "pulumi")
    return shutil.which("pulumi", path=env.get("PATH"))


def run_check(stack: str, cwd: Path, env: Mapping[str, str]) -> Report:
    """Run the drift check with the real CLI and build its report."""
    binary = pulumi_binary(env)
    if binary is None:
        return build(stack, 1, None, "the Pulumi CLI was not found (AOVPN_PULUMI_DIR, PATH): run ./run setup")
    run_env = dict(env)
    run_env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    proc = subprocess.run(
        [binary, *check_command(stack)], cwd=cwd, env=run_env, capture_output=True, text=True, check=False
    )
    try:
        doc = json.loads(proc.stdout) if proc.stdout.strip() else None
    except ValueError:
        doc = None
    return build(stack, proc.returncode, doc if isinstance(doc, dict) else None, proc.stderr)


def write(report: Report, markdown_file: Path | None, json_file: Path | None) -> None:
    if markdown_file is not None:
        markdown_file.write_text(markdown(report), encoding="utf-8")
    if json_file is not None:
        json_file.write_text(json.dumps(as_json(report), indent=2) + "\n", encoding="utf-8")


def parse_args(argv: Iterable[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="./run drift",
        description=(
            "Run the drift check (pulumi preview --refresh --expect-no-changes) and report, for every object "
            "changed on a device, the property, the declared and the found value, and what it breaks."
        ),
        epilog="Exit code: 0 no drift, 7 drift, 1 the check failed. Repair: the merge command, "
        "pulumi up --stack NAME --refresh --yes.",
    )
    parser.add_argument("--stack", required=True, metavar="NAME", help="the stack to check")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="also write the report as Markdown")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the report as JSON")
    parser.add_argument(
        "--cwd",
        type=Path,
        default=ROOT,
        metavar="DIR",
        help="the Pulumi project directory (default: %(default)s)",
    )
    return parser.parse_args(list(argv))


def main(argv: Iterable[str]) -> int:
    args = parse_args(argv)
    report = run_check(args.stack, args.cwd, os.environ)
    sys.stdout.write(text(report))
    write(report, args.markdown, args.json)
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
