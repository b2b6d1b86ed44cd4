"""What changed between two versions of the data: a release and the current processed tables, or two releases.

``diff_tables`` lists every record added, removed or changed (one row per changed field, old and new value);
``total_deltas`` gives the totals' deltas by agency; ``what_changed`` is the brief's "What changed" section: the
changes that touch the brief's own records since the previous release, or "No change since RELEASE".
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pandas as pd

from . import config
from .releases import TABLES, get_release, list_releases, read_release, read_table_csv
from .safe_files import spreadsheet_safe_frame
from .totals import BINDING_PARTS, headline_numbers
from .usd import format_usd

CHANGE_COLUMNS = ["record_id", "change", "field", "old", "new"]  # and "reason" (``with_reasons``)
# Labels derived one-to-one from another column: a change shows in that column, so these would only repeat it.
DERIVED_LABELS = {
    "agency_name",
    "instrument_label",
    "country_names",
    "announced_date",
    "announced_precision",
    "is_binding",
    "stage_label",
    "group_label",
    "name",
}
#: Columns a version made before they existed is read as holding: every record was financing then, and no date was
#: flagged as inferred. Other columns new since a version are named once (``new_fields``), not listed per record.
IMPLIED = {"kind": "financing", "announced_inferred": "False", "alternative_stage": ""}
MAX_LISTED = 25  # records listed in a brief's "What changed"; the command line lists every one
DELTA_KEYS = ("total_usd", *BINDING_PARTS.values(), "binding_if_alternative_usd", "mobilized_usd")
Snapshot = dict[str, pd.DataFrame]


def current_tables(processed_dir: Path | None = None) -> Snapshot:
    """The processed tables as written to ``data/processed`` (CSV, the same bytes a release stores)."""
    tables = {}
    for table in TABLES:
        path = config.processed_path(config.csv_file(table), processed_dir)
        if not path.is_file():
            raise FileNotFoundError(
                f"{path.name} is missing from the processed-data folder; run `mineral-analysis data` first"
            )
        tables[table] = read_table_csv(path.read_bytes(), table)
    return tables


def snapshot(name: str | None, processed_dir: Path | None = None, releases_dir: Path | None = None) -> Snapshot:
    """Release ``name``'s tables (hash-checked), or the current processed tables when ``name`` is None."""
    return current_tables(processed_dir) if name is None else read_release(name, releases_dir)


def _text(value: object) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:.2f}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def diff_tables(old: Snapshot, new: Snapshot) -> pd.DataFrame:
    """Every record added, removed or changed from ``old`` to ``new`` (columns record_id, change, field, old, new).

    A changed record has one row per changed field; added and removed records one row with ``field`` empty.
    Financing records come first, then membership rows, each in record_id order.
    """
    rows = []
    for table in TABLES:
        before = old[table].set_index("record_id")
        after = new[table].set_index("record_id")
        fields = [c for c in after.columns if c not in DERIVED_LABELS]
        for rid in sorted(set(before.index) | set(after.index)):
            if rid not in before.index:
                rows.append((rid, "added", "", "", ""))
            elif rid not in after.index:
                rows.append((rid, "removed", "", "", ""))
            else:
                for field in fields:
                    if field not in before.columns and field not in IMPLIED:
                        continue
                    was = _text(before.at[rid, field]) if field in before.columns else IMPLIED[field]
                    now = _text(after.at[rid, field])
                    if was != now:
                        rows.append((rid, "changed", field, was, now))
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def new_fields(old: Snapshot, new: Snapshot) -> list[str]:
    """Columns of ``new`` that ``old`` lacks (and that ``IMPLIED`` does not fill): a change of the data model."""
    return [
        f"{table}.{column}"
        for table in TABLES
        for column in new[table].columns
        if column not in old[table].columns and column not in IMPLIED and column not in DERIVED_LABELS
    ]


def with_reasons(changes: pd.DataFrame, corrections: pd.DataFrame | None) -> pd.DataFrame:
    """``changes`` with a ``reason`` column: the curator's reason for a record's field (``data/raw/corrections.csv``),
    or for the record as a whole (an empty field), or for the field in every record (record ``*``), else empty."""
    out = changes.copy()
    if corrections is None or corrections.empty:
        out["reason"] = ""
        return out
    by_field = {(r, f): why for r, f, why in corrections[["record_id", "field", "reason"]].itertuples(index=False)}
    out["reason"] = [
        by_field.get((rid, field)) or by_field.get((rid, "")) or by_field.get(("*", field)) or ""
        for rid, field in zip(out["record_id"], out["field"])
    ]
    return out


