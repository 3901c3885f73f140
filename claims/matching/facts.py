"""What makes a claim this claim and not its neighbour: its numbers, named entities and polarity.

Two texts can be about the same topic and still assert different things ("…in 2030" / "…in 2035",
another country, "admits" / "denies"). The sentence encoder sees them as near-identical, so the
`same_claim` judgement compares these facts explicitly, in any of the supported languages.
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from rapidfuzz import fuzz

from claims.matching.gazetteer import ENTITY_FORMS
from claims.matching.normalise import text_clean, text_fold


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    numbers: frozenset[Decimal]
    entities: frozenset[str]
    negated: bool
    names: frozenset[str]
    words: frozenset[str]


_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹٫٬", "01234567890123456789.,")
_DATE = re.compile(r"(?<![\d.])(\d{1,2})[./](\d{1,2})[./](\d{4})(?![\d.])")
# Digits with optional thousands groups ("13.000", "13 000", "50,000") or a decimal part ("7,9").
_NUMBER = re.compile(r"(?<![\d.,])\d+(?:(?:[ .,'](?=\d{3}(?!\d))\d{3})+|[.,]\d+)?")
_WORD = re.compile(r"\w+")

# Scale words after a number, folded; the value is the factor. German "Billion" is 10^12 and
# Portuguese "mil milhões" multiplies out, so both spellings of one amount compare equal.
_SCALE_WORDS: dict[str, int] = {
    **dict.fromkeys(
        [
            "thousand",
            "mil",
            "mille",
            "tausend",
            "тысяч",
            "тысячи",
            "тысяча",
            "тыс",
            "тисяч",
            "тисячі",
            "тисяча",
            "тис",
            "الف",
            "الاف",
            "k",
        ],
        10**3,
    ),
    **dict.fromkeys(
        [
            "million",
            "millions",
            "millon",
            "millones",
            "millionen",
            "mio",
            "миллион",
            "миллиона",
            "миллионов",
            "млн",
            "мільйон",
            "мільйона",
            "мільйонів",
            "milhao",
            "milhoes",
            "مليون",
            "ملايين",
            "m",
            "mn",
        ],
        10**6,
    ),
    **dict.fromkeys(
        [
            "billion",
            "billions",
            "milliard",
            "milliards",
            "milliarde",
            "milliarden",
            "mrd",
            "миллиард",
            "миллиарда",
            "миллиардов",
            "млрд",
            "мільярд",
            "мільярда",
            "мільярдів",
            "bilhao",
            "bilhoes",
            "مليار",
            "مليارات",
            "bn",
        ],
        10**9,
    ),
    **dict.fromkeys(
        [
            "trillion",
            "trillions",
            "billionen",
            "триллион",
            "триллиона",
            "триллионов",
            "трлн",
            "трильйон",
            "трильйона",
            "трильйонів",
            "trilhao",
            "trilhoes",
            "تريليون",
        ],
        10**12,
    ),
}
_SCALES = {text_fold(word): factor for word, factor in _SCALE_WORDS.items()}
_SCALE_FACTORS = frozenset(Decimal(factor) for factor in _SCALE_WORDS.values())

# Words that negate or deny the assertion, per language. Whether a text contains any of them is its
# polarity: "ne … pas" counts once, and "refuses" / "denies" flip a claim as "not" does. English
# "n't" is spelled out before the comparison.
_NEGATION_WORDS: dict[str, str] = {
    "en": "not no never none nobody nothing neither nor cannot deny denies denied denying reject rejects "
    "rejected refuse refuses refused",
    "es": "no nunca jamás ni ningún ninguna ninguno nadie nada niega niegan negó negaron desmiente "
    "desmienten desmintió rechaza rechazan rechazó rechazaron",
    "fr": "ne n pas jamais aucun aucune ni nie nient dément démentent rejette rejettent rejeté refuse "
    "refusent",
    "de": "nicht kein keine keinen keinem keiner keines nie niemals weder bestreitet bestreiten bestritten "
    "dementiert leugnet verweigert verweigern verzichtet verzichten lehnt lehnen abgelehnt",
    "ru": "не нет ни никогда никто ничего отрицает отрицают отрицал отрицала опровергает опроверг отказался "
    "отказалась отказались отказывается отвергает отверг",
    "uk": "не ні ніколи ніхто нічого заперечує заперечують заперечив заперечила спростовує відмовився "
    "відмовилася відмовилися відмовляється відкидає",
    "pt": "não nunca jamais nem nenhum nenhuma ninguém nada nega negam negou desmente desmentiu recusa "
    "recusou recusaram rejeita rejeitou",
    "ar": "لا لم لن ليس ليست ينفي تنفي نفى نفت ينكر أنكر رفض رفضت يرفض ترفض رفضوا",
}
_NEGATIONS = {
    language: frozenset(text_fold(word) for word in words.split())
    for language, words in _NEGATION_WORDS.items()
}
_ENGLISH_CONTRACTED_NOT = re.compile(r"n't\b", re.IGNORECASE)
# Slavic adjectives negate with a prefix ("непридатна" / "придатна"); shorter stems are too ambiguous.
_NEGATING_PREFIX = "не"
_NEGATING_PREFIX_MIN_STEM = 5

# Languages whose capitalised words mark names; German capitalises every noun and Arabic has no case.
_NAME_CASE_LANGUAGES = frozenset({"en", "es", "fr", "pt", "ru", "uk"})
_ARABIC_PROCLITICS = re.compile(r"^(?:[وفبلك]{1,2})")


def _parse_number(raw: str) -> Decimal | None:
    digits = raw.replace(" ", "").replace("'", "")
    separators = [character for character in digits if character in ".,"]
    if separators:
        last = digits.rfind(separators[-1])
        grouped = len(separators) > 1 or len(digits) - last - 1 == 3
        digits = digits.replace(".", "").replace(",", "") if grouped else digits.replace(",", ".")
    try:
        return Decimal(digits)
    except InvalidOperation:
        return None


def numbers_extract(text: str) -> frozenset[Decimal]:
    """Every quantity, year and date part in the text, with scale words applied ("1,3 Billionen")."""
    prepared = text_clean(text).translate(_ARABIC_DIGITS)
    values: set[Decimal] = set()
    for match in _DATE.finditer(prepared):
        values.update(Decimal(int(part)) for part in match.groups())
    prepared = _DATE.sub(" ", prepared)
    for match in _NUMBER.finditer(prepared):
        value = _parse_number(match.group())
        if value is None:
            continue
        for word in text_fold(prepared[match.end() : match.end() + 40]).split()[:3]:
            scale = _SCALES.get(word)
            if scale is None:
                break
            value *= scale
        values.add(value.normalize())
    return frozenset(values)


def _forms_by_kind() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Gazetteer forms split into whole words, prefixes (folded) and acronyms (as written)."""
    words: dict[str, str] = {}
    prefixes: dict[str, str] = {}
    acronyms: dict[str, str] = {}
    for entity, forms in ENTITY_FORMS.items():
        for form in forms:
            if form.isupper():
                acronyms[form] = entity
            elif form.endswith("*"):
                prefixes[text_fold(form[:-1])] = entity
            else:
                words[text_fold(form)] = entity
    return words, prefixes, acronyms


