"""Which proxy requests go through: ``proxy=``, else the environment as httpx reads it.

``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` (and their
lower-case spellings) are read with httpx's own rules, once, for the one
endpoint a client talks to. An endpoint on this machine never goes through
a proxy from the environment: a proxy elsewhere could not reach it.
"""

from __future__ import annotations

import importlib.util
import re

import httpx

from agb_context._errors import ConfigurationError

ProxyArg = str | httpx.URL | httpx.Proxy
"""What ``proxy=`` takes: a proxy URL (credentials in it are used, never shown) or an
`httpx.Proxy`."""

PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
_ENV_ORIGIN = "the proxy from the environment (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY)"
_USERINFO = re.compile(r"^([^/@]*//)?[^/]*@")


def resolve_proxy(proxy: object, url: httpx.URL, *, local: bool) -> httpx.Proxy | None:
    """The proxy for requests to ``url``: ``proxy`` when given, else the environment's.

    ``local``: the endpoint is on this machine, so the environment is not asked.
    Raises `ConfigurationError` for a value that is not a usable proxy.
    """
    if isinstance(proxy, httpx.Proxy):
        return _usable(proxy, "proxy")
    if isinstance(proxy, httpx.URL):
        proxy = str(proxy)
    if isinstance(proxy, str) and proxy.strip():
        return parse_proxy(proxy, "proxy")
    if proxy is not None and not isinstance(proxy, str):
        raise ConfigurationError(
            f"proxy must be a proxy URL or an httpx.Proxy, not {type(proxy).__name__}"
        )
    return None if local else _from_environment(url)


def parse_proxy(text: str, name: str) -> httpx.Proxy:
    """A proxy from its URL; `ConfigurationError` calling it ``name`` if it is unusable."""
    return _usable(_parse(text.strip(), name), name)


def proxy_label(proxy: httpx.Proxy) -> str:
    """The proxy's URL for messages: credentials are never part of it."""
    return str(proxy.url.copy_with(username=None, password=None))


def mask_userinfo(text: str) -> str:
    """``text`` (a URL) with any ``user:password@`` part replaced by ``***@``."""
    return _USERINFO.sub(lambda m: (m.group(1) or "") + "***@", text, count=1)


def _from_environment(url: httpx.URL) -> httpx.Proxy | None:
    # httpx's own reading of the variables, so that NO_PROXY means here what it
    # means to httpx; a client with a transport of its own never reads them.
    from httpx._utils import URLPattern, get_environment_proxies

    mounts = sorted(
        ((URLPattern(key), value) for key, value in get_environment_proxies().items()),
        key=lambda item: item[0],
    )
    for pattern, value in mounts:
        if pattern.matches(url):
            return None if value is None else _usable(_parse(value, _ENV_ORIGIN), _ENV_ORIGIN)
    return None


def _parse(text: str, origin: str) -> httpx.Proxy:
    try:
        return httpx.Proxy(url=text)
    except httpx.InvalidURL as exc:
        raise ConfigurationError(
            f"{origin} is not a proxy URL ({mask_userinfo(text)!r}): {exc}"
        ) from None
    except ValueError:
        raise ConfigurationError(
            f"{origin} is not a proxy URL ({mask_userinfo(text)!r}): expected "
            "http://, https://, socks5:// or socks5h:// and a host"
        ) from None


def _usable(proxy: httpx.Proxy, origin: str) -> httpx.Proxy:
    if proxy.url.scheme not in PROXY_SCHEMES or not proxy.url.host:
        raise ConfigurationError(
            f"{origin} is not a proxy URL ({proxy_label(proxy)!r}): expected "
            "http://, https://, socks5:// or socks5h:// and a host"
        )
    port = proxy.url.port
    if port is not None and not 0 < port < 65536:
        raise ConfigurationError(
            f"{origin} is not a proxy URL ({proxy_label(proxy)!r}): the port must be "
            f"from 1 to 65535, not {port}"
        )
    if proxy.url.scheme.startswith("socks") and importlib.util.find_spec("socksio") is None:
        raise ConfigurationError(
            f"{origin} is a SOCKS proxy ({proxy_label(proxy)}), which needs the socksio "
            "package: pip install 'httpx[socks]'"
        )
    return proxy
