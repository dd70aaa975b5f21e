"""Settings: a TOML file plus environment variables, validated into an ``EngineConfig``.

Where the configuration comes from, first match wins for the file:

1. ``--config PATH`` on the command line,
2. the ``SYNCENGINE_CONFIG`` environment variable,
3. ``config.toml`` in the per-user config directory (platformdirs), then in the site config
   directory (``/etc/xdg/wats-sync`` on Linux, ``C:\\ProgramData\\wats-sync`` on Windows),
4. no file at all: everything from the environment and defaults.

Environment variables then override the file (an empty variable counts as unset):
``SYNCENGINE_SERVER_URL``, ``SYNCENGINE_TOKEN``, ``SYNCENGINE_JOURNAL`` (journal file path),
``SYNCENGINE_WATCH`` (one folder of WSJF JSON files; replaces the file's watch list),
``SYNCENGINE_STATION``, ``SYNCENGINE_LOG_FILE``, ``SYNCENGINE_LOG_LEVEL``,
``SYNCENGINE_CREDENTIALS`` (encrypted credentials file) and ``SYNCENGINE_CREDENTIALS_STORE``.

Top-level keys of the file are ``EngineConfig`` fields; two extra tables belong to the CLI:
``[logging]`` (file, level, max_bytes, backups) and ``[credentials]`` (store, path). Relative
paths in the file are relative to the file's directory. An unknown key or a wrong type is a
:class:`SettingsError` naming the key and the file (or the environment variable).
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from syncengine._config import EngineConfig
from syncengine._errors import SyncEngineError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

_APP = "wats-sync"
CONFIG_FILE_NAME = "config.toml"
WSJF_CONVERTER = "wsjf"
"""Converter used for the folder named by ``SYNCENGINE_WATCH`` (files are WSJF JSON)."""

ENV_CONFIG = "SYNCENGINE_CONFIG"
ENV_SERVER_URL = "SYNCENGINE_SERVER_URL"
ENV_TOKEN = "SYNCENGINE_TOKEN"
ENV_JOURNAL = "SYNCENGINE_JOURNAL"
ENV_WATCH = "SYNCENGINE_WATCH"
ENV_STATION = "SYNCENGINE_STATION"
ENV_LOG_FILE = "SYNCENGINE_LOG_FILE"
ENV_LOG_LEVEL = "SYNCENGINE_LOG_LEVEL"
ENV_CREDENTIALS = "SYNCENGINE_CREDENTIALS"
ENV_CREDENTIALS_STORE = "SYNCENGINE_CREDENTIALS_STORE"

# Engine keys whose value is a path, resolved against the config file's directory.
_PATH_KEYS = ("journal_path", "status_path", "lock_path")
_WATCH_PATH_KEYS = ("path", "done_dir", "error_dir")
_PLACEHOLDER_URL = "http://server-url.not-configured.invalid"


class SettingsError(SyncEngineError):
    """Raised when the configuration cannot be loaded; the message names the key and source.

    ``problems`` holds each problem as its own line when one check found several (the message
    joins them with "; "), so ``config check`` lists them without splitting the text.
    """

    def __init__(self, message: str, *, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems) or (message,)


class LoggingSettings(BaseModel):
    """The ``[logging]`` table: stderr always, plus an optional rotating file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: Path | None = None
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    backups: int = Field(5, ge=0)
    acks: Literal["each", "summary", "off"] = "each"
    """One INFO line per acknowledged report, a periodic count, or none (DEBUG only)."""
    acks_summary_s: float = Field(60.0, gt=0)
    """With ``acks = "summary"``: at most one count line per this many seconds."""


