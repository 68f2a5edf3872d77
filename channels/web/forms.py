"""Reading a posted form's text fields: the one check every page's forms make
before building a command (the command checks what the text may contain)."""

from __future__ import annotations

from starlette.datastructures import FormData

from channels.web.labels import N_
from domain.errors import invalid


def form_text(form: FormData, name: str, limit: int = 2000, required: bool = False, *,
              strip: bool = True) -> str:
    """The field's text (stripped unless `strip` is off), at most `limit`
    characters; a file where text belongs, or a missing required field, is
    refused naming the field."""
    value = form.get(name, "")
    if not isinstance(value, str):
        raise invalid(name, f"{name} must be text")
    if strip:
        value = value.strip()
    if required and not value:
        raise invalid(name, N_("This field is required."))
    if len(value) > limit:
        raise invalid(name, f"{name} is longer than {limit} characters")
    return value
