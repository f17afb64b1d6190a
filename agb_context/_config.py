"""Connection settings: arguments first, then environment variables, then defaults."""

from __future__ import annotations

import ipaddress
import math
import os

import attrs
import httpx

from agb_context._errors import ConfigurationError
from agb_context._retry import RetryPolicy

ENV_API_KEY = "AGB_API_KEY"
ENV_ENDPOINT = "AGB_ENDPOINT"
ENV_TIMEOUT_MS = "AGB_TIMEOUT_MS"
DEFAULT_ENDPOINT = "sdk-api.agb.cloud"
DEFAULT_TIMEOUT = 60.0


@attrs.frozen(kw_only=True)
class Settings:
    """Everything needed to reach the API. The key never shows in its repr."""

    api_key: str = attrs.field(repr=False)
    base_url: str
    timeout: float
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)


def resolve_settings(
    *,
    api_key: str | None = None,
    endpoint: str | None = None,
    timeout: float | None = None,
    allow_insecure_http: bool = False,
    retry: RetryPolicy | None = None,
) -> Settings:
    """Build `Settings` from arguments, falling back to ``AGB_*`` variables and defaults.

    Raises `ConfigurationError` for a missing key, a bad endpoint or timeout.
    """
    key = api_key if api_key is not None else os.environ.get(ENV_API_KEY, "")
    if not isinstance(key, str) or not key.strip():
        raise ConfigurationError(
            f"no API key: pass api_key=... or set the {ENV_API_KEY} environment variable"
        )
    if not (key.isascii() and key.strip().isprintable()):
        raise ConfigurationError(
            "the API key must be printable ASCII text (it is sent as an HTTP header)"
        )
    raw_endpoint = endpoint if endpoint is not None else os.environ.get(ENV_ENDPOINT, "")
    return Settings(
        api_key=key.strip(),
        base_url=normalize_endpoint(
            raw_endpoint or DEFAULT_ENDPOINT, allow_insecure_http=allow_insecure_http
        ),
        timeout=_resolve_timeout(timeout),
        retry=retry if retry is not None else RetryPolicy(),
    )


def normalize_endpoint(endpoint: str, *, allow_insecure_http: bool = False) -> str:
    """The base URL for an endpoint: ``https://`` is added when no scheme is given.

    Plain ``http`` is accepted only for loopback hosts, unless
    ``allow_insecure_http`` is true: the API key would travel in clear text.
    """
    text = endpoint.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise ConfigurationError(f"invalid endpoint {endpoint!r}: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(
            f"invalid endpoint {endpoint!r}: expected a host name or an http(s) URL"
        )
    if url.scheme == "http" and not allow_insecure_http and not is_loopback(url.host):
        raise ConfigurationError(
            f"refusing to send the API key over plain http to {url.host}: use https, "
            "or pass allow_insecure_http=True if this is really wanted"
        )
    return str(url.copy_with(query=None, fragment=None)).rstrip("/")


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost`` or a loopback address)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _resolve_timeout(timeout: float | None) -> float:
    if timeout is None:
        raw = os.environ.get(ENV_TIMEOUT_MS, "").strip()
        if not raw:
            return DEFAULT_TIMEOUT
        try:
            millis = float(raw)
        except ValueError:
            raise ConfigurationError(
                f"{ENV_TIMEOUT_MS} must be a number of milliseconds, not {raw!r}"
            ) from None
        if not math.isfinite(millis) or millis <= 0:
            raise ConfigurationError(f"{ENV_TIMEOUT_MS} must be positive, not {raw!r}")
        return millis / 1000
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise ConfigurationError(f"timeout must be a number of seconds, not {timeout!r}")
    if not math.isfinite(timeout) or timeout <= 0:
        raise ConfigurationError(f"timeout must be a positive number of seconds, not {timeout!r}")
    return float(timeout)
