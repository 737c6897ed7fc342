"""NodeConfig: TOML, HEARTH_SECTION__KEY overrides, one-line errors, the documented example."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from node.config import ConfigError, NodeConfig, build_config, load_config
from node.eventloop import chosen, new_loop

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def model_keys(model: type[BaseModel]) -> dict[str, Any]:
    """The model's fields as a tree: sections map to their keys, leaves to None."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        kind = info.annotation
        nested = isinstance(kind, type) and issubclass(kind, BaseModel)
        out[name] = model_keys(kind) if nested else None  # type: ignore[arg-type]
    return out


def data_keys(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data_keys(v) if isinstance(v, dict) else None for k, v in data.items()}


def error_of(data: dict[str, Any], env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        build_config(data, env=env or {})
    return str(info.value)


# --- config.example.toml --------------------------------------------------------------------


def test_example_documents_exactly_the_models_keys() -> None:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert data_keys(data) == model_keys(NodeConfig)


def test_example_validates_and_shows_the_defaults() -> None:
    config = load_config(EXAMPLE, env={})
    assert isinstance(config, NodeConfig)
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert build_config(data, env={}) == NodeConfig()


def test_every_key_has_a_comment() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if "=" in line and not line.lstrip().startswith("#"):
            above = lines[:i]
            # The nearest non-key line above is a comment (keys may share one comment).
            for prev in reversed(above):
                if "=" in prev and not prev.lstrip().startswith("#"):
                    continue
                assert prev.lstrip().startswith("#"), f"undocumented: {line}"
                break


# --- loading --------------------------------------------------------------------------------


def test_defaults() -> None:
    config = build_config({}, env={})
    assert config.server.port == 8080
    assert config.instance.registration == "open"
    assert config.host == "127.0.0.1:8080"
    assert config.database_path == Path("data") / "hearth.db"


def test_relative_data_dir_is_taken_from_the_files_folder(tmp_path: Path) -> None:
    path = tmp_path / "pod" / "config.toml"
    path.parent.mkdir()
    path.write_text('[storage]\ndata_dir = "here"\n', encoding="utf-8")
    config = load_config(path, env={})
    assert config.storage.data_dir == tmp_path / "pod" / "here"
    absolute = tmp_path / "elsewhere"
    path.write_text(f'[storage]\ndata_dir = "{absolute}"\n', encoding="utf-8")
    assert load_config(path, env={}).storage.data_dir == absolute


def test_public_url_is_normalised() -> None:
    config = build_config({"server": {"public_url": "https://Pod.Example.ORG:8443/"}}, env={})
    assert config.server.public_url == "https://pod.example.org:8443"
    assert config.host == "pod.example.org:8443"


def test_missing_file_and_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[server\nport = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_config(bad, env={})
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"server": {"port": "eighty"}}, "server.port"),
        ({"server": {"port": 70000}}, "server.port"),
        ({"server": {"port": -1}}, "server.port"),
        ({"server": {"public_url": "ftp://x.example"}}, "server.public_url"),
        ({"server": {"public_url": "http://x.example/pod"}}, "server.public_url"),
        ({"server": {"public_url": "x.example"}}, "server.public_url"),
        ({"server": {"max_body_bytes": 10}}, "server.max_body_bytes"),
        ({"server": {"event_loop": "trio"}}, "server.event_loop"),
        ({"server": {"prot": 80}}, "server.prot"),
        ({"server": 5}, "server"),
        ({"storage": {"data_dir": 5}}, "storage.data_dir"),
        ({"instance": {"registration": "maybe"}}, "instance.registration"),
        ({"auth": {"session_days": 0}}, "auth.session_days"),
        ({"auth": {"session_days": 3651}}, "auth.session_days"),  # past MAX_DAYS
        ({"auth": {"session_days": 3_000_000}}, "auth.session_days"),  # past the year 9999
        ({"auth": {"argon2_time_cost": "three"}}, "auth.argon2_time_cost"),
        ({"federation": {"fetch_timeout_seconds": 0}}, "federation.fetch_timeout_seconds"),
        # Durations past ten years would overflow the dates they are added to.
        ({"auth": {"login_window_seconds": 10**14}}, "auth.login_window_seconds"),
        ({"federation": {"inbox_seen_hours": 1e14}}, "federation.inbox_seen_hours"),
        ({"federation": {"domain_pause_hours": 1e9}}, "federation.domain_pause_hours"),
        ({"media": {"pending_hours": 1e9}}, "media.pending_hours"),
        ({"media": {"upload_url_minutes": 1e12}}, "media.upload_url_minutes"),
        ({"federation": {"blocked_domains": "a.example"}}, "federation.blocked_domains"),
        (
            {"federation": {"allow_private_addresses": "sometimes"}},
            "federation.allow_private_addresses",
        ),
        ({"nonsense": {}}, "nonsense"),
        # Wrong TOML types are not converted: true is no port, 2.5 no count, 1 no boolean.
        ({"server": {"port": True}}, "server.port"),
        ({"storage": {"readers": 2.5}}, "storage.readers"),
        ({"federation": {"allow_private_addresses": 1}}, "federation.allow_private_addresses"),
        ({"instance": {"name": 5}}, "instance.name"),
    ],
)
def test_bad_values_name_the_key_in_one_line(data: dict[str, Any], key: str) -> None:
    message = error_of(data)
    assert message.startswith(f"{key}: "), message
    assert "\n" not in message and len(message) < 200


