"""Who a logged-in person is, as the user id their conversations and memories are kept under.

The login provider vouches for an issuer and a subject; together they name one account for as
long as the account exists (an email or a display name can change, or be reused by someone else).
So the user id is derived from both: the subject itself where it is a short, readable id, followed
by a digest of issuer and subject, so two providers' "alice" stay two users.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from memory_agent.configuration import validate_user_id

_READABLE_SUBJECT = re.compile(r"^[A-Za-z0-9_@+\-]{1,40}$")
"""A subject that can stand in a user id as it is (what ``validate_user_id`` allows, and short)."""
DIGEST_LENGTH = 12


class LoginError(ValueError):
    """The login's claims do not say who the person is; the message says what is missing."""


@dataclass(frozen=True)
class Identity:
    """A logged-in person: their user id, what to call them, and their verified email if any."""

    user_id: str
    name: str
    email: str | None


def user_id_for(issuer: str, subject: str) -> str:
    """The user id for one provider account: ``<subject>-<digest>``, or ``user-<digest>``.

    The digest alone keeps ids apart; the subject in front is for people reading a table. A
    subject with characters a user id cannot hold (or a long opaque one) is left out.
    """
    digest = hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()
    if _READABLE_SUBJECT.fullmatch(subject):
        return validate_user_id(f"{subject}-{digest[:DIGEST_LENGTH]}")
    return validate_user_id(f"user-{digest[: DIGEST_LENGTH * 2]}")


def identity_from_claims(claims: Mapping[str, Any]) -> Identity:
    """The identity in a login's ID-token claims (``st.user``); raises ``LoginError``."""
    issuer, subject = claims.get("iss"), claims.get("sub")
    if not (isinstance(issuer, str) and issuer and isinstance(subject, str) and subject):
        raise LoginError("The login provider did not say who you are (no issuer or subject).")
    email = claims.get("email") if claims.get("email_verified") is True else None
    user_id = user_id_for(issuer, subject)
    name = next(
        (str(claims[k]) for k in ("name", "preferred_username", "email") if claims.get(k)),
        user_id,
    )
    return Identity(user_id=user_id, name=name, email=email)


def is_admin(identity: Identity, admins: Iterable[str]) -> bool:
    """Whether the operator's admin list names this person, by user id or verified email.

    An unverified email is never enough: with some providers anyone can type any address.
    """
    listed = {str(admin).strip() for admin in admins}
    if identity.user_id in listed:
        return True
    return identity.email is not None and identity.email.lower() in {a.lower() for a in listed}
