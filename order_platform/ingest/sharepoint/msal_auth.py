"""Access tokens for Microsoft Graph from the Microsoft identity platform (MSAL).

Two modes:
- app-only (default): client credentials of an app registration; nothing interactive, ever.
- delegated: a user signs in once with the device-code flow (`device_code_login`); the MSAL
  token cache (refresh token included) is kept in the database, encrypted with a Fernet key.
  A scheduled run never prompts: without a usable login it raises `LoginRequiredError`.

Requests to the identity platform go through `RetryingSession` (tenacity): 429/5xx and dropped
connections are retried with backoff, honouring Retry-After through the instance-wide throttle.
An app-only token is reused by every provider of the process until MSAL sees it near expiry; a
401 from Graph drops it (`renew_token`) and the next call gets a new one.

TLS trust follows requests' usual REQUESTS_CA_BUNDLE (e.g. a corporate proxy CA, or a test server's).
Tokens, secrets and the cache are never logged; errors carry MSAL's error code and description only.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import msal
import requests
from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from order_platform.ingest.sharepoint.endpoints import DEFAULT_AUTHORITY_HOST
from order_platform.ingest.sharepoint.http import HttpRetrySettings, RetryingSession, TransportError
from order_platform.throttle import Throttle
from order_platform.warehouse.state_store import StateStore

log = logging.getLogger(__name__)

GRAPH_APP_SCOPES: tuple[str, ...] = ("https://graph.microsoft.com/.default",)
# Read-only delegated permissions for listing and downloading the workbooks.
GRAPH_DELEGATED_SCOPES: tuple[str, ...] = (
    "https://graph.microsoft.com/Sites.Read.All",
    "https://graph.microsoft.com/Files.Read.All",
)
LOGIN_COMMAND = "order-platform sharepoint-login"
_EARLY_REFRESH_SECONDS = 120


class TokenProvider(Protocol):
    def get_token(self) -> str: ...


def renew_token(provider: TokenProvider, stale: str) -> str:
    """A new token after `stale` was refused (401): the provider forgets it, then issues another."""
    invalidate = getattr(provider, "invalidate", None)
    if invalidate is not None:
        invalidate(stale)
    return provider.get_token()


def transient_oauth_error(response: requests.Response) -> bool:
    """OAuth 2.0's own transient errors (RFC 6749 5.2/4.1.2.1), which Entra ID may send with HTTP 400.
    Retried here: MSAL would otherwise cache a 400 answer for a minute and fail every call meanwhile."""
    if response.status_code not in (400, 401):
        return False
    try:
        error = response.json().get("error")
    except ValueError:
        return False
    return error in ("temporarily_unavailable", "server_error")


# Identity-platform calls retry harder than Graph's defaults would suggest: a sensor tick must
# survive a short outage of the token endpoint (a few 503s, a dropped connection).
IDENTITY_RETRY = HttpRetrySettings(max_attempts=5, backoff_base=0.5, backoff_max=8.0, read_timeout=30.0)


class AuthError(RuntimeError):
    """The identity platform refused to issue a token."""


class LoginRequiredError(AuthError):
    """Delegated mode has no usable login; someone must run the login command once."""


def _plain(secret: SecretStr | str) -> str:
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


def authority_url(authority_host: str, tenant_id: str) -> str:
    host = authority_host.strip().rstrip("/")
    if "://" not in host:  # azure-identity accepts a bare host in AZURE_AUTHORITY_HOST; so do we
        host = f"https://{host}"
    return f"{host}/{tenant_id.strip('/')}"


def _error_text(result: dict[str, Any]) -> str:
    # error_description never contains the secret or a token; first line is enough for logs.
    desc = (result.get("error_description") or "").splitlines()
    return f"{result.get('error', 'unknown_error')}: {desc[0] if desc else ''}".strip()


_APPS: dict[tuple[str, ...], msal.ConfidentialClientApplication] = {}
_APPS_LOCK = threading.Lock()


class AppTokenProvider:
    """App-only tokens (client credentials). One MSAL application per process and app registration:
    its in-memory cache serves the same token to every provider until near expiry."""

    def __init__(
        self,
        tenant_id: str,
        client_id: str,
        client_secret: SecretStr | str,
        *,
        authority_host: str = DEFAULT_AUTHORITY_HOST,
        scopes: Sequence[str] = GRAPH_APP_SCOPES,
        timeout: float = 30.0,
        retry: HttpRetrySettings = IDENTITY_RETRY,
        throttle: Throttle | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.scopes = list(scopes)
        self._secret = client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret)
        self._args = dict(client_id=client_id, authority=authority_url(authority_host, tenant_id))
        self._retry = HttpRetrySettings(**{**retry.__dict__, "read_timeout": timeout})
        self._throttle = throttle
        self._sleep = sleep
        secret_id = hashlib.sha256(self._secret.get_secret_value().encode()).hexdigest()
        self._key = (self._args["authority"], client_id, secret_id, *self.scopes)

    def __repr__(self) -> str:
        return (
            f"AppTokenProvider(authority={self._args['authority']!r}, client_id={self._args['client_id']!r})"
        )

    def _application(self) -> msal.ConfidentialClientApplication:
        # Built lazily (construction performs OIDC discovery over the network), once per process.
        with _APPS_LOCK:
            app = _APPS.get(self._key)
            if app is None:
                app = _APPS[self._key] = msal.ConfidentialClientApplication(
                    client_credential=self._secret.get_secret_value(),
                    # The authority host comes from our own configuration; skip Microsoft's instance
                    # discovery so sovereign clouds and test identity servers work alike.
                    instance_discovery=False,
                    http_client=RetryingSession(
                        self._retry, self._throttle, sleep=self._sleep, transient=transient_oauth_error
                    ),
                    **self._args,
                )
            return app

    def get_token(self) -> str:
        try:
            result = self._application().acquire_token_for_client(scopes=self.scopes)
        except (TransportError, msal.exceptions.MsalServiceError) as exc:
            raise AuthError(f"app-only token request failed: {exc}") from None
        except ValueError as exc:  # MSAL could not read an answer (e.g. an HTML error page)
            raise AuthError(f"app-only token request failed: unreadable answer ({type(exc).__name__})") from None
        if "access_token" not in result:
            raise AuthError(f"app-only token request failed: {_error_text(result)}")
        return result["access_token"]

    def invalidate(self, token: str) -> None:
        """Forget `token` (Graph refused it), so the next get_token asks the identity platform."""
        cache = self._application().token_cache
        for entry in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
            if entry.get("secret") == token:
                cache.remove_at(entry)


class EncryptedCacheStore:
    """An MSAL SerializableTokenCache persisted through a StateStore, Fernet-encrypted."""

    def __init__(self, store: StateStore, key: SecretStr | str) -> None:
        try:
            self._fernet = Fernet(_plain(key).encode())
        except (ValueError, TypeError):
            raise AuthError(
                "ORDER_PLATFORM_TOKEN_CACHE_KEY is not a valid Fernet key (32 url-safe base64 bytes; "
                'generate one with `python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"`)'
            ) from None
        self._store = store

    def load(self) -> msal.SerializableTokenCache:
        cache = msal.SerializableTokenCache()
        self.load_into(cache)
        return cache

    def load_into(self, cache: msal.SerializableTokenCache) -> None:
        """Replace the cache's content with the stored one (another process may have refreshed it)."""
        blob = self._store.get()
        if not blob:
            cache.deserialize(None)
            return
        try:
            cache.deserialize(self._fernet.decrypt(blob.encode()).decode())
        except InvalidToken:
            raise LoginRequiredError(
                "the stored SharePoint login cannot be decrypted with ORDER_PLATFORM_TOKEN_CACHE_KEY "
                f"(key changed?); run `{LOGIN_COMMAND}` to sign in again"
            ) from None

    def save(self, cache: msal.SerializableTokenCache) -> None:
        if cache.has_state_changed:
            self._store.set(self._fernet.encrypt(cache.serialize().encode()).decode())
            cache.has_state_changed = False
            log.debug("saved the encrypted MSAL token cache")


