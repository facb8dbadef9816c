"""``python -m rodrunner``."""

from rodrunner.cli import main

raise SystemExit(main())
