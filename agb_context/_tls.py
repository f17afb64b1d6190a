"""Which certificates to trust: ``verify=``, then the environment, then certifi.

A TLS context is made once per distinct trust setting (and CA file version)
and shared: making one loads the CA bundle (~30 ms). A CA file (certifi's,
the default, or one named by ``verify=`` or the environment) is checked when
the settings are made and loaded on first use: async code loads it off the
event loop (see `agb_context._http`), and plain-http endpoints never need it.
"""

from __future__ import annotations

import functools
import os
import ssl
import warnings
from collections.abc import Callable

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
    load: Callable[[], ssl.SSLContext] = attrs.field(repr=False, eq=False)
    """Gives the context (a CA file is loaded on the first call, then shared)."""
    lazy: bool = attrs.field(default=False, eq=False)
    """Whether `load` reads a CA file on its first call (a wait worth keeping off a loop)."""

    @property
    def context(self) -> ssl.SSLContext:
        """The TLS context (loading a CA file the first time it is asked for)."""
        return self.load()


def _given(context: ssl.SSLContext) -> Callable[[], ssl.SSLContext]:
    return lambda: context


def resolve_tls(verify: object, *, name: str = "verify") -> TlsTrust:
    """The trust for ``verify`` (see `Verify`); environment variables count when it is True.

    Raises `ConfigurationError` for a value of the wrong type, a CA file or
    folder that does not exist or cannot be read, or a file that holds no PEM
    data; its message calls the value ``name``. A CA file's certificates are
    loaded on first use (`TlsTrust.context`), which raises `ConfigurationError`
    if they cannot be.
    """
    if isinstance(verify, ssl.SSLContext):
        return TlsTrust("the CAs of the ssl.SSLContext given", _given(verify))
    if verify is False:
        warnings.warn(
            "TLS certificate verification is turned off (verify=False): anyone between "
            "this machine and the endpoint can read the API key and the traffic",
            InsecureTLSWarning,
            stacklevel=4,
        )
        return TlsTrust("nothing: certificates are not verified", _unverified_context)
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
    messages (after the path).

    A folder's context is made at once (OpenSSL reads its certificates when it
    needs them). A file is only checked here (readable, holding PEM data); its
    certificates are loaded on first use (see `CaFile`).
    """
    try:
        stat = os.stat(path)
        is_dir = os.path.isdir(path)
        if not is_dir:
            _check_pem(path, stat.st_mtime_ns, stat.st_size)
    except OSError as exc:
        raise ConfigurationError(
            f"{origin} names {path!r}, which cannot be read as CA certificates: "
            f"{exc.strerror or exc}"
        ) from None
    except ValueError as exc:
        raise ConfigurationError(
            f"the CA certificates in {path!r} (from {origin}) could not be loaded: {exc}"
        ) from None
    source = path if label is None else f"{path} ({label})"
    if not is_dir:
        return TlsTrust(source, CaFile(path, origin), lazy=True)
    try:
        context = _context_for(path, True, stat.st_mtime_ns, stat.st_size)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigurationError(
            f"the CA certificates in {path!r} (from {origin}) could not be loaded: {exc}"
        ) from None
    return TlsTrust(source, _given(context))


@functools.lru_cache(maxsize=16)
def _check_pem(path: str, mtime_ns: int, size: int) -> None:
    """Raise `ValueError` unless the file holds PEM data (what a CA bundle file is)."""
    with open(path, "rb") as file:
        if b"-----BEGIN " not in file.read():
            raise ValueError("no PEM certificate in it")


@attrs.frozen
class CaFile:
    """Loads a CA bundle file into a TLS context when first called (~30 ms), then gives
    the same context until the file changes.

    Raises `ConfigurationError` naming the file and ``origin`` if its certificates
    cannot be loaded.
    """

    path: str
    origin: str

    def version(self) -> tuple[str, int, int] | None:
        """The file's path, change time and size (what a loaded context is kept by);
        None if it cannot be read now."""
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return (self.path, stat.st_mtime_ns, stat.st_size)

    def __call__(self) -> ssl.SSLContext:
        try:
            stat = os.stat(self.path)
            return _context_for(self.path, False, stat.st_mtime_ns, stat.st_size)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigurationError(
                f"the CA certificates in {self.path!r} (from {self.origin}) could not be "
                f"loaded: {exc}"
            ) from None


@functools.cache
def no_tls_context() -> ssl.SSLContext:
    """A context for clients that never make a TLS connection (plain http, no https
    proxy): it trusts no CA, and costs nothing to make."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


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
