"""A listing resumed after its last stored key (`pipeline/fleet/listing.py`).

An S3 bucket is asked to start after it (`StartAfter`: keys come in byte order, so the
server skips the part already listed, however large). A local folder walks in the same
order every time, so the objects up to that key are passed over; were that key gone
since (deleted or renamed), the whole listing comes again: the items it stored are
stored only once (`WorkItems.add` ignores a key it has), so nothing is lost or doubled.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Sequence

from pipeline.models import SourceObject
from pipeline.storage.base import Storage


async def list_after(
    source: Storage, include: Sequence[str], exclude: Sequence[str], after: str | None
) -> AsyncIterator[SourceObject]:
    """`source.list(include, exclude)`, less what comes up to and with `after`."""
    if not after:
        async for obj in source.list(include, exclude):
            yield obj
        return
    s3 = sys.modules.get("pipeline.storage.s3")  # imported already when the source is S3
    if s3 is not None and isinstance(source, s3.S3Storage):
        async for obj in source.list(include, exclude, start_after=after):
            yield obj
        return
    seen = False
    async for obj in source.list(include, exclude):
        if seen:
            yield obj
        elif obj.key == after:
            seen = True
    if not seen:  # the key is gone: everything again (stored items are not doubled)
        async for obj in source.list(include, exclude):
            yield obj
