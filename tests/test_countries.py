"""Tests of mineral_analysis.countries: country names as written -> ISO 3166-1 alpha-3."""

from __future__ import annotations

import csv
import gettext
import re
from importlib import resources

import pycountry
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mineral_analysis.config import RAW_FINANCING, RAW_MEMBERSHIP, raw_path
from mineral_analysis.countries import (
    ALIAS_COLUMNS,
    ALIASES_RESOURCE,
    CountryError,
    _index,
    country_name,
    known_codes,
    resolve_countries,
    resolve_country,
)
from mineral_analysis.vocab import SUPRANATIONAL

FAST = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RU = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["ru"])


def _rows(name: str) -> list[dict[str, str]]:
    with raw_path(name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _alias_rows() -> list[dict[str, str]]:
    text = resources.files("mineral_analysis").joinpath("resources", ALIASES_RESOURCE).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


# ---------------------------------------------------------------------------------------------------
# Declensions: all six cases of names the sources use
# ---------------------------------------------------------------------------------------------------

DECLENSIONS = {
    "AUS": ["Австралия", "Австралии", "Австралию", "Австралией"],
    "KAZ": ["Казахстан", "Казахстана", "Казахстану", "Казахстаном", "Казахстане"],
    "MEX": ["Мексика", "Мексики", "Мексике", "Мексику", "Мексикой"],
    "ARG": ["Аргентина", "Аргентины", "Аргентине", "Аргентину", "Аргентиной"],
    "GIN": ["Гвинея", "Гвинеи", "Гвинее", "Гвинею", "Гвинеей"],
    "GBR": [
        "Соединенное Королевство",
        "Соединённого Королевства",
        "Соединенному Королевству",
        "Соединенным Королевством",
        "Соединенном Королевстве",
        "Великобритания",
        "Великобритании",
        "Великобританию",
        "Великобританией",
    ],
    "SAU": ["Саудовская Аравия", "Саудовской Аравии", "Саудовскую Аравию", "Саудовской Аравией"],
    "COD": [
        "Демократическая Республика Конго",
        "Демократической Республики Конго",
        "Демократической Республике Конго",
        "Демократическую Республику Конго",
        "Демократической Республикой Конго",
        "ДРК",
    ],
    "JPN": ["Япония", "Японии", "Японию", "Японией"],
    "UKR": ["Украина", "Украины", "Украине", "Украину", "Украиной"],
    "BRA": ["Бразилия", "Бразилии", "Бразилию", "Бразилией"],
    "KOR": [
        "Республика Корея",
        "Республики Корея",
        "Республике Корея",
        "Республику Корея",
        "Республикой Корея",
        "Южная Корея",
        "Южной Кореи",
        "Южной Корее",
        "Южную Корею",
    ],
    "USA": [
        "США",
        "Соединенные Штаты",
        "Соединенных Штатов",
        "Соединенным Штатам",
        "Соединенными Штатами",
        "Соединенных Штатах",
        "Соединённые Штаты Америки",
    ],
    "ARE": [
        "ОАЭ",
        "Объединенные Арабские Эмираты",
        "Объединенных Арабских Эмиратов",
        "Объединенным Арабским Эмиратам",
        "Объединенных Арабских Эмиратах",
    ],
    "NLD": ["Нидерланды", "Нидерландов", "Нидерландам", "Нидерландами", "Нидерландах", "Голландия"],
    "COK": ["Острова Кука", "Островов Кука", "Островам Кука", "Островами Кука", "Островах Кука"],
    "CZE": ["Чехия", "Чехии", "Чехией", "Чешская Республика", "Чешской Республике", "Чешскую Республику"],
    "EUU": [
        "Европейская комиссия",
        "Европейской комиссии",
        "Европейскую комиссию",
        "Европейской комиссией",
        "Еврокомиссия",
        "Еврокомиссии",
        "ЕС",
        "Евросоюз",
        "Евросоюза",
        "Европейский союз",
        "Европейского союза",
    ],
    "ISR": ["Израиль", "Израиля", "Израилю", "Израилем", "Израиле"],
    "PHL": ["Филиппины", "Филиппин", "Филиппинам", "Филиппинах"],
    "NER": ["Нигер", "Нигера", "Нигере"],
    "NGA": ["Нигерия", "Нигерии", "Нигерию"],
    "PER": ["Перу"],
    "MAR": ["Марокко"],
    "SLE": ["Сьерра-Леоне"],
    "TGO": ["Того"],
    "LBN": ["Ливан", "Ливана", "Ливане"],
    "CRI": ["Коста-Рика", "Коста-Рикой"],
}


@pytest.mark.parametrize(("code", "name"), [(c, n) for c, names in DECLENSIONS.items() for n in names])
def test_russian_declensions(code: str, name: str) -> None:
    assert resolve_country(name) == code


ALIASES = [
    ("США", "USA"),
    ("US", "USA"),
    ("USA", "USA"),
    ("U.S.", "USA"),
    ("United States", "USA"),
    ("United States of America", "USA"),
    ("the United States", "USA"),
    ("ОАЭ", "ARE"),
    ("UAE", "ARE"),
    ("United Arab Emirates", "ARE"),
    ("ДРК", "COD"),
    ("DRC", "COD"),
    ("DR Congo", "COD"),
    ("Democratic Republic of the Congo", "COD"),
    ("Congo, The Democratic Republic of the", "COD"),
    ("Республика Конго", "COG"),
    ("Republic of the Congo", "COG"),
    ("Конго-Браззавиль", "COG"),
    ("Великобритания", "GBR"),
    ("UK", "GBR"),
    ("United Kingdom", "GBR"),
    ("Great Britain", "GBR"),
    ("Республика Корея", "KOR"),
    ("Южная Корея", "KOR"),
    ("Republic of Korea", "KOR"),
    ("South Korea", "KOR"),
    ("Korea, Republic of", "KOR"),
    ("КНДР", "PRK"),
    ("North Korea", "PRK"),
    ("Чехия", "CZE"),
    ("Чешская Республика", "CZE"),
    ("Czechia", "CZE"),
    ("Czech Republic", "CZE"),
    ("Нидерланды", "NLD"),
    ("the Netherlands", "NLD"),
    ("Netherlands", "NLD"),
    ("Holland", "NLD"),
    ("Острова Кука", "COK"),
    ("Cook Islands", "COK"),
    ("EU", "EUU"),
    ("European Commission", "EUU"),
    ("European Union", "EUU"),
    ("EUU", "EUU"),
    ("Россия", "RUS"),
    ("Russia", "RUS"),
    ("Russian Federation", "RUS"),
    ("Türkiye", "TUR"),
    ("Turkey", "TUR"),
    ("Кот-д’Ивуар", "CIV"),
    ("Côte d'Ivoire", "CIV"),
    ("Cote d'Ivoire", "CIV"),
    ("Ivory Coast", "CIV"),
    ("Гвинея-Бисау", "GNB"),
    ("Гвинее-Бисау", "GNB"),
    ("Экваториальная Гвинея", "GNQ"),
    ("Экваториальной Гвинее", "GNQ"),
    ("Папуа — Новая Гвинея", "PNG"),
    ("Папуа-Новая Гвинея", "PNG"),
    ("Папуа - Новой Гвинее", "PNG"),
    ("Гвинейская Республика", "GIN"),
    ("ЮАР", "ZAF"),
    ("КНР", "CHN"),
    ("Китай", "CHN"),
    ("Молдова", "MDA"),
    ("Молдавия", "MDA"),
]


@pytest.mark.parametrize(("name", "code"), ALIASES)
def test_aliases_and_english_names(name: str, code: str) -> None:
    assert resolve_country(name) == code


@pytest.mark.parametrize(
    "name",
    [
        "UNITED KINGDOM",
        "united kingdom",
        "United Kingdom",
        "uNiTeD kInGdOm",
        "  United   Kingdom  ",
        "United\u00a0Kingdom",
    ],
)
def test_case_and_space_insensitive(name: str) -> None:
    assert resolve_country(name) == "GBR"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("KOR", "KOR"),
        ("kor", "KOR"),
        ("Kor", "KOR"),
        ("KR", "KOR"),
        ("kr", "KOR"),
        ("GB", "GBR"),
        ("gbr", "GBR"),
        ("EUU", "EUU"),
        ("EC", "ECU"),
    ],
)
def test_iso_codes_given_directly(code: str, expected: str) -> None:
    assert resolve_country(code) == expected


