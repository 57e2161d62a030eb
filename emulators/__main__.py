"""Run a twin in the foreground: ``python -m emulators <vendor> --port N [--tls-dir D] [--data-dir D]``.

Vendors are the packages under emulators/ that export ``create_app`` (f5, citrix, kemp, winrm).
The stack-level launcher used by ``./run demo`` lives in ``emulators.launcher``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from emulators.common import ensure_tls, start_twin


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("start", "stop", "status"):
        from emulators import launcher

        return launcher.main(argv)
    parser = argparse.ArgumentParser(prog="python -m emulators", description=__doc__)
    parser.add_argument("vendor", help="f5, citrix, kemp or winrm")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls-dir", default=".twins/tls", help="where the local CA and server cert live")
    parser.add_argument("--data-dir", default=None, help="where the saved configuration is kept")
    parser.add_argument("--plain-http", action="store_true", help="serve HTTP (WinRM with encryption only)")
    parser.add_argument(
        "--nodes", default="", help="winrm: the node hostnames one twin serves, comma-separated"
    )
    parser.add_argument(
        "--allow-basic",
        action="store_true",
        help="winrm: accept Basic authentication (off by default, as on Windows)",
    )
    parser.add_argument(
        "--readback-form",
        choices=("uint32", "enum"),
        default=None,
        help="winrm: how Get-VpnServerConfiguration sends its enum values (default: uint32, as the MOF)",
    )
    args = parser.parse_args(argv)
    tls = None if args.plain_http else ensure_tls(Path(args.tls_dir))
    options: dict[str, Any] = {"data_dir": args.data_dir} if args.data_dir else {}
    if args.nodes:
        if args.vendor != "winrm":
            parser.error("--nodes is for the winrm twin only")
        options["nodes"] = [n for n in args.nodes.split(",") if n]
    for flag, key, value in (
        ("--allow-basic", "allow_basic", args.allow_basic or None),
        ("--readback-form", "readback_form", args.readback_form),
    ):
        if value is not None:
            if args.vendor != "winrm":
                parser.error(f"{flag} is for the winrm twin only")
            options[key] = value
    twin = start_twin(args.vendor, tls=tls, host=args.host, port=args.port, **options)
    print(f"{args.vendor} twin listening on {twin.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    twin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
