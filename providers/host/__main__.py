"""``python -m providers.host``: run the SDK's dynamic-provider host (``python -m pulumi.dynamic``) with
``WORKERS`` threads; see providers/host/__init__.py."""

from __future__ import annotations

import runpy

import grpc

from providers.host import wide_server


def main() -> None:
    grpc.server = wide_server
    runpy.run_module("pulumi.dynamic", run_name="__main__", alter_sys=True)


if __name__ == "__main__":  # imported (a walk of the package), it serves nothing
    main()