# ---------------------------------------------------------------------------------------------------
# Errors and ambiguity
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["XYZ", "xyz", "QQQ", "ZZ"])
def test_unknown_iso_looking_code(code: str) -> None:
    with pytest.raises(CountryError, match="not an ISO 3166-1"):
        resolve_country(code)


@pytest.mark.parametrize(
    "name",
    ["Конго", "Congo", "конго", "Корея", "Кореи", "Корее", "Korea", "РК", "Америка", "Виргинские острова", "Македония"],
)
def test_ambiguous_names_are_refused(name: str) -> None:
    with pytest.raises(CountryError, match="ambiguous") as caught:
        resolve_country(name)
    assert repr(name) in str(caught.value)


def test_korea_refusal_points_to_the_source_spelling() -> None:
    with pytest.raises(CountryError, match="Республика Корея"):
        resolve_country("Корея")
    with pytest.raises(CountryError, match="ДРК"):
        resolve_country("Конго")


def test_unknown_name_suggests_nearest() -> None:
    with pytest.raises(CountryError) as caught:
        resolve_country("Автсралия")
    assert "'Автсралия'" in str(caught.value)
    assert "Австралия" in str(caught.value) and "AUS" in str(caught.value)
    with pytest.raises(CountryError, match="Kazakhstan"):
        resolve_country("Kazakstan")


