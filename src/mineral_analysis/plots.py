"""Charts for the briefs: funding breakdowns and a timeline, with one colour per agency everywhere.

Each function returns a :class:`~mineral_analysis.style.BriefFigure` (object-oriented API, no pyplot, no global
state: the caller's backend and ``rcParams`` are left alone), drawn in the project's one style
(:mod:`mineral_analysis.style`) and sized to be read at the width of a brief (about 10 inches). Amounts are shown
in USD billions or millions, whichever fits the data. A selection with nothing to draw gives a figure that says
so; a value the helpers do not know is refused with the valid ones listed.
"""

from __future__ import annotations

import textwrap

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

from .analysis import funding_summary
from .display import agreeing, plural
from .frames import plain
from .style import (
    BINDING_LOOKS,
    GRID_COLOUR,
    LOOK_OF_STATUS,
    NOTE_COLOUR,
    PAGE,
    STATUS_COLOUR,
    TEXT_COLOUR,
    chart_style,
    fit_text,
    layout,
    status_handles,
    status_look,
    status_style,
    with_phone_variant,
)
from .style import new_figure as _new_brief_figure
from .totals import money
from .vocab import AGENCIES, NOT_STATED, agency_colour

NOT_STATED_LABEL = NOT_STATED
NOT_STATED_CELL = "#e6e6e6"  # the heat map's cells of money whose mineral is not stated


#: The groupings :func:`plot_funding_by` knows.
GROUPINGS = ("agency", "mineral", "instrument", "country")


def usd_scale(max_value: float) -> tuple[float, str]:
    """Return (divisor, unit label) so that ``max_value`` reads naturally: billions or millions of USD."""
    if max_value >= 1e9:
        return 1e9, "USD billions"
    return 1e6, "USD millions"


def money_tick(value: float, divisor: float) -> str:
    """An axis tick as money: "$0", "$2.5 bn", "$500 m" (no "0.0, 5.0": the fewest decimals the value needs)."""
    if value == 0:
        return "$0"
    scaled = value / divisor
    digits = 0 if abs(scaled - round(scaled)) < 1e-9 else 1
    return f"${scaled:,.{digits}f} {'bn' if divisor == 1e9 else 'm'}"


def _usd_formatter(divisor: float) -> FuncFormatter:
    return FuncFormatter(lambda value, _pos: money_tick(value, divisor))


def _money_axis(axis, divisor: float) -> None:
    """Money ticks on ``axis``: "$0", "$5 bn", ..., few enough that their labels never touch (three intervals on
    a phone, where "$1,000 m" is wide beside a 4.2-inch chart; five on a page)."""
    from matplotlib.ticker import MaxNLocator

    from .style import PHONE, layout

    axis.set_major_locator(MaxNLocator(nbins=3 if layout() is PHONE else 5, steps=[1, 2, 2.5, 5, 10]))
    axis.set_major_formatter(_usd_formatter(divisor))


def _label(value: float, divisor: float) -> str:
    """A value drawn on a chart: the one spelling of ``usd.format_usd`` ("$1.11 bn", never "$1.10 bn" here and
    "$1.11 bn" in the text); ``divisor`` is the axis's unit, which a value label does not need."""
    from .usd import format_usd

    return format_usd(value)


def new_figure(width: float | None = None, height: float = 4.5) -> tuple[Figure, Axes]:
    """A figure and axes in the briefs' style, ``width`` inches wide (default: the layout's chart width)."""
    with chart_style():
        fig = _new_brief_figure(width or layout().chart_width, height, layout="constrained")
        ax = fig.add_subplot()
    return fig, ax


def nothing_here(message: str, *, title: str | None = None, width: float | None = None, height: float = 2.2) -> Figure:
    """A figure that says there is nothing to draw for this selection (never a blank or a crash)."""
    with chart_style():
        fig, ax = new_figure(width, height)
        ax.text(
            0.5,
            0.5,
            fit_text(message, (width or layout().chart_width) - 0.6, 11),
            ha="center",
            va="center",
            transform=ax.transAxes,
            color=TEXT_COLOUR,
            fontsize=11,
            bbox={"boxstyle": "round,pad=0.6", "facecolor": "#f6f7f9", "edgecolor": "#cccccc"},
        )
        ax.set_axis_off()
        if title:
            _set_title(fig, title)
    return fig


