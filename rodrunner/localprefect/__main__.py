"""``python -m rodrunner.localprefect --dir D``: start the local Prefect server of ``D``."""

from rodrunner.localprefect.server import main

raise SystemExit(main())