@pytest.mark.parametrize("name", ["", "   ", "\u00a0", ";", "—"])
def test_empty_name(name: str) -> None:
    with pytest.raises(CountryError, match="empty"):
        resolve_country(name)


def test_mixed_alphabets_are_refused() -> None:
    with pytest.raises(CountryError, match="Latin and Cyrillic"):
        resolve_country("СШA")  # the last letter is a Latin A


@pytest.mark.parametrize("value", [None, 3, 1.5, ["США"]])
def test_non_text_is_a_country_error(value: object) -> None:
    with pytest.raises(CountryError):
        resolve_country(value)  # type: ignore[arg-type]


def test_country_error_is_a_value_error() -> None:
    assert issubclass(CountryError, ValueError)


# ---------------------------------------------------------------------------------------------------
# resolve_countries
# ---------------------------------------------------------------------------------------------------


def test_resolve_countries() -> None:
    assert resolve_countries("Соединенном Королевстве; Австралии") == ["GBR", "AUS"]
    assert resolve_countries("США; Саудовской Аравии; ОАЭ") == ["USA", "SAU", "ARE"]
    assert resolve_countries("США;США") == ["USA"]
    assert resolve_countries("Великобритания; Соединенное Королевство; UK") == ["GBR"]
    assert resolve_countries("Австралия") == ["AUS"]
    assert resolve_countries("") == []
    assert resolve_countries("  ") == []
    assert resolve_countries(None) == []
    assert resolve_countries(float("nan")) == []


def test_resolve_countries_returns_a_fresh_list() -> None:
    first = resolve_countries("США; Австралия")
    first.append("XXX")
    assert resolve_countries("США; Австралия") == ["USA", "AUS"]


def test_resolve_countries_names_the_failing_part() -> None:
    with pytest.raises(CountryError) as caught:
        resolve_countries("США; Атлантида; Австралия")
    assert "part 2 of 3" in str(caught.value) and "'Атлантида'" in str(caught.value)
    with pytest.raises(CountryError, match="part 2 of 3 .* is empty"):
        resolve_countries("США;;Австралия")
    with pytest.raises(CountryError, match="part 1 of 2 .*ambiguous"):
        resolve_countries("Конго; США")
    with pytest.raises(CountryError):
        resolve_countries(5)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------
# The raw files
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("row", _rows(RAW_MEMBERSHIP), ids=lambda r: r["record_id"])
def test_every_membership_name_resolves(row: dict[str, str]) -> None:
    assert resolve_country(row["name_as_written"]) in known_codes()


