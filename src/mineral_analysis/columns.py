"""The columns of every raw and processed table, with their meaning: one place, used by the pipeline, the
loaders' docstrings, the generated data dictionary and the schema documents."""

from __future__ import annotations

RAW_FINANCING: dict[str, str] = {
    "record_id": "Unique id of the item, AGENCY-NN (e.g. EXIM-07).",
    "agency": "The US agency as the source names it (Russian or English name, or its abbreviation).",
    "kind": "What the record is: financing (money), or a commitment without money: plan, memorandum, talks, partnership, forum.",
    "title": "Recipient, project or programme, in English, written by the curator from the source's facts.",
    "amount_as_written": "The amount exactly as the source writes it (e.g. '$1,25 млрд', 'до $700 млн'); empty when the item has no amount. Found word for word in a cited paragraph.",
    "instrument_as_written": "The form of the money (loan, debt, equity, grant) or of the commitment (plan, memorandum) in the source's words; empty when not stated.",
    "stage": "Stage code on the one ladder (announced, in_negotiation, letter_of_interest, letter_of_intent, notice_of_intent, funding_opportunity, signed, conditional, approved, closed, disbursed); empty or not_stated when the source's words state none.",
    "stage_basis": "The source's own few words that state the stage ('…' for words left out), found in a cited paragraph; empty exactly when the stage is not stated.",
    "alternative_stage": "Empty, or the stage of a second reading a careful reader could make, where it would change the binding status; totals are shown under both readings.",
    "announced": "The date the source gives the item (announcement, approval or closing) as ISO 8601: YYYY-MM-DD, YYYY-MM or YYYY, as precise as the source; empty when it gives none.",
    "announced_inferred": "'true' when part of the date (e.g. the year) is not written and was taken from the context (the note says how), else 'false'.",
    "countries": "The item's country or countries, as written in the source, ';'-separated; empty when not stated.",
    "subnational": "State or region in English where the source gives one, ';'-separated, one part per country in the same order (empty parts allowed: '; Tennessee'); empty otherwise.",
    "place_role": "How the places stand to the item: site, recipient, partner, domestic or listed (named beside it, role not stated); empty exactly when there is no country.",
    "minerals_as_written": "Minerals exactly as the source names them, ';'-separated; empty when it names none.",
    "mobilized_as_written": "Co-financing or capital mobilised from others, as written; never part of the amount.",
    "mobilized_from": "Who provides the mobilised capital, in the source's words (e.g. 'частных инвесторов'); required with a mobilised amount.",
    "is_aggregate": "'true' when the amount is a stated total whose parts may also be listed, else 'false'.",
    "parent_id": "For a part of a stated total: the record_id of that total; empty otherwise.",
    "citations": "Every source paragraph the record rests on, as SOURCE:PARAGRAPH pairs ';'-separated (e.g. '001:12;001:15;000:2'); SOURCE is a source_id of sources.csv, a paragraph is a non-empty line (the headline is 1).",
    "conflict": "Empty, or where the cited paragraphs disagree: each one's value, the reading chosen and why.",
    "note": "Curator's note for readers: ambiguity, inference or anything the analyst should know.",
}

RAW_MEMBERSHIP: dict[str, str] = {
    "record_id": "Unique id of the row, GROUP-NN (e.g. PART-12).",
    "name_as_written": "Country or organisation exactly as the source writes it (any declension).",
    "group": "The role: host, ministerial_participant, bilateral_framework, forge_chair, forge_member, trade_action_plan, strategic_partnership.",
    "citations": "Source paragraphs as SOURCE:PARAGRAPH pairs, ';'-separated (see financing).",
    "conflict": "Empty, or where the cited sources disagree: each source's value, the reading chosen and why.",
    "note": "Curator's note.",
}

