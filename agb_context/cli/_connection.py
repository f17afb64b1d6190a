"""The connection options checked in the words of the command line, and the manager they open.

The SDK's own messages name its Python arguments (``api_key=``,
``allow_insecure_http=True``); here the same checks run first and name the
flags and environment variables a user of ``agb-context`` typed.
"""

from __future__ import annotations

import argparse
import os
from urllib.parse import urlsplit

from agb_context import ConfigurationError, ContextManager
from agb_context._config import ENV_API_KEY, ENV_ENDPOINT, is_loopback, normalize_endpoint


def open_manager(args: argparse.Namespace) -> ContextManager:
    """A `ContextManager` from the connection options (flags first, then ``AGB_*``).

    Raises `ConfigurationError` naming the flag or variable that is wrong.
    """
    check_api_key(args.api_key)
    check_endpoint(args.endpoint, allow_insecure_http=args.allow_insecure_http)
    return ContextManager(
        args.session,
        api_key=args.api_key,
        endpoint=args.endpoint,
        timeout=args.request_timeout,
        allow_insecure_http=args.allow_insecure_http,
    )


def check_api_key(flag: str | None) -> None:
    """Fail unless ``--api-key`` or ``AGB_API_KEY`` holds a key."""
    if flag is not None:
        if not flag.strip():
            raise ConfigurationError(
                f"--api-key is blank: give the key, or leave the flag out to use {ENV_API_KEY}"
            )
        return
    from_env = os.environ.get(ENV_API_KEY)
    if from_env is None:
        raise ConfigurationError(
            f"no API key: set the {ENV_API_KEY} environment variable, or pass --api-key"
        )
    if not from_env.strip():
        raise ConfigurationError(f"{ENV_API_KEY} is blank: set it to the API key")


def check_endpoint(flag: str | None, *, allow_insecure_http: bool) -> None:
    """Fail when ``--endpoint`` (else ``AGB_ENDPOINT``) is not usable as given."""
    source = "--endpoint" if flag is not None else ENV_ENDPOINT
    endpoint = flag if flag is not None else os.environ.get(ENV_ENDPOINT, "")
    if not endpoint.strip():
        return  # the SDK's default endpoint applies
    try:
        url = urlsplit(normalize_endpoint(endpoint, allow_insecure_http=True))
    except ConfigurationError as exc:
        raise ConfigurationError(f"{source}: {exc}") from None
    host = url.hostname or ""
    if url.scheme == "http" and not allow_insecure_http and not is_loopback(host):
        raise ConfigurationError(
            f"{source}: refusing to send the API key over plain http to {host}: use https, "
            "or add --allow-insecure-http if this is really wanted"
        )
