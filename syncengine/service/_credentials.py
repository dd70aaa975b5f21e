"""The token from systemd credentials (``LoadCredential=``), for a service with no keyring.

systemd copies the credential file into a private, non-swappable directory that only the
service's user can read, and names it in ``$CREDENTIALS_DIRECTORY``. The unit that
``syncengine service install`` writes loads the file given by ``--token-file`` (default
``/etc/wats-sync/token``, mode 0600, owned by root) as the credential :data:`CREDENTIAL_NAME`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

from syncengine._settings import Settings, SettingsError

CREDENTIAL_NAME = "wats-sync-token"
"""The credential's name in the unit (``LoadCredential=wats-sync-token:<file>``)."""
_ORIGIN = f"systemd credential {CREDENTIAL_NAME}"
ENV_CREDENTIALS_DIRECTORY = "CREDENTIALS_DIRECTORY"


def credential_token(env: Mapping[str, str] | None = None) -> str | None:
    """The token in ``$CREDENTIALS_DIRECTORY/wats-sync-token``, or None when there is none.

    Raises :class:`SettingsError` when the credential exists but is empty or unreadable.
    """
    env = os.environ if env is None else env
    directory = env.get(ENV_CREDENTIALS_DIRECTORY, "")
    if not directory:
        return None
    path = Path(directory) / CREDENTIAL_NAME
    if not path.exists():
        return None
    try:
        token = path.read_text(encoding="utf-8-sig").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(
            f"cannot read the systemd credential {CREDENTIAL_NAME}: {exc}"
        ) from None
    if not token:
        raise SettingsError(
            f"the systemd credential {CREDENTIAL_NAME} is empty: put the WATS token in the "
            "file named by LoadCredential= in the unit"
        )
    return token


def with_credential_token(settings: Settings, env: Mapping[str, str] | None = None) -> Settings:
    """``settings`` with the systemd credential's token, unless ``SYNCENGINE_TOKEN`` is set.

    Order: the ``SYNCENGINE_TOKEN`` variable, then the systemd credential, then ``token`` in
    the config file, then the credentials store.
    """
    if settings.origins.get("token", "").startswith("env "):
        return settings
    token = credential_token(env)
    if token is None:
        return settings
    return dataclasses.replace(
        settings,
        engine_data={**settings.engine_data, "token": token},
        origins={**settings.origins, "token": _ORIGIN},
    )


def token_source(settings: Settings) -> str | None:
    """Where the configured token comes from, in words for an operator: "the systemd
    credential wats-sync-token", "the environment variable SYNCENGINE_TOKEN" or "'token' in
    /etc/wats-sync/config.toml"; None when there is none (the credentials store's login)."""
    if settings.token is None:
        return None
    origin = settings.origins.get("token", "")
    if origin == _ORIGIN:
        return f"the {_ORIGIN}"
    if origin.startswith("env "):
        return f"the environment variable {origin[4:]}"
    return f"'token' in {settings.source or 'the configuration'}"
