"""A validated job as the state store keeps it and a job worker runs it: every key as JSON,
local paths absolute (the folder `ocrpipe up` runs in is not the submitter's, nor the
folder of a scheduled job file). Submitted jobs (`pipeline.api.submit`) and schedules
(`pipeline.schedules`) store jobs this one way."""

from __future__ import annotations

from typing import Any

from pipeline.config import JobSpec


def stored_spec(spec: JobSpec) -> dict[str, Any]:
    """The job as stored and run: every key, local paths absolute."""
    data = spec.model_dump(mode="json", exclude_none=True)
    data["source"]["url"] = spec.resolve(spec.source.url)
    data["output"]["url"] = spec.resolve(spec.output.url)
    return data
