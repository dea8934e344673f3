"""Password and admin-key checks (`/v3/auth/tokens`, `/v1/usage`) that a flood cannot use.

A check is a PBKDF2 of hundreds of thousands of rounds (authfile.py): run on the event loop
it stalls every call, run on an unbounded pool it takes the cores from the OCR workers. So:

- checks run in a dedicated pool of `threads` threads (hashlib releases the GIL), never on
  the event loop; at most `max_waiting` more wait, the next answers 429 APIG.0308;
- each client address may fail `per_minute` times a minute (lockout.AttemptLimiter),
  then its checks answer 429 until the minute is over (CPU is bounded by the pool);
- an unknown user (or a missing admin key) is checked against a dummy hash with as many
  rounds as the real ones, so the answer takes as long and tells nobody who exists.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from pipeline.protocol.codes import THROTTLED

from .apierror import ApiError
from .authfile import HASH_ITERATIONS, HASH_SCHEME, verify_password
from .lockout import PASSWORD_ATTEMPTS_PER_MINUTE, AttemptLimiter

MAX_WAITING = 8


def rounds_of(stored: str) -> int | None:
    parts = stored.split("$")
    if len(parts) == 4 and parts[0] == HASH_SCHEME and parts[1].isdigit():
        return int(parts[1])
    return None


def dummy_hash(rounds: int) -> str:
    """A well-formed hash no password matches (random salt and digest)."""
    salt, digest = (base64.b64encode(secrets.token_bytes(n)).decode() for n in (16, 32))
    return f"{HASH_SCHEME}${rounds}${salt}${digest}"


class PasswordChecker:
    def __init__(
        self,
        known_hashes: Iterable[str] = (),
        *,
        per_minute: int = PASSWORD_ATTEMPTS_PER_MINUTE,
        threads: int = 1,
        max_waiting: int = MAX_WAITING,
    ) -> None:
        rounds = [r for r in map(rounds_of, known_hashes) if r is not None]
        self._dummy = dummy_hash(max(rounds) if rounds else HASH_ITERATIONS)
        self._attempts = AttemptLimiter(per_minute)
        self._threads = threads
        self._executor: ThreadPoolExecutor | None = None
        self.max_waiting = max_waiting
        self.in_flight = 0

    async def verify(self, password: str, stored: str | None, address: str, what: str) -> bool:
        """Whether `password` matches `stored` (None: an unknown user, always False, at the
        same cost); ApiError 429 when this address or the service has tried too often."""
        self._attempts.check(address, what)
        if self.in_flight >= self._threads + self.max_waiting:
            raise ApiError(
                THROTTLED,
                f"Too many {what} checks at once: retry in a moment",
                retry_after=1.0,
            )
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="ocrpipe-pw")
        loop = asyncio.get_running_loop()
        self.in_flight += 1
        try:
            valid = await loop.run_in_executor(
                self._executor, verify_password, password, stored or self._dummy
            )
        finally:
            self.in_flight -= 1
        if not valid or stored is None:
            self._attempts.failed(address)
            return False
        return True

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
