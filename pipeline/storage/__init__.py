"""Where documents come from and results go: one interface (`Storage`), picked by URL.

`open_storage("some/folder")` gives a `LocalStorage`, `open_storage("s3://bucket/prefix",
S3Options(...))` an `S3Storage` (AWS S3, Huawei OBS, MinIO). Use either with `async with`.
The S3 side (aiobotocore, botocore: half a second of CPU to import) is imported only when
an s3:// URL or `S3Storage` is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.config import S3Options
from pipeline.errors import ConfigError
from pipeline.storage.base import ObjectUnreadable, Storage
from pipeline.storage.local import LocalStorage, matches

if TYPE_CHECKING:
    from pipeline.storage.s3 import S3Storage

__all__ = ["LocalStorage", "ObjectUnreadable", "S3Storage", "Storage", "matches", "open_storage"]


def open_storage(
    url: str, s3: S3Options | None = None, *, follow_symlinks: bool = False
) -> Storage:
    """The storage for a URL or local path. Unknown schemes are a ConfigError.

    `s3` (the job file's `[source.s3]` / `[output.s3]` table) applies to s3:// URLs."""
    if url.startswith("s3://"):
        from pipeline.storage.s3 import S3Storage

        options = s3 or S3Options()
        return S3Storage(
            url, endpoint_url=options.endpoint_url, region=options.region,
            addressing_style=options.addressing_style,
        )
    if url.startswith("file://"):
        return LocalStorage(url.removeprefix("file://"), follow_symlinks=follow_symlinks)
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise ConfigError(
            f"storage URL scheme {scheme}:// is not supported: use a local folder path or "
            "s3://bucket/prefix"
        )
    return LocalStorage(url, follow_symlinks=follow_symlinks)


def __getattr__(name: str) -> Any:
    if name == "S3Storage":
        from pipeline.storage.s3 import S3Storage

        return S3Storage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
