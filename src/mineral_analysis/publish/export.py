"""Executed notebooks ("briefs") to self-contained, offline HTML and to paged PDF.

Two nbconvert exporters, registered as ``brief_html`` and ``brief_pdf`` (``jupyter nbconvert --to
brief_html brief.ipynb``), and plain functions for the library's own build:

* :func:`render_html` turns a notebook into one HTML page that loads nothing: no scripts, one inline
  stylesheet, images as ``data:`` URIs, and a Content-Security-Policy that forbids everything else.
  Code inputs and prompts are left out; markdown and outputs stay.
* :func:`html_to_pdf` lays that page out on A4 with WeasyPrint, which is never allowed to fetch a URL
  other than ``data:`` and knows no font but the package's own (:mod:`mineral_analysis.fonts`).
* Every page is set in the bundled fonts: the HTML embeds the subset it uses as ``@font-face`` rules with
  ``data:`` URLs, so the same notebook gives the same bytes and the same look on any machine.
* Notebook HTML reaches the page through :func:`mineral_analysis.publish.sanitize.sanitize_html`; the page
  that lists every brief is :mod:`mineral_analysis.publish.index_page`'s.

The header, the footer and the PDF margins show three values the build records in the notebook's
metadata under :data:`METADATA_KEY`::

    nb.metadata["mineral_analysis"] = {
        "title": "Critical minerals: DFC",     # required for a good header; falls back to the file name
        "data_version": "2024-06-30.1",         # any string the build uses to name its data
        "built_at": "2024-07-01T09:30:00+00:00",  # ISO 8601; shown in UTC to the minute
        "kind": "agency",                       # optional: overview / agency / country / mineral
        "subtitle": "...",                      # optional line under the title
    }

The build writes them (``publish.brief``). Everything the notebook carries, metadata included, reaches the
page escaped or through :func:`sanitize_html`; WeasyPrint is imported only when a PDF is made.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

import nbformat
from jinja2 import pass_context
from mistune import HTMLRenderer
from mistune.util import safe_entity
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Unicode, default
from traitlets.config import Config

from mineral_analysis.clock import build_time
from mineral_analysis.config import TEMPLATES_DIR
from mineral_analysis.fonts import bundled_font_config, embed_fonts, pdf_fonts
from mineral_analysis.publish.index_page import BRIEF_CSP, format_built_at, reader_date
from mineral_analysis.publish.sanitize import sanitize_html
from mineral_analysis.vocab import printed_version

__all__ = [
    "BRIEF_CSP",
    "METADATA_KEY",
    "BriefHTMLExporter",
    "BriefOutputsPreprocessor",
    "BriefPDFExporter",
    "FailedNotebookError",
    "brief_metadata",
    "html_to_pdf",
    "render_html",
    "render_pdf",
]

#: Key of the notebook metadata block that names the brief (see the module docstring).
METADATA_KEY = "mineral_analysis"

TEMPLATE_NAME = "brief"
STYLESHEET = TEMPLATES_DIR / TEMPLATE_NAME / "static" / "brief.css"

#: Mimetypes a brief can show, best first. Javascript, widgets, mermaid and PDF outputs need a script
#: or a plug-in; they are left out so that the text/html or text/plain form of the same output shows.
DISPLAY_PRIORITY = [
    "text/html",
    "text/markdown",
    "image/svg+xml",
    "image/png",
    "image/jpeg",
    "text/latex",
    "text/plain",
]

KIND_LABELS = {
    "overview": "Overview brief",
    "agency": "Agency brief",
    "country": "Country brief",
    "mineral": "Mineral brief",
}


# --------------------------------------------------------------------------------------------------
# Metadata
# --------------------------------------------------------------------------------------------------


def brief_metadata(nb: Mapping[str, Any], fallback_title: str | None = None) -> dict[str, str]:
    """What the header shows for ``nb``: title, subtitle, kicker, data version, the date the data speaks for (its
    latest source's) and the date of publication (the build's, ``SOURCE_DATE_EPOCH`` when set).

    The ``mineral_analysis`` block the build writes comes first. A notebook executed without the build (by
    papermill, or in JupyterLab) has no such block: its kind, title and data version then come from the notebook
    itself (see :func:`notebook_brief_block`). What is still missing falls back to the notebook's ``title``
    metadata, its first heading or ``fallback_title`` (the file name), ``"unknown"`` for the data version, and the
    build time (``SOURCE_DATE_EPOCH`` when set, else now).
    """
    metadata = nb.get("metadata", {}) or {}
    block = metadata.get(METADATA_KEY) or {}
    if not isinstance(block, Mapping):
        block = {}
    if not all(block.get(k) for k in ("title", "kind", "data_version", "built_at")):
        block = {**notebook_brief_block(nb, fallback_title), **{k: v for k, v in block.items() if v}}
    title = block.get("title") or metadata.get("title") or _first_heading(nb) or fallback_title or "Untitled brief"
    kind = str(block.get("kind") or "").strip().lower()
    built_at = block.get("built_at") or build_time()
    machine, human = format_built_at(built_at)
    as_of = str(block.get("data_as_of") or _data_as_of(metadata, kind))
    return {
        "title": str(title),
        "pdf_href": _own_pdf(kind, block.get("key")),
        "subtitle": str(block.get("subtitle") or ""),
        "kind": kind,
        "kicker": KIND_LABELS.get(kind, "Brief"),
        "data_version": str(block.get("data_version") or "unknown"),
        "built_at": machine,
        "built_at_display": human,
        "published_display": reader_date(machine),
        "data_as_of": as_of,
        "data_as_of_display": reader_date(as_of) if as_of else "",
    }


def _data_as_of(metadata: Mapping[str, Any], kind: str) -> str:
    """The latest date of the sources a project's brief was built from (its ``processed_dir`` parameter, else the
    project's processed data); "" for a notebook that is not one of the project's briefs."""
    from mineral_analysis.briefing import KINDS
    from mineral_analysis.citing import data_as_of

    record = metadata.get("papermill") if isinstance(metadata, Mapping) else None
    if kind not in KINDS or not isinstance(record, Mapping):
        return ""
    parameters = {**(record.get("default_parameters") or {}), **(record.get("parameters") or {})}
    return data_as_of(parameters.get("processed_dir") or None)


def _own_pdf(kind: str, key: object) -> str:
    """The file name of the brief's own PDF (beside its HTML in reports/), or "" when the brief is not known."""
    from mineral_analysis.briefing import KINDS
    from mineral_analysis.publish.catalogue import Brief

    if kind not in KINDS or (kind != "overview" and not key):
        return ""
    return f"{Brief(kind, str(key or ''), '').slug}.pdf"


