"""The ledger side of every OCR attempt.

`started` writes the attempt row (outcome 'pending') before the request leaves, so a
crash or kill after sending shows up as 'unknown' on the next run rather than
vanishing. Failed and unknown outcomes are written as soon as they are known. A billed
(2xx) outcome is held back and committed by `Store.save_page` in the same transaction
as the page's result: a page is either recognised-and-billed or neither. A page can take
more than one billed attempt (a 2xx answer cut off mid-body, then a retry): each is its
own row, and all of them are committed with the result. Billed attempts of a page that
ends without a result (it failed, the job stopped) are written by `settle`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipeline.models import AttemptOutcome, OcrRequest, UsageRecord
from pipeline.store import AttemptEnd, Store


@dataclass(frozen=True)
class _Token:
    row_id: int
    doc_key: str
    page_index: int


class LedgerHook:
    def __init__(self, store: Store, *, job: str, run_id: int, enterprise_project: str) -> None:
        self.store = store
        self.job = job
        self.run_id = run_id
        self.enterprise_project = enterprise_project
        self._billed: dict[tuple[str, int], list[tuple[int, AttemptEnd]]] = {}
        self.billed_calls = 0
        self.on_billed: Callable[[], None] | None = None  # the budget guard's count

    async def started(self, request: OcrRequest, attempt: int) -> object:
        record = UsageRecord(
            job=self.job,
            doc_key=request.doc_key,
            page_index=request.page_index,
            enterprise_project=self.enterprise_project,
            api=request.api,
            attempt=attempt,
            bytes_sent=request.body_size,
        )
        row_id = await self.store.start_attempt(record, self.run_id)
        return _Token(row_id, request.doc_key, request.page_index)

    async def finished(
        self,
        token: object,
        *,
        outcome: AttemptOutcome,
        http_status: int | None,
        error_code: str | None,
        request_id: str | None,
        latency_ms: float,
    ) -> None:
        assert isinstance(token, _Token)
        end = AttemptEnd(outcome, http_status, error_code, request_id, latency_ms)
        if outcome == "billed":
            self.billed_calls += 1
            if self.on_billed is not None:
                self.on_billed()
            key = (token.doc_key, token.page_index)
            self._billed.setdefault(key, []).append((token.row_id, end))
        else:
            await self.store.finish_attempt(token.row_id, end)

    def take_billed(self, doc_key: str, page_index: int) -> list[tuple[int, AttemptEnd]]:
        """Every billed attempt of this page, for `Store.save_page` to commit with the
        result."""
        return self._billed.pop((doc_key, page_index), [])

    async def settle(self, doc_key: str | None = None) -> None:
        """Write the billed attempts still held (of one document, or all): their pages
        ended without a result to commit them with, but the provider billed them."""
        keys = [k for k in self._billed if doc_key is None or k[0] == doc_key]
        for key in keys:
            for row_id, end in self._billed.pop(key, []):
                await self.store.finish_attempt(row_id, end)
