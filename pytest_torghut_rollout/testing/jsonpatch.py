"""RFC 6902 JSON Patch over RFC 6901 JSON Pointers, for the fixture builder.

Only what the corpus needs and exactly what the RFCs say: the six operations, ``~0``/``~1``
escaping, ``-`` as the index past an array's end, and a ``test`` that tells ``1`` from
``true`` and ``1`` from ``"1"``. Objects keep their members' order: ``add`` of a new member
puts it last, ``replace`` and ``add`` over an existing member keep its place, so a patched
file differs from its golden only where the patch says.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["PatchError", "apply_patch", "escape_token", "json_equal", "parse_pointer"]

OPERATIONS = frozenset({"add", "remove", "replace", "move", "copy", "test"})


class PatchError(ValueError):
    """An operation that cannot apply, naming its index, its pointer and why."""

    def __init__(self, index: int, op: str, pointer: str, reason: str) -> None:
        self.index = index
        self.op = op
        self.pointer = pointer
        self.reason = reason
        super().__init__(f"operation {index} ({op}) at {pointer!r}: {reason}")


class _PointerError(ValueError):
    """A pointer that is malformed or leads nowhere; the caller adds the operation."""


def escape_token(token: str) -> str:
    """One reference token as written in a pointer (``~`` as ``~0``, ``/`` as ``~1``)."""
    return token.replace("~", "~0").replace("/", "~1")


def parse_pointer(pointer: str) -> list[str]:
    """The reference tokens of an RFC 6901 pointer, unescaped (``~1`` then ``~0``)."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise _PointerError("a JSON Pointer is empty or starts with '/'")
    tokens = []
    for raw in pointer[1:].split("/"):
        rest = raw.replace("~0", "").replace("~1", "")
        if "~" in rest:
            raise _PointerError(f"'~' must be followed by 0 or 1 in token {raw!r}")
        tokens.append(raw.replace("~1", "/").replace("~0", "~"))
    return tokens


def _index(token: str, array: list[Any], *, past_end: bool) -> int:
    if token == "-" and past_end:
        return len(array)
    if not token.isascii() or not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise _PointerError(f"{token!r} is not an array index")
    index = int(token)
    limit = len(array) if past_end else len(array) - 1
    if index > limit:
        raise _PointerError(f"index {index} is past the end of an array of {len(array)}")
    return index


def _child(value: Any, token: str) -> Any:
    if isinstance(value, dict):
        if token not in value:
            raise _PointerError(f"no member {token!r}")
        return value[token]
    if isinstance(value, list):
        return value[_index(token, value, past_end=False)]
    raise _PointerError(f"cannot descend into a {_kind(value)} with {token!r}")


def _resolve(document: Any, tokens: Sequence[str]) -> Any:
    value = document
    for token in tokens:
        value = _child(value, token)
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def json_equal(left: Any, right: Any) -> bool:
    """Equality as RFC 6902's ``test`` defines it: same JSON type, then same value."""
    if _kind(left) != _kind(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right, strict=True))
    return bool(left == right)


def _add(document: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _resolve(document, tokens[:-1])
    if isinstance(parent, dict):
        parent[tokens[-1]] = value
    elif isinstance(parent, list):
        parent.insert(_index(tokens[-1], parent, past_end=True), value)
    else:
        raise _PointerError(f"the parent is a {_kind(parent)}, not an object or array")
    return document


def _remove(document: Any, tokens: list[str]) -> tuple[Any, Any]:
    if not tokens:
        raise _PointerError("the whole document cannot be removed")
    parent = _resolve(document, tokens[:-1])
    target = _child(parent, tokens[-1])
    if isinstance(parent, dict):
        del parent[tokens[-1]]
    else:
        del parent[_index(tokens[-1], parent, past_end=False)]
    return document, target


def _replace(document: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _resolve(document, tokens[:-1])
    _child(parent, tokens[-1])
    if isinstance(parent, dict):
        parent[tokens[-1]] = value
    else:
        parent[_index(tokens[-1], parent, past_end=False)] = value
    return document


def _member(operation: Mapping[str, Any], name: str, index: int, op: str) -> Any:
    if name not in operation:
        raise PatchError(index, op, str(operation.get("path", "")), f"the operation has no {name!r} member")
    return operation[name]


def _pointer(operation: Mapping[str, Any], name: str, index: int, op: str) -> tuple[str, list[str]]:
    pointer = _member(operation, name, index, op)
    if not isinstance(pointer, str):
        raise PatchError(index, op, repr(pointer), f"{name!r} is not a string")
    try:
        return pointer, parse_pointer(pointer)
    except _PointerError as error:
        raise PatchError(index, op, pointer, str(error)) from None


def _apply_one(document: Any, operation: Mapping[str, Any], index: int) -> Any:
    if not isinstance(operation, Mapping):
        raise PatchError(index, "?", "", "an operation is a JSON object")
    op = operation.get("op")
    if not isinstance(op, str) or op not in OPERATIONS:
        expected = f"unknown op; expected one of {sorted(OPERATIONS)}"
        raise PatchError(index, str(op), str(operation.get("path", "")), expected)
    path, tokens = _pointer(operation, "path", index, op)
    at = path
    try:
        if op == "add":
            return _add(document, tokens, copy.deepcopy(_member(operation, "value", index, op)))
        if op == "remove":
            return _remove(document, tokens)[0]
        if op == "replace":
            return _replace(document, tokens, copy.deepcopy(_member(operation, "value", index, op)))
        if op == "test":
            expected = _member(operation, "value", index, op)
            found = _resolve(document, tokens)
            if not json_equal(found, expected):
                raise _PointerError(f"test failed: expected {expected!r}, found {found!r}")
            return document
        source, from_tokens = _pointer(operation, "from", index, op)
        at = source
        if op == "move":
            if tokens[: len(from_tokens)] == from_tokens and len(tokens) > len(from_tokens):
                raise _PointerError(f"cannot move a value into its own child {path!r}")
            document, value = _remove(document, from_tokens)
        else:
            value = copy.deepcopy(_resolve(document, from_tokens))
        at = path
        return _add(document, tokens, value)
    except _PointerError as error:
        raise PatchError(index, op, at, str(error)) from None


def apply_patch(document: Any, patch: Sequence[Mapping[str, Any]]) -> Any:
    """``document`` after every operation of ``patch`` in order; the input is not changed.

    Raises :class:`PatchError` naming the first operation that cannot apply: a ``test`` that
    fails, or a pointer to a member or index that is not there.
    """
    if not isinstance(patch, Sequence) or isinstance(patch, str | bytes):
        raise PatchError(0, "?", "", "a patch is a JSON array of operations")
    result = copy.deepcopy(document)
    for index, operation in enumerate(patch):
        result = _apply_one(result, operation, index)
    return result
