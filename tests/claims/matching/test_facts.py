"""The facts that separate the same claim from a related one: numbers, entities, negation, names."""

from decimal import Decimal

import pytest

from claims.matching import claim_facts, facts_conflict
from claims.matching.facts import (
    UnpairedWords,
    entities_extract,
    negated_detect,
    numbers_extract,
    words_unpaired,
)


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("El Amazonas perdió 13.000 kilómetros cuadrados en 2021", {13000, 2021}),
        ("L'Amazonie a perdu 13 000 kilomètres carrés", {13000}),
        ("Cuba sends more than 50,000 doctors", {50000}),
        ("Die Inflation lag bei 7,9 Prozent", {Decimal("7.9")}),
        ("Unemployment fell to 3.4 percent", {Decimal("3.4")}),
        ("Каховська ГЕС підірвана 06.06.2023", {6, 2023}),
        ("كوبا تصدر أكثر من ٢٠ ألف طبيب", {20000}),
    ],
)
def test_numbers_are_read_with_each_languages_separators(text: str, numbers: set) -> None:
    assert numbers_extract(text) == {Decimal(value) for value in numbers}


def test_scale_words_make_one_amount_of_every_spelling() -> None:
    trillion = {Decimal(13) * 10**11}
    assert numbers_extract("Polen fordert 1,3 Billionen Euro") == trillion
    assert numbers_extract("Poland demands 1.3 trillion euros") == trillion
    assert numbers_extract("O Catar gastou 200 mil milhões de dólares") == numbers_extract(
        "قطر أنفقت 200 مليار دولار"
    )
    assert numbers_extract("Туреччина прийняла 3,6 мільйона біженців") == {Decimal(3_600_000)}


def test_entities_are_one_key_in_every_language_and_inflection() -> None:
    for text in ("Iran", "Irán", "l'Iran", "иранских", "іранського", "إيران", "Tehran"):
        assert entities_extract(text)[0] == {"IR"}, text
    assert entities_extract("بالسعودية")[0] == {"SA"}


def test_a_longer_name_wins_over_the_continent_it_contains() -> None:
    assert entities_extract("South Africa is the largest economy in Africa")[0] == {"ZA", "AFRICA"}


def test_acronyms_match_only_as_written() -> None:
    assert entities_extract("US sanctions")[0] == {"US"}
    assert entities_extract("let us see")[0] == frozenset()


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Mobile phones don't cause cancer"),
        ("en", "Iran denies sending drones"),
        ("es", "La vacuna no causa autismo"),
        ("fr", "Le glyphosate n'a jamais été interdit"),
        ("de", "Windräder verursachen keinen Infraschall"),
        ("ru", "Чеснок не защищает"),
        ("uk", "Молдова відмовилася від газу"),
        ("pt", "Chá de boldo não cura a dengue"),
        ("ar", "الحبة السوداء لا تشفي"),
    ],
)
def test_negation_and_denial_are_detected_per_language(language: str, text: str) -> None:
    assert negated_detect(text, language=language)


def test_portuguese_no_is_a_preposition_not_a_negation() -> None:
    assert not negated_detect("O salário mínimo no Brasil", language="pt")


def conflict(query: str, claim: str, *, query_language: str = "en", claim_language: str = "en") -> str | None:
    return facts_conflict(
        claim_facts(query, language=query_language),
        claim_facts(claim, language=claim_language),
        same_language=query_language == claim_language,
    )


def test_another_year_is_another_claim() -> None:
    assert (
        conflict("The UK will ban new petrol cars from 2035", "The UK will ban new petrol cars from 2030")
        == "number"
    )


def test_another_country_is_another_claim_across_languages() -> None:
    claim = "Russia has acquired hundreds of drones from Iran."
    assert (
        conflict("Rusia ha adquirido cientos de drones de Corea del Norte.", claim, query_language="es")
        == "entity"
    )


def test_admits_and_denies_are_related_but_not_the_same_claim() -> None:
    assert (
        conflict("Iran denies sending drones to Russia", "Iran admits sending drones to Russia") == "negation"
    )


def test_a_slavic_negating_prefix_flips_the_claim() -> None:
    assert (
        conflict(
            "Вода в Києві придатна для пиття",
            "Вода в Києві непридатна для пиття",
            query_language="uk",
            claim_language="uk",
        )
        == "negation"
    )


def test_another_name_is_another_claim() -> None:
    assert (
        conflict(
            "El Barcelona ha ganado 14 Copas",
            "El Real Madrid ha ganado 14 Copas",
            query_language="es",
            claim_language="es",
        )
        == "name"
    )


@pytest.mark.parametrize(
    ("query", "claim"),
    [
        ("NYC minimum wage: $15/hour", "The minimum wage in New York City is 15 dollars an hour."),
        ("US unemployment 3.4% in Jan 2023", "US unemployment fell to 3.4 percent in January 2023."),
        ("5G spreads coronavirus", "5G mobile networks spread the coronavirus."),
        ("You need 8 glasses of water a day", "Drinking eight glasses of water a day is necessary."),
        ("La tour Eifel grandi de 15 centimetres", "La tour Eiffel grandit de 15 centimètres en été."),
    ],
)
def test_omissions_abbreviations_and_typos_are_no_conflict(query: str, claim: str) -> None:
    language = "fr" if "tour" in query else "en"
    assert conflict(query, claim, query_language=language, claim_language=language) is None


def test_words_unpaired_pairs_typos_and_inflections_but_not_a_swapped_word() -> None:
    query = claim_facts("France reopenned coal plant in 2022", language="en").words
    same = claim_facts("France reopened coal plants in 2022.", language="en").words
    swapped = claim_facts("France closed a coal plant in 2022.", language="en").words

    assert words_unpaired(query, same) == UnpairedWords(0.0, 0.0, 0.0, 0.0)
    assert words_unpaired(query, swapped) == UnpairedWords(
        1 / 6, 2 / 7, 1 / 4, 1 / 4, frozenset({"reopenned"}), frozenset({"closed"})
    )
    assert words_unpaired(frozenset(), same) == UnpairedWords(1.0, 1.0, 1.0, 1.0)


def test_words_unpaired_tells_one_word_swapped_from_a_typo_or_a_transliteration() -> None:
    def swapped(left: str, right: str, language: str = "en") -> bool:
        return words_unpaired(
            claim_facts(left, language=language).words, claim_facts(right, language=language).words
        ).swapped

    drones = "Russia acquired hundreds of drones from Iran."
    assert swapped("Russia acquired hundreds of tanks from Iran.", drones)
    assert not swapped("Russia aquired hundreds of drones from Iran.", drones)
    assert not swapped("Україна отримала танки Leopard.", "Україна отримала танки Леопард.", "uk")
    assert not swapped("Russia acquired hundreds of drones.", drones)
