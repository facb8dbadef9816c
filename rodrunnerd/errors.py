"""The rodrunnerd error tree.

Every error the daemon raises on purpose is a :class:`DaemonError`. Callers decide by the
branch, never by the message::

    DaemonError
    └── MetricsError                 the metrics endpoint cannot listen (daemon.metrics)

rodrunner's own tree (:mod:`rodrunner.errors`) stays separate. The ledger's errors live there
(``rodrunner.errors.LedgerError`` and below), since the ledger is rodrunner's; so do the
submission errors (the Prefect door, :mod:`rodrunner.flowruns`, serves the daemon and the API).
"""

from __future__ import annotations


class DaemonError(Exception):
    """Base of every error rodrunnerd raises on purpose."""


class MetricsError(DaemonError):
    """The metrics endpoint cannot listen where ``daemon.metrics`` says."""
