"""Which language a claim is written in, offline.

Lingua's low-accuracy mode restricted to the languages Verifier supports: it names 98.6 % of the
fixture's texts correctly (benchmarks/claim_matching.py) at about 20 MB and 0.5 ms a text. Its
high-accuracy mode got one more point in a one-off run, for about 290 MB more per process.
"""

from functools import cache

from lingua import IsoCode639_1, LanguageDetector, LanguageDetectorBuilder

# BCP 47 primary language subtags the detector may answer.
SUPPORTED_LANGUAGES = ("en", "es", "fr", "de", "ru", "uk", "pt", "ar")


@cache
def _detector() -> LanguageDetector:
    iso_codes = [IsoCode639_1.from_str(code) for code in SUPPORTED_LANGUAGES]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*iso_codes).with_low_accuracy_mode().build()


def language_detect(text: str) -> str | None:
    """The BCP 47 language of the text among SUPPORTED_LANGUAGES, or None when it cannot tell."""
    language = _detector().detect_language_of(text)
    if language is None:
        return None
    return language.iso_code_639_1.name.lower()
