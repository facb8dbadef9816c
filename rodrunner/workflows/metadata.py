"""The ``Update Run Metadata`` flow: re-derive a run's AVUs from the files stored in iRODS.

The sequencer share may be gone by the time a parser improves or a sample sheet is fixed:
this flow reads the run's metadata files back from its collection (``read_bytes``), parses
them with :func:`rodrunner.parsers.parse_files` and replaces the run AVUs in one atomic
operation. Status AVUs (``rodrunner::*``) are never touched.
"""

# No ``from __future__ import annotations`` here: a flow run started by a runner may get
# the flow by value (cloudpickle), without this module's globals, and must still read the
# ``config`` parameter's type.

import posixpath
from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Any

import structlog
from prefect import flow
from prefect.states import Failed

from rodrunner.config.loading import ConfigArgument, load_config
from rodrunner.connect import open_irods
from rodrunner.errors import MetadataError, PathError, RodrunnerError
from rodrunner.irods.paths import check_irods_path
from rodrunner.parsers import METADATA_FILE_PATTERNS, parse_files
from rodrunner.plan import MANIFEST_NAME, replaced_attributes, run_attributes, run_avus
from rodrunner.profiles import get_profile

__all__ = ["metadata_files", "update_run_metadata"]


def metadata_files(names: Iterable[str], sequencer_type: str) -> list[str]:
    """Pure: which of the collection's relative ``names`` are metadata files for the type.

    Matching follows :data:`METADATA_FILE_PATTERNS`: case-insensitive, the folder part of a
    pattern must equal the folder of the name (``*`` never crosses a ``/``).
    """
    patterns = METADATA_FILE_PATTERNS.get(sequencer_type, ())
    chosen = []
    for name in sorted(names):
        if name == MANIFEST_NAME:
            continue
        folder, _, base = name.lower().rpartition("/")
        for pattern in patterns:
            p_folder, _, p_base = pattern.lower().rpartition("/")
            if folder == p_folder and fnmatchcase(base, p_base):
                chosen.append(name)
                break
    return chosen


def _as_lists(avus: Iterable[Any]) -> list[list[str]]:
    return [[a.attr, a.value, a.units] for a in avus]


@flow(name="Update Run Metadata", persist_result=False)
def update_run_metadata(config: ConfigArgument, irods_path: str, sequencer_type: str) -> Any:
    """Replace the run AVUs of ``irods_path`` with those parsed from its stored metadata files.

    ``config``: the :class:`AppConfig` itself, a configuration file path, or None. Returns
    ``{irods_path, success, added, removed, error}`` (``added``/``removed`` are
    ``[attribute, value, units]`` lists); on failure the flow run is Failed with that dict.
    """
    result: dict[str, Any] = {
        "irods_path": irods_path,
        "success": False,
        "added": [],
        "removed": [],
        "error": None,
    }
    log = structlog.get_logger().bind(irods_path=irods_path, sequencer_type=sequencer_type)
    try:
        cfg = load_config(config)
        get_profile(sequencer_type)
        collection = check_irods_path(irods_path)
        with open_irods(cfg.irods) as client:
            if not client.collection_exists(collection):
                raise PathError(f"iRODS collection '{collection}' does not exist; check the path")
            names = metadata_files(client.list_objects(collection), sequencer_type)
            if not names:
                raise MetadataError(
                    f"iRODS collection '{collection}' holds no {sequencer_type} metadata files "
                    f"({', '.join(METADATA_FILE_PATTERNS.get(sequencer_type, ()))}); "
                    "is --type right?"
                )
            files = {name: client.read_bytes(f"{collection}/{name}") for name in names}
            metadata = parse_files(files, sequencer_type, run_id=posixpath.basename(collection))
            avus = run_avus(metadata, cfg.irods.avu_prefix)
            replace = replaced_attributes(cfg.irods.avu_prefix) | run_attributes(avus)
            added, removed = client.set_metadata(
                collection, avus, replace_attributes=sorted(replace)
            )
        result.update(success=True, added=_as_lists(added), removed=_as_lists(removed))
        log.info("metadata.updated", files=sorted(files), added=len(added), removed=len(removed))
    except RodrunnerError as exc:
        result["error"] = str(exc)
        log.error("metadata.update_failed", error=str(exc))
        return Failed(message=str(exc), data=result)
    return result
