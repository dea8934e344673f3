from pathlib import Path
from typing import Any

import pytest

from pipeline.config import job_from_data, load_job, parse_job
from pipeline.errors import ConfigError
from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT

MINIMAL = """
name = "t"
[source]
url = "in/"
[output]
url = "out/"
"""


def test_sample_job_is_valid() -> None:
    spec = load_job(ROOT / "jobs" / "sample.toml")
    assert spec.ocr.endpoint == "embedded"
    assert spec.output.formats == ("txt", "json", "docx", "pdf")
    assert "**/*.pdf" in spec.source.include


def test_defaults_fill_in() -> None:
    spec = parse_job(MINIMAL, base_dir=Path("/data"))
    assert spec.ocr.concurrency == 4 and spec.ocr.qps == 10
    assert spec.resolve(spec.source.url) == "/data/in"
    assert spec.resolve("s3://bucket/x") == "s3://bucket/x"


def test_unknown_key_is_named() -> None:
    with pytest.raises(ConfigError) as info:
        parse_job(MINIMAL + "\n[ocr]\nconcurency = 3\n", origin="job.toml")
    assert "ocr.concurency: unknown key" in str(info.value)
    assert "job.toml" in str(info.value)


def test_missing_and_bad_values_are_named() -> None:
    text = 'name = "bad name!"\n[source]\nurl="x"\n[ocr]\nqps = -1\nendpoint = "ftp://x"\n'
    with pytest.raises(ConfigError) as info:
        parse_job(text)
    message = str(info.value)
    assert "output: required key is missing" in message
    assert "ocr.qps" in message and "ocr.endpoint" in message and "name" in message


def test_not_toml() -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_job("name = ")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_job(tmp_path / "nope.toml")


def test_every_job_file_in_the_repo_is_valid() -> None:
    # billing*.toml are billing files, not jobs (tests/unit/billing/test_config.py)
    files = sorted(p for p in (ROOT / "jobs").glob("*.toml") if not p.name.startswith("billing"))
    assert len(files) >= 2
    for path in files:
        assert load_job(path).name


def test_layout_is_on_for_word_and_markdown_unless_off() -> None:
    def output(lines: str) -> str:
        return 'name = "j"\n[source]\nurl = "in"\n[output]\nurl = "out"\n' + lines

    assert not parse_job(output("")).output.wants_layout  # txt and json only
    spec = parse_job(output('formats = ["md"]\n'))
    assert spec.output.wants_layout and spec.output.txt_lines and spec.output.headers == "keep"
    off = parse_job(output('formats = ["docx"]\nlayout = "off"\ntxt_lines = false\n'))
    assert not off.output.wants_layout and not off.output.txt_lines
    with pytest.raises(ConfigError) as info:
        parse_job(output('headers = "hide"\n'))
    assert "output.headers" in str(info.value)


@pytest.mark.parametrize(("data", "key"), [
    ({"name": "n", "source": {"url": "in\x00"}, "output": {"url": "out"}}, "source.url"),
    ({"name": "n", "source": {"url": "in", "include": ["*.png", "a\x00"]},
      "output": {"url": "out"}}, "source.include.1"),
    ({"name": "n", "source": {"url": "in"}, "output": {"url": "out"},
      "ocr": {"language": "\x00"}}, "ocr.language"),
])
def test_a_nul_character_is_refused_with_its_key(data: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match="NUL character") as caught:
        job_from_data(data)
    assert f"  {key}: holds a NUL character" in str(caught.value)
