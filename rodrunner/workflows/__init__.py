"""Prefect v3 flows: ``Ingest Run``, ``Ingest Sequencer Runs``, ``Ingest All Sequencer Runs``,
``Update Run Metadata``. See ``docs/ingest.md``.

``config`` is the :class:`~rodrunner.config.AppConfig` from ``get_config()`` (used in-process
as it is; Prefect records it with every secret masked), a configuration file path, or None
(loaded where the flow runs). A deployment run, which crosses processes, is given a path.
"""