class CredentialsSettings(BaseModel):
    """The ``[credentials]`` table: where ``syncengine login`` stores the token."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    store: Literal["auto", "keyring", "file"] = "auto"
    path: Path | None = None


_TableT = TypeVar("_TableT", LoggingSettings, CredentialsSettings)


@dataclass(frozen=True)
class Settings:
    """The effective configuration: engine values, CLI tables and where each came from."""

    source: Path | None
    """The TOML file read, or None when there was none."""
    engine_data: dict[str, Any]
    """Validated-shape engine keys (token included; never print this directly)."""
    logging: LoggingSettings
    credentials: CredentialsSettings
    origins: dict[str, str] = field(default_factory=dict)
    """Top-level key -> ``"file"``, ``"env NAME"`` or ``"default"``."""

    @property
    def server_url(self) -> str | None:
        """The configured server URL, or None."""
        value = self.engine_data.get("server_url")
        return str(value).strip() if value else None

    @property
    def token(self) -> str | None:
        """The token from the file or ``SYNCENGINE_TOKEN``, or None (then stored credentials)."""
        value = self.engine_data.get("token")
        return str(value) if value else None

    @property
    def ui_token(self) -> str | None:
        """The station page password (``[ui] token``), or None."""
        ui = self.engine_data.get("ui")
        value = ui.get("token") if isinstance(ui, dict) else None
        return str(value) if value else None

    @property
    def journal_path(self) -> Path:
        """The journal file (default: ``journal.sqlite3`` in the per-user data directory)."""
        return Path(self.engine_data["journal_path"])

    def partial_config(self) -> EngineConfig:
        """An ``EngineConfig`` for commands that never talk to the server (status, journal).

        A missing server URL or token is filled with an inert placeholder so that the derived
        paths (status file, lock file) come from the one place that defines them.
        """
        data = dict(self.engine_data)
        data.setdefault("server_url", _PLACEHOLDER_URL)
        data.setdefault("token", "not-configured")
        return self._validate(data)

    def engine_config(self, token: str | None = None) -> EngineConfig:
        """The full ``EngineConfig``; ``token`` (from stored credentials) fills a missing token."""
        data = dict(self.engine_data)
        if "server_url" not in data:
            raise SettingsError(
                f"server_url is not configured: set it in {self._where()} "
                f"or in the environment variable {ENV_SERVER_URL}"
            )
        if "token" not in data:
            if token is None:
                raise SettingsError(
                    f"no token: run 'syncengine login', or set {ENV_TOKEN} or 'token' in "
                    f"{self._where()}"
                )
            data["token"] = token
        config = self._validate(data)
        for index, folder in enumerate(config.watch):
            if folder.path.exists() and not folder.path.is_dir():
                where = _describe_origin(self.origins.get("watch", ""), self.source)
                raise SettingsError(
                    f"invalid value for key 'watch[{index}].path' in {where}: "
                    f"{folder.path} is not a directory"
                )
        return config

    def check_paths(self, config: EngineConfig) -> None:
        """Raise :class:`SettingsError` naming the key of every path the engine cannot use.

        A missing watch folder (unless ``create = true``), a file where a folder should be, a
        read-only or unreadable folder, a journal path that is a folder. Creates nothing.
        """
        from syncengine._paths import config_problems

        self._refuse(config_problems(config))

    def check_journal_path(self, *, write: bool = True) -> None:
        """Raise :class:`SettingsError` naming ``journal_path`` when no journal can be there
        (a folder, a file in its way, no access): the check of :meth:`check_paths`, for the
        commands that only open the journal. ``write=False`` for those that only read it."""
        from syncengine._paths import journal_problem

        problem = journal_problem(self.journal_path, write=write)
        self._refuse([] if problem is None else [problem])

    def _refuse(self, problems: Sequence[tuple[str, str]]) -> None:
        lines = []
        for key, problem in problems:
            origin = self.origins.get(key.split("[")[0].split(".")[0], "")
            where = _describe_origin(origin, self.source)
            lines.append(f"invalid value for key '{key}' in {where}: {problem}")
        if lines:
            raise SettingsError("; ".join(lines), problems=lines)

    def check_converters(self, config: EngineConfig, available: Sequence[str]) -> None:
        """Raise :class:`SettingsError` for a watch folder whose converter does not exist."""
        lines = []
        for index, folder in enumerate(config.watch):
            if folder.converter != "auto" and folder.converter not in available:
                where = _describe_origin(self.origins.get("watch", ""), self.source)
                names = ", ".join(sorted(available)) or "none"
                hint = _did_you_mean(folder.converter, available)
                lines.append(
                    f"invalid value for key 'watch[{index}].converter' in {where}: no converter "
                    f"is named {folder.converter!r}{hint} (available: {names}, or 'auto'; "
                    "see 'syncengine converters list')"
                )
        if lines:
            raise SettingsError("; ".join(lines), problems=lines)

    def _where(self) -> str:
        return str(self.source) if self.source is not None else "a config file"

    def _validate(self, data: dict[str, Any]) -> EngineConfig:
        try:
            return EngineConfig.model_validate(data)
        except ValidationError as exc:
            raise _settings_error(exc, self.source, self.origins) from None

    def masked(self) -> dict[str, Any]:
        """The effective configuration as plain data with every secret replaced by ``***``."""
        config = self.partial_config()
        data = config.model_dump(mode="json")
        if "server_url" not in self.engine_data:
            data["server_url"] = None
        data["token"] = "***" if self.token else None
        return {
            **data,
            "logging": self.logging.model_dump(mode="json"),
            "credentials": self.credentials.model_dump(mode="json"),
        }


def default_journal_path() -> Path:
    """Where the journal lives when nothing configures it (per-user data directory)."""
    return Path(platformdirs.user_data_dir(_APP, appauthor=False)) / "journal.sqlite3"


def default_config_candidates() -> list[Path]:
    """The config files looked for when neither ``--config`` nor ``SYNCENGINE_CONFIG`` is set."""
    return [
        Path(platformdirs.user_config_dir(_APP, appauthor=False)) / CONFIG_FILE_NAME,
        Path(platformdirs.site_config_dir(_APP, appauthor=False)) / CONFIG_FILE_NAME,
    ]


def find_config_file(explicit: Path | None, env: Mapping[str, str]) -> Path | None:
    """Pick the config file: explicit path, ``SYNCENGINE_CONFIG``, then the default places."""
    if explicit is not None:
        return explicit
    named = env.get(ENV_CONFIG, "")
    if named:
        return Path(named)
    for candidate in default_config_candidates():
        if candidate.is_file():
            return candidate
    return None


def load_settings(
    config_path: Path | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Read the config file (if any) and the environment, and validate the result.

    Raises :class:`SettingsError` for a missing or unreadable named file, invalid TOML, an
    unknown key or a value of the wrong type.
    """
    env = os.environ if env is None else env
    source = find_config_file(config_path, env)
    raw: dict[str, Any] = _read_toml(source) if source is not None else {}
    origins = {key: "file" for key in raw}
    logging_raw = raw.pop("logging", {})
    credentials_raw = raw.pop("credentials", {})
    for table, value in (("logging", logging_raw), ("credentials", credentials_raw)):
        if not isinstance(value, dict):
            raise SettingsError(f"{source}: key '{table}' must be a table ([{table}])")
    base = source.resolve().parent if source is not None else Path.cwd()
    _resolve_paths(raw, base)
    for key in ("file",):
        if logging_raw.get(key):
            logging_raw[key] = str(_resolve(logging_raw[key], base))
    if credentials_raw.get("path"):
        credentials_raw["path"] = str(_resolve(credentials_raw["path"], base))

    _apply_env(raw, logging_raw, credentials_raw, env, origins)
    if "journal_path" not in raw:
        raw["journal_path"] = str(default_journal_path())
        origins["journal_path"] = "default"

    errors: list[str] = []
    logging_settings = _validate_table(
        LoggingSettings, logging_raw, "logging", source, origins, errors
    )
    credentials_settings = _validate_table(
        CredentialsSettings, credentials_raw, "credentials", source, origins, errors
    )
    settings = Settings(
        source,
        raw,
        logging_settings or LoggingSettings(),
        credentials_settings or CredentialsSettings(),
        origins,
    )
    try:
        settings.partial_config()  # every key and type is checked now, not at first use
    except SettingsError as exc:
        errors.insert(0, str(exc))
    if errors:
        raise SettingsError("; ".join(errors))
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            raw = handle.read()
        # Windows editors (Notepad's "UTF-8 with BOM", PowerShell 5's -Encoding UTF8) write a
        # byte order mark, which TOML itself does not allow.
        data: dict[str, Any] = tomllib.loads(raw.decode("utf-8-sig"))
        return data
    except FileNotFoundError:
        raise SettingsError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise SettingsError(f"config file is a directory: {path}") from None
    except OSError as exc:
        raise SettingsError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"config file {path} is not UTF-8 text") from None


