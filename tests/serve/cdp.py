"""Debian's headless Chromium driven over the DevTools protocol: just what the serve tests need
(load a page, type, press keys, click, read the DOM, download files, take screenshots, collect
console messages and CSP violations). Playwright's own browser download is impossible here, and
this is small enough to own."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from tests.chromium import HEADLESS_FLAGS

_FLAGS = (
    *HEADLESS_FLAGS,
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
)
_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")
# Key codes Chromium needs to act on a key (not just report it).
_KEYS = {"Tab": 9, "Enter": 13, "Space": 32, "Escape": 27}


class CdpError(AssertionError):
    pass


class Browser:
    def __init__(self, executable: str, workdir: Path) -> None:
        self.profile = workdir / f"profile-{os.urandom(4).hex()}"
        self.profile.mkdir(parents=True)
        self.downloads = workdir / f"downloads-{os.urandom(4).hex()}"
        self.downloads.mkdir()
        self.process = subprocess.Popen(
            [executable, *_FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "HOME": str(workdir)},
        )
        self._stack = contextlib.ExitStack()
        try:
            url = self._wait_for_url()
            self.ws: ClientConnection = self._stack.enter_context(
                connect(url, max_size=64 * 1024 * 1024, open_timeout=20)
            )
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        self.session = ""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.call(
            "Browser.setDownloadBehavior",
            browser=True,
            behavior="allowAndName",
            downloadPath=str(self.downloads),
            eventsEnabled=True,
        )
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        # A headless page has no window focus: without this, Tab moves nothing.
        self.call("Emulation.setFocusEmulationEnabled", enabled=True)

    def _wait_for_url(self) -> str:
        assert self.process.stderr is not None
        deadline = time.monotonic() + 30
        seen: list[str] = []
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line:
                break
            seen.append(line)
            if match := _LISTENING.search(line):
                return match.group(1)
        raise CdpError("chromium did not start: " + "".join(seen)[-2000:])

    def close(self) -> None:
        try:
            self._stack.close()
        finally:
            if self.process.stderr is not None:
                self.process.stderr.close()
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            shutil.rmtree(self.profile, ignore_errors=True)

    # --- protocol ----------------------------------------------------------------------------

    def call(self, method: str, *, browser: bool = False, **params: Any) -> dict[str, Any]:
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params}
        if self.session and not browser:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            data = json.loads(self.ws.recv(timeout=deadline - time.monotonic()))
            if data.get("id") == message_id:
                if "error" in data:
                    raise CdpError(f"{method}: {data['error']}")
                result: dict[str, Any] = data.get("result", {})
                return result
            self.events.append(data)
        raise CdpError(f"{method}: no answer")

    def wait_event(self, method: str, *, timeout_s: float = 60, after: int = 0) -> dict[str, Any]:
        """The first `method` event at index >= `after` of `self.events`."""
        deadline = time.monotonic() + timeout_s
        while True:
            for event in self.events[after:]:
                if event.get("method") == method:
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CdpError(f"no {method} event within {timeout_s} s")
            try:
                self.events.append(json.loads(self.ws.recv(timeout=min(remaining, 1.0))))
            except TimeoutError:
                continue

    # --- page --------------------------------------------------------------------------------

    def goto(self, url: str) -> None:
        mark = len(self.events)
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired", after=mark)

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise CdpError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def text(self, selector: str = "body") -> str:
        value = self.evaluate(
            f"(document.querySelector({json.dumps(selector)}) || {{}}).innerText || ''"
        )
        return str(value)

    def type_text(self, text: str) -> None:
        self.call("Input.insertText", text=text)

    def press(self, key: str) -> None:
        code = _KEYS[key]
        text = {"Enter": "\r", "Space": " "}.get(key, "")
        for kind in ("keyDown", "keyUp"):
            self.call(
                "Input.dispatchKeyEvent",
                type=kind if kind == "keyUp" or not text else "keyDown",
                key=key if key != "Space" else " ",
                code=key if key != "Space" else "Space",
                windowsVirtualKeyCode=code,
                nativeVirtualKeyCode=code,
                text=text if kind == "keyDown" else "",
            )

    def press_and_wait_load(self, key: str) -> None:
        mark = len(self.events)
        self.press(key)
        self.wait_event("Page.loadEventFired", after=mark)

    def focused(self) -> str:
        """tag#id.class (and text) of the focused element."""
        return str(
            self.evaluate(
                "(() => { const e = document.activeElement; if (!e) return '';"
                " return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +"
                " ' ' + (e.getAttribute('href') || e.getAttribute('name') || '') +"
                " ' ' + (e.innerText || '').trim().slice(0, 60); })()"
            )
        )

    def viewport(self, width: int, height: int, *, mobile: bool) -> None:
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )

    def accept_language(self, value: str) -> None:
        agent = str(self.evaluate("navigator.userAgent"))
        self.call("Emulation.setUserAgentOverride", userAgent=agent, acceptLanguage=value)

    def screenshot(self, path: Path, *, full: bool = True) -> None:
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=full)
        path.write_bytes(base64.b64decode(shot["data"]))

    def wait_download(self, *, after: int, timeout_s: float = 30) -> Path:
        """The file of the download that starts after event `after`, once complete."""
        start = self.wait_event("Browser.downloadWillBegin", timeout_s=timeout_s, after=after)
        guid = start["params"]["guid"]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for event in self.events[after:]:
                params = event.get("params", {})
                if event.get("method") != "Browser.downloadProgress" or params["guid"] != guid:
                    continue
                if params["state"] == "completed":
                    return self.downloads / guid
                if params["state"] == "canceled":
                    raise CdpError(f"download {start['params']['suggestedFilename']} canceled")
            with contextlib.suppress(TimeoutError):
                self.events.append(json.loads(self.ws.recv(timeout=0.5)))
        raise CdpError("download did not complete")

    def problems(self) -> list[str]:
        """Console messages and log entries (CSP violations, failed loads) seen so far."""
        found: list[str] = []
        for event in self.events:
            if event.get("method") == "Runtime.consoleAPICalled":
                found.append(json.dumps(event["params"].get("args", []))[:300])
            elif event.get("method") == "Log.entryAdded":
                entry = event["params"]["entry"]
                found.append(f"{entry.get('level')}: {entry.get('text')}")
        return found
