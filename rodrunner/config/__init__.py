"""Configuration: one :class:`AppConfig`, read once by the entry points (:func:`get_config`).

Sources, strongest first: environment ``RODRUNNER_<SECTION>__<KEY>``, then the YAML file
(``--config F``, else ``$RODRUNNER_CONFIG``, else ``./config.yaml``, else
``/etc/rodrunner/config.yaml``), then the defaults. Secrets are :class:`SecretStr`.

The documented names (:func:`get_config`, :class:`AppConfig` and its sections, ``__all__``)
are imported from ``rodrunner.config``; the rest from the one module that defines them:

- :mod:`.schema`: :class:`AppConfig` and its sections (keys, defaults, rules);
- :mod:`.loading`: :func:`get_config` (file search, YAML, relative paths, one line per wrong
  key), and a flow's ``config`` argument (``ConfigArgument``, ``load_config``);
- :mod:`.permissions`: the warning about a configuration file whose secrets others may read.
"""

from rodrunner.config.loading import get_config
from rodrunner.config.schema import (
    APIConfig,
    AppConfig,
    AuditConfig,
    DaemonConfig,
    IRODSConfig,
    LoggingConfig,
    NotificationsConfig,
    PrefectConfig,
    RetentionConfig,
    SequencerConfig,
    SequencerTypeConfig,
)

__all__ = [
    "APIConfig",
    "AppConfig",
    "AuditConfig",
    "DaemonConfig",
    "IRODSConfig",
    "LoggingConfig",
    "NotificationsConfig",
    "PrefectConfig",
    "RetentionConfig",
    "SequencerConfig",
    "SequencerTypeConfig",
    "get_config",
]
