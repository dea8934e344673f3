"""API tokens for the job API: created, listed, revoked and checked, stored as SHA-256.

A token is shown once, when it is created; the store keeps only its hash, so a leaked
state database leaks no token. A token is bound to one enterprise project, or is an
admin token that sees every project.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select, update

from pipeline.errors import ConfigError
from pipeline.store.db import Store
from pipeline.store.schema import api_tokens

TOKEN_PREFIX = "ocp_"
PROJECT_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
"""What an enterprise project id may be (Huawei's are UUIDs, "0" or names like "default")."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    enterprise_project: str | None
    """None for an admin token."""
    admin: bool
    created_at: datetime
    revoked_at: datetime | None


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value and value.tzinfo is None else value


def _info(row: Any) -> TokenInfo:
    return TokenInfo(
        id=row.id, name=row.name, enterprise_project=row.enterprise_project,
        admin=bool(row.admin), created_at=_aware(row.created_at) or datetime.now(UTC),
        revoked_at=_aware(row.revoked_at),
    )


class TokenStore:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    async def create(
        self, *, name: str, enterprise_project: str | None, admin: bool = False
    ) -> tuple[str, TokenInfo]:
        """A new token (returned once, never stored) and its record."""
        if not admin and (enterprise_project is None
                          or not PROJECT_PATTERN.match(enterprise_project)):
            raise ConfigError(
                "a token needs --project EP (letters, digits, '_' or '-'), or --admin"
            )
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        async with self.engine.begin() as conn:
            result = await conn.execute(insert(api_tokens).values(
                token_hash=token_hash(token), name=name,
                enterprise_project=None if admin else enterprise_project, admin=admin,
                created_at=datetime.now(UTC),
            ))
            token_id = int(result.inserted_primary_key[0])  # type: ignore[index]
            row = (await conn.execute(select(api_tokens).where(api_tokens.c.id == token_id))).one()
        return token, _info(row)

    async def check(self, token: str) -> TokenInfo | None:
        """The live (not revoked) token's record, or None."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(api_tokens).where(and_(
                api_tokens.c.token_hash == token_hash(token), api_tokens.c.revoked_at.is_(None)
            )))).first()
        return _info(row) if row is not None else None

    async def list_tokens(self) -> list[TokenInfo]:
        async with self.engine.connect() as conn:
            return [_info(r) for r in await conn.execute(
                select(api_tokens).order_by(api_tokens.c.id)
            )]

    async def revoke(self, id_or_name: str) -> int:
        """Revoke the token with this id, or every live token with this name; how many."""
        match = api_tokens.c.name == id_or_name
        if id_or_name.isdigit():
            match = or_(match, api_tokens.c.id == int(id_or_name))
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(api_tokens).where(and_(match, api_tokens.c.revoked_at.is_(None)))
                .values(revoked_at=datetime.now(UTC))
            )
            return int(result.rowcount)
