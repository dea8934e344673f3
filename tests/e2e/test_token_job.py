"""A whole job authenticating with an IAM token (auth = "token") against `ocrpipe serve`."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import parse_job
from pipeline.errors import AuthError, ConfigError
from pipeline.runner import run_job
from pipeline.service.authfile import hash_password, project_id_for
from pipeline.service.server import ServiceConfig, load_auth, running_service
from tests.support.inputs import text_page


def auth_file(tmp: Path) -> Path:
    path = tmp / "auth.toml"
    path.write_text(
        '[[users]]\nname = "alice"\ndomain = "acme"\n'
        f'password_hash = "{hash_password("s3cret-pass", iterations=1000)}"\n'
        'projects = ["cn-north-4"]\n'
    )
    return path


def job_text(tmp: Path, url: str) -> str:
    inputs = tmp / "in"
    inputs.mkdir(exist_ok=True)
    text_page(["Token auth works"], size=(700, 120)).save(inputs / "page.png")
    return (
        f'name = "token"\n[source]\nurl = "{inputs}"\n'
        f'[ocr]\nendpoint = "{url}"\nproject_id = "{project_id_for("cn-north-4")}"\n'
        f'auth = "token"\niam_endpoint = "{url}"\niam_user = "alice"\niam_domain = "acme"\n'
        'iam_project = "cn-north-4"\n'
        f'[output]\nurl = "{tmp / "out"}"\n'
    )


async def test_job_with_token_auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCRPIPE_DB", str(tmp_path / "state.db"))
    monkeypatch.delenv("HUAWEICLOUD_SDK_AK", raising=False)
    monkeypatch.delenv("HUAWEICLOUD_SDK_SK", raising=False)
    config = ServiceConfig(port=0, workers=1, auth=load_auth(auth_file(tmp_path)))
    async with running_service(config) as url:
        spec = parse_job(job_text(tmp_path, url))

        monkeypatch.setenv("OCRPIPE_IAM_PASSWORD", "wrong-password")
        with pytest.raises(AuthError):
            await run_job(spec)

        monkeypatch.setenv("OCRPIPE_IAM_PASSWORD", "s3cret-pass")
        summary = await run_job(spec)
    assert summary.documents_done == 1
    assert "auth works" in (tmp_path / "out" / "page.png.txt").read_text()


def test_token_auth_needs_a_remote_endpoint(tmp_path: Path) -> None:
    text = job_text(tmp_path, "http://127.0.0.1:9").replace(
        'endpoint = "http://127.0.0.1:9"', 'endpoint = "embedded"'
    )
    with pytest.raises(ConfigError, match="remote endpoint"):
        parse_job(text)
