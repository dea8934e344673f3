"""The AK/SK pair the official SDK reads from the environment, and the check that a file
holding secrets is private. The client (`pipeline.ocr.credentials`) and the service
(`pipeline.service.auth`) both read keys this way; each turns `KeyPairError` into its own
configuration error.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from pipeline.protocol.names import ENV_AK, ENV_SK


class KeyPairError(ValueError):
    """Only one half of the AK/SK pair is set. `str()` says which, never a value."""


def env_key_pair(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """`(ak, sk)` from HUAWEICLOUD_SDK_AK/SK, stripped; None if neither is set."""
    env = os.environ if environ is None else environ
    ak, sk = env.get(ENV_AK, "").strip(), env.get(ENV_SK, "").strip()
    if ak and sk:
        return ak, sk
    if ak or sk:
        present, missing = (ENV_AK, ENV_SK) if ak else (ENV_SK, ENV_AK)
        raise KeyPairError(f"{present} is set but {missing} is not: set both, or neither")
    return None


def mode_if_shared(path: Path) -> int | None:
    """The permission bits of `path` when users other than its owner may read or write it
    (anything beyond 0600/0700 on POSIX), else None. None too if it cannot be examined."""
    if os.name != "posix":
        return None
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    return stat.S_IMODE(mode) if mode & (stat.S_IRWXG | stat.S_IRWXO) else None
