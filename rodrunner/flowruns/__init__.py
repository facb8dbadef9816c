"""The one door to Prefect: start embedded or deployment flow runs, follow them to a final
state, read a flow run's status and result, Prefect's health.

- :mod:`~rodrunner.flowruns.prefect`: every Prefect client call; the one error translation
  and the one retry policy.
- :mod:`~rodrunner.flowruns.outcomes`: the :class:`Outcome` of an ingest request, the
  :class:`Submitter` interface, how a final state becomes an outcome (pure).
- :mod:`~rodrunner.flowruns.embedded` and :mod:`~rodrunner.flowruns.deployment`: the two
  submitters the daemon drives (``daemon.submit``).
- :mod:`~rodrunner.flowruns.launcher`: starting any workflow and reporting on it (the API).
"""
