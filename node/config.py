"""NodeConfig: the typed configuration of one pod, loaded from TOML with HEARTH_* overrides.

Environment overrides name a key by its section and field joined with `__`, e.g.
`HEARTH_SERVER__PORT=8081` or `HEARTH_INSTANCE__REGISTRATION=closed`. Values of text keys are
taken as written; others are parsed as TOML values when they can be (numbers, booleans, arrays)
and taken as strings otherwise.
"""

from __future__ import annotations

import importlib.util
import os
import tomllib
from collections.abc import Mapping
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from node.urls import canonical_host

ENV_PREFIX = "HEARTH_"
# The longest anything stays valid, in days (ten years): login sessions, app tokens, invites.
# Longer is forever in practice (app tokens and invites can say forever outright), and expiry
# dates stay far from the year 9999 where Python's dates end: past it, every login failed.
MAX_DAYS = 3650
# Other durations are bounded by the same ten years, so no date they are added to overflows.
MAX_SECONDS = MAX_DAYS * 86400
MAX_MINUTES = MAX_DAYS * 1440
MAX_HOURS = MAX_DAYS * 24


class ConfigError(Exception):
    """A configuration problem, phrased as one line that names the key."""


class _Section(BaseModel):
    # Strict: values keep their TOML types, so `port = true` or `readers = 2.5` is an error
    # rather than port 1 or 2 readers (an int is still taken for a float).
    model_config = ConfigDict(extra="forbid", strict=True)


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    public_url: str = "http://127.0.0.1:8080"
    max_body_bytes: int = Field(1_048_576, ge=1024)
    body_read_timeout_seconds: float = Field(30.0, gt=0, le=MAX_SECONDS)
    workers: int = Field(1, ge=1, le=64)
    trusted_proxies: list[str] = Field(default_factory=list)
    event_loop: Literal["auto", "uvloop", "asyncio"] = "auto"

    @field_validator("event_loop")
    @classmethod
    def _loop(cls, value: str) -> str:
        if value == "uvloop" and importlib.util.find_spec("uvloop") is None:
            raise ValueError('uvloop is not installed ("auto" uses it only where it is)')
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return value

    @property
    def proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(ip_network(item, strict=False) for item in self.trusted_proxies)

    @field_validator("public_url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL such as http://127.0.0.1:8080")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("must have no path, query or fragment")
        if parts.username or parts.password:
            raise ValueError("must not carry credentials")
        try:
            port = parts.port
        except ValueError:
            raise ValueError("the port is not a number from 0 to 65535") from None
        # The host in the one form handles and other pods name it in (ASCII, lower case, no
        # trailing dot): others ask WebFinger for `name@xn--…`, never in another script.
        netloc = canonical_host(
            parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        )
        if netloc is None:
            raise ValueError("the host is not a valid host name")
        # A default port is left out, so handles read name@host, not name@host:443.
        if port is not None and port != {"http": 80, "https": 443}[parts.scheme]:
            netloc += f":{port}"
        return f"{parts.scheme}://{netloc}"


class StorageConfig(_Section):
    data_dir: Path = Field(Path("data"), strict=False)  # TOML has no paths: given as text
    database: str = "hearth.db"
    readers: int = Field(4, ge=1, le=32)


class InstanceConfig(_Section):
    name: str = "Hearth"
    description: str = "A Hearth pod"
    registration: Literal["open", "invite", "closed"] = "open"
    admin_email: str = ""


class AuthConfig(_Section):
    session_days: int = Field(90, ge=1, le=MAX_DAYS)
    argon2_time_cost: int = Field(3, ge=1)
    argon2_memory_kib: int = Field(65536, ge=8)
    login_max_failures: int = Field(5, ge=1)
    login_max_failures_per_address: int = Field(20, ge=1)
    login_window_seconds: int = Field(900, ge=1, le=MAX_SECONDS)


class FederationConfig(_Section):
    allow_private_addresses: bool = False
    signature_window_seconds: int = Field(3600, ge=1, le=MAX_SECONDS)
    max_inbox_bytes: int = Field(1_048_576, ge=1024)
    fetch_max_bytes: int = Field(1_048_576, ge=1024)
    fetch_timeout_seconds: float = Field(10.0, gt=0, le=MAX_SECONDS)
    fetch_max_redirects: int = Field(3, ge=0)
    delivery_workers: int = Field(16, ge=1)
    delivery_per_host: int = Field(4, ge=1)
    delivery_timeout_seconds: float = Field(15.0, gt=0, le=MAX_SECONDS)
    signing_threads: int = Field(2, ge=0, le=64)
    domain_pause_hours: float = Field(24.0, gt=0, le=MAX_HOURS)
    blocked_domains: list[str] = Field(default_factory=list)
    blocks_reload_seconds: float = Field(5.0, gt=0, le=MAX_SECONDS)
    inbox_seen_hours: float = Field(168.0, gt=0, le=MAX_HOURS)
    delivery_history_days: float = Field(30.0, gt=0, le=MAX_DAYS)
    key_refetch_interval_seconds: float = Field(60.0, gt=0, le=MAX_SECONDS)

    @model_validator(mode="after")
    def _seen_outlasts_the_window(self) -> FederationConfig:
        # An id forgotten while its signature could still pass would let a replay through. A
        # Date may lie up to the window ahead, so a request stays valid for twice the window.
        _outlasts_twice(
            self.inbox_seen_hours * 3600, "inbox_seen_hours",
            self.signature_window_seconds, "signature_window_seconds",
            f"{2 * self.signature_window_seconds} s",
        )  # fmt: skip
        return self


