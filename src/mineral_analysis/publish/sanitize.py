"""What notebook HTML may put on a brief's page: a whitelist sanitizer, and classes for the tables it keeps.

:func:`sanitize_html` is the last word on every piece of HTML a notebook carries (markdown cells, text/html
outputs): nh3 (the Ammonia sanitizer) with the brief's whitelist of tags, attributes, link schemes and CSS
properties, after BeautifulSoup has dropped whole elements (scripts, frames, forms...) and marked tables for the
stylesheet (numeric columns, short, wide and extra-wide tables, words too long for any column, tables that become
cards on a phone) and kept the text that must never break across lines whole (amounts, dates, record ids).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["sanitize_html"]

_ALLOWED_TAGS = frozenset(
    [
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "cite",
        "code",
        "col",
        "colgroup",
        "dd",
        "del",
        "details",
        "dfn",
        "div",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "input",
        "ins",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strong",
        "sub",
        "summary",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "time",
        "tr",
        "u",
        "ul",
        "var",
        "wbr",
    ]
)

#: Elements removed together with everything inside them (a plain sanitizer would keep their text).
_DROP_WITH_CONTENT = [
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "link",
    "meta",
    "base",
    "head",
    "title",
    "form",
    "button",
    "select",
    "textarea",
    "svg",
    "math",
    "audio",
    "video",
    "canvas",
    "source",
    "track",
    "portal",
]

_GLOBAL_ATTRS = frozenset({"class", "id", "title", "lang", "dir"})
_TAG_ATTRS = {
    "a": {"href", "download"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "style", "align", "data-label"},
    "th": {"colspan", "rowspan", "style", "align", "scope", "data-label"},
    "col": {"span", "style"},
    "colgroup": {"span"},
    "ol": {"start", "type"},
    "li": {"value"},
    "time": {"datetime"},
    "span": {"style"},
    "input": {"type", "checked", "disabled"},
    "details": {"open"},
}
_ALLOWED_CSS = [
    "text-align",
    "vertical-align",
    "font-weight",
    "font-style",
    "color",
    "background-color",
    "white-space",
    "text-decoration",
    "min-width",
    "width",
]
_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]*\Z", re.I)
_SAFE_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
# A brief's own records as a download: CSV in a data: URL (nothing else may be a data: link).
_DATA_CSV = re.compile(r"data:text/csv;charset=utf-8;base64,[A-Za-z0-9+/=]*\Z")


def _filter_attribute(tag: str, name: str, value: str) -> str | None:
    """nh3's attribute filter: the value to keep, or None to drop the attribute (see :func:`sanitize_html`)."""
    if tag == "img" and name == "src":
        return value if _DATA_IMAGE.match(value.strip()) else None
    if tag == "a" and name == "href":
        if value.strip() == "#harmful-link":  # where mistune points a javascript: link
            return None
        if _DATA_CSV.match(value.strip()):
            return value
        try:
            scheme = urlsplit(value.strip()).scheme.lower()
        except ValueError:
            return None
        return value if scheme in _SAFE_LINK_SCHEMES or scheme == "" else None
    if tag == "input" and name == "type":
        return value if value.strip().lower() == "checkbox" else None
    return value


def _clean(fragment: str) -> str:
    """The last word on a fragment: nh3 (the Ammonia sanitizer, browsers' own parsing rules) with the whitelist."""
    import nh3

    return nh3.clean(
        fragment,
        tags=set(_ALLOWED_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT) - set(_ALLOWED_TAGS),
        attributes={"*": set(_GLOBAL_ATTRS), **{tag: set(names) for tag, names in _TAG_ATTRS.items()}},
        attribute_filter=_filter_attribute,
        url_schemes={"http", "https", "mailto", "data"},
        strip_comments=True,
        link_rel=None,
        filter_style_properties=set(_ALLOWED_CSS),
    )


