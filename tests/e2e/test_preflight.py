"""Problems found before paying (issue 10, class 2): an output location that cannot be
written, or a source that cannot be read, stops `ocrpipe run` with exit 2 and the
reason before any OCR call; a source that matches nothing says so; the embedded engine
starts only when there is a page to send."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import parse_job
from pipeline.errors import ConfigError
from pipeline.runner import run_job
from pipeline.service import server as service_server
from pipeline.testing import FakeOcrServer
from tests.support.cli_run import environment, job_text, ocrpipe_run
from tests.support.inputs import text_page
from tests.support.jobs import FAKE_AK, FAKE_SK, image_job
from tests.support.s3server import MotoS3


def one_image(tmp: Path) -> Path:
    inputs = tmp / "in"
    inputs.mkdir()
    text_page(["Hello"], size=(320, 120)).save(inputs / "a.png")
    return inputs


def output_in_the_way(tmp: Path) -> tuple[str, str]:
    (tmp / "out").write_text("a file where the output folder should be")
    return str(tmp / "out"), "a file is in the way"


def output_below_a_file(tmp: Path) -> tuple[str, str]:
    (tmp / "plain").write_text("x")
    return str(tmp / "plain" / "out"), "cannot create the output folder"


def output_refusing_files(tmp: Path) -> tuple[str, str]:
    if not Path("/sys/kernel").is_dir():
        pytest.skip("needs Linux sysfs: a folder where no file can be created")
    return "/sys/kernel", "cannot create a file in the output folder"


def output_not_creatable(tmp: Path) -> tuple[str, str]:
    if not Path("/sys/kernel").is_dir():
        pytest.skip("needs Linux sysfs: a read-only file system")
    return "/sys/ocrpipe-out", "cannot create the output folder"


@pytest.mark.parametrize(
    "make_output",
    [output_in_the_way, output_below_a_file, output_refusing_files, output_not_creatable],
)
async def test_an_unusable_output_location_stops_before_any_ocr_call(
    tmp_path: Path, server: FakeOcrServer, make_output: object
) -> None:
    assert callable(make_output)
    output, reason = make_output(tmp_path)
    job = tmp_path / "job.toml"
    job.write_text(job_text("preflight", one_image(tmp_path), output, server))
    run = await ocrpipe_run(job, environment(tmp_path))
    assert run.code == 2 and run.no_traceback(), run.out
    assert reason in run.out and "nothing was sent to OCR" in run.out
    assert server.call_count == 0
    assert not list(Path(tmp_path).glob("**/.ocrpipe-probe-*"))  # the probe cleaned up


async def test_a_source_that_is_a_file_stops_with_exit_2(
    tmp_path: Path, server: FakeOcrServer
) -> None:
    source = tmp_path / "scan.pdf"
    source.write_bytes(b"%PDF-1.4")
    job = tmp_path / "job.toml"
    job.write_text(job_text("preflight", source, tmp_path / "out", server))
    run = await ocrpipe_run(job, environment(tmp_path))
    assert run.code == 2 and run.no_traceback() and "not a folder" in run.out, run.out


async def test_a_source_that_matches_nothing_says_so(
    tmp_path: Path, server: FakeOcrServer
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "notes.txt").write_text("not a scan")
    job = tmp_path / "job.toml"
    job.write_text(job_text("empty", inputs, tmp_path / "out", server))
    run = await ocrpipe_run(job, environment(tmp_path))
    assert run.code == 0, run.out
    assert f"no file under {inputs} matches" in run.out and "**/*.pdf" in run.out


async def test_the_embedded_engine_is_not_started_when_nothing_is_to_be_sent(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = image_job(tmp_path, server, monkeypatch, name="lazy", documents=2)
    first = await run_job(parse_job(text))
    assert first.documents_done == 2

    started: list[object] = []

    def no_engine(config: object) -> object:
        started.append(config)
        raise AssertionError("the embedded OCR service was started")

    # embedded.py imports it from there when it starts a service
    monkeypatch.setattr(service_server, "running_service", no_engine)
    embedded = text.replace(f'endpoint = "{server.url}"', 'endpoint = "embedded"')
    assert embedded != text
    again = await run_job(parse_job(embedded))
    assert again.documents_skipped == 2 and started == []


async def test_an_s3_output_that_refuses_writes_stops_before_any_ocr_call(
    tmp_path: Path, server: FakeOcrServer, s3: MotoS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    await s3.create_bucket("outbox")
    creds = await s3.deny(monkeypatch, "s3:PutObject", ["arn:aws:s3:::outbox/*"])
    for name, value in creds.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", FAKE_AK)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", FAKE_SK)
    monkeypatch.setenv("OCRPIPE_DB", str(tmp_path / "state.db"))
    spec = parse_job(
        f'name = "s3-out"\n[source]\nurl = "{one_image(tmp_path)}"\n'
        f'[ocr]\nendpoint = "{server.url}"\nproject_id = "{server.project_id}"\n'
        f'[output]\nurl = "s3://outbox/results"\n[output.s3]\n{s3.job_table()}'
    )
    with pytest.raises(ConfigError, match="outbox") as caught:
        await run_job(spec)
    assert "write" in str(caught.value)
    assert server.call_count == 0
