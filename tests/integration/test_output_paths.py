"""Every output path is unique within a job, and a job never reads its own outputs
(issue 10, class 4)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from pipeline.config import parse_job
from pipeline.outputs import OutputClaims, OwnOutputs
from pipeline.runner import exit_code_of, run_job
from pipeline.testing import FakeOcrServer
from tests.support.inputs import text_page
from tests.support.jobs import FAKE_AK, FAKE_SK
from tests.support.s3server import MotoS3


def png(text: str) -> bytes:
    buffer = io.BytesIO()
    text_page([text], size=(320, 120)).save(buffer, "PNG")
    return buffer.getvalue()


async def test_two_s3_keys_that_land_on_one_local_path_do_not_overwrite_each_other(
    s3: MotoS3, tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    await s3.create_bucket("inbox")
    await s3.put("inbox", {
        "a//b.png": png("double slash"), "a/b.png": png("single slash"),
        "a/c.png": png("another"),
    })
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", FAKE_AK)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", FAKE_SK)
    monkeypatch.setenv("OCRPIPE_DB", str(tmp_path / "state.db"))
    spec = parse_job(
        f'name = "collide"\n[source]\nurl = "s3://inbox"\n[source.s3]\n{s3.job_table()}'
        f'[ocr]\nendpoint = "{server.url}"\nproject_id = "{server.project_id}"\n'
        f'[output]\nurl = "{tmp_path / "out"}"\n'
    )
    for _ in range(2):  # the same document wins on every run
        summary = await run_job(spec)
        (key, reason), = summary.failures
        assert key == "a/b.png" and "already the output of 'a//b.png'" in reason, reason
        assert exit_code_of(summary) == 1
    assert server.call_count == 2  # a//b.png and a/c.png, once each; a/b.png never sent
    assert sorted(p.name for p in (tmp_path / "out" / "a").iterdir()) == [
        "b.png.json", "b.png.txt", "c.png.json", "c.png.txt",
    ]


@pytest.mark.parametrize("keys", [
    ("a//b.png", "a/b.png"), ("a/./b.png", "a/b.png"), ("x/../a/b.png", "a/b.png"),
    ("/a/b.png", "a/b.png"),
])
def test_keys_that_normalise_to_one_path_are_claimed_once(keys: tuple[str, str]) -> None:
    claims = OutputClaims(["txt", "pdf"])
    first, second = keys
    assert claims.claim(first) is None
    assert claims.claim(first) is None  # the same document again (a retry) is fine
    problem = claims.claim(second)
    assert problem is not None and repr(first) in problem


def test_distinct_keys_are_not_confused() -> None:
    claims = OutputClaims(["txt"])
    assert all(claims.claim(k) is None for k in ("a/b.png", "a/B.png", "a/b.png.png", "ab.png"))


@pytest.mark.parametrize("where", ["inside", "same"])
async def test_outputs_inside_the_source_folder_are_not_read_back(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    source = tmp_path / "scans"
    source.mkdir()
    for n in range(2):
        text_page([f"Page {n}"], size=(320, 120)).save(source / f"p{n}.png")
    output = source / "ocr" if where == "inside" else source
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", FAKE_AK)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", FAKE_SK)
    monkeypatch.setenv("OCRPIPE_DB", str(tmp_path / "state.db"))
    spec = parse_job(
        f'name = "self-feed"\n[source]\nurl = "{source}"\ninclude = ["**/*"]\n'
        f'[ocr]\nendpoint = "{server.url}"\nproject_id = "{server.project_id}"\n'
        f'[output]\nurl = "{output}"\nformats = ["txt", "json", "pdf"]\n'
    )
    first = await run_job(spec)
    assert first.documents_done == 2 and not first.failures
    again = await run_job(spec)
    assert again.documents_skipped == 2 and again.documents_done == 0, again
    assert not again.failures and server.call_count == 2
    assert any("own outputs" in note for note in again.notices), again.notices
    assert not (output / "p0.png.pdf.pdf").exists()


def test_own_outputs_are_told_from_sources() -> None:
    same = OwnOutputs("/d/in", "/d/in", ["**/*.pdf", "**/*.png"], [])
    assert same.excludes("a.png.pdf") and same.excludes("x/a.pdf.txt")
    assert not same.excludes("report.v2.pdf") and not same.excludes("a.png")
    inside = OwnOutputs("/d/in", "/d/in/out", ["**/*"], [])
    assert inside.excludes("out/a.png.txt") and not inside.excludes("outline.png")
    apart = OwnOutputs("/d/in", "/d/out", ["**/*"], [])
    assert not apart.excludes("a.png.pdf")