def _first_heading(nb: Mapping[str, Any]) -> str:
    """The text of the notebook's first Markdown heading, or ""."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            found = re.search(r"^#{1,6}\s+(.+?)\s*#*\s*$", "".join(cell.get("source", "")), re.M)
            if found:
                return found.group(1)
    return ""


def notebook_parameters(nb: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters a notebook ran with, read from the notebook itself: its ``parameters`` cell's values (the
    defaults ``papermill.inspect_notebook`` reports), then papermill's ``injected-parameters`` cell (each ``-p``).
    Only literal values are read; nothing is executed."""
    import ast

    found: dict[str, Any] = {}
    for tag in ("parameters", "injected-parameters"):
        for cell in nb.get("cells", []):
            if cell.get("cell_type") != "code" or tag not in (cell.get("metadata", {}).get("tags") or []):
                continue
            try:
                body = ast.parse("".join(cell.get("source", ""))).body
            except SyntaxError:
                continue
            for node in body:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                    try:
                        value = ast.literal_eval(node.value)
                    except ValueError:
                        continue
                    found.update({t.id: value for t in targets if isinstance(t, ast.Name)})
    return found


def notebook_brief_block(nb: Mapping[str, Any], name: str | None = None) -> dict[str, str]:
    """The brief block of a notebook executed without the build, read from the notebook alone.

    The kind is the name of the notebook papermill ran (``agency.ipynb``: an agency brief), else ``name`` (the
    file being exported); the parameters come from :func:`notebook_parameters`; the subject is the one that is
    not a setting (``processed_dir``), resolved against the processed data the notebook read (its
    ``processed_dir``, else the project's or the installed tables) to give the title; that data gives the dataset
    version; the time papermill finished gives the build time unless ``SOURCE_DATE_EPOCH`` is set. No project
    folder or notebooks/ folder is needed. Whatever cannot be found is left out, with a warning naming the
    notebook and why.
    """
    from mineral_analysis.briefing import KINDS, Tables
    from mineral_analysis.clock import source_date_epoch
    from mineral_analysis.data import load_metadata
    from mineral_analysis.publish.catalogue import SETTINGS, brief_title

    metadata = nb.get("metadata", {}) or {}
    record = metadata.get("papermill") if isinstance(metadata.get("papermill"), Mapping) else {}
    source = str(record.get("input_path") or name or "").replace("\\", "/")
    kind = PurePosixPath(source).name.split(".")[0].lower()
    if kind not in KINDS:
        return {}
    parameters = notebook_parameters(nb)
    processed_dir = parameters.get("processed_dir") or None
    block: dict[str, str] = {"kind": kind}
    subjects = [value for key, value in parameters.items() if key not in SETTINGS]
    notebook = PurePosixPath(source).name
    try:
        tables = Tables.load(processed_dir)
        key = tables.resolve(kind, subjects[0] if subjects and kind != "overview" else None)
        block["title"], block["key"] = brief_title(kind, key), key
    except (OSError, ValueError) as exc:
        warnings.warn(
            f"{notebook}: no brief title from its processed data ({exc}); its header shows its first heading",
            stacklevel=3,
        )
    try:
        data = load_metadata(processed_dir)
        block["data_version"] = printed_version(data)
    except (OSError, ValueError) as exc:
        warnings.warn(
            f"{notebook}: no dataset version from its processed data ({exc}); its header says 'unknown'", stacklevel=3
        )
    if source_date_epoch() is None and record.get("end_time"):
        block["built_at"] = str(record["end_time"])
    return block


