"""Credentials: the AES-GCM cipher, reading the legacy format, the stores, the provider."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncengine import SyncEngineError
from syncengine.credentials import (
    CredentialsError,
    CredentialsNotFoundError,
    CredentialsStoreError,
    EncryptedFileStore,
    KeyringStore,
    LoginRejectedError,
    LoginUnreachableError,
    StoredCredentials,
    StoredToken,
    login,
    normalize_server_url,
    open_store,
)
from syncengine.credentials._cipher import decrypt, encrypt
from syncengine.credentials._file_store import _write_private

KEY = bytes(range(32))
LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "credentials"
SERVER = "http://127.0.0.1:9"
TOKEN = "b3BlcmF0b3I6c3VwZXItc2VjcmV0LWFwaS1rZXk="
posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@pytest.fixture
def store(tmp_path: Path) -> EncryptedFileStore:
    return EncryptedFileStore(tmp_path / "creds" / "credentials.enc")


def entry(token: str = TOKEN) -> StoredToken:
    return StoredToken(user="operator", token=token, stored_at=1_700_000_000.0)


class FakeKeyring:
    """The three functions of the keyring module, in memory."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, user: str) -> str | None:
        return self.items.get((service, user))

    def set_password(self, service: str, user: str, password: str) -> None:
        self.items[(service, user)] = password

    def delete_password(self, service: str, user: str) -> None:
        del self.items[(service, user)]


@given(st.binary(max_size=600))
def test_decrypt_inverts_encrypt(plaintext: bytes) -> None:
    assert decrypt(KEY, encrypt(KEY, plaintext)) == plaintext


def test_encryption_uses_a_fresh_nonce_each_time() -> None:
    assert encrypt(KEY, b"same") != encrypt(KEY, b"same")


def test_ciphertext_does_not_contain_the_plaintext() -> None:
    assert TOKEN.encode() not in encrypt(KEY, TOKEN.encode())


@pytest.mark.parametrize("position", [0, 5, 25, -1])
def test_any_flipped_byte_is_rejected(position: int) -> None:
    blob = bytearray(encrypt(KEY, b"some secret text"))
    blob[position] ^= 0x01
    with pytest.raises(ValueError):
        decrypt(KEY, bytes(blob))


def test_wrong_key_is_rejected() -> None:
    with pytest.raises(ValueError, match="authentication failed"):
        decrypt(bytes(32), encrypt(KEY, b"secret"))


def test_truncated_blob_is_rejected() -> None:
    with pytest.raises(ValueError):
        decrypt(KEY, encrypt(KEY, b"secret")[:20])


def test_new_files_are_written_as_aes_gcm(store: EncryptedFileStore) -> None:
    store.put(SERVER, entry())
    assert store.path.read_bytes()[:4] == b"WSC2"


# --------------------------------------------------------------------------- the legacy format


@pytest.fixture
def legacy_store(tmp_path: Path) -> EncryptedFileStore:
    """A copy of the store written by the old stdlib cipher (see the fixture's README)."""
    for name in ("legacy-v1.enc", "legacy-v1.enc.key"):
        shutil.copy(LEGACY / name, tmp_path / name)
        (tmp_path / name).chmod(0o600)  # git does not keep the owner-only mode
    return EncryptedFileStore(tmp_path / "legacy-v1.enc")


LEGACY_ENTRY = StoredToken("operator", "b3BlcmF0b3I6bGVnYWN5LWFwaS1rZXk=", 1_700_000_000.0)
LEGACY_SECOND = StoredToken("second", "c2Vjb25kOmtleQ==", 1_700_000_100.0)


def test_a_legacy_file_is_read(legacy_store: EncryptedFileStore) -> None:
    assert [legacy_store.get(SERVER), legacy_store.get("https://legacy.wats.example")] == [
        LEGACY_ENTRY,
        LEGACY_SECOND,
    ]


def test_reading_a_legacy_file_does_not_rewrite_it(legacy_store: EncryptedFileStore) -> None:
    before = legacy_store.path.read_bytes()
    legacy_store.get(SERVER)
    assert legacy_store.path.read_bytes() == before


