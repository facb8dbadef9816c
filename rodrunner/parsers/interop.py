"""Illumina InterOp QC summary (yield, % >= Q30, clusters PF) through Illumina's ``interop``
package, the optional ``rodrunner[interop]`` extra.

Used only when the run folder has an ``InterOp/`` folder and the package imports; it reads the
binary InterOp files itself (the one I/O-bound parser, called by ``parse_run_folder`` only).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


def interop_available() -> bool:
    """Whether Illumina's ``interop`` package can be imported here."""
    try:
        import interop  # noqa: F401
    except ImportError:
        return False
    return True


def interop_summary(run_dir: Path) -> tuple[dict[str, float], str | None]:
    """``(qc, problem)``: the QC summary of ``run_dir``'s InterOp files, or why there is none.

    ``qc`` keys: ``yield_gb``, ``percent_q30``, ``clusters_pf``, ``cluster_count``,
    ``error_rate``, ``percent_aligned`` (those InterOp provides). ``problem`` is None when there
    is nothing to say (no InterOp folder, or the optional package is not installed).
    """
    if not (run_dir / "InterOp").is_dir() or not interop_available():
        return {}, None
    from interop import py_interop_run, py_interop_run_metrics, py_interop_summary

    run_metrics: Any = py_interop_run_metrics.run_metrics()
    to_load: Any = py_interop_run.uchar_vector(py_interop_run.MetricCount, 0)
    py_interop_run_metrics.list_summary_metrics_to_load(to_load)
    try:
        run_metrics.read(str(run_dir), to_load)
        summary: Any = py_interop_summary.run_summary()
        py_interop_summary.summarize_run_metrics(run_metrics, summary)
    except Exception as exc:  # interop raises its own SWIG-wrapped C++ exceptions
        return {}, f"InterOp files cannot be summarised ({str(exc).strip()[:200]})"
    total = summary.total_summary()
    qc: dict[str, float] = {}
    for key, value in (
        ("yield_gb", total.yield_g()),
        ("percent_q30", total.percent_gt_q30()),
        ("error_rate", total.error_rate()),
        ("percent_aligned", total.percent_aligned()),
    ):
        if isinstance(value, int | float) and math.isfinite(value):
            qc[key] = round(float(value), 3)
    clusters_pf = 0.0
    clusters = 0.0
    if summary.size() > 0:
        first_read = summary.at(0)
        for lane in range(summary.lane_count()):
            clusters_pf += first_read.at(lane).reads_pf()
            clusters += first_read.at(lane).reads()
    if clusters_pf:
        qc["clusters_pf"] = clusters_pf
    if clusters:
        qc["cluster_count"] = clusters
    if not qc:
        return {}, "InterOp folder holds no metrics InterOp can summarise"
    return qc, None
