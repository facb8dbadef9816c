"""How to log in: python-irodsclient session settings from an ``IRODSConfig``.

``irods.host/port/zone/user/password``; or an iCommands ``irods_environment.json``
(``irods.env_file``: TLS and every other ``irods_*`` setting honoured; the password from
``irods.password``, else the ``.irodsA`` named by the environment, by
``$IRODS_AUTHENTICATION_FILE``, next to the environment file, or in ``~/.irods``). A
configuration naming ``irods.sandbox`` is for whoever starts that sandbox: it is refused here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from irods.password_obfuscation import decode as decode_irodsA

from rodrunner.config import IRODSConfig
from rodrunner.errors import AuthenticationError, ConfigError

__all__ = ["session_settings"]

_NEEDED = ("irods_host", "irods_port", "irods_user_name", "irods_zone_name")


def session_settings(config: IRODSConfig) -> dict[str, Any]:
    """The keyword arguments of a python-irodsclient session for ``config``."""
    timeout = {"connection_timeout": config.connection_timeout}
    if config.sandbox is not None:
        raise ConfigError(
            f"irods.sandbox is set ('{config.sandbox}'): the iRODS client does not start the "
            "sandbox; open it with rodrunner.connect.open_irods(config.irods), which starts "
            "the sandbox first, or unset irods.sandbox to reach a running server",
            key="irods.sandbox",
        )
    if config.env_file is not None:
        return _env_settings(config.env_file, config) | timeout
    if config.password is None:
        raise ConfigError(
            "irods.password is not set; set it (or RODRUNNER_IRODS__PASSWORD), or point "
            "irods.env_file at an irods_environment.json with an .irodsA from iinit",
            key="irods.password",
        )
    return {
        "host": config.host,
        "port": config.port,
        "zone": config.zone,
        "user": config.user,
        "password": config.password.get_secret_value(),
        **timeout,
    }


def _env_settings(env_file: Path, config: IRODSConfig) -> dict[str, Any]:
    try:
        env = json.loads(env_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"irods.env_file '{env_file}' does not exist; run iinit or fix the path",
            key="irods.env_file",
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"irods.env_file '{env_file}' is not a readable JSON file ({exc}); fix it",
            key="irods.env_file",
        ) from None
    if not isinstance(env, dict):
        raise ConfigError(
            f"irods.env_file '{env_file}' must hold a JSON object", key="irods.env_file"
        )
    missing = [k for k in _NEEDED if k not in env]
    if missing:
        raise ConfigError(
            f"irods.env_file '{env_file}' lacks {', '.join(missing)}; add them",
            key="irods.env_file",
        )
    if config.password is not None:
        password = config.password.get_secret_value()
    else:
        password = _read_irodsA(env_file, env)
    settings = {k: v for k, v in env.items() if k.startswith("irods_")}
    scheme = str(settings.get("irods_authentication_scheme", "native")).lower()
    if scheme != "native":
        # PRC's own env-file path handles PAM and the like (and its .irodsA conventions).
        return {"irods_env_file": str(env_file)}
    settings["password"] = password
    return settings


def _read_irodsA(env_file: Path, env: dict[str, Any]) -> str:
    """The password from the .irodsA that goes with ``env_file`` (see the module docstring)."""
    candidates = []
    if env.get("irods_authentication_file"):
        candidates.append(Path(str(env["irods_authentication_file"])).expanduser())
    if os.environ.get("IRODS_AUTHENTICATION_FILE"):
        candidates.append(Path(os.environ["IRODS_AUTHENTICATION_FILE"]))
    candidates += [env_file.parent / ".irodsA", Path("~/.irods/.irodsA").expanduser()]
    for candidate in candidates:
        try:
            text = candidate.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise ConfigError(
                f"iRODS password file '{candidate}' cannot be read: {exc.strerror}",
                key="irods.env_file",
            ) from None
        try:
            return str(decode_irodsA(text.rstrip("\n")))
        except Exception:
            raise AuthenticationError(
                f"iRODS password file '{candidate}' cannot be decoded; run iinit again",
                name="AUTH_FILE_NOT_ENCRYPTED",
            ) from None
    raise AuthenticationError(
        f"no .irodsA password file for '{env_file}' (looked in "
        f"{', '.join(str(c) for c in candidates)}); run iinit or set irods.password",
        name="AUTH_FILE_DOES_NOT_EXIST",
    )
