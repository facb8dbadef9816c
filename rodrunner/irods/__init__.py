"""The iRODS client: the only package that imports python-irodsclient."""
