"""The release this code is: ``version`` in pyproject.toml is the one source of truth."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("trident-scim")
except PackageNotFoundError:  # run from a source tree that was never installed
    VERSION = "0+unknown"
