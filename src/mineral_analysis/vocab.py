"""Controlled vocabularies: agencies, instruments, minerals and membership groups.

Each vocabulary maps a canonical code to its English label, and lists the spellings (Russian and English,
lower-case) that the curated raw files may use. ``data/raw/financing.schema.md`` and
``data/raw/membership.schema.md`` document the same lists for readers; a test keeps them in step.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

NOT_STATED = "not stated"


def printed_version(metadata: Mapping) -> str:
    """The dataset version a brief prints, from the processed tables' ``metadata.json``: ``dataset_version`` (a
    release name, or "<release> + unreleased changes"), else the tables' content hash ``data_version``, else
    "unknown"."""
    return str(metadata.get("dataset_version") or metadata.get("data_version") or "unknown")


@dataclass(frozen=True)
class Agency:
    code: str
    label: str
    colour: str
    aliases: tuple[str, ...]


# Colours are fixed per agency so that every brief draws an agency in the same colour (colour-blind safe:
# Okabe-Ito palette).
AGENCIES: dict[str, Agency] = {
    a.code: a
    for a in (
        Agency(
            "EXIM",
            "Export-Import Bank of the United States",
            "#0072B2",
            (
                "exim",
                "экспортно-импортный банк сша",
                "экспортно-импортный банк сша (exim)",
                "export-import bank of the united states",
                "ex-im bank",
            ),
        ),
        Agency(
            "DOE",
            "Department of Energy",
            "#E69F00",
            ("doe", "министерство энергетики", "минэнерго сша", "department of energy"),
        ),
        Agency(
            "DOD",
            "Department of Defense",
            "#D55E00",
            ("dod", "министерство обороны", "пентагон", "department of defense", "department of war"),
        ),
        Agency(
            "DFC",
            "US International Development Finance Corporation",
            "#009E73",
            (
                "dfc",
                "корпорация международного развития и финансирования сша",
                "корпорация международного развития и финансирования сша (dfc)",
                "us international development finance corporation",
                "u.s. international development finance corporation",
            ),
        ),
        Agency(
            "USTR",
            "Office of the US Trade Representative",
            "#CC79A7",
            (
                "ustr",
                "офис торгового представителя сша",
                "офис торгового представителя сша (ustr)",
                "office of the us trade representative",
                "office of the united states trade representative",
            ),
        ),
        Agency(
            "DOS",
            "Department of State",
            "#56B4E9",
            (
                "dos",
                "госдепартамент",
                "госдеп",
                "госдеп сша",
                "государственный департамент",
                "department of state",
                "state department",
            ),
        ),
    )
}


def agency_colour(code: str) -> str:
    """The agency's fixed colour, the same in every chart and map (grey for an unknown code)."""
    agency = AGENCIES.get(code)
    return agency.colour if agency else "#777777"


BINDING = "binding"
NOT_BINDING = "not binding"
#: The binding status of a record that is not financing (a plan, a memorandum, talks): it commits no money.
NOT_APPLICABLE = "not applicable"
BINDING_STATUSES = (BINDING, NOT_BINDING, NOT_STATED, NOT_APPLICABLE)

FINANCING = "financing"


@dataclass(frozen=True)
class Kind:
    code: str
    label: str
    plural: str


#: What a record is: money (``financing``), or a commitment that carries none. Only financing is ever summed or
#: counted as a financing item; the others are listed as what they are.
KINDS: dict[str, Kind] = {
    k.code: k
    for k in (
        Kind(FINANCING, "Financing", "financing items"),
        Kind("plan", "Plan", "plans"),
        Kind("memorandum", "Memorandum", "memoranda"),
        Kind("talks", "Set of talks", "sets of talks"),
        Kind("partnership", "Partnership", "partnerships"),
        Kind("forum", "Forum", "forums"),
    )
}


@dataclass(frozen=True)
class Stage:
    code: str
    label: str
    #: binding, not binding or not stated for financing at this stage; None where the stage is not one of money
    binding_status: str | None
    kinds: tuple[str, ...]
    iati_activity_status: int | None


_ANY = tuple(KINDS)
_NON_FINANCIAL = tuple(k for k in KINDS if k != FINANCING)

