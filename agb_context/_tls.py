"""Which certificates to trust: ``verify=``, then the environment, then certifi.

A TLS context is made once per distinct trust setting (and CA file version)
and shared: making one loads the CA bundle (~30 ms).
"""

from __future__ import annotations

import functools
import os
import ssl
import warnings

import attrs
import certifi

from agb_context._errors import ConfigurationError

CA_ENV_VARS = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")
"""Variables naming CA certificates to trust instead of certifi's, first set wins."""

Verify = bool | str | os.PathLike[str] | ssl.SSLContext
"""What ``verify=`` takes: True, False, a CA bundle file or folder, or an `ssl.SSLContext`."""


class InsecureTLSWarning(UserWarning):
    """TLS certificates are not verified (``verify=False``): anyone on the path can
    read the API key."""


@attrs.frozen
class TlsTrust:
    """The TLS context requests use, and where its trust comes from (for messages)."""

    source: str
    context: ssl.SSLContext = attrs.field(repr=False, eq=False)


def resolve_tls(verify: object, *, name: str = "verify") -> TlsTrust:
    """The trust for ``verify`` (see `Verify`); environment variables count when it is True.

    Raises `ConfigurationError` for a value of the wrong type, a CA file or
    folder that does not exist, or certificates that cannot be loaded; its
    message calls the value ``name``.
    """
    if isinstance(verify, ssl.SSLContext):
        return TlsTrust("the CAs of the ssl.SSLContext given", verify)
    if verify is False:
        warnings.warn(
            "TLS certificate verification is turned off (verify=False): anyone between "
            "this machine and the endpoint can read the API key and the traffic",
            InsecureTLSWarning,
            stacklevel=4,
        )
        return TlsTrust("nothing: certificates are not verified", _unverified_context())
    if isinstance(verify, str) and not verify.strip():
        verify = True  # blank counts as not given
    if verify is True:
        for variable in CA_ENV_VARS:
            value = os.environ.get(variable, "").strip()
            if value:
                return _from_path(value, f"the {variable} environment variable", variable)
        return _from_path(certifi.where(), "certifi's CA bundle", "certifi's CA bundle")
    if isinstance(verify, str | os.PathLike):
        return _from_path(os.fspath(verify).strip(), name, None)
    raise ConfigurationError(
        f"{name} must be True, False, the path of a CA bundle file or folder, or an "
        f"ssl.SSLContext, not {type(verify).__name__}"
    )


def _from_path(path: str, origin: str, label: str | None) -> TlsTrust:
    """The trust of a CA file or folder; ``origin`` names it in errors, ``label`` in
    messages (after the path)."""
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise ConfigurationError(
            f"{origin} names {path!r}, which cannot be read as CA certificates: "
            f"{exc.strerror or exc}"
        ) from None
    is_dir = os.path.isdir(path)
    try:
        context = _context_for(path, is_dir, stat.st_mtime_ns, stat.st_size)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigurationError(
            f"the CA certificates in {path!r} (from {origin}) could not be loaded: {exc}"
        ) from None
    return TlsTrust(path if label is None else f"{path} ({label})", context)


@functools.lru_cache(maxsize=16)
def _context_for(path: str, is_dir: bool, mtime_ns: int, size: int) -> ssl.SSLContext:
    """One context per CA file or folder, made again when the file changes."""
    if is_dir:
        return ssl.create_default_context(capath=path)
    return ssl.create_default_context(cafile=path)


@functools.cache
def _unverified_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def tls_error(error: BaseException) -> ssl.SSLError | None:
    """The TLS error behind a connection error, if one is (verification or handshake)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
