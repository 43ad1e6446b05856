"""Token providers against a local HTTPS server that answers like the Microsoft identity platform."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from order_platform.ingest.sharepoint.http import HttpRetrySettings
from order_platform.ingest.sharepoint.library import SharePointSource
from order_platform.ingest.sharepoint.msal_auth import (
    AppTokenProvider,
    AuthError,
    DelegatedTokenProvider,
    EncryptedCacheStore,
    LoginRequiredError,
    device_code_login,
)
from order_platform.warehouse.state_store import DbStateStore
from order_platform_tests.ingest.conftest import CLIENT_ID, CLIENT_SECRET, TENANT
from stand_ins.graph_server import FakeGraph, FakeIdentity, Fault


class CountingStore(DbStateStore):
    def __init__(self, engine: sa.Engine, key: str) -> None:
        super().__init__(engine, key)
        self.writes = 0

    def set(self, value: str | None) -> None:
        self.writes += 1
        super().set(value)


@pytest.fixture
def cache_key() -> str:
    return Fernet.generate_key().decode()


def app_provider(identity: FakeIdentity, cert, secret: str = CLIENT_SECRET) -> AppTokenProvider:
    return AppTokenProvider(TENANT, CLIENT_ID, secret, authority_host=identity.url)


def delegated(identity: FakeIdentity, cert, store, key: str) -> DelegatedTokenProvider:
    return DelegatedTokenProvider(
        TENANT, CLIENT_ID, EncryptedCacheStore(store, key), authority_host=identity.url
    )


def test_app_only_token_is_fetched_once_and_cached(identity, tls_cert):
    provider = app_provider(identity, tls_cert[0])
    token = provider.get_token()
    assert token in identity.issued_tokens
    assert provider.get_token() == token
    assert identity.token_requests == 1
    assert CLIENT_SECRET not in repr(provider)


def test_wrong_client_secret_fails_without_echoing_it(identity, tls_cert):
    with pytest.raises(AuthError) as err:
        app_provider(identity, tls_cert[0], secret="wrong-secret-value").get_token()
    assert "invalid_client" in str(err.value) and "wrong-secret-value" not in str(err.value)


def test_end_to_end_app_auth_listing_and_download_log_no_secrets(identity, tls_cert, engine, caplog):
    caplog.set_level(logging.DEBUG)
    graph = FakeGraph(lambda: identity.issued_tokens)
    try:
        graph.put_file("USA CUSTOMERS/GREYSON ORDER LIST (M3).xlsx", b"greyson")
        graph.faults.append(Fault("/root/delta", 429, {"Retry-After": "0"}))
        source = SharePointSource(
            "https://contoso.sharepoint.com/sites/Orders",
            "Documents",
            ["USA CUSTOMERS"],
            app_provider(identity, tls_cert[0]),
            state_store=DbStateStore(engine, "delta"),
            graph_base_url=graph.base_url,
            retry=HttpRetrySettings(backoff_base=0.01),
        )
        (ref,) = source.list_workbooks()
        assert source.read_bytes(ref) == b"greyson"
        assert source.list_workbooks() == [ref]
    finally:
        graph.close()

    text = caplog.text
    assert "answered 429" in text and "urllib3" in {r.name.split(".")[0] for r in caplog.records}
    assert identity.issued_tokens and identity.token_requests == 1
    for secret in [CLIENT_SECRET, *identity.issued_tokens, graph.TEMPAUTH]:
        assert secret not in text
    assert "tempauth=REDACTED" in text  # urllib3's request line, masked


def test_delegated_without_login_asks_for_the_login_command(identity, tls_cert, engine, cache_key):
    provider = delegated(identity, tls_cert[0], DbStateStore(engine, "cache"), cache_key)
    with pytest.raises(LoginRequiredError, match="order-platform sharepoint-login"):
        provider.get_token()
    assert not any(r.path.endswith("/devicecode") for r in identity.requests)  # never prompts by itself


def test_device_code_login_stores_an_encrypted_cache_used_by_later_runs(
    identity, tls_cert, engine, cache_key
):
    store = CountingStore(engine, "msal.token_cache:test")
    lines: list[str] = []
    user = device_code_login(delegated(identity, tls_cert[0], store, cache_key), echo=lines.append)

    assert user == identity.user
    assert "https://microsoft.com/devicelogin" in lines[0] and "QWER-TYUI" in lines[0]
    assert store.writes == 1
    raw = DbStateStore(engine, "msal.token_cache:test").get()
    assert raw and not any(t in raw for t in identity.issued_tokens | identity.refresh_tokens)
    assert any(t in Fernet(cache_key).decrypt(raw.encode()).decode() for t in identity.issued_tokens)

    requests_before = identity.token_requests
    scheduled = delegated(identity, tls_cert[0], store, cache_key)  # a later run, new process
    assert scheduled.get_token() in identity.issued_tokens
    assert identity.token_requests == requests_before  # served from the cache
    assert store.writes == 1  # unchanged cache is not written back
    discovery = sum(r.path.endswith("openid-configuration") for r in identity.requests)
    for _ in range(5):  # one token per Graph request: answered from memory
        scheduled.get_token()
    assert sum(r.path.endswith("openid-configuration") for r in identity.requests) == discovery


def test_delegated_refresh_rotates_and_persists_then_expiry_requires_login(
    identity, tls_cert, engine, cache_key
):
    identity.access_token_lifetime = 60  # MSAL treats tokens expiring within 5 minutes as expired
    store = CountingStore(engine, "cache")
    device_code_login(delegated(identity, tls_cert[0], store, cache_key), echo=lambda _: None)
    first_refresh_tokens = set(identity.refresh_tokens)

    token = delegated(identity, tls_cert[0], store, cache_key).get_token()
    assert token in identity.issued_tokens and store.writes == 2  # refreshed and saved
    assert identity.refresh_tokens.isdisjoint(first_refresh_tokens)  # rotated

    identity.refresh_tokens.clear()  # revoked / expired refresh token
    with pytest.raises(LoginRequiredError, match="order-platform sharepoint-login"):
        delegated(identity, tls_cert[0], store, cache_key).get_token()


def test_cache_with_another_key_requires_login(identity, tls_cert, engine, cache_key):
    store = DbStateStore(engine, "cache")
    device_code_login(delegated(identity, tls_cert[0], store, cache_key), echo=lambda _: None)
    other = delegated(identity, tls_cert[0], store, Fernet.generate_key().decode())
    with pytest.raises(LoginRequiredError, match="cannot be decrypted"):
        other.get_token()


def test_invalid_fernet_key_is_reported_without_the_key(engine):
    with pytest.raises(AuthError, match="not a valid Fernet key") as err:
        EncryptedCacheStore(DbStateStore(engine, "cache"), "short-key-value")
    assert "short-key-value" not in str(err.value)


def test_transient_identity_errors_are_retried_with_backoff(identity, tls_cert):
    identity.faults += [
        Fault("/oauth2/v2.0/token", 503),
        Fault("/oauth2/v2.0/token", 500),
        Fault("/oauth2/v2.0/token", 429, {"Retry-After": "0"}),
    ]
    provider = AppTokenProvider(
        TENANT, CLIENT_ID, CLIENT_SECRET, authority_host=identity.url, sleep=lambda _: None
    )
    assert provider.get_token() in identity.issued_tokens
    statuses = [r.status for r in identity.requests if r.path.endswith("/token")]
    assert statuses == [503, 500, 429, 200]


def test_identity_outage_beyond_the_retries_is_an_auth_error(identity, tls_cert):
    identity.faults += [Fault("/oauth2/v2.0/token", 503) for _ in range(10)]
    provider = AppTokenProvider(
        TENANT, CLIENT_ID, "other-secret", authority_host=identity.url, sleep=lambda _: None
    )
    with pytest.raises(AuthError, match="token request failed"):
        provider.get_token()


def test_a_revoked_token_is_renewed_once_on_401_and_reused_by_the_process(identity, tls_cert, engine):
    graph = FakeGraph(lambda: identity.issued_tokens)
    try:
        graph.put_file("USA CUSTOMERS/GREYSON ORDER LIST (M3).xlsx", b"greyson")

        def source() -> SharePointSource:  # a new source per sensor tick, as the resources build them
            return SharePointSource(
                "https://contoso.sharepoint.com/sites/Orders",
                "Documents",
                ["USA CUSTOMERS"],
                app_provider(identity, tls_cert[0]),
                state_store=DbStateStore(engine, "delta"),
                graph_base_url=graph.base_url,
            )

        assert len(source().list_workbooks()) == 1
        assert len(source().list_workbooks()) == 1
        assert identity.token_requests == 1  # one token per process, reused across ticks

        identity.revoke_all()
        (ref,) = source().list_workbooks()  # 401, renewed once, retried: the tick is not lost
        assert source().read_bytes(ref) == b"greyson"
        assert identity.token_requests == 2
        assert sum(r.status == 401 for r in graph.requests) == 1
    finally:
        graph.close()


def test_oauth_temporarily_unavailable_with_http_400_is_retried(identity, tls_cert):
    body = {"error": "temporarily_unavailable", "error_description": "AADSTS90033: try again"}
    identity.faults.append(Fault("/oauth2/v2.0/token", 400, body=body))
    provider = AppTokenProvider(TENANT, CLIENT_ID, CLIENT_SECRET, authority_host=identity.url, sleep=lambda _: None)
    assert provider.get_token() in identity.issued_tokens
    assert [r.status for r in identity.requests if r.path.endswith("/token")] == [400, 200]


def test_delegated_token_revoked_at_graph_is_refreshed_once(identity, tls_cert, engine, cache_key):
    store = DbStateStore(engine, "cache")
    device_code_login(delegated(identity, tls_cert[0], store, cache_key), echo=lambda _: None)
    graph = FakeGraph(lambda: identity.issued_tokens)
    try:
        graph.put_file("USA CUSTOMERS/GREYSON ORDER LIST (M3).xlsx", b"greyson")
        source = SharePointSource(
            "https://contoso.sharepoint.com/sites/Orders",
            "Documents",
            ["USA CUSTOMERS"],
            delegated(identity, tls_cert[0], store, cache_key),
            graph_base_url=graph.base_url,
        )
        assert len(source.list_workbooks()) == 1
        identity.revoke_all()  # access tokens revoked; the stored refresh token still works
        assert len(source.list_workbooks()) == 1
        assert sum(r.status == 401 for r in graph.requests) == 1
    finally:
        graph.close()


def test_an_app_token_near_expiry_is_renewed_not_reused(identity, tls_cert):
    identity.access_token_lifetime = 60  # inside MSAL's 5-minute early-refresh margin: near expiry at once
    provider = app_provider(identity, tls_cert[0])
    first = provider.get_token()
    assert provider.get_token() != first and identity.token_requests == 2
