"""docs/cli.md stays true: every command is documented, with every option, and has --help."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from syncengine import cli as cli_module
from syncengine.cli import cli

DOCS = Path(__file__).resolve().parent.parent / "docs"
CLI_MD = DOCS / "cli.md"


def _commands() -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []

    def walk(group: click.Group, prefix: str) -> None:
        for name, command in sorted(group.commands.items()):
            path = f"{prefix} {name}".strip()
            if isinstance(command, click.Group):
                if command.invoke_without_command:  # a group that is a command itself too
                    found.append((path, command))
                walk(command, path)
            else:
                found.append((path, command))

    walk(cli, "")
    return found


def _section(path: str) -> str:
    text = CLI_MD.read_text(encoding="utf-8")
    match = re.search(rf"^### `syncengine {re.escape(path)}`\n(.*?)(?=^### |\Z)", text, re.M | re.S)
    assert match, f"docs/cli.md has no section '### `syncengine {path}`'"
    return match.group(1)


COMMANDS = _commands()


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_command_is_documented_in_cli_md(path: str, command: click.Command) -> None:
    assert _section(path).strip()


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_option_is_documented(path: str, command: click.Command) -> None:
    section = _section(path)
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            name = max(param.opts, key=len)
            if name != "--help":
                assert f"`{name}" in section, f"{path}: option {name} is not in docs/cli.md"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_command_has_help(path: str, command: click.Command) -> None:
    result = CliRunner().invoke(cli, [*path.split(), "--help"])
    assert result.exit_code == 0
    assert f"Usage: syncengine {path}" in result.output


def test_global_options_are_documented() -> None:
    text = CLI_MD.read_text(encoding="utf-8")
    for param in cli.params:
        if isinstance(param, click.Option):
            assert f"`{max(param.opts, key=len)}" in text


def test_every_exit_code_is_in_the_table() -> None:
    text = CLI_MD.read_text(encoding="utf-8")
    codes = {v for k, v in vars(cli_module).items() if k.startswith("EXIT_")}
    for code in codes:
        assert re.search(rf"^\| {code} \|", text, re.M), f"exit code {code} not documented"


def test_no_section_documents_a_command_that_does_not_exist() -> None:
    text = CLI_MD.read_text(encoding="utf-8")
    documented = set(re.findall(r"^### `syncengine ([a-z ]+)`", text, re.M))
    assert documented == {path for path, _ in COMMANDS}


@pytest.mark.parametrize("page", ["configuration.md", "operations.md"])
def test_companion_pages_exist(page: str) -> None:
    assert (DOCS / page).read_text(encoding="utf-8").startswith("# ")


def _example_toml() -> str:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, re.S)
    assert blocks, "configuration.md has no toml example"
    return max(blocks, key=len)


def test_configuration_example_is_valid(tmp_path: Path) -> None:
    from syncengine._settings import load_settings

    path = tmp_path / "config.toml"
    path.write_text(_example_toml(), encoding="utf-8")
    settings = load_settings(path, {"SYNCENGINE_TOKEN": "dG9rZW4="})
    assert settings.engine_config().server_url == "https://acme.wats.com"


def _field_names(model: type, prefix: str = "") -> list[str]:
    from pydantic import BaseModel

    names = []
    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        names.append(prefix + name)
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names.extend(_field_names(annotation, f"{name}."))
    return names


def test_configuration_example_names_every_key() -> None:
    from syncengine._config import EngineConfig, WatchFolder
    from syncengine._settings import CredentialsSettings, LoggingSettings

    example = _example_toml()
    keys = _field_names(EngineConfig) + _field_names(WatchFolder)
    keys += _field_names(LoggingSettings) + _field_names(CredentialsSettings)
    for dotted in keys:
        name = dotted.rsplit(".", 1)[-1]
        pattern = rf"^(#? ?{name} = |\[\[?(watch\.)?{name}\]\]?)"
        assert re.search(pattern, example, re.M), f"'{dotted}' missing in the example"
