"""Job files: the TOML a user writes, validated into a typed, frozen `JobSpec`.

Unknown keys are errors (a typo never silently falls back to a default), and every
problem is reported with the key that holds it. Credentials never live here: they come
from the environment or a credentials file (see `pipeline.ocr.credentials`).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from pipeline.cron import CronLine, ZoneName
from pipeline.errors import ConfigError
from pipeline.ocr_choice import check_api, check_table_formats, known_api, with_region

DEFAULT_INCLUDE = (
    "**/*.pdf",
    "**/*.png",
    "**/*.jpg",
    "**/*.jpeg",
    "**/*.tif",
    "**/*.tiff",
    "**/*.bmp",
)
OutputFormat = Literal["txt", "json", "docx", "pdf", "md", "hocr", "alto", "csv", "xlsx"]
"""csv and xlsx are the job's fields table (structured APIs), one file per job."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class S3Options(_Strict):
    """`[source.s3]` / `[output.s3]`: where the S3-compatible service is. Credentials come
    from the standard AWS environment variables or profile, never from here."""

    endpoint_url: str | None = Field(
        None,
        description="e.g. https://obs.cn-north-4.myhuaweicloud.com (OBS), http://127.0.0.1:9000 "
        "(MinIO); default: AWS S3",
    )
    region: str | None = Field(
        None, description="default: AWS_REGION / AWS_DEFAULT_REGION / the profile's region"
    )
    addressing_style: Literal["auto", "path", "virtual"] = "auto"

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint_url(cls, value: str | None) -> str | None:
        if value is None or value.startswith(("http://", "https://")):
            return value.rstrip("/") if value else value
        raise ValueError("must be an http(s):// URL")


def _s3_options_need_s3_url(url: str, s3: S3Options | None) -> None:
    if s3 is not None and not url.startswith("s3://"):
        raise ValueError("an [s3] table only applies to s3://bucket/prefix URLs")


class SourceSpec(_Strict):
    url: str = Field(description="A local folder or s3://bucket/prefix.")
    s3: S3Options | None = None
    include: tuple[str, ...] = Field(DEFAULT_INCLUDE, description="Glob patterns, relative.")
    exclude: tuple[str, ...] = ()
    pdf_password: str | None = Field(
        None, description="Password for encrypted PDFs (applies to every PDF of the job)."
    )
    follow_symlinks: bool = Field(
        False, description="Follow symbolic links in a local source (off: they are skipped)."
    )

    @model_validator(mode="after")
    def _s3(self) -> SourceSpec:
        _s3_options_need_s3_url(self.url, self.s3)
        return self


class OcrSpec(_Strict):
    endpoint: str = Field(
        "embedded",
        description='"embedded" starts a local service; else e.g. https://ocr.cn-north-4.myhuaweicloud.com',
    )
    api: str = Field("general-text", description="any Huawei OCR API (`ocrpipe apis` lists them)")
    options: dict[str, Any] = Field(
        default_factory=dict, description="API-specific request fields, e.g. {side = \"front\"}"
    )
    region: str | None = Field(
        None, description="e.g. cn-north-4: derives the OCR (and IAM) endpoint"
    )
    project_id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")] = "embedded"
    enterprise_project_id: str = "default"
    concurrency: Annotated[int, Field(ge=1, le=256)] = 4
    qps: Annotated[float, Field(gt=0, le=10_000)] = 10.0
    timeout: Annotated[float, Field(gt=0, le=600)] = 60.0
    detect_direction: bool = False
    language: str | None = None
    embedded_workers: Annotated[int, Field(ge=1, le=256)] | None = Field(
        None, description="Engine processes of the embedded service (default: CPU cores)."
    )
    embedded_engine: Literal["rapidocr", "auto", "tesseract"] = Field(
        "auto", description='Engine of the embedded service: "auto" (the default) reads '
        "Latin-script pages with Tesseract (faster), the others with RapidOCR; \"rapidocr\" "
        "reads every page with RapidOCR."
    )
    auth: Literal["aksk", "token"] = Field(
        "aksk", description='"token": IAM token auth (password from OCRPIPE_IAM_PASSWORD)'
    )
    iam_endpoint: str | None = Field(None, description="e.g. https://iam.cn-north-4.myhuaweicloud.com")
    iam_user: str | None = None
    iam_domain: str | None = Field(None, description="the account (domain) name")
    iam_project: str | None = Field(None, description="project name the token is scoped to")
    skip_text_pages: bool = Field(
        True, description="A PDF page whose text layer passes the checks is read, not sent."
    )
    skip_blank_pages: bool = Field(True, description="A near-uniform page is not sent.")
    reuse_results: bool = Field(
        True, description="A document already recognised (same content) reuses its pages."
    )

    @model_validator(mode="before")
    @classmethod
    def _region(cls, data: Any) -> Any:
        return with_region(data)

    @field_validator("api")
    @classmethod
    def _known_api(cls, value: str) -> str:
        return known_api(value)

    @model_validator(mode="after")
    def _api(self) -> OcrSpec:
        check_api(self.api, self.options, detect_direction=self.detect_direction,
                  language=self.language, endpoint=self.endpoint)
        return self

    @model_validator(mode="after")
    def _token_auth(self) -> OcrSpec:
        if self.auth == "token":
            missing = [k for k in ("iam_endpoint", "iam_user", "iam_domain", "iam_project")
                       if not getattr(self, k)]
            if missing:
                raise ValueError(f'auth = "token" needs {", ".join(missing)}')
            if self.endpoint == "embedded":
                raise ValueError('auth = "token" needs a remote endpoint, not "embedded"')
        return self

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        if value == "embedded" or value.startswith(("http://", "https://")):
            return value.rstrip("/")
        raise ValueError('must be "embedded" or an http(s):// URL')