def _resolve(value: object, base: Path) -> object:
    if not isinstance(value, str) or not value:
        return value  # wrong types are reported by validation, naming the key
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else base / path)


def _resolve_paths(raw: dict[str, Any], base: Path) -> None:
    for key in _PATH_KEYS:
        if key in raw:
            raw[key] = _resolve(raw[key], base)
    watch = raw.get("watch")
    if isinstance(watch, list):
        for folder in watch:
            if isinstance(folder, dict):
                for key in _WATCH_PATH_KEYS:
                    if key in folder:
                        folder[key] = _resolve(folder[key], base)


def _apply_env(
    raw: dict[str, Any],
    logging_raw: dict[str, Any],
    credentials_raw: dict[str, Any],
    env: Mapping[str, str],
    origins: dict[str, str],
) -> None:
    cwd = Path.cwd()

    def path(value: str) -> object:
        return _resolve(value, cwd)

    def watch(value: str) -> object:
        return [{"path": _resolve(value, cwd), "converter": WSJF_CONVERTER}]

    tables = {"": raw, "logging": logging_raw, "credentials": credentials_raw}
    overrides: tuple[tuple[str, str, str, Callable[[str], object]], ...] = (
        (ENV_SERVER_URL, "", "server_url", str.strip),
        (ENV_TOKEN, "", "token", str.strip),
        (ENV_STATION, "", "station_name", str.strip),
        (ENV_JOURNAL, "", "journal_path", path),
        (ENV_WATCH, "", "watch", watch),
        (ENV_LOG_FILE, "logging", "file", path),
        (ENV_LOG_LEVEL, "logging", "level", lambda v: v.strip().upper()),
        (ENV_CREDENTIALS, "credentials", "path", path),
        (ENV_CREDENTIALS_STORE, "credentials", "store", lambda v: v.strip().lower()),
    )
    for name, table, key, convert in overrides:
        value = env.get(name, "")
        if value.strip():  # set but blank counts as unset
            tables[table][key] = convert(value)
            origins[f"{table}.{key}" if table else key] = f"env {name}"