def _set_title(fig: Figure, title: str) -> None:
    """The chart's title, over the whole figure (constrained layout keeps it clear of the axes and of the legend
    beside them: over the axes, a long title ran into that legend), wrapped to the figure's width on a phone."""
    fig.suptitle(fit_text(title, fig.get_figwidth() - 0.2, 13), x=0.01, ha="left", fontsize=13, fontweight="bold")


def _note(fig: Figure, text: str) -> None:
    """A grey note under the chart, from its left edge (wrapped to the figure's width on a phone)."""
    fig.text(0, -0.02, fit_text(text, fig.get_figwidth() - 0.1, 9), fontsize=9, color=NOTE_COLOUR, ha="left", va="top")


def _legend(fig: Figure, ax: Axes, **kwargs) -> None:
    """The chart's legend: on a page, beside the axes at the bottom right (inside, it covered the value label of a
    long bar; at the top right, a long title ran into it); on a phone, in a row over the axes (under the figure's
    title, which constrained layout keeps clear of the axes and their legend)."""
    handles = kwargs.pop("handles", None) or ax.get_legend_handles_labels()[0]
    if layout() is PAGE:
        fig.legend(handles=handles, loc="outside right lower", frameon=False, **kwargs)
    else:
        one_row = sum(len(h.get_label()) for h in handles) <= 30  # else one entry a line, narrower than the axes
        ax.legend(
            handles=handles,
            loc="lower left",
            bbox_to_anchor=(0, 1.0),
            ncols=len(handles) if one_row else 1,
            frameon=False,
            borderaxespad=0.2,
            fontsize=9.5,
            handlelength=1.4,
            columnspacing=1.0,
            **kwargs,
        )


PAGE_LABEL_CHARS = 34  # on a page, a category label longer than this wraps (so the bars keep the chart's width)


def _tick_labels(labels: list[str]) -> list[str]:
    """Category labels as the axis shows them: long ones wrapped, to 1.4 in on a phone, past
    :data:`PAGE_LABEL_CHARS` characters on a page."""
    if layout() is PAGE:
        return [
            textwrap.fill(str(label), PAGE_LABEL_CHARS, break_on_hyphens=False)
            if len(str(label)) > PAGE_LABEL_CHARS
            else str(label)
            for label in labels
        ]
    return [fit_text(str(label), 1.4, 10.5) for label in labels]


def _row_heights(labels: list[str]) -> np.ndarray:
    """Each bar's row height, in one-line rows: a label wrapped to more than two lines gets a taller row."""
    lines = np.array([label.count("\n") + 1 for label in labels], dtype=float)
    return np.maximum(1.0, 0.4 * lines + 0.2)


def _check_frame(financing: object, columns: list[str], helper: str) -> None:
    """Refuse anything but a financing frame that has ``columns``, naming what is missing."""
    if not isinstance(financing, pd.DataFrame):
        raise TypeError(f"{helper} takes the financing table as a pandas DataFrame, not {type(financing).__name__}")
    missing = [c for c in columns if c not in financing.columns]
    if missing:
        raise ValueError(
            f"{helper}: the financing table has no column(s) {', '.join(missing)} "
            "(load it with mineral_analysis.load_financing())"
        )


def _check_agencies(financing: pd.DataFrame, helper: str) -> None:
    """Refuse agency codes the vocabulary does not know, listing the valid ones."""
    unknown = sorted(set(financing["agency"].dropna().astype(str)) - set(AGENCIES))
    if unknown:
        raise ValueError(
            f"{helper}: unknown agency code(s) {', '.join(map(repr, unknown))}; valid codes: {', '.join(AGENCIES)}"
        )