_NUMBER = re.compile(
    r"[(+\-\u2212]?\s*[$€£¥]?\s*\d[\d,\u00a0\u202f' ]*(\.\d+)?\s*(%|[kKmMbB]n?|bn|x)?\)?\Z"
    r"|[(+\-\u2212]?\s*\.\d+\s*%?\)?\Z"
    r"|[+\-]?\d(\.\d+)?[eE][+\-]?\d+\Z"
)
_BLANKS = frozenset({"", "nan", "none", "<na>", "nat", "n/a", "-", "\u2013", "\u2014", "..."})
_SHORT_TABLE_ROWS = 30
# A table whose narrowest layout (numbers unbroken, text broken at spaces) is wider than this many
# characters of print table type does not fit A4 portrait; the print stylesheet squeezes it.
_PORTRAIT_TABLE_CHARS = 105
_PORTRAIT_TABLE_CHARS_SMALL = 125  # past this, the smallest print type
# A word longer than this many characters (a 2,000-character name, say) may break anywhere (class
# ``long-word``), so that it never pushes the other columns off the page; shorter words stay whole.
_LONG_WORD_CHARS = 30
# A table whose narrowest layout is wider than this many characters of phone table type (a 390 px screen holds
# about 55) is shown on a phone as one card per row, each value under its column's name (class ``table-cards``).
_PHONE_TABLE_CHARS = 46
#: Text that must never break across lines, wherever it stands: an amount with its sign and unit ("±$0",
#: "$26.2 bn", "-$1.25 bn"), and a hyphenated code with a digit in it: an ISO date ("2026-02-04"), a record id
#: ("DFC-05"), a release ("r2-full-article"). Each is wrapped in
#: ``<span class="nobr">`` (``white-space: nowrap`` in the stylesheet), in the browser and in the PDF.
_WHOLE_TOKEN = re.compile(
    r"[±+\-\u2212]?[$€£¥]\d(?:[\d,]*\d)?(?:\.\d+)?(?:[ \u00a0](?:tn|bn|m|k)\b)?"
    r"|\b(?=[\w-]*\d)\w+(?:-\w+)+\b"
)
# Code is left as written: its lines are its own.
_NO_WRAPPING_INSIDE = frozenset({"pre", "code", "kbd", "samp", "style", "script", "title"})


def _cell_kind(text: str) -> str:
    text = text.strip()
    if text.lower() in _BLANKS:
        return "blank"
    return "num" if _NUMBER.match(text) else "text"


def _add_class(tag, name: str) -> None:
    classes = tag.get("class") or []
    if isinstance(classes, str):
        classes = classes.split()
    if name not in classes:
        tag["class"] = [*classes, name]


def _min_chars(cell) -> int:
    """Narrowest width of a cell in characters, padding included: numbers stay whole, text wraps."""
    text = cell.get_text()
    if cell.name == "th" and cell.find_parent("thead") is not None:
        longest = min(max((len(w) for w in text.split()), default=0), 8)  # headers may break anywhere
    elif _cell_kind(text) == "num":
        longest = len(text.strip())
    else:
        longest = min(_longest_word(text), _LONG_WORD_CHARS)
    return longest + 3


def _longest_word(text: str) -> int:
    return max((len(w) for w in text.split()), default=0)


def _min_table_chars(table) -> int:
    widths: dict[int, int] = {}
    for tr in table.find_all("tr"):
        col = 0
        for cell in tr.find_all(["td", "th"], recursive=False):
            span = int(cell.get("colspan", "1")) if str(cell.get("colspan", "1")).isdigit() else 1
            if span == 1:
                widths[col] = max(widths.get(col, 0), _min_chars(cell))
            col += max(span, 1)
    return sum(widths.values())


def _label_cells(table) -> bool:
    """Give each body cell its column's header text as ``data-label`` (the phone's cards show it before the
    value); False when the table has no header row that matches its columns."""
    thead = table.find("thead")
    head_rows = thead.find_all("tr") if thead is not None else []
    if len(head_rows) != 1:
        return False
    heads = head_rows[0].find_all(["th", "td"], recursive=False)
    if any(cell.get("colspan", "1") != "1" for cell in heads):
        return False
    labels = [" ".join(cell.get_text().split()) for cell in heads]
    for tr in table.find_all("tr"):
        if tr.find_parent("thead") is not None:
            continue
        cells = tr.find_all(["td", "th"], recursive=False)
        if len(cells) != len(labels):
            return False
        for cell, label in zip(cells, labels):
            if label:
                cell["data-label"] = label
    return True


