"""Helpers shared by the tests that read rendered briefs: an HTML tokenizer, the self-containment check,
and headless Chromium (Debian's ``chromium``). A browser test never skips: without Chromium it fails, saying
how to install it (``make test`` installs it through ``scripts/system-deps.sh``).
"""

from __future__ import annotations

import functools
import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


def needs_chromium(test):
    """Mark a browser test (slow layer); without Chromium it fails with the command that installs it."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        if CHROMIUM is None:
            pytest.fail(
                "Chromium is not installed: run `make system` as root, or "
                "`sudo apt-get install --no-install-recommends chromium`"
            )
        return test(*args, **kwargs)

    return pytest.mark.slow(run)


class _Collector(HTMLParser):
    """Every start tag with its attributes, and the text, as a browser's tokenizer sees them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("style", "title"):
            self._skip += 1

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in ("style", "title") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector


def page_text(html: str) -> str:
    return re.sub(r"\s+", " ", "".join(parse(html).text))


def assert_self_contained(html: str, *, inline_svg: bool = False) -> None:
    """No script, no handler, no resource from anywhere but data: URIs, the brief's CSP in force.

    ``inline_svg`` admits inline ``<svg>`` drawings (the index's map); their attributes pass the same checks.
    """
    lowered = html.lower()
    assert "<script" not in lowered
    assert "mathjax" not in lowered and "require.js" not in lowered and "requirejs" not in lowered
    assert "@import" not in lowered
    for url in re.findall(r"url\(\s*['\"]?([^'\")\s]+)", html):
        assert url.startswith("data:"), url
    doc = parse(html)
    csp = [
        a.get("content")
        for t, a in doc.tags
        if t == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy"
    ]
    assert csp and csp[0].startswith("default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:")
    for tag, attrs in doc.tags:
        forbidden = {
            "script",
            "link",
            "iframe",
            "frame",
            "object",
            "embed",
            "base",
            "form",
            "audio",
            "video",
            "foreignobject",
            "use",
            "image",
        } | (set() if inline_svg else {"svg"})
        assert tag not in forbidden, tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            value = (value or "").strip()
            assert not value.lower().replace(" ", "").startswith("javascript:"), (tag, name, value[:60])
            if name in {"src", "srcset", "poster", "data", "background", "action", "formaction", "xlink:href"}:
                assert value.startswith("data:"), (tag, name, value[:60])
            if name == "href":
                assert not value.startswith("//"), value
                if tag != "a":  # only hyperlinks (navigation, not loading) may point elsewhere
                    assert not re.match(r"https?:", value), (tag, value)


# ---------------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------------


#: How every test starts headless Chromium: no sandbox (root), no GPU, and none of its own network traffic (this
#: machine's network is closed, and a brief must make no request).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def chromium_command(profile: Path, *args: str) -> list[str]:
    """The command line of a headless Chromium with its own empty profile, then ``args``."""
    return [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]


def _chromium(tmp_path: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    command = chromium_command(profile, *args)
    return subprocess.run(command, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _page_requests(netlog: Path) -> list[str]:
    """URLs the page asked for: requests with a page origin (the browser's own have none)."""
    log = json.loads(netlog.read_text(encoding="utf-8"))
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    urls = []
    for event in log["events"]:
        params = event.get("params") or {}
        if names.get(event["type"]) == "URL_REQUEST_START_JOB" and "url" in params:
            if params.get("initiator") != "not an origin":
                urls.append(params["url"])
    return urls


# ---------------------------------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------------------------------


def pdf_words(path: Path) -> list[tuple[int, str, float, float, float]]:
    """Every word of a PDF as poppler's ``pdftotext -bbox`` places it: (page, word, x_min, x_max, page width).

    poppler-utils is required (``.ci/run`` installs it); a missing ``pdftotext`` is an error, not a skip.
    """
    tool = shutil.which("pdftotext")
    assert tool, "pdftotext is required: install Debian's poppler-utils"
    raw = subprocess.run([tool, "-bbox", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True).stdout
    out = raw.decode("utf-8", errors="replace")  # poppler may write an emoji as two surrogate halves
    words = []
    for number, page in enumerate(re.findall(r"<page (.*?)</page>", out, re.S), start=1):
        width = float(re.search(r'width="([\d.]+)"', page).group(1))
        for x_min, x_max, word in re.findall(
            r'<word xMin="([\d.-]+)" yMin="[\d.-]+" xMax="([\d.-]+)" '
            r'yMax="[\d.-]+">(.*?)</word>',
            page,
        ):
            words.append((number, html.unescape(word), float(x_min), float(x_max), width))
    return words
