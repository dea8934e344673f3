"""Several `ocrpipe up` / `ocrpipe worker` processes on one state database (issue 17).

Sharing one job: `listing.py` lists a job's source once, in resumable batches of work
items (`pipeline/store/work_items.py`: claims with leases); `notify.py` wakes claimers
(PostgreSQL LISTEN/NOTIFY); `job_run.py` runs a job's items in one worker process, as the
job's owner (who lists and ends it) or as a helper; `joining.py` is how a job worker
becomes either; `held.py` says which jobs a process holds work of.

The fleet: the worker registry (`registry.py`), each process's heartbeat (`heartbeat.py`,
with the jobs `held.py` names) and the division of a job's qps and concurrency among the
processes working on it (`share.py`). The registry, heartbeat and share modules import
only the state store and the OCR client's share seam (pipeline/ocr/shares.py), so that
the API (`GET /v1/workers`) can read the registry without an import cycle; what starts a
worker process and joins it to the fleet is pipeline/worker_process.py.
"""
