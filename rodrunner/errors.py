"""The rodrunner error tree.

Every error the library raises on purpose is a :class:`RodrunnerError`. Callers decide what to
do by the branch, never by the message::

    RodrunnerError
    ├── ConfigError                  a configuration value is wrong (permanent)
    ├── RunFolderError               a run folder cannot be understood (permanent)
    │   ├── NotARunFolderError       no profile recognises the folder
    │   └── MetadataError            a metadata file is missing, malformed or hostile
    │       └── MetadataFileError    ... naming the file and the problem
    ├── PathError                    a path would climb out of where it must stay (permanent)
    ├── QueryValueError              a value cannot reach an iRODS query as a literal (permanent)
    ├── IRODSError                   anything iRODS said or failed to say
    │   ├── TransientIRODSError      network, time-outs, SYS_* load errors: retry
    │   └── PermanentIRODSError      never retried
    │       ├── AuthenticationError  wrong password, unknown user
    │       ├── PermissionDeniedError
    │       ├── ChecksumMismatchError
    │       └── NameClashError       an object or collection is in the way
    ├── IngestError                  an ingest could not finish
    │   ├── IngestVerificationError  a stored object differs from the local file
    │   ├── ManifestError            a stored run manifest cannot be read
    │   ├── ReplicaShortfallError    objects lack irods.min_replicas good replicas in time
    │   └── IngestConflictError      another folder owns the run's collection (held)
    ├── LedgerError                  the ledger cannot be read or written (permanent)
    │   ├── LedgerUnavailableError   no ledger at daemon.state_dir (the daemon never ran)
    │   ├── LedgerSchemaError        the file is from a newer rodrunner, or not a ledger
    │   ├── LedgerReadOnlyError      a write through a ledger opened read-only
    │   ├── LedgerLockedError        another rodrunnerd holds this state directory
    │   ├── UnknownRunError          no run of that name or folder is in the ledger
    │   └── RunConflictError         the request conflicts with the ledger's state
    │       ├── AmbiguousRunError    a run id names several run folders: use the folder
    │       ├── IllegalTransitionError a state change the transition table forbids
    │       └── LedgerBusyError      another process kept the ledger locked: try again
    └── WorkflowError                a workflow cannot be started or followed
        ├── UnknownWorkflowError     no workflow of that name, no flow run of that id
        │   └── NotInPrefectError    Prefect has no such deployment or flow run (permanent)
        ├── PrefectUnavailableError  Prefect unreachable, overloaded, time-out (may pass: retried)
        └── PrefectRefusedError      Prefect refused the request (permanent: fail fast)

``is_transient(exc)`` is the only predicate retry policies use.
"""

from __future__ import annotations


class RodrunnerError(Exception):
    """Base of every error rodrunner raises on purpose."""


class ConfigError(RodrunnerError):
    """A configuration value is wrong; the message names the key, the value and the fix."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class RunFolderError(RodrunnerError):
    """A run folder cannot be understood."""


class NotARunFolderError(RunFolderError):
    """No sequencer profile recognises the folder."""


class MetadataError(RunFolderError):
    """Run metadata is missing, malformed or hostile."""


class MetadataFileError(MetadataError):
    """One metadata file is unreadable; ``path`` names it and ``problem`` says why."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class PathError(RodrunnerError):
    """A path would climb out of the place it must stay in."""


class QueryValueError(RodrunnerError):
    """A key, value or path cannot be put into an iRODS query as one literal; the message names
    it and why (see :mod:`rodrunner.irods.genquery_literal`)."""


class IRODSError(RodrunnerError):
    """iRODS refused or failed; ``code`` and ``name`` are the server's error when known."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        code: int | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.code = code
        self.name = name


class TransientIRODSError(IRODSError):
    """A failure that may pass: network, time-out, server load. Retried."""


class PermanentIRODSError(IRODSError):
    """A failure that will not pass by trying again. Never retried."""


class AuthenticationError(PermanentIRODSError):
    """iRODS refused the credentials."""


class PermissionDeniedError(PermanentIRODSError):
    """iRODS refused access to a path."""


class ChecksumMismatchError(PermanentIRODSError):
    """The server's checksum differs from the local one."""


