"""``python -m ops.audit``: the audit command (ops/audit/cli.py)."""

import sys

from ops.audit.cli import main

sys.exit(main(sys.argv[1:]))
