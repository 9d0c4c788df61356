"""Validate artifacts against the contract's JSON Schemas (Draft 2020-12).

The schemas are generated from the pydantic models in ``contract``. ``date-time``
is checked by this package's own RFC 3339 grammar (``timestamps``), never by whatever
jsonschema finds installed: its default checker accepts a trailing newline and
refuses leap seconds, and passes everything when ``rfc3339-validator`` is missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from itertools import islice
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, relevance

from .contract import manifest_schema, note_schema
from .model import SchemaIssue, pointer, show
from .timestamps import is_rfc3339


class FormatCheckerError(RuntimeError):
    """jsonschema cannot check RFC 3339 date-times in this environment."""


@cache
def date_time_checker() -> FormatChecker:
    """Return a format checker whose ``date-time`` is RFC 3339, proven on known cases."""
    checker = FormatChecker(formats=())
    checker.checks("date-time")(is_rfc3339)
    wrong = ("2026-02-30T10:00:00Z", "2026-02-28T10:00:00", "2026-02-28T10:00:00Z\n")
    if any(checker.conforms(value, "date-time") for value in wrong) or not checker.conforms(
        "2026-02-28T23:59:60Z", "date-time"
    ):
        raise FormatCheckerError("the date-time format check does not follow RFC 3339 here")
    return checker


@cache
def _manifest_validator() -> Draft202012Validator:
    return Draft202012Validator(manifest_schema(), format_checker=date_time_checker())


@cache
def _note_validator() -> Draft202012Validator:
    return Draft202012Validator(note_schema(), format_checker=date_time_checker())


def manifest_issues(data: Any) -> tuple[SchemaIssue, ...]:
    """Return every structural error of a manifest document."""
    return tuple(_issues(_manifest_validator().iter_errors(data)))


def note_issues(data: Any) -> tuple[SchemaIssue, ...]:
    """Return every structural error of a scheduler note's fields."""
    return tuple(_issues(_note_validator().iter_errors(data)))


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
