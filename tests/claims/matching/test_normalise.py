"""Normalisation: what social media and keyboards add to a claim is not part of it."""

from claims.matching import text_clean, text_fold


def test_clean_removes_links_mentions_and_emoji_and_keeps_hashtag_words() -> None:
    noisy = (
        "🔥 15.000 hectáreas quemadas en Canarias!!! @user #IncendioTenerife https://t.co/aBc9 www.x.com/a"
    )

    assert text_clean(noisy) == "15.000 hectáreas quemadas en Canarias! Incendio Tenerife"


def test_clean_splits_snake_case_hashtags_in_any_script() -> None:
    assert text_clean("المرأة تقود #قيادة_المرأة") == "المرأة تقود قيادة المرأة"


def test_clean_lowers_a_shouting_text_but_keeps_acronyms_in_a_normal_one() -> None:
    assert text_clean("ANGOLA SAIU DA OPEP 2023") == "angola saiu da opep 2023"
    assert text_clean("The UN says IRANIAN drones violate it") == "The UN says iranian drones violate it"


def test_clean_unifies_typography() -> None:
    assert text_clean("Kirby said: “It’s deepening” — 2030…") == 'Kirby said: "It\'s deepening" - 2030.'


def test_fold_ignores_case_diacritics_and_punctuation() -> None:
    assert text_fold("El petróleo, ¿SUBIÓ?") == text_fold("el petroleo subio")
    assert text_fold("Österreich führt") == "osterreich fuhrt"


def test_fold_treats_ukrainian_and_russian_letters_and_their_latin_look_alikes_alike() -> None:
    assert text_fold("Україна скасувала перехід") == "украіна скасувала перехід"
    assert text_fold("Пожары уничтожили") == text_fold("пожары уничтожили")


def test_fold_unifies_arabic_hamza_seats_and_ta_marbuta() -> None:
    assert text_fold("الأردن يستورد 90 بالمئة من الطاقة") == text_fold("الاردن يستورد 90 بالمئه من الطاقه")


def test_fold_separates_elided_articles() -> None:
    assert text_fold("L'Inde a dépassé la Chine") == "l inde a depasse la chine"
