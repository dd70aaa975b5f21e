"""Settings: TOML file + environment -> EngineConfig, with errors naming key and source."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from syncengine._settings import (
    WSJF_CONVERTER,
    SettingsError,
    find_config_file,
    load_settings,
)

BASE_ENV = {
    "SYNCENGINE_SERVER_URL": "http://127.0.0.1:9",
    "SYNCENGINE_TOKEN": "dG9rZW4tc2VjcmV0",
}


@pytest.fixture
def write_config(tmp_path: Path):
    def write(text: str, name: str = "config.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Keep the developer's own ~/.config/wats-sync/config.toml out of these tests.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "xdg-site"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


def test_configuration_can_come_entirely_from_the_environment(tmp_path: Path) -> None:
    env = {
        **BASE_ENV,
        "SYNCENGINE_JOURNAL": str(tmp_path / "j.db"),
        "SYNCENGINE_WATCH": str(tmp_path / "in"),
    }
    config = load_settings(None, env).engine_config()
    assert config.server_url == "http://127.0.0.1:9"
    assert config.token.get_secret_value() == "dG9rZW4tc2VjcmV0"
    assert config.journal_path == tmp_path / "j.db"
    assert [w.path for w in config.watch] == [tmp_path / "in"]


def test_watch_env_folder_uses_the_wsjf_converter(tmp_path: Path) -> None:
    env = {**BASE_ENV, "SYNCENGINE_WATCH": str(tmp_path / "in")}
    config = load_settings(None, env).engine_config()
    assert config.watch[0].converter == WSJF_CONVERTER


def test_environment_overrides_the_file(write_config, tmp_path: Path) -> None:
    path = write_config('server_url = "https://file.example"\njournal_path = "file.db"\n')
    env = {**BASE_ENV, "SYNCENGINE_JOURNAL": str(tmp_path / "env.db")}
    config = load_settings(path, env).engine_config()
    assert config.server_url == BASE_ENV["SYNCENGINE_SERVER_URL"]
    assert config.journal_path == tmp_path / "env.db"


def test_watch_env_replaces_the_file_watch_list(write_config, tmp_path: Path) -> None:
    path = write_config('[[watch]]\npath = "a"\n[[watch]]\npath = "b"\n')
    env = {**BASE_ENV, "SYNCENGINE_WATCH": str(tmp_path / "env-in")}
    config = load_settings(path, env).engine_config()
    assert [w.path for w in config.watch] == [tmp_path / "env-in"]


def test_syncengine_config_names_the_file(write_config) -> None:
    path = write_config("concurrency = 7\n")
    settings = load_settings(None, {**BASE_ENV, "SYNCENGINE_CONFIG": str(path)})
    assert settings.source == path
    assert settings.engine_config().concurrency == 7


def test_a_config_file_saved_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xef\xbb\xbfconcurrency = 7\n")  # Notepad's "UTF-8 with BOM"
    assert load_settings(path, BASE_ENV).engine_config().concurrency == 7


def test_a_config_file_that_is_not_utf8_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes("# caf\u00e9\nconcurrency = 7\n".encode("cp1252"))
    with pytest.raises(SettingsError, match=r"config.toml is not UTF-8"):
        load_settings(path, BASE_ENV)


def test_explicit_config_path_beats_the_environment_variable(write_config) -> None:
    explicit = write_config("concurrency = 3\n", "explicit.toml")
    named = write_config("concurrency = 9\n", "named.toml")
    assert find_config_file(explicit, {"SYNCENGINE_CONFIG": str(named)}) == explicit


def test_empty_environment_variable_counts_as_unset(write_config) -> None:
    path = write_config('server_url = "https://file.example"\ntoken = "t"\n')
    config = load_settings(path, {"SYNCENGINE_SERVER_URL": "  "}).engine_config()
    assert config.server_url == "https://file.example"


@pytest.mark.skipif(sys.platform != "linux", reason="XDG directories are the Linux default")
def test_default_user_config_file_is_found(tmp_path: Path) -> None:
    path = tmp_path / "xdg-config" / "wats-sync" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text("concurrency = 5\n", encoding="utf-8")
    assert load_settings(None, BASE_ENV).source == path


def test_no_config_file_anywhere_is_fine() -> None:
    assert load_settings(None, BASE_ENV).source is None


def test_missing_named_file_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(SettingsError, match=r"not found: .*nope\.toml"):
        load_settings(missing, BASE_ENV)


def test_invalid_toml_is_an_error_naming_the_file(write_config) -> None:
    path = write_config("server_url = \n")
    with pytest.raises(SettingsError, match=r"config.toml is not valid TOML.*line 1"):
        load_settings(path, BASE_ENV)


def test_unknown_key_is_an_error_naming_key_and_file(write_config) -> None:
    path = write_config("concurency = 4\n")
    with pytest.raises(SettingsError) as info:
        load_settings(path, BASE_ENV)
    assert "unknown key 'concurency'" in str(info.value)
    assert str(path) in str(info.value)


def test_wrong_type_is_an_error_naming_key_and_file(write_config) -> None:
    path = write_config('concurrency = "many"\n')
    with pytest.raises(SettingsError) as info:
        load_settings(path, BASE_ENV)
    assert "key 'concurrency'" in str(info.value)
    assert str(path) in str(info.value)


def test_nested_unknown_key_is_named_with_its_table(write_config) -> None:
    path = write_config("[retry]\nbsae_s = 1.0\n")
    with pytest.raises(SettingsError, match=r"unknown key 'retry\.bsae_s'"):
        load_settings(path, BASE_ENV)


def test_watch_folder_error_names_the_list_index(write_config) -> None:
    path = write_config('[[watch]]\npath = "a"\n[[watch]]\ndone_action = "shred"\npath = "b"\n')
    with pytest.raises(SettingsError, match=r"key 'watch\[1\]\.done_action'"):
        load_settings(path, BASE_ENV)


def test_logging_table_error_names_the_key(write_config) -> None:
    path = write_config('[logging]\nlevel = "LOUD"\n')
    with pytest.raises(SettingsError, match=r"key 'logging\.level'"):
        load_settings(path, BASE_ENV)


def test_every_bad_key_is_reported_at_once(write_config) -> None:
    path = write_config('concurrency = "x"\n[credentials]\nstore = "vault"\n')
    with pytest.raises(SettingsError) as info:
        load_settings(path, BASE_ENV)
    assert "'concurrency'" in str(info.value)
    assert "'credentials.store'" in str(info.value)


def test_bad_environment_value_names_the_variable() -> None:
    env = {**BASE_ENV, "SYNCENGINE_SERVER_URL": "ftp://nowhere"}
    with pytest.raises(SettingsError, match="environment variable SYNCENGINE_SERVER_URL"):
        load_settings(None, env)


def test_relative_paths_are_relative_to_the_config_file(write_config, tmp_path: Path) -> None:
    path = write_config('journal_path = "data/j.db"\n[[watch]]\npath = "in"\n')
    config = load_settings(path, BASE_ENV).engine_config()
    assert config.journal_path == tmp_path / "data" / "j.db"
    assert config.watch[0].path == tmp_path / "in"


def test_journal_defaults_to_the_user_data_directory() -> None:
    settings = load_settings(None, BASE_ENV)
    assert settings.journal_path.name == "journal.sqlite3"
    assert settings.origins["journal_path"] == "default"


def test_missing_server_url_error_names_the_variable() -> None:
    settings = load_settings(None, {"SYNCENGINE_TOKEN": "t"})
    with pytest.raises(SettingsError, match="SYNCENGINE_SERVER_URL"):
        settings.engine_config()


def test_missing_token_error_suggests_login() -> None:
    settings = load_settings(None, {"SYNCENGINE_SERVER_URL": "http://127.0.0.1:9"})
    with pytest.raises(SettingsError, match="syncengine login"):
        settings.engine_config()


def test_stored_token_fills_a_missing_token() -> None:
    settings = load_settings(None, {"SYNCENGINE_SERVER_URL": "http://127.0.0.1:9"})
    assert settings.engine_config(token="stored").token.get_secret_value() == "stored"


def test_configured_token_wins_over_a_stored_one() -> None:
    settings = load_settings(None, BASE_ENV)
    assert settings.engine_config(token="stored").token.get_secret_value() != "stored"


def test_masked_settings_never_contain_the_token(write_config) -> None:
    path = write_config('token = "c2VjcmV0LWluLWZpbGU="\n')
    masked = load_settings(path, {"SYNCENGINE_SERVER_URL": "http://127.0.0.1:9"}).masked()
    assert masked["token"] == "***"
    assert "c2VjcmV0LWluLWZpbGU=" not in repr(masked)


def test_settings_error_never_contains_the_token(write_config) -> None:
    path = write_config('token = 12345678\nconcurrency = "x"\n')
    with pytest.raises(SettingsError) as info:
        load_settings(path, BASE_ENV | {"SYNCENGINE_TOKEN": ""})
    assert "12345678" not in str(info.value)


def test_logging_settings_come_from_the_environment(tmp_path: Path) -> None:
    env = {
        **BASE_ENV,
        "SYNCENGINE_LOG_FILE": str(tmp_path / "log.txt"),
        "SYNCENGINE_LOG_LEVEL": "debug",
    }
    settings = load_settings(None, env)
    assert settings.logging.file == tmp_path / "log.txt"
    assert settings.logging.level == "DEBUG"


def test_credentials_path_from_environment_is_absolute(tmp_path: Path) -> None:
    env = {**BASE_ENV, "SYNCENGINE_CREDENTIALS": str(tmp_path / "c.enc")}
    assert load_settings(None, env).credentials.path == tmp_path / "c.enc"


def test_status_path_is_derived_without_server_settings(tmp_path: Path) -> None:
    settings = load_settings(None, {"SYNCENGINE_JOURNAL": str(tmp_path / "j.db")})
    assert settings.partial_config().effective_status_path == tmp_path / "j.db.status.json"


def test_watch_path_that_is_a_file_is_an_error_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("", encoding="utf-8")
    settings = load_settings(None, {**BASE_ENV, "SYNCENGINE_WATCH": str(tmp_path / "afile")})
    with pytest.raises(SettingsError, match=r"'watch\[0\]\.path' in environment variable"):
        settings.engine_config()


def test_the_page_password_is_redacted_from_cli_output_and_logs(tmp_path: Path) -> None:
    from syncengine.cli._commands import _State
    from syncengine.cli._views import redact

    config = tmp_path / "config.toml"
    config.write_text(
        'server_url = "http://127.0.0.1:9"\ntoken = "api-token-1234"\n'
        '[ui]\nenabled = true\ntoken = "page-pass-5678"\n',
        encoding="utf-8",
    )
    settings = _State(config_path=config).settings()
    assert settings.ui_token == "page-pass-5678"
    line = "login with page-pass-5678 and api-token-1234 failed"
    assert redact(line) == "login with *** and *** failed"