def test_the_next_save_rewrites_a_legacy_file_as_aes_gcm(
    legacy_store: EncryptedFileStore,
) -> None:
    legacy_store.put("http://127.0.0.1:10", entry("bmV3"))
    assert legacy_store.path.read_bytes()[:4] == b"WSC2"


def test_the_rewrite_keeps_every_legacy_login(legacy_store: EncryptedFileStore) -> None:
    legacy_store.put("http://127.0.0.1:10", entry("bmV3"))
    reopened = EncryptedFileStore(legacy_store.path)
    assert [
        reopened.get(SERVER),
        reopened.get("https://legacy.wats.example"),
        reopened.get("http://127.0.0.1:10"),
    ] == [LEGACY_ENTRY, LEGACY_SECOND, entry("bmV3")]


def test_a_delete_rewrites_a_legacy_file_too(legacy_store: EncryptedFileStore) -> None:
    assert legacy_store.delete("https://legacy.wats.example") is True
    assert legacy_store.path.read_bytes()[:4] == b"WSC2"
    assert legacy_store.get(SERVER) == LEGACY_ENTRY


def test_a_tampered_legacy_file_is_a_clear_error(legacy_store: EncryptedFileStore) -> None:
    data = bytearray(legacy_store.path.read_bytes())
    data[30] ^= 0x01
    legacy_store.path.write_bytes(bytes(data))
    with pytest.raises(CredentialsStoreError, match="authentication failed"):
        legacy_store.get(SERVER)


def test_a_legacy_file_with_another_key_is_a_clear_error(
    legacy_store: EncryptedFileStore,
) -> None:
    legacy_store.key_path.write_bytes(b"WSK1" + bytes(32))
    with pytest.raises(CredentialsStoreError, match="run 'syncengine login' again"):
        legacy_store.get(SERVER)


# --------------------------------------------------------------------------- stores


def test_file_store_returns_what_was_put(store: EncryptedFileStore) -> None:
    store.put(SERVER, entry())
    assert store.get(SERVER) == entry()


def test_file_store_holds_one_entry_per_server(store: EncryptedFileStore) -> None:
    store.put(SERVER, entry("one"))
    store.put("http://127.0.0.1:10", entry("two"))
    assert store.get(SERVER) == entry("one")


def test_file_store_get_without_file_is_none(store: EncryptedFileStore) -> None:
    assert store.get(SERVER) is None


def test_file_store_keys_by_normalized_url(store: EncryptedFileStore) -> None:
    store.put(SERVER + "/api/", entry())
    assert store.get(SERVER) == entry()


def test_normalize_strips_trailing_slash_and_api() -> None:
    assert normalize_server_url(" https://x.wats.com/api/ ") == "https://x.wats.com"


@pytest.mark.parametrize(
    "url", ["https://x.wats.com/api/", "http://127.0.0.1:9/", "https://h/tenant/API", " https://h "]
)
def test_stores_key_logins_by_the_clients_own_base_url(url: str) -> None:
    from pywats import Client

    with Client(url, "dA==") as client:
        assert normalize_server_url(url) == client.base_url


def test_a_server_url_without_scheme_is_a_credentials_error(store: EncryptedFileStore) -> None:
    with pytest.raises(CredentialsError, match="http:// or https://"):
        store.put("x.wats.com", entry())


def test_an_embedder_catching_syncengine_error_catches_credentials_failures(
    store: EncryptedFileStore,
) -> None:
    with pytest.raises(SyncEngineError, match="syncengine login"):
        StoredCredentials(store, SERVER).token()


def test_stored_file_contains_neither_token_nor_user(store: EncryptedFileStore) -> None:
    store.put(SERVER, entry())
    raw = store.path.read_bytes() + store.key_path.read_bytes()
    assert TOKEN.encode() not in raw
    assert b"operator" not in raw


@posix_only
def test_store_files_are_owner_only(store: EncryptedFileStore) -> None:
    store.put(SERVER, entry())
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.key_path.stat().st_mode) == 0o600