FINANCING: dict[str, tuple[str, str]] = {
    "record_id": ("string", "Unique id of the item (from the raw file)."),
    "agency": ("string", "Agency code: EXIM, DOE, DOD, DFC, USTR or DOS."),
    "agency_name": ("string", "The agency's full English name."),
    "kind": (
        "string",
        "financing, or a commitment without money (plan, memorandum, talks, partnership, forum). Only financing is summed or counted as a financing item.",
    ),
    "title": ("string", "Recipient, project or programme."),
    "amount_as_written": ("string", "The amount as the source writes it; empty when none."),
    "amount_usd": ("float", "Amount in US dollars; empty (NaN) when the item has no amount."),
    "amount_qualifier": ("string", "exact, up to, more than or about; 'not stated' when there is no amount."),
    "counted_usd": (
        "float",
        "The part of amount_usd that totals add: the full amount for an item, the unitemised remainder for a stated total (never negative). Sum this column, never amount_usd, to avoid double counting.",
    ),
    "instrument": (
        "string",
        "The form of the money or commitment (see data/raw/financing.schema.md); not_stated when the source gives none.",
    ),
    "instrument_label": ("string", "The instrument in plain English."),
    "stage": ("string", "Stage code on the one ladder (vocab.STAGES); not_stated when the source's words state none."),
    "stage_label": ("string", "The stage in plain English."),
    "stage_basis": ("string", "The source's own words that state the stage; empty when nothing does."),
    "binding_status": (
        "string",
        "Derived from kind and stage: binding (approved, closed or disbursed money), not binding (announced, letters, notices, conditional commitments), not stated (the source's words state no stage) or not applicable (a commitment without money).",
    ),
    "is_binding": ("bool", "True exactly when binding_status is 'binding'."),
    "alternative_stage": (
        "string",
        "The stage under a second reading of the source, where one would change the binding status; empty otherwise.",
    ),
    "alternative_binding_status": (
        "string",
        "The binding status under the alternative reading (the same as binding_status where there is none).",
    ),
    "is_aggregate": ("bool", "True when the item is a stated total whose parts may also be listed."),
    "parent_id": ("string", "For a part of a stated total, the total's record_id; empty otherwise."),
    "mobilized_as_written": ("string", "Mobilised money as the source writes it; empty when none."),
    "mobilized_usd": (
        "float",
        "All money mobilised from others, in USD, whoever provides it; never included in amount_usd. Read the three columns below for who provides it.",
    ),
    "mobilized_from": ("string", "Who provides the mobilised money, in the source's words."),
    "mobilized_type": (
        "string",
        "private, public or 'not stated' (a mix the source does not split); empty when nothing is mobilised.",
    ),
    "mobilized_private_usd": ("float", "Mobilised money the source attributes to private investors, in USD."),
    "mobilized_public_usd": ("float", "Mobilised money the source calls public financing, in USD."),
    "mobilized_unsplit_usd": (
        "float",
        "Mobilised money from providers the source does not split into private and public (e.g. 'foreign and private investors'), in USD.",
    ),
    "announced": ("string", "ISO date, month or year of the item, as precise as the source, or 'not stated'."),
    "announced_date": (
        "date",
        "First day of the announced period, for sorting and timelines only; empty when not stated. Read announced_precision before printing it.",
    ),
    "announced_precision": ("string", "day, month, year or none: how precisely the source dates the item."),
    "announced_inferred": (
        "bool",
        "True when part of the date (e.g. the year) was taken from the context; the note says how.",
    ),
    "country_iso3": (
        "string",
        "The item's places as ISO 3166-1 alpha-3 codes, ';'-separated (EUU for the EU); empty when not stated. The long table financing_places gives each place's role and precision.",
    ),
    "country_names": ("string", "The same places as English names, ';'-separated."),
    "subnational": ("string", "State or region per country, ';'-separated in the same order; empty where none."),
    "place_role": (
        "string",
        "How the places stand to the item: site, recipient, partner, domestic or listed; empty without a place.",
    ),
    "place_count": ("int", "Number of countries the item is placed in; above 1 the item is shared between them."),
    "minerals": ("string", "Canonical minerals, ';'-separated, or 'not stated'."),
    "source": ("string", "Source id(s) and paragraph(s), e.g. '001 ¶12, ¶15; 000 ¶2' (ids in data/raw/sources.csv)."),
    "source_count": ("int", "Number of distinct sources the item rests on."),
    "conflict": (
        "string",
        "Where the cited paragraphs disagree: their values, the reading chosen and why; empty otherwise.",
    ),
    "note": ("string", "Curator's note."),
}

PLACES: dict[str, tuple[str, str]] = {
    "record_id": ("string", "The item (financing.record_id)."),
    "iso3": ("string", "ISO 3166-1 alpha-3 code of the place's country (EUU for the EU)."),
    "name": ("string", "The country's English name."),
    "subnational": ("string", "State or region where the source gives one; empty otherwise."),
    "role": ("string", "How the place stands to the item: site, recipient, partner, domestic or listed."),
    "precision": ("string", "subnational (a state or region is given) or country."),
    "shared": ("bool", "True when the item is placed in more than one country: its amount is not the country's own."),
}

MINERALS: dict[str, tuple[str, str]] = {
    "record_id": ("string", "The item (financing.record_id)."),
    "mineral": ("string", "A mineral the item names, or 'not stated'."),
    "shared": ("bool", "True when the item names more than one mineral: its amount is not the mineral's own."),
}

MEMBERSHIP: dict[str, tuple[str, str]] = {
    "iso3": ("string", "ISO 3166-1 alpha-3 code; EUU for the European Union / European Commission."),
    "name": ("string", "English name."),
    "group": ("string", "Role (see data/raw/membership.schema.md)."),
    "group_label": ("string", "The role in plain English."),
    "name_as_written": ("string", "The name as the source writes it."),
    "record_id": ("string", "Id of the raw row."),
    "source": ("string", "Source id(s) and paragraph(s), e.g. '001 ¶5'."),
    "source_count": ("int", "Number of distinct sources the row rests on."),
    "conflict": ("string", "Where the sources disagree: their values, the reading chosen and why; empty otherwise."),
    "note": ("string", "Curator's note."),
}