@with_phone_variant
def plot_funding_by(
    financing: pd.DataFrame, by: str = "agency", *, title: str | None = None, top: int | None = 15
) -> Figure:
    """Horizontal bars of counted USD per group, split into binding (solid), not binding (hatched) and not stated
    (dotted), the one encoding of :data:`mineral_analysis.style.BINDING_LOOKS`; a legend when two statuses or more
    are drawn, else a word under the chart.

    ``by`` is ``agency``, ``mineral``, ``instrument`` or ``country``. Bars for agencies use the agency's colour. When a group view is not additive (items in several countries or minerals), a
    note under the chart says so. ``top`` keeps the largest groups and sums the rest into "Other".
    """
    if by not in GROUPINGS:
        raise ValueError(f"plot_funding_by: by={by!r} is not a grouping; valid: {', '.join(GROUPINGS)}")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 2):
        raise ValueError(f"plot_funding_by: top must be a whole number of at least 2, or None; not {top!r}")
    _check_frame(financing, ["agency", "counted_usd", "is_binding", "mobilized_usd"], "plot_funding_by")
    financing = money(plain(financing))  # only money is drawn: plans and memoranda have their own table
    _check_agencies(financing, "plot_funding_by")
    if financing.empty:
        return nothing_here("Nothing here: no items in this selection", title=title)
    summary = funding_summary(financing, by=by)
    additive = summary.attrs.get("additive", True)
    summary = summary[summary["total_usd"] > 0]
    if top is not None and len(summary) > top:
        head, tail = summary.iloc[: top - 1], summary.iloc[top - 1 :]
        other = pd.DataFrame(
            [
                {
                    "label": f"Other ({len(tail)})",
                    "binding_usd": tail["binding_usd"].sum(),
                    "non_binding_usd": tail["non_binding_usd"].sum(),
                    "not_stated_usd": tail["not_stated_usd"].sum(),
                    "total_usd": tail["total_usd"].sum(),
                    by: "",
                    "items": tail["items"].sum(),
                }
            ]
        )
        summary = pd.concat([head, other], ignore_index=True)
    if summary.empty:
        return nothing_here("Nothing here: no amounts stated for this selection", title=title)
    phone_codes = by == "agency" and layout() is not PAGE  # a phone: agency codes, not full names
    labels = _tick_labels((summary["agency"] if phone_codes else summary["label"]).tolist()[::-1])
    rows = _row_heights(labels)
    y = np.concatenate([[0.0], np.cumsum((rows[:-1] + rows[1:]) / 2)])  # bars centred in rows that fit their labels
    height = max(2.2, 0.45 * rows.sum() + 1.4)
    with chart_style():
        fig, ax = new_figure(None, height)
        divisor, _unit = usd_scale(summary["total_usd"].max())
        binding = summary["binding_usd"].to_numpy()[::-1]
        non_binding = summary["non_binding_usd"].to_numpy()[::-1]
        not_stated = summary["not_stated_usd"].to_numpy()[::-1]
        if by == "agency":
            colours = [agency_colour(code) for code in summary["agency"].tolist()[::-1]]
        else:
            colours = [STATUS_COLOUR] * len(labels)
        left = np.zeros(len(labels))
        present = []
        for look, values in zip(BINDING_LOOKS, (binding, non_binding, not_stated)):
            if values.sum() > 0:
                present.append(look.status)
            for position, value, colour, start in zip(y, values, colours, left):
                if value > 0:
                    ax.barh(position, value, left=start, height=0.62, **status_style(look, colour))
            left = left + values
        totals = binding + non_binding + not_stated
        for position, total in zip(y, totals):
            ax.text(
                total, position, "  " + _label(total, divisor), va="center", ha="left", fontsize=9.5, color=TEXT_COLOUR
            )
        ax.set_yticks(y, labels)
        if rows.max() > 1:  # wrapped labels: the axes end where the first and last rows end, not at the bars
            ax.set_ylim(y[0] - rows[0] / 2, y[-1] + rows[-1] / 2)
        ax.set_xlim(0, totals.max() * (1.22 if layout() is PAGE else 1.6))
        _money_axis(ax.xaxis, divisor)
        ax.set_xlabel(fit_text("Amount (stated totals counted once)", fig.get_figwidth() - 1, 10.5))
        ax.grid(axis="x", color=GRID_COLOUR, linewidth=0.8)
        ax.set_axisbelow(True)
        notes = []
        if len(present) > 1:
            _legend(fig, ax, handles=status_handles(present, colour="#555555"))
        else:  # a one-entry legend says less than a word
            notes.append(f"Every amount: {LOOK_OF_STATUS[present[0]].label.lower()}.")
        if title:
            _set_title(fig, title)
        if not additive:
            noun = "countries" if by == "country" else "minerals"
            notes.append(
                f"An item naming several {noun} counts in full under each, so bars do not add up to the total."
            )
        if notes:
            _note(fig, " ".join(notes))
    return fig


