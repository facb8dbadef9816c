"""Prefect v3 flows: ``Ingest Run``, ``Ingest Sequencer Runs``, ``Ingest All Sequencer Runs``,
``Update Run Metadata``. See ``docs/ingest.md``.

Flow parameters are plain JSON values. ``config`` is the path of a configuration file (or
None: loaded where the flow runs); never an :class:`~rodrunner.config.AppConfig`, so the
iRODS password never travels as a parameter nor lands in Prefect's database.
"""
