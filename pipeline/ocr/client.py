"""The raw OCR client: build, sign and send ONE recognition call; map the answer.

Auth is AK/SK (`credentials`: every call signed) or an IAM token (`token`, a
`pipeline.ocr.token.TokenProvider`: sent as `X-Auth-Token`; on APIG.0307 the token is
refreshed and the call sent once more).

No retries and no rate limiting here (that is `policy.LimitedClient`). What comes out
is an `OcrResult` or one of these errors (tree in `pipeline.errors` and `errors_map`):

    answer 2xx with a recognition result     -> OcrResult                (billed)
    answer 2xx cut off mid-body              -> RetryableOcrError, status 2xx (billed)
    answer 2xx that is not a result          -> OcrConfigError, status 2xx    (billed)
    answer 4xx / 5xx                         -> per protocol.md's table   (not billed)
    connection refused, DNS, TLS, connect timeout -> ConnectFailed        (nothing sent)
    timeout or dropped connection after sending   -> OutcomeUnknown       (may be billed)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import aiohttp
from yarl import URL

from pipeline import __version__
from pipeline.answer_tables import has_tables
from pipeline.errors import (
    ConfigError,
    OcrConfigError,
    OutcomeUnknown,
    PageOcrError,
    RetryableOcrError,
)
from pipeline.models import Block, OcrRequest, OcrResult, Quad
from pipeline.ocr.credentials import Credentials
from pipeline.ocr.errors_map import CallSite, ConnectFailed, TokenExpired, error_for_answer
from pipeline.ocr.token import TokenProvider
from pipeline.protocol.apis import OcrApi, all_apis, image_field
from pipeline.protocol.names import (
    AUTH_TOKEN,
    ENTERPRISE_PROJECT,
    REQUEST_ID,
    RETRY_AFTER,
    api_path,
)
from pipeline.protocol.signing import sign_request
from pipeline.recognizer_layout import has_layout

CONTENT_TYPE = "application/json;charset=utf-8"
USER_AGENT = f"ocrpipe/{__version__}"
MAX_ANSWER_BYTES = 32 * 1024 * 1024
"""The largest OCR answer read (a dense page with `char_list` is a few MB)."""


class Answer(NamedTuple):
    """A successful call: the result and the exact 2xx status (for the ledger)."""

    result: OcrResult
    status: int


class OcrClient:
    """Sends recognition calls to one endpoint and project, signed with AK/SK or carrying
    an IAM token (give exactly one of `credentials` and `token`)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        endpoint: str,
        project_id: str,
        credentials: Credentials | None = None,
        enterprise_project_id: str | None = None,
        timeout: float = 60.0,
        token: TokenProvider | None = None,
    ) -> None:
        url = URL(endpoint.rstrip("/"))
        if url.scheme not in ("http", "https") or not url.host:
            raise ConfigError(f"OCR endpoint {endpoint!r} must look like https://host[:port]")
        if not project_id or "/" in project_id:
            raise ConfigError(f"OCR project id {project_id!r} is not a project id")
        if timeout <= 0:
            raise ConfigError(f"OCR timeout must be positive, not {timeout}")
        if (credentials is None) == (token is None):
            raise ConfigError("the OCR client needs either AK/SK credentials or a token provider")
        self._session = session
        self.endpoint = str(url)
        self.project_id = project_id
        self.enterprise_project_id = enterprise_project_id
        self.timeout = timeout
        self._credentials = credentials
        self._token = token
        self._client_timeout = aiohttp.ClientTimeout(total=timeout, connect=min(10.0, timeout / 2))

    def url(self, api: str) -> str:
        return self.endpoint + api_path(self.project_id, api)

    def encode(self, request: OcrRequest) -> bytes:
        """The JSON body of `request`, exactly as it will be sent (and counted as bytes sent).

        The Base64 text goes in as it is: it needs no JSON escaping, and `json.dumps`
        would scan every byte of a page of megabytes for characters to escape (measured:
        a tenth of the event loop's time at 200 pages/s). Anything that is not plain
        Base64 text goes through `json.dumps`."""
        field = image_field(request.api)
        options = dict(request.options)
        image = _base64_bytes(request.image_b64)
        if field in options or image is None:
            body = {field: request.image_b64, **options}
            return json.dumps(body, separators=(",", ":")).encode()
        rest = json.dumps(options, separators=(",", ":"))[1:] if options else "}"
        return b"{" + b"".join((
            json.dumps(field).encode(), b":", b'"', image, b'"', b"," if options else b"",
            rest.encode(),
        ))

    async def recognize(self, request: OcrRequest) -> OcrResult:
        """One call, no retries (see `pipeline.ocr.policy` for those)."""
        answer = await self.send(request, self.encode(request))
        return answer.result

    async def send(self, request: OcrRequest, body: bytes) -> Answer:
        """Send an already encoded body (see `encode`); sign it now, at sending time. With a
        token, an APIG.0307 answer refreshes it and sends once more."""
        if self._token is None:
            return await self._send(request, body, token=None)
        token = await self._token.token()
        try:
            return await self._send(request, body, token=token)
        except TokenExpired:
            self._token.invalidate(token)
            token = await self._token.token()
            return await self._send(request, body, token=token)

    async def _send(
        self, request: OcrRequest, body: bytes, *, token: str | None
    ) -> Answer:
        url = self.url(request.api)
        site = CallSite(self.endpoint, self.project_id, request.api)
        headers = {
            "Content-Type": CONTENT_TYPE,
            "User-Agent": USER_AGENT,
            "X-Project-Id": self.project_id,
        }
        if self.enterprise_project_id:
            headers[ENTERPRISE_PROJECT] = self.enterprise_project_id
        if token is not None:
            signed = {**headers, AUTH_TOKEN: token}
        else:
            assert self._credentials is not None
            signed = sign_request(
                "POST", url, headers, body, self._credentials.ak, self._credentials.sk
            )
        try:
            async with self._session.post(
                url,
                data=body,
                headers=signed,
                timeout=self._client_timeout,
                allow_redirects=False,
            ) as resp:
                status = resp.status
                request_id = resp.headers.get(REQUEST_ID)
                try:
                    payload = await read_capped(resp)
                except AnswerTooLarge:
                    if not 200 <= status < 300:
                        raise error_for_answer(
                            status, b"", site=site, request_id=request_id,
                            retry_after=resp.headers.get("Retry-After"),
                        ) from None
                    raise PageOcrError(
                        f"the OCR answer is over {MAX_ANSWER_BYTES >> 20} MB: this page "
                        "failed (the call was billed); check the endpoint is an OCR service",
                        status=status,
                        request_id=request_id,
                    ) from None
                except (aiohttp.ClientError, TimeoutError) as exc:
                    if 200 <= status < 300:
                        raise RetryableOcrError(
                            f"the OCR answer was cut off ({type(exc).__name__}); "
                            "the call was billed",
                            status=status,
                            request_id=request_id,
                        ) from None
                    payload = b""
                retry_after = resp.headers.get(RETRY_AFTER)
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise ConnectFailed(
                f"cannot connect to the OCR endpoint {self.endpoint}: {_reason(exc)}"
            ) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            what = (
                f"no answer within {self.timeout:g} s"
                if isinstance(exc, TimeoutError)
                else f"connection lost ({_reason(exc)})"
            )
            raise OutcomeUnknown(
                f"{what} from the OCR endpoint {self.endpoint} after sending the request: "
                "it may have been processed and billed"
            ) from None

        if not 200 <= status < 300:
            raise error_for_answer(
                status, payload, site=site, request_id=request_id, retry_after=retry_after
            )
        try:
            result = parse_result(
                payload, width=request.width, height=request.height, request_id=request_id or "",
                api=request.api,
            )
        except ValueError as exc:
            raise OcrConfigError(
                f"the OCR service answered HTTP {status} but not with a recognition result "
                f"({site.describe()}): {exc}",
                status=status,
                request_id=request_id,
            ) from None
        return Answer(result, status)


