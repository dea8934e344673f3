"""Before the OCR engine starts or any call is made: can the job read its source and
write its outputs?

A local output folder is created if missing, then a probe file is created, written,
fsynced, renamed and deleted in it, as every output will be; an S3 output gets a probe
object written and deleted. A local source must be a readable folder. Any refusal is a
`ConfigError` (exit 2) that names the path and what to change, found before anything is
billed rather than at the first result.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import ConfigError, DocumentError
from pipeline.storage import LocalStorage, Storage

if TYPE_CHECKING:
    from pipeline.storage.s3 import S3Storage

PROBE_PREFIX = ".ocrpipe-probe-"


async def check_source(source: Storage) -> None:
    if not isinstance(source, LocalStorage):
        return  # an S3 source's bucket is checked when the storage opens
    root = source.root
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "does not exist"
        raise ConfigError(f"source folder {root} {what}: check source.url in the job file")
    try:
        with os.scandir(root) as entries:
            next(entries, None)
    except OSError as exc:
        raise ConfigError(
            f"cannot read the source folder {root} ({exc.strerror or exc}): check its "
            "permissions or source.url"
        ) from None


async def check_output(output: Storage) -> None:
    if isinstance(output, LocalStorage):
        _probe_folder(output.root)
        return
    # botocore only for an S3 output: it is half a second of CPU to import
    from pipeline.storage.s3 import S3Storage

    if isinstance(output, S3Storage):
        await _probe_bucket(output)


def _probe_folder(root: Path) -> None:
    step = "create the output folder"
    probe = root / f"{PROBE_PREFIX}{secrets.token_hex(6)}"
    renamed = probe.with_name(probe.name + ".renamed")
    try:
        root.mkdir(parents=True, exist_ok=True)
        step = "create a file in the output folder"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            step = "write a file in the output folder"
            os.write(fd, b"ocrpipe probe\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        step = "rename a file in the output folder"
        os.replace(probe, renamed)
        step = "delete a file in the output folder"
        renamed.unlink()
    except OSError as exc:
        for leftover in (probe, renamed):
            try:
                leftover.unlink(missing_ok=True)
            except OSError:
                pass
        why = exc.strerror or str(exc)
        if isinstance(exc, FileExistsError | NotADirectoryError) and step.startswith("create the"):
            why = "a file is in the way where a folder should be"
        raise ConfigError(
            f"cannot {step} {root} ({why}): fix output.url or the folder's permissions; "
            "nothing was sent to OCR"
        ) from None


async def _probe_bucket(output: S3Storage) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    key = f"{PROBE_PREFIX}{secrets.token_hex(6)}"
    try:
        await output.write(key, b"ocrpipe probe\n", "text/plain")
        await output.client.delete_object(Bucket=output.bucket, Key=output.prefix + key)
    except (ClientError, BotoCoreError, OSError, DocumentError) as exc:
        raise ConfigError(
            f"cannot write to the output s3://{output.bucket}/{output.prefix} ({exc}): check "
            "output.url and the credentials' permissions; nothing was sent to OCR"
        ) from None