def test_ministerial_participants_are_54_countries_and_the_eu() -> None:
    codes = [
        resolve_country(r["name_as_written"]) for r in _rows(RAW_MEMBERSHIP) if r["group"] == "ministerial_participant"
    ]
    assert len(codes) == len(set(codes)), "no delegation listed twice"
    assert "EUU" in codes
    assert len(set(codes) - set(SUPRANATIONAL)) == 54


def test_membership_exact_expectations() -> None:
    by_id = {r["record_id"]: resolve_country(r["name_as_written"]) for r in _rows(RAW_MEMBERSHIP)}
    assert by_id["HOST-01"] == "USA"
    assert by_id["PART-10"] == "COK"
    assert by_id["PART-12"] == "COD"
    assert by_id["PART-16"] == "EUU"
    assert by_id["PART-43"] == by_id["FORGE-01"] == "KOR"
    assert by_id["PART-53"] == by_id["BIL-10"] == "GBR"
    assert by_id["BIL-04"] == by_id["PART-21"] == "GIN"
    assert by_id["TAP-01"] == "MEX" and by_id["TAP-02"] == "EUU" and by_id["TAP-03"] == "JPN"
    assert by_id["SPA-01"] == "COD"


def _financing_parts() -> list[str]:
    return sorted({p.strip() for r in _rows(RAW_FINANCING) for p in r["countries"].split(";") if p.strip()})


@pytest.mark.parametrize("name", _financing_parts())
def test_every_financing_country_part_resolves(name: str) -> None:
    assert resolve_country(name) in known_codes()


def test_financing_countries_cells() -> None:
    by_id = {r["record_id"]: resolve_countries(r["countries"]) for r in _rows(RAW_FINANCING)}
    assert by_id["EXIM-06"] == ["GBR", "AUS"]
    assert by_id["DOD-05"] == ["KOR", "USA"]
    assert by_id["DOD-08"] == ["JAM", "USA"]
    assert by_id["DFC-06"] == []  # the copper's destinations are not a project location (issue 12)
    assert by_id["DOS-01"] == ["COD"]
    assert by_id["USTR-02"] == ["EUU", "JPN"]
    assert by_id["DOE-03"] == []


# ---------------------------------------------------------------------------------------------------
# Coverage of pycountry, the alias table and the index
# ---------------------------------------------------------------------------------------------------

REFUSED = {"Congo", "Конго"}  # pycountry names that the alias table refuses on purpose


@pytest.mark.parametrize("country", list(pycountry.countries), ids=lambda c: c.alpha_3)
def test_every_pycountry_country_resolves(country) -> None:
    code = country.alpha_3
    assert resolve_country(code) == code
    assert resolve_country(country.alpha_2) == code
    for name in filter(
        None, {country.name, getattr(country, "official_name", None), getattr(country, "common_name", None)}
    ):
        for spelling in (name, RU.gettext(name)):
            if spelling not in REFUSED:
                assert resolve_country(spelling) == code, spelling


def test_alias_table_shape_and_rows() -> None:
    rows = _alias_rows()
    assert tuple(rows[0]) == ALIAS_COLUMNS
    keys = [" ".join(r["alias"].casefold().replace("ё", "е").split()) for r in rows]
    assert len(keys) == len(set(keys)), "an alias is listed twice"
    for row in rows:
        assert row["note"].strip(), f"{row['alias']}: every alias carries a note"
        if row["iso3"]:
            assert resolve_country(row["alias"]) == row["iso3"], row["alias"]
        else:  # refused on purpose: an ambiguous name, or a place with no ISO 3166-1 code
            with pytest.raises(CountryError, match="ambiguous|has no ISO 3166-1 code"):
                resolve_country(row["alias"])


def test_no_key_silently_resolves_to_two_codes() -> None:
    index = _index()
    for table in (index.exact, index.lemma):
        merged = {key: sorted(entry.codes) for key, entry in table.items() if len(entry.codes) > 1}
        assert merged == {}, "names that collide must be refused or disambiguated in the alias table"


# ---------------------------------------------------------------------------------------------------
# country_name
# ---------------------------------------------------------------------------------------------------

