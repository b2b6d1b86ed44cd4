"""Tests of mineral_analysis.clean.amounts and mineral_analysis.usd: parsing amounts as written, and formatting USD values."""

from __future__ import annotations

import csv
import dataclasses
import math
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mineral_analysis.clean.amounts import NUMBER_WORDS, QUALIFIER_WORDS, ParsedAmount, parse_amount
from mineral_analysis.config import RAW_FINANCING, raw_path
from mineral_analysis.errors import AmountError
from mineral_analysis.usd import format_usd
from mineral_analysis.vocab import NOT_STATED, QUALIFIERS

FAST = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _financing_rows() -> list[dict[str, str]]:
    with raw_path(RAW_FINANCING).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _written_amounts() -> list[tuple[str, str, str]]:
    return [
        (row["record_id"], column, row[column])
        for row in _financing_rows()
        for column in ("amount_as_written", "mobilized_as_written")
        if row[column].strip()
    ]


# ---------------------------------------------------------------------------------------------------
# The forms the sources use, and the forms the module promises
# ---------------------------------------------------------------------------------------------------

FORMS = [
    # the source's own spellings
    ("$1,25 млрд", 1.25e9, "exact"),
    ("до $700 млн", 700e6, "up to"),
    ("$14.8 млрд", 14.8e9, "exact"),
    ("до 10 миллиардов долларов", 10e9, "up to"),
    ("более миллиарда долларов", 1e9, "more than"),
    ("$27.4 млн", 27.4e6, "exact"),
    ("$170.3 млн", 170.3e6, "exact"),
    # Russian scale words and abbreviations, every case form
    ("$5 млн.", 5e6, "exact"),
    ("$5 миллион", 5e6, "exact"),
    ("$2 миллиона", 2e6, "exact"),
    ("$5 миллионов", 5e6, "exact"),
    ("$5 млрд.", 5e9, "exact"),
    ("$1 миллиард", 1e9, "exact"),
    ("$2 миллиарда", 2e9, "exact"),
    ("$5 миллиардов", 5e9, "exact"),
    ("$500 тыс", 500e3, "exact"),
    ("$500 тыс.", 500e3, "exact"),
    ("500 тысяч долларов", 500e3, "exact"),
    ("$1 трлн", 1e12, "exact"),
    # English scale words and abbreviations
    ("$500 thousand", 500e3, "exact"),
    ("$3 million", 3e6, "exact"),
    ("$3 billion", 3e9, "exact"),
    ("$3bn", 3e9, "exact"),
    ("$3 bn", 3e9, "exact"),
    ("$3b", 3e9, "exact"),
    ("$3m", 3e6, "exact"),
    ("$3 mn", 3e6, "exact"),
    ("$3 mln", 3e6, "exact"),
    ("$3MM", 3e6, "exact"),
    ("$300k", 300e3, "exact"),
    ("$300K", 300e3, "exact"),
    ("$1.5 tn", 1.5e12, "exact"),
    # decimal comma or dot, and the thousands rule
    ("$1,5 млрд", 1.5e9, "exact"),
    ("$1.25 billion", 1.25e9, "exact"),
    ("$0,250 млрд", 0.25e9, "exact"),
    ("$1,2500 млрд", 1.25e9, "exact"),
    ("$1.250 млрд", 1.25e9, "exact"),
    ("$1,250,000", 1.25e6, "exact"),
    ("$1.250.000", 1.25e6, "exact"),
    ("$1,250.5 million", 1250.5e6, "exact"),
    ("$1.250,5 млн", 1250.5e6, "exact"),
    ("$1 250 млн", 1.25e9, "exact"),
    ("$1 250,5 млн", 1250.5e6, "exact"),
    # currency in front or behind
    ("US$1.3bn", 1.3e9, "exact"),
    ("US$ 1.3 bn", 1.3e9, "exact"),
    ("USD 1.3 bn", 1.3e9, "exact"),
    ("USD1.3bn", 1.3e9, "exact"),
    ("1.3 bn USD", 1.3e9, "exact"),
    ("1,3 млрд $", 1.3e9, "exact"),
    ("1,3 млрд долларов", 1.3e9, "exact"),
    ("1,3 млрд долл.", 1.3e9, "exact"),
    ("21 млрд доллар", 21e9, "exact"),
    ("2 млрд доллара", 2e9, "exact"),
    ("5 млн долларов США", 5e6, "exact"),
    ("5 млн американских долларов", 5e6, "exact"),
    ("5 million dollars", 5e6, "exact"),
    ("5 million US dollars", 5e6, "exact"),
    ("$455", 455.0, "exact"),
    # qualifiers
    ("up to $700 million", 700e6, "up to"),
    ("вплоть до $700 млн", 700e6, "up to"),
    ("не более $700 млн", 700e6, "up to"),
    ("свыше $2 млрд", 2e9, "more than"),
    ("больше $2 млрд", 2e9, "more than"),
    ("более чем $2 млрд", 2e9, "more than"),
    ("more than $2 billion", 2e9, "more than"),
    ("over $2bn", 2e9, "more than"),
    ("около $3 млн", 3e6, "about"),
    ("примерно $3 млн", 3e6, "about"),
    ("about $3 million", 3e6, "about"),
    ("approximately $3 million", 3e6, "about"),
    ("~$3m", 3e6, "about"),
    ("~ $3m", 3e6, "about"),
    ("ДО $700 МЛН", 700e6, "up to"),
    # amounts in words
    ("миллиарда долларов", 1e9, "exact"),
    ("миллион долларов", 1e6, "exact"),
    ("a billion dollars", 1e9, "exact"),
    ("$ a million", 1e6, "exact"),
    ("one billion dollars", 1e9, "exact"),
    ("half a billion dollars", 0.5e9, "exact"),
    ("десять миллиардов долларов", 10e9, "exact"),
    ("до десяти миллиардов долларов", 10e9, "up to"),
    ("более двух миллиардов долларов", 2e9, "more than"),
    ("три миллиона долларов", 3e6, "exact"),
    ("две тысячи долларов", 2e3, "exact"),
    ("один миллиард долларов", 1e9, "exact"),
    ("полтора миллиарда долларов", 1.5e9, "exact"),
    ("полмиллиарда долларов", 0.5e9, "exact"),
    ("ten billion dollars", 10e9, "exact"),
    ("десять долларов", 10.0, "exact"),
    # whitespace: non-breaking, thin, narrow no-break, ideographic; ё
    ("$1\u00a0250\u00a0млн", 1.25e9, "exact"),
    ("до\u00a0$700\u202fмлн", 700e6, "up to"),
    ("$14.8\u2009млрд", 14.8e9, "exact"),
    ("  $14.8   млрд  ", 14.8e9, "exact"),
    ("трёх миллиардов долларов", 3e9, "exact"),
]


