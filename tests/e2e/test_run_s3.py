"""End to end on object storage: `ocrpipe run` in a subprocess, reading from and writing to
buckets of a real S3 endpoint (moto's server on 127.0.0.1), with the embedded OCR service.

Access denied is enforced by moto against IAM (tests/s3server.py), not faked.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from tests.support.cli import ocrpipe, report
from tests.support.inputs import text_page, text_pdf
from tests.support.paths import REPO_ROOT
from tests.support.s3server import Credentials, MotoS3

CONTENT_TYPES = {
    "txt": "text/plain; charset=utf-8",
    "json": "application/json",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


def png(lines: list[str]) -> bytes:
    buffer = io.BytesIO()
    text_page(lines, size=(700, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def write_job(workdir: Path, s3: MotoS3, source: str, output: str) -> Path:
    job = workdir / "job.toml"
    job.write_text(
        f'name = "e2e-s3"\n[source]\nurl = "{source}"\n[source.s3]\n{s3.job_table()}'
        '[ocr]\nendpoint = "embedded"\nembedded_workers = 1\nconcurrency = 2\nqps = 20\n'
        f'[output]\nurl = "{output}"\nformats = {json.dumps(list(CONTENT_TYPES))}\n'
        f"[output.s3]\n{s3.job_table()}"
    )
    return job


def run_env(workdir: Path, credentials: Credentials | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("HUAWEICLOUD_SDK_", "AWS_"))
    }
    env.update(
        OCRPIPE_DB=str(workdir / "state.db"), HOME=str(workdir),
        PYTHONPATH=str(REPO_ROOT),
        AWS_EC2_METADATA_DISABLED="true", AWS_DEFAULT_REGION="us-east-1",
        **(credentials or Credentials("testing", "testing")).env(),
    )
    return env


async def test_bucket_to_bucket_with_bad_and_denied_objects_then_rerun(
    s3: MotoS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await s3.create_bucket("inbox")
    await s3.create_bucket("outbox")
    pdf = text_pdf(tmp_path / "letter.pdf", [["Invoice number 4711"]]).read_bytes()
    await s3.put("inbox", {
        "scans/über scan.png": png(["Hello storage"]),
        "scans/报告 2024/letter 1.pdf": pdf,
        "scans/bad/notes.png": b"this is a text file, not an image\n",
        "scans/secret.png": png(["Top secret"]),
    })
    creds = await s3.deny(monkeypatch, "s3:GetObject", ["arn:aws:s3:::inbox/scans/secret.png"])
    env = run_env(tmp_path, creds)
    write_job(tmp_path, s3, "s3://inbox/scans", "s3://outbox/results")

    first = ocrpipe("run", "job.toml", "--no-progress", cwd=tmp_path, env=env)
    assert first.returncode == 1, first.stdout + first.stderr  # some documents failed
    assert "2 done, 2 failed" in first.stdout, first.stdout
    lines = first.stdout.splitlines()
    notes = next(ln for ln in lines if "bad/notes.png:" in ln)
    assert "not an image" in notes.lower(), notes
    secret = next(ln for ln in lines if "secret.png:" in ln)
    assert "denied" in secret, secret

    async with s3.client(credentials=creds) as client:
        listing = await client.list_objects_v2(Bucket="outbox")
        keys = {item["Key"] for item in listing["Contents"]}
        expected = {
            f"results/{doc}.{fmt}"
            for doc in ("über scan.png", "报告 2024/letter 1.pdf") for fmt in CONTENT_TYPES
        }
        assert keys == expected  # nothing for the bad and the denied objects
        for key in sorted(keys):
            head = await client.head_object(Bucket="outbox", Key=key)
            assert head["ContentType"] == CONTENT_TYPES[key.rsplit(".", 1)[1]], key
            assert head["ContentLength"] > 0
        answer = await client.get_object(Bucket="outbox", Key="results/报告 2024/letter 1.pdf.txt")
        async with answer["Body"] as body:
            assert "4711" in (await body.read()).decode()
        answer = await client.get_object(Bucket="outbox", Key="results/über scan.png.json")
        async with answer["Body"] as body:
            assert json.loads(await body.read())["page_count"] == 1
    assert report(tmp_path, env)["default"]["billed"] == 2

    second = ocrpipe("run", "job.toml", "--no-progress", cwd=tmp_path, env=env)
    assert second.returncode == 1, second.stdout + second.stderr
    assert "2 unchanged" in second.stdout, second.stdout  # same ETags: nothing sent again
    assert report(tmp_path, env)["default"]["billed"] == 2
    assert creds.secret_key not in first.stdout + first.stderr + second.stdout + second.stderr


@pytest.mark.parametrize("missing", ["source", "output"])
async def test_missing_bucket_stops_the_job_before_any_ocr(
    s3: MotoS3, tmp_path: Path, missing: str
) -> None:
    await s3.create_bucket("inbox")
    await s3.put("inbox", {"a.png": png(["never sent"])})
    bucket = f"no-such-{missing}"
    if missing == "source":
        write_job(tmp_path, s3, f"s3://{bucket}/scans", "s3://inbox/results")
    else:
        write_job(tmp_path, s3, "s3://inbox", f"s3://{bucket}/results")
    env = run_env(tmp_path)
    result = ocrpipe("run", "job.toml", "--no-progress", cwd=tmp_path, env=env, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"bucket '{bucket}' at {s3.endpoint_url} does not exist" in result.stderr
    assert report(tmp_path, env) == {}  # no OCR call was ever attempted
