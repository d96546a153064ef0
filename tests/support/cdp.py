"""Chromium with the unpacked extension, driven over the DevTools protocol directly, without
Playwright: Playwright emulates focus on every page it drives, which keeps each one visible, so a tab
behind another in its window is never hidden under it. Here a tab opened in front of another really
hides it (`document.visibilityState` "hidden"), as in a user's browser."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from tests.support.browser import ARGS, CHROMIUM

START_TIMEOUT_SECONDS = 30


class Tab:
    def __init__(self, browser: CdpBrowser, target_id: str, session_id: str) -> None:
        self.browser = browser
        self.target_id = target_id
        self.session_id = session_id

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page's main world."""
        result = self.browser.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, self.session_id
        )
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def bring_to_front(self) -> None:
        self.browser.send("Target.activateTarget", {"targetId": self.target_id})


class CdpBrowser:
    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.last_id = 0

    def send(self, method: str, params: dict[str, Any] | None = None, session_id: str | None = None) -> Any:
        """One command's result; the events that arrive meanwhile are not needed here and dropped."""
        self.last_id += 1
        message: dict[str, Any] = {"id": self.last_id, "method": method, "params": params or {}}
        if session_id is not None:
            message["sessionId"] = session_id
        self.socket.send(json.dumps(message))
        while True:
            reply = json.loads(self.socket.recv(timeout=START_TIMEOUT_SECONDS))
            if reply.get("id") == self.last_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def open(self, url: str) -> Tab:
        """A new tab, in front of the others in the same window."""
        target_id = self.send("Target.createTarget", {"url": url, "newWindow": False})["targetId"]
        session_id = self.send("Target.attachToTarget", {"targetId": target_id, "flatten": True})["sessionId"]
        return Tab(self, target_id, session_id)


@contextmanager
def cdp_browser(extension: Path) -> Iterator[CdpBrowser]:
    """Headless Chromium with `extension` loaded, on a profile of its own, and a DevTools connection."""
    profile = Path(tempfile.mkdtemp(prefix="scrollr-cdp-profile-"))
    process = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            *ARGS,
            "--remote-debugging-port=0",  # Chromium picks a free port and writes it to DevToolsActivePort
            f"--user-data-dir={profile}",
            f"--disable-extensions-except={extension}",
            f"--load-extension={extension}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not (port_file.exists() and len(port_file.read_text().split()) == 2):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("Chromium didn't open its DevTools port")
            time.sleep(0.05)
        port, path = port_file.read_text().split()
        with connect(f"ws://127.0.0.1:{port}{path}", max_size=None) as socket:
            yield CdpBrowser(socket)
    finally:
        process.terminate()
        process.wait(timeout=30)
