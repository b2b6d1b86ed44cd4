"""The columns of every raw and processed table, with their meaning: one place, used by the pipeline, the
loaders' docstrings, the generated data dictionary and the schema documents."""

from __future__ import annotations

RAW_FINANCING: dict[str, str] = {
    "record_id": "Unique id of the item, AGENCY-NN (e.g. EXIM-07).",
    "agency": "The US agency as the source names it (Russian or English name, or its abbreviation).",
    "title": "Recipient, project or programme, in English, written by the curator from the source's facts.",
    "amount_as_written": "The amount exactly as the source writes it (e.g. '$1,25 млрд', 'до $700 млн'); empty when the item has no amount.",
    "instrument_as_written": "The instrument as the source states it (e.g. 'NOFO', 'письмо о намерениях'); empty when not stated.",
    "announced": "Date, month or year of the item as ISO 8601 (YYYY-MM-DD, YYYY-MM, YYYY); empty when the source gives none.",
    "countries": "Project location(s): country names as written in the source, ';'-separated; empty when not stated.",
    "subnational": "State or region in English where the source gives one, ';'-separated; empty otherwise.",
    "minerals_as_written": "Minerals exactly as the source names them, ';'-separated; empty when it names none.",
    "mobilized_as_written": "Co-financing or capital mobilised from others, as written; never part of the amount.",
    "mobilized_from": "Who provides the mobilised capital, as stated (e.g. 'private investors'); required with a mobilised amount.",
    "is_aggregate": "'true' when the amount is a stated total whose parts may also be listed, else 'false'.",
    "parent_id": "For a part of a stated total: the record_id of that total; empty otherwise.",
    "citations": "Every source paragraph the record rests on, as SOURCE:PARAGRAPH pairs ';'-separated (e.g. '001:12;001:15;000:2'); SOURCE is a source_id of sources.csv, a paragraph is a non-empty line (the headline is 1).",
    "conflict": "Empty, or where the cited sources disagree: each source's value, the reading chosen and why.",
    "note": "Curator's note: ambiguity, inference or anything the analyst should know.",
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
        "Instrument code (see data/raw/financing.schema.md); not_stated when the source gives none.",
    ),
    "instrument_label": ("string", "The instrument in plain English."),
    "binding_status": (
        "string",
        "binding (approved loans, closed equity or debt, investments, authorised deals), not binding (letters, notices, conditional commitments, memoranda, plans, talks) or not stated (the source names no instrument or stage).",
    ),
    "is_binding": ("bool", "True exactly when binding_status is 'binding'."),
    "is_aggregate": ("bool", "True when the item is a stated total whose parts may also be listed."),
    "parent_id": ("string", "For a part of a stated total, the total's record_id; empty otherwise."),
    "mobilized_usd": ("float", "Co-financing or capital mobilised from others, in USD; never included in amount_usd."),
    "mobilized_from": ("string", "Who provides the mobilised capital."),
    "announced": ("string", "ISO date, month or year of the item, or 'not stated'."),
    "announced_date": ("date", "First day of the announced period, for sorting and timelines; empty when not stated."),
    "announced_precision": ("string", "day, month, year or none."),
    "country_iso3": (
        "string",
        "Project location(s) as ISO 3166-1 alpha-3 codes, ';'-separated (EUU for the EU); empty when not stated.",
    ),
    "country_names": ("string", "The same locations as English names, ';'-separated."),
    "subnational": ("string", "State or region where the source gives one."),
    "minerals": ("string", "Canonical minerals, ';'-separated, or 'not stated'."),
    "source": ("string", "Source id(s) and paragraph(s), e.g. '001 ¶12, ¶15; 000 ¶2' (ids in data/raw/sources.csv)."),
    "source_count": ("int", "Number of distinct sources the item rests on."),
    "conflict": ("string", "Where the sources disagree: their values, the reading chosen and why; empty otherwise."),
    "note": ("string", "Curator's note."),
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