class RenderSpec(_Strict):
    dpi: Annotated[int, Field(ge=50, le=600)] = 200
    rasterizer: Literal["pypdfium2", "pdf2image"] = "pypdfium2"
    max_side: Annotated[int, Field(ge=15, le=30_000)] = 4096


class OutputSpec(_Strict):
    url: str = Field(description="A local folder or s3://bucket/prefix.")
    s3: S3Options | None = None
    formats: tuple[OutputFormat, ...] = ("txt", "json")
    low_confidence: Annotated[float, Field(ge=0, le=1)] | None = Field(
        None, description="docx: highlight blocks recognised below this confidence."
    )
    layout: Literal["auto", "off"] = Field(
        "auto", description="layout regions (rapid-layout): auto = when docx or md is asked for."
    )
    txt_lines: bool = Field(True, description="txt: one line per OCR line; false reflows.")
    headers: Literal["keep", "drop"] = Field(
        "keep", description="docx/md: running headers and footers kept (Word header) or dropped."
    )

    @property
    def wants_layout(self) -> bool:
        return self.layout == "auto" and bool({"docx", "md"} & set(self.formats))

    @field_validator("formats")
    @classmethod
    def _formats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("list at least one format")
        return tuple(dict.fromkeys(value))

    @model_validator(mode="after")
    def _s3(self) -> OutputSpec:
        _s3_options_need_s3_url(self.url, self.s3)
        return self


class RunSpec(_Strict):
    temp_dir: str | None = Field(
        None, description="Folder for the run's temporary files (default: the system's)."
    )
class NotifySpec(_Strict):
    """`[notify]`: under `ocrpipe up`, who hears when the job ends (`ocrpipe run` ignores it)."""

    webhook: str = Field(description="POSTed the job's final JSON, signed (X-Ocrpipe-Signature)")

    @field_validator("webhook")
    @classmethod
    def _webhook(cls, value: str) -> str:
        if value.startswith(("http://", "https://")) and len(value.split("/", 3)[2]) > 0:
            return value
        raise ValueError("must be an http(s):// URL")


class BudgetSpec(_Strict):
    """`[budget]`: what the job does when its enterprise project's monthly budget (the
    billing file's `[[budget]]`) is spent: stop taking pages, or go on with a warning."""

    on_exceeded: Literal["stop", "continue"]


