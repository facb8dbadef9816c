"""Whether a configuration file holding secrets (``irods.password``, ``api.token``,
``notifications.urls``) is readable by others, or by a group other than the reader's own:
:func:`secret_mode_problem` decides (pure), :func:`secret_file_warning` looks at the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rodrunner.config.loading import read_yaml
from rodrunner.errors import ConfigError


def _secrets_in(data: Mapping[str, Any]) -> list[str]:
    """The keys of a configuration file's data that hold a secret."""
    held = []
    for section, key in (("irods", "password"), ("api", "token"), ("notifications", "urls")):
        values = data.get(section)
        if isinstance(values, dict) and values.get(key) not in (None, "", []):
            held.append(f"{section}.{key}")
    return held


def secret_mode_problem(
    path: Path, mode: int, gid: int, own_gid: int, held: list[str]
) -> str | None:
    """Why a file holding the secrets ``held`` is too open (readable by others, or by a group
    other than the reader's own), or None. Pure."""
    if not held:
        return None
    others = bool(mode & 0o004)
    group = bool(mode & 0o040) and gid != own_gid
    if not (others or group):
        return None
    who = " and ".join(w for w, on in (("its group", group), ("all users", others)) if on)
    return (
        f"configuration file '{path}' holds secrets ({', '.join(held)}) and is readable by {who} "
        f"(mode {mode & 0o777:04o}); run `chmod 600 '{path}'` (or `chown root:rodrunner` and "
        "`chmod 640` for the service's group), or move the secrets to the environment "
        "(e.g. RODRUNNER_IRODS__PASSWORD)"
    )


def secret_file_warning(path: Path | None) -> str | None:
    """A warning when the configuration file ``path`` holds a secret that group or others may
    read (see :func:`secret_mode_problem`); None when it does not, or cannot be read."""
    if path is None:
        return None
    try:
        info = path.stat()
        data = read_yaml(path)
    except (OSError, ConfigError):
        return None
    return secret_mode_problem(path, info.st_mode, info.st_gid, os.getegid(), _secrets_in(data))
