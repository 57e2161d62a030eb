"""tests/engine: a stand-in for the Pulumi CLI and engine, for this project's tests only.

Production and real pipelines use the real ``pulumi`` CLI; this package exists because the CLI (a Go
binary) cannot be installed on the project's machines. It plays the engine's part closely enough that a
program and its dynamic providers that pass through it should behave the same under the real CLI:

- ``python -m tests.engine up|preview|refresh|destroy|config|stack --stack NAME`` in the project directory
  (Pulumi.yaml, ``stackConfigDir``, ``backend.url``, env PULUMI_BACKEND_URL, default ``file://<project>``),
  with the CLI's flags and exit codes (0; 1 failure; 2 flags/config/no ``--yes``; 6 no such stack; 7
  ``--expect-no-changes`` violated). ``up`` previews first unless ``--skip-preview``, like the CLI.
- The program runs in a fresh interpreter per pass (the language host's job: the project venv's python,
  PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS, ``--monitor/--engine/--project/--stack/--dry_run/...``), and
  talks over gRPC to this package's ResourceMonitor and Engine services (the SDK's own protos).
- Dynamic providers run in the real host, ``python -u -m pulumi.dynamic``, in a separate process launched as
  the engine launches it (host.py), Configured with every stack config key; it is interrupted (SIGINT to its
  process group, SIGKILL after 5 s) at the end, as sdk/go/common/resource/plugin/plugin.go does.
- Step generation follows the engine (deploy.py): Check/Diff/Create/Update/Delete/Read with secrets stripped
  and re-marked, Same/Update/Replace, create-before-delete by default and delete-before-replace when the
  provider or the option says so, deletes after the program in reverse dependency order, refresh drift
  classification, preview without writes and with unknowns, failed steps keeping what completed.
- State is a checkpoint shaped like the local backend's (state.py), saved after every step; secrets are
  encrypted with Pulumi's passphrase scheme (crypto.py), compatible with stack files the CLI writes.

What it does not do is listed in tests/engine/README.md.
"""
