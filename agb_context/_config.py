"""Connection settings: arguments first, then environment variables, then defaults.

Blank values: a string that is empty or only whitespace counts as not given,
whether it is an argument or an environment variable, so the next source
is asked. Surrounding whitespace of a value is ignored.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import re
import sys

import attrs
import httpx

from agb_context._errors import ConfigurationError
from agb_context._flow import DEFAULT_MAX_IN_FLIGHT
from agb_context._proxy import mask_userinfo, proxy_label, resolve_proxy
from agb_context._retry import RetryPolicy
from agb_context._tls import TlsTrust, resolve_tls
from agb_context._version import __version__

logger = logging.getLogger("agb_context")

ENV_API_KEY = "AGB_API_KEY"
ENV_ENDPOINT = "AGB_ENDPOINT"
ENV_TIMEOUT_MS = "AGB_TIMEOUT_MS"
ENV_CONNECT_TIMEOUT_MS = "AGB_CONNECT_TIMEOUT_MS"
ENV_MAX_RETRIES = "AGB_MAX_RETRIES"
ENV_USER_AGENT_SUFFIX = "AGB_USER_AGENT_SUFFIX"
ENV_MAX_IN_FLIGHT = "AGB_MAX_IN_FLIGHT"
DEFAULT_ENDPOINT = "sdk-api.agb.cloud"
DEFAULT_TIMEOUT = 60.0
DEFAULT_CONNECT_TIMEOUT = 10.0
"""The connect timeout when none is given: at most this, and at most the request timeout."""
USER_AGENT = f"agb-context-python/{__version__} Python/{sys.version_info[0]}.{sys.version_info[1]}"
MAX_USER_AGENT_SUFFIX = 200

_LABEL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")


@attrs.frozen(kw_only=True)
class Settings:
    """Everything needed to reach the API. The key never shows in its repr, nor
    do credentials of the proxy."""

    api_key: str = attrs.field(repr=False)
    base_url: str
    timeout: httpx.Timeout = attrs.field(hash=False)  # httpx.Timeout cannot be hashed
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    proxy: httpx.Proxy | None = attrs.field(
        default=None, repr=lambda p: "None" if p is None else repr(proxy_label(p))
    )
    tls: TlsTrust = attrs.field(factory=lambda: resolve_tls(True))
    user_agent: str = USER_AGENT
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    """Requests at most in flight at once on one event loop (see `agb_context._flow`)."""

    @property
    def uses_tls(self) -> bool:
        """Whether requests may make a TLS connection (to the API, or to a proxy)."""
        return self.base_url.startswith("https:") or self.proxy is not None


def resolve_settings(
    *,
    api_key: str | None = None,
    endpoint: str | None = None,
    timeout: float | httpx.Timeout | None = None,
    allow_insecure_http: bool = False,
    retry: RetryPolicy | None = None,
    proxy: str | httpx.URL | httpx.Proxy | None = None,
    verify: object = True,
    user_agent_suffix: str | None = None,
    max_in_flight: int | None = None,
) -> Settings:
    """Build `Settings` from arguments, falling back to environment variables and defaults.

    Raises `ConfigurationError` naming what is wrong: a missing key, an
    endpoint that is not a host name or URL, a bad timeout, proxy, CA bundle,
    User-Agent suffix or limit on requests in flight.
    """
    key = _text("api_key", api_key, ENV_API_KEY)
    if key is None:
        raise ConfigurationError(
            f"no API key: pass api_key=... or set the {ENV_API_KEY} environment variable"
            + (" (api_key was blank)" if api_key is not None else "")
        )
    if not (key.isascii() and key.isprintable()):
        raise ConfigurationError(
            "the API key must be printable ASCII text (it is sent as an HTTP header)"
        )
    base_url = normalize_endpoint(
        _text("endpoint", endpoint, ENV_ENDPOINT) or DEFAULT_ENDPOINT,
        allow_insecure_http=allow_insecure_http,
    )
    url = httpx.URL(base_url)
    chosen_proxy = resolve_proxy(proxy, url, local=is_loopback(url.host))
    if (
        chosen_proxy is not None
        and url.scheme == "http"
        and chosen_proxy.url.scheme != "https"
        and not allow_insecure_http
        and not is_loopback(chosen_proxy.url.host)
    ):
        raise ConfigurationError(
            f"refusing to send the API key over plain http through the proxy "
            f"{proxy_label(chosen_proxy)}: use an https endpoint, or pass "
            "allow_insecure_http=True if this is really wanted"
        )
    return Settings(
        api_key=key,
        base_url=base_url,
        timeout=resolve_timeout(timeout),
        retry=retry if retry is not None else _env_retry(),
        proxy=chosen_proxy,
        tls=resolve_tls(verify),
        user_agent=user_agent(user_agent_suffix),
        max_in_flight=resolve_max_in_flight(max_in_flight),
    )


def resolve_max_in_flight(value: object) -> int:
    """``max_in_flight``, else ``AGB_MAX_IN_FLIGHT``, else `DEFAULT_MAX_IN_FLIGHT`."""
    origin = "max_in_flight"
    if value is None:
        raw = os.environ.get(ENV_MAX_IN_FLIGHT, "").strip()
        if not raw:
            return DEFAULT_MAX_IN_FLIGHT
        origin = ENV_MAX_IN_FLIGHT
        value = int(raw) if raw.isdigit() else raw
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(
            f"{origin} must be a whole number of requests (1 or more), not {value!r}"
        )
    return value


def normalize_endpoint(endpoint: str, *, allow_insecure_http: bool = False) -> str:
    """The base URL for an endpoint: ``https://`` is added when no scheme is given.

    The host must be a host name or an IP address; a path is kept, a query
    or fragment is refused. A ``user:password@`` part is removed (requests
    carry the API key, never URL credentials), with a warning that does not
    repeat it. Plain ``http`` is accepted only for loopback hosts, unless
    ``allow_insecure_http`` is true: the API key would travel in clear text.
    """
    text = endpoint.strip()
    shown = repr(mask_userinfo(text))
    if not text:
        raise ConfigurationError("the endpoint is blank: give a host name or an https URL")
    if "://" not in text:
        text = "https://" + text
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise ConfigurationError(f"invalid endpoint {shown}: {exc}") from None
    if url.scheme not in ("http", "https"):
        raise ConfigurationError(
            f"invalid endpoint {shown}: the scheme must be https or http, not {url.scheme!r}"
        )
    if not url.host:
        raise ConfigurationError(f"invalid endpoint {shown}: it names no host")
    if not _is_host(url.raw_host.decode("ascii")):
        raise ConfigurationError(
            f"invalid endpoint {shown}: {url.host!r} is not a host name or an IP address"
        )
    if url.port is not None and not 0 < url.port < 65536:
        raise ConfigurationError(
            f"invalid endpoint {shown}: the port must be from 1 to 65535, not {url.port}"
        )
    if url.query or url.fragment or "?" in text or "#" in text:
        raise ConfigurationError(
            f"invalid endpoint {shown}: an endpoint has no query (?...) or fragment (#...)"
        )
    if url.userinfo:
        logger.warning(
            "the user name and password in the endpoint were removed: requests carry "
            "the API key, never credentials from the URL"
        )
        url = url.copy_with(username=None, password=None)
    if url.scheme == "http" and not allow_insecure_http and not is_loopback(url.host):
        raise ConfigurationError(
            f"refusing to send the API key over plain http to {url.host}: use https, "
            "or pass allow_insecure_http=True if this is really wanted"
        )
    return str(url).rstrip("/")


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost`` or a loopback address)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    # Python 3.13 counts an IPv4-mapped loopback (::ffff:127.0.0.1) as loopback,
    # earlier versions do not: it is refused on every version.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return False
    return address.is_loopback


def resolve_timeout(
    timeout: float | httpx.Timeout | None = None, *, connect_timeout: float | None = None
) -> httpx.Timeout:
    """The timeouts of each request.

    ``timeout`` in seconds bounds reading, writing and waiting for a pooled
    connection; None means ``AGB_TIMEOUT_MS`` (milliseconds), else 60 s. The
    connect timeout is ``connect_timeout``, else ``AGB_CONNECT_TIMEOUT_MS``,
    else the smaller of that timeout and 10 s. An `httpx.Timeout` is taken as
    it is (``connect_timeout`` still replaces its connect part).
    """
    if connect_timeout is not None:
        connect: float | None = _seconds("connect_timeout", connect_timeout)
    else:
        connect = _env_seconds(ENV_CONNECT_TIMEOUT_MS)
    if isinstance(timeout, httpx.Timeout):
        for part in ("connect", "read", "write", "pool"):
            value = getattr(timeout, part)
            if value is not None:
                _seconds(f"timeout.{part}", value)
        if connect_timeout is None:
            return timeout
        return httpx.Timeout(
            connect=connect, read=timeout.read, write=timeout.write, pool=timeout.pool
        )
    if timeout is not None:
        seconds = _seconds("timeout", timeout)
    else:
        seconds = _env_seconds(ENV_TIMEOUT_MS) or DEFAULT_TIMEOUT
    if connect is None:
        connect = min(seconds, DEFAULT_CONNECT_TIMEOUT)
    return httpx.Timeout(seconds, connect=connect)


def _text(name: str, value: object, env: str) -> str | None:
    """An argument's text, else the variable's; None when both are blank or unset."""
    if value is not None and not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a string, not {type(value).__name__}")
    if value is not None and value.strip():
        return value.strip()
    return os.environ.get(env, "").strip() or None


def _is_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return True
    name = host[:-1] if host.endswith(".") else host
    labels = name.split(".")
    return (
        0 < len(name) <= 253
        and all(_LABEL.match(label) for label in labels)
        and not labels[-1].isdigit()
    )


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        also = " or an httpx.Timeout" if name == "timeout" else ""
        raise ConfigurationError(f"{name} must be a number of seconds{also}, not {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(f"{name} must be a positive number of seconds, not {value!r}")
    return float(value)


def _env_seconds(env: str) -> float | None:
    raw = os.environ.get(env, "").strip()
    if not raw:
        return None
    try:
        millis = float(raw)
    except ValueError:
        raise ConfigurationError(f"{env} must be a number of milliseconds, not {raw!r}") from None
    if not math.isfinite(millis) or millis <= 0:
        raise ConfigurationError(f"{env} must be positive, not {raw!r}")
    return millis / 1000


def _env_retry() -> RetryPolicy:
    raw = os.environ.get(ENV_MAX_RETRIES, "").strip()
    if not raw:
        return RetryPolicy()
    if not raw.isdigit():
        raise ConfigurationError(
            f"{ENV_MAX_RETRIES} must be a whole number of retries (0 or more), not {raw!r}"
        )
    return RetryPolicy(max_retries=int(raw))


def user_agent(suffix: object, *, name: str = "user_agent_suffix") -> str:
    """The User-Agent: ours, then ``suffix`` (else ``AGB_USER_AGENT_SUFFIX``) if given.

    Raises `ConfigurationError`, calling the suffix ``name``, for text that
    cannot go in a header.
    """
    origin = name
    if suffix is not None and not isinstance(suffix, str):
        raise ConfigurationError(f"{name} must be a string, not {type(suffix).__name__}")
    text = suffix.strip() if suffix is not None else ""
    if not text:
        origin = ENV_USER_AGENT_SUFFIX
        text = os.environ.get(ENV_USER_AGENT_SUFFIX, "").strip()
    if not text:
        return USER_AGENT
    if not (text.isascii() and text.isprintable()) or len(text) > MAX_USER_AGENT_SUFFIX:
        raise ConfigurationError(
            f"{origin} must be printable ASCII text of at most {MAX_USER_AGENT_SUFFIX} "
            "characters (it is sent as part of the User-Agent header)"
        )
    return f"{USER_AGENT} {text}"