def one_bar_sentence(financing: pd.DataFrame, by: str) -> str | None:
    """What a bar chart of ``financing`` by ``by`` would show, as a sentence, when it would have one bar (one
    group with an amount); None when there are several, and a chart says more. A brief shows the sentence
    instead of a chart of one bar."""
    from .usd import format_usd

    if by not in GROUPINGS:
        raise ValueError(f"one_bar_sentence: by={by!r} is not a grouping; valid: {', '.join(GROUPINGS)}")
    if financing.empty:
        return None
    summary = funding_summary(financing, by=by)
    summary = summary[summary["total_usd"] > 0]
    if len(summary) != 1:
        return None
    row = summary.iloc[0]
    parts = [
        (row["binding_usd"], "binding"),
        (row["non_binding_usd"], "not binding"),
        (row["not_stated_usd"], "with no stage stated"),
    ]
    stated = [(usd, word) for usd, word in parts if usd > 0]
    split = (
        f"all {stated[0][1]}" if len(stated) == 1 else ", ".join(f"{format_usd(usd)} {word}" for usd, word in stated)
    )
    noun = {"agency": "agency", "mineral": "mineral named", "instrument": "instrument", "country": "location"}[by]
    return f"One {noun} only: {row['label']}, {format_usd(row['total_usd'])} ({split})."


