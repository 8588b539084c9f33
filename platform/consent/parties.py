"""Who a consent grant names: requesters and organisations found by their exact handle.

Owners type a requester's username or an organisation's name (the requester tells them); the
platform never lists its requesters or organisations. An unknown name and the name of one not
(or not yet) approved get the same answer, so a guesser learns nothing from the difference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from accounts.models import Organisation, User
from accounts.selectors import (
    organisation_find_approved,
    organisation_members,
    requester_find_approved,
)
from core.errors import ApplicationError

NO_SUCH_PARTY = "No approved requester or organisation by that name"
MAX_NAMES = 50


@dataclass(frozen=True)
class OrganisationReach:
    """An organisation a grant names, with the members it reaches today."""

    organisation: Organisation
    members: list[User]


def party_names_split(text: str, *, by_line: bool) -> list[str]:
    """Names typed in a text box: one per line (organisation names may hold commas and spaces),
    or also split on commas and spaces (usernames hold neither)."""
    parts = text.splitlines() if by_line else re.split(r"[\s,]+", text)
    names = []
    for part in (p.strip() for p in parts):
        if part and part.casefold() not in {n.casefold() for n in names}:
            names.append(part)
    return names


def grant_parties_resolve(
    *, requester_names: list[str], organisation_names: list[str], grant=None
) -> tuple[list[User], list[Organisation]]:
    """The approved requesters and organisations named, or one neutral error for the first name
    that is not one. Parties the grant being changed already names are kept as they are."""
    if len(requester_names) + len(organisation_names) > MAX_NAMES:
        raise ApplicationError(
            f"Name at most {MAX_NAMES} parties per grant.", code="too_many_parties"
        )
    named_people = {u.username.casefold(): u for u in grant.requesters.all()} if grant else {}
    named_groups = {o.name.casefold(): o for o in grant.organisations.all()} if grant else {}
    requesters = []
    for name in requester_names:
        person = named_people.get(name.casefold()) or requester_find_approved(username=name)
        if person is None:
            raise ApplicationError(f"{NO_SUCH_PARTY}: {name[:200]!r}.", code="unknown_party")
        requesters.append(person)
    organisations = []
    for name in organisation_names:
        group = named_groups.get(name.casefold()) or organisation_find_approved(name=name)
        if group is None:
            raise ApplicationError(f"{NO_SUCH_PARTY}: {name[:200]!r}.", code="unknown_party")
        organisations.append(group)
    return _unique(requesters), _unique(organisations)


def organisations_reach(organisations) -> list[OrganisationReach]:
    return [
        OrganisationReach(organisation=o, members=list(organisation_members(organisation=o)))
        for o in organisations
    ]


def _unique(rows: list) -> list:
    return list({row.pk: row for row in rows}.values())