_ENTITY_WORDS, _ENTITY_PREFIXES, _ENTITY_ACRONYMS = _forms_by_kind()
_LONGEST_FORM = max(len(form.split()) for form in [*_ENTITY_WORDS, *_ENTITY_PREFIXES])
_SHORTEST_PREFIX = min(len(prefix) for prefix in _ENTITY_PREFIXES)


def _token_variants(token: str) -> list[str]:
    """The token and, for Arabic, the token without its attached conjunction, preposition and article."""
    variants = [token]
    bare = _ARABIC_PROCLITICS.sub("", token)
    for candidate in (bare, token):
        if candidate.startswith("ال") and len(candidate) > 4:
            variants.append(candidate[2:])
    if bare != token and len(bare) > 2:
        variants.append(bare)
    return variants


def _entity_of(phrase: str) -> str | None:
    """The entity a phrase names; a prefix form must cover every word of the phrase but the last."""
    variants = _token_variants(phrase) if " " not in phrase else [phrase]
    shortest = max(phrase.rfind(" ") + 2, _SHORTEST_PREFIX)
    for variant in variants:
        if variant in _ENTITY_WORDS:
            return _ENTITY_WORDS[variant]
        for end in range(len(variant), shortest - 1, -1):
            entity = _ENTITY_PREFIXES.get(variant[:end])
            if entity is not None:
                return entity
    return None