#: One ladder for every record, earliest first. A record's stage is what the source's own words state (quoted in
#: ``stage_basis``); ``not_stated`` where nothing does. The binding status of financing follows from the stage:
#: approved, closed and disbursed money binds; announcements, letters, notices and conditional commitments do not.
STAGES: dict[str, Stage] = {
    s.code: s
    for s in (
        Stage("announced", "Announced", NOT_BINDING, _ANY, 1),
        Stage("in_negotiation", "In negotiation", NOT_BINDING, (FINANCING, "talks"), 1),
        Stage("letter_of_interest", "Letter of interest", NOT_BINDING, (FINANCING,), 1),
        Stage("letter_of_intent", "Letter of intent", NOT_BINDING, (FINANCING,), 1),
        Stage("notice_of_intent", "Notice of intent (NOI)", NOT_BINDING, (FINANCING,), 1),
        Stage("funding_opportunity", "Notice of funding opportunity (NOFO)", NOT_BINDING, (FINANCING,), 1),
        Stage("signed", "Signed", None, _NON_FINANCIAL, 2),
        Stage("conditional", "Conditional commitment", NOT_BINDING, (FINANCING,), 1),
        Stage("approved", "Approved or authorised", BINDING, (FINANCING,), 2),
        Stage("closed", "Closed", BINDING, (FINANCING,), 2),
        Stage("disbursed", "Disbursed", BINDING, (FINANCING,), 2),
        Stage("not_stated", "Not stated", NOT_STATED, _ANY, None),
    )
}


def binding_status(kind: str, stage: str) -> str:
    """The binding status a record's kind and stage give: only financing can bind; other kinds are not applicable."""
    if kind != FINANCING:
        return NOT_APPLICABLE
    return STAGES[stage].binding_status or NOT_STATED


@dataclass(frozen=True)
class Instrument:
    code: str
    label: str
    kinds: tuple[str, ...]
    aliases: tuple[str, ...]


#: The form of the money (loan, debt, equity, grant) or of the commitment (plan, memorandum): never its stage, which
#: is ``STAGES``. Spellings include the forms the source uses in context (``заемных средств``).
INSTRUMENTS: dict[str, Instrument] = {
    i.code: i
    for i in (
        Instrument("direct_loan", "Direct loan", (FINANCING,), ("прямой кредит", "direct loan")),
        Instrument("debt", "Debt", (FINANCING,), ("заемные средства", "заемных средств", "debt", "loan")),
        Instrument("equity", "Equity", (FINANCING,), ("акционерный капитал", "акционерного капитала", "equity")),
        Instrument("grant", "Grant", (FINANCING,), ("гранты", "грант", "grant", "grants")),
        Instrument("investment", "Investment", (FINANCING,), ("инвестиции", "инвестиций", "investment")),
        Instrument("financing", "Financing (type not stated)", (FINANCING,), ("финансирование", "financing")),
        Instrument(
            "memorandum",
            "Memorandum of understanding",
            ("memorandum",),
            ("меморандум о взаимопонимании", "memorandum of understanding", "mou"),
        ),
        Instrument(
            "action_plan",
            "Action plan",
            ("plan",),
            ("план действий", "плане действий", "планы действий", "action plan"),
        ),
        Instrument(
            "joint_venture_talks",
            "Joint-venture negotiations",
            ("talks",),
            ("переговоры о создании совместного предприятия", "joint venture negotiations"),
        ),
        Instrument(
            "partnership",
            "Partnership",
            ("partnership",),
            ("стратегическое инвестиционное партнерство", "partnership", "strategic partnership"),
        ),
        Instrument("not_stated", "Not stated", _ANY, (NOT_STATED, "не указано")),
    )
}


def iati_transaction_type(stage: str, instrument: str) -> int | None:
    """The IATI TransactionType code of financing at ``stage`` (the crosswalk in the data dictionary).

    Disbursed money is 3 (Disbursement); approved or closed money is 2 (Outgoing Commitment), or 8 (Purchase of
    Equity) for equity; earlier stages are 12 (Outgoing Pledge); an unstated stage has no code.
    """
    if stage == "disbursed":
        return 3
    if STAGES[stage].binding_status == BINDING:
        return 8 if instrument == "equity" else 2
    if STAGES[stage].binding_status == NOT_BINDING:
        return 12
    return None


#: Where a place stands to an item, as the source gives it.
PLACE_ROLES: dict[str, str] = {
    "site": "site of the activity (the source places the mining, processing or assets there)",
    "recipient": "recipient country (the money goes to its sectors)",
    "partner": "partner government of a plan or agreement",
    "domestic": "the United States, which the source calls domestic",
    "listed": "place named beside the item, its role not stated",
}

PRIVATE = "private"
PUBLIC = "public"

#: Who provides mobilised money, from the source's words: private, public, or not stated (a mix the source does
#: not split, such as "foreign and private investors").
MOBILISED_FROM: dict[str, tuple[str, ...]] = {
    PRIVATE: ("частных инвесторов", "частные инвесторы", "private investors"),
    PUBLIC: ("государственного финансирования", "государственное финансирование", "public financing"),
    NOT_STATED: ("иностранных и частных инвесторов", "foreign and private investors"),
}