class DelegatedTokenProvider:
    """Tokens on behalf of a signed-in user, refreshed silently from the encrypted cache."""

    def __init__(
        self,
        tenant_id: str,
        client_id: str,
        cache_store: EncryptedCacheStore,
        *,
        authority_host: str = DEFAULT_AUTHORITY_HOST,
        scopes: Sequence[str] = GRAPH_DELEGATED_SCOPES,
        timeout: float = 30.0,
        login_command: str = LOGIN_COMMAND,
    ) -> None:
        self.scopes = list(scopes)
        self.cache_store = cache_store
        self.login_command = login_command
        self._args = dict(
            client_id=client_id,
            authority=authority_url(authority_host, tenant_id),
            timeout=timeout,
        )
        self._cache = msal.SerializableTokenCache()
        self._app: msal.PublicClientApplication | None = None
        self._token: tuple[str, float] | None = None
        self._force_refresh = False
        self._http = RetryingSession(IDENTITY_RETRY, transient=transient_oauth_error)

    def __repr__(self) -> str:
        return f"DelegatedTokenProvider(authority={self._args['authority']!r})"

    def application(self, cache: msal.SerializableTokenCache) -> msal.PublicClientApplication:
        return msal.PublicClientApplication(
            token_cache=cache, instance_discovery=False, http_client=self._http, **self._args
        )

    def invalidate(self, token: str) -> None:
        """Graph refused `token`: the next get_token refreshes it with the stored refresh token."""
        if self._token is not None and self._token[0] == token:
            self._token = None
        self._force_refresh = True

    def get_token(self) -> str:
        # Graph calls ask for a token per request: serve it from memory while it is fresh, so the
        # database and the identity platform are only touched when MSAL has to refresh.
        if self._token is not None and self._token[1] - time.time() > _EARLY_REFRESH_SECONDS:
            return self._token[0]
        self.cache_store.load_into(self._cache)
        if self._app is None:
            self._app = self.application(self._cache)  # OIDC discovery happens once, here
        accounts = self._app.get_accounts()
        if not accounts:
            raise LoginRequiredError(
                f"no SharePoint login is stored; run `{self.login_command}` once to sign in "
                "(scheduled runs never prompt)"
            )
        try:
            result = self._app.acquire_token_silent(
                self.scopes, account=accounts[0], force_refresh=self._force_refresh
            )
        except (TransportError, msal.exceptions.MsalServiceError) as exc:
            raise AuthError(f"delegated token refresh failed: {exc}") from None
        self._force_refresh = False
        self.cache_store.save(self._cache)  # a refresh rotates the refresh token: keep the new one
        if not result or "access_token" not in result:
            reason = _error_text(result) if result else "the refresh token expired or was revoked"
            raise LoginRequiredError(
                f"the stored SharePoint login is no longer valid ({reason}); run `{self.login_command}`"
            )
        self._token = (result["access_token"], time.time() + float(result.get("expires_in") or 0))
        return result["access_token"]

    def has_login(self) -> bool:
        return bool(self.application(self.cache_store.load()).get_accounts())


def device_code_login(
    provider: DelegatedTokenProvider,
    echo: Callable[[str], None] = print,
    timeout: float | None = None,
) -> str:
    """Interactive one-off sign-in: prints the verification URL and code, waits, stores the login.

    Returns the signed-in user name. Meant for the CLI (`order-platform sharepoint-login`).
    """
    cache = provider.cache_store.load()
    app = provider.application(cache)
    flow = app.initiate_device_flow(scopes=provider.scopes)
    if "user_code" not in flow:
        raise AuthError(f"could not start the device-code login: {_error_text(flow)}")
    echo(flow.get("message") or f"Open {flow['verification_uri']} and enter the code {flow['user_code']}")
    if timeout is not None:
        flow["expires_at"] = min(flow.get("expires_at", float("inf")), time.time() + timeout)
    result = app.acquire_token_by_device_flow(flow)
    if "access_token" not in result:
        raise AuthError(f"device-code login failed: {_error_text(result)}")
    provider.cache_store.save(cache)
    claims = result.get("id_token_claims") or {}
    user = claims.get("preferred_username") or claims.get("name") or "the user"
    echo(f"Signed in as {user}; the login is stored (encrypted) for scheduled runs.")
    return user
