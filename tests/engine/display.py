"""Human and JSON renderings of an operation, modelled on the CLI's non-interactive output."""

from __future__ import annotations

import json
from typing import Any

from . import state as st
from .deploy import Deployment, Step
from .values import PROVIDER_KEY, display

SYMBOL = {
    "create": "+ ",
    "update": "~ ",
    "replace": "+-",
    "delete": "- ",
    "delete-replaced": "--",
    "same": "  ",
}
DONE = {"create": "created", "update": "updated", "replace": "replaced", "delete": "deleted", "same": ""}
DONE["delete-replaced"] = "deleted original"
COUNTED = ("create", "update", "replace", "delete")
TITLE = {
    "update": "Updating",
    "preview": "Previewing update",
    "refresh": "Refreshing",
    "destroy": "Destroying",
}


def change_summary(steps: list[Step]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in steps:
        if s.status != "succeeded" and s.op != "delete":
            continue
        key = s.refresh_result if s.op == "refresh" else s.op
        if key and key != "delete-replaced":
            out[key] = out.get(key, 0) + 1
    return out


def has_changes(summary: dict[str, int]) -> bool:
    return any(summary.get(k, 0) for k in COUNTED)


def _state_json(res: st.ResourceState | None, show_secrets: bool) -> dict[str, Any] | None:
    if res is None:
        return None
    strip = {k: v for k, v in res.inputs.items() if k != PROVIDER_KEY}
    outs = {k: v for k, v in res.outputs.items() if k != PROVIDER_KEY}
    return {
        "urn": res.urn,
        "id": res.id,
        "type": res.type,
        "parent": res.parent,
        "inputs": display(strip, show_secrets),
        "outputs": display(outs, show_secrets),
    }


def step_json(step: Step, show_secrets: bool) -> dict[str, Any]:
    d: dict[str, Any] = {
        "op": step.op,
        "urn": step.urn,
        "type": step.type,
        "name": step.name,
        "custom": step.custom,
        "status": step.status,
        "diffReasons": list(step.diff_reasons),
        "replaceReasons": list(step.replace_reasons),
        "oldState": _state_json(step.old, show_secrets),
        "newState": _state_json(step.new, show_secrets),
    }
    if step.op == "replace":
        d["deleteBeforeReplace"] = bool(step.delete_before_replace)
    if step.op == "refresh":
        d["refreshResult"] = step.refresh_result
    if step.error:
        d["error"] = step.error
    return d


def result_json(dep: Deployment, operation: str, exit_code: int, counted: dict[str, int]) -> dict[str, Any]:
    show = dep.opts.show_secrets
    return {
        "operation": operation,
        "project": dep.project.name,
        "stack": dep.stack,
        "dryRun": dep.dry_run,
        "result": "failed" if dep.failed else "succeeded",
        "exitCode": exit_code,
        "steps": [step_json(s, show) for s in (dep.refresh_steps if dep.kind == "refresh" else dep.steps)],
        "refreshSteps": [step_json(s, show) for s in dep.refresh_steps] if dep.kind != "refresh" else [],
        "changeSummary": counted,
        "outputs": display(dep.stack_outputs, show),
        "diagnostics": [
            {"severity": d.severity, "message": d.message, "urn": d.urn} for d in dep.diagnostics
        ],
        "errors": list(dep.errors),
        "hostPids": list(dep.host_pids),
    }


def step_line(step: Step, dry_run: bool, show_diff: bool) -> str:
    if step.op == "refresh":
        result = step.refresh_result or "failed"
        sym = {"same": "  ", "update": "~ ", "delete": "- "}.get(result, "  ")
        status = {"same": "", "update": "updated" if not dry_run else "update", "delete": "deleted"}.get(
            result, ""
        )
        line = f" {sym} {step.type:<50} {step.name:<30} {'refresh ' + status if status else ''}".rstrip()
    else:
        status = step.op if dry_run else DONE.get(step.op, step.op)
        if step.op == "replace":
            status += f" [diff: {', '.join(step.replace_reasons)}]"
        elif step.op == "update" and step.diff_reasons:
            status += f" [diff: ~{', '.join(step.diff_reasons)}]"
        line = f" {SYMBOL.get(step.op, '  ')} {step.type:<50} {step.name:<30} {status}".rstrip()
    if step.status == "failed":
        line += f" **{'failed'}** {step.error.splitlines()[-1] if step.error else ''}"
    if show_diff:
        line += "".join("\n" + x for x in _diff_lines(step))
    return line


def _diff_lines(step: Step) -> list[str]:
    lines: list[str] = []
    old = step.old.inputs if step.old is not None else {}
    if step.op == "refresh" and step.old is not None:
        old = step.old.outputs
    new: dict[str, Any] = {}
    if step.new is not None:
        new = step.new.outputs if step.op == "refresh" else step.new.inputs
    if step.op == "create":
        for k, v in new.items():
            if k != PROVIDER_KEY:
                lines.append(f"        + {k}: {json.dumps(display(v))}")
    elif step.op == "delete":
        for k, v in old.items():
            if k != PROVIDER_KEY:
                lines.append(f"        - {k}: {json.dumps(display(v))}")
    elif step.op in ("update", "replace", "refresh"):
        keys = step.diff_reasons or sorted(set(old) | set(new))
        for k in keys:
            if k == PROVIDER_KEY:
                continue
            if k in old and k in new:
                if display(old[k]) != display(new[k]) or k in step.diff_reasons:
                    lines.append(
                        f"        ~ {k}: {json.dumps(display(old[k]))} => {json.dumps(display(new[k]))}"
                    )
            elif k in new:
                lines.append(f"        + {k}: {json.dumps(display(new[k]))}")
            elif k in old:
                lines.append(f"        - {k}: {json.dumps(display(old[k]))}")
    return lines


def human_summary(dep: Deployment, counted: dict[str, int]) -> str:
    out: list[str] = []
    outputs = display(dep.stack_outputs, dep.opts.show_secrets)
    if outputs and dep.kind in ("update", "preview"):
        out.append("Outputs:")
        for k in sorted(outputs):
            out.append(f"    {k}: {json.dumps(outputs[k], sort_keys=True)}")
        out.append("")
    out.append("Resources:")
    verbs = {
        "create": "to create" if dep.dry_run else "created",
        "update": "to update" if dep.dry_run else "updated",
        "replace": "to replace" if dep.dry_run else "replaced",
        "delete": "to delete" if dep.dry_run else "deleted",
    }
    any_change = False
    for op in COUNTED:
        if counted.get(op):
            any_change = True
            out.append(f"    {SYMBOL[op].strip() or ' '} {counted[op]} {verbs[op]}")
    total_changes = sum(counted.get(op, 0) for op in COUNTED)
    if counted.get("same"):
        out.append(f"    {counted['same']} unchanged")
    if not any_change and not counted.get("same"):
        out.append("    (no resources)" if total_changes == 0 else "")
    diags = [d for d in dep.diagnostics if d.severity in ("error", "warning", "info", "info#err")]
    if diags:
        out.append("")
        out.append("Diagnostics:")
        for d in diags:
            sev = {"info#err": "info"}.get(d.severity, d.severity)
            where = (
                d.urn.rsplit("::", 2)[-2] + " " + d.urn.rsplit("::", 1)[-1] if d.urn.count("::") >= 3 else ""
            )
            prefix = f"  {where} ({sev}): " if where else f"  {sev}: "
            out.append(prefix + d.message)
    return "\n".join(out)