@pytest.mark.parametrize(("text", "value", "qualifier"), FORMS)
def test_parse_forms(text: str, value: float, qualifier: str) -> None:
    parsed = parse_amount(text)
    assert (parsed.value_usd, parsed.qualifier) == (pytest.approx(value, rel=1e-12), qualifier)


def test_parsed_amount_is_frozen_and_validated() -> None:
    parsed = parse_amount("$1 млн")
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.value_usd = 2.0  # type: ignore[misc]
    with pytest.raises(AmountError):
        ParsedAmount(1.0, "roughly")
    with pytest.raises(AmountError):
        ParsedAmount(-1.0, "exact")


def test_qualifier_vocabulary_matches_vocab() -> None:
    assert set(QUALIFIER_WORDS) | {"exact"} == set(QUALIFIERS)


# ---------------------------------------------------------------------------------------------------
# Every amount in the raw financing file
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record_id", "column", "text"), _written_amounts(), ids=lambda v: v if isinstance(v, str) and len(v) < 30 else None
)
def test_every_written_amount_parses(record_id: str, column: str, text: str) -> None:
    parsed = parse_amount(text)
    assert parsed.value_usd >= 1e6, f"{record_id} {column}: every amount in the file is at least a million"
    assert parsed.qualifier in QUALIFIERS


