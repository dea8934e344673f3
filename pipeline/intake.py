"""What the runner takes up from the source listing, and what it says about the rest.

The listing, less this job's own outputs when the output folder is inside the source
(`pipeline.outputs.OwnOutputs`), and with `only` (a retry of the failed documents)
less every document not named there. Afterwards `notices` says what was left out and
why (symbolic links not followed, own outputs, named documents no longer in the source),
or that nothing matched at all.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from pipeline.config import JobSpec
from pipeline.isolation import shown_key
from pipeline.models import SourceObject
from pipeline.outputs import OwnOutputs
from pipeline.storage import LocalStorage, Storage
from pipeline.storage.resume import list_after

log = logging.getLogger(__name__)
_SHOWN = 5


async def documents(
    spec: JobSpec, source: Storage, notices: list[str], only: frozenset[str] | None = None,
    after: str | None = None,
) -> AsyncIterator[SourceObject]:
    """The source's matching objects, in listing order, without the job's own outputs;
    with `only`, just the objects whose keys it holds; with `after`, those listed after
    that key (a listing resumed: `pipeline/storage/resume.py`)."""
    own = OwnOutputs(spec.resolve(spec.source.url), spec.resolve(spec.output.url),
                     spec.source.include, spec.source.exclude)
    listed = outputs = 0
    missing = set(only) if only is not None else set()
    async for obj in list_after(source, spec.source.include, spec.source.exclude, after):
        if only is not None:
            if obj.key not in only:
                continue
            missing.discard(obj.key)
        if own.excludes(obj.key):
            outputs += 1
            log.info("job=%s doc=%s left out: an output of this job", spec.name,
                     shown_key(obj.key))
            continue
        listed += 1
        yield obj
    if outputs:
        notices.append(
            f"left out {outputs} file(s) in the output folder: the output folder is inside "
            "the source folder, and a job never reads its own outputs"
        )
    if missing:
        names = ", ".join(shown_key(key) for key in sorted(missing)[:_SHOWN])
        more = f" and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else ""
        notices.append(
            f"{len(missing)} document(s) to retry are no longer in the source (or no longer "
            f"match include/exclude): {names}{more}; they keep their earlier failure"
        )
    links = source.skipped if isinstance(source, LocalStorage) else []
    if links:
        names = ", ".join(shown_key(key) for key, _ in links[:_SHOWN])
        more = f" and {len(links) - _SHOWN} more" if len(links) > _SHOWN else ""
        notices.append(
            f"skipped {len(links)} symbolic link(s), not followed: {names}{more} "
            "(set follow_symlinks = true under [source] to follow them)"
        )
    if listed == 0 and outputs == 0 and only is None and after is None:
        include = ", ".join(spec.source.include)
        notices.append(
            f"no file under {spec.resolve(spec.source.url)} matches the job's include "
            f"patterns ({include}"
            + (f"; exclude: {', '.join(spec.source.exclude)}" if spec.source.exclude else "")
            + "): nothing to do"
        )