@posix_only
def test_group_readable_key_file_is_refused(store: EncryptedFileStore) -> None:
    store.put(SERVER, entry())
    store.key_path.chmod(0o640)
    with pytest.raises(CredentialsStoreError, match="chmod 600"):
        store.get(SERVER)


@pytest.mark.skipif(os.name == "nt", reason="on Windows a DPAPI key file is readable")
def test_dpapi_key_file_elsewhere_is_a_clear_error(store: EncryptedFileStore) -> None:
    store.put(SERVER, entry())
    store.key_path.write_bytes(b"WSK2" + bytes(64))
    store.key_path.chmod(0o600)
    with pytest.raises(CredentialsStoreError, match="only readable on Windows"):
        store.get(SERVER)


def test_key_file_creation_never_replaces_an_existing_key(tmp_path: Path) -> None:
    key_path = tmp_path / "k"
    assert _write_private(key_path, b"first", replace=False) is True
    assert _write_private(key_path, b"second", replace=False) is False
    assert key_path.read_bytes() == b"first"


def test_key_file_creation_leaves_no_temporary_files(tmp_path: Path) -> None:
    _write_private(tmp_path / "k", b"first", replace=False)
    _write_private(tmp_path / "k", b"second", replace=False)
    assert [p.name for p in tmp_path.iterdir()] == ["k"]


def test_missing_key_file_is_a_clear_error(store: EncryptedFileStore) -> None:
    store.put(SERVER, entry())
    store.key_path.unlink()
    with pytest.raises(CredentialsStoreError, match=r"key file .* is missing"):
        store.get(SERVER)


def test_tampered_store_file_is_a_clear_error(store: EncryptedFileStore) -> None:
    store.put(SERVER, entry())
    data = bytearray(store.path.read_bytes())
    data[-1] ^= 0xFF
    store.path.write_bytes(bytes(data))
    with pytest.raises(CredentialsStoreError, match="cannot decrypt"):
        store.get(SERVER)


def _tamper(store: EncryptedFileStore) -> bytes:
    data = bytearray(store.path.read_bytes())
    data[-1] ^= 0xFF
    store.path.write_bytes(bytes(data))
    return bytes(data)


def _set_aside(store: EncryptedFileStore) -> list[Path]:
    return sorted(store.path.parent.glob(store.path.name + ".unreadable-*"))


def test_login_again_repairs_an_altered_store_and_keeps_the_old_file(
    store: EncryptedFileStore,
) -> None:
    # The error says "run 'syncengine login' again": that login (a put) must then work.
    store.put(SERVER, entry())
    damaged = _tamper(store)
    with pytest.raises(CredentialsStoreError, match="login' again"):
        store.get(SERVER)
    store.put(SERVER, entry("bmV3LXRva2Vu"))
    assert store.get(SERVER) == entry("bmV3LXRva2Vu")
    (aside,) = _set_aside(store)
    assert aside.read_bytes() == damaged


def test_login_again_repairs_a_store_whose_key_file_is_gone(store: EncryptedFileStore) -> None:
    store.put(SERVER, entry())
    original = store.path.read_bytes()
    store.key_path.unlink()
    with pytest.raises(CredentialsStoreError, match="login' again"):
        store.get(SERVER)
    store.put(SERVER, entry("bmV3LXRva2Vu"))
    assert store.get(SERVER) == entry("bmV3LXRva2Vu")
    assert [p.read_bytes() for p in _set_aside(store)] == [original]


@posix_only
def test_an_unsafe_store_is_not_set_aside_by_a_login(store: EncryptedFileStore) -> None:
    store.put(SERVER, entry())
    store.key_path.chmod(0o640)
    with pytest.raises(CredentialsStoreError, match="chmod 600"):
        store.put(SERVER, entry("bmV3LXRva2Vu"))
    assert _set_aside(store) == []
    store.key_path.chmod(0o600)
    assert store.get(SERVER) == entry()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux procfs")
