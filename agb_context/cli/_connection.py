"""The connection options checked in the words of the command line, and the manager they open.

The SDK's own messages name its Python arguments (``api_key=``,
``allow_insecure_http=True``); here the same checks run first and name the
flags and environment variables a user of ``agb-context`` typed.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import Any
from urllib.parse import urlsplit

from agb_context import ConfigurationError, ContextManager, InsecureTLSWarning, RetryPolicy
from agb_context._config import (
    ENV_API_KEY,
    ENV_ENDPOINT,
    is_loopback,
    normalize_endpoint,
    resolve_timeout,
    user_agent,
)
from agb_context._proxy import parse_proxy
from agb_context._tls import resolve_tls
from agb_context.cli._app import PROG


def open_manager(args: argparse.Namespace) -> ContextManager:
    """A `ContextManager` from the connection options (flags first, then ``AGB_*``).

    Raises `ConfigurationError` naming the flag or variable that is wrong.
    """
    check_api_key(args.api_key)
    check_endpoint(args.endpoint, allow_insecure_http=args.allow_insecure_http)
    network = network_options(args)
    with warnings.catch_warnings():
        # Said once, in the words of the command line, by network_options.
        warnings.simplefilter("ignore", InsecureTLSWarning)
        return ContextManager(
            args.session,
            api_key=args.api_key,
            endpoint=args.endpoint,
            allow_insecure_http=args.allow_insecure_http,
            **network,
        )


def network_options(args: argparse.Namespace) -> dict[str, Any]:
    """The timeout, retry, proxy, TLS and User-Agent arguments from their flags, checked
    so that a message names the flag."""
    verify: str | bool = True
    if args.no_verify_tls:
        verify = False
        print(
            f"{PROG} {args.command}: warning: --no-verify-tls: TLS certificates are not "
            "verified; anyone between here and the endpoint can read the API key",
            file=sys.stderr,
        )
    elif args.ca_bundle is not None:
        resolve_tls(args.ca_bundle, name="--ca-bundle")
        verify = args.ca_bundle
    if args.user_agent_suffix is not None:
        user_agent(args.user_agent_suffix, name="--user-agent-suffix")
    return {
        "timeout": resolve_timeout(args.request_timeout, connect_timeout=args.connect_timeout),
        "retry": None if args.max_retries is None else RetryPolicy(max_retries=args.max_retries),
        "proxy": None if args.proxy is None else parse_proxy(args.proxy, "--proxy"),
        "verify": verify,
        "user_agent_suffix": args.user_agent_suffix,
    }


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
