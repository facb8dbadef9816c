"""GenQuery1 (``GEN_QUERY_AN`` 702) for the iRODS sandbox, in the order a query passes through:

- :mod:`.model`: the vocabulary (the column table, option bits, status codes) and the values
  that travel between the steps (:class:`~.model.GenQuery`, :class:`~.model.SqlQuery`).
- :mod:`.conditions` (pure): one ``svalue`` such as ``"like '/z/home%'"`` into predicates, read
  as the server reads it, and those into SQL.
- :mod:`.sql` (pure): a :class:`~.model.GenQuery` into one parameterised SQL statement over
  the sandbox catalog. Every literal from the client travels as an SQL parameter; only
  identifiers from the fixed column table are written into the SQL text.
- :mod:`.output` (pure): a ``GenQueryOut_PI`` exactly as iRODS 5.0.2 writes it.
- :mod:`.engine` (I/O): runs a query on an ``sqlite3`` connection and keeps a connection's open
  statements (``continueInx``), as a real agent does.
- :mod:`.handler`: the API handler, registered on import.

Semantics reproduced from the server: DISTINCT unless ``NO_DISTINCT``; rows ordered by the
``ORDER_BY``/``ORDER_BY_DESC`` columns first, then by every selected column in order;
aggregates (MIN/MAX/SUM/AVG/COUNT) group by the other selected columns; ``UPPER_CASE_WHERE``
compares ``upper(column)``; no rows is ``CAT_NO_ROWS_FOUND``; ``maxRows`` 0 closes a cursor.
Not reproduced: ACL filtering (the sandbox has no ACLs; every user sees everything).
"""

from rodrunner.sandbox.genquery import handler  # noqa: F401  (registers GEN_QUERY_AN)