def test_unfinished_uploads_are_kept_as_long_as_an_upload_may_take() -> None:
    """An upload may start as its URL expires, then take upload_url_minutes to arrive: gc
    taking it for one never completed before that would remove it while the bytes arrive."""
    for media in ({"pending_hours": 0.25}, {"pending_hours": 1.0, "upload_url_minutes": 30.0}):
        message = error_of({"media": media})
        assert message.startswith("media: pending_hours must be longer than twice"), message
    config = build_config({"media": {"pending_hours": 0.25, "upload_url_minutes": 7.0}}, env={})
    assert config.media.pending_hours == 0.25


def test_unknown_key_says_so() -> None:
    assert error_of({"server": {"prot": 80}}) == "server.prot: unknown key"


# --- environment overrides ------------------------------------------------------------------


def test_env_overrides_file_values() -> None:
    data = {"server": {"port": 1234}, "instance": {"name": "From file"}}
    env = {
        "HEARTH_SERVER__PORT": "8081",
        "HEARTH_INSTANCE__REGISTRATION": "closed",
        "HEARTH_FEDERATION__ALLOW_PRIVATE_ADDRESSES": "true",
        "HEARTH_FEDERATION__BLOCKED_DOMAINS": '["bad.example", "worse.example"]',
        "HEARTH_FEDERATION__FETCH_TIMEOUT_SECONDS": "2.5",
        "HEARTH_STORAGE__DATA_DIR": "/srv/hearth",
        "PATH": "/usr/bin",
        "HEARTHY": "not ours",
    }
    config = build_config(data, env=env)
    assert config.server.port == 8081
    assert config.instance.name == "From file"
    assert config.instance.registration == "closed"
    assert config.federation.allow_private_addresses is True
    assert config.federation.blocked_domains == ["bad.example", "worse.example"]
    assert config.federation.fetch_timeout_seconds == 2.5
    assert config.storage.data_dir == Path("/srv/hearth")
    assert data == {"server": {"port": 1234}, "instance": {"name": "From file"}}  # not mutated


def test_env_prefix_is_upper_case_and_names_any_case() -> None:
    assert build_config({}, env={"hearth_server__port": "9"}).server.port == 8080  # not ours
    assert build_config({}, env={"HEARTH_Server__Port": "9"}).server.port == 9


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("HEARTH_INSTANCE__NAME", "1984"),
        ("HEARTH_INSTANCE__NAME", "true"),
        ("HEARTH_INSTANCE__DESCRIPTION", "[not, a, list]"),
        ("HEARTH_INSTANCE__ADMIN_EMAIL", ""),
        ("HEARTH_STORAGE__DATABASE", "2024.db"),
        ("HEARTH_SERVER__HOST", "0.0.0.0"),
    ],
)
def test_env_text_values_are_taken_as_written(key: str, raw: str) -> None:
    config = build_config({}, env={key: raw})
    section, name = key.removeprefix("HEARTH_").lower().split("__")
    assert getattr(getattr(config, section), name) == raw


def test_env_relative_data_dir_is_taken_from_the_files_folder(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("", encoding="utf-8")
    config = load_config(path, env={"HEARTH_STORAGE__DATA_DIR": "var"})
    assert config.storage.data_dir == tmp_path / "var"


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"HEARTH_SERVER__PORT": "eighty"}, "server.port"),
        ({"HEARTH_SERVER__PORT": ""}, "server.port"),
        ({"HEARTH_SERVER__PORT": "true"}, "server.port"),
        (
            {"HEARTH_FEDERATION__ALLOW_PRIVATE_ADDRESSES": "yes"},
            "federation.allow_private_addresses",
        ),
        ({"HEARTH_INSTANCE__REGISTRATION": "maybe"}, "instance.registration"),
        ({"HEARTH_SERVER__PROT": "1"}, "server.prot"),
        ({"HEARTH_NOPE__KEY": "1"}, "nope"),
        ({"HEARTH_SERVER": "1"}, "HEARTH_SERVER"),
        ({"HEARTH_SERVER__PORT__X": "1"}, "HEARTH_SERVER__PORT__X"),
        ({"HEARTH___PORT": "1"}, "HEARTH___PORT"),
    ],
)
def test_bad_env_values_name_the_key(env: dict[str, str], key: str) -> None:
    message = error_of({}, env)
    assert message.startswith(f"{key}: "), message
    assert "\n" not in message


def test_env_override_of_a_non_table_section() -> None:
    message = error_of({"server": 5}, {"HEARTH_SERVER__PORT": "1"})
    assert message.startswith("server: ") and "\n" not in message


def test_load_config_reads_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[server]\nport = 1000\n", encoding="utf-8")
    monkeypatch.setenv("HEARTH_SERVER__PORT", "2000")
    assert load_config(path).server.port == 2000


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://Pod.Example.org:443", "https://pod.example.org"),
        ("http://pod.example.org:80/", "http://pod.example.org"),
        ("https://pod.example.org:8443", "https://pod.example.org:8443"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_public_url_drops_default_ports(given: str, stored: str) -> None:
    config = build_config({"server": {"public_url": given}}, env={})
    assert config.server.public_url == stored
    assert config.host == stored.split("://", 1)[1]


def test_public_url_with_credentials_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"server\.public_url"):
        build_config({"server": {"public_url": "https://u:p@pod.example.org"}}, env={})


def test_uvloop_named_where_it_is_not_installed_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "uvloop" else real(name, *a)
    )
    message = error_of({"server": {"event_loop": "uvloop"}})
    assert message.startswith("server.event_loop: ") and "not installed" in message, message
    # "auto" then runs Python's own loop.
    assert chosen("auto") == "asyncio"
    loop = new_loop("auto")
    try:
        assert type(loop).__module__.startswith("asyncio")
    finally:
        loop.close()
