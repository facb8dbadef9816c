"""The rodrunnerd error tree.

Every error the daemon raises on purpose is a :class:`DaemonError`. Callers decide by the
branch, never by the message::

    DaemonError
    ├── SubmissionError              a flow run could not be submitted or followed
    │   ├── TransientSubmissionError Prefect unreachable, time-out: retried with backoff
    │   └── PermanentSubmissionError no such deployment, rejected parameters: fail fast
    └── MetricsError                 the metrics endpoint cannot listen (daemon.metrics)

The submitter retries :class:`TransientSubmissionError` only. rodrunner's own tree
(:mod:`rodrunner.errors`) stays separate; the ledger's errors live there
(``rodrunner.errors.LedgerError`` and below), since the ledger is rodrunner's.
"""

from __future__ import annotations


class DaemonError(Exception):
    """Base of every error rodrunnerd raises on purpose."""


class SubmissionError(DaemonError):
    """A flow run could not be submitted or followed."""


class TransientSubmissionError(SubmissionError):
    """Prefect was unreachable or slow; the run waits in the ledger and is tried again."""


class PermanentSubmissionError(SubmissionError):
    """Submitting again will not help (unknown deployment, rejected parameters)."""


class MetricsError(DaemonError):
    """The metrics endpoint cannot listen where ``daemon.metrics`` says."""