# --------------------------------------------------------------------------------------------------
# Exporters
# --------------------------------------------------------------------------------------------------


class _BriefMarkdownRenderer(IPythonRenderer):
    """nbconvert's markdown renderer with raw HTML always shown as text (made with ``escape=True``).

    Entity references in text still mean their characters, as in CommonMark (``AT&amp;T`` reads
    "AT&T"): text that was HTML-escaped before it went into markdown shows as written. And raw HTML is
    escaped as it stands (nbconvert's renderer parses it first to embed images, which mangles it).
    """

    def text(self, text: str) -> str:
        return safe_entity(text)

    def inline_html(self, html: str) -> str:
        return HTMLRenderer.inline_html(self, html)

    def block_html(self, html: str) -> str:
        return HTMLRenderer.block_html(self, html)


class BriefOutputsPreprocessor(Preprocessor):
    """Keeps only what a brief shows: outputs with a displayable mimetype, no stderr by default."""

    include_stderr = Bool(False, help="Show stderr streams (warnings, logs) in the brief.").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        kept = []
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "stream":
                if output.get("name") == "stderr" and not self.include_stderr:
                    continue
                if output.get("name") not in ("stdout", "stderr"):
                    continue
            elif kind in ("display_data", "execute_result"):
                data = output.get("data", {})
                if not any(mime in data for mime in self.display_data_priority):
                    continue
            kept.append(output)
        cell.outputs = kept
        return cell, resources


