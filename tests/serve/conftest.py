"""A real `mailaudit serve` process on loopback, pointed at the lab (staging flag
`--allow-network 127.0.0.0/24`: the lab's own network and nothing else), and Debian's headless
Chromium driven over the DevTools protocol."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.serve.cdp import Browser

LAB_NETWORK = "127.0.0.0/24"


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(lab_env: dict[str, str], workdir: Path, *args: str) -> Server:
    port = _free_port()
    log = workdir / f"serve-{port}.log"
    env = {**os.environ, **lab_env}
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mailaudit",
                "serve",
                "--port",
                str(port),
                "--allow-network",
                LAB_NETWORK,
                *args,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"mailaudit serve exited: {log.read_text()[-2000:]}")
        try:
            httpx.get(url + "/serve.css", timeout=1)
            return Server(url, process, log)
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"mailaudit serve did not answer: {log.read_text()[-2000:]}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="module")
def server(lab_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(lab_env, tmp_path_factory.mktemp("serve"))
    yield running
    stop_server(running)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    if os.environ.get("MAILAUDIT_SKIP_BROWSER") == "1":
        pytest.skip("MAILAUDIT_SKIP_BROWSER=1")
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.fail("headless Chromium is not installed: apt-get install -y chromium")
    running = Browser(executable, tmp_path)
    yield running
    running.close()


def keep_screenshot(png: Path, name: str) -> None:
    """MAILAUDIT_SCREENSHOT_DIR=dir keeps the screenshots for a person to look at."""
    target = os.environ.get("MAILAUDIT_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        (Path(target) / name).write_bytes(png.read_bytes())
