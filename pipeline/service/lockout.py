"""Back off brute force without handing out a kill switch.

An access key travels in clear in every signed request, so locking an AK after a few bad
signatures (as the cloud does) lets anyone who saw one stop its owner's jobs. Here failures
are counted per (AK, client address): after FREE_FAILURES of them in a row, that address is
refused for that AK for a delay that doubles with each further failure (BASE_DELAY_S up to
MAX_DELAY_S), while valid signatures from other addresses go through. A success from an
address clears its count; a count with no failure for FORGET_AFTER_S is forgotten.

`AttemptLimiter` limits password checks (tokens, admin key) per address: a fixed number of
failures per minute, then 429 until the minute is over.

Both keep at most MAX_ENTRIES keys (oldest forgotten first), so a flood of addresses or
made-up AKs cannot grow them without bound. Addresses are grouped by `address_key`: an IPv6
client is one /64 (what one host or site usually holds).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.protocol.codes import AUTH_FAILED, THROTTLED

from .apierror import ApiError
from .logsafe import escape

logger = logging.getLogger(__name__)

FREE_FAILURES = 5
BASE_DELAY_S = 30.0
MAX_DELAY_S = 300.0
FORGET_AFTER_S = 900.0
MAX_ENTRIES = 100_000
PASSWORD_ATTEMPTS_PER_MINUTE = 10


def address_key(address: str) -> str:
    """The unit limits count by: the IPv4 address, or the /64 of an IPv6 one."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


@dataclass
class _Failures:
    count: int
    last: float
    blocked_until: float = 0.0


class Lockout:
    """Failed signatures in a row per (AK, client address), with a doubling back-off."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], _Failures] = OrderedDict()

    def _get(self, ak: str, address: str) -> _Failures | None:
        key = (ak, address_key(address))
        entry = self._entries.get(key)
        if entry is not None and self._clock() - entry.last > FORGET_AFTER_S:
            del self._entries[key]
            return None
        return entry

    def retry_after(self, ak: str, address: str = "") -> float:
        """Seconds this address must wait before it may try this AK again (0: now)."""
        entry = self._get(ak, address)
        if entry is None:
            return 0.0
        return max(0.0, entry.blocked_until - self._clock())

    def check(self, ak: str, address: str = "") -> None:
        """ApiError APIG.0301 (with Retry-After) while this address is backed off."""
        wait = self.retry_after(ak, address)
        if wait > 0:
            raise ApiError(
                AUTH_FAILED,
                "Incorrect IAM authentication information: failed signatures from this "
                f"address reach the limit ({FREE_FAILURES} in a row); retry in "
                f"{math.ceil(wait)} s with a correct signature",
                retry_after=wait,
            )

    def failed(self, ak: str, address: str = "") -> None:
        now = self._clock()
        key = (ak, address_key(address))
        entry = self._get(ak, address) or _Failures(0, now)
        entry.count += 1
        entry.last = now
        if entry.count >= FREE_FAILURES:
            delay = min(MAX_DELAY_S, BASE_DELAY_S * 2 ** (entry.count - FREE_FAILURES))
            entry.blocked_until = now + delay
            logger.warning(
                "access key %s: %d failed signatures in a row from %s; that address waits %g s",
                escape(ak), entry.count, key[1], delay,
            )
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)

    def succeeded(self, ak: str, address: str = "") -> None:
        self._entries.pop((ak, address_key(address)), None)


class AttemptLimiter:
    """At most `per_minute` failed attempts per address in each one-minute window; then
    every attempt from it is refused until the window ends."""

    def __init__(
        self, per_minute: int = PASSWORD_ATTEMPTS_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._window = -1
        self._counts: dict[str, int] = {}

    def _roll(self) -> float:
        now = self._clock()
        window = int(now // 60)
        if window != self._window:
            self._window, self._counts = window, {}
        return now

    def check(self, address: str, what: str) -> None:
        """ApiError 429 APIG.0308 with Retry-After once the address has failed too often."""
        now = self._roll()
        if self._counts.get(address_key(address), 0) >= self.per_minute:
            raise ApiError(
                THROTTLED,
                f"Too many failed {what} attempts from this address ({self.per_minute} a "
                "minute): retry later",
                retry_after=max(1.0, (self._window + 1) * 60 - now),
            )

    def failed(self, address: str) -> None:
        self._roll()
        key = address_key(address)
        if key in self._counts or len(self._counts) < MAX_ENTRIES:
            self._counts[key] = self._counts.get(key, 0) + 1
