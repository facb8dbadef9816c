"""The iRODS client: the only client of python-irodsclient (the sandbox borrows its obfuscation).

- :mod:`rodrunner.irods.client`: :class:`iRODSClient`, the façade (sessions, uploads,
  metadata, search) over the modules below
- :mod:`rodrunner.irods.credentials` and :mod:`rodrunner.irods.session`: how to log in, and
  the pool of sessions
- :mod:`rodrunner.irods.queries` and :mod:`rodrunner.irods.metadata`: catalog queries, AVUs
- :mod:`rodrunner.irods.transfer`, :mod:`rodrunner.irods.upload`,
  :mod:`rodrunner.irods.localio`: moving bytes, a whole tree, local reads
- :mod:`rodrunner.irods._wire`: every raw protocol message (nothing else builds one)
- pure: :mod:`rodrunner.irods.paths`, :mod:`rodrunner.irods.checksums`,
  :mod:`rodrunner.irods.avus`
- :mod:`rodrunner.irods.errors`: python-irodsclient / network errors -> :mod:`rodrunner.errors`
- :mod:`rodrunner.irods.retry`: the one retry policy for transient iRODS errors
- :mod:`rodrunner.irods.walk`: the local tree listing an upload starts from

It never starts the iRODS sandbox: :func:`rodrunner.connect.open_irods` does, for a
configuration that names one.
"""

from rodrunner.irods.avus import AVU
from rodrunner.irods.checksums import RemoteObject
from rodrunner.irods.client import iRODSClient
from rodrunner.irods.upload import UploadReport

__all__ = ["AVU", "RemoteObject", "UploadReport", "iRODSClient"]
