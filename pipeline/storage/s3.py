"""S3-compatible buckets as storage (AWS S3, Huawei OBS, MinIO), through aiobotocore.

One client per storage, opened on `async with` together with a HEAD of the bucket, so a
missing bucket, a refused bucket, an unreachable endpoint or missing credentials stop
the job before any OCR call. Listing streams `ListObjectsV2` page by page (a bucket of a
million keys is never held in memory); downloads stream into a temporary file, a few at
a time; writes are single PUTs (multipart uploads for big outputs), which S3 makes
visible only once complete.

botocore errors are translated here: bucket-wide problems become `ConfigError` (the job
cannot run), problems with one object become `ObjectUnreadable` (that document fails).
Credentials come from botocore's usual chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY,
AWS_PROFILE, instance roles), never from the job file.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any, Literal

from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from pipeline.errors import ConfigError
from pipeline.models import SourceObject
from pipeline.storage.base import ObjectUnreadable
from pipeline.storage.local import matches

log = logging.getLogger(__name__)

AddressingStyle = Literal["auto", "path", "virtual"]
_CHUNK = 1 << 20
PART_SIZE = 16 << 20
"""Outputs up to this size are one PUT; bigger ones a multipart upload of such parts."""
_DENIED = {"AccessDenied", "403", "AllAccessDisabled", "InvalidAccessKeyId",
           "SignatureDoesNotMatch"}
_MISSING_BUCKET = {"NoSuchBucket", "404"}
_MISSING_KEY = {"NoSuchKey", "404"}
CREDENTIALS_HINT = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE for a profile in "
    "~/.aws/credentials (never in the job file)"
)


def parse_s3_url(url: str) -> tuple[str, str]:
    """s3://bucket/some/prefix -> ("bucket", "some/prefix/"); the prefix may be empty."""
    rest = url.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise ConfigError(f"{url} names no bucket: write s3://bucket or s3://bucket/prefix")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