def test_an_unwritable_store_location_is_a_store_error() -> None:
    # procfs: reading finds no file, creating one fails, even as root.
    store = EncryptedFileStore(Path("/proc/self/credentials.enc"))
    with pytest.raises(CredentialsStoreError, match=r"cannot write /proc/self/credentials\.enc"):
        store.put(SERVER, entry())


def test_delete_forgets_the_entry(store: EncryptedFileStore) -> None:
    store.put(SERVER, entry())
    assert store.delete(SERVER) is True
    assert store.get(SERVER) is None


def test_delete_of_unknown_server_is_false(store: EncryptedFileStore) -> None:
    assert store.delete(SERVER) is False


def test_keyring_store_returns_what_was_put() -> None:
    keyring_store = KeyringStore(FakeKeyring())
    keyring_store.put(SERVER, entry())
    assert keyring_store.get(SERVER) == entry()


def test_keyring_store_refuses_a_server_url_without_scheme() -> None:
    with pytest.raises(CredentialsError, match="http:// or https://"):
        KeyringStore(FakeKeyring()).get("x.wats.com")


def test_keyring_store_delete_forgets_the_entry() -> None:
    keyring_store = KeyringStore(FakeKeyring())
    keyring_store.put(SERVER, entry())
    keyring_store.delete(SERVER)
    assert keyring_store.get(SERVER) is None


def test_explicit_path_opens_the_file_store(tmp_path: Path) -> None:
    opened = open_store("auto", tmp_path / "c.enc")
    assert isinstance(opened, EncryptedFileStore)


def test_unknown_store_kind_is_an_error() -> None:
    with pytest.raises(CredentialsError, match="unknown credentials store"):
        open_store("vault")


def test_keyring_store_without_keyring_package_is_an_error() -> None:
    if _keyring_importable():
        pytest.skip("keyring is installed here")
    with pytest.raises(CredentialsStoreError, match="keyring"):
        open_store("keyring")


def _keyring_importable() -> bool:
    try:
        import keyring  # noqa: F401
    except ImportError:
        return False
    return True


def test_provider_without_stored_login_says_to_log_in(store: EncryptedFileStore) -> None:
    with pytest.raises(CredentialsNotFoundError, match="syncengine login"):
        StoredCredentials(store, SERVER).token()


def test_provider_returns_the_stored_token(store: EncryptedFileStore) -> None:
    store.put(SERVER, entry())
    assert StoredCredentials(store, SERVER).token() == TOKEN


def test_provider_refresh_is_none_when_nothing_changed(store: EncryptedFileStore) -> None:
    store.put(SERVER, entry())
    provider = StoredCredentials(store, SERVER)
    provider.token()
    assert provider.refresh() is None


def test_provider_refresh_returns_a_newly_stored_token(store: EncryptedFileStore) -> None:
    store.put(SERVER, entry())
    provider = StoredCredentials(store, SERVER)
    provider.token()
    store.put(SERVER, entry("bmV3LXRva2Vu"))
    assert provider.refresh() == "bmV3LXRva2Vu"


def test_provider_refresh_switches_the_current_token(store: EncryptedFileStore) -> None:
    store.put(SERVER, entry())
    provider = StoredCredentials(store, SERVER)
    store.put(SERVER, entry("bmV3LXRva2Vu"))
    provider.refresh()
    assert provider.token() == "bmV3LXRva2Vu"


def test_provider_and_entry_reprs_hide_the_token(store: EncryptedFileStore) -> None:
    store.put(SERVER, entry())
    provider = StoredCredentials(store, SERVER)
    provider.token()
    assert TOKEN not in repr(provider)
    assert TOKEN not in repr(entry())


def later(token: str, at: float = 1_800_000_000.0) -> StoredToken:
    return StoredToken(user="operator", token=token, stored_at=at)


def test_provider_token_picks_up_a_later_login(store: EncryptedFileStore) -> None:
    store.put(SERVER, entry())
    provider = StoredCredentials(store, SERVER)
    provider.token()
    store.put(SERVER, later("bmV3LXRva2Vu"))
    assert provider.token() == "bmV3LXRva2Vu"


