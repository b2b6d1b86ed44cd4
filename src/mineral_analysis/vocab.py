"""Controlled vocabularies: agencies, instruments, minerals and membership groups.

Each vocabulary maps a canonical code to its English label, and lists the spellings (Russian and English,
lower-case) that the curated raw files may use. ``data/raw/financing.schema.md`` and
``data/raw/membership.schema.md`` document the same lists for readers; a test keeps them in step.
"""

from __future__ import annotations

from dataclasses import dataclass

NOT_STATED = "not stated"


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
BINDING_STATUSES = (BINDING, NOT_BINDING, NOT_STATED)


@dataclass(frozen=True)
class Instrument:
    code: str
    label: str
    binding_status: str
    aliases: tuple[str, ...]

    @property
    def is_binding(self) -> bool:
        """True exactly when the binding status is ``binding``."""
        return self.binding_status == BINDING


# Binding status follows from the instrument: approved loans, closed equity or debt deals and investments
# bind; letters, notices, conditional commitments, memoranda, plans and negotiations do not; where the source
# names no instrument or stage (or mixes both), the status is not stated.
INSTRUMENTS: dict[str, Instrument] = {
    i.code: i
    for i in (
        Instrument("direct_loan", "Direct loan (approved)", BINDING, ("прямой кредит", "direct loan", "approved loan")),
        Instrument(
            "authorized_transaction",
            "Authorized transaction",
            BINDING,
            ("разрешенная сделка", "разрешенных сделок", "authorized transaction", "authorised transaction"),
        ),
        Instrument("equity", "Equity (closed)", BINDING, ("акционерный капитал", "акционерного капитала", "equity")),
        Instrument("debt", "Debt (closed)", BINDING, ("заемные средства", "заемных средств", "debt", "loan")),
        Instrument("financing", "Financing (type not stated)", BINDING, ("финансирование", "financing")),
        Instrument("investment", "Investment", BINDING, ("инвестиции", "инвестиций", "investment")),
        Instrument(
            "conditional_debt",
            "Debt (conditional commitment)",
            NOT_BINDING,
            (
                "условные заемные средства",
                "условно привлечено … заемных средств",
                "conditional debt",
                "conditional commitment",
            ),
        ),
        Instrument(
            "letter_of_interest",
            "Letter of interest",
            NOT_BINDING,
            ("письмо о заинтересованности", "письма о заинтересованности", "letter of interest"),
        ),
        Instrument("letter_of_intent", "Letter of intent", NOT_BINDING, ("письмо о намерениях", "letter of intent")),
        Instrument(
            "nofo", "Notice of funding opportunity (NOFO)", NOT_BINDING, ("nofo", "notice of funding opportunity")
        ),
        Instrument("noi", "Notice of intent (NOI)", NOT_BINDING, ("noi", "notice of intent")),
        Instrument("pia", "Programme announcement (PIA, not expanded in the source)", NOT_BINDING, ("pia",)),
        Instrument(
            "memorandum",
            "Memorandum of understanding",
            NOT_BINDING,
            ("меморандум о взаимопонимании", "memorandum of understanding", "mou"),
        ),
        Instrument(
            "action_plan",
            "Action plan",
            NOT_BINDING,
            ("план действий", "плане действий", "планы действий", "action plan"),
        ),
        Instrument(
            "joint_venture_talks",
            "Joint-venture negotiations",
            NOT_BINDING,
            ("переговоры о создании совместного предприятия", "joint venture negotiations"),
        ),
        Instrument(
            "partnership",
            "Partnership",
            NOT_BINDING,
            ("стратегическое инвестиционное партнерство", "partnership", "strategic partnership"),
        ),
        Instrument(
            "mixed",
            "Mixed: investments and deals under study",
            NOT_STATED,
            ("инвестировала и изучает возможности заключения новых сделок", "инвестиции и изучаемые сделки", "mixed"),
        ),
        Instrument("not_stated", "Not stated", NOT_STATED, (NOT_STATED, "не указано")),
    )
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