class S3Storage:
    """`s3://bucket/prefix`. Keys are relative to the prefix; use it with `async with`."""

    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        addressing_style: AddressingStyle = "auto",
        page_size: int = 1000,
        downloads: int = 4,
        max_attempts: int = 4,
        part_size: int = PART_SIZE,
    ) -> None:
        self.url = url
        self.bucket, self.prefix = parse_s3_url(url)
        self.endpoint_url = endpoint_url
        self.region = region
        self.addressing_style = addressing_style
        self.page_size = page_size
        self.max_attempts = max_attempts
        self.part_size = part_size
        """Outputs above this size are uploaded in parts of this size (S3: at least 5 MiB)."""
        self._downloads = asyncio.Semaphore(downloads)
        self._stack: AsyncExitStack | None = None
        self._client: Any = None

    def __repr__(self) -> str:
        where = f", endpoint_url={self.endpoint_url!r}" if self.endpoint_url else ""
        return f"S3Storage({self.url!r}{where})"

    @property
    def client(self) -> Any:
        """The aiobotocore S3 client (tests hook its events); only inside `async with`."""
        if self._client is None:
            raise RuntimeError(f"{self!r} is not open: use it with `async with`")
        return self._client

    async def __aenter__(self) -> S3Storage:
        config = Config(
            s3={"addressing_style": self.addressing_style},
            retries={"max_attempts": self.max_attempts, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
        )
        stack = AsyncExitStack()
        try:
            self._client = await stack.enter_async_context(
                get_session().create_client(
                    "s3", endpoint_url=self.endpoint_url, region_name=self.region, config=config
                )
            )
            await self._check_bucket()
        except BaseException:
            self._client = None
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    async def _check_bucket(self) -> None:
        try:
            await self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise self._bucket_error(exc, "open") from None

    def _bucket_error(self, exc: BotoCoreError | ClientError, doing: str) -> ConfigError:
        """A bucket-wide problem, in words that say what to check."""
        where = f"bucket {self.bucket!r}" + (
            f" at {self.endpoint_url}" if self.endpoint_url else ""
        )
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return ConfigError(f"no S3 credentials to {doing} {where}: {CREDENTIALS_HINT}")
        if isinstance(exc, ProfileNotFound | NoRegionError):
            return ConfigError(f"cannot {doing} {where}: {exc}; {CREDENTIALS_HINT}")
        if isinstance(exc, ConnectionError):
            return ConfigError(
                f"cannot reach the S3 endpoint for {where}: {exc}; check endpoint_url in "
                "the job file's [s3] table and the network"
            )
        if isinstance(exc, ClientError):
            code = _code(exc)
            if code in _MISSING_BUCKET:
                return ConfigError(
                    f"{where} does not exist: check the bucket name in the job file's url "
                    "(and endpoint_url / region for the service that holds it)"
                )
            if code in _DENIED:
                return ConfigError(
                    f"access to {where} is denied ({code}) when trying to {doing} it: check "
                    "the credentials (AWS_ACCESS_KEY_ID / AWS_PROFILE) and the bucket policy"
                )
            return ConfigError(f"cannot {doing} {where}: {code}: {_message(exc)}")
        return ConfigError(f"cannot {doing} {where}: {exc}")

    def _object_url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    async def list(
        self, include: Sequence[str], exclude: Sequence[str] = (), *, start_after: str = ""
    ) -> AsyncIterator[SourceObject]:
        """Yield matching objects as each listing page arrives; with `start_after` (a key
        relative to the prefix), only the keys after it (a listing resumed)."""
        paginator = self.client.get_paginator("list_objects_v2")
        after = {"StartAfter": self.prefix + start_after} if start_after else {}
        pages = paginator.paginate(
            Bucket=self.bucket, Prefix=self.prefix,
            PaginationConfig={"PageSize": self.page_size}, **after,
        )
        try:
            async for page in pages:
                for item in page.get("Contents", ()):
                    full_key: str = item["Key"]
                    key = full_key[len(self.prefix):]
                    if not key or key.endswith("/") or not matches(key, include, exclude):
                        continue
                    etag = str(item["ETag"]).strip('"')
                    yield SourceObject(
                        key=key,
                        url=self._object_url(full_key),
                        size=int(item["Size"]),
                        mtime=item["LastModified"].timestamp(),
                        change_token=f"etag:{etag}",
                    )
        except (BotoCoreError, ClientError) as exc:
            raise self._bucket_error(exc, "list") from None

    def _object_error(self, exc: BotoCoreError | ClientError, key: str) -> Exception:
        """One object's problem fails its document; bucket-wide ones stop the job."""
        if isinstance(exc, ClientError):
            code = _code(exc)
            if code in _MISSING_BUCKET - _MISSING_KEY:
                return self._bucket_error(exc, "read")
            if code in _DENIED:
                return ObjectUnreadable(
                    f"access to {self._object_url(key)} is denied ({code}): check the object's "
                    "permissions (bucket policy, object ACL, KMS key)"
                )
            if code in _MISSING_KEY:
                return ObjectUnreadable(
                    f"{self._object_url(key)} no longer exists (deleted after it was listed?)"
                )
            return ObjectUnreadable(
                f"cannot read {self._object_url(key)}: {code}: {_message(exc)}"
            )
        if isinstance(exc, ConnectionError | NoCredentialsError | PartialCredentialsError):
            return self._bucket_error(exc, "read")
        return ObjectUnreadable(f"cannot read {self._object_url(key)}: {exc}")

    @asynccontextmanager
    async def local_path(self, obj: SourceObject) -> AsyncIterator[str]:
        """Download the object to a temporary file (streamed, a few downloads at a time),
        yield its path, delete it afterwards. The file keeps the key's extension."""
        full_key = obj.url.removeprefix(f"s3://{self.bucket}/")
        suffix = PurePosixPath(obj.key).suffix
        handle = await asyncio.to_thread(
            tempfile.NamedTemporaryFile, prefix="ocrpipe-", suffix=suffix, delete=False
        )
        try:
            async with self._downloads:
                try:
                    response = await self.client.get_object(Bucket=self.bucket, Key=full_key)
                    async with response["Body"] as body:
                        while chunk := await body.read(_CHUNK):
                            await asyncio.to_thread(handle.write, chunk)
                except (BotoCoreError, ClientError) as exc:
                    raise self._object_error(exc, full_key) from None
                finally:
                    await asyncio.to_thread(handle.close)
            yield handle.name
        finally:
            await asyncio.to_thread(_unlink, handle.name)

    async def read(self, key: str) -> bytes:
        full_key = self.prefix + key
        try:
            response = await self.client.get_object(Bucket=self.bucket, Key=full_key)
            async with response["Body"] as body:
                data: bytes = await body.read()
                return data
        except (BotoCoreError, ClientError) as exc:
            raise self._object_error(exc, full_key) from None

    async def change_token(self, obj: SourceObject) -> str | None:
        """The ETag the listing gave."""
        return obj.change_token

    async def exists(self, key: str) -> bool:
        try:
            await self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as exc:
            if _code(exc) in _MISSING_KEY:
                return False
            raise self._bucket_error(exc, "read") from None
        except BotoCoreError as exc:
            raise self._bucket_error(exc, "read") from None
        return True

    async def write(self, key: str, data: bytes, content_type: str = "") -> str:
        """One PUT: S3 shows the object only once it is complete (no partial object)."""
        full_key = self.prefix + key
        extra = {"ContentType": content_type} if content_type else {}
        try:
            await self.client.put_object(Bucket=self.bucket, Key=full_key, Body=data, **extra)
        except (BotoCoreError, ClientError) as exc:
            raise self._bucket_error(exc, "write to") from None
        return self._object_url(full_key)

    async def write_file(self, key: str, path: str, content_type: str = "") -> str:
        """Upload a local file: one PUT up to `part_size`, else a multipart upload read a
        part at a time (memory: one part), aborted if any part fails. Either way the
        object appears only once complete."""
        size = (await asyncio.to_thread(os.stat, path)).st_size
        if size <= self.part_size:
            data = await asyncio.to_thread(_read_part, path, 0, self.part_size)
            return await self.write(key, data, content_type)
        full_key = self.prefix + key
        extra = {"ContentType": content_type} if content_type else {}
        try:
            upload = await self.client.create_multipart_upload(
                Bucket=self.bucket, Key=full_key, **extra
            )
        except (BotoCoreError, ClientError) as exc:
            raise self._bucket_error(exc, "write to") from None
        upload_id = upload["UploadId"]
        try:
            parts = []
            for number, offset in enumerate(range(0, size, self.part_size), start=1):
                data = await asyncio.to_thread(_read_part, path, offset, self.part_size)
                answer = await self.client.upload_part(
                    Bucket=self.bucket, Key=full_key, UploadId=upload_id,
                    PartNumber=number, Body=data,
                )
                parts.append({"PartNumber": number, "ETag": answer["ETag"]})
            await self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=full_key, UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException as exc:
            with suppress(BotoCoreError, ClientError):
                await asyncio.shield(self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=full_key, UploadId=upload_id
                ))
            if isinstance(exc, BotoCoreError | ClientError):
                raise self._bucket_error(exc, "write to") from None
            raise
        return self._object_url(full_key)


def _read_part(path: str, offset: int, size: int) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read(size)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "")) or str(
        exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
    )


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
