"""Validate artifacts against the contract's JSON Schemas (Draft 2020-12).

The schemas are generated from the pydantic models in ``contract``. ``date-time``
is checked by this package's own RFC 3339 grammar (``timestamps``), never by whatever
jsonschema finds installed: its default checker accepts a trailing newline and
refuses leap seconds, and passes everything when ``rfc3339-validator`` is missing.

A compiled validator (jsonschema-rs, given the same ``date-time`` function) decides
first; only a document it rejects goes through the pure-Python jsonschema, whose errors
are what the rules report. It decides only documents made of JSON's own types (``dict``,
``list``, ``str``, ``int``, ``float``, ``bool``, ``None``, nothing deeper than
``MAX_DEPTH``): it would take a ``Decimal`` for an integer or a tuple for an array,
which the reference path refuses. A differential test holds the two verdicts equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from itertools import islice
from typing import Any, Literal

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, relevance

from ..contract.models import manifest_schema, note_schema
from ..contract.timestamps import is_rfc3339
from .model import SchemaIssue, pointer, show

SchemaKind = Literal["manifest", "note"]
#: Deeper documents never reach the compiled validator (discovery refuses them anyway).
MAX_DEPTH = 100
_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})
#: Date-times the grammar refuses (an impossible date, no offset, a trailing newline) and
#: one it allows (a leap second): each validator is proven on them before it is used.
_WRONG_DATE_TIMES = ("2026-02-30T10:00:00Z", "2026-02-28T10:00:00", "2026-02-28T10:00:00Z\n")
_LEAP_SECOND = "2026-02-28T23:59:60Z"

_REFERENCE_ONLY: ContextVar[bool] = ContextVar("torghut_reference_only", default=False)


class FormatCheckerError(RuntimeError):
    """jsonschema cannot check RFC 3339 date-times in this environment."""


@contextmanager
def reference_only() -> Iterator[None]:
    """Within the block, validate (and parse front matter) with the pure-Python reference paths only."""
    token = _REFERENCE_ONLY.set(True)
    try:
        yield
    finally:
        _REFERENCE_ONLY.reset(token)


def fast_paths_enabled() -> bool:
    """False inside ``reference_only()``: the differential test's reference run."""
    return not _REFERENCE_ONLY.get()


@cache
def date_time_checker() -> FormatChecker:
    """Return a format checker whose ``date-time`` is RFC 3339, proven on known cases."""
    checker = FormatChecker(formats=())
    checker.checks("date-time")(is_rfc3339)
    if any(checker.conforms(value, "date-time") for value in _WRONG_DATE_TIMES) or not checker.conforms(
        _LEAP_SECOND, "date-time"
    ):
        raise FormatCheckerError("the date-time format check does not follow RFC 3339 here")
    return checker


def ensure_date_time_checks() -> None:
    """Raise FormatCheckerError unless both validators check ``date-time`` as RFC 3339."""
    date_time_checker()
    _compiled("manifest")


@cache
def _compiled(kind: SchemaKind) -> jsonschema_rs.Draft202012Validator:
    validator = jsonschema_rs.Draft202012Validator(
        manifest_schema() if kind == "manifest" else note_schema(),
        formats={"date-time": is_rfc3339},
        validate_formats=True,
    )
    probe = jsonschema_rs.Draft202012Validator(
        {"format": "date-time"}, formats={"date-time": is_rfc3339}, validate_formats=True
    )
    if any(probe.is_valid(value) for value in _WRONG_DATE_TIMES) or not probe.is_valid(_LEAP_SECOND):
        raise FormatCheckerError("the compiled validator's date-time check does not follow RFC 3339 here")
    return validator


@cache
def _reference(kind: SchemaKind) -> Draft202012Validator:
    schema = manifest_schema() if kind == "manifest" else note_schema()
    return Draft202012Validator(schema, format_checker=date_time_checker())


def manifest_issues(data: Any, *, parsed: bool = False) -> tuple[SchemaIssue, ...]:
    """Return every structural error of a manifest document.

    ``parsed``: ``data`` is what the strict parsers made of a file, at most ``MAX_DEPTH`` deep
    (JSON's own types only), so the compiled validator may take it without a walk to see.
    """
    return _validate("manifest", data, parsed=parsed)


def note_issues(data: Any, *, parsed: bool = False) -> tuple[SchemaIssue, ...]:
    """Return every structural error of a scheduler note's fields (``parsed``: see ``manifest_issues``)."""
    return _validate("note", data, parsed=parsed)


