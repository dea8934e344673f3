"""Running the `ocrpipe` command line in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO_ROOT


def ocrpipe(
    *args: str, cwd: Path, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )


def base_env(workdir: Path) -> dict[str, str]:
    """This environment without Huawei credentials, with a state database and HOME in
    `workdir`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUAWEICLOUD_SDK_")}
    env.update(OCRPIPE_DB=str(workdir / "state.db"), HOME=str(workdir), PYTHONPATH=str(REPO_ROOT))
    return env


def report(workdir: Path, env: dict[str, str]) -> dict[str, dict[str, int]]:
    """`ocrpipe report --format json`, by enterprise project."""
    result = ocrpipe("report", "--format", "json", cwd=workdir, env=env)
    assert result.returncode == 0, result.stderr
    return {row["enterprise_project"]: row for row in json.loads(result.stdout)}
