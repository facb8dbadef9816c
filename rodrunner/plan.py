"""The ingest plan: where a run goes in iRODS and what it is tagged with.

Pure: values in, values out. No disk, no iRODS. The flow asks for a plan once it has parsed
the run's metadata and follows it step by step (see ``docs/ingest.md``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rodrunner import __version__
from rodrunner.config import AppConfig
from rodrunner.config.schema import DEFAULT_SKIP_FILE, DEFAULT_TRIGGER_FILE
from rodrunner.errors import PathError
from rodrunner.models import RunMetadata

AVU = tuple[str, str, str]

MANIFEST_NAME = "rodrunner.manifest.json"

STATUS_ATTR = "rodrunner::status"
INGESTED_AT_ATTR = "rodrunner::ingested_at"
FILES_ATTR = "rodrunner::files"
BYTES_ATTR = "rodrunner::bytes"
MANIFEST_SHA256_ATTR = "rodrunner::manifest_sha256"
VERSION_ATTR = "rodrunner::version"
VERIFIED_AT_ATTR = "rodrunner::verified_at"  # set by a passing `rodrunner verify --deep`
VERIFY_FAILED_AT_ATTR = "rodrunner::verify_failed_at"  # set by a failing one
SOURCE_HOST_ATTR = "rodrunner::source_host"
SOURCE_DIR_ATTR = "rodrunner::source_dir"
STATUS_ATTRIBUTES = (
    STATUS_ATTR,
    INGESTED_AT_ATTR,
    FILES_ATTR,
    BYTES_ATTR,
    MANIFEST_SHA256_ATTR,
    VERSION_ATTR,
    SOURCE_HOST_ATTR,
    SOURCE_DIR_ATTR,
)

STATUS_INGESTING = "ingesting"
STATUS_COMPLETE = "complete"

# Files rodrunner itself writes or reads in a run folder: never uploaded as run data.
KEEP_FILE = ".rodrunner-keep"
ALWAYS_EXCLUDED = (MANIFEST_NAME, DEFAULT_TRIGGER_FILE, DEFAULT_SKIP_FILE, KEEP_FILE)

_FORBIDDEN_CHARS = {"/": "'/'", "\x00": "a NUL byte", "\n": "a newline", "\r": "a carriage return"}


def check_name(what: str, value: str) -> str:
    """Return ``value`` if it is safe as one iRODS path component, else raise PathError.

    Safe means: not empty, not ``.`` or ``..``, no ``/``, NUL, newline or carriage return.
    """
    if not value or not value.strip():
        raise PathError(f"{what} is empty; a run collection needs a non-empty {what}")
    if value in (".", ".."):
        raise PathError(f"{what} {value!r} would climb out of the run collection; rename it")
    for char, label in _FORBIDDEN_CHARS.items():
        if char in value:
            raise PathError(
                f"{what} {value!r} contains {label}, which is not allowed in an iRODS "
                "collection name; rename the run folder or fix the metadata"
            )
    return value


def check_relative_path(rel: str) -> str:
    """Return ``rel`` if it is a relative path that stays inside its collection."""
    if not rel or rel.startswith("/"):
        raise PathError(f"path {rel!r} must be relative to the run folder")
    for part in rel.split("/"):
        if part in ("", ".", ".."):
            raise PathError(f"path {rel!r} would climb out of the run collection")
        if "\x00" in part or "\n" in part or "\r" in part:
            raise PathError(f"path {rel!r} contains a NUL, newline or carriage return")
    return rel


def collection_path(
    template: str, *, zone: str, user: str, sequencer_type: str, run_id: str
) -> str:
    """Fill the ``collection_template`` with checked components.

    Raises PathError when a component could escape the template's place, or when the
    template names a field other than {zone}, {user}, {sequencer_type}, {run_id}.
    """
    values = {
        "zone": check_name("zone", zone),
        "user": check_name("user", user),
        "sequencer_type": check_name("sequencer type", sequencer_type),
        "run_id": check_name("run id", run_id),
    }
    try:
        path = template.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise PathError(
            f"irods.collection_template {template!r} cannot be filled ({exc}); use only "
            "{zone}, {user}, {sequencer_type} and {run_id}"
        ) from None
    if not path.startswith("/"):
        raise PathError(f"irods.collection_template {template!r} must give an absolute path")
    parts = path.split("/")[1:]
    if any(p in ("", ".", "..") for p in parts):
        raise PathError(
            f"collection path {path!r} from irods.collection_template has an empty, '.' or '..' "
            "component; fix the template"
        )
    return path


def run_avus(metadata: RunMetadata, prefix: str = "") -> list[AVU]:
    """The run AVUs of DESIGN.md (from :meth:`RunMetadata.to_avus`), de-duplicated."""
    seen: set[AVU] = set()
    out: list[AVU] = []
    for avu in metadata.to_avus(prefix):
        if avu not in seen:
            seen.add(avu)
            out.append(avu)
    return out


def run_attributes(avus: Iterable[AVU]) -> set[str]:
    """The attribute names of ``avus`` (what an atomic replace removes first)."""
    return {a for a, _, _ in avus}


def status_avus(
    *,
    files: int,
    total_bytes: int,
    manifest_sha256: str,
    ingested_at: datetime | None = None,
    version: str = __version__,
) -> list[AVU]:
    """The status AVUs written after a verified upload, without ``rodrunner::status``."""
    when = (ingested_at or datetime.now(UTC)).astimezone(UTC)
    return [
        (INGESTED_AT_ATTR, when.isoformat(timespec="seconds").replace("+00:00", "Z"), ""),
        (FILES_ATTR, str(files), ""),
        (BYTES_ATTR, str(total_bytes), ""),
        (MANIFEST_SHA256_ATTR, manifest_sha256, ""),
        (VERSION_ATTR, version, ""),
    ]


def source_avus(host: str, run_dir: str) -> list[AVU]:
    """Where a collection came from: ``rodrunner::source_host`` and ``rodrunner::source_dir``."""
    return [(SOURCE_HOST_ATTR, host, ""), (SOURCE_DIR_ATTR, run_dir, "")]


def status_avu(status: str) -> AVU:
    """The ``rodrunner::status`` AVU."""
    return (STATUS_ATTR, status, "")


def patterns(
    config: AppConfig, sequencer_type: str, profile_exclude: Sequence[str] = ()
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The (include, exclude) glob patterns for a run: profile and config excludes combined.

    An empty include means "everything". rodrunner's own files (the manifest and the
    operator files, by their default and their configured names) are always excluded.
    """
    entry = config.sequencer.types.get(sequencer_type)
    include = tuple(entry.include) if entry else ()
    exclude: list[str] = list(ALWAYS_EXCLUDED)
    own = (config.daemon.trigger_file, config.daemon.skip_file)
    for pattern in (*own, *profile_exclude, *(entry.exclude if entry else ())):
        if pattern not in exclude:
            exclude.append(pattern)
    return include, tuple(exclude)


