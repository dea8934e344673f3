"""AK/SK credentials for the OCR service: from the environment or a credentials file.

Lookup order (the first that applies wins):

1. an explicit `path` argument: that TOML file;
2. `HUAWEICLOUD_SDK_AK` and `HUAWEICLOUD_SDK_SK` in the environment (the names the
   official Huawei SDK reads, so one set of variables serves both);
3. the file named by `OCRPIPE_CREDENTIALS`;
4. `~/.config/ocrpipe/credentials.toml`.

The file is TOML with two keys::

    ak = "YOUR_ACCESS_KEY_ID"
    sk = "YOUR_SECRET_ACCESS_KEY"

A pair per enterprise project may follow; a job of that project uses it, whatever the
environment holds (the top-level pair, or the environment, serves the other projects)::

    [projects.finance]
    ak = "FINANCE_ACCESS_KEY_ID"
    sk = "FINANCE_SECRET_ACCESS_KEY"

It should be readable by its owner only (`chmod 600`); a group- or world-readable file
is used but logged as a warning, unless it holds `iam_password` (token auth): then it is
refused, as ssh refuses such a private key. A file that is not UTF-8 is a clear error.
The secret key never appears in a repr, a log line or
an error message.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError
from pipeline.protocol.credentials import KeyPairError, env_key_pair, mode_if_shared
from pipeline.protocol.names import ENV_AK, ENV_SK

logger = logging.getLogger(__name__)

ENV_FILE = "OCRPIPE_CREDENTIALS"
DEFAULT_FILE = Path("~/.config/ocrpipe/credentials.toml")


@dataclass(frozen=True)
class Credentials:
    """An access key id (not secret, shown shortened) and its secret key (never shown)."""

    ak: str
    sk: str

    def __repr__(self) -> str:
        return f"Credentials(ak={_shorten(self.ak)!r}, sk='***')"

    __str__ = __repr__


def _shorten(ak: str) -> str:
    return ak if len(ak) <= 8 else f"{ak[:4]}...{ak[-4:]}"


def default_credentials_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the credentials file is looked for: `$OCRPIPE_CREDENTIALS` or the default."""
    env = os.environ if environ is None else environ
    named = env.get(ENV_FILE)
    return Path(named).expanduser() if named else DEFAULT_FILE.expanduser()


def load_credentials(
    path: Path | None = None, *, environ: Mapping[str, str] | None = None,
    project: str | None = None,
) -> Credentials:
    """Find the AK/SK pair (see the module docstring for the order; a `[projects.PROJECT]`
    pair of the credentials file comes first); `ConfigError` if none."""
    env = os.environ if environ is None else environ
    if path is not None:
        return _read_file(Path(path).expanduser(), explicit=True, project=project)
    if project is not None:
        file = default_credentials_path(env)
        if file.is_file() and project in _projects(read_credentials_toml(file), file):
            return _read_file(file, explicit=True, project=project)

    try:
        pair = env_key_pair(env)
    except KeyPairError as exc:
        raise ConfigError(f"{exc} (or neither, and use a credentials file)") from None
    if pair is not None:
        return Credentials(*pair)

    file = default_credentials_path(env)
    return _read_file(file, explicit=ENV_FILE in env)


def _read_file(file: Path, *, explicit: bool, project: str | None = None) -> Credentials:
    if not file.is_file():
        if explicit:
            raise ConfigError(f"credentials file {file} does not exist")
        raise ConfigError(
            "no OCR credentials found: set the environment variables "
            f"{ENV_AK} and {ENV_SK}, or write {file} containing\n"
            '    ak = "YOUR_ACCESS_KEY_ID"\n    sk = "YOUR_SECRET_ACCESS_KEY"\n'
            f"and make it private with: chmod 600 {file}"
        )
    data = read_credentials_toml(file)
    if "iam_password" in data:
        refuse_if_readable_by_others(file)
    else:
        _warn_if_readable_by_others(file)
    projects = _projects(data, file)
    if project is not None and project in projects:
        data = projects[project]

    ak, sk = data.get("ak"), data.get("sk")
    if not isinstance(ak, str) or not ak.strip() or not isinstance(sk, str) or not sk.strip():
        raise ConfigError(
            f'credentials file {file} needs two non-empty strings: ak = "..." and sk = "..."'
        )
    extra = sorted(set(data) - {"ak", "sk", "iam_password", "projects"})
    if extra:
        raise ConfigError(
            f"credentials file {file} has unknown keys {', '.join(extra)}: "
            "only ak, sk and iam_password (for token auth)"
        )
    return Credentials(ak.strip(), sk.strip())


def read_credentials_toml(file: Path) -> dict[str, object]:
    """The file's TOML; ConfigError for one that is unreadable, not UTF-8 or not TOML
    (saying where, never quoting the content)."""
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"credentials file {file} is not UTF-8 text (byte {exc.start} is not): save it "
            "as UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        # The decoder reports a position, never the offending text.
        raise ConfigError(f"credentials file {file} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read credentials file {file}: {exc.strerror}") from None


def refuse_if_readable_by_others(file: Path) -> None:
    """ConfigError if `file` (it holds a password) can be read by the group or others,
    as ssh does for private keys."""
    mode = mode_if_shared(file)
    if mode is not None:
        raise ConfigError(
            f"credentials file {file} holds iam_password and can be read by other users "
            f"(mode {mode:o}): run chmod 600 {file}"
        )
def _projects(data: dict[str, Any], file: Path) -> dict[str, dict[str, Any]]:
    """The `[projects.NAME]` tables of a credentials file."""
    projects = data.get("projects", {})
    if not isinstance(projects, dict) or not all(isinstance(v, dict) for v in projects.values()):
        raise ConfigError(f'credentials file {file}: projects: give tables, [projects.NAME] '
                          'with ak = "..." and sk = "..."')
    return projects


def _warn_if_readable_by_others(file: Path) -> None:
    mode = mode_if_shared(file)
    if mode is not None:
        logger.warning(
            "credentials file %s can be read by other users (mode %o): run chmod 600 %s",
            file, mode, file,
        )