def test_written_amounts_exact_expectations() -> None:
    by_id = {row["record_id"]: row for row in _financing_rows()}
    expected = {
        "EXIM-01": (10e9, "up to"),
        "EXIM-02": (14.8e9, "exact"),
        "EXIM-08": (27.4e6, "exact"),
        "DOE-07": (6e6, "exact"),
        "DOD-05": (1.25e9, "exact"),
        "DFC-01": (1e9, "more than"),
        "DFC-05": (700e6, "up to"),
    }
    for record_id, (value, qualifier) in expected.items():
        assert parse_amount(by_id[record_id]["amount_as_written"]) == ParsedAmount(value, qualifier), record_id
    assert parse_amount(by_id["DOD-02"]["mobilized_as_written"]).value_usd == pytest.approx(170.3e6)
    assert len(_written_amounts()) >= 30


# ---------------------------------------------------------------------------------------------------
# Errors, never silent guesses
# ---------------------------------------------------------------------------------------------------

ERRORS = [
    ("", "empty"),
    ("   ", "empty"),
    ("\u00a0\u2009", "empty"),
    ("€5 млн", "euro"),
    ("5 млн евро", "euro"),
    ("EUR 5m", "EUR"),
    ("5 млн руб.", "rouble"),
    ("5 млн рублей", "rouble"),
    ("₽5 млн", "rouble"),
    ("£5m", "GBP"),
    ("5 million pounds", "GBP"),
    ("¥5m", "yuan"),
    ("5 млн юаней", "yuan"),
    ("CNY 5m", "CNY"),
    ("JPY 5m", "JPY"),
    ("5 млрд иен", "yen"),
    ("C$5m", "non-US dollar"),
    ("A$5m", "non-US dollar"),
    ("5 млн канадских долларов", "non-US dollar"),
    ("5 million Australian dollars", "non-US dollar"),
    ("$0", "zero"),
    ("$0,0 млн", "zero"),
    ("-$5 млн", "negative"),
    ("$-5 млн", "negative"),
    ("\u22125 млн долларов", "negative"),
    ("минус $5 млн", "negative"),
    ("долларов", "no amount"),
    ("$", "no amount"),
    ("hello", "no amount"),
    ("до", "no amount"),
    ("5 млн", "no currency"),
    ("миллиард", "no currency"),
    ("менее $5 млн", "unknown qualifier"),
    ("less than $5m", "unknown qualifier"),
    ("under $5m", "unknown qualifier"),
    ("от $5 млн", "unknown qualifier"),
    ("$5 млн и более", "unexpected text"),
    ("$1-2 млрд", "unexpected text"),
    ("$1–2 млрд", "unexpected text"),
    ("$5 млн; $6 млн", "unexpected text"),
    ("$5 млн (оценка)", "unexpected text"),
    ("1e5 $", "unexpected text"),
    ("$5² млн", "unexpected text"),
    ("$12,5,6 млн", "cannot read the number"),
    ("$1,2.5 млн", "cannot read the number"),
    ("$0 250 млн", "cannot read the number"),
    ("a dollars", "scale word"),
    ("$" + "9" * 400 + " млрд", "finite"),
]


@pytest.mark.parametrize(("text", "fragment"), ERRORS)
def test_errors_say_what_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(AmountError) as caught:
        parse_amount(text)
    message = str(caught.value)
    assert fragment.lower() in message.lower()
    assert repr(text) in message or fragment == "finite"


def test_foreign_currency_message_says_only_usd() -> None:
    with pytest.raises(AmountError, match="only US dollars"):
        parse_amount("5 млн евро")


