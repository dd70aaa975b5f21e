"""``syncengine login`` and ``syncengine logout``: store and forget the server token."""

from __future__ import annotations

import sys

import click

from syncengine._settings import Settings
from syncengine.cli._commands import _State, cli
from syncengine.cli._runtime import EXIT_CONFIG, CliError, store_for
from syncengine.cli._views import register_secret
from syncengine.service import token_source


def _server_url(given: str | None, settings: Settings) -> str:
    """``--server``, else the configured server URL; neither is a configuration error."""
    server_url = given or settings.server_url
    if not server_url:
        raise CliError(
            "no server URL: pass --server URL or configure server_url / SYNCENGINE_SERVER_URL",
            EXIT_CONFIG,
        )
    return server_url


def _read_key_from_stdin() -> str:
    line = sys.stdin.readline()
    key = line.rstrip("\r\n")
    if not key:
        raise click.UsageError("--key-stdin: nothing was read from standard input")
    return key


@cli.command()
@click.option(
    "--server", "server_url", metavar="URL", help="Server URL (default: the configured server_url)."
)
@click.option("--user", metavar="NAME", help="WATS user name (asked for when not given).")
@click.option(
    "--key",
    "api_key",
    metavar="KEY",
    help="API key or password. Prefer the prompt or --key-stdin: a command-line argument is "
    "visible to other users and kept in shell history.",
)
@click.option("--key-stdin", is_flag=True, help="Read the API key from the first line of stdin.")
@click.pass_obj
def login(
    state: _State,
    server_url: str | None,
    user: str | None,
    api_key: str | None,
    key_stdin: bool,
) -> None:
    """Check a user and API key against the server and store the token encrypted.

    The token (base64 of user:key) is stored in the OS keyring when the keyring package has a
    usable backend, else in an owner-only encrypted file; `run` uses it when no token is
    configured. Nothing is stored unless the server accepts the credentials.
    """
    from syncengine.credentials import login as do_login

    settings = state.settings()
    server_url = _server_url(server_url, settings)
    if key_stdin and api_key:
        raise click.UsageError("give the API key once: --key or --key-stdin, not both")
    if user is None:
        user = click.prompt("WATS user", err=True)
    if key_stdin:
        api_key = _read_key_from_stdin()
    elif api_key is None:
        api_key = click.prompt("API key", hide_input=True, err=True)
    register_secret(api_key)
    store = store_for(settings)
    entry = do_login(server_url, user or "", api_key or "", store)
    register_secret(entry.token)
    click.echo(f"logged in to {server_url} as {entry.user}; token stored in {store.description}")
    where = token_source(settings)
    if where is not None:
        click.echo(
            f"warning: {where} shadows this stored login while the server accepts that token: "
            "the engine keeps using it, also after a restart, and turns to this login only when "
            "the server rejects it (a running engine then takes this login over at its next "
            "probe, without a restart); remove it to use the stored login from the next start",
            err=True,
        )


@cli.command()
@click.option("--server", "server_url", metavar="URL", help="Server URL (default: server_url).")
@click.pass_obj
def logout(state: _State, server_url: str | None) -> None:
    """Forget the token stored by `login` for the server.

    Idempotent: forgetting a login that is not there is not an error.
    """
    settings = state.settings()
    server_url = _server_url(server_url, settings)
    store = store_for(settings)
    if store.delete(server_url):
        click.echo(f"forgot the stored login for {server_url} ({store.description})")
    else:
        click.echo(f"no stored login for {server_url} in {store.description}")
