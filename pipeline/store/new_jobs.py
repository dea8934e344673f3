"""Documents known to have no row yet: the first run of a job reads no document rows.

`Store.document(job, key)` is one SELECT per document, run before anything else the
document does; on a job's first run every one of them finds nothing. Measured with
`benchmarks.store_per_page` (issue 15): the read, and the smaller groups of writes it
left behind it, were more than half of the store's CPU per one-page document.

So the store asks once per job whether the job has any document row (`job_is_empty`).
If not, every row the job gets from then on is one this store inserts while it holds
the job's lease (`joblock.py`: no other run of the job writes meanwhile), so a key it
has not inserted has no row, and `document()` answers None without asking the
database. The keys inserted are remembered, up to `MAX_KEYS`; past that the store
stops trusting the set and reads every document again (memory stays bounded however
many documents a run has). `start_run` forgets a job: a later run asks again.
"""

from __future__ import annotations

MAX_KEYS = 100_000
"""The most inserted keys remembered per job (some megabytes) before reads resume."""


class NewJobs:
    """Jobs that had no document row when first asked, and the keys inserted since."""

    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self.max_keys = max_keys
        self._asked: set[str] = set()
        self._inserted: dict[str, set[str]] = {}
        self._unsure: set[str] = set()
        """Jobs with an insert begun before their emptiness was known: not trusted."""

    def asked(self, job: str) -> bool:
        """Whether the job's emptiness is known (either way)."""
        return job in self._asked

    def found(self, job: str, *, empty: bool) -> None:
        """What the database said. An insert this store began before (or while) it asked
        may not be in the answer: then the job is not trusted to be empty."""
        self._asked.add(job)
        if empty and job not in self._unsure:
            self._inserted[job] = set()

    def absent(self, job: str, key: str) -> bool:
        """True when `key` surely has no row (the job was empty, and it was not inserted)."""
        keys = self._inserted.get(job)
        return keys is not None and key not in keys

    def inserted(self, job: str, key: str) -> None:
        """Called before a row for `key` is inserted (so `absent` is never wrong)."""
        if job not in self._asked:
            self._unsure.add(job)
        keys = self._inserted.get(job)
        if keys is None:
            return
        if len(keys) >= self.max_keys:
            del self._inserted[job]  # too many to remember: read the database again
            return
        keys.add(key)

    def forget(self, job: str) -> None:
        self._asked.discard(job)
        self._unsure.discard(job)
        self._inserted.pop(job, None)