def compiled_verdict(kind: SchemaKind, data: Any, *, parsed: bool = False) -> bool | None:
    """The compiled validator's verdict alone: True valid, False invalid, None when it does not decide."""
    if not parsed and not _json_data(data):
        return None
    try:
        return _compiled(kind).is_valid(data)
    except ValueError:
        # A value it cannot convert: the reference path decides.
        return None


def _validate(kind: SchemaKind, data: Any, *, parsed: bool = False) -> tuple[SchemaIssue, ...]:
    if fast_paths_enabled() and compiled_verdict(kind, data, parsed=parsed):
        return ()
    return tuple(_issues(_reference(kind).iter_errors(data)))


def _json_data(data: Any) -> bool:
    """True when ``data`` is made of JSON's own types only, at most ``MAX_DEPTH`` levels deep."""
    level = [data]
    for _ in range(MAX_DEPTH):
        below: list[Any] = []
        for value in level:
            kind = type(value)
            if kind is dict:
                below.extend(value.values())
            elif kind is list:
                below.extend(value)
            elif kind not in _JSON_SCALARS:
                return False
        if not below:
            return True
        level = below
    return False


#: Structural errors listed per artifact; a document with more (200,000 refs that are
#: numbers) is judged on these, in bounded time and memory, and says there were more.
MAX_ISSUES = 1000


def _issues(errors: Iterable[ValidationError]) -> Iterable[SchemaIssue]:
    seen: set[tuple[str, str]] = set()
    first = list(islice(errors, MAX_ISSUES + 1))
    for error in sorted(first[:MAX_ISSUES], key=lambda e: (list(map(str, e.absolute_path)), e.validator)):
        for issue in _explain(_specific(error)):
            key = (issue.pointer, issue.keyword)
            if key not in seen:
                seen.add(key)
                yield issue
    if len(first) > MAX_ISSUES:
        yield SchemaIssue(
            pointer="",
            keyword="maxIssues",
            message=f"more than {MAX_ISSUES} structural errors; only the first {MAX_ISSUES} are listed",
            expected=f"at most {MAX_ISSUES} structural errors to list",
            found=f"more than {MAX_ISSUES}",
        )


def _specific(error: ValidationError) -> ValidationError:
    """For anyOf over ``X | null``, report the branch that says what was expected."""
    if error.validator == "anyOf" and error.context:
        non_null = [e for e in error.context if not (isinstance(e.schema, dict) and e.schema.get("type") == "null")]
        if non_null and error.absolute_path:
            return min(non_null, key=relevance)
    return error


def _explain(error: ValidationError) -> Iterable[SchemaIssue]:
    where = pointer(*error.absolute_path)
    keyword = str(error.validator)
    value: Any = error.validator_value
    instance = error.instance
    if keyword == "required":
        for name in value:
            if isinstance(instance, dict) and name not in instance:
                yield SchemaIssue(
                    pointer=f"{where}{pointer(name)}",
                    keyword="required",
                    message=f"required key {name!r} is missing",
                    expected=f"key {name!r} present",
                    found="missing",
                )
        return
    if keyword == "anyOf" and where == "":
        yield SchemaIssue(
            pointer="/status",
            keyword="required",
            message="the outcome is missing (neither 'status' nor 'outcome')",
            expected="key 'status' (or 'outcome') present",
            found="missing",
        )
        return
    expected = {
        "type": f"a value of type {_types(value)}",
        "enum": "one of " + ", ".join(map(show, value)) if isinstance(value, list) else "",
        "const": show(value),
        "format": "an RFC 3339 date-time with an offset (Z or +HH:MM)",
        "minLength": "a non-empty string",
        "minimum": f"a number >= {value}",
        "anyOf": "one of the allowed forms",
    }.get(keyword, f"{keyword} {show(value)}")
    yield SchemaIssue(
        pointer=where,
        keyword=keyword,
        message=_message(keyword, where, instance, expected),
        expected=expected,
        found=show(instance),
    )


def _types(value: Any) -> str:
    return " or ".join(map(str, value)) if isinstance(value, list) else str(value)


def _message(keyword: str, where: str, instance: Any, expected: str) -> str:
    name = where.rsplit("/", 1)[-1] or "document"
    if keyword == "format":
        return f"{name} {show(instance, 40)} is not an RFC 3339 date-time with an offset"
    if keyword == "type":
        return f"{name} has the wrong type (expected {expected.removeprefix('a value of ')})"
    return f"{name} is {show(instance, 40)}, expected {expected}"