def _style_tables(soup) -> None:
    """Mark tables for the stylesheet: numeric columns (``num``, right-aligned), short tables (kept on
    one page in print), wide ones (squeezed to the page width in print; cards on a phone, each cell labelled
    with its column) and cells holding a word too long for any column (``long-word``: it may break anywhere)."""
    for table in soup.find_all("table"):
        body_rows = [tr for tr in table.find_all("tr") if tr.find_parent("thead") is None]
        if len(body_rows) <= _SHORT_TABLE_ROWS:
            _add_class(table, "table-short")
        chars = _min_table_chars(table)
        if chars > _PORTRAIT_TABLE_CHARS:
            _add_class(table, "table-wide")
        if chars > _PORTRAIT_TABLE_CHARS_SMALL:
            _add_class(table, "table-xwide")
        if chars > _PHONE_TABLE_CHARS and _label_cells(table):
            _add_class(table, "table-cards")
        for cell in table.find_all(["td", "th"]):
            if _longest_word(cell.get_text()) > _LONG_WORD_CHARS and _cell_kind(cell.get_text()) != "num":
                _add_class(cell, "long-word")
        rows = [tr.find_all(["td", "th"], recursive=False) for tr in body_rows]
        spans = any(cell.get("colspan", "1") != "1" or cell.get("rowspan", "1") != "1" for row in rows for cell in row)
        if spans or not rows:
            # Irregular grid: decide cell by cell.
            for row in rows:
                for cell in row:
                    if cell.name == "td" and _cell_kind(cell.get_text()) == "num":
                        _add_class(cell, "num")
            continue
        width = max(len(row) for row in rows)
        numeric = []
        for col in range(width):
            kinds = {_cell_kind(row[col].get_text()) for row in rows if col < len(row) and row[col].name == "td"}
            numeric.append("num" in kinds and "text" not in kinds)
        for row in rows:
            for col, cell in enumerate(row):
                if numeric[col] and cell.name == "td":
                    _add_class(cell, "num")
        thead = table.find("thead")
        if thead is not None:
            for head_row in thead.find_all("tr"):
                cells = head_row.find_all(["th", "td"], recursive=False)
                if len(cells) == width:
                    for col, cell in enumerate(cells):
                        if numeric[col]:
                            _add_class(cell, "num")


def _keep_tokens_whole(soup) -> None:
    """Wrap each amount, date and record id in the text (:data:`_WHOLE_TOKEN`) in ``<span class="nobr">``."""
    from bs4 import NavigableString
    from bs4.element import Comment

    for node in list(soup.find_all(string=_WHOLE_TOKEN)):
        if not isinstance(node, NavigableString) or isinstance(node, Comment):
            continue
        if any(parent.name in _NO_WRAPPING_INSIDE for parent in node.parents):
            continue
        if "nobr" in (node.parent.get("class") or []) and node.parent.name == "span":
            continue
        text, pieces, start = str(node), [], 0
        for match in _WHOLE_TOKEN.finditer(text):
            if match.start() > start:
                pieces.append(soup.new_string(text[start : match.start()]))
            span = soup.new_tag("span", attrs={"class": "nobr"})
            span.string = match.group(0)
            pieces.append(span)
            start = match.end()
        if start < len(text):
            pieces.append(soup.new_string(text[start:]))
        node.replace_with(*pieces)


def sanitize_html(fragment: str) -> str:
    """Make a piece of notebook HTML safe to show: the brief's whitelist of tags and attributes.

    Scripts, styles, frames, forms and the like go with their content; ``on*`` attributes and every
    other attribute not on the list go; links keep only http(s), mailto and relative targets; images
    keep only ``data:image/...`` sources (others give way to their alt text); tags not on the list
    go, their text stays (escaped). Tables gain classes for the stylesheet (see ``_style_tables``); amounts,
    dates and record ids are kept whole on one line (``_keep_tokens_whole``).
    """
    from bs4 import BeautifulSoup

    if not fragment:
        return ""
    soup = BeautifulSoup(str(fragment), "html.parser")
    for element in soup.find_all(_DROP_WITH_CONTENT):
        element.decompose()
    for img in soup.find_all("img"):
        # An image that is not inline data would load from elsewhere (or show as broken): its alt
        # text stands in for it.
        if not _DATA_IMAGE.match(str(img.get("src") or "").strip()):
            img.replace_with(soup.new_string(str(img.get("alt") or "")))
    _style_tables(soup)
    _keep_tokens_whole(soup)
    return _clean(str(soup))