@with_phone_variant
def plot_timeline(financing: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Dated items on a time axis, one lane per agency, a marker per item: its area grows with the amount (a
    small diamond when none is stated), its binding status drawn as everywhere (solid, hatched, dotted); items of
    one agency on one date stand one above another, so none hides under another."""
    _check_frame(financing, ["agency", "announced_date", "amount_usd"], "plot_timeline")
    financing = money(plain(financing))  # only money is drawn: plans and memoranda have their own table
    _check_agencies(financing, "plot_timeline")
    if financing.empty:
        return nothing_here("Nothing here: no items in this selection", title=title)
    dated = financing[financing["announced_date"].notna()].sort_values("announced_date")
    undated = len(financing) - len(dated)
    agencies = [code for code in AGENCIES if code in set(dated["agency"])]
    with chart_style():
        fig, ax = new_figure(None, max(2.4, 0.6 * len(agencies) + 1.6))
        if dated.empty:
            ax.text(
                0.5,
                0.5,
                "Nothing here: no dated items in this selection",
                ha="center",
                va="center",
                transform=ax.transAxes,
            )
            ax.set_axis_off()
        else:
            lane = {code: i for i, code in enumerate(agencies[::-1])}
            amounts = dated["amount_usd"].fillna(0.0).to_numpy()
            sizes = np.where(amounts > 0, 40 + 900 * np.sqrt(amounts / max(amounts.max(), 1.0)), 60)
            statuses = np.array([status_look(v).status for v in _statuses(dated)])
            ys = dated["agency"].map(lane).to_numpy(dtype=float) + _same_date_offsets(dated)
            xs = mdates.date2num(dated["announced_date"].to_numpy())
            for look in BINDING_LOOKS:
                for with_amount in (True, False):
                    pick = (statuses == look.status) & ((amounts > 0) == with_amount)
                    if not pick.any():
                        continue
                    colours = [agency_colour(code) for code in dated["agency"].to_numpy()[pick]]
                    styles = [status_style(look, c, fill_alpha=0.75) for c in colours]
                    ax.scatter(
                        xs[pick],
                        ys[pick],
                        s=sizes[pick],
                        marker="o" if with_amount else "D",
                        facecolors=[st["facecolor"] for st in styles],
                        edgecolors=colours,
                        linewidths=styles[0]["linewidth"],
                        hatch=look.hatch,
                        zorder=3,
                    )
            present = [look.status for look in BINDING_LOOKS if look.status in set(statuses)]
            if len(present) > 1 and layout() is PAGE:  # at the top: the note under the chart runs the full width
                fig.legend(handles=status_handles(present, colour="#555555"), loc="outside right upper", frameon=False)
            elif len(present) > 1:
                _legend(fig, ax, handles=status_handles(present, colour="#555555"))
            ax.xaxis_date()
            ax.set_yticks(list(lane.values()), list(lane.keys()))
            ax.set_ylim(-0.7, len(lane) - 0.3)
            ax.grid(axis="x", color=GRID_COLOUR)
            ax.set_axisbelow(True)
            fig.autofmt_xdate(rotation=0, ha="center")
            months = (dated["announced_date"].max() - dated["announced_date"].min()).days / 30.4
            ax.xaxis.set_major_locator(
                mdates.MonthLocator(interval=1 if layout() is PAGE else max(1, round(months / 3)))
            )
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%b\n%Y"))
            pad = pd.Timedelta(days=12)
            ax.set_xlim(dated["announced_date"].min() - pad, dated["announced_date"].max() + pad)
            ax.set_xlabel(
                fit_text("Announcement date (month-only dates are placed on the 1st)", fig.get_figwidth() - 1, 10.5)
            )
        if title:
            _set_title(fig, title)
        note = (
            "Marker area grows with the amount; diamonds: no amount stated. Items of one date stand one above another."
        )
        if not dated.empty and len(present) == 1:
            note += f" Every item: {LOOK_OF_STATUS[present[0]].label.lower()}."
        if undated:
            note += f" {plural(undated)} with no date stated {agreeing(undated, 'is', 'are')} not shown."
        _note(fig, note)
    return fig


def _statuses(financing: pd.DataFrame) -> pd.Series:
    """Each item's binding status: ``binding_status``, else ``is_binding``, else not stated."""
    if "binding_status" in financing:
        return financing["binding_status"]
    if "is_binding" in financing:
        return financing["is_binding"]
    return pd.Series(NOT_STATED, index=financing.index)


SAME_DATE_STEP = 0.24  # lanes apart: items of one agency on one date stand this far one above another
SAME_DATE_SPREAD = 0.72  # at most this far in all (a lane is 1 high)


def _same_date_offsets(dated: pd.DataFrame) -> np.ndarray:
    """A vertical offset per item so that items of one agency on one date do not hide under one marker."""
    keys = list(zip(dated["agency"], dated["announced_date"]))
    counts = pd.Series(keys).value_counts()
    seen: dict = {}
    offsets = []
    for key in keys:
        n, k = counts[key], seen.get(key, 0)
        seen[key] = k + 1
        step = min(SAME_DATE_STEP, SAME_DATE_SPREAD / max(n - 1, 1))
        offsets.append((k - (n - 1) / 2) * step)
    return np.array(offsets, dtype=float)


@with_phone_variant
def plot_mobilized(financing: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Per item with mobilised capital: the agency's own amount beside the capital it mobilised, apart."""
    _check_frame(financing, ["agency", "title", "amount_usd", "mobilized_usd"], "plot_mobilized")
    financing = money(plain(financing))  # only money is drawn: plans and memoranda have their own table
    _check_agencies(financing, "plot_mobilized")
    rows = financing[financing["mobilized_usd"].notna()].sort_values("mobilized_usd", ascending=True)
    if rows.empty:
        return nothing_here("Nothing here: no mobilised capital stated for this selection", title=title)
    with chart_style():
        fig, ax = new_figure(None, max(2.2, (0.5 if layout() is PAGE else 1.1) * len(rows) + 1.4))
        divisor, unit = usd_scale(max(rows["mobilized_usd"].max(), rows["amount_usd"].max()))
        y = np.arange(len(rows))
        colours = [agency_colour(code) for code in rows["agency"]]
        ax.barh(y + 0.2, rows["amount_usd"].fillna(0.0), height=0.38, color=colours, label="Agency amount")
        ax.barh(y - 0.2, rows["mobilized_usd"], height=0.38, color="#bbbbbb", label="Mobilised from others")
        ax.set_yticks(y, _tick_labels([f"{t} ({a})" for t, a in zip(rows["title"], rows["agency"])]))
        _money_axis(ax.xaxis, divisor)
        ax.set_xlabel(
            fit_text(f"{unit} (mobilised capital is never added to agency totals)", fig.get_figwidth() - 1, 10.5)
        )
        ax.grid(axis="x", color=GRID_COLOUR)
        ax.set_axisbelow(True)
        _legend(fig, ax)
        if title:
            _set_title(fig, title)
    return fig


@with_phone_variant
def plot_agency_mineral_matrix(financing: pd.DataFrame, *, title: str | None = None) -> Figure:
    """A seaborn heatmap of counted USD by agency (rows) and mineral (columns), amounts written in each cell.

    An item naming several minerals appears under each; 'not stated' is a column of its own, so the money
    whose mineral the sources do not give stays in view.
    """
    import seaborn as sns

    from .analysis import explode_minerals

    _check_frame(financing, ["agency", "minerals", "counted_usd"], "plot_agency_mineral_matrix")
    financing = money(plain(financing))  # only money is drawn: plans and memoranda have their own table
    _check_agencies(financing, "plot_agency_mineral_matrix")
    if financing.empty:
        return nothing_here("Nothing here: no items in this selection", title=title)
    exploded = explode_minerals(financing)
    exploded = exploded[exploded["counted_usd"].fillna(0) > 0]
    if exploded.empty:
        return nothing_here("Nothing here: no amounts stated for this selection", title=title)
    with chart_style():
        matrix = exploded.pivot_table(
            index="agency", columns="mineral", values="counted_usd", aggfunc="sum", fill_value=0.0
        )
        columns = [c for c in matrix.sum().sort_values(ascending=False).index if c != NOT_STATED_LABEL]
        if NOT_STATED_LABEL in matrix.columns:
            columns.append(NOT_STATED_LABEL)
        matrix = matrix[columns]
        matrix = matrix.loc[[code for code in AGENCIES if code in matrix.index]]
        named = [c for c in matrix.columns if c != NOT_STATED_LABEL]
        # the colour scale is set by the named minerals: the 'not stated' column, often the largest, would
        # otherwise leave every mineral's cell white; it is written in grey cells of its own
        scale_max = float(matrix[named].to_numpy().max()) if named else float(matrix.to_numpy().max())
        divisor, unit = usd_scale(max(scale_max, float(matrix.to_numpy().max())))
        labels = matrix.map(lambda v: "" if v == 0 else _label(v, divisor))
        if layout() is not PAGE:  # a phone: agencies across, minerals down (fewer columns)
            matrix, labels = matrix.T, labels.T
            matrix.index = [str(m).capitalize() for m in matrix.index]
        not_stated = np.zeros(matrix.shape, dtype=bool)
        if layout() is PAGE:
            not_stated[:, [c == NOT_STATED_LABEL for c in matrix.columns]] = True
        else:
            not_stated[[str(r).lower() == NOT_STATED_LABEL for r in matrix.index], :] = True
        fig, ax = new_figure(None, 0.55 * len(matrix) + 2.2)
        sns.heatmap(
            matrix / divisor,
            ax=ax,
            mask=not_stated,
            vmin=0,
            vmax=scale_max / divisor if named else None,
            annot=labels,
            fmt="",
            cmap="Blues",
            linewidths=0.6,
            linecolor="white",
            cbar=layout() is PAGE,  # a phone: the amounts written in the cells and the note say it all
            cbar_kws={"label": f"{unit} (minerals named)", "shrink": 0.8} if layout() is PAGE else None,
            annot_kws={"fontsize": 8.5 if layout() is PAGE else 9.5},
        )
        for row, col in zip(*np.nonzero(not_stated)):
            ax.add_patch(Rectangle((col, row), 1, 1, facecolor=NOT_STATED_CELL, edgecolor="white", linewidth=0.6))
            ax.text(
                col + 0.5,
                row + 0.5,
                labels.iat[row, col],
                ha="center",
                va="center",
                fontsize=8.5 if layout() is PAGE else 9.5,
                color=TEXT_COLOUR,
            )
        ax.not_stated_cells = int(not_stated.sum())
        ax.set_xlabel("")
        ax.set_ylabel("")
        if layout() is PAGE:
            ax.set_xticklabels([t.get_text().capitalize() for t in ax.get_xticklabels()], rotation=30, ha="right")
        else:
            ax.xaxis.tick_top()
        ax.tick_params(axis="y", rotation=0)
        if title:
            _set_title(fig, title)
        _note(
            fig,
            f"Cells in {unit}. An item naming several minerals counts under each. Grey cells: money whose mineral "
            "the sources do not name (not on the colour scale).",
        )
    return fig
