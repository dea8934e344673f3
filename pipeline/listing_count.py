"""How many documents a run will take: the job's source listed once ahead of the run, so
that the job's JSON can give an ETA before every document has been opened.

The run itself lists lazily, a few documents ahead of the work, so until its end it
cannot say how many there are. `count_documents` walks the same listing (the same
include/exclude, without the job's own outputs, with `only` for a retry) and counts;
`ocrpipe up`'s job worker runs it beside each run and stores the count with the job.
One more listing of the source: cheap for a folder, one request per 1,000 objects on S3.
"""

from __future__ import annotations

from pipeline.config import JobSpec
from pipeline.intake import documents
from pipeline.storage import open_storage


async def count_documents(spec: JobSpec, only: frozenset[str] | None = None) -> int:
    """The documents a run of `spec` lists (with `only`: of those keys)."""
    counted = 0
    async with open_storage(spec.resolve(spec.source.url), spec.source.s3,
                            follow_symlinks=spec.source.follow_symlinks) as source:
        async for _ in documents(spec, source, [], only):
            counted += 1
    return counted
