"""Numbers the reliability tests measured, for docs/reliability.md.

With ``RODRUNNER_RELIABILITY_REPORT=FILE`` each scenario appends one JSON line to FILE:
its name, the scale, the machine and what it counted. Without it nothing is written.
"""

from __future__ import annotations

import json
import os
import platform
import time
from typing import Any

from tests.reliability.harness import SCALE


def record(scenario: str, **numbers: Any) -> None:
    """Append ``numbers`` for ``scenario`` to the report file (if one is configured)."""
    target = os.environ.get("RODRUNNER_RELIABILITY_REPORT")
    if not target:
        return
    line = {
        "scenario": scenario,
        "scale": SCALE.name,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **numbers,
    }
    with open(target, "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")
