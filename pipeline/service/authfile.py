"""The service's auth file (`ocrpipe serve --auth-file`): who may call, and how.

    # ocrpipe-auth.toml (chmod 600 it)
    [[credentials]]                 # AK/SK pairs (SDK-HMAC-SHA256 signatures)
    ak = "MYACCESSKEY"
    sk = "my-secret-key"
    security_token = "..."          # optional: a temporary key, X-Security-Token required

    [[users]]                       # IAM users, for POST /v3/auth/tokens (token auth)
    name = "alice"
    domain = "acme"                 # the account name
    password_hash = "pbkdf2_sha256$600000$...$..."   # `ocrpipe serve hash-password`
    projects = ["cn-north-4"]       # project names the user may scope a token to

    [[projects]]                    # optional: project ids (default: md5 of the name)
    name = "cn-north-4"
    id = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"

    [admin]                         # optional: GET /v1/usage with header X-Admin-Key
    key_hash = "pbkdf2_sha256$600000$...$..."

    [tokens]
    ttl_hours = 24                  # optional: token lifetime (default 24)

Passwords and the admin key are stored as PBKDF2-SHA256 hashes (stdlib `hashlib`),
compared in constant time, never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .apierror import SetupError

HASH_SCHEME = "pbkdf2_sha256"
HASH_ITERATIONS = 600_000
"""OWASP's 2023 figure for PBKDF2-HMAC-SHA256 (about 0.3 s on these CPUs)."""
DEFAULT_TOKEN_TTL_HOURS = 24.0


def hash_password(password: str, *, iterations: int = HASH_ITERATIONS) -> str:
    """`pbkdf2_sha256$ITERATIONS$SALT$HASH` (salt and hash in Base64)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    encode = base64.b64encode
    return f"{HASH_SCHEME}${iterations}${encode(salt).decode()}${encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, iterations, salt, digest = stored.split("$")
        if scheme != HASH_SCHEME:
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.pbkdf2_hmac(
            "sha256", password.encode(), base64.b64decode(salt), int(iterations)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _valid_hash(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parts = value.split("$")
    return len(parts) == 4 and parts[0] == HASH_SCHEME and parts[1].isdigit()


def project_id_for(name: str) -> str:
    return hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class User:
    name: str
    domain: str
    password_hash: str = field(repr=False)
    projects: tuple[str, ...]


@dataclass
class AuthConfig:
    credentials: dict[str, str] = field(default_factory=dict, repr=False)
    """AK -> SK."""
    security_tokens: dict[str, str] = field(default_factory=dict, repr=False)
    """AK -> the X-Security-Token a temporary key must send."""
    users: dict[tuple[str, str], User] = field(default_factory=dict)
    """(domain, user name) -> User."""
    projects: dict[str, str] = field(default_factory=dict)
    """project name -> project id."""
    admin_key_hash: str | None = field(default=None, repr=False)
    token_ttl_hours: float = DEFAULT_TOKEN_TTL_HOURS

    @property
    def empty(self) -> bool:
        return not self.credentials and not self.users

    def project_id(self, name: str) -> str:
        return self.projects.get(name) or project_id_for(name)


def parse_auth_data(path: Path, data: dict[str, Any]) -> AuthConfig:
    """Everything but [[credentials]] (auth.py reads those, for compatibility)."""
    config = AuthConfig()
    for number, entry in enumerate(_tables(path, data, "projects"), start=1):
        where = f"The auth file {path}, projects entry {number}"
        if set(entry) - {"name", "id"} or not _text(entry.get("name")):
            raise SetupError(f'{where} needs name = "..." and may have id = "..."')
        project_id = entry.get("id") or project_id_for(entry["name"])
        if not _text(project_id) or "/" in project_id:
            raise SetupError(f"{where}: id must be a non-empty string without '/'")
        config.projects[entry["name"]] = project_id
    for number, entry in enumerate(_tables(path, data, "users"), start=1):
        where = f"The auth file {path}, users entry {number}"
        allowed = {"name", "domain", "password_hash", "projects"}
        if set(entry) - allowed or not all(_text(entry.get(k)) for k in ("name", "domain")):
            raise SetupError(
                f"{where} needs name, domain, password_hash and projects (a list of names)"
            )
        if not _valid_hash(entry.get("password_hash")):
            raise SetupError(
                f"{where}: password_hash must be a {HASH_SCHEME} hash from "
                "`ocrpipe serve hash-password`, never the password itself"
            )
        projects = entry.get("projects", [])
        if not isinstance(projects, list) or not all(_text(p) for p in projects):
            raise SetupError(f"{where}: projects must be a list of project names")
        user = User(entry["name"], entry["domain"], entry["password_hash"], tuple(projects))
        config.users[(user.domain, user.name)] = user
    admin = data.get("admin", {})
    if not isinstance(admin, dict) or set(admin) - {"key_hash"}:
        raise SetupError(f"The auth file {path}: [admin] has only key_hash")
    if "key_hash" in admin:
        if not _valid_hash(admin["key_hash"]):
            raise SetupError(f"The auth file {path}: [admin] key_hash must be a hash")
        config.admin_key_hash = admin["key_hash"]
    tokens = data.get("tokens", {})
    ttl = tokens.get("ttl_hours", DEFAULT_TOKEN_TTL_HOURS) if isinstance(tokens, dict) else None
    if (
        not isinstance(tokens, dict)
        or set(tokens) - {"ttl_hours"}
        or not isinstance(ttl, int | float)
        or isinstance(ttl, bool)
        or ttl <= 0
    ):
        raise SetupError(f"The auth file {path}: [tokens] has only ttl_hours, a positive number")
    config.token_ttl_hours = float(ttl)
    return config


def _tables(path: Path, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    entries = data.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise SetupError(f"The auth file {path}: {key} must be [[{key}]] tables")
    return entries


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip()) and value == value.strip()
