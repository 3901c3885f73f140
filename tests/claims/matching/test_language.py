"""Language detection: offline, among the languages Verifier supports."""

import pytest

from claims.matching import SUPPORTED_LANGUAGES, language_detect


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Russia has acquired hundreds of drones from Iran.", "en"),
        ("Rusia ha adquirido cientos de drones de Irán.", "es"),
        ("La Russie a acquis des centaines de drones iraniens.", "fr"),
        ("Russland hat Hunderte Drohnen aus dem Iran erhalten.", "de"),
        ("Россия получила сотни беспилотников из Ирана.", "ru"),
        ("Росія отримала сотні дронів з Ірану.", "uk"),
        ("A Rússia adquiriu centenas de drones do Irão.", "pt"),
        ("حصلت روسيا على مئات الطائرات المسيرة من إيران.", "ar"),
    ],
)
def test_each_supported_language_is_recognised(text: str, language: str) -> None:
    assert language_detect(text) == language


def test_fixture_languages_are_recognised_at_least_97_percent_of_the_time(
    fixture_claims, fixture_queries
) -> None:
    rows = fixture_claims + fixture_queries
    right = sum(language_detect(row["text"]) == row["language"] for row in rows)
    assert right / len(rows) >= 0.97


def test_an_answer_is_always_a_supported_language_or_none() -> None:
    assert language_detect("12345 !!!") in (*SUPPORTED_LANGUAGES, None)