@dataclass(frozen=True)
class IngestPlan:
    """What an ingest of one run will do."""

    run_id: str
    sequencer_type: str
    collection: str
    run_avus: list[AVU]
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    avu_prefix: str = ""
    replace_attributes: frozenset[str] = field(default_factory=frozenset)

    @property
    def manifest_path(self) -> str:
        """The iRODS path of the run's manifest object."""
        return f"{self.collection}/{MANIFEST_NAME}"


def replaced_attributes(prefix: str) -> frozenset[str]:
    """Every attribute a run-AVU replace owns (all keys :meth:`RunMetadata.to_avus` may emit)."""
    keys = (
        *RunMetadata.SCALAR_KEYS,
        "control_software",
        "control_software_version",
        "rta_version",
        "reads",
        "sample_id",
        "project",
    )
    return frozenset(f"{prefix}{k}" for k in keys)


def make_plan(
    metadata: RunMetadata,
    config: AppConfig,
    sequencer_type: str | None = None,
    *,
    profile_exclude: Sequence[str] = (),
) -> IngestPlan:
    """The plan for ``metadata``: collection path, run AVUs, include/exclude patterns."""
    stype = sequencer_type or metadata.sequencer_type
    irods = config.irods
    collection = collection_path(
        irods.collection_template,
        zone=irods.zone,
        user=irods.user,
        sequencer_type=stype,
        run_id=metadata.run_id,
    )
    include, exclude = patterns(config, stype, profile_exclude)
    return IngestPlan(
        run_id=metadata.run_id,
        sequencer_type=stype,
        collection=collection,
        run_avus=run_avus(metadata, irods.avu_prefix),
        include=include,
        exclude=exclude,
        avu_prefix=irods.avu_prefix,
        replace_attributes=replaced_attributes(irods.avu_prefix),
    )
