"""The Customer aggregate: who they are, how they reach us, and every contact.

Its stream alone tells a customer's whole story: registration, profile and
contact changes, the channel identities they write from, their dedicated
representative.  Each interaction is a CustomerContact record of its own
(domain.aggregates.contact), so that busy customers are not a write hotspot.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import ids
from domain.errors import CustomerWasErased, InvalidTransition, NotFound
from domain.personal import PersonalData, Rule, fields

# Profile keys held as attributes; any other key lives in `profile`.
CORE_FIELDS = ("name", "kind", "classification")


class Customer(Aggregate):
    # Whose data this is, and which fields are theirs (domain.personal).
    personal_data = PersonalData(
        owner=lambda customer: customer.code,
        events={
            "Registered": fields(plain="code kind classification provisional", personal="name"),
            "ProfileChanged": fields(changes=Rule(keep=frozenset({"kind", "classification"}))),
            "ContactAdded": fields(plain="contact_id", personal="details"),
            "ContactRemoved": fields(plain="contact_id"),
            "IdentityLinked": fields(plain="kind", personal="value"),
            "IdentityUnlinked": fields(plain="kind", personal="value"),
            "RepresentativeAssigned": fields(plain="user_email"),
            "PreferencesSet": fields(personal="preferences"),
            "ModulesGranted": fields(plain="modules"),
            "RequestLinked": fields(plain="reference"),
            "RequestUnlinked": fields(plain="reference"),
            "ContactRecorded": fields(
                plain="channel direction kind occurred_at reference", personal="summary"
            ),
            "MergedInto": fields(plain="target_code"),
            "Absorbed": fields(plain="references source_code"),
            "Erased": fields(plain="codes reason"),
        },
    )

    @staticmethod
    def create_id(code: str, **_: object) -> UUID:
        return ids.customer_id(code)

    @event("Registered")
    def __init__(
        self,
        code: str,
        name: str,
        kind: str,
        classification: str,
        actor: str,
        provisional: bool = False,
    ) -> None:
        self.code = code
        self.name = name
        self.kind = kind
        self.classification = classification
        self.provisional = provisional
        self.profile: dict[str, Any] = {}
        self.contacts: dict[str, dict[str, str]] = {}
        self.identities: list[str] = []  # "kind:value", in the order they were linked
        self.representative: str | None = None
        self.preferences: dict[str, Any] = {}
        self.portal_modules: list[str] = []  # granted to a partner (domain.access)
        self.requests: list[str] = []
        self.merged_into: str | None = None
        self.absorbed: list[str] = []  # codes merged into this customer
        self.erased = False
        self.contact_count = 0

    # --- profile -----------------------------------------------------------

    def change_profile(self, changes: dict[str, Any], actor: str) -> None:
        self.require_active()
        effective = {k: v for k, v in changes.items() if self._profile_value(k) != v}
        if effective:
            self._profile_changed(changes=effective, actor=actor)

    @event("ProfileChanged")
    def _profile_changed(self, changes: dict[str, Any], actor: str) -> None:
        for key, value in changes.items():
            if key in CORE_FIELDS:
                setattr(self, key, value)
            else:
                self.profile[key] = value
        if "classification" in changes and changes["classification"] != "provisional":
            self.provisional = False

    def _profile_value(self, key: str) -> Any:
        return getattr(self, key) if key in CORE_FIELDS else self.profile.get(key)

    def add_contact(self, contact_id: str, details: dict[str, str], actor: str) -> None:
        self.require_active()
        self._contact_added(contact_id=contact_id, details=details, actor=actor)

    @event("ContactAdded")
    def _contact_added(self, contact_id: str, details: dict[str, str], actor: str) -> None:
        self.contacts[contact_id] = dict(details)

    def remove_contact(self, contact_id: str, actor: str) -> None:
        if contact_id not in self.contacts:
            raise NotFound(f"customer {self.code} has no contact {contact_id}")
        self._contact_removed(contact_id=contact_id, actor=actor)

    @event("ContactRemoved")
    def _contact_removed(self, contact_id: str, actor: str) -> None:
        del self.contacts[contact_id]

    # --- channel identities -----------------------------------------------

    def has_identity(self, kind: str, value: str) -> bool:
        return self.stored_identity(kind, value) is not None

    def stored_identity(self, kind: str, value: str) -> str | None:
        """How this customer's stream spells `value`: identities linked before
        numbers were kept in E.164 (domain.phones) are stored as they were
        typed, and still match their E.164 spelling."""
        wanted = ids.normalise_identity(kind, value)
        for identity in self.identities:
            found_kind, _, found = identity.partition(":")
            if found_kind == kind and ids.normalise_identity(kind, found) == wanted:
                return found
        return None

    def link_identity(self, kind: str, value: str, actor: str) -> None:
        self.require_active()
        if not self.has_identity(kind, value):
            self._identity_linked(kind=kind, value=value, actor=actor)

    @event("IdentityLinked")
    def _identity_linked(self, kind: str, value: str, actor: str) -> None:
        self.identities.append(f"{kind}:{value}")

    def unlink_identity(self, kind: str, value: str, actor: str) -> None:
        stored = self.stored_identity(kind, value)
        if stored is None:
            raise NotFound(f"customer {self.code} has no {kind} identity {value}")
        self._identity_unlinked(kind=kind, value=stored, actor=actor)

    @event("IdentityUnlinked")
    def _identity_unlinked(self, kind: str, value: str, actor: str) -> None:
        self.identities.remove(f"{kind}:{value}")

    # --- service relationship ---------------------------------------------

    def assign_representative(self, user_email: str | None, actor: str) -> None:
        self.require_active()
        if user_email != self.representative:
            self._representative_assigned(user_email=user_email, actor=actor)

    @event("RepresentativeAssigned")
    def _representative_assigned(self, user_email: str | None, actor: str) -> None:
        self.representative = user_email

    def set_preferences(self, preferences: dict[str, Any], actor: str) -> None:
        self.require_active()
        self._preferences_set(preferences=preferences, actor=actor)

    @event("PreferencesSet")
    def _preferences_set(self, preferences: dict[str, Any], actor: str) -> None:
        self.preferences.update(preferences)

    def grant_modules(self, modules: list[str], actor: str) -> None:
        """The whole set of portal modules a partner organisation may use: a
        grant replaces the one before, so the history reads as a list of settings."""
        self.require_active()
        if sorted(modules) != sorted(getattr(self, "portal_modules", [])):
            self._modules_granted(modules=modules, actor=actor)

    @event("ModulesGranted")
    def _modules_granted(self, modules: list[str], actor: str) -> None:
        self.portal_modules = list(modules)

    @event("RequestLinked")
    def link_request(self, reference: str, actor: str) -> None:
        if reference not in self.requests:
            self.requests.append(reference)

    @event("RequestUnlinked")
    def unlink_request(self, reference: str, actor: str) -> None:
        if reference in self.requests:
            self.requests.remove(reference)

    @event("ContactRecorded")
    def record_contact(
        self,
        channel: str,
        direction: str,
        kind: str,
        reference: str | None,
        summary: str,
        occurred_at: datetime,
        actor: str,
    ) -> None:
        """One interaction with this customer.  Kept so that stores written before
        CustomerContact existed still load; new contacts are CustomerContact records
        (see domain.aggregates.contact for why)."""
        self.contact_count += 1

    # --- merging provisional customers ------------------------------------

    def merge_into(self, target_code: str, actor: str) -> None:
        self.require_active()
        if target_code == self.code:
            raise InvalidTransition("a customer cannot be merged into itself")
        self._merged_into(target_code=target_code, actor=actor)

    @event("MergedInto")
    def _merged_into(self, target_code: str, actor: str) -> None:
        self.merged_into = target_code
        self.identities = []
        self.requests = []

    @event("Absorbed")
    def absorb(self, source_code: str, references: list[str], actor: str) -> None:
        for reference in references:
            if reference not in self.requests:
                self.requests.append(reference)
        self.absorbed.append(source_code)

    # --- erasure -------------------------------------------------------------

    def erase(self, codes: list[str], reason: str, actor: str) -> None:
        """Record the erasure of this customer and of the codes merged into it.
        The keys of `codes` are destroyed next (domain.customers.erasure); the
        event itself holds no personal data, so it stays readable."""
        if self.merged_into is not None:
            raise InvalidTransition(
                f"customer {self.code} was merged into {self.merged_into}; erase that one"
            )
        if self.erased:
            raise InvalidTransition(f"customer {self.code} was erased already")
        self._erased(codes=codes, reason=reason, actor=actor)

    @event("Erased")
    def _erased(self, codes: list[str], reason: str, actor: str) -> None:
        self.erased = True

    def require_active(self) -> None:
        if getattr(self, "erased", False):
            raise CustomerWasErased(f"customer {self.code} was erased")
        if self.merged_into is not None:
            raise InvalidTransition(
                f"customer {self.code} was merged into {self.merged_into}; change that one"
            )