def test_unknown_qualifier_message_lists_valid_ones() -> None:
    with pytest.raises(AmountError) as caught:
        parse_amount("менее $5 млн")
    assert "'до'" in str(caught.value) and "'более'" in str(caught.value) and "'около'" in str(caught.value)


@pytest.mark.parametrize("value", [None, 5, 5.0, b"$5 m", ["$5 m"]])
def test_non_text_is_an_amount_error(value: object) -> None:
    with pytest.raises(AmountError):
        parse_amount(value)  # type: ignore[arg-type]


def test_amount_error_is_a_value_error() -> None:
    assert issubclass(AmountError, ValueError)


# ---------------------------------------------------------------------------------------------------
# format_usd
# ---------------------------------------------------------------------------------------------------

FORMATS = [
    (10e9, "$10.0 bn"),
    (14.8e9, "$14.8 bn"),
    (1.25e9, "$1.25 bn"),  # a second decimal below ten billion
    (1.005e9, "$1.01 bn"),  # half up, not half even
    (1.3e9, "$1.3 bn"),  # a trailing 0 goes
    (1e9, "$1.0 bn"),
    (999.96e6, "$1.0 bn"),  # rounding reaches 1000 m: next unit
    (950e6, "$950 m"),
    (455e6, "$455 m"),
    (27.4e6, "$27.4 m"),
    (170.3e6, "$170.3 m"),
    (6e6, "$6 m"),
    (6.04e6, "$6 m"),
    (500e3, "$500 k"),
    (455, "$455"),
    (12.5, "$12.5"),
    (0, "$0"),
    (-5e6, "-$5 m"),
    (5e12, "$5.0 tn"),
    (2e15, "$2,000.0 tn"),
    (Decimal("27.4e6"), "$27.4 m"),
]


@pytest.mark.parametrize(("value", "text"), FORMATS)
def test_format_usd(value: float, text: str) -> None:
    assert format_usd(value) == text


def test_format_usd_not_stated() -> None:
    import pandas as pd

    assert format_usd(None) == NOT_STATED
    assert format_usd(float("nan")) == NOT_STATED
    assert format_usd(pd.NA) == NOT_STATED
    assert NOT_STATED == "not stated"


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), "five", object()])
def test_format_usd_rejects_non_numbers(value: object) -> None:
    with pytest.raises(AmountError):
        format_usd(value)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------------

_PIECES = (
    [w for words in QUALIFIER_WORDS.values() for w in words]
    + list(NUMBER_WORDS)
    + [
        "$",
        "US$",
        "USD",
        "usd",
        "долларов",
        "доллара",
        "долл.",
        "dollars",
        "США",
        "€",
        "EUR",
        "руб",
        "юаней",
        "млн",
        "млн.",
        "млрд",
        "миллиарда",
        "миллионов",
        "тыс",
        "bn",
        "b",
        "m",
        "mn",
        "k",
        "million",
        "billion",
        "пол",
        "-",
        "−",
        ",",
        ".",
        " ",
        "\u00a0",
        "\u2009",
        "~",
        "менее",
        "и",
        ";",
        "0",
        "00",
        "000",
        "1",
        "25",
        "250",
        "1,25",
        "1.3",
        "1,250",
        "999",
        "10",
    ]
)
amount_like = st.lists(st.sampled_from(_PIECES), min_size=1, max_size=7).map(" ".join) | st.lists(
    st.sampled_from(_PIECES), min_size=1, max_size=7
).map("".join)


def _check_contract(text: str) -> None:
    try:
        parsed = parse_amount(text)
    except AmountError as exc:
        assert str(exc)
        return
    assert isinstance(parsed, ParsedAmount)
    assert isinstance(parsed.value_usd, float)
    assert math.isfinite(parsed.value_usd) and parsed.value_usd > 0
    assert parsed.qualifier in QUALIFIERS


@FAST
@given(st.text(max_size=40))
def test_arbitrary_text_parses_or_raises_amount_error(text: str) -> None:
    _check_contract(text)


