"""``agb-context emulator``: the emulator's own command line, mounted as a subcommand."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from cli_support import CTX, MOUNT, base_env, run_cli

CLI = (sys.executable, "-m", "agb_context.cli")


def test_emulator_subcommand_serves_the_api_until_interrupted(tmp_path: Path) -> None:
    key = "local-test-key-for-the-emulator"
    data = str(tmp_path / "data")
    server = subprocess.Popen(
        [*CLI, "emulator", "--port", "0", "--data-dir", data, "--api-key", key],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=base_env(),
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:[0-9]+", first)
        assert found, f"no endpoint announced: {first!r}"
        endpoint = found.group()
        created = httpx.post(
            f"{endpoint}/emulator/sessions",
            json={"mounts": {CTX: MOUNT}},
            headers={"authorization": key},
            timeout=10,
        )
        assert created.status_code == 200, created.text
        sid = created.json()["sessionId"]
        env = base_env(AGB_ENDPOINT=endpoint, AGB_API_KEY=key)
        run = run_cli("sync", "--session", sid, "--interval", "0.05", "--json", env=env)
        assert run.code == 0, run.err
        assert json.loads(run.out)["success"] is True
        run = run_cli("info", "--session", sid, env=env)
        assert run.code == 0, run.err
        assert "Success" in run.out
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert "Traceback" not in err
    assert key not in first + out + err