def load_corrections(raw_dir: Path | None = None) -> pd.DataFrame | None:
    """The curator's reasons for changes (``data/raw/corrections.csv``: record_id, field, reason), or None."""
    from .clean.rawio import read_raw_table

    path = config.raw_path(config.RAW_CORRECTIONS, raw_dir)
    if not path.exists():
        return None
    return read_raw_table(path, ["record_id", "field", "reason"]).frame


def _value(number: float) -> float:
    """A total for a delta: a total the sources do not state counts as nothing there."""
    return 0.0 if number != number else number


def total_deltas(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Per agency (and ``All``): each total before, after and the delta (``analysis.headline_numbers``)."""
    agencies = sorted(set(old["agency"]) | set(new["agency"]))
    rows = []
    for agency in [*agencies, "All"]:
        pick = (lambda f: f) if agency == "All" else (lambda f, a=agency: f[f["agency"] == a])
        before, after = headline_numbers(pick(old)), headline_numbers(pick(new))
        rows.append(
            {
                "agency": agency,
                **{f"{k}_delta": _value(after[k]) - _value(before[k]) for k in DELTA_KEYS},
                **{f"{k}_new": after[k] for k in DELTA_KEYS},
            }
        )
    return pd.DataFrame(rows)


def _signed(value: float) -> str:
    return ("+" if value > 0 else "-" if value < 0 else "±") + format_usd(abs(value))


def format_changes(changes: pd.DataFrame, deltas: pd.DataFrame, fmt: str = "table") -> str:
    """The changes as ``table`` (readable, ending with the totals' deltas by agency), ``csv`` or ``json``."""
    if fmt == "csv":
        return spreadsheet_safe_frame(changes).to_csv(index=False, lineterminator="\n")
    if fmt == "json":
        return (
            json.dumps(
                {"changes": changes.to_dict("records"), "total_deltas": deltas.to_dict("records")},
                indent=2,
                ensure_ascii=False,
            )
            + "\n"
        )
    if fmt != "table":
        raise ValueError(f"format must be table, csv or json, not {fmt!r}")
    lines = []
    if changes.attrs.get("new_fields"):
        lines.append(
            "New fields (the data model grew; not listed per record): " + ", ".join(changes.attrs["new_fields"])
        )
    for row in changes.itertuples(index=False):
        if row.change == "changed":
            lines.append(f"{row.record_id:<10} changed  {row.field}: {row.old or '(empty)'} -> {row.new or '(empty)'}")
        else:
            lines.append(f"{row.record_id:<10} {row.change}")
        if getattr(row, "reason", ""):
            lines.append(f"{'':<10}   because: {row.reason}")
    counts = changes.drop_duplicates(["record_id", "change"])["change"].value_counts()
    lines.append(
        f"{counts.get('added', 0)} added, {counts.get('removed', 0)} removed, {counts.get('changed', 0)} changed"
    )
    lines.append("")
    lines.append("Totals' deltas by agency (total; binding / not binding / not stated; mobilised apart):")
    for row in deltas.to_dict("records"):
        parts = " / ".join(_signed(row[f"{k}_delta"]) for k in BINDING_PARTS.values())
        lines.append(
            f"  {row['agency']:<5} total {_signed(row['total_usd_delta'])} (now {format_usd(row['total_usd_new'])}); "
            f"{parts}; mobilised {_signed(row['mobilized_usd_delta'])}"
        )
    return "\n".join(lines) + "\n"


def changes_between(
    since: str, until: str | None = None, processed_dir: Path | None = None, releases_dir: Path | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(changes, totals' deltas) from release ``since`` to release ``until`` or the current processed data; each
    change carries the curator's reason where ``data/raw/corrections.csv`` gives one."""
    get_release(since, releases_dir)
    if until is not None:
        get_release(until, releases_dir)
    old = snapshot(since, processed_dir, releases_dir)
    new = snapshot(until, processed_dir, releases_dir)
    changes = with_reasons(diff_tables(old, new), load_corrections())
    changes.attrs["new_fields"] = new_fields(old, new)
    return changes, total_deltas(old["financing"], new["financing"])


# --- "What changed" in a brief --------------------------------------------------------------------------------


def brief_snapshot(tables: Snapshot, kind: str, key: str = "") -> Snapshot:
    """The records of one version that a brief is about: ``briefing``'s ``items`` (financing) and ``roles``
    (membership), the same rule as the brief itself, for any version. ``key`` is the canonical key."""
    from .briefing import Tables

    brief = Tables(tables["financing"], tables["membership"]).brief(kind, key)
    return {"financing": brief.items, "membership": brief.roles}


def _drawn_on(tables, kind: str, key: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of one version a brief draws on (``briefing.Tables.record_positions``: what its fingerprint hashes)."""
    positions, all_membership = tables.record_positions(kind, key)
    financing = tables.financing.iloc[positions].reset_index(drop=True)
    return financing, tables.membership if all_membership else tables.membership.iloc[0:0]


class BriefVersions:
    """The version each brief prints, and the release its "What changed" compares with, from the brief's own
    records: a brief whose records equal the latest release's prints that release's name (and compares with the
    release before it), else ``"<latest> + unreleased changes"`` (compared with the latest); ``"unreleased"`` when
    there is no release. So an edit changes the version of exactly the briefs whose records it changes, and a
    brief it does not touch keeps its bytes, also after the first edit since a release.

    Both versions are read as CSV (``current_tables``, ``read_release``), so the rows compare exactly."""

    def __init__(self, processed_dir: Path | None = None, releases_dir: Path | None = None) -> None:
        from .briefing import Tables

        self.releases = list_releases(releases_dir)
        self.releases_dir = releases_dir
        self.snapshots: dict[str | None, Snapshot] = {}
        if self.releases:  # with none, nothing to compare (and no table read)
            latest = self.releases[-1].name
            self.snapshots = {None: current_tables(processed_dir), latest: read_release(latest, releases_dir)}
        self._tables = {name: Tables(s["financing"], s["membership"]) for name, s in self.snapshots.items()}

    @property
    def signature(self) -> str:
        """What identifies every release a brief can print or compare with (the latest's record, which chains
        the earlier ones)."""
        return self.releases[-1].record_sha256 if self.releases else ""

    def of(self, kind: str, key: str = "") -> tuple[str, str | None]:
        """(the version a brief of ``kind`` on the canonical ``key`` prints, the release it compares with)."""
        if not self.releases:
            return "unreleased", None
        latest = self.releases[-1]
        now, then = (_drawn_on(self._tables[name], kind, key) for name in (None, latest.name))
        if all(a.equals(b) for a, b in zip(now, then, strict=True)):
            return latest.name, self.releases[-2].name if len(self.releases) > 1 else None
        return f"{latest.name} + unreleased changes", latest.name

    def snapshot(self, name: str | None) -> Snapshot:
        """The tables of release ``name`` (read once), or the current ones for None."""
        if name not in self.snapshots:
            self.snapshots[name] = read_release(name, self.releases_dir)
        return self.snapshots[name]


def brief_versions(processed_dir: Path | None = None, releases_dir: Path | None = None) -> BriefVersions:
    """``BriefVersions`` of these folders, read once per content (a brief's metadata and its "What changed" share
    it): keyed by the files' sizes and modification times."""
    files = [config.processed_path(config.csv_file(t), processed_dir) for t in TABLES]
    files += sorted(Path(releases_dir or config.RELEASES_DIR).glob("*/*"))
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files if p.is_file())
    return _versions(processed_dir, releases_dir, stamp)


@lru_cache(maxsize=4)
def _versions(processed_dir: Path | None, releases_dir: Path | None, stamp: tuple) -> BriefVersions:
    return BriefVersions(processed_dir, releases_dir)


def brief_metadata(
    kind: str, key: str = "", processed_dir: Path | None = None, releases_dir: Path | None = None
) -> dict:
    """``metadata.json`` as the brief of ``kind`` on the canonical ``key`` prints it: with the brief's own
    ``dataset_version`` (``BriefVersions``)."""
    from .data import load_metadata

    version, _ = brief_versions(processed_dir, releases_dir).of(kind, key)
    return load_metadata(processed_dir) | {"dataset_version": version}


#: Beyond this many characters a changed value is named, not quoted, in a brief: a rewritten note would fill a page
#: (`mineral-analysis changes` prints every value in full).
QUOTED_CHANGE = 40


def _field_change(field: str, old: str, new: str, esc) -> str:
    """One changed field as a brief shows it: "binding_status: binding → not stated", or "note rewritten"."""
    if max(len(old), len(new)) > QUOTED_CHANGE:
        return f"{esc(field)} rewritten"
    return f"{esc(field)}: {esc(old) or '(empty)'} → {esc(new) or '(empty)'}"


#: Beyond this many changed records a brief lists the changes by field ("binding_status: 9 records, DFC-02, ..."),
#: which reads in a few lines; record by record they would fill pages.
BY_FIELD_BEYOND = 10


def _changes_by_field(changes: pd.DataFrame, esc) -> list[str]:
    """The changes as one line per kind of change: records added, removed, and each field with the records it
    changed in, most changed first."""
    lines = []
    for kind in ("added", "removed"):
        ids = changes.loc[changes["change"] == kind, "record_id"].drop_duplicates().tolist()
        if ids:
            lines.append(f"- {kind}: {esc(', '.join(ids))}")
    changed = changes[changes["change"] == "changed"]
    by_field = changed.groupby("field", sort=False)["record_id"].agg(list)
    for field, ids in sorted(by_field.items(), key=lambda item: (-len(item[1]), item[0])):
        shown = ", ".join(ids[:12]) + (f" and {len(ids) - 12} more" if len(ids) > 12 else "")
        lines.append(f"- {esc(field)}: {len(ids)} {'record' if len(ids) == 1 else 'records'} ({esc(shown)})")
    return lines


def what_changed_text(
    changes: pd.DataFrame, old: pd.DataFrame, new: pd.DataFrame, since: str, titles: dict[str, str]
) -> str:
    """Markdown: the brief's changes since ``since`` with the deltas of its totals, or "No change since ...".

    ``old``/``new`` are the brief's financing rows in each version; ``titles`` names records for the reader.
    """
    from .display import esc

    if changes.empty:
        return f"No change since {esc(since)}."
    records = changes.drop_duplicates("record_id")["change"].value_counts()
    counts = ", ".join(f"{records.get(kind, 0)} {kind}" for kind in ("added", "removed", "changed"))
    lines = [f"Since release **{esc(since)}** ({counts}):", ""]
    groups = list(changes.groupby("record_id", sort=False))  # financing first, then membership, as diffed
    if len(groups) > BY_FIELD_BEYOND:
        lines += _changes_by_field(changes, esc)
    for rid, group in [] if len(groups) > BY_FIELD_BEYOND else groups[:MAX_LISTED]:
        kind = group["change"].iat[0]
        title = esc(titles.get(rid, ""))
        if kind == "changed":
            fields = "; ".join(_field_change(r.field, r.old, r.new, esc) for r in group.itertuples(index=False))
            lines.append(f"- **{esc(rid)}** {title}: changed ({fields})")
        else:
            lines.append(f"- **{esc(rid)}** {title}: {kind}")
    if len(groups) > MAX_LISTED and len(groups) <= BY_FIELD_BEYOND:
        lines.append(f"- … and {len(groups) - MAX_LISTED} more records, not listed here")
    before, after = headline_numbers(old), headline_numbers(new)
    deltas = [
        f"{label} {_signed(_value(after[key]) - _value(before[key]))}"
        for label, key in (
            ("total", "total_usd"),
            ("binding", "binding_usd"),
            ("not binding", "non_binding_usd"),
            ("stage not stated", "not_stated_usd"),
            ("mobilised", "mobilized_usd"),
        )
        if _value(after[key]) != _value(before[key])
    ]
    moved = f" ({', '.join(deltas)})" if deltas else "; no total here changed"
    lines += ["", f"Totals here: now {format_usd(after['total_usd'])}{moved}."]
    return "\n".join(lines)


def what_changed(
    kind: str, value: str = "", processed_dir: Path | None = None, releases_dir: Path | None = None
) -> str:
    """The "What changed" section of one brief (Markdown), comparing the brief's own records across versions:
    with the release its version follows (``BriefVersions``). ``value`` is the canonical key."""
    versions = brief_versions(processed_dir, releases_dir)
    _, since = versions.of(kind, value)
    if since is None:
        return (
            f"First release ({versions.releases[-1].name}): nothing earlier to compare with."
            if versions.releases
            else "No release yet: nothing to compare with."
        )
    old, new = (brief_snapshot(versions.snapshot(name), kind, value) for name in (since, None))
    titles = {}
    for version in (old, new):
        titles.update(zip(version["financing"]["record_id"], version["financing"]["title"]))
        members = version["membership"]
        titles.update(zip(members["record_id"], members["name"] + " (" + members["group_label"] + ")"))
    return what_changed_text(diff_tables(old, new), old["financing"], new["financing"], since, titles)


def release_history(releases_dir: Path | None = None) -> pd.DataFrame:
    """The releases, oldest first: name, date and sources (for the overview; the release's citation, which names
    its files and their digests, stays in its manifest)."""
    return pd.DataFrame(
        [{"Release": r.name, "Date": r.date, "Sources": ", ".join(r.sources)} for r in list_releases(releases_dir)],
        columns=["Release", "Date", "Sources"],
    )
