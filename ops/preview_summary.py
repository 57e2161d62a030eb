"""The short Markdown summary of a ``pulumi preview`` that a pipeline posts on a pull (merge) request.

    venv/bin/python -m ops.preview_summary --stack NAME --output FILE [--input PREVIEW.json]

Without ``--input`` it runs ``pulumi preview --stack NAME --json`` itself (the ``pulumi`` on PATH, in the
current directory, with the backend and passphrase of the environment, as the pipeline's other steps run it);
with ``--input`` it reads a document that command wrote (``-``: standard input). ``--diff`` and ``--json`` are
two renderings of one preview, so the pipeline's log shows ``pulumi preview --diff`` for people and this
module asks for the JSON; a preview is read-only and takes no lock on the backend, so running it twice is
safe.

The summary is short on purpose (the JSON of a small stack is hundreds of KB): the count of objects per
operation, then one row per object that would change (operation, Pulumi name, the object's name on the
device, cluster, vendor and object type, and the NAMES of the properties that change, the ones forcing a
replacement marked), the RRAS nodes the change would restart, and the preview's warnings and errors. No
property value is shown, so nothing in the summary can reveal a setting, let alone a secret; the person who
wants the values reads the job log. The first line is a marker comment naming the stack, by which the
pipeline finds and updates its earlier comment instead of adding one per push.

Exit code: 0 the preview succeeded (the summary written), 1 the preview failed (a summary that says so, with
the preview's errors, is still written, for the pull request to show), 2 no summary could be written (usage,
an unreadable document).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The first line of every summary; pipelines find their earlier comment by it.
MARKER = "<!-- aovpn-iac preview-summary stack={stack} -->"

#: Steps that change nothing: ``same``, and the re-read of every object in ``preview --refresh``.
NO_CHANGE = frozenset({"same", "refresh"})
#: The operations in the order a reader expects them, with the CLI's symbols.
SYMBOLS = {
    "create": "+",
    "update": "~",
    "replace": "+-",
    "create-replacement": "++",
    "delete-replaced": "--",
    "delete": "-",
    "import": "=",
    "import-replacement": "=>",
    "read": ">",
    "read-replacement": ">>",
    "discard": "<",
    "discard-replaced": "<<",
    "remove-pending-replace": "-",
}
#: Words for the counts line.
VERBS = {
    "create": "to create",
    "update": "to update",
    "replace": "to replace",
    "delete": "to delete",
    "import": "to import",
    "read": "to read",
}
#: Properties of a dynamic resource that are not the object's (the pickled provider).
HIDDEN_PROPERTIES = frozenset({"__provider"})
#: Rows shown at most; the rest are counted ("... and N more").
MAX_ROWS = 60
#: Diagnostics shown at most, and the characters of each.
MAX_DIAGNOSTICS = 12
MAX_MESSAGE = 1200


@dataclass
class Change:
    """One object a preview would change."""

    op: str
    name: str
    kind: str
    device_name: str | None
    cluster: str | None
    properties: list[str] = field(default_factory=list)
    replace_because: list[str] = field(default_factory=list)


@dataclass
class Preview:
    """What a summary is made of."""

    stack: str
    counts: Counter[str]
    unchanged: int
    changes: list[Change]
    warnings: list[str]
    errors: list[str]
    failed: bool


def short_type(token: str) -> str:
    """``pulumi-python:dynamic/f5:Pool`` -> ``f5:Pool``; ``aovpn:index:VpnCluster`` -> ``VpnCluster``."""
    if token.startswith("pulumi-python:dynamic/"):
        return token[len("pulumi-python:dynamic/") :]
    return token.rsplit(":", 1)[-1]


def _top_level(path: str) -> str:
    """``members[1]`` / ``device.url`` -> ``members`` / ``device`` (detailed diffs name nested paths)."""
    for i, ch in enumerate(path):
        if ch in ".[":
            return path[:i]
    return path


def _names(paths: Any) -> list[str]:
    if not isinstance(paths, list | dict):
        return []
    seen: list[str] = []
    for path in paths:
        top = _top_level(str(path))
        if top and top not in HIDDEN_PROPERTIES and top not in seen:
            seen.append(top)
    return seen


def _cluster_of(state: dict[str, Any]) -> str | None:
    parent = str(state.get("parent") or "")
    if "aovpn:index:VpnCluster::" in parent:
        return parent.rsplit("::", 1)[-1]
    if state.get("type") == "aovpn:index:VpnCluster":
        return str(state.get("urn", "")).rsplit("::", 1)[-1] or None
    return None


def _device_name(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """The object's own name on the device: its id when it exists, else the name it will be given."""
    ident = old.get("id") or new.get("id")
    if isinstance(ident, str) and ident:
        return ident
    inputs = new.get("inputs") or old.get("inputs") or {}
    name = inputs.get("name") if isinstance(inputs, dict) else None
    return name if isinstance(name, str) and name else None


