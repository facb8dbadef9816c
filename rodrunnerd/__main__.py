"""``python -m rodrunnerd``."""

from rodrunnerd.cli import main

raise SystemExit(main())
