"""synthbalance: does synthetic minority data actually help your classifier?"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("synthbalance")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
