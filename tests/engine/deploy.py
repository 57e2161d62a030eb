"""One engine operation (up, preview, refresh, destroy): resource monitor, step generation and execution.

See the package docstring for what is reproduced. Section numbers (§) refer to
/work/shared/reference/pulumi_engine.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import (
    engine_pb2,
    engine_pb2_grpc,
    provider_pb2,
    resource_pb2,
    resource_pb2_grpc,
)

from . import state as st
from .host import HostError, ProviderHost
from .values import (
    PROVIDER_KEY,
    Props,
    apply_additional_secret_outputs,
    changed_keys,
    equal,
    from_struct,
    remark_secrets,
    to_struct,
    unwrap,
)
from .workspace import EngineError, Project, StackFile, program_config, provider_config

DIFF_UNKNOWN = provider_pb2.DiffResponse.DIFF_UNKNOWN
DIFF_NONE = provider_pb2.DiffResponse.DIFF_NONE
DIFF_SOME = provider_pb2.DiffResponse.DIFF_SOME
DYNAMIC_PACKAGE = "pulumi-python"
LANGHOST_EXEC = Path(__file__).resolve().parent / "_langhost" / "pulumi_language_python_exec.py"
# RESOURCE_MONITOR_FEATURE_* this monitor supports: secrets and deletedWith. Without resourceReferences the
# SDK sends resources as their id/URN (what the engine itself downgrades them to for the dynamic host), and
# without aliasSpecs it sends aliases already resolved to URNs.
SUPPORTED_FEATURES = [
    resource_pb2.RESOURCE_MONITOR_FEATURE_SECRETS,
    resource_pb2.RESOURCE_MONITOR_FEATURE_DELETED_WITH,
]
LEGACY_FEATURES = {"secrets", "deletedWith"}


@dataclass
class Options:
    yes: bool = False
    skip_preview: bool = False
    diff: bool = False
    json: bool = False
    refresh: bool = False
    expect_no_changes: bool = False
    preview_only: bool = False
    targets: list[str] = field(default_factory=list)
    parallel: int = 0
    show_secrets: bool = False


@dataclass
class Step:
    op: str  # create | update | replace | delete | delete-replaced | same | refresh
    urn: str
    type: str
    custom: bool
    old: st.ResourceState | None = None
    new: st.ResourceState | None = None
    diff_reasons: list[str] = field(default_factory=list)
    replace_reasons: list[str] = field(default_factory=list)
    delete_before_replace: bool | None = None
    refresh_result: str | None = None  # same | update | delete (refresh steps)
    status: str = "succeeded"
    error: str | None = None

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]


@dataclass
class Diagnostic:
    severity: str
    message: str
    urn: str = ""


class StepFailed(Exception):
    pass


def _grpc_message(exc: grpc.RpcError) -> str:
    details = exc.details() if hasattr(exc, "details") else None
    return str(details or exc)


class Deployment:
    """State, provider host and step logic for one operation."""

    def __init__(
        self,
        kind: str,
        project: Project,
        stack: str,
        env: dict[str, str],
        opts: Options,
        stack_file: StackFile,
        config: dict[str, Any],
        old_resources: list[st.ResourceState],
        checkpoint_path: Path,
        secrets_state: str | None,
        encrypt: Callable[[str], str],
        emit: Callable[[Step], None],
    ) -> None:
        self.kind = kind  # update | preview | refresh | destroy
        self.project = project
        self.stack = stack
        self.env = env
        self.opts = opts
        self.stack_file = stack_file
        self.config = config
        self.dry_run = kind == "preview" or opts.preview_only
        self.checkpoint_path = checkpoint_path
        self.secrets_state = secrets_state
        self.encrypt = encrypt
        self.emit = emit
        self.parallel = opts.parallel or 4 * (os.cpu_count() or 1)

        self.lock = threading.RLock()
        self.resources: list[st.ResourceState] = list(old_resources)
        self.old_by_urn: dict[str, st.ResourceState] = {r.urn: r for r in old_resources if not r.delete}
        self.registered: set[str] = set()
        self.steps: list[Step] = []
        self.refresh_steps: list[Step] = []
        self.diagnostics: list[Diagnostic] = []
        self.errors: list[str] = []
        self.failed = False
        self.root_urn = ""
        self.stack_outputs: Props = {}

        self.host: ProviderHost | None = None
        self._host_lock = threading.Lock()
        self._provider_ref: str | None = None
        self.host_pids: list[int] = []

    # -- helpers --------------------------------------------------------------------------------------------

    @property
    def provider_urn(self) -> str:
        return f"urn:pulumi:{self.stack}::{self.project.name}::pulumi:providers:{DYNAMIC_PACKAGE}::default"

    def stack_urn(self) -> str:
        return (
            f"urn:pulumi:{self.stack}::{self.project.name}::{st.STACK_TYPE}::{self.project.name}-{self.stack}"
        )

    def make_urn(self, type_: str, name: str, parent: str) -> str:
        qualified = type_
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != st.STACK_TYPE:
                qualified = f"{parent_type}${type_}"
        return f"urn:pulumi:{self.stack}::{self.project.name}::{qualified}::{name}"

    def targeted(self, urn: str) -> bool:
        return not self.opts.targets or any(fnmatchcase(urn, t) for t in self.opts.targets)

    def log(self, severity: str, message: str, urn: str = "") -> None:
        with self.lock:
            self.diagnostics.append(Diagnostic(severity, message, urn))

    def fail(self, message: str, urn: str = "") -> None:
        with self.lock:
            self.failed = True
            self.errors.append(message)
            self.diagnostics.append(Diagnostic("error", message, urn))

    def save(self) -> None:
        if self.dry_run:
            return
        with self.lock:
            st.write_checkpoint(
                self.checkpoint_path, self.stack, self.resources, self.secrets_state, self.encrypt
            )

    def record(self, step: Step, refresh: bool = False) -> None:
        with self.lock:
            (self.refresh_steps if refresh else self.steps).append(step)
        self.emit(step)

    def _replace_entry(self, old: st.ResourceState | None, new: st.ResourceState | None) -> None:
        with self.lock:
            if old is not None:
                for i, r in enumerate(self.resources):
                    if r is old:
                        if new is None:
                            del self.resources[i]
                        else:
                            self.resources[i] = new
                        break
                else:
                    if new is not None:
                        self.resources.append(new)
            elif new is not None:
                self.resources.append(new)

    # -- provider host --------------------------------------------------------------------------------------

    def host_env(self) -> dict[str, str]:
        env = dict(self.env)
        for key, value in self.project.runtime_options.items():
            env[f"PULUMI_RUNTIME_{key.upper()}"] = str(value)
        env["PULUMI_PROJECT"] = self.project.name
        env["PULUMI_CONFIG"] = "{}"
        venv = self.project.venv_dir()
        if venv is not None and venv.exists():
            env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
            env.pop("PYTHONHOME", None)
        return env

    def start_host(self, engine_address: str) -> ProviderHost:
        with self._host_lock:
            if self.host is None:
                host = ProviderHost(
                    self.project.python(),
                    str(self.project.main),
                    self.host_env(),
                    engine_address,
                    lambda stream, line: self.log("info" if stream == "stdout" else "info#err", line),
                )
                try:
                    host.start()
                except (HostError, OSError, grpc.RpcError, grpc.FutureTimeoutError) as exc:
                    host.close()
                    raise EngineError(f"failed to load provider pulumi-python: {exc}") from None
                self.host = host
                if host.pid is not None:
                    self.host_pids.append(host.pid)
            return self.host

    def close_host(self) -> None:
        with self._host_lock:
            if self.host is not None:
                self.host.close()
                self.host = None

    def ensure_default_provider(self, engine_address: str, from_state: bool = False) -> str:
        """Register (or load from state) the default ``pulumi-python`` provider; Configure the host once."""
        with self._host_lock:
            if self._provider_ref is not None:
                return self._provider_ref
        host = self.start_host(engine_address)
        with self._host_lock:
            if self._provider_ref is not None:
                return self._provider_ref
            urn = self.provider_urn
            old = self.old_by_urn.get(urn)
            if from_state:
                if old is None:
                    raise EngineError("no default provider in state")
                inputs = old.inputs
                pid = old.id
            else:
                inputs = provider_config(self.config)
                pid = old.id if old is not None and old.id else str(uuid.uuid4())
            try:
                host.configure(inputs, urn, pid)
            except grpc.RpcError as exc:
                raise EngineError(f"configuring provider pulumi-python: {_grpc_message(exc)}") from None
            if not from_state:
                ts = st.now()
                new = st.ResourceState(
                    urn=urn,
                    custom=True,
                    type=f"pulumi:providers:{DYNAMIC_PACKAGE}",
                    id=pid,
                    inputs=inputs,
                    outputs=inputs,
                    created=old.created if old is not None and old.created else ts,
                    modified=ts if old is None or not equal(old.outputs, inputs) else old.modified,
                )
                with self.lock:
                    self.registered.add(urn)
                    self._replace_entry(old, new)
                self.save()
            self._provider_ref = f"{urn}::{pid}"
            return self._provider_ref

    def _stub(self) -> Any:
        assert self.host is not None and self.host.stub is not None
        return self.host.stub

    # -- provider calls (secrets stripped on the way in, re-marked on the way out) -------------------------

    def call_check(self, urn: str, olds: Props, news: Props) -> Props:
        resp = self._stub().Check(
            provider_pb2.CheckRequest(
                urn=urn,
                olds=to_struct(unwrap(olds)),
                news=to_struct(unwrap(news)),
                randomSeed=os.urandom(32),
                name=urn.rsplit("::", 1)[-1],
                type=urn.split("::")[2].split("$")[-1],
            )
        )
        if resp.failures:
            name = urn.rsplit("::", 1)[-1]
            msgs = []
            for f in resp.failures:
                if f.property:
                    msgs.append(f"{name} has a problem: property {f.property} has a problem: {f.reason}")
                else:
                    msgs.append(f"{name} has a problem: {f.reason}")
            raise StepFailed("; ".join(msgs) + f"\nresource {urn} is invalid")
        checked: Props = remark_secrets(from_struct(resp.inputs), news)
        return checked

    def call_diff(self, res: st.ResourceState, news: Props, ignore: list[str]) -> Any:
        return self._stub().Diff(
            provider_pb2.DiffRequest(
                id=res.id,
                urn=res.urn,
                olds=to_struct(unwrap(res.outputs)),
                news=to_struct(unwrap(news)),
                old_inputs=to_struct(unwrap(res.inputs)),
                ignoreChanges=ignore,
                name=res.name,
                type=res.type,
            )
        )

    def call_create(self, urn: str, type_: str, inputs: Props, aso: list[str]) -> tuple[str, Props]:
        resp = self._stub().Create(
            provider_pb2.CreateRequest(
                urn=urn,
                properties=to_struct(unwrap(inputs)),
                preview=False,
                name=urn.rsplit("::", 1)[-1],
                type=type_,
            )
        )
        if not resp.id:
            raise StepFailed(f"provider did not return an ID from Create for {urn}")
        outputs = remark_secrets(from_struct(resp.properties), inputs)
        return resp.id, apply_additional_secret_outputs(outputs, aso)

    def call_update(self, old: st.ResourceState, news: Props, ignore: list[str], aso: list[str]) -> Props:
        resp = self._stub().Update(
            provider_pb2.UpdateRequest(
                id=old.id,
                urn=old.urn,
                olds=to_struct(unwrap(old.outputs)),
                news=to_struct(unwrap(news)),
                old_inputs=to_struct(unwrap(old.inputs)),
                ignoreChanges=ignore,
                preview=False,
                name=old.name,
                type=old.type,
            )
        )
        outputs = remark_secrets(from_struct(resp.properties), news)
        return apply_additional_secret_outputs(outputs, aso)

    def call_delete(self, res: st.ResourceState) -> None:
        self._stub().Delete(
            provider_pb2.DeleteRequest(
                id=res.id,
                urn=res.urn,
                properties=to_struct(unwrap(res.outputs)),
                old_inputs=to_struct(unwrap(res.inputs)),
                name=res.name,
                type=res.type,
            )
        )

    # -- RegisterResource ----------------------------------------------------------------------------------

    def register(self, req: Any, engine_address: str) -> resource_pb2.RegisterResourceResponse:
        type_, name, parent, custom = req.type, req.name, req.parent, req.custom
        urn = self.make_urn(type_, name, parent)
        with self.lock:
            if urn in self.registered:
                self.fail(f"Duplicate resource URN '{urn}'; try giving it a unique name", urn)
                raise StepFailed(f"Duplicate resource URN '{urn}'")
            self.registered.add(urn)
        news = from_struct(req.object)
        old = self.old_by_urn.get(urn)
        if old is None:
            for alias in req.aliasURNs:
                if alias in self.old_by_urn and alias not in self.registered:
                    old = self.old_by_urn[alias]
                    with self.lock:
                        self.registered.add(alias)
                    break
        if type_ == st.STACK_TYPE and not parent:
            self.root_urn = urn
        fail = resource_pb2.RegisterResourceResponse(urn=urn, result=resource_pb2.Result.FAIL)
        if self.failed:
            return fail
        if not custom:
            return self._register_component(req, urn, news, old)
        if type_.split(":")[0] != DYNAMIC_PACKAGE:
            self.fail(f"tests/engine drives only dynamic providers (pulumi-python), not {type_}", urn)
            return fail
        try:
            return self._register_custom(req, urn, news, old, engine_address)
        except StepFailed as exc:
            self.fail(str(exc), urn)
            return fail
        except grpc.RpcError as exc:
            self.fail(f"{urn}: {_grpc_message(exc)}", urn)
            return fail
        except EngineError as exc:
            self.fail(str(exc), urn)
            return fail

    def _common_state(self, req: Any, urn: str, old: st.ResourceState | None) -> st.ResourceState:
        ts = st.now()
        return st.ResourceState(
            urn=urn,
            custom=req.custom,
            type=req.type,
            parent=req.parent,
            dependencies=list(req.dependencies),
            property_dependencies={k: list(v.urns) for k, v in req.propertyDependencies.items()},
            protect=req.protect,
            retain_on_delete=bool(req.retainOnDelete),
            ignore_changes=list(req.ignoreChanges),
            additional_secret_outputs=list(req.additionalSecretOutputs),
            replace_on_changes=list(req.replaceOnChanges),
            deleted_with=req.deletedWith,
            created=old.created if old is not None and old.created else ts,
            modified=ts,
        )

    def _register_component(
        self, req: Any, urn: str, news: Props, old: st.ResourceState | None
    ) -> resource_pb2.RegisterResourceResponse:
        new = self._common_state(req, urn, old)
        new.inputs = news
        if old is None:
            op = "create"
        elif equal(old.inputs, news):
            op = "same"
            new.outputs = old.outputs
            new.modified = old.modified
        else:
            op = "update"
            new.outputs = old.outputs
        if not self.targeted(urn) and old is not None:
            op, new = "same", old
        if self.targeted(urn) or old is not None:
            self._replace_entry(old, new)
            self.save()
        self.record(Step(op, urn, req.type, False, old=old, new=new, diff_reasons=_diff_keys(old, new)))
        return resource_pb2.RegisterResourceResponse(urn=urn, object=to_struct(news))

    def _register_custom(
        self, req: Any, urn: str, news: Props, old: st.ResourceState | None, engine_address: str
    ) -> resource_pb2.RegisterResourceResponse:
        provider_ref = self.ensure_default_provider(engine_address)
        new = self._common_state(req, urn, old)
        new.provider = provider_ref
        ignore = list(req.ignoreChanges)
        aso = list(req.additionalSecretOutputs)

        if not self.targeted(urn):
            # Untargeted: an existing resource keeps its old state untouched; a new one is not created.
            if old is not None:
                self.record(Step("same", urn, req.type, True, old=old, new=old))
                return resource_pb2.RegisterResourceResponse(
                    urn=urn, id=old.id, object=to_struct(old.outputs)
                )
            return resource_pb2.RegisterResourceResponse(urn=urn, id="", object=to_struct(news))

        if old is not None and old.pending_replacement:
            # Deleted by an interrupted delete-before-replace: only a create is left to do.
            checked = self.call_check(urn, {}, news)
            return self._create(req, urn, checked, new, old, "create", [], None)

        # §2.2 step 2: ignoreChanges copies old input values into the new inputs, before Check.
        if old is not None and ignore:
            news = dict(news)
            for key in ignore:
                top = key.split(".")[0].split("[")[0]
                if top in old.inputs:
                    news[top] = old.inputs[top]
                else:
                    news.pop(top, None)

        checked = self.call_check(urn, old.inputs if old is not None else {}, news)
        if old is None:
            return self._create(req, urn, checked, new, None, "create", [], None)

        diff = self.call_diff(old, checked, ignore)
        # Displayed diff keys: input keys whose new value differs from the recorded output (so drift shows),
        # or that were added/removed. Output-only keys are not inputs and never listed.
        keys = sorted(
            k
            for k in set(checked) | set(old.inputs)
            if k != PROVIDER_KEY
            and (k not in checked or k not in old.outputs or not equal(old.outputs[k], checked[k]))
        )
        if diff.changes == DIFF_UNKNOWN:
            input_changes = changed_keys(old.inputs, checked, ignore=tuple(ignore))
            changes = DIFF_SOME if input_changes else DIFF_NONE
            keys = [k for k in input_changes if k != PROVIDER_KEY] or input_changes
            replaces = [k for k in req.replaceOnChanges if k in input_changes or k == "*"]
            if "*" in replaces:
                replaces = input_changes
        else:
            changes = diff.changes
            replaces = list(diff.replaces)
            keys = list(diff.diffs) or keys or list(replaces)
        if changes == DIFF_NONE:
            new.inputs = checked
            new.id = old.id
            new.outputs = old.outputs
            new.modified = old.modified
            self._replace_entry(old, new)
            self.save()
            self.record(Step("same", urn, req.type, True, old=old, new=new))
            return resource_pb2.RegisterResourceResponse(urn=urn, id=old.id, object=to_struct(old.outputs))

        if not replaces:
            new.inputs = checked
            new.id = old.id
            if self.dry_run:
                new.outputs = checked
                self.record(Step("update", urn, req.type, True, old=old, new=new, diff_reasons=keys))
                return resource_pb2.RegisterResourceResponse(urn=urn, id=old.id, object=to_struct(checked))
            try:
                new.outputs = self.call_update(old, checked, ignore, aso)
            except grpc.RpcError as exc:
                self.record(
                    Step(
                        "update",
                        urn,
                        req.type,
                        True,
                        old=old,
                        new=new,
                        diff_reasons=keys,
                        status="failed",
                        error=_grpc_message(exc),
                    )
                )
                raise StepFailed(f"updating {urn}: {_grpc_message(exc)}") from None
            self._replace_entry(old, new)
            self.save()
            self.record(Step("update", urn, req.type, True, old=old, new=new, diff_reasons=keys))
            return resource_pb2.RegisterResourceResponse(urn=urn, id=new.id, object=to_struct(new.outputs))

        # Replacement (§2.4).
        if old.protect and req.protect:
            raise StepFailed(
                f'unable to replace resource "{urn}"\nas it is currently marked for protection. To unprotect '
                "the resource, remove the `protect` flag from the resource in your Pulumi program and run "
                "`pulumi up`"
            )
        dbr = req.deleteBeforeReplace if req.deleteBeforeReplaceDefined else diff.deleteBeforeReplace
        checked = self.call_check(urn, {}, news)
        return self._create(req, urn, checked, new, old, "replace", keys, (replaces, bool(dbr)))

    def _create(
        self,
        req: Any,
        urn: str,
        checked: Props,
        new: st.ResourceState,
        old: st.ResourceState | None,
        op: str,
        keys: list[str],
        replace: tuple[list[str], bool] | None,
    ) -> resource_pb2.RegisterResourceResponse:
        replaces, dbr = replace if replace else ([], None)
        new.inputs = checked
        step = Step(
            op,
            urn,
            req.type,
            True,
            old=old,
            new=new,
            diff_reasons=keys,
            replace_reasons=replaces,
            delete_before_replace=dbr,
        )
        if self.dry_run:
            new.outputs = checked
            self.record(step)
            return resource_pb2.RegisterResourceResponse(urn=urn, id="", object=to_struct(checked))
        pending_deleted = old is not None and old.pending_replacement
        if replace and dbr and old is not None:
            try:
                self.call_delete(old)
            except grpc.RpcError as exc:
                step.status, step.error = "failed", _grpc_message(exc)
                self.record(step)
                raise StepFailed(f"deleting {urn} (delete-before-replace): {_grpc_message(exc)}") from None
            old.pending_replacement = True
            pending_deleted = True
            self.save()
        try:
            new.id, new.outputs = self.call_create(urn, req.type, checked, list(req.additionalSecretOutputs))
        except grpc.RpcError as exc:
            step.status, step.error = "failed", _grpc_message(exc)
            self.record(step)
            raise StepFailed(f"creating {urn}: {_grpc_message(exc)}") from None
        new.created = new.modified = st.now()
        if old is not None and not pending_deleted:
            # Create-before-delete: the old one stays in state marked for deletion after the program.
            old.delete = True
            self._replace_entry(None, new)
        else:
            self._replace_entry(old, new)
        self.save()
        self.record(step)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=new.id, object=to_struct(new.outputs))

    def register_outputs(self, urn: str, outputs: Props) -> None:
        with self.lock:
            for r in self.resources:
                if r.urn == urn and not r.delete:
                    r.outputs = outputs
            if urn == self.root_urn:
                self.stack_outputs = outputs
        self.save()

    # -- deletes (§2.5) --------------------------------------------------------------------------------------

    def delete_phase(self, victims: list[st.ResourceState], engine_address: str) -> None:
        if not victims:
            return
        victim_urns = {v.urn for v in victims}
        pending = list(victims)
        while pending and not self.failed:
            # An antichain: every victim no other pending victim depends on. Each batch finishes first.
            batch = [v for v in pending if not any(w is not v and v.urn in w.edges() for w in pending)]
            batch = batch or list(pending)
            with futures.ThreadPoolExecutor(max_workers=max(1, self.parallel)) as pool:
                list(pool.map(lambda v: self._delete_one(v, victim_urns, engine_address), batch))
            pending = [v for v in pending if all(v is not b for b in batch)]

    def _delete_one(self, res: st.ResourceState, victim_urns: set[str], engine_address: str) -> None:
        # The old half of a create-before-delete replacement is the CLI's "delete-replaced" (not counted).
        step = Step("delete-replaced" if res.delete else "delete", res.urn, res.type, res.custom, old=res)
        internal = res.is_provider
        if res.protect and not res.delete:
            msg = (
                f'resource "{res.urn}" cannot be deleted\nbecause it is protected. To unprotect the '
                "resource, remove the `protect` flag from the resource in your Pulumi program and run "
                "`pulumi up`"
            )
            self.fail(msg, res.urn)
            step.status, step.error = "failed", msg
            self.record(step)
            return
        call = (
            res.custom
            and not internal
            and not self.dry_run
            and not res.retain_on_delete
            and not res.pending_replacement
            and not (res.deleted_with and res.deleted_with in victim_urns)
        )
        if call:
            try:
                self.ensure_default_provider(engine_address, from_state=self._provider_ref is None)
                self.call_delete(res)
            except grpc.RpcError as exc:
                step.status, step.error = "failed", _grpc_message(exc)
                self.record(step)
                self.fail(f"deleting {res.urn}: {_grpc_message(exc)}", res.urn)
                return
        if not self.dry_run:
            self._replace_entry(res, None)
            self.save()
        if not internal:
            self.record(step)

    # -- refresh (§3.1) --------------------------------------------------------------------------------------

    def refresh_phase(self, engine_address: str) -> None:
        todo = [r for r in self.resources if r.custom and not r.is_provider and not r.pending_replacement]
        todo = [r for r in todo if self.targeted(r.urn)]
        if not todo:
            return
        self.ensure_default_provider(engine_address, from_state=True)
        with futures.ThreadPoolExecutor(max_workers=max(1, self.parallel)) as pool:
            list(pool.map(self._refresh_one, todo))
        self.save()

    def _refresh_one(self, res: st.ResourceState) -> None:
        step = Step("refresh", res.urn, res.type, True, old=res)
        try:
            resp = self._stub().Read(
                provider_pb2.ReadRequest(
                    id=res.id,
                    urn=res.urn,
                    properties=to_struct(unwrap(res.outputs)),
                    inputs=to_struct(unwrap(res.inputs)),
                    name=res.name,
                    type=res.type,
                )
            )
        except grpc.RpcError as exc:
            step.status, step.error = "failed", _grpc_message(exc)
            self.record(step, refresh=True)
            self.fail(f"refreshing {res.urn}: {_grpc_message(exc)}", res.urn)
            return
        if not resp.id:
            step.refresh_result = "delete"
            with self.lock:
                self._replace_entry(res, None)
                if self.old_by_urn.get(res.urn) is res:
                    del self.old_by_urn[res.urn]
            self.record(step, refresh=True)
            return
        outputs = remark_secrets(from_struct(resp.properties), res.outputs)
        outputs = apply_additional_secret_outputs(outputs, res.additional_secret_outputs)
        read_inputs = from_struct(resp.inputs) if resp.HasField("inputs") else {}
        inputs = remark_secrets(read_inputs, res.inputs) if read_inputs else res.inputs
        new = st.ResourceState(**{**res.__dict__})
        new.id, new.outputs, new.inputs = resp.id, outputs, inputs
        try:
            diff = self._stub().Diff(
                provider_pb2.DiffRequest(
                    id=new.id,
                    urn=res.urn,
                    olds=to_struct(unwrap(outputs)),
                    news=to_struct(unwrap(res.inputs)),
                    old_inputs=to_struct(unwrap(inputs)),
                    ignoreChanges=res.ignore_changes,
                    name=res.name,
                    type=res.type,
                )
            )
            changes = diff.changes
        except grpc.RpcError as exc:
            step.status, step.error = "failed", _grpc_message(exc)
            self.record(step, refresh=True)
            self.fail(f"refreshing {res.urn}: {_grpc_message(exc)}", res.urn)
            return
        if changes == DIFF_UNKNOWN:
            changes = DIFF_NONE if equal(inputs, res.inputs) else DIFF_SOME
        step.refresh_result = "same" if changes == DIFF_NONE else "update"
        step.diff_reasons = changed_keys(res.outputs, outputs, ignore=(PROVIDER_KEY,))
        step.new = new
        if step.refresh_result == "update":
            new.modified = st.now()
        with self.lock:
            self._replace_entry(res, new)
            if self.old_by_urn.get(res.urn) is res:
                self.old_by_urn[res.urn] = new
        self.record(step, refresh=True)

    # -- the program (language host role) --------------------------------------------------------------------

    def run_program(self, address: str) -> int:
        values, secret_keys = program_config(self.config)
        env = dict(self.env)
        env["PULUMI_CONFIG"] = json.dumps(values, separators=(",", ":"))
        env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(secret_keys, separators=(",", ":"))
        venv = self.project.venv_dir()
        if venv is not None and venv.exists():
            env["VIRTUAL_ENV"] = str(venv)
            env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
            env.pop("PYTHONHOME", None)
        argv = [
            self.project.python(),
            str(LANGHOST_EXEC),
            "--monitor", address,
            "--engine", address,
            "--project", self.project.name,
            "--root_directory", str(self.project.dir),
            "--stack", self.stack,
            "--pwd", str(self.project.main),
            "--dry_run", "true" if self.dry_run else "false",
            "--parallel", str(self.parallel),
            "--organization", "organization",
            ".",
        ]  # fmt: skip
        proc = subprocess.run(argv, cwd=self.project.main, env=env, capture_output=True, check=False)
        stack = self.root_urn or self.stack_urn()
        for line in proc.stdout.decode(errors="replace").splitlines():
            self.log("info", line, stack)
        for line in proc.stderr.decode(errors="replace").splitlines():
            self.log("info#err", line, stack)
        return proc.returncode


# --------------------------------------------------------------------------------------------- gRPC services


class _Monitor(resource_pb2_grpc.ResourceMonitorServicer):
    def __init__(self, dep: Deployment, address: Callable[[], str]) -> None:
        self.dep = dep
        self.address = address

    def SupportsFeature(self, request: Any, context: Any) -> Any:
        return resource_pb2.SupportsFeatureResponse(hasSupport=request.id in LEGACY_FEATURES)

    def GetDeploymentInfo(self, request: Any, context: Any) -> Any:
        values, secret_keys = program_config(self.dep.config)
        return resource_pb2.DeploymentInfo(
            project=self.dep.project.name,
            stack=self.dep.stack,
            organization="organization",
            config=values,
            configSecretKeys=secret_keys,
            dryRun=self.dep.dry_run,
            parallel=self.dep.parallel,
            supportedFeatures=SUPPORTED_FEATURES,
        )

    def RegisterResource(self, request: Any, context: Any) -> Any:
        try:
            return self.dep.register(request, self.address())
        except StepFailed as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except Exception as exc:  # noqa: BLE001 - surfaced to the program and recorded as a failure
            self.dep.fail(f"internal error registering {request.type} {request.name}: {exc!r}")
            context.abort(grpc.StatusCode.INTERNAL, repr(exc))

    def RegisterResourceOutputs(self, request: Any, context: Any) -> Any:
        self.dep.register_outputs(request.urn, from_struct(request.outputs))
        return empty_pb2.Empty()

    def SignalAndWaitForShutdown(self, request: Any, context: Any) -> Any:
        return empty_pb2.Empty()

    def ReadResource(self, request: Any, context: Any) -> Any:
        context.abort(
            grpc.StatusCode.UNIMPLEMENTED, "tests/engine does not implement ReadResource (Resource.get)"
        )

    def Invoke(self, request: Any, context: Any) -> Any:
        context.abort(
            grpc.StatusCode.UNIMPLEMENTED, f"tests/engine does not implement Invoke ({request.tok})"
        )


class _Engine(engine_pb2_grpc.EngineServicer):
    SEVERITY = {0: "debug", 1: "info", 2: "warning", 3: "error"}

    def __init__(self, dep: Deployment) -> None:
        self.dep = dep

    def Log(self, request: Any, context: Any) -> Any:
        severity = self.SEVERITY.get(request.severity, "info")
        if severity == "error":
            self.dep.fail(request.message, request.urn)
        elif severity != "debug":
            self.dep.log(severity, request.message, request.urn)
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.GetRootResourceResponse(urn=self.dep.root_urn)

    def SetRootResource(self, request: Any, context: Any) -> Any:
        self.dep.root_urn = request.urn
        return engine_pb2.SetRootResourceResponse()


def serve(dep: Deployment) -> tuple[grpc.Server, str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=64))
    holder: dict[str, str] = {}
    resource_pb2_grpc.add_ResourceMonitorServicer_to_server(_Monitor(dep, lambda: holder["a"]), server)
    engine_pb2_grpc.add_EngineServicer_to_server(_Engine(dep), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    holder["a"] = f"127.0.0.1:{port}"
    return server, holder["a"]


def _diff_keys(old: st.ResourceState | None, new: st.ResourceState | None) -> list[str]:
    if old is None or new is None:
        return []
    return changed_keys(old.inputs, new.inputs, ignore=(PROVIDER_KEY,))


def run_deployment(dep: Deployment) -> None:
    """Drive one operation to completion. Errors are recorded on ``dep`` (``dep.failed``)."""
    server, address = serve(dep)
    try:
        if dep.kind in ("update", "preview"):
            if dep.opts.refresh:
                dep.refresh_phase(address)
                dep.close_host()  # the refresh is its own engine pass with the provider configured from state
                dep._provider_ref = None
                if not dep.failed and not dep.dry_run:
                    dep.save()
            if dep.failed:
                return
            # Start the host while the program boots (it imports no project code until a Check arrives).
            starter = threading.Thread(target=_quiet(dep.start_host), args=(address,), daemon=True)
            starter.start()
            code = dep.run_program(address)
            starter.join()
            if code != 0 and not dep.failed:
                dep.fail(
                    "an unhandled error occurred: Program exited with non-zero exit code: " + str(code),
                    dep.root_urn or dep.stack_urn(),
                )
            if dep.failed:
                return
            victims = [
                r
                for r in dep.resources
                if (r.delete or r.urn not in dep.registered) and (dep.targeted(r.urn) or r.delete)
            ]
            if dep.opts.targets:
                victims = [v for v in victims if not v.is_provider]
            dep.delete_phase(victims, address)
        elif dep.kind == "refresh":
            dep.refresh_phase(address)
        elif dep.kind == "destroy":
            victims = [r for r in dep.resources if dep.targeted(r.urn) or (not dep.opts.targets)]
            dep.delete_phase(victims, address)
    except EngineError as exc:
        dep.fail(str(exc))
    finally:
        dep.close_host()
        server.stop(0)


def _quiet(fn: Callable[[str], Any]) -> Callable[[str], None]:
    def run(address: str) -> None:
        try:
            fn(address)
        except EngineError as exc:
            print(f"warning: {exc}", file=sys.stderr)

    return run