_BASE64_ALPHABET = (
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
)


def _base64_bytes(text: str) -> bytes | None:
    """`text` as bytes when it is only Base64 characters (which JSON carries unescaped),
    else None. `bytes.translate` checks a page of megabytes in well under a millisecond."""
    if not text.isascii():
        return None
    data = text.encode("ascii")
    return None if data.translate(None, _BASE64_ALPHABET) else data


class AnswerTooLarge(Exception):
    """The answer's body is over MAX_ANSWER_BYTES."""


async def read_capped(resp: aiohttp.ClientResponse, cap: int | None = None) -> bytes:
    """The answer's body, read no further than `cap` bytes (default MAX_ANSWER_BYTES):
    AnswerTooLarge past it, so a broken or hostile endpoint cannot exhaust memory."""
    limit = MAX_ANSWER_BYTES if cap is None else cap
    if resp.content_length is not None and resp.content_length > limit:
        raise AnswerTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(256 * 1024):
        size += len(chunk)
        if size > limit:
            raise AnswerTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return exc.os_error.strerror or type(exc.os_error).__name__
    return str(exc) or type(exc).__name__


def parse_result(
    payload: bytes, *, width: int, height: int, request_id: str, api: str = "general-text"
) -> OcrResult:
    """The 200 body of general-text and kin, general-table, smart-document-recognizer;
    a structured API's `result` (cards, invoices, ...) is kept whole as `raw`, with any
    text blocks it holds, and so is a text answer with tables.

    Unknown keys are ignored; a missing confidence reads as 1.0. `ValueError` if the
    body has no `result` at all.
    """
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("the body is not JSON") from None
    if not isinstance(data, dict) or "result" not in data:
        raise ValueError("the body has no 'result'")
    result = data["result"]
    parts: Sequence[object] = result if isinstance(result, list) else [result]

    blocks: list[Block] = []
    direction = -1.0
    for index, part in enumerate(parts):
        if not isinstance(part, Mapping):
            raise ValueError("'result' is neither an object nor a list of objects")
        part = part.get("ocr_result", part)  # smart-document-recognizer nests it
        if not isinstance(part, Mapping):
            continue
        if index == 0 and isinstance(part.get("direction"), int | float):
            direction = float(part["direction"])
        for raw in _block_lists(part):
            if isinstance(raw, Mapping):
                blocks.append(_block(raw))
    known = all_apis().get(api)
    return OcrResult(
        blocks=tuple(blocks),
        width=width,
        height=height,
        direction=direction,
        request_id=request_id,
        raw=result if _keep_raw(known, result) else None,
    )


