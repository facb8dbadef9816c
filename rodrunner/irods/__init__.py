"""The iRODS client: the only package that imports python-irodsclient.

- :mod:`rodrunner.irods.client`: :class:`iRODSClient` (sessions, uploads, metadata, search)
- :mod:`rodrunner.irods.errors`: python-irodsclient / network errors -> :mod:`rodrunner.errors`
- :mod:`rodrunner.irods.retry`: the one retry policy for transient iRODS errors
- :mod:`rodrunner.irods.walk`: the local tree listing an upload starts from
"""

from rodrunner.irods.client import AVU, RemoteObject, UploadReport, iRODSClient

__all__ = ["AVU", "RemoteObject", "UploadReport", "iRODSClient"]