class NameClashError(PermanentIRODSError):
    """An object or collection of that name is in the way."""


class IngestError(RodrunnerError):
    """An ingest could not finish."""


class IngestVerificationError(IngestError):
    """A stored object differs from its local file."""


class ManifestError(IngestError):
    """A stored run manifest (``rodrunner.manifest.json``) cannot be read."""


class ReplicaShortfallError(IngestError):
    """Objects still lack ``irods.min_replicas`` good replicas after ``irods.replica_wait``."""


class IngestConflictError(IngestError):
    """The run's collection came from another run folder: nothing is changed in iRODS until an
    operator decides (``rodrunner ingest RUN --replace`` or ``--suffix``)."""


class LedgerError(RodrunnerError):
    """The ledger cannot be read or written; the message names the file and the fix."""


class LedgerUnavailableError(LedgerError):
    """There is no ledger at ``daemon.state_dir`` (the daemon never ran there)."""


class LedgerSchemaError(LedgerError):
    """The ledger file has a schema this rodrunner does not know, or is not a ledger."""


class LedgerReadOnlyError(LedgerError):
    """A write through a ledger opened read-only (``Ledger.open_read_only``)."""


class LedgerLockedError(LedgerError):
    """Another rodrunnerd holds the state directory's lock; the message names it (PID, host)."""


class UnknownRunError(LedgerError):
    """No run with that id or folder is in the ledger."""

    def __init__(self, run: str) -> None:
        super().__init__(
            f"no run '{run}' in the ledger; `rodrunnerd status` lists the known runs "
            "(by run folder or run id)"
        )
        self.run = run


class RunConflictError(LedgerError):
    """The request conflicts with the ledger's state (ambiguous, busy, or not allowed now)."""


class AmbiguousRunError(RunConflictError):
    """A run id is shared by several run folders."""

    def __init__(self, run: str, run_dirs: list[str]) -> None:
        listed = ", ".join(run_dirs)
        super().__init__(
            f"run id '{run}' names several run folders ({listed}); give the run folder instead"
        )
        self.run = run
        self.run_dirs = run_dirs


class IllegalTransitionError(RunConflictError):
    """A state change the transition table forbids; names the run and both states."""

    def __init__(
        self, run_dir: str, from_state: str, to_state: str, *, fix: str | None = None
    ) -> None:
        super().__init__(
            f"run '{run_dir}' cannot go from state '{from_state}' to '{to_state}'; "
            + (fix or "see rodrunner.ledger.states.ALLOWED_TRANSITIONS")
        )
        self.run_dir = run_dir
        self.from_state = from_state
        self.to_state = to_state


class LedgerBusyError(RunConflictError):
    """Another process kept the ledger locked longer than the busy timeout; it may pass."""


class WorkflowError(RodrunnerError):
    """A workflow cannot be started or followed."""


class UnknownWorkflowError(WorkflowError):
    """No workflow of that name, or no flow run of that id."""


class NotInPrefectError(UnknownWorkflowError):
    """Prefect has no such object; ``missing`` says which kind (``deployment``, ``flow run``).

    The one translation of Prefect's ``ObjectNotFound`` (:mod:`rodrunner.flowruns.prefect`).
    """

    def __init__(self, message: str, *, missing: str) -> None:
        super().__init__(message)
        self.missing = missing


class PrefectUnavailableError(WorkflowError):
    """The Prefect API cannot be reached, is overloaded or timed out; it may pass (retried)."""


class PrefectRefusedError(WorkflowError):
    """Prefect refused the request (a 4xx answer, parameters it does not take); never retried."""


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is worth retrying."""
    return isinstance(exc, TransientIRODSError)