@FAST
@given(amount_like)
def test_amount_like_text_parses_or_raises_amount_error(text: str) -> None:
    _check_contract(text)


decimals = st.tuples(st.integers(0, 10**6), st.text("0123456789", min_size=0, max_size=4))


def _decimal(integer: int, fraction: str) -> Decimal:
    return Decimal(f"{integer}.{fraction}" if fraction else str(integer))


@FAST
@given(decimals)
def test_dot_decimal_round_trip(parts: tuple[int, str]) -> None:
    integer, fraction = parts
    expected = _decimal(integer, fraction)
    text = f"${integer}.{fraction} млн" if fraction else f"${integer} млн"
    if expected == 0:
        with pytest.raises(AmountError, match="zero"):
            parse_amount(text)
        return
    assert parse_amount(text).value_usd == pytest.approx(float(expected) * 1e6, rel=1e-12)


@FAST
@given(decimals.filter(lambda p: p[1] != ""))
def test_comma_decimal_round_trip(parts: tuple[int, str]) -> None:
    integer, fraction = parts
    text = f"${integer},{fraction} млн"
    if len(fraction) == 3 and 1 <= integer <= 999:
        # One comma + three digits before a scale reads either way: refused, naming both readings (issue 12).
        with pytest.raises(AmountError, match="ambiguous"):
            parse_amount(text)
        return
    expected = _decimal(integer, fraction)
    if expected == 0:
        with pytest.raises(AmountError, match="zero"):
            parse_amount(text)
        return
    assert parse_amount(text).value_usd == pytest.approx(float(expected) * 1e6, rel=1e-12)


@FAST
@given(st.integers(1, 10**12), st.sampled_from([",", " ", "\u00a0", "\u202f", "\u2009"]))
def test_thousands_groups_round_trip(number: int, separator: str) -> None:
    text = "$" + f"{number:,}".replace(",", separator) + " долларов"
    assert parse_amount(text).value_usd == float(number)


@FAST
@given(
    st.sampled_from(sorted({(w, q) for q, ws in QUALIFIER_WORDS.items() for w in ws})),
    st.integers(1, 999),
    st.sampled_from(["млн", "млрд", "million", "bn"]),
)
def test_every_qualifier_word_round_trips(word_and_qualifier: tuple[str, str], number: int, scale: str) -> None:
    word, qualifier = word_and_qualifier
    parsed = parse_amount(f"{word} ${number} {scale}")
    assert parsed.qualifier == qualifier
    assert parsed.value_usd == number * (1e6 if scale in ("млн", "million") else 1e9)


@FAST
@given(st.floats(min_value=1.0, max_value=1e15, allow_nan=False, allow_infinity=False))
def test_format_then_parse_round_trip(value: float) -> None:
    text = format_usd(value)
    assert text.startswith("$")
    # shown to one decimal of its unit, so within 5 % of the value
    assert parse_amount(text).value_usd == pytest.approx(value, rel=0.05)


@FAST
@given(st.floats(allow_nan=True, allow_infinity=False))
def test_format_never_fails_on_finite_numbers(value: float) -> None:
    text = format_usd(value)
    assert text == NOT_STATED if math.isnan(value) else text.lstrip("-").startswith("$")


@given(
    qualifier=st.sampled_from(["", "до ", "более "]),
    whole=st.integers(1, 9999),
    decimals=st.one_of(st.just(""), st.integers(0, 99).map(lambda d: f"{d:02d}"), st.integers(0, 9).map(str)),
    mark=st.sampled_from([".", ","]),
    scale=st.sampled_from(["млн", "млрд"]),
)
@settings(max_examples=800, deadline=None)
def test_common_form_fast_path_agrees_with_the_general_parser(qualifier, whole, decimals, mark, scale):
    from mineral_analysis.clean.amounts import _parse_amount_general

    text = f"{qualifier}${whole}{mark + decimals if decimals else ''} {scale}"
    assert parse_amount(text) == _parse_amount_general(text)