NAMES = [
    ("USA", "United States"),
    ("GBR", "United Kingdom"),
    ("KOR", "South Korea"),
    ("PRK", "North Korea"),
    ("COD", "DR Congo"),
    ("COG", "Republic of the Congo"),
    ("EUU", "European Union"),
    ("RUS", "Russia"),
    ("IRN", "Iran"),
    ("CZE", "Czechia"),
    ("NLD", "Netherlands"),
    ("COK", "Cook Islands"),
    ("ARE", "United Arab Emirates"),
    ("AUS", "Australia"),
    ("VNM", "Vietnam"),
    ("TZA", "Tanzania"),
    ("kor", "South Korea"),
]


@pytest.mark.parametrize(("code", "name"), NAMES)
def test_country_name(code: str, name: str) -> None:
    assert country_name(code) == name


@pytest.mark.parametrize("code", ["XYZ", "", "KR", "Korea", None])
def test_country_name_unknown(code: object) -> None:
    with pytest.raises(CountryError):
        country_name(code)  # type: ignore[arg-type]


def test_display_names_are_short_and_resolve_back() -> None:
    for code in known_codes():
        name = country_name(code)
        # no inverted ISO forms ("Korea, Republic of") and no parentheses ("Holy See (Vatican City State)")
        assert name and not re.search(r",.*\b(of|The)\b", name) and "(" not in name, (code, name)
        assert resolve_country(name) == code, (code, name)


# ---------------------------------------------------------------------------------------------------
# A name already seen is answered from the cache (its speed is measured by `make bench`, not asserted here)
# ---------------------------------------------------------------------------------------------------


def test_repeated_lookups_come_from_the_cache() -> None:
    from mineral_analysis.countries import _outcome

    names = [r["name_as_written"] for r in _rows(RAW_MEMBERSHIP)]
    for name in names:
        resolve_country(name)
    before = _outcome.cache_info()
    for name in names * 3:
        resolve_country(name)
    after = _outcome.cache_info()
    assert after.hits - before.hits == 3 * len(names) and after.misses == before.misses


# ---------------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------------

_KNOWN_SPELLINGS = sorted(
    {n for names in DECLENSIONS.values() for n in names} | {a for a, _ in ALIASES} | {r["alias"] for r in _alias_rows()}
)
_JUNK = [
    "",
    " ",
    "-",
    "—",
    ";",
    ",",
    ".",
    "'",
    "и",
    "the",
    "of",
    "Республика",
    "Острова",
    "ой",
    "ии",
    "ы",
    "A",
    "С",
    "1",
    "\u00a0",
    "Ё",
    "ё",
    "́",
]
name_like = st.builds(
    lambda a, b, c: f"{a}{b}{c}", st.sampled_from(_JUNK), st.sampled_from(_KNOWN_SPELLINGS), st.sampled_from(_JUNK)
)


def _check_contract(text: str) -> None:
    try:
        code = resolve_country(text)
    except CountryError as exc:
        assert str(exc)
        return
    assert code in known_codes()


@FAST
@given(st.text(max_size=30))
def test_arbitrary_text_resolves_or_raises_country_error(text: str) -> None:
    _check_contract(text)


@FAST
@given(name_like)
def test_name_like_text_resolves_or_raises_country_error(text: str) -> None:
    _check_contract(text)


@FAST
@given(
    st.lists(st.sampled_from(_financing_parts() + [r["name_as_written"] for r in _rows(RAW_MEMBERSHIP)]), max_size=6)
)
def test_resolve_countries_is_ordered_and_unique(names: list[str]) -> None:
    expected = list(dict.fromkeys(resolve_country(n) for n in names))
    assert resolve_countries(" ; ".join(names)) == expected


@FAST
@given(st.text(max_size=30))
def test_resolve_countries_on_arbitrary_text(text: str) -> None:
    try:
        codes = resolve_countries(text)
    except CountryError:
        return
    assert len(codes) == len(set(codes)) and set(codes) <= known_codes()


@FAST
@given(st.sampled_from(sorted(c.name for c in pycountry.countries if c.name not in REFUSED)), st.integers(0, 2**64 - 1))
def test_english_names_resolve_in_any_letter_case(name: str, mask: int) -> None:
    mangled = "".join(ch.upper() if mask >> (i % 64) & 1 else ch.lower() for i, ch in enumerate(name))
    assert resolve_country(mangled) == resolve_country(name)
