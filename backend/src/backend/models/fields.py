"""The users' fields: what each accepts, checked here and stated exactly in the OpenAPI schema.

Values are trimmed of surrounding white space first (the characters pydantic's
`str_strip_whitespace` removes: `WHITE_SPACE`), so each published pattern allows any amount
of it around the value; lengths are counted after trimming, which is why the lengths are in
the patterns and not in `maxLength`. Every pattern is also checked here, on the trimmed
value, so a value the document calls valid is stored and one it calls invalid is refused.
"""

from __future__ import annotations

import re
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, Field, WithJsonSchema

USERNAME_MIN, USERNAME_MAX = 3, 32
FULL_NAME_MAX = 100
EMAIL_MAX = 254
EMAIL_LOCAL_MAX = 64
SEARCH_MAX = 254
# Reserved names email-validator refuses after the last dot (RFC 6761, 6762, 7686).
SPECIAL_USE_DOMAINS = ("arpa", "invalid", "local", "localhost", "onion", "test")

WHITE_SPACE = r"\t\n\u000b\u000c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_W = f"[{WHITE_SPACE}]"
# Control characters (Unicode category Cc) are refused inside a name.
_CONTROL = r"\u0000-\u001f\u007f-\u009f"

USERNAME_PATTERN = rf"^[A-Za-z0-9._-]{{{USERNAME_MIN},{USERNAME_MAX}}}$"
# Starts and ends with a character that is neither white space nor a control character.
_NAME_EDGE = f"[^{WHITE_SPACE}{_CONTROL}]"
FULL_NAME_PATTERN = rf"^{_NAME_EDGE}(?:[^{_CONTROL}]{{0,{FULL_NAME_MAX - 2}}}{_NAME_EDGE})?$"
SEARCH_PATTERN = rf"^(?:[^{WHITE_SPACE}](?:[\s\S]{{0,{SEARCH_MAX - 2}}}[^{WHITE_SPACE}])?)?$"


def _any_case(word: str) -> str:
    # JSON Schema patterns have no flags: spell each letter in both cases.
    return "".join(f"[{char.lower()}{char.upper()}]" for char in word)


_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_LABEL = r"(?![A-Za-z0-9]{2}--)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP_LABEL = r"(?![A-Za-z0-9]{2}--)(?:[A-Za-z0-9][A-Za-z0-9-]{0,61})?[A-Za-z]"
_SPECIAL = "|".join(_any_case(name) for name in SPECIAL_USE_DOMAINS)
# An ASCII dot-atom address (RFC 5322) whose domain is a host name with at least one dot and
# a last label ending in a letter, none of the reserved ones: the addresses email-validator
# accepts, less quoted and internationalised ones.
EMAIL_PATTERN = (
    rf"^(?![!-~]{{{EMAIL_MAX + 1}}})(?![.{_ATEXT}]{{{EMAIL_LOCAL_MAX + 1}}})"
    rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*@(?:{_LABEL}\.)+(?!(?:{_SPECIAL}){_W}*$){_TOP_LABEL}$"
)


def trimmed(pattern: str) -> str:
    """The published form of a pattern: the same, with white space allowed around it."""
    return f"^{_W}*(?:{pattern.removeprefix('^').removesuffix('$')}){_W}*$"


def _matching(pattern: str, reason: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.search(value):
            raise ValueError(reason)
        return value

    return AfterValidator(check)


def _no_surrogates(value: str) -> str:
    # Possible in JSON as "\ud800"; they cannot be stored as utf8mb4 text.
    if any("\ud800" <= char <= "\udfff" for char in value):
        raise ValueError("contains lone surrogates")
    return value


def _normalised_email(value: str) -> str:
    try:
        # The domain in lower case, as email-validator writes it; DNS is not asked.
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ValueError(str(error)) from None


def _schema(pattern: str, description: str, example: str) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "type": "string",
            "pattern": trimmed(pattern),
            "description": description,
            "examples": [example],
        }
    )


_TRIM_NOTE = "White space around the value is removed before it is checked and stored."

Username = Annotated[
    str,
    Field(min_length=USERNAME_MIN, max_length=USERNAME_MAX, pattern=USERNAME_PATTERN),
    _schema(
        USERNAME_PATTERN,
        f"{USERNAME_MIN} to {USERNAME_MAX} letters, digits, '.', '_' and '-'. Unique whatever "
        f"its case: a name that differs only in case from another user's is refused (409). "
        f"{_TRIM_NOTE}",
        "ana",
    ),
]
FullName = Annotated[
    str,
    _matching(FULL_NAME_PATTERN, "must be 1 to 100 characters long, without control characters"),
    AfterValidator(_no_surrogates),
    _schema(
        FULL_NAME_PATTERN,
        f"1 to {FULL_NAME_MAX} characters, not blank, without control characters (Unicode "
        f"category Cc); lone surrogates are refused too. {_TRIM_NOTE}",
        "Ana Lima",
    ),
]
Email = Annotated[
    str,
    _matching(EMAIL_PATTERN, "use an address like name@example.com, in ASCII characters"),
    AfterValidator(_normalised_email),
    _schema(
        EMAIL_PATTERN,
        f"An email address of at most {EMAIL_MAX} characters, at most {EMAIL_LOCAL_MAX} before "
        "the '@': an ASCII dot-atom (no quoted or internationalised addresses) and a domain "
        "name with at least one dot, whose last label ends in a letter and is not a reserved "
        f"name ({', '.join(SPECIAL_USE_DOMAINS)}). The domain is stored in lower case. "
        f"{_TRIM_NOTE}",
        "ana@example.com",
    ),
]
Search = Annotated[
    str,
    _matching(SEARCH_PATTERN, f"must be at most {SEARCH_MAX} characters long"),
    _schema(
        SEARCH_PATTERN,
        f"Substring of username, full_name or email; at most {SEARCH_MAX} characters. {_TRIM_NOTE}",
        "lima",
    ),
]
