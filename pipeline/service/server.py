"""Start and stop the embedded OCR service: `ocrpipe serve` (blocking) and `running_service`
(inside an event loop that is already running: `ocrpipe run` with endpoint "embedded", tests).

Authentication is on by default. With no credentials configured (no auth file, no
HUAWEICLOUD_SDK_AK/SK) the service refuses to start unless `auth_required=False`
(`--no-auth`), in which case it accepts unsigned requests; on an address other than
loopback that also needs `insecure=True` (`--insecure`).

Connections go through the connection guard (connections.py: counts per address and in
all, header deadline); idle keep-alive connections close after `limits.idle_timeout`.

The OCR workers are started with multiprocessing "spawn": a script that starts the service
must guard its entry point with `if __name__ == "__main__":` (the `ocrpipe` command does).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing, suppress
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from pipeline.protocol import names
from pipeline.protocol.limits import MAX_BODY_BYTES

from . import auth
from .apierror import SetupError
from .app import CONNECTIONS, ServiceLimits, create_app
from .authfile import AuthConfig
from .connections import HTTP_LOGGER, GuardedSite
from .engine import ENGINES, OcrEngine
from .rapid import check_device
from .statedb import describe, open_state

logger = logging.getLogger("pipeline.service")

SHUTDOWN_TIMEOUT_S = 30.0
"""How long a stopping service lets requests in flight finish."""
LINGERING_S = 2.0
"""How long the rest of a body is read and dropped after an early answer (aiohttp's
default, 10 s, is a gift to slow clients), so the client can read the answer."""


@dataclass
class ServiceConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    """0 picks a free port (running_service yields the one it got)."""
    workers: int | None = None
    """OCR worker processes; None = the number of cores."""
    credentials: dict[str, str] = field(default_factory=dict, repr=False)
    """AK -> SK accepted for signed requests (generated keys, say), added to `auth`."""
    auth_required: bool = True
    auth: AuthConfig = field(default_factory=AuthConfig)
    """The whole auth file (users, tokens, admin key, temporary keys): `load_auth`."""
    engine: str = "rapidocr"
    device: str = "cpu"
    queue_size: int = 16
    """Pages that may wait for a worker; one more answers 429 ModelArts.4401."""
    limits: ServiceLimits = field(default_factory=ServiceLimits)
    cert: Path | None = None
    key: Path | None = None
    """TLS certificate chain and private key (PEM): serve https."""
    state: Path | None = None
    """SQLite file that keeps usage counts and tokens across restarts (statedb.py); None:
    in memory only (the embedded service of `ocrpipe run`). `ocrpipe serve` defaults to
    .ocrpipe/service.db."""
    insecure: bool = False
    """Allow `auth_required=False` on an address other than loopback."""

    def merged_auth(self) -> AuthConfig:
        merged = AuthConfig(**vars(self.auth))
        merged.credentials = {**self.auth.credentials, **self.credentials}
        return merged


def load_auth(auth_file: Path | None) -> AuthConfig:
    """The whole auth file (authfile.py) plus the HUAWEICLOUD_SDK_AK/SK pair."""
    return auth.load_auth(auth_file)


def check_config(config: ServiceConfig) -> None:
    if config.auth_required and config.merged_auth().empty:
        raise SetupError(
            "No credentials configured for the OCR service: give --auth-file (TOML with "
            f'[[credentials]] ak = "..." sk = "..."), or set {names.ENV_AK} and {names.ENV_SK}; '
            "or pass --no-auth to accept unsigned requests (loopback use only)"
        )
    if config.workers is not None and config.workers < 1:
        raise SetupError(f"workers must be 1 or more, not {config.workers}")
    if not 0 <= config.port <= 65535:
        raise SetupError(f"port must be 0..65535, not {config.port}")
    if config.engine not in ENGINES:
        raise SetupError(f"unknown engine {config.engine!r}: choose one of {', '.join(ENGINES)}")
    if config.device not in ("cpu", "cuda"):
        raise SetupError(f"unknown device {config.device!r}: cpu or cuda")
    if config.device == "cuda":
        if config.engine != "rapidocr":
            raise SetupError("--device cuda runs the rapidocr engine only")
        check_device(config.device)
    if (config.cert is None) != (config.key is None):
        raise SetupError("give both --cert and --key for TLS, or neither")
    if config.queue_size < 0:
        raise SetupError(f"queue size must be 0 or more, not {config.queue_size}")
    if config.limits.request_timeout <= 0 or config.limits.rate_limit_per_minute < 0:
        raise SetupError("the request timeout must be positive, the rate limit 0 or more")
    if not config.auth_required and not config.insecure and not is_loopback(config.host):
        raise SetupError(
            f"--no-auth on {config.host or 'all addresses'} would let anyone on the network "
            "use the service: listen on 127.0.0.1, configure credentials, or add --insecure "
            "if that is really meant"
        )
    limits = config.limits
    if min(limits.header_timeout, limits.body_timeout, limits.idle_timeout) <= 0:
        raise SetupError("the header, body and idle timeouts must be positive")
    if min(limits.max_connections, limits.max_connections_per_address) < 1:
        raise SetupError("the connection limits must be 1 or more")
    if limits.preauth_buffer_bytes < MAX_BODY_BYTES:
        raise SetupError(
            f"the pre-authentication buffer must hold one whole body ({MAX_BODY_BYTES} bytes)"
        )


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or "localhost") is a loopback address only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _ssl_context(config: ServiceConfig) -> ssl.SSLContext | None:
    if config.cert is None or config.key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(config.cert, config.key)
    except (OSError, ssl.SSLError) as exc:
        raise SetupError(
            f"Cannot load the TLS certificate {config.cert} and key {config.key}: {exc}"
        ) from None
    return context


@asynccontextmanager
async def running_service(config: ServiceConfig) -> AsyncIterator[str]:
    """Run the service in the current event loop; yield its base URL
    ("http://127.0.0.1:PORT"); on exit stop listening, finish requests, stop the workers."""
    check_config(config)
    context = _ssl_context(config)
    with closing(open_state(config.state)) as db:
        app = create_app(
            OcrEngine(
                config.workers, engine=config.engine, queue_size=config.queue_size,
                device=config.device,
            ),
            config.merged_auth(),
            auth_required=config.auth_required,
            limits=config.limits,
            db=db,
        )
        runner = web.AppRunner(
            app,
            access_log=None,
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
            keepalive_timeout=config.limits.idle_timeout,
            lingering_time=LINGERING_S,
            logger=HTTP_LOGGER,
        )
        await runner.setup()  # starts the OCR workers (cleanup_ctx)
        try:
            site = GuardedSite(
                runner, app[CONNECTIONS], host=config.host, port=config.port,
                ssl_context=context,
            )
            try:
                await site.start()
            except OSError as exc:
                raise SetupError(
                    f"Cannot listen on {config.host}:{config.port}: {exc.strerror or exc}"
                ) from None
            url = _base_url(
                config.host, _bound_port(runner, config.port), tls=context is not None
            )
            logger.info(
                "OCR service listening on %s (auth %s; usage and tokens kept in %s)",
                url,
                "on" if config.auth_required else "OFF",
                describe(config.state),
            )
            yield url
        finally:
            await runner.cleanup()
            if context is not None:
                # Let the TLS connections the cleanup closed finish their shutdown
                # handshakes before the caller's loop may close (else their sockets leak).
                await asyncio.sleep(0.2)


def serve(config: ServiceConfig) -> None:
    """Run the service until SIGINT or SIGTERM, then stop gracefully (blocking)."""
    check_config(config)
    asyncio.run(_serve_until_signalled(config))


async def _serve_until_signalled(config: ServiceConfig) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    handled: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError):  # not on Windows / main thread
            loop.add_signal_handler(signum, stop.set)
            handled.append(signum)
    try:
        async with running_service(config):
            await stop.wait()
            logger.info("OCR service stopping")
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)
    logger.info("OCR service stopped")


def _bound_port(runner: web.AppRunner, requested: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return requested


def _base_url(host: str, port: int, *, tls: bool = False) -> str:
    """A URL a local client can use: wildcard hosts become loopback, IPv6 is bracketed."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    with suppress(ValueError):
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    return f"{'https' if tls else 'http'}://{host}:{port}"
