"""The program side of the Python language host (the role of the CLI's ``pulumi-language-python-exec``).

The real language host runs ``<venv python> pulumi-language-python-exec --monitor A --engine A --project P
--root_directory D --stack S --pwd D --dry_run true|false --parallel N --organization O <entry point>`` with
PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS in the environment. This script does the same job, written for
tests/engine: load config, configure the runtime Settings, chdir, run the program inside the root stack
with an
executor of ``parallel * 4`` threads, and exit 0, 1 (RunError, message logged) or 32 (unhandled exception,
traceback logged) as the real one does.

This file lives alone in its directory because a script's directory becomes ``sys.path[0]``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import runpy
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor

USER_ACTIONABLE_EXIT = 32


def main() -> int:
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)
    import pulumi
    import pulumi.runtime

    parser = argparse.ArgumentParser()
    for flag in ("project", "root_directory", "stack", "parallel", "dry_run", "pwd", "monitor", "engine"):
        parser.add_argument(f"--{flag}")
    parser.add_argument("--tracing")
    parser.add_argument("--organization")
    parser.add_argument("PROGRAM")
    parser.add_argument("ARGS", nargs="*")
    args = parser.parse_args()

    pulumi.runtime.set_all_config(
        pulumi.runtime.get_config_env(), pulumi.runtime.get_config_secret_keys_env()
    )
    settings = pulumi.runtime.Settings(
        monitor=args.monitor,
        engine=args.engine,
        project=args.project,
        stack=args.stack,
        parallel=int(args.parallel),
        dry_run=args.dry_run == "true",
        organization=args.organization,
        root_directory=args.root_directory,
    )
    pulumi.runtime.configure(settings)
    sys.argv = [args.PROGRAM, *args.ARGS]
    if args.pwd:
        os.chdir(args.pwd)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    executor = ThreadPoolExecutor(max_workers=max(int(args.parallel), 1) * 4)
    loop.set_default_executor(executor)
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)

    exit_code = 1
    try:

        def run() -> None:
            runpy.run_path(args.PROGRAM, run_name="__main__")

        loop.run_until_complete(pulumi.runtime.run_in_stack(run))
        exit_code = 0
    except pulumi.RunError as exc:
        pulumi.log.error(str(exc))
    except Exception:  # noqa: BLE001 - every program error is reported to the engine, as the real host does
        pulumi.log.error("Program failed with an unhandled exception:\n" + traceback.format_exc())
        exit_code = USER_ACTIONABLE_EXIT
    finally:
        executor.shutdown(wait=True)
        loop.close()
        sys.stdout.flush()
        sys.stderr.flush()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
