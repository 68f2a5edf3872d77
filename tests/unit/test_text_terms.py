"""The search tokeniser: Chinese bigrams, English words, full-width folding."""

from __future__ import annotations

from collections import Counter

from projections.text_terms import STOP_WORDS, term_list, terms


def test_chinese_runs_become_overlapping_bigrams() -> None:
    assert terms("打印机卡纸") == Counter({"打印": 1, "印机": 1, "机卡": 1, "卡纸": 1})


def test_a_lone_chinese_character_is_kept() -> None:
    assert terms("纸，墨") == Counter({"纸": 1, "墨": 1})


def test_punctuation_and_spaces_split_chinese_runs() -> None:
    # 机 and 卡 are in different runs, so no 机卡 bigram is made across the comma.
    assert "机卡" not in terms("打印机，卡纸")
    assert {"打印", "印机", "卡纸"} <= terms("打印机 卡纸").keys()


def test_mixed_chinese_and_english() -> None:
    found = terms("HP LaserJet 1020打印机卡纸 paper jam")
    assert {"hp", "laserjet", "1020", "打印", "卡纸", "paper", "jam"} <= found.keys()
    assert "1020打" not in found  # a Latin run stops where the Chinese starts


def test_full_width_letters_digits_and_spaces_are_folded() -> None:
    assert terms("ＨＰ　ＬａｓｅｒＪｅｔ　１０２０") == terms("hp laserjet 1020")
    assert terms("ｐａｐｅｒ　ｊａｍ！") == Counter({"paper": 1, "jam": 1})


def test_english_is_lowercased_and_counted() -> None:
    assert terms("Jam jam JAM") == Counter({"jam": 3})


def test_stop_words_are_dropped_but_negations_kept() -> None:
    found = terms("The paper is not feeding to the tray")
    assert found.keys() == {"paper", "not", "feeding", "tray"}
    assert "the" in STOP_WORDS and "not" not in STOP_WORDS


def test_empty_and_punctuation_only_text_has_no_terms() -> None:
    assert terms("") == Counter()
    assert terms("  ，。!?__ ") == Counter()


def test_term_list_is_distinct_and_stable() -> None:
    assert term_list("jam 卡纸 jam") == ["jam", "卡纸"]