class JobSpec(_Strict):
    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    source: SourceSpec
    ocr: OcrSpec = Field(default_factory=lambda: OcrSpec.model_validate({}))
    render: RenderSpec = Field(default_factory=RenderSpec)
    output: OutputSpec
    run: RunSpec = Field(default_factory=RunSpec)
    notify: NotifySpec | None = None
    budget: BudgetSpec | None = None
    priority: Annotated[int, Field(ge=-100, le=100)] = Field(
        0, description="Queued under `ocrpipe up`: higher runs first; `ocrpipe run` ignores it."
    )
    schedule: CronLine | None = Field(
        None, description="Cron line (five fields, or @hourly/@daily/@weekly): `ocrpipe up "
        "--jobs DIR` runs the job at these times; `ocrpipe run` ignores it."
    )
    timezone: ZoneName = Field("UTC", description="IANA zone of the schedule's times.")
    overlap: Literal["skip", "queue"] = Field(
        "skip", description="A due time while the last run still runs: skip it, or queue."
    )
    misfire: Literal["run_once", "skip"] = Field(
        "run_once", description="Due times missed while `up` was down: one run, or none."
    )
    base_dir: Path = Field(Path("."), exclude=True)
    """Folder the job file's relative paths are resolved against (the current directory)."""

    @model_validator(mode="after")
    def _fields_table(self) -> JobSpec:
        check_table_formats(self.ocr.api, self.output.formats)
        return self

    def resolve(self, url: str) -> str:
        """A local path made absolute against the base folder; URLs pass through."""
        if "://" in url:
            return url
        path = Path(url).expanduser()
        return str(path if path.is_absolute() else (self.base_dir / path).resolve())


_PATTERN_WORDS = {
    r"^[A-Za-z0-9_.-]+$": "letters, digits, '_', '.' and '-' (no spaces)",
    r"^[A-Za-z0-9_-]+$": "letters, digits, '_' and '-' (no spaces)",
}
"""The patterns of the string keys above, in words (a raw regex says little to a user)."""


def describe_errors(error: ValidationError, guide: str = "Job files") -> str:
    """Pydantic's errors in a user's words, a line per key; `guide` names the README
    section that lists the keys."""
    lines = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            lines.append(f"  {where}: unknown key (check its spelling; see README '{guide}')")
        elif item["type"] == "missing":
            lines.append(f"  {where}: required key is missing")
        elif item["type"] == "string_pattern_mismatch":
            allowed = _PATTERN_WORDS.get(str((item.get("ctx") or {}).get("pattern")),
                                         "other characters")
            lines.append(f"  {where}: {item['input']!r} may hold only {allowed}")
        else:
            lines.append(f"  {where}: {item['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


def parse_job(text: str, *, origin: str = "<job>", base_dir: Path | None = None) -> JobSpec:
    """Validate job-file text. Raises ConfigError naming the file and each bad key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin} is not valid TOML: {exc}") from None
    return job_from_data(data, origin=origin, base_dir=base_dir)


def job_from_data(
    data: dict[str, Any], *, origin: str = "<job>", base_dir: Path | None = None
) -> JobSpec:
    """Validate a job given as data (a job file's keys: parsed TOML, or JSON from the API)."""
    if "base_dir" in data:
        raise ConfigError(f"{origin}: base_dir: unknown key")
    if where := _nul_inside(data):
        raise ConfigError(f"{origin} has errors:\n  {where}: holds a NUL character (\\x00), "
                          "which no path, URL or name may contain")
    try:
        return JobSpec.model_validate({**data, "base_dir": base_dir or Path.cwd()})
    except ValidationError as exc:
        raise ConfigError(f"{origin} has errors:\n{describe_errors(exc)}") from None


def _nul_inside(value: object, where: str = "") -> str | None:
    """The key of the first string (or key) holding a NUL character, or None: the file
    system and the database refuse it, so it is refused here, with its key named."""
    if isinstance(value, str):
        return (where or "(top level)") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{key}" if where else str(key)
            if "\x00" in str(key):
                return inner
            if found := _nul_inside(item, inner):
                return found
    if isinstance(value, list | tuple):
        for number, item in enumerate(value):
            if found := _nul_inside(item, f"{where}.{number}" if where else str(number)):
                return found
    return None


def load_job(path: Path) -> JobSpec:
    """Read and validate a job file. Relative paths in it are relative to the current folder."""
    return load_job_text(path, base_dir=Path.cwd())


def load_job_text(path: Path, *, base_dir: Path) -> JobSpec:
    """Read and validate a job file; relative paths in it are relative to `base_dir`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"job file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read job file {path}: {exc}") from None
    return parse_job(text, origin=str(path), base_dir=base_dir)
