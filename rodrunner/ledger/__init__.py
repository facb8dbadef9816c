"""The ledger: what the daemon decided about each run folder, in one SQLite file.

The daemon (``rodrunnerd``) writes it; the REST API, the safe-to-delete gate and
``rodrunnerd status|retry|forget`` read it (or make the operator's retry). Its one home:

- :mod:`rodrunner.ledger.states`: the run states, the transition table, the operator's
  retryable set and the readiness action -> state table;
- :mod:`rodrunner.ledger.records`: a run's record and what a transition does to it (pure);
- :mod:`rodrunner.ledger.schema`: the file name, the schema and its migrations, row codecs;
- :mod:`rodrunner.ledger.connection`: opening the file read-write (created, migrated) or
  read-only, and sqlite3's errors translated;
- :mod:`rodrunner.ledger.store`: :class:`~rodrunner.ledger.store.Ledger`, read-write (the
  daemon, the operator's retry) or read-only (the API, ``status``, ``verify``).

``connection`` and ``store`` are the only modules outside the sandbox that import sqlite3.

The ledger is a cache of decisions: iRODS status wins on conflict.
"""