class BriefHTMLExporter(HTMLExporter):
    """HTML exporter for briefs: the ``brief`` template, outputs and markdown only, sanitized."""

    export_from_notebook = "Brief (HTML)"

    include_stderr = Bool(False, help="Show stderr streams (warnings, logs) in the brief.").tag(config=True)
    csp = Unicode(BRIEF_CSP, help="Content-Security-Policy written into the page.").tag(config=True)
    links = Unicode(
        "",
        help="Where the links to other briefs (and the index and PDF links) point: '' leaves them relative, for a "
        "page beside the other briefs as in reports/; a URL or folder is put before each "
        "(--BriefHTMLExporter.links=https://example.org/briefs/); 'none' drops them and keeps their text.",
    ).tag(config=True)

    @default("template_name")
    def _template_name_default(self):
        return TEMPLATE_NAME

    @default("extra_template_basedirs")
    def _default_extra_template_basedirs(self):
        # Only the package's templates (not the current directory, nbconvert's default).
        return [str(TEMPLATES_DIR)]

    @default("exclude_input")
    def _default_exclude_input(self):
        return True

    @default("exclude_input_prompt")
    def _default_exclude_input_prompt(self):
        return True

    @default("exclude_output_prompt")
    def _default_exclude_output_prompt(self):
        return True

    @default("sanitize_html")
    def _default_sanitize_html(self):
        return True

    @default("embed_images")
    def _default_embed_images(self):
        # Markdown images next to the notebook are inlined as data: URIs; others are dropped.
        return True

    @property
    def default_config(self):
        c = Config(
            {
                "NbConvertBase": {"display_data_priority": list(DISPLAY_PRIORITY)},
                "CSSHTMLHeaderPreprocessor": {"enabled": False},
                "TagRemovePreprocessor": {
                    "enabled": True,
                    "remove_cell_tags": {"remove-cell", "remove_cell"},
                    "remove_all_outputs_tags": {"remove-output", "remove_output"},
                },
            }
        )
        base = super().default_config.copy()
        base.merge(c)
        return base

    def _init_preprocessors(self):
        super()._init_preprocessors()
        self.register_preprocessor(
            BriefOutputsPreprocessor(parent=self, include_stderr=self.include_stderr), enabled=True
        )

    # -- filters -----------------------------------------------------------------------------------

    @pass_context
    def markdown2html(self, context, source):
        """Markdown to sanitized HTML. Raw HTML in markdown is shown as text, never as markup."""
        cell = context.get("cell", {})
        attachments = cell.get("attachments", {}) if hasattr(cell, "get") else {}
        path = context.get("resources", {}).get("metadata", {}).get("path", "")
        renderer = _BriefMarkdownRenderer(
            escape=True,
            allow_harmful_protocols=False,
            attachments=attachments,
            embed_images=self.embed_images,
            path=path,
            anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links,
            **self.lexer_options,
        )
        return sanitize_html(MarkdownWithMath(renderer=renderer).render(source))

    def default_filters(self):
        yield from super().default_filters()
        yield ("markdown2html", self.markdown2html)
        yield ("brief_markdown", self.markdown2html)
        yield ("brief_sanitize", sanitize_html)
        yield ("brief_base64", _clean_base64)
        yield ("brief_alt", _alt_text)

    # -- rendering ---------------------------------------------------------------------------------

    def _init_resources(self, resources):
        resources = super()._init_resources(resources)
        resources["brief_csp"] = self.csp
        return resources

    def from_notebook_node(self, nb, resources=None, **kw):
        resources = dict(resources or {})
        name = (resources.get("metadata") or {}).get("name")
        failure = notebook_failure(nb)
        if failure:
            raise FailedNotebookError(
                f"{f'notebook {name!r}' if name else 'the notebook'} failed when it ran ({failure}); "
                "a failed notebook is not exported: "
                "fix it and run it again"
            )
        resources["brief"] = brief_metadata(nb, fallback_title=name)
        html, resources = super().from_notebook_node(nb, resources, **kw)
        if _SCRIPT_TAG.search(html):  # last line of defence, e.g. against a changed template
            raise RuntimeError("a brief must not contain <script> elements")
        return embed_fonts(point_links(html, self.links)), resources


_SCRIPT_TAG = re.compile(r"<\s*script\b", re.I)
# A link to a file beside the page: no scheme, not absolute, not a fragment of this page.
_RELATIVE_LINK = re.compile(r'<a href="(?![a-zA-Z][a-zA-Z0-9+.-]*:|/|#)([^"]*)"([^>]*)>(.*?)</a>', re.S)


class FailedNotebookError(ValueError):
    """An executed notebook that recorded an error: it is not exported."""


def notebook_failure(nb: Mapping[str, Any]) -> str:
    """What went wrong in an executed notebook (its first error output, or papermill's record), or ""."""
    for index, cell in enumerate(nb.get("cells", []), start=1):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if output.get("output_type") == "error":
                return f"cell {index}: {output.get('ename', 'Error')}: {output.get('evalue', '')}"
    record = (nb.get("metadata", {}) or {}).get("papermill") or {}
    return "papermill recorded an exception" if isinstance(record, Mapping) and record.get("exception") else ""


def point_links(html: str, links: str) -> str:
    """``html`` with its relative links pointed at ``links`` (see ``BriefHTMLExporter.links``): unchanged for "",
    dropped (their text kept) for "none", else each prefixed with it."""
    if not links:
        return html
    if links.strip().lower() == "none":
        return _RELATIVE_LINK.sub(lambda m: f"<span{m.group(2)}>{m.group(3)}</span>", html)
    base = links if links.endswith("/") else links + "/"
    escaped = base.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return _RELATIVE_LINK.sub(lambda m: f'<a href="{escaped}{m.group(1)}"{m.group(2)}>{m.group(3)}</a>', html)


