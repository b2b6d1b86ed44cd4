"""Reading a brief's PDF back as a reader and a screen reader get it: its lines page by page (poppler's
``pdftotext -bbox-layout``), tokens broken across lines, and the structure tree of a tagged PDF (pypdf)."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from itertools import pairwise
from pathlib import Path

from helpers import parse
from pypdf import PdfReader


def pdf_blocks(path: Path) -> list[tuple[int, list[list[str]]]]:
    """Every text block of the PDF as ``(page, lines)``, each line the words poppler places on it."""
    tool = shutil.which("pdftotext")
    assert tool, "pdftotext is required: install Debian's poppler-utils"
    raw = subprocess.run([tool, "-bbox-layout", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    out = raw.stdout.decode("utf-8", errors="replace")
    blocks = []
    for number, page in enumerate(re.findall(r"<page .*?</page>", out, re.S), start=1):
        for block in re.findall(r"<block .*?</block>", page, re.S):
            lines = [
                [html.unescape(w) for w in re.findall(r"<word [^>]*>(.*?)</word>", line, re.S)]
                for line in re.findall(r"<line .*?</line>", block, re.S)
            ]
            blocks.append((number, [line for line in lines if line]))
    return blocks


def page_lines(path: Path) -> list[list[str]]:
    """The lines of text on each page (poppler's reading), the running header and footer included."""
    pages = len(PdfReader(path).pages)
    lines: list[list[str]] = [[] for _ in range(pages)]
    for number, block in pdf_blocks(path):
        lines[number - 1].extend(" ".join(words) for words in block)
    return lines


def images_per_page(path: Path) -> dict[int, int]:
    """How many images each page draws (poppler's ``pdfimages -list``: what a page shows, not what its resources
    hold; WeasyPrint shares one resource dictionary between pages)."""
    tool = shutil.which("pdfimages")
    assert tool, "pdfimages is required: install Debian's poppler-utils"
    listing = subprocess.run([tool, "-list", str(path)], capture_output=True, text=True, check=True).stdout
    counts: dict[int, int] = {}
    for row in listing.splitlines()[2:]:
        fields = row.split()
        if len(fields) > 2 and fields[0].isdigit() and fields[2] == "image":
            counts[int(fields[0])] = counts.get(int(fields[0]), 0) + 1
    return counts


_AMOUNT_END = re.compile(r"\S*[±+\-\u2212]?[$€£¥]\d[\d,.]*")
_UNIT_START = re.compile(r"(tn|bn|m|k)\b")
_COMPOUND_BREAK = re.compile(r"[^\W\d_]-\Z")


def broken_tokens(pdf: Path, page_html: str) -> list[tuple[int, str, str]]:
    """Tokens the PDF breaks across two lines, as ``(page, end of one line, start of the next)``.

    A token is a word of the page's text (``page_html``, tags read as spaces) or an amount with its unit: a line
    must not end inside one ("Item" / "s", "2026-" / "02-04", "$26.2" / "bn", "±" / "$0"). A compound word may
    break after its hyphen ("non-" / "binding").
    """
    words = set(" ".join(parse(page_html).text).split())
    broken = []
    for page, lines in pdf_blocks(pdf):
        for line, following in pairwise(lines):
            end, start = line[-1], following[0]
            if _COMPOUND_BREAK.search(end) and re.match(r"[^\W\d_]", start):
                continue
            if (
                (_AMOUNT_END.fullmatch(end) and _UNIT_START.match(start))
                or end.endswith(("±", "$", "€", "£"))
                or (end + start in words and (end not in words or start not in words))
                or (end.endswith("-") and end[:-1] + start in words and end not in words)
            ):
                broken.append((page, end, start))
    return broken


def structure_elements(pdf: Path) -> list[dict]:
    """The tagged PDF's structure tree, depth first: each element's type (``Figure``, ``TH``...) and its
    ``Alt`` text where it has one; an empty list when the PDF has no structure tree."""
    root = PdfReader(pdf).trailer["/Root"]
    tree = root.get("/StructTreeRoot")
    if tree is None:
        return []
    found: list[dict] = []

    def walk(node) -> None:
        node = node.get_object()
        if isinstance(node, list):
            for child in node:
                walk(child)
            return
        if hasattr(node, "keys") and "/S" in node:
            found.append({"type": str(node["/S"]).lstrip("/"), "alt": str(node["/Alt"]) if "/Alt" in node else None})
            if "/K" in node:
                walk(node["/K"])

    walk(tree.get_object()["/K"])
    return found
