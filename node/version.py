"""The software's name and version, as NodeInfo and /system/version report them."""

from importlib.metadata import PackageNotFoundError, version

SOFTWARE = "hearth"
API_VERSIONS = ("v1",)

try:
    VERSION = version("hearth")
except PackageNotFoundError:  # running from a source tree that was not installed
    VERSION = "0.0.0"
