"""Scale-out: several workers on one job (issue 17).

`listing.py` lists a job's source once, in resumable batches of work items
(`pipeline/store/work_items.py`: claims with leases); `notify.py` wakes claimers
(PostgreSQL LISTEN/NOTIFY); `job_run.py` runs a job's items in one worker process, as the
job's owner (who lists and ends it) or as a helper; `joining.py` is how a job worker
becomes either; `held.py` says which jobs a process holds work of (for the worker
registry and the fleet-wide limits).
"""
