"""Text normalisation shared by every tier: what two wordings of one claim have in common.

`text_clean` removes what social media adds to a claim (links, mentions, emoji, hashtag marks,
shouting, repeated punctuation, typographic variants) and keeps the words as written, for the
sentence encoder. `text_fold` goes further for comparisons that must ignore case and diacritics
("petroleo" and "petróleo", "Украiна" and "Україна", أ and ا).
"""

import re
import unicodedata

_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|org|net|co|ly|me|io)/\S*", re.IGNORECASE)
_MENTION = re.compile(r"(?<!\w)@\w+")
_HASHTAG = re.compile(r"(?<!\w)#(\w+)")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-zà-ÿа-яёіїєґ])(?=[A-ZÀ-ÞА-ЯЁІЇЄҐ])")
_REPEATED_PUNCTUATION = re.compile(r"([!?.,;:])[!?.,;:]+")
_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w]+")

# Typography that varies between keyboards, word processors and platforms.
_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u02bc": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2033": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u2026": "...",
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
        "\u0640": "",
    }
)
# Arabic letters written interchangeably in informal text (ta marbuta, alef maqsura, hamza seats
# that survive decomposition).
_ARABIC_FOLD = str.maketrans({"ة": "ه", "ى": "ي", "ؤ": "و", "ئ": "ي", "ء": ""})
# Shouting: a text is lowered when this share of its letters is upper case.
_SHOUTING_SHARE = 0.5


def _is_symbol(character: str) -> bool:
    """Emoji, pictographs, flags and other symbols that carry no claim."""
    category = unicodedata.category(character)
    return category in {"So", "Sk", "Cs", "Co", "Cn"} or character in "\u200d\ufe0f\ufe0e\u20e3"


def _hashtag_words(match: re.Match[str]) -> str:
    return _CAMEL_BOUNDARY.sub(" ", match.group(1).replace("_", " "))


def _unshout(text: str) -> str:
    letters = [character for character in text if character.isalpha()]
    upper = sum(character.isupper() for character in letters)
    if letters and upper / len(letters) >= _SHOUTING_SHARE:
        return text.lower()
    return " ".join(word.lower() if len(word) > 4 and word.isupper() else word for word in text.split(" "))


def text_clean(text: str) -> str:
    """The claim's words without social-media noise, case kept unless the text shouts."""
    cleaned = unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY)
    cleaned = _URL.sub(" ", cleaned)
    cleaned = _MENTION.sub(" ", cleaned)
    cleaned = _HASHTAG.sub(_hashtag_words, cleaned)
    cleaned = "".join(" " if _is_symbol(character) else character for character in cleaned)
    cleaned = _REPEATED_PUNCTUATION.sub(r"\1", cleaned)
    cleaned = _SPACES.sub(" ", cleaned).strip()
    return _unshout(cleaned)


def text_fold(text: str) -> str:
    """Lower-case words without diacritics or punctuation, for comparisons that ignore them.

    Apostrophes separate words, so elisions fold to the word they elide ("L'Inde" to "l inde").
    """
    folded = unicodedata.normalize(
        "NFKD", unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY).casefold()
    )
    folded = "".join(character for character in folded if not unicodedata.combining(character))
    folded = folded.translate(_ARABIC_FOLD)
    return _SPACES.sub(" ", _NON_WORD.sub(" ", folded)).strip()
