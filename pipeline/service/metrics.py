"""Prometheus metrics (`GET /metrics`, text exposition format 0.0.4), written by hand: four
series do not need a client library.

    ocrpipe_requests_total{api,code}             requests answered, by API and error code
                                                 ("200"/"201" for successes)
    ocrpipe_request_seconds{api}                 latency histogram
    ocrpipe_queue_depth                          pages taken by the engine, not yet answered
    ocrpipe_engine_seconds_total{api}            worker time spent recognising
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable

BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    def __init__(self, queue_depth: Callable[[], int]) -> None:
        self._queue_depth = queue_depth
        self.requests: dict[tuple[str, str], int] = defaultdict(int)
        self.engine_seconds: dict[str, float] = defaultdict(float)
        self._buckets: dict[str, list[int]] = {}
        self._sums: dict[str, float] = defaultdict(float)
        self._counts: dict[str, int] = defaultdict(int)

    def observe(self, api: str, code: str, seconds: float) -> None:
        self.requests[(api, code)] += 1
        buckets = self._buckets.setdefault(api, [0] * len(BUCKETS))
        index = bisect.bisect_left(BUCKETS, seconds)
        for i in range(index, len(BUCKETS)):
            buckets[i] += 1
        self._sums[api] += seconds
        self._counts[api] += 1

    def render(self) -> str:
        lines = [
            "# HELP ocrpipe_requests_total Requests answered, by API and error code.",
            "# TYPE ocrpipe_requests_total counter",
        ]
        for (api, code), count in sorted(self.requests.items()):
            lines.append(
                f'ocrpipe_requests_total{{api="{_label(api)}",code="{_label(code)}"}} {count}'
            )
        lines += [
            "# HELP ocrpipe_request_seconds Request latency.",
            "# TYPE ocrpipe_request_seconds histogram",
        ]
        for api, buckets in sorted(self._buckets.items()):
            name = _label(api)
            for bound, count in zip(BUCKETS, buckets, strict=True):
                lines.append(f'ocrpipe_request_seconds_bucket{{api="{name}",le="{bound}"}} {count}')
            lines.append(
                f'ocrpipe_request_seconds_bucket{{api="{name}",le="+Inf"}} {self._counts[api]}'
            )
            lines.append(f'ocrpipe_request_seconds_sum{{api="{name}"}} {self._sums[api]:.6f}')
            lines.append(f'ocrpipe_request_seconds_count{{api="{name}"}} {self._counts[api]}')
        lines += [
            "# HELP ocrpipe_queue_depth Pages taken by the OCR engine and not yet answered.",
            "# TYPE ocrpipe_queue_depth gauge",
            f"ocrpipe_queue_depth {self._queue_depth()}",
            "# HELP ocrpipe_engine_seconds_total Worker time spent recognising pages.",
            "# TYPE ocrpipe_engine_seconds_total counter",
        ]
        for api, seconds in sorted(self.engine_seconds.items()):
            lines.append(f'ocrpipe_engine_seconds_total{{api="{_label(api)}"}} {seconds:.6f}')
        return "\n".join(lines) + "\n"