def entities_extract(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """The gazetteer entities named in the text, and the folded words that named them."""
    cleaned = text_clean(text)
    acronyms = [word for word in _WORD.findall(cleaned) if word in _ENTITY_ACRONYMS]
    found = {_ENTITY_ACRONYMS[word] for word in acronyms}
    used = {text_fold(word) for word in acronyms}
    tokens = text_fold(cleaned).split()
    position = 0
    while position < len(tokens):
        for length in range(min(_LONGEST_FORM, len(tokens) - position), 0, -1):
            phrase = " ".join(tokens[position : position + length])
            entity = _entity_of(phrase)
            if entity is not None:
                found.add(entity)
                used.update(tokens[position : position + length])
                position += length
                break
        else:
            position += 1
    return frozenset(found), frozenset(used)


def negated_detect(text: str, *, language: str) -> bool:
    """Whether the text negates or denies what it states, by the negation words of its language."""
    negations = _NEGATIONS.get(language)
    if negations is None:
        return False
    return any(token in negations for token in text_fold(_ENGLISH_CONTRACTED_NOT.sub(" not", text)).split())


def _names(text: str, *, language: str, entity_words: frozenset[str]) -> frozenset[str]:
    """Capitalised words inside sentences: names the gazetteer does not know ("Gates", "Eiffel")."""
    if language not in _NAME_CASE_LANGUAGES:
        return frozenset()
    names: set[str] = set()
    for sentence in re.split(r"[.!?:;\"«»()]\s*", text_clean(text)):
        for word in _WORD.findall(sentence)[1:]:
            folded = text_fold(word)
            if len(word) > 1 and word[0].isupper() and word.isalpha() and folded not in entity_words:
                names.add(folded)
    return frozenset(names)


def claim_facts(text: str, *, language: str) -> ClaimFacts:
    """The facts of one text that `facts_conflict` compares."""
    entities, entity_words = entities_extract(text)
    return ClaimFacts(
        numbers=numbers_extract(text),
        entities=entities,
        negated=negated_detect(text, language=language),
        names=_names(text, language=language, entity_words=entity_words),
        words=frozenset(text_fold(text_clean(text)).split()),
    )


def _substituted(left: frozenset[str], right: frozenset[str]) -> bool:
    """Each side has something the other lacks: one value was swapped for another, not just left out."""
    return bool(left - right) and bool(right - left)


def _same_amount(left: Decimal, right: Decimal) -> bool:
    """Equal, or equal but for a scale word that one text dropped or misspelled ("6 мілйонів")."""
    if left == right:
        return True
    if left == 0 or right == 0:
        return False
    ratio = max(left, right) / min(left, right)
    return ratio in _SCALE_FACTORS


def _numbers_substituted(left: frozenset[Decimal], right: frozenset[Decimal]) -> bool:
    only_left = [value for value in left if not any(_same_amount(value, other) for other in right)]
    only_right = [value for value in right if not any(_same_amount(value, other) for other in left)]
    return bool(only_left) and bool(only_right)


def _names_substituted(left: frozenset[str], right: frozenset[str]) -> bool:
    """Names swapped, tolerating a typo ("Eifel") and an acronym of the other's names ("NYC")."""
    only_left = {name for name in left if not _name_in(name, right)}
    only_right = {name for name in right if not _name_in(name, left)}
    return bool(only_left) and bool(only_right)


# Two spellings of one name ("Eifel" / "Eiffel", "Leopard" / "Леопард") are this similar or more.
_NAME_TYPO_MIN_RATIO = 80
# Abbreviations ("Jan" / "January") share at least this many first letters.
_NAME_ABBREVIATION_MIN = 3
_CYRILLIC_TO_LATIN = str.maketrans(
    {
        "а": "a",
        "б": "b",
        "в": "v",
        "г": "g",
        "ґ": "g",
        "д": "d",
        "е": "e",
        "є": "e",
        "ж": "zh",
        "з": "z",
        "и": "i",
        "і": "i",
        "ї": "i",
        "й": "i",
        "к": "k",
        "л": "l",
        "м": "m",
        "н": "n",
        "о": "o",
        "п": "p",
        "р": "r",
        "с": "s",
        "т": "t",
        "у": "u",
        "ф": "f",
        "х": "kh",
        "ц": "ts",
        "ч": "ch",
        "ш": "sh",
        "щ": "shch",
        "ъ": "",
        "ы": "y",
        "ь": "",
        "э": "e",
        "ю": "iu",
        "я": "ia",
        "ё": "e",
    }
)


def _name_in(name: str, names: frozenset[str]) -> bool:
    latin = name.translate(_CYRILLIC_TO_LATIN)
    for other in names:
        other_latin = other.translate(_CYRILLIC_TO_LATIN)
        if fuzz.ratio(latin, other_latin) >= _NAME_TYPO_MIN_RATIO:
            return True
        shorter, longer = sorted((latin, other_latin), key=len)
        if len(shorter) >= _NAME_ABBREVIATION_MIN and longer.startswith(shorter):
            return True
    initials = "".join(other[0] for other in sorted(names))
    return len(name) > 1 and all(letter in initials for letter in name)


def _prefix_negated(left: frozenset[str], right: frozenset[str]) -> bool:
    """One text has "неX" where the other has "X" (Slavic negation by prefix)."""
    return any(
        word.startswith(_NEGATING_PREFIX)
        and len(word) - len(_NEGATING_PREFIX) >= _NEGATING_PREFIX_MIN_STEM
        and word[len(_NEGATING_PREFIX) :] in other
        for words, other in ((left, right), (right, left))
        for word in words
    )


# Two folded words are one word written twice when they are this similar (a typo, a dropped letter)
# or share a stem of this many letters covering this share of the shorter (an inflection: "iran" /
# "iranian", "fermée" / "fermé"): a stemmer for eight languages without one per language.
_WORD_TYPO_MIN_RATIO = 80
_WORD_STEM_MIN = 4
_WORD_STEM_MIN_SHARE = 0.6


def _words_pair(left: str, right: str) -> bool:
    if fuzz.ratio(left, right) >= _WORD_TYPO_MIN_RATIO:
        return True
    stem = 0
    for left_character, right_character in zip(left, right, strict=False):
        if left_character != right_character:
            break
        stem += 1
    return stem >= _WORD_STEM_MIN and stem >= _WORD_STEM_MIN_SHARE * min(len(left), len(right))


# Words this long or longer carry the content ("missiles", "Munition", "نهائي"); shorter ones are
# mostly articles, prepositions and auxiliaries, whatever the language.
CONTENT_WORD_MIN = 4


@dataclass(frozen=True, slots=True)
class UnpairedWords:
    """Shares of the query's and of the claim's words, and of their content words, that the other
    text does not write."""

    query: float
    claim: float
    query_content: float
    claim_content: float
    # The unpaired content words themselves, of the query and of the claim.
    query_content_words: frozenset[str] = frozenset()
    claim_content_words: frozenset[str] = frozenset()
    # The texts differ by one content word swapped for another and nothing else ("…hundreds of
    # tanks from Iran" / "…hundreds of drones from Iran"): a substitution, whatever the vectors say.
    swapped: bool = False


def is_content_word(word: str) -> bool:
    return len(word) >= CONTENT_WORD_MIN and not word.isdigit()


def _unpaired_share(words: frozenset[str], unpaired: set[str], *, content: bool) -> float:
    counted = [word for word in words if not content or is_content_word(word)]
    if not counted:
        return 0.0
    return sum(word in unpaired for word in counted) / len(counted)


def words_unpaired(query: frozenset[str], claim: frozenset[str]) -> UnpairedWords:
    """What of each text the other does not write, for two texts of one language.

    A swapped content word ("reopened" / "closed", "flowers" / "coffee") or a claim that covers only
    part of the query ("Switzerland supplies Ukraine" for "…supplies ammunition to Ukraine") leaves
    words unpaired that a typo, an inflection or a reordering does not.
    """
    if not query or not claim:
        return UnpairedWords(1.0, 1.0, 1.0, 1.0)
    only_query = query - claim
    only_claim = claim - query
    # Against every word of the other text: "iranian" pairs with the "iran" both texts write.
    unpaired_query = {word for word in only_query if not any(_words_pair(word, other) for other in claim)}
    unpaired_claim = {word for word in only_claim if not any(_words_pair(word, other) for other in query)}
    return UnpairedWords(
        query=_unpaired_share(query, unpaired_query, content=False),
        claim=_unpaired_share(claim, unpaired_claim, content=False),
        query_content=_unpaired_share(query, unpaired_query, content=True),
        claim_content=_unpaired_share(claim, unpaired_claim, content=True),
        query_content_words=frozenset(filter(is_content_word, unpaired_query)),
        claim_content_words=frozenset(filter(is_content_word, unpaired_claim)),
        swapped=_one_word_swapped(unpaired_query, unpaired_claim),
    )


def _one_word_swapped(unpaired_query: set[str], unpaired_claim: set[str]) -> bool:
    """One content word on each side and nothing else, and not one word inside the other
    ("станція" / "електростанція") or the same word in another script ("леопард" / "leopard")."""
    if len(unpaired_query) != 1 or len(unpaired_claim) != 1:
        return False
    [left], [right] = unpaired_query, unpaired_claim
    if not (is_content_word(left) and is_content_word(right)) or left in right or right in left:
        return False
    return not _name_in(left, frozenset([right]))


def facts_conflict(query: ClaimFacts, claim: ClaimFacts, *, same_language: bool) -> str | None:
    """Why the two texts cannot be the same claim, or None when nothing contradicts it."""
    if _numbers_substituted(query.numbers, claim.numbers):
        return "number"
    if _substituted(query.entities, claim.entities):
        return "entity"
    if query.negated != claim.negated or _prefix_negated(query.words, claim.words):
        return "negation"
    if same_language and _names_substituted(query.names, claim.names):
        return "name"
    return None
