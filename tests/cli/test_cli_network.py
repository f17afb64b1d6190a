"""The command line's network flags: proxies, TLS trust, timeouts, retries, User-Agent.

Each flag has an environment variable too (the SDK's); the messages name the flag.
"""

from __future__ import annotations

import pytest
from support import (
    API_HOST,
    NETWORK_ENV,
    Proxy,
    Run,
    TlsFront,
    assert_cli_words,
    base_env,
    never_accepting_listener,
    run_cli,
)

from agb_context import __version__
from agb_context.emulator import Emulator


def _run(emulator: Emulator, *args: str, **env: str) -> Run:
    environment = base_env(AGB_API_KEY=emulator.api_key, AGB_ENDPOINT=emulator.endpoint)
    for name in NETWORK_ENV:
        environment.pop(name, None)
    environment.update(env)
    return run_cli(*args, env=environment)


def test_https_through_a_proxy_with_a_ca_bundle(
    cli_emulator: Emulator, cli_session_id: str, proxy: Proxy, ca_file: str
) -> None:
    run = _run(
        cli_emulator,
        "info",
        "--session",
        cli_session_id,
        "--json",
        "--endpoint",
        API_HOST,
        "--proxy",
        proxy.url,
        "--ca-bundle",
        ca_file,
    )
    assert run.code == 0, run.err
    assert [r.request_line for r in proxy.requests] == [f"CONNECT {API_HOST}:443 HTTP/1.1"]


def test_the_environment_gives_the_proxy_and_the_ca_bundle(
    cli_emulator: Emulator, cli_session_id: str, proxy: Proxy, ca_file: str
) -> None:
    run = _run(
        cli_emulator,
        "sync",
        "--session",
        cli_session_id,
        "--json",
        "--endpoint",
        API_HOST,
        HTTPS_PROXY=proxy.url,
        REQUESTS_CA_BUNDLE=ca_file,
    )
    assert run.code == 0, run.err
    assert {r.request_line for r in proxy.requests} == {f"CONNECT {API_HOST}:443 HTTP/1.1"}


def test_an_untrusted_certificate_is_reported_as_a_tls_failure(
    cli_emulator: Emulator, cli_session_id: str, front: TlsFront
) -> None:
    endpoint = f"https://localhost:{front.port}"
    run = _run(cli_emulator, "info", "--session", cli_session_id, "--endpoint", endpoint)
    assert run.code == 1
    line = run.error_line()
    assert "TLS certificate of localhost could not be verified" in line
    assert_cli_words(line)


def test_no_verify_tls_works_and_says_so(
    cli_emulator: Emulator, cli_session_id: str, front: TlsFront
) -> None:
    endpoint = f"https://localhost:{front.port}"
    run = _run(
        cli_emulator, "info", "--session", cli_session_id, "--json", "--endpoint", endpoint,
        "--no-verify-tls",
    )  # fmt: skip
    assert run.code == 0, run.err
    line = run.error_line()
    assert line.startswith("agb-context info: warning: --no-verify-tls: TLS certificates")


def test_user_agent_suffix_and_plain_http_through_a_proxy(
    cli_emulator: Emulator, cli_session_id: str, proxy: Proxy
) -> None:
    run = _run(
        cli_emulator, "info", "--session", cli_session_id, "--json", "--proxy", proxy.url,
        "--user-agent-suffix", "ci-job/7",
    )  # fmt: skip
    assert run.code == 0, run.err
    (request,) = proxy.requests
    assert request.headers["user-agent"].startswith(f"agb-context-python/{__version__} ")
    assert request.headers["user-agent"].endswith(" ci-job/7")


@pytest.mark.parametrize("source", ["flag", "variable"])
def test_connect_timeout_and_max_retries(cli_emulator: Emulator, source: str) -> None:
    with never_accepting_listener() as port:
        endpoint = f"http://127.0.0.1:{port}"
        if source == "flag":
            args = ("--connect-timeout", "0.3", "--max-retries", "0")
            env = {}
        else:
            args = ()
            env = {"AGB_CONNECT_TIMEOUT_MS": "300", "AGB_MAX_RETRIES": "0"}
        run = _run(cli_emulator, "info", "--session", "s-1", "--endpoint", endpoint, *args, **env)
    assert run.code == 1
    assert run.error_line().endswith(
        f"could not connect to {endpoint} within 0.3s (ConnectTimeout)"
    )


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (("--ca-bundle", "/no/such/ca.pem"), {}, "--ca-bundle names '/no/such/ca.pem'"),
        (("--ca-bundle", "/no/such.pem", "--no-verify-tls"), {}, "not allowed with argument"),
        ((), {"SSL_CERT_FILE": "/no/such/ca.pem"}, "the SSL_CERT_FILE environment variable"),
        (("--proxy", "ftp://u:pw-9@p.example"), {}, "--proxy is not a proxy URL ('ftp://***@"),
        (
            ("--endpoint", API_HOST),
            {"HTTPS_PROXY": "ftp://p.example"},
            "HTTPS_PROXY, HTTP_PROXY or ALL_PROXY",
        ),
        (("--proxy", " "), {}, "argument --proxy: must not be blank"),
        (("--user-agent-suffix", "a\x01b"), {}, "--user-agent-suffix must be printable ASCII"),
        ((), {"AGB_USER_AGENT_SUFFIX": "a\x01b"}, "AGB_USER_AGENT_SUFFIX must be printable"),
        (("--max-retries", "-1"), {}, "argument --max-retries: expected a whole number"),
        ((), {"AGB_MAX_RETRIES": "many"}, "AGB_MAX_RETRIES must be a whole number"),
        (("--connect-timeout", "0"), {}, "argument --connect-timeout: expected a positive"),
        ((), {"AGB_CONNECT_TIMEOUT_MS": "x"}, "AGB_CONNECT_TIMEOUT_MS must be a number"),
        (("--endpoint", "not a host"), {}, "is not a host name or an IP address"),
    ],
)
def test_network_configuration_errors_name_flags_and_variables(
    cli_emulator: Emulator, args: tuple[str, ...], env: dict[str, str], expected: str
) -> None:
    run = _run(cli_emulator, "info", "--session", "s-1", *args, **env)
    assert run.code == 2, run
    line = run.error_line()
    assert expected in line
    assert "pw-9" not in line
    assert_cli_words(line)


@pytest.mark.parametrize(
    "command", [("info",), ("sync",), ("contexts", "list"), ("files", "get")], ids=" ".join
)
def test_the_help_lists_the_network_flags_under_connection(command: tuple[str, ...]) -> None:
    run = run_cli(*command, "--help")
    connection = run.out.split("\nconnection:\n", 1)[1].split("\n\n", 1)[0]
    for flag in (
        "--endpoint",
        "--connect-timeout",
        "--max-retries",
        "--proxy",
        "--ca-bundle",
        "--no-verify-tls",
        "--user-agent-suffix",
    ):
        assert f"  {flag}" in connection, (flag, run.out)
