"""Where documents come from and results go: one interface, picked by URL.

`open_storage("some/folder")` gives a `LocalStorage`; `s3://bucket/prefix` comes next.
"""

from __future__ import annotations

from pipeline.errors import ConfigError
from pipeline.storage.local import LocalStorage, matches

__all__ = ["LocalStorage", "matches", "open_storage"]


def open_storage(url: str) -> LocalStorage:
    """The storage for a URL or local path. Unknown schemes are a ConfigError."""
    if url.startswith("file://"):
        return LocalStorage(url.removeprefix("file://"))
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise ConfigError(
            f"storage URL scheme {scheme}:// is not supported yet: use a local folder path"
        )
    return LocalStorage(url)
