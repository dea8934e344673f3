"""S3Storage against a real S3 endpoint: moto's server on 127.0.0.1 (tests/s3server.py)."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import DEFAULT_INCLUDE, S3Options, parse_job
from pipeline.errors import ConfigError, DocumentError
from pipeline.storage import ObjectUnreadable, S3Storage, Storage, open_storage
from tests.support.s3server import MotoS3

PNG = b"\x89PNG\r\n\x1a\n fake image bytes"


def storage(s3: MotoS3, url: str, **kwargs: Any) -> S3Storage:
    return S3Storage(url, endpoint_url=s3.endpoint_url, addressing_style="path", **kwargs)


async def test_keys_with_spaces_and_non_ascii_are_listed_read_and_written(s3: MotoS3) -> None:
    await s3.create_bucket("inbox")
    await s3.create_bucket("outbox")
    await s3.put("inbox", {
        "scans/über scan 1.png": PNG,
        "scans/报告 2024/第一页.PDF": b"%PDF-1.4 fake",
        "scans/notes.txt": b"not a document",
        "scans/sub/": b"",  # a "folder" marker some tools create
        "other/outside.pdf": b"%PDF outside the prefix",
    })
    async with storage(s3, "s3://inbox/scans") as source:
        found = {obj.key: obj async for obj in source.list(DEFAULT_INCLUDE)}
        assert sorted(found) == ["über scan 1.png", "报告 2024/第一页.PDF"]
        image = found["über scan 1.png"]
        assert image.url == "s3://inbox/scans/über scan 1.png"
        assert image.size == len(PNG) and image.mtime is not None
        assert image.change_token is not None and image.change_token.startswith("etag:")
        assert [o.key async for o in source.list(DEFAULT_INCLUDE, ["报告*/**"])] == [
            "über scan 1.png"
        ]
        async with source.local_path(image) as path:
            assert path.endswith(".png")
            assert Path(path).read_bytes() == PNG
        assert not Path(path).exists()  # the temporary copy is gone
        assert await source.read("über scan 1.png") == PNG

    async with storage(s3, "s3://outbox/results/") as output:
        key = "报告 2024/第一页.PDF.txt"
        written = await output.write(key, "text ü".encode(), "text/plain; charset=utf-8")
        assert written == f"s3://outbox/results/{key}"
        assert await output.exists(key)
        assert not await output.exists("missing.txt")
        assert await output.read(key) == "text ü".encode()
    async with s3.client() as client:
        head = await client.head_object(Bucket="outbox", Key=f"results/{key}")
        assert head["ContentType"] == "text/plain; charset=utf-8"


@pytest.mark.slow  # 12 MiB through moto
async def test_write_file_uploads_big_outputs_in_parts_and_small_ones_in_one_put(
    s3: MotoS3, tmp_path: Path
) -> None:
    await s3.create_bucket("outbox")
    big = tmp_path / "big.pdf"
    big.write_bytes(os.urandom(1 << 20) * 12)  # 12 MiB: parts of 5, 5 and 2 MiB
    small = tmp_path / "small.txt"
    small.write_bytes(b"small")
    async with storage(s3, "s3://outbox/out", part_size=5 << 20) as output:
        assert await output.write_file("big.pdf", str(big), "application/pdf") == (
            "s3://outbox/out/big.pdf"
        )
        await output.write_file("small.txt", str(small), "text/plain")
        assert await output.read("big.pdf") == big.read_bytes()
        assert await output.read("small.txt") == b"small"
    async with s3.client() as client:
        head = await client.head_object(Bucket="outbox", Key="out/big.pdf")
        assert head["ContentType"] == "application/pdf"
        assert head["ETag"].strip('"').endswith("-3")  # a multipart object of 3 parts
        small_head = await client.head_object(Bucket="outbox", Key="out/small.txt")
        assert "-" not in small_head["ETag"]
        uploads = await client.list_multipart_uploads(Bucket="outbox")
        assert not uploads.get("Uploads")  # none left open


@pytest.mark.slow  # 11 MiB through moto
async def test_a_failed_multipart_upload_is_aborted_and_leaves_no_object(
    s3: MotoS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await s3.create_bucket("outbox")
    big = tmp_path / "big.pdf"
    big.write_bytes(b"x" * (11 << 20))
    async with storage(s3, "s3://outbox/out", part_size=5 << 20) as output:
        real_upload_part = output.client.upload_part
        calls = 0

        async def failing_upload_part(**kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == 2:  # the second part: the object must not appear
                kwargs["UploadId"] = "no-such-upload"
            return await real_upload_part(**kwargs)

        monkeypatch.setattr(output.client, "upload_part", failing_upload_part)
        with pytest.raises(ConfigError, match="outbox"):
            await output.write_file("big.pdf", str(big), "application/pdf")
        assert not await output.exists("big.pdf")
    async with s3.client() as client:
        uploads = await client.list_multipart_uploads(Bucket="outbox")
        assert not uploads.get("Uploads")  # aborted


async def test_listing_streams_page_by_page(s3: MotoS3) -> None:
    await s3.create_bucket("big")
    async with s3.client() as client:
        limit = asyncio.Semaphore(16)

        async def put(n: int) -> None:
            async with limit:
                await client.put_object(Bucket="big", Key=f"docs/{n:05d}.png", Body=b"x")

        await asyncio.gather(*(put(n) for n in range(120)))

    requests: list[dict[str, Any]] = []
    async with storage(s3, "s3://big/docs", page_size=10) as source:
        source.client.meta.events.register(
            "provide-client-params.s3.ListObjectsV2",
            lambda params, **_: requests.append(dict(params)),
        )
        listing = source.list(["*.png"])
        first = await anext(listing)
        assert first.key == "00000.png"
        assert len(requests) == 1  # the first document is out after one page, not 12
        rest = [obj.key async for obj in listing]
    assert len(rest) == 119 and rest[-1] == "00119.png"
    assert len(requests) == 12
    assert all(r["MaxKeys"] == 10 and r["Prefix"] == "docs/" for r in requests)


async def test_missing_bucket_is_a_config_error_on_open(s3: MotoS3) -> None:
    with pytest.raises(ConfigError, match=r"bucket 'no-such-bucket' at http.* does not exist"):
        async with storage(s3, "s3://no-such-bucket/in"):
            pytest.fail("opened a missing bucket")


async def test_denied_listing_is_a_config_error(
    s3: MotoS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    await s3.create_bucket("locked")
    creds = await s3.deny(monkeypatch, "s3:ListBucket", ["arn:aws:s3:::locked"])
    for name, value in creds.env().items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=r"access to bucket 'locked'.* is denied"):
        async with storage(s3, "s3://locked") as source:
            _ = [o async for o in source.list(["*"])]


async def test_denied_object_fails_only_that_document(
    s3: MotoS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    await s3.create_bucket("inbox")
    await s3.put("inbox", {"a.png": PNG, "secret.png": PNG, "z.png": PNG})
    creds = await s3.deny(monkeypatch, "s3:GetObject", ["arn:aws:s3:::inbox/secret.png"])
    for name, value in creds.env().items():
        monkeypatch.setenv(name, value)
    read: dict[str, bytes | str] = {}
    async with storage(s3, "s3://inbox") as source:
        async for obj in source.list(["*.png"]):
            try:
                async with source.local_path(obj) as path:
                    read[obj.key] = Path(path).read_bytes()
            except DocumentError as exc:
                assert isinstance(exc, ObjectUnreadable)
                read[obj.key] = str(exc)
    assert read["a.png"] == PNG and read["z.png"] == PNG
    assert read["secret.png"] == (
        "access to s3://inbox/secret.png is denied (AccessDenied): check the object's "
        "permissions (bucket policy, object ACL, KMS key)"
    )


async def test_object_deleted_after_listing_fails_that_document(s3: MotoS3) -> None:
    await s3.create_bucket("inbox")
    await s3.put("inbox", {"gone.pdf": b"%PDF"})
    async with storage(s3, "s3://inbox") as source:
        (obj,) = [o async for o in source.list(["*.pdf"])]
        async with s3.client() as client:
            await client.delete_object(Bucket="inbox", Key="gone.pdf")
        with pytest.raises(ObjectUnreadable, match="no longer exists"):
            async with source.local_path(obj):
                pytest.fail("read a deleted object")


async def test_missing_credentials_name_the_variables(
    s3: MotoS3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    await s3.create_bucket("inbox")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(ConfigError, match="AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"):
        async with storage(s3, "s3://inbox"):
            pytest.fail("opened without credentials")


async def test_unreachable_endpoint_is_a_config_error(s3: MotoS3) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    closed = S3Storage("s3://inbox", endpoint_url=f"http://127.0.0.1:{port}", max_attempts=1)
    with pytest.raises(ConfigError, match=r"cannot reach the S3 endpoint.*endpoint_url"):
        async with closed:
            pytest.fail("opened an unreachable endpoint")


async def test_etag_changes_with_content_only(s3: MotoS3) -> None:
    await s3.create_bucket("inbox")

    async def token() -> str | None:
        async with storage(s3, "s3://inbox") as source:
            (obj,) = [o async for o in source.list(["*.png"])]
            return obj.change_token

    await s3.put("inbox", {"a.png": PNG})
    first = await token()
    await s3.put("inbox", {"a.png": PNG})  # rewritten, same bytes
    assert await token() == first
    await s3.put("inbox", {"a.png": PNG + b"more"})
    assert await token() != first


def test_job_file_s3_tables(s3: MotoS3) -> None:
    spec = parse_job(
        'name = "j"\n[source]\nurl = "s3://inbox/scans"\n[source.s3]\n'
        'endpoint_url = "https://obs.cn-north-4.myhuaweicloud.com/"\nregion = "cn-north-4"\n'
        'addressing_style = "virtual"\n[output]\nurl = "s3://outbox"\n'
    )
    assert spec.source.s3 == S3Options(
        endpoint_url="https://obs.cn-north-4.myhuaweicloud.com", region="cn-north-4",
        addressing_style="virtual",
    )
    assert spec.output.s3 is None and spec.resolve(spec.output.url) == "s3://outbox"
    source = open_storage(spec.source.url, spec.source.s3)
    assert isinstance(source, S3Storage)
    assert (source.bucket, source.prefix, source.region) == ("inbox", "scans/", "cn-north-4")
    assert isinstance(open_storage("s3://outbox"), S3Storage)

    bad = [
        ('[source.s3]\naccess_key = "AKIA..."\n', "source.s3.access_key: unknown key"),
        ('[source.s3]\naddressing_style = "dns"\n', "source.s3.addressing_style"),
        ('[source.s3]\nendpoint_url = "obs.example.com"\n', "http(s)://"),
        ('[output.s3]\nregion = "x"\n', "only applies to s3://"),
    ]
    for table, message in bad:
        source_url = "s3://inbox" if table.startswith("[source") else "inbox"
        text = (
            f'name = "j"\n[output]\nurl = "outbox"\n[source]\nurl = "{source_url}"\n{table}'
        )
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
            parse_job(text)
    with pytest.raises(ConfigError, match="names no bucket"):
        open_storage("s3:///prefix")


async def test_both_storages_are_async_context_managers(s3: MotoS3, tmp_path: Path) -> None:
    await s3.create_bucket("outbox")
    targets: list[Storage] = [
        open_storage(str(tmp_path)),
        open_storage("s3://outbox/p", S3Options(endpoint_url=s3.endpoint_url)),
    ]
    for target in targets:
        async with target as opened:
            where = await opened.write("a/b.json", b"{}", "application/json")
            assert await opened.read("a/b.json") == b"{}"
            assert where.endswith("a/b.json")
    assert os.path.isfile(tmp_path / "a" / "b.json")
