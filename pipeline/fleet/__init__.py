"""Scale-out: several workers on one job (issue 17).

`listing.py` lists a job's source once, in resumable batches of work items;
`notify.py` wakes claimers (PostgreSQL LISTEN/NOTIFY); `claims.py` claims items with
leases, renews them and gives them back; `job_run.py` runs a job's items in one worker
process, as the job's owner (who lists and finishes it) or as a helper; `held.py` says
which jobs a process holds work of (for the worker registry and the fleet-wide limits).
"""
