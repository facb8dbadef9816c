"""The rodrunnerd error tree.

Every error the daemon raises on purpose is a :class:`DaemonError`. Callers decide by the
branch, never by the message::

    DaemonError
    ├── LedgerError                  the ledger cannot be read or written (permanent)
    │   ├── LedgerSchemaError        the ledger file is from a newer rodrunnerd, or not ours
    │   ├── UnknownRunError          no run of that name or folder is in the ledger
    │   ├── AmbiguousRunError        a run id names several run folders: use the folder
    │   ├── IllegalTransitionError   a state change the transition table forbids
    │   └── LedgerLockedError        another rodrunnerd holds this state directory
    └── MetricsError                 the metrics endpoint cannot listen (daemon.metrics)

rodrunner's own tree (:mod:`rodrunner.errors`) stays separate; submission errors are
rodrunner's (the Prefect door, :mod:`rodrunner.flowruns`, serves the daemon and the API).
"""

from __future__ import annotations


class DaemonError(Exception):
    """Base of every error rodrunnerd raises on purpose."""


class LedgerError(DaemonError):
    """The ledger cannot be read or written; the message names the file and the fix."""


class LedgerSchemaError(LedgerError):
    """The ledger file has a schema this rodrunnerd does not know."""


class UnknownRunError(LedgerError):
    """No run with that id or folder is in the ledger."""

    def __init__(self, run: str) -> None:
        super().__init__(
            f"no run '{run}' in the ledger; `rodrunnerd status` lists the known runs "
            "(by run folder or run id)"
        )
        self.run = run


class AmbiguousRunError(LedgerError):
    """A run id is shared by several run folders."""

    def __init__(self, run: str, run_dirs: list[str]) -> None:
        listed = ", ".join(run_dirs)
        super().__init__(
            f"run id '{run}' names several run folders ({listed}); give the run folder instead"
        )
        self.run = run
        self.run_dirs = run_dirs


class IllegalTransitionError(LedgerError):
    """A state change the transition table forbids; names the run and both states."""

    def __init__(self, run_dir: str, from_state: str, to_state: str) -> None:
        super().__init__(
            f"run '{run_dir}' cannot go from state '{from_state}' to '{to_state}'; "
            "see rodrunnerd.states.ALLOWED_TRANSITIONS"
        )
        self.run_dir = run_dir
        self.from_state = from_state
        self.to_state = to_state


class LedgerLockedError(LedgerError):
    """Another rodrunnerd holds the state directory's lock; the message names it (PID, host)."""


class MetricsError(DaemonError):
    """The metrics endpoint cannot listen where ``daemon.metrics`` says."""
