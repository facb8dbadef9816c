"""rodrunner: move finished sequencing runs from the sequencer share into iRODS."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rodrunner")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