def _outlasts_twice(value: float, name: str, other: float, other_name: str, shown: str) -> None:
    """ValueError unless `value` is longer than twice `other` (in one unit; `shown`: twice
    `other` as the message gives it)."""
    if value <= 2 * other:
        raise ValueError(f"{name} must be longer than twice {other_name} ({shown})")


class MediaConfig(_Section):
    folder: str = "media"
    max_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    max_pixels: int = Field(40_000_000, ge=1)
    upload_url_minutes: float = Field(15.0, gt=0, le=MAX_MINUTES)
    pending_hours: float = Field(24.0, gt=0, le=MAX_HOURS)
    gc_interval_minutes: float = Field(60.0, gt=0, le=MAX_MINUTES)
    max_transform_dimension: int = Field(2048, ge=16, le=8192)
    default_quality: int = Field(80, ge=1, le=100)
    variant_cache_bytes: int = Field(1024 * 1024 * 1024, ge=0)
    image_workers: int = Field(2, ge=1)
    variant_wait_seconds: float = Field(5.0, ge=0, le=MAX_SECONDS)

    @field_validator("folder")
    @classmethod
    def _folder(cls, value: str) -> str:
        if not value or Path(value).is_absolute() or ".." in Path(value).parts:
            raise ValueError("must be a relative folder name inside data_dir")
        return value

    @model_validator(mode="after")
    def _pending_outlasts_an_upload(self) -> MediaConfig:
        # An upload may start as its URL expires and then take upload_url_minutes more to
        # arrive: removed as "never completed" before that, its owner's bytes would be lost
        # (the URL refused, or the transfer answered 404 at its end).
        _outlasts_twice(
            self.pending_hours * 60, "pending_hours",
            self.upload_url_minutes, "upload_url_minutes",
            f"{2 * self.upload_url_minutes:g} minutes",
        )  # fmt: skip
        return self


class CacheConfig(_Section):
    post_json_entries: int = Field(20_000, ge=0)
    viewer_marks_viewers: int = Field(256, ge=0)
    viewer_marks_posts: int = Field(2000, ge=0)


class NodeConfig(_Section):
    server: ServerConfig = Field(default_factory=ServerConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    instance: InstanceConfig = Field(default_factory=InstanceConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    federation: FederationConfig = Field(default_factory=FederationConfig)
    media: MediaConfig = Field(default_factory=MediaConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)

    @property
    def host(self) -> str:
        """The authority of the public URL (host[:port]); the domain part of handles."""
        return urlsplit(self.server.public_url).netloc

    @property
    def database_path(self) -> Path:
        return self.storage.data_dir / self.storage.database

    @property
    def media_path(self) -> Path:
        return self.storage.data_dir / self.media.folder


def _is_text(section: str, key: str) -> bool:
    """True when NodeConfig types `section.key` as text (str, Path or a Literal of strings)."""
    outer = NodeConfig.model_fields.get(section)
    model = outer.annotation if outer else None
    inner = (
        model.model_fields.get(key)
        if isinstance(model, type) and issubclass(model, BaseModel)
        else None
    )
    if inner is None:
        return False
    kind = inner.annotation
    if get_origin(kind) is Literal:
        return all(isinstance(arg, str) for arg in get_args(kind))
    return kind in (str, Path)


def _env_value(section: str, key: str, raw: str) -> Any:
    # Text keys take the value as written, so that HEARTH_INSTANCE__NAME=1984 stays a name.
    if _is_text(section, key):
        return raw
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> None:
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        if len(path) != 2 or not all(path):
            raise ConfigError(f"{name}: expected HEARTH_<SECTION>__<KEY>")
        section = data.setdefault(path[0], {})
        if not isinstance(section, dict):
            raise ConfigError(f"{path[0]}: must be a table")
        section[path[1]] = _env_value(path[0], path[1], raw)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"]) or "config"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    return f"{key}: {msg}"


def build_config(
    data: dict[str, Any], env: Mapping[str, str] | None = None, base: Path | None = None
) -> NodeConfig:
    """Validate a config mapping; relative data paths are taken from `base` (the file's folder)."""
    data = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    _apply_env(data, os.environ if env is None else env)
    try:
        config = NodeConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_first_error(exc)) from None
    if base is not None and not config.storage.data_dir.is_absolute():
        config.storage.data_dir = (base / config.storage.data_dir).resolve()
    return config


def load_config(path: Path, env: Mapping[str, str] | None = None) -> NodeConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: config file not found (create one with `hearth init`)"
        ) from None
    except OSError as exc:  # a folder, or not ours to read
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the config file is not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return build_config(data, env, base=path.resolve().parent)