def _keep_raw(api: OcrApi | None, result: object) -> bool:
    """A structured answer is kept whole; a text answer only when it holds tables
    (general-table, smart-document-recognizer: `pipeline.answer_tables` reads them) or
    layout (the recognizer's: `pipeline.recognizer_layout`)."""
    if api is None:
        return False
    return api.kind == "structured" or has_tables(result) or has_layout(result)


def _block_lists(part: Mapping[str, object]) -> list[object]:
    out: list[object] = []
    words = part.get("words_block_list")
    if isinstance(words, list):
        out.extend(words)
    regions = part.get("words_region_list")  # general-table
    if isinstance(regions, list):
        for region in regions:
            if isinstance(region, Mapping) and isinstance(region.get("words_block_list"), list):
                out.extend(region["words_block_list"])
    return out


def _block(raw: Mapping[str, object]) -> Block:
    confidence = raw.get("confidence")
    return Block(
        text=str(raw.get("words") or ""),
        box=_quad(raw.get("location")),
        confidence=float(confidence) if isinstance(confidence, int | float) else 1.0,
    )


def _quad(location: object) -> Quad:
    """Four integer corners; two corners are read as a rectangle; anything else as 0s."""
    points: list[tuple[int, int]] = []
    if isinstance(location, list):
        for point in location:
            if (
                isinstance(point, list | tuple)
                and len(point) == 2
                and all(isinstance(v, int | float) for v in point)
            ):
                points.append((round(point[0]), round(point[1])))
    if len(points) == 2:
        (x0, y0), (x1, y1) = points
        points = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    if len(points) != 4:
        return ((0, 0), (0, 0), (0, 0), (0, 0))
    return (points[0], points[1], points[2], points[3])