def _changed_inputs(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The inputs that differ between the old and the new state (a replacement the engine derives from a
    parent's replacement has no diff of its own: its parent's id, unknown in a preview, is what changes)."""
    before = old.get("inputs") if isinstance(old.get("inputs"), dict) else {}
    after = new.get("inputs") if isinstance(new.get("inputs"), dict) else {}
    if not before or not after:
        return []
    keys = sorted(set(before) | set(after))
    return [k for k in keys if k not in HIDDEN_PROPERTIES and before.get(k) != after.get(k)]


def _change(step: dict[str, Any]) -> Change:
    old = step.get("oldState") or {}
    new = step.get("newState") or {}
    token = str(new.get("type") or old.get("type") or "")
    properties = (
        _names(step.get("diffReasons")) or _names(step.get("detailedDiff")) or _changed_inputs(old, new)
    )
    return Change(
        op=str(step.get("op")),
        name=str(step.get("urn", "")).rsplit("::", 1)[-1],
        kind=short_type(token),
        device_name=_device_name(old, new) if token.startswith("pulumi-python:dynamic/") else None,
        cluster=_cluster_of(new) or _cluster_of(old),
        properties=properties,
        replace_because=_names(step.get("replaceReasons")),
    )


def _message(diagnostic: dict[str, Any]) -> str:
    text = str(diagnostic.get("message", "")).strip()
    for prefix in ("error: ", "warning: "):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE] + " ..."
    return text


def read_preview(doc: dict[str, Any], stack: str, failed: bool = False) -> Preview:
    """The summary's content from a ``pulumi preview --json`` document; ``failed``: the CLI exited non-zero
    (a document with error diagnostics is a failed preview too)."""
    steps = [s for s in doc.get("steps") or [] if isinstance(s, dict)]
    changes = [_change(s) for s in steps if s.get("op") not in NO_CHANGE]
    counts: Counter[str] = Counter(c.op for c in changes)
    # The CLI lists few of the unchanged objects among the steps; its own summary counts them all.
    summary = doc.get("changeSummary")
    same = summary.get("same") if isinstance(summary, dict) else None
    unchanged = same if isinstance(same, int) else sum(1 for s in steps if s.get("op") == "same")
    diagnostics = [d for d in doc.get("diagnostics") or [] if isinstance(d, dict)]
    errors = [_message(d) for d in diagnostics if d.get("severity") == "error"]
    warnings = [_message(d) for d in diagnostics if d.get("severity") == "warning"]
    return Preview(
        stack=stack,
        counts=counts,
        unchanged=unchanged,
        changes=changes,
        warnings=_unique(warnings),
        errors=_unique(errors),
        failed=failed or bool(errors),
    )


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def _order(op: str) -> int:
    ops = list(SYMBOLS)
    return ops.index(op) if op in ops else len(ops)


def render(preview: Preview) -> str:
    """The Markdown summary."""
    stack = preview.stack
    lines = [MARKER.format(stack=stack)]
    total = sum(preview.counts.values())
    if preview.failed:
        lines.append(f"### `pulumi preview` of stack `{stack}` failed")
    elif total == 0:
        lines.append(f"### `pulumi preview` of stack `{stack}`: no changes")
    else:
        lines.append(f"### `pulumi preview` of stack `{stack}`: {total} to change")
    lines.append("")

    if preview.counts:
        parts = [
            f"{preview.counts[op]} {VERBS.get(op, op)}"
            for op in sorted(preview.counts, key=_order)
            if preview.counts[op]
        ]
        lines.append(", ".join(parts) + f"; {preview.unchanged} unchanged.")
    elif not preview.failed:
        lines.append(f"Nothing would change on any appliance or RRAS node ({preview.unchanged} unchanged).")
    else:
        lines.pop()  # a failed preview with no plan: straight to its errors

    restarts = [
        c for c in preview.changes if c.kind == "rras:NodeRestart" and c.op in {"create", "update", "replace"}
    ]
    if restarts:
        names = ", ".join(_code(c.name) for c in restarts)
        lines += [
            "",
            f"**RRAS restarts:** `up` would restart {len(restarts)} node(s), one at a time, each drained on "
            f"the load balancer first: {names}.",
        ]

    if preview.changes:
        lines += [
            "",
            "| change | object | on the device | cluster | type | what changes |",
            "|---|---|---|---|---|---|",
        ]
        shown = sorted(preview.changes, key=lambda c: (_order(c.op), c.cluster or "", c.name))
        for change in shown[:MAX_ROWS]:
            what = [f"{p} (forces replacement)" for p in change.replace_because]
            what += [p for p in change.properties if p not in change.replace_because]
            lines.append(
                "| "
                + " | ".join(
                    [
                        _cell(f"{SYMBOLS.get(change.op, '?')} {change.op}"),
                        _cell(_code(change.name)),
                        _cell(_code(change.device_name)) if change.device_name else "",
                        _cell(change.cluster or ""),
                        _cell(change.kind),
                        _cell(", ".join(what)),
                    ]
                )
                + " |"
            )
        if len(shown) > MAX_ROWS:
            lines.append(f"\n... and {len(shown) - MAX_ROWS} more (see the job log).")

    for title, messages in (("Errors", preview.errors), ("Warnings", preview.warnings)):
        if messages:
            lines += ["", f"**{title}**", "", "```text"]
            for message in messages[:MAX_DIAGNOSTICS]:
                lines.append(message.replace("```", "'''"))
            if len(messages) > MAX_DIAGNOSTICS:
                lines.append(f"... and {len(messages) - MAX_DIAGNOSTICS} more (see the job log)")
            lines.append("```")

    lines += ["", f"The values are in the job log (`pulumi preview --stack {stack} --diff`)."]
    return "\n".join(lines) + "\n"


def failure(stack: str, reason: str) -> Preview:
    """The summary of a preview that produced no document (the CLI failed before previewing)."""
    return Preview(
        stack=stack, counts=Counter(), unchanged=0, changes=[], warnings=[], errors=[reason], failed=True
    )


def run_preview(stack: str) -> Preview:
    """``pulumi preview --stack STACK --json`` with the ``pulumi`` on PATH."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        return failure(stack, "no `pulumi` on PATH (./run setup builds it; put its directory on PATH)")
    proc = subprocess.run(
        [pulumi, "preview", "--stack", stack, "--json", "--non-interactive"],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        return failure(stack, tail or f"pulumi preview exited {proc.returncode} and printed nothing")
    preview = read_preview(doc, stack, failed=proc.returncode != 0)
    if proc.returncode != 0 and not preview.errors:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        preview.errors.append(tail or f"pulumi preview exited {proc.returncode}")
    return preview


def load(path: str) -> dict[str, Any]:
    text = sys.stdin.read() if path == "-" else Path(path).read_text()
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError("not a `pulumi preview --json` document (no JSON object)")
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.preview_summary",
        description="Write the short Markdown summary of `pulumi preview` for a pull request comment.",
    )
    parser.add_argument("--stack", required=True, metavar="NAME", help="the stack to preview")
    parser.add_argument("--output", required=True, metavar="FILE", help="where to write the Markdown")
    parser.add_argument(
        "--input",
        metavar="FILE",
        help="a document of `pulumi preview --json` to summarise ('-': standard input) instead of running it",
    )
    args = parser.parse_args(argv)
    if args.input is not None:
        try:
            preview = read_preview(load(args.input), args.stack)
        except (OSError, ValueError) as exc:
            print(f"preview_summary: cannot read {args.input}: {exc}", file=sys.stderr)
            return 2
    else:
        preview = run_preview(args.stack)
    text = render(preview)
    try:
        Path(args.output).write_text(text)
    except OSError as exc:
        print(f"preview_summary: cannot write {args.output}: {exc}", file=sys.stderr)
        return 2
    print(text, end="")
    return 1 if preview.failed else 0


if __name__ == "__main__":
    sys.exit(main())