def _validate_table(
    model: type[_TableT],
    data: dict[str, Any],
    table: str,
    source: Path | None,
    origins: dict[str, str],
    errors: list[str],
) -> _TableT | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors.append(str(_settings_error(exc, source, origins, prefix=(table,))))
        return None


def _format_loc(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _describe_origin(origin: str, source: Path | None) -> str:
    if origin.startswith("env "):
        return f"environment variable {origin[4:]}"
    return f"config file {source}" if source is not None else "configuration"


def _did_you_mean(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _known_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys allowed where ``loc`` points (for "did you mean")."""
    tables: dict[str, type[BaseModel]] = {
        "logging": LoggingSettings,
        "credentials": CredentialsSettings,
    }
    model: type[BaseModel] | None = None
    names = [str(p) for p in loc[:-1] if isinstance(p, str)]
    if names and names[0] in tables:
        model = tables[names[0]]
    else:
        model = EngineConfig
        for name in names:
            field_info = model.model_fields.get(name) if model is not None else None
            if field_info is None:
                return []
            annotation = field_info.annotation
            inner = getattr(annotation, "__args__", None)
            candidates = [annotation, *(inner or ())]
            model = next(
                (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
            )
            if model is None:
                return []
    keys = list(model.model_fields) if model is not None else []
    if len(loc) == 1:
        keys += list(tables)
    return keys


# pydantic's wording -> TOML's, by error type (the value is never echoed: it may be a token).
_TOML_WORDS = {
    "string_type": "expected a string (text in quotes)",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer, not a number with a fraction",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "dict_type": "expected a table",
    "model_type": "expected a table",
    "model_attributes_type": "expected a table",
    "path_type": "expected a path (text in quotes)",
    "missing": "this key is required",
}


def _toml_message(error: Any, key: str) -> str:
    kind = error["type"]
    if kind in ("tuple_type", "list_type", "set_type"):
        if key.split(".")[-1] == "watch" or key == "watch":
            return "expected an array of tables ([[watch]] sections)"
        return "expected an array ([...])"
    if kind in _TOML_WORDS:
        return _TOML_WORDS[kind]
    message = str(error["msg"])
    if message.startswith("Input should be "):
        message = "expected " + message[len("Input should be ") :]
    elif message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return message


def _settings_error(
    exc: ValidationError,
    source: Path | None,
    origins: Mapping[str, str],
    prefix: tuple[str, ...] = (),
) -> SettingsError:
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = prefix + tuple(error["loc"])
        key = _format_loc(loc)
        origin = origins.get(".".join(str(p) for p in loc[:2]), origins.get(str(loc[0]), ""))
        where = _describe_origin(origin, source)
        if error["type"] == "extra_forbidden":
            hint = _did_you_mean(str(loc[-1]), _known_keys(loc))
            lines.append(f"unknown key '{key}' in {where}{hint}")
        else:
            lines.append(f"invalid value for key '{key}' in {where}: {_toml_message(error, key)}")
    return SettingsError("; ".join(lines))
