"""The web pages' message catalogues: compiled from their sources, complete for
the domain's words, and the Chinese one fully translated."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from channels.web.labels import LABELS
from domain.aggregates.installed_product import PRODUCT_STATUSES
from domain.vocabulary import (
    CHANNELS,
    CUSTOMER_CLASSIFICATIONS,
    CUSTOMER_KINDS,
    PRIORITIES,
    REQUEST_TYPES,
    ROLES,
    STATUSES,
)

LOCALES = Path(__file__).resolve().parents[2] / "channels" / "web" / "locale"


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_the_compiled_catalogue_is_the_source_compiled(locale: str) -> None:
    folder = LOCALES / locale / "LC_MESSAGES"
    source = read_po(io.BytesIO((folder / "messages.po").read_bytes()), locale=locale)
    compiled = read_mo(io.BytesIO((folder / "messages.mo").read_bytes()))
    wanted = {m.id: m.string for m in source if m.id and m.string and not m.fuzzy}
    found = {m.id: m.string for m in compiled if m.id}
    assert found == wanted, "run `make i18n` after editing a .po file"


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_every_message_the_pages_use_is_translated(locale: str) -> None:
    template = read_po(io.BytesIO((LOCALES / "messages.pot").read_bytes()))
    source = read_po(io.BytesIO((LOCALES / locale / "LC_MESSAGES" / "messages.po").read_bytes()))
    translated = {m.id for m in source if m.id and m.string and not m.fuzzy}
    missing = sorted(m.id for m in template if m.id and m.id not in translated)
    assert not missing, f"untranslated in {locale}: {missing[:10]}"


def test_every_word_of_the_vocabulary_has_a_label() -> None:
    words = {f"status:{w}" for w in STATUSES} | {f"priority:{w}" for w in PRIORITIES}
    words |= {f"channel:{w}" for w in CHANNELS} | {f"type:{w}" for w in REQUEST_TYPES}
    words |= {f"class:{w}" for w in CUSTOMER_CLASSIFICATIONS}
    words |= {f"customer_kind:{w}" for w in CUSTOMER_KINDS}
    words |= {f"product_status:{w}" for w in PRODUCT_STATUSES} | set(ROLES)
    assert words <= set(LABELS)
