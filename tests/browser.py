"""A page measured in headless Chromium at a given screen width, through the DevTools protocol.

The briefs' Content-Security-Policy forbids scripts, so a measurement cannot be a script in the page: DevTools'
``Runtime.evaluate`` runs it from outside (the page's policy does not apply to it). Chromium is started with a
throw-away profile and a debugging port of its own choosing (``--remote-debugging-port=0``, read back from
``DevToolsActivePort``), and stopped when the measurement is done.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path

from helpers import chromium_command

#: Where each token of every table's text lies, and whether the page is wider than the screen. A token is a run of
#: non-blank characters, or an amount with its sign and unit ("$26.2 bn", "(+$675 m"); a compound word may break
#: after its hyphen ("non-" / "binding"), nothing else may. Cells marked ``long-word`` (a word longer than any
#: column, which must break) are left out.
MEASURE_TABLES = r"""
(() => {
  const token = /[^\s$€£¥±]*[±+\-\u2212]?[$€£¥]\d[\d,.]*(?:\s(?:tn|bn|m|k)\b)?\S*|\S+/g;
  const broken = [];
  let tokens = 0;
  for (const cell of document.querySelectorAll("table th, table td, table caption")) {
    if (cell.closest(".long-word")) continue;
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (node.parentElement.closest("th, td, caption") !== cell) continue;  // a nested cell is measured itself
      for (const match of node.data.matchAll(token)) {
        let offset = match.index;
        for (const part of match[0].split(/(?<=\p{L}-)(?=\p{L})/u)) {
          const range = document.createRange();
          range.setStart(node, offset);
          range.setEnd(node, offset + part.length);
          offset += part.length;
          const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
          tokens += 1;
          if (lines.size > 1) broken.push({token: part, cell: cell.textContent.trim().slice(0, 80), lines: lines.size});
        }
      }
    }
  }
  return {
    broken,
    tokens,
    tables: document.querySelectorAll("table").length,
    scrollWidth: document.scrollingElement.scrollWidth,
    innerWidth: window.innerWidth,
  };
})()
"""


class Browser:
    """One headless Chromium with a DevTools connection to its first page."""

    def __init__(self, profile: Path):
        import websocket

        self.process = subprocess.Popen(
            chromium_command(
                profile, "--hide-scrollbars", "--remote-debugging-port=0", "--remote-allow-origins=*", "about:blank"
            ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port = self._port(profile / "DevToolsActivePort")
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as response:
                pages = [t for t in json.load(response) if t.get("type") == "page"]
            self.socket = websocket.create_connection(
                pages[0]["webSocketDebuggerUrl"], timeout=120, suppress_origin=True
            )
        except BaseException:
            self.close()
            raise
        self._id = 0
        self.events: list[str] = []

    def _port(self, path: Path, wait: float = 60) -> int:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if path.is_file() and path.read_text().strip():
                return int(path.read_text().split()[0])
            if self.process.poll() is not None:
                raise RuntimeError(f"Chromium exited with status {self.process.returncode} before it listened")
            time.sleep(0.1)
        raise TimeoutError(f"Chromium did not open its debugging port within {wait} s")

    def call(self, method: str, **params):
        """Send one DevTools command and return its result; events that arrive meanwhile are kept (``events``)."""
        self._id += 1
        self.socket.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message["method"])

    def _wait_for(self, event: str) -> None:
        while event not in self.events:
            message = json.loads(self.socket.recv())
            if "method" in message:
                self.events.append(message["method"])

    def open(self, url: str, width: int, height: int = 844) -> None:
        """Load ``url`` on a screen ``width`` CSS pixels wide (a phone's when narrow), fonts and all."""
        self.call(
            "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=width < 700
        )
        self.call("Page.enable")
        self.events = []
        self.call("Page.navigate", url=url)
        self._wait_for("Page.loadEventFired")
        self.evaluate("document.fonts.ready.then(() => true)", wait=True)

    def evaluate(self, expression: str, *, wait: bool = False):
        """The value of a JavaScript expression in the page (run from DevTools: the page's CSP does not apply);
        ``wait``: the expression is a promise, and its value is awaited."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=wait)
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self) -> None:
        socket = getattr(self, "socket", None)
        if socket is not None:
            socket.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
