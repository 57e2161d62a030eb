"""``python -m tests.engine``: the CLI surface (up, preview, refresh, destroy, config, stack)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from . import state as st
from .deploy import Deployment, Options, Step, run_deployment
from .display import TITLE, change_summary, has_changes, human_summary, result_json, step_line
from .values import display, is_secret
from .workspace import EngineError, Project, StackFile, find_project

EXIT_NO_CHANGES = 7
EXIT_STACK_NOT_FOUND = 6


def _common(p: argparse.ArgumentParser, nested: bool = False) -> None:
    # Flags may come before or after a nested subcommand: `config -s s set k v` or `config set k v -s s`.
    kw: dict[str, Any] = {"default": argparse.SUPPRESS} if nested else {}
    p.add_argument("-s", "--stack", **({"default": None} | kw))
    p.add_argument("-C", "--cwd", **({"default": None} | kw))
    p.add_argument("--non-interactive", action="store_true", **kw)
    p.add_argument("--color", **({"default": None} | kw))
    p.add_argument("--emoji", action="store_true", **kw)


def _op_flags(p: argparse.ArgumentParser, *, program: bool) -> None:
    p.add_argument("-y", "--yes", action="store_true")
    p.add_argument("-f", "--skip-preview", action="store_true")
    p.add_argument("--diff", action="store_true")
    p.add_argument("-j", "--json", action="store_true")
    p.add_argument("--expect-no-changes", action="store_true")
    p.add_argument("-t", "--target", action="append", default=[])
    p.add_argument("-p", "--parallel", type=int, default=0)
    p.add_argument("--show-secrets", action="store_true")
    p.add_argument("-m", "--message", default=None)
    p.add_argument("--suppress-outputs", action="store_true")
    p.add_argument("--suppress-progress", action="store_true")
    if program:
        p.add_argument("-r", "--refresh", nargs="?", const="true", default=None)
    else:
        p.add_argument("--preview-only", action="store_true")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.engine", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "update", "preview"):
        p = sub.add_parser(name)
        _common(p)
        _op_flags(p, program=True)
    for name in ("refresh", "destroy"):
        p = sub.add_parser(name)
        _common(p)
        _op_flags(p, program=False)

    cfg = sub.add_parser("config")
    _common(cfg)
    cfg.add_argument("--show-secrets", action="store_true")
    cfg.add_argument("-j", "--json", action="store_true")
    csub = cfg.add_subparsers(dest="config_command")
    cset = csub.add_parser("set")
    _common(cset, nested=True)
    cset.add_argument("key")
    cset.add_argument("value", nargs="?")
    cset.add_argument("--secret", action="store_true")
    cset.add_argument("--plaintext", action="store_true")
    cset.add_argument("--path", action="store_true")
    cget = csub.add_parser("get")
    _common(cget, nested=True)
    cget.add_argument("key")
    cget.add_argument("--path", action="store_true")
    cget.add_argument("-j", "--json", action="store_true")
    crm = csub.add_parser("rm")
    _common(crm, nested=True)
    crm.add_argument("key")
    crm.add_argument("--path", action="store_true")

    stk = sub.add_parser("stack")
    ssub = stk.add_subparsers(dest="stack_command", required=True)
    sinit = ssub.add_parser("init")
    _common(sinit)
    sinit.add_argument("--secrets-provider", default="passphrase")
    srm = ssub.add_parser("rm")
    _common(srm)
    srm.add_argument("-y", "--yes", action="store_true")
    srm.add_argument("-f", "--force", action="store_true")
    srm.add_argument("--preserve-config", action="store_true")
    sout = ssub.add_parser("output")
    _common(sout)
    sout.add_argument("name", nargs="?")
    sout.add_argument("-j", "--json", action="store_true")
    sout.add_argument("--show-secrets", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.stack:
        parser.error("the following arguments are required: -s/--stack")
    env = dict(os.environ)
    try:
        project = find_project(Path(args.cwd) if args.cwd else Path.cwd())
        if args.command in ("up", "update", "preview", "refresh", "destroy"):
            return _operation(args, project, env)
        if args.command == "config":
            return _config(args, project, env)
        if args.command == "stack":
            return _stack(args, project, env)
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 2


# ----------------------------------------------------------------------------------------------- operations


def _open(project: Project, stack: str, env: dict[str, str]) -> tuple[StackFile, dict[str, Any], Path]:
    path = project.checkpoint_path(env, stack)
    checkpoint = st.read_checkpoint(path)
    if checkpoint is None:
        raise EngineError(f"no stack named '{stack}' found", EXIT_STACK_NOT_FOUND)
    sf = StackFile(project, stack, env)
    if not sf.doc.get("encryptionsalt"):
        latest = checkpoint.get("checkpoint", {}).get("latest") or {}
        salt = (latest.get("secrets_providers") or {}).get("state", {}).get("salt")
        if salt:
            sf.doc["encryptionsalt"] = salt
            sf.save()
    return sf, checkpoint, path


def _operation(args: argparse.Namespace, project: Project, env: dict[str, str]) -> int:
    command = "update" if args.command == "up" else args.command
    opts = Options(
        yes=args.yes if command != "preview" else True,
        skip_preview=args.skip_preview,
        diff=args.diff,
        json=args.json,
        refresh=(getattr(args, "refresh", None) not in (None, "false")) or project.refresh_always,
        expect_no_changes=args.expect_no_changes,
        preview_only=getattr(args, "preview_only", False),
        targets=list(args.target),
        parallel=args.parallel,
        show_secrets=args.show_secrets,
    )
    if command in ("update", "refresh", "destroy") and not (
        opts.yes or opts.skip_preview or opts.preview_only
    ):
        raise EngineError(
            "--yes or --skip-preview or --preview-only must be passed in to proceed when running in "
            "non-interactive mode",
            2,
        )
    sf, checkpoint, path = _open(project, args.stack, env)
    crypter = sf.crypter(create=True)  # the CLI builds the passphrase secrets manager for every operation
    secrets_state = str(sf.doc["encryptionsalt"])
    latest = checkpoint.get("checkpoint", {}).get("latest") or {}
    old = [st.ResourceState.from_json(d, crypter.decrypt) for d in latest.get("resources") or []]
    config: dict[str, Any] = {}
    if command in ("update", "preview"):
        config = sf.config()
        sf.validate(config)

    passes: list[str]
    if command == "preview" or opts.preview_only:
        passes = ["preview" if command == "preview" else command]
    elif opts.skip_preview or command == "destroy":
        passes = [command]
    else:
        passes = ["preview", command]  # the CLI previews first, then performs the operation

    emitted: list[str] = []
    exit_code = 0
    results: list[dict[str, Any]] = []
    last: Deployment | None = None
    for kind in passes:
        preview_pass = kind == "preview" or opts.preview_only
        pass_kind = "preview" if (kind == "preview" and command in ("update", "preview")) else command
        pass_opts = Options(
            **{**opts.__dict__, "preview_only": preview_pass and command in ("refresh", "destroy")}
        )
        if not args.json:
            title = TITLE["preview"] if pass_kind == "preview" else TITLE[pass_kind]
            if preview_pass and command in ("refresh", "destroy"):
                title = f"Previewing {command}"
            print(f"{title} ({args.stack}):", flush=True)

        def emit(step: Step, dry: bool = preview_pass) -> None:
            if args.json:
                return
            if step.op == "same" and not opts.diff:
                return
            line = step_line(step, dry, opts.diff)
            emitted.append(line)
            print(line, flush=True)

        fresh = [st.ResourceState.from_json(r.to_json(lambda s: s), lambda s: s) for r in old]
        dep = Deployment(
            pass_kind,
            project,
            args.stack,
            env,
            pass_opts,
            sf,
            config,
            fresh,
            path,
            secrets_state,
            crypter.encrypt,
            emit,
        )
        if not dep.dry_run:
            st.backup_checkpoint(path)
        started = time.monotonic()
        run_deployment(dep)
        if not dep.dry_run and not dep.failed:
            dep.save()
        counted = change_summary(dep.refresh_steps if pass_kind == "refresh" else dep.steps)
        code = 1 if dep.failed else 0
        final = kind == passes[-1]
        if code == 0 and final and opts.expect_no_changes and has_changes(counted):
            code = EXIT_NO_CHANGES
        results.append(
            result_json(dep, pass_kind if not pass_opts.preview_only else f"{command}-preview", code, counted)
        )
        if not args.json:
            print("")
            print(human_summary(dep, counted))
            print(f"\nDuration: {time.monotonic() - started:.0f}s\n", flush=True)
            if dep.failed:
                for err in dep.errors:
                    print(f"error: {err}", file=sys.stderr)
        last = dep
        exit_code = code
        if dep.failed:
            break
    if exit_code == EXIT_NO_CHANGES and not args.json:
        op = {"update": "update", "preview": "preview", "refresh": "refresh", "destroy": "destroy"}[command]
        msg = (
            "no changes were expected but changes were proposed"
            if command == "preview"
            else (f"no changes were expected for {op} but changes were proposed")
        )
        print(f"error: {msg}", file=sys.stderr)
    if args.json:
        doc = results[-1] if results else {}
        if len(results) > 1:
            doc["preview"] = results[0]
        print(json.dumps(doc, indent=2))
    assert last is not None
    return exit_code


# ----------------------------------------------------------------------------------------------- config


def _config(args: argparse.Namespace, project: Project, env: dict[str, str]) -> int:
    sf = StackFile(project, args.stack, env)
    cmd = args.config_command
    if cmd == "set":
        value = args.value if args.value is not None else sys.stdin.read().rstrip("\n")
        sf.set(args.key, value, secret=args.secret, path=args.path)
        return 0
    if cmd == "get":
        value = sf.get(args.key, path=args.path)
        plain = display(value, show_secrets=True)
        if args.json:
            print(
                json.dumps(
                    {
                        "value": plain if isinstance(plain, str) else json.dumps(plain),
                        "objectValue": plain,
                        "secret": is_secret(value),
                    },
                    indent=2,
                )
            )
        else:
            print(plain if isinstance(plain, str) else json.dumps(plain))
        return 0
    if cmd == "rm":
        sf.remove(args.key, path=args.path)
        return 0
    # `config` alone: list the keys
    cfg = sf.config() if not any(_is_secure(v) for v in sf.raw_config.values()) or args.show_secrets else None
    if cfg is None:
        cfg = {sf.full_key(k): ("[secret]" if _is_secure(v) else v) for k, v in sf.raw_config.items()}
    shown = {k: display(v, args.show_secrets) for k, v in cfg.items()}
    if args.json:
        print(json.dumps(shown, indent=2))
    else:
        print("KEY  VALUE")
        for k in sorted(shown):
            v = shown[k]
            print(
                f"{k.split(':', 1)[1] if k.startswith(project.name + ':') else k}  "
                f"{v if isinstance(v, str) else json.dumps(v)}"
            )
    return 0


def _is_secure(value: Any) -> bool:
    if isinstance(value, dict):
        return set(value) == {"secure"} or any(_is_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_is_secure(v) for v in value)
    return False


# ----------------------------------------------------------------------------------------------- stack


def _stack(args: argparse.Namespace, project: Project, env: dict[str, str]) -> int:
    path = project.checkpoint_path(env, args.stack)
    cmd = args.stack_command
    if cmd == "init":
        if path.exists():
            raise EngineError(f"stack '{args.stack}' already exists", 1)
        sf = StackFile(project, args.stack, env)
        sf.crypter(create=True)
        st.write_checkpoint(path, args.stack, [], str(sf.doc["encryptionsalt"]), lambda s: s)
        print(f"Created stack '{args.stack}'")
        return 0
    if cmd == "rm":
        if not args.yes:
            raise EngineError("--yes must be passed in to proceed when running in non-interactive mode", 2)
        checkpoint = st.read_checkpoint(path)
        if checkpoint is None:
            raise EngineError(f"no stack named '{args.stack}' found", EXIT_STACK_NOT_FOUND)
        resources = (checkpoint.get("checkpoint", {}).get("latest") or {}).get("resources") or []
        if resources and not args.force:
            raise EngineError(
                f"'{args.stack}' still has resources; removal rejected. Possible actions:\n"
                "- Make sure that 'pulumi destroy' has been run before removing the stack\n"
                "- Use --force to remove the stack with resources",
                1,
            )
        path.unlink()
        bak = path.with_suffix(".json.bak")
        if bak.exists():
            bak.unlink()
        if not args.preserve_config and project.stack_file(args.stack).exists():
            project.stack_file(args.stack).unlink()
        print(f"Stack '{args.stack}' has been removed!")
        return 0
    if cmd == "output":
        checkpoint = st.read_checkpoint(path)
        if checkpoint is None:
            raise EngineError(f"no stack named '{args.stack}' found", EXIT_STACK_NOT_FOUND)
        sf = StackFile(project, args.stack, env)

        def decrypt(ciphertext: str) -> str:
            return sf.crypter(create=False).decrypt(ciphertext) if args.show_secrets else '"[secret]"'

        outputs: dict[str, Any] = {}
        for d in (checkpoint.get("checkpoint", {}).get("latest") or {}).get("resources") or []:
            if d.get("type") == st.STACK_TYPE and not d.get("parent"):
                outputs = st.ResourceState.from_json(d, decrypt).outputs
        shown = display(outputs, show_secrets=args.show_secrets)
        if args.name:
            if args.name not in shown:
                raise EngineError(f"current stack does not have output property '{args.name}'", 1)
            value = shown[args.name]
            if args.json:
                print(json.dumps(value, indent=2))
            else:
                print(value if isinstance(value, str) else json.dumps(value))
            return 0
        if args.json:
            print(json.dumps(shown, indent=2))
        else:
            print(f"Current stack outputs ({len(shown)}):")
            print("    OUTPUT  VALUE")
            for k in sorted(shown):
                v = shown[k]
                print(f"    {k}  {v if isinstance(v, str) else json.dumps(v)}")
        return 0
    return 2
