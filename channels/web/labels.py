"""The words of the domain as the pages show them: msgids for Babel.

Statuses, channels, kinds and the like are stored as plain words
(domain.vocabulary); a page shows `_("status:" ~ word)` in a template.  Listing each msgid
here lets `pybabel extract` find them, and the catalogues (English and
Chinese) give their wording; a test checks every word of the vocabulary is
here."""

from __future__ import annotations


def N_(message: str) -> str:
    return message  # marks a msgid for extraction; translated at render time


LABELS = (
    N_("status:new"),
    N_("status:open"),
    N_("status:pending_customer"),
    N_("status:escalated"),
    N_("status:resolved"),
    N_("status:closed"),
    N_("priority:low"),
    N_("priority:normal"),
    N_("priority:high"),
    N_("priority:urgent"),
    N_("channel:email"),
    N_("channel:web"),
    N_("channel:chat"),
    N_("channel:telegram"),
    N_("channel:fax"),
    N_("channel:phone"),
    N_("type:support"),
    N_("type:complaint"),
    N_("type:return"),
    N_("type:document"),
    N_("type:repair"),
    N_("type:paid_service"),
    N_("type:inquiry"),
    N_("kind:opened"),
    N_("kind:message"),
    N_("kind:fax"),
    N_("kind:fax_correction"),
    N_("kind:fax_verified"),
    N_("fax_field:reference"),
    N_("fax_field:customer_code"),
    N_("fax_field:phone"),
    N_("fax_field:serial"),
    N_("fax_field:sender_number"),
    N_("fax_reason:low_confidence"),
    N_("fax_reason:no_customer"),
    N_("fax_reason:reference_not_matched"),
    N_("kind:reply"),
    N_("kind:delivery"),
    N_("kind:delivery_failed"),
    N_("kind:note"),
    N_("kind:call"),
    N_("kind:assignment"),
    N_("kind:status"),
    N_("kind:priority"),
    N_("kind:satisfaction"),
    N_("kind:claim"),
    N_("kind:customer"),
    N_("delivery:queued"),
    N_("delivery:delivered"),
    N_("delivery:retrying"),
    N_("delivery:failed"),
    N_("class:standard"),
    N_("class:key_account"),
    N_("class:partner"),
    N_("class:dealer"),
    N_("class:repair_shop"),
    N_("class:provisional"),
    N_("customer_kind:company"),
    N_("customer_kind:person"),
    N_("product_status:in_service"),
    N_("product_status:faulty"),
    N_("product_status:under_repair"),
    N_("product_status:retired"),
    N_("customer"),
    N_("customer_admin"),
    N_("partner"),
    N_("agent"),
    N_("engineer"),
    N_("manager"),
    N_("admin"),
    N_("auditor"),
    # Fixed messages of the domain and of the web layer that pages show.
    N_("Please sign in again."),
    N_("this form has expired or did not come from this desk; reload the page and try again"),
    N_("this is for staff and auditors only"),
    N_("you may not do this"),
    N_("auditors cannot change anything"),
)
