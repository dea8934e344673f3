"""A real S3 endpoint for tests: moto's server on 127.0.0.1 (a free port), in this process.

`MotoS3` is started once per test session (the `moto_s3` fixture in conftest.py); the
`s3` fixture resets its state before each test and points the AWS variables at dummy
credentials. Access denied is real, not faked: `deny()` creates an IAM user whose
policy denies one action on some resources, then turns moto's request authorization on,
so every later request is checked against IAM exactly as AWS would.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiobotocore.session import get_session
from moto import settings as moto_settings
from moto.server import ThreadedMotoServer

DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str

    def env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}


class MotoS3:
    """moto's threaded server and a few helpers to arrange buckets through a real client."""

    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)

    def start(self) -> None:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        """Forget every bucket, object and IAM user (moto's own reset endpoint)."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def job_table(self) -> str:
        """The `[x.s3]` keys of a job file that point at this server."""
        return f'endpoint_url = "{self.endpoint_url}"\naddressing_style = "path"\n'

    @asynccontextmanager
    async def client(
        self, service: str = "s3", credentials: Credentials | None = None
    ) -> AsyncIterator[Any]:
        keys = credentials or Credentials("testing", "testing")
        async with get_session().create_client(
            service, endpoint_url=self.endpoint_url, region_name="us-east-1",
            aws_access_key_id=keys.access_key, aws_secret_access_key=keys.secret_key,
        ) as client:
            yield client

    async def create_bucket(self, bucket: str) -> None:
        async with self.client() as s3:
            await s3.create_bucket(Bucket=bucket)

    async def put(self, bucket: str, objects: dict[str, bytes]) -> None:
        async with self.client() as s3:
            for key, data in objects.items():
                await s3.put_object(Bucket=bucket, Key=key, Body=data)

    async def deny(
        self, monkeypatch: pytest.MonkeyPatch, action: str, resources: Iterable[str]
    ) -> Credentials:
        """Credentials allowed everything on S3 except `action` on `resources` (ARNs such
        as arn:aws:s3:::bucket/key); from now until the test ends, moto checks every
        request against IAM."""
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                {"Effect": "Deny", "Action": action, "Resource": list(resources)},
            ],
        }
        async with self.client("iam") as iam:
            await iam.create_user(UserName="restricted")
            await iam.put_user_policy(
                UserName="restricted", PolicyName="deny", PolicyDocument=json.dumps(policy)
            )
            key = (await iam.create_access_key(UserName="restricted"))["AccessKey"]
        monkeypatch.setattr(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
        return Credentials(key["AccessKeyId"], key["SecretAccessKey"])