class BriefPDFExporter(BriefHTMLExporter):
    """PDF exporter for briefs: the brief's HTML laid out on A4 pages by WeasyPrint (binary output).

    It extends :class:`BriefHTMLExporter` (as nbconvert's own ``webpdf`` extends ``html``) so a
    notebook is preprocessed once and configuration such as ``--execute`` applies once.
    """

    export_from_notebook = "Brief (PDF)"
    output_mimetype = "application/pdf"

    @default("file_extension")
    def _file_extension_default(self):
        return ".pdf"

    @default("template_extension")
    def _template_extension_default(self):
        return ".html.j2"

    def from_notebook_node(self, nb, resources=None, **kw):
        html, resources = super().from_notebook_node(nb, resources, **kw)
        pdf = html_to_pdf(html)
        resources["output_extension"] = ".pdf"
        return pdf, resources


def _clean_base64(data: Any) -> str:
    """Base64 image data as one line; refuse anything that is not base64 (it goes into an attribute)."""
    text = "".join(str(data).split())
    if not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text):
        raise ValueError("image output is not base64 data")
    return text


def _alt_text(output: Mapping[str, Any], mimetype: str) -> str:
    metadata = output.get("metadata", {}) or {}
    for source in (metadata.get(mimetype) or {}, metadata):
        alt = source.get("alt") if isinstance(source, Mapping) else None
        if alt:
            return str(alt)
    return "Figure"


# --------------------------------------------------------------------------------------------------
# Plain functions for the build
# --------------------------------------------------------------------------------------------------

_html_exporter: BriefHTMLExporter | None = None


def _exporter() -> BriefHTMLExporter:
    global _html_exporter
    if _html_exporter is None:
        _html_exporter = BriefHTMLExporter()
    return _html_exporter


def render_html(nb: nbformat.NotebookNode | Mapping[str, Any], name: str | None = None) -> str:
    """Render an executed notebook as one self-contained HTML page (the notebook is not changed).

    ``nb`` is a NotebookNode or the notebook's JSON as a dict. ``name`` is the title used when the
    notebook's metadata has none.
    """
    if not isinstance(nb, nbformat.NotebookNode):  # e.g. json.load()ed: sources may be lists of lines
        nb = nbformat.reads(json.dumps(nb), as_version=4)
    resources = {"metadata": {"name": name}} if name else None
    html, _ = _exporter().from_notebook_node(nb, resources)
    return html


def _data_only_fetcher():
    """A WeasyPrint URL fetcher that serves ``data:`` URLs and refuses everything else."""
    from weasyprint.urls import URLFetcher

    class DataOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if not url.lower().startswith("data:"):
                raise ValueError(f"brief PDFs load nothing but data: URLs, refused {url[:80]!r}")
            return super().fetch(url, headers)

    return DataOnlyFetcher(allowed_protocols={"data"})


#: The PDF standard briefs follow: PDF/UA-1, a tagged PDF whose structure tree carries the headings, lists,
#: tables with their header cells, and figures with their text alternatives, for screen readers.
PDF_VARIANT = "pdf/ua-1"


def html_to_pdf(html: str) -> bytes:
    """Lay out a brief's HTML on A4 pages with WeasyPrint; nothing but ``data:`` URLs is loaded.

    The PDF is tagged (:data:`PDF_VARIANT`): its language and title come from the page's ``lang`` and ``<title>``,
    each figure carries its ``alt`` text and each table its header cells in the structure tree. Only the bundled
    fonts are known (no system font, whatever the machine has), and the PDF's identifier is a digest of the page:
    the same HTML gives the same bytes.
    """
    with warnings.catch_warnings():
        # WeasyPrint checks the system's fonts when imported; a brief never uses them (bundled_font_config).
        warnings.filterwarnings("ignore", message=r"(No fonts configured|FontConfig cannot load)", category=UserWarning)
        import weasyprint

    identifier = hashlib.sha256(html.encode("utf-8")).hexdigest()[:32].encode("ascii")
    page = pdf_fonts(html)  # the font files themselves, from the bundled configuration
    document = weasyprint.HTML(string=page, base_url=None, url_fetcher=_data_only_fetcher())
    return document.write_pdf(font_config=bundled_font_config(), pdf_identifier=identifier, pdf_variant=PDF_VARIANT)


def render_pdf(nb: nbformat.NotebookNode | Mapping[str, Any], name: str | None = None) -> bytes:
    """``html_to_pdf(render_html(nb))``."""
    return html_to_pdf(render_html(nb, name))