def test_configured_token_wins_over_an_older_stored_one(store: EncryptedFileStore) -> None:
    store.put(SERVER, entry())
    assert StoredCredentials(store, SERVER, initial="Y29uZmlndXJlZA==").token() == (
        "Y29uZmlndXJlZA=="
    )


def test_configured_token_gives_way_to_a_later_login(store: EncryptedFileStore) -> None:
    store.put(SERVER, entry())
    provider = StoredCredentials(store, SERVER, initial="Y29uZmlndXJlZA==")
    store.put(SERVER, later("bmV3LXRva2Vu"))
    assert provider.token() == "bmV3LXRva2Vu"


def test_refresh_after_rejection_offers_the_stored_token(store: EncryptedFileStore) -> None:
    store.put(SERVER, entry())
    provider = StoredCredentials(store, SERVER, initial="Y29uZmlndXJlZA==")
    assert provider.refresh() == TOKEN


def test_configured_token_works_without_any_store_file(store: EncryptedFileStore) -> None:
    assert StoredCredentials(store, SERVER, initial="Y29uZmlndXJlZA==").token() == (
        "Y29uZmlndXJlZA=="
    )


# --------------------------------------------------------------------------- with a server

USER = "operator"
API_KEY = "the-right-api-key-0123"


@pytest.fixture
def server(sim_factory):
    from pywats import make_token

    return sim_factory(token=make_token(USER, API_KEY))


def test_login_stores_the_token_the_server_accepted(server, store: EncryptedFileStore) -> None:
    from pywats import make_token

    login(server.base_url, USER, API_KEY, store)
    assert store.get(server.base_url).token == make_token(USER, API_KEY)


def test_rejected_login_raises_and_stores_nothing(server, store: EncryptedFileStore) -> None:

    with pytest.raises(LoginRejectedError, match="401"):
        login(server.base_url, USER, "wrong-key", store)
    assert store.get(server.base_url) is None


def test_login_error_messages_never_contain_the_key(server, store: EncryptedFileStore) -> None:

    with pytest.raises(LoginRejectedError) as info:
        login(server.base_url, USER, "wrong-key-with-secret", store)
    assert "wrong-key-with-secret" not in str(info.value)


def test_a_403_answer_is_a_rejected_login(store: EncryptedFileStore) -> None:
    import httpx

    forbidden = httpx.MockTransport(lambda request: httpx.Response(403, json={"message": "no"}))
    with pytest.raises(LoginRejectedError, match="HTTP 403"):
        login("http://127.0.0.1:9", USER, API_KEY, store, transport=forbidden)
    assert store.get("http://127.0.0.1:9") is None


def test_unreachable_server_raises_login_unreachable(store: EncryptedFileStore) -> None:

    with pytest.raises(LoginUnreachableError):
        login("http://127.0.0.1:9", USER, API_KEY, store)


def test_engine_recovers_from_auth_failed_after_a_new_login(
    server, store: EncryptedFileStore, tmp_path: Path
) -> None:
    """The engine's 401 path asks the provider; a login while it waits brings it back."""
    import time

    from syncengine import BreakerConfig, EngineConfig, RetryConfig, SyncEngine
    from tests.watsim.examples import example_uut

    store.put(server.base_url, StoredToken(USER, "b3BlcmF0b3I6b2xkLWtleQ==", 0.0))
    provider = StoredCredentials(store, server.base_url)
    config = EngineConfig(
        server_url=server.base_url,
        token=provider.token(),
        journal_path=tmp_path / "journal.sqlite3",
        probe_interval_s=0.05,
        idle_poll_s=0.05,
        retry=RetryConfig(base_s=0.01, cap_s=0.05),
        breaker=BreakerConfig(reset_timeout_s=0.05),
    )
    report = example_uut()
    with SyncEngine(config, credentials=provider) as engine:
        engine.submit(report)
        deadline = time.monotonic() + 20
        while engine.connection_state != "auth_failed" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert engine.connection_state == "auth_failed"
        login(server.base_url, USER, API_KEY, store)
        assert engine.wait_idle(20)
    assert server.stats()["receive_counts"] == {report["id"].lower(): 1}
