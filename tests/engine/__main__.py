"""Entry point: ``python -m tests.engine <command> --stack NAME ...`` (see tests/engine/README.md)."""

import sys

from .cli import main

sys.exit(main())