@dataclass(frozen=True)
class Mineral:
    code: str
    stems: tuple[str, ...]


# A mineral is recognised in raw text by the stems of its Russian and English names (lower-case), so that
# every declension matches: "меди", "медь" and "copper" are all copper.
MINERALS: dict[str, Mineral] = {
    m.code: m
    for m in (
        Mineral("rare earths", ("редкоземель", "rare earth", "ree")),
        Mineral("lithium", ("лити", "lithium")),
        Mineral("cobalt", ("кобальт", "cobalt")),
        Mineral("nickel", ("никел", "nickel")),
        Mineral("copper", ("мед", "copper")),
        Mineral("gold", ("золот", "gold")),
        Mineral("tin", ("олов", "tin")),
        Mineral("titanium", ("титан", "titanium")),
        Mineral("zinc", ("цинк", "zinc")),
        Mineral("gallium", ("галли", "gallium")),
        Mineral("tungsten", ("вольфрам", "tungsten")),
        Mineral("graphite", ("графит", "graphite")),
        Mineral("manganese", ("марган", "manganese")),
        Mineral("antimony", ("сурьм", "antimony")),
        Mineral("germanium", ("германи", "germanium")),
        Mineral("uranium", ("уран", "uranium")),
        Mineral("aluminium", ("алюмин", "aluminium", "aluminum", "bauxite", "боксит")),
        Mineral("platinum group metals", ("платин", "platinum")),
        Mineral("silver", ("серебр", "silver")),
        Mineral("vanadium", ("ванади", "vanadium")),
    )
}

GROUPS: dict[str, str] = {
    "host": "Host of the ministerial",
    "ministerial_participant": "Delegation at the 2026 Critical Minerals Ministerial",
    "bilateral_framework": "Bilateral framework or memorandum signed at the ministerial",
    "forge_chair": "FORGE chair",
    "forge_member": "FORGE member (as stated)",
    "trade_action_plan": "Trade action plan with USTR (announced or intended)",
    "strategic_partnership": "Strategic partnership agreement with the US",
}

# Short forms for tables and legends.
GROUP_SHORT: dict[str, str] = {
    "host": "Host",
    "ministerial_participant": "Delegation",
    "bilateral_framework": "Bilateral framework",
    "forge_chair": "FORGE chair",
    "forge_member": "FORGE member",
    "trade_action_plan": "Trade action plan",
    "strategic_partnership": "Strategic partnership",
}

#: The groups from the most to the least specific: a country's primary role (on a map, in the participants list)
#: is the first of these it holds.
ROLE_PRIORITY: tuple[str, ...] = (
    "host",
    "forge_chair",
    "forge_member",
    "bilateral_framework",
    "trade_action_plan",
    "strategic_partnership",
    "ministerial_participant",
)


def group_in_sentence(group: str) -> str:
    """A group's short form inside a sentence: lower case, but FORGE stays a name ("bilateral framework")."""
    label = GROUP_SHORT[group]
    return label if label.startswith("FORGE") else label[:1].lower() + label[1:]


QUALIFIERS: dict[str, str] = {
    "exact": "as stated",
    "up to": "a ceiling: up to the amount",
    "more than": "a floor: more than the amount",
    "about": "approximate",
}

#: Codes without a country, with the name the briefs print: the body the sources name (the ministerial had "54
#: countries and the European Commission"; the code is the World Bank's for the European Union, and the processed
#: tables keep "European Union" as its name, ``countries.country_name``).
SUPRANATIONAL = {"EUU": "European Commission"}


_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower-case, ``ё`` to ``е``, and single spaces: the form the vocabularies' aliases are compared in."""
    return _SPACES.sub(" ", text.replace("\u00a0", " ")).strip().lower().replace("ё", "е")


_AGENCY_INDEX = {fold(alias): code for code, agency in AGENCIES.items() for alias in (code, *agency.aliases)}


@lru_cache(maxsize=4096)
def normalize_agency(text: str) -> str:
    """Return the agency code (EXIM, DOE, DOD, DFC, USTR, DOS) for a name as written in Russian or English; a
    ValueError naming the valid codes (and the nearest alias) otherwise."""
    code = _AGENCY_INDEX.get(fold(text))
    if code is None:
        from rapidfuzz import process

        near = process.extractOne(fold(text), list(_AGENCY_INDEX), score_cutoff=70) if text.strip() else None
        hint = f" Did you mean {_AGENCY_INDEX[near[0]]} ('{near[0]}')?" if near else ""
        raise ValueError(
            f"unknown agency; valid codes are {', '.join(AGENCIES)} "
            f"(or their names listed in data/raw/financing.schema.md).{hint}"
        )
    return code
