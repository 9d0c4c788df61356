"""Strict parsing of artifact text: JSON as RFC 8259 defines it, and a safe subset of YAML.

What Python's ``json`` and PyYAML accept silently is refused with a reason that names
where: a key written twice in one object (the last would win unseen, so two readers may
disagree on a verdict), ``NaN`` and ``Infinity`` (not JSON), YAML anchors and aliases (a
few hundred bytes of aliases expand to gigabytes), values of types JSON does not have
(``!!binary``, ``!!set``), ``.nan`` and ``.inf``, and front matter larger than
``MAX_FRONT_MATTER``. No pytest here.

Front matter is read by libyaml where PyYAML has it, unless the text could hold what the strict
loader refuses while composing or what libyaml reads more leniently (``_COMPOSER_MARKS``);
that text, and anything libyaml rejects, is read by PyYAML's own parser, which words every
refusal. What libyaml composed is turned into data by a small constructor of JSON's own types
(``_plain_data``) when it recognises every node, and by PyYAML's constructor otherwise. All ways
give the same data (``tests/test_fast_paths.py`` proves it on fixtures, simulated notes and
generated text).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import yaml
from yaml.events import AliasEvent, NodeEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .model import pointer
from .schema import fast_paths_enabled

#: Front matter is a handful of keys; more than this is refused unparsed (PyYAML is slow).
MAX_FRONT_MATTER = 256 * 1024
#: Python refuses to convert longer integers; no artifact needs one.
MAX_INT_DIGITS = 4300


class ParseError(ValueError):
    """Text that is not the strict JSON or YAML the contract allows; the message says where."""


class _Refused:
    """Stands in, during parsing, for a value that must be refused once its place is known."""

    def __init__(self, what: str) -> None:
        self.what = what


class _Duplicated(dict[str, Any]):
    """A JSON object that repeated a key (the first repeated key is ``key``)."""

    key: str = ""


def loads_json(text: str) -> Any:
    """Parse RFC 8259 JSON: refuse repeated keys, NaN, Infinity and out-of-range numbers.

    Raises ``ParseError`` naming the JSON Pointer of the offending value, and lets
    ``json.JSONDecodeError`` and ``RecursionError`` through for the caller to word.
    """
    flagged: list[bool] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(items)
        if len(obj) == len(items):
            return obj
        dup, seen = _Duplicated(obj), set()
        for key, _ in items:
            if key in seen:
                dup.key = key
                break
            seen.add(key)
        flagged.append(True)
        return dup

    def constant(name: str) -> _Refused:
        flagged.append(True)
        return _Refused(f"{name} is not a JSON number (RFC 8259)")

    def number(text: str) -> float | _Refused:
        value = float(text)
        if math.isfinite(value):
            return value
        flagged.append(True)
        return _Refused(f"the number {text[:40]} is out of range")

    def integer(text: str) -> int | _Refused:
        if len(text) > MAX_INT_DIGITS:
            flagged.append(True)
            return _Refused(f"an integer of {len(text)} digits is too long (at most {MAX_INT_DIGITS})")
        return int(text)

    data = json.loads(text, object_pairs_hook=pairs, parse_constant=constant, parse_float=number, parse_int=integer)
    if flagged:
        _refuse_marked(data)
    return data


def _refuse_marked(data: Any) -> None:
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, _Refused):
            raise ParseError(f"{value.what}, at {where or '/'}")
        if isinstance(value, _Duplicated):
            raise ParseError(f"duplicate key {json.dumps(value.key)} at {where}{pointer(value.key)}")
        if isinstance(value, dict):
            stack.extend((v, where + pointer(k)) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((v, f"{where}/{i}") for i, v in reversed(list(enumerate(value))))


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML without anchors or aliases, keeping timestamps as written (rules check RFC 3339)."""

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, NodeEvent) and event.anchor is not None:
            # Aliases and anchors only: a few hundred bytes of them expand to gigabytes.
            what = f"alias *{event.anchor}" if isinstance(event, AliasEvent) else f"anchor &{event.anchor}"
            line = event.start_mark.line + 2 if event.start_mark is not None else "?"
            raise ParseError(f"YAML {what} at line {line}: anchors and aliases are refused")
        return super().compose_node(parent, index)


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


_STR, _NULL, _BOOL, _INT, _FLOAT = (f"tag:yaml.org,2002:{name}" for name in ("str", "null", "bool", "int", "float"))
_SEQ, _MAP = yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG
_DEFAULT_TAGS: dict[type[Node], str] = {ScalarNode: _STR, SequenceNode: _SEQ, MappingNode: _MAP}
#: The strict loader's implicit resolvers by a plain scalar's first character ("" for an empty
#: one), each list followed by the wildcard resolvers as PyYAML's ``resolve`` tries them.
_Resolvers = tuple[tuple[str, re.Pattern[str]], ...]
_WILDCARD: _Resolvers = tuple(_StrictLoader.yaml_implicit_resolvers.get(None, []))
_PLAIN_RESOLVERS: dict[str, _Resolvers] = {
    first: tuple(resolvers) + _WILDCARD
    for first, resolvers in _StrictLoader.yaml_implicit_resolvers.items()
    if first is not None
}


def _resolve(self: Any, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str | None:
    """PyYAML's ``BaseResolver.resolve`` for a loader without path resolvers, with the table
    looked up once: libyaml's composer calls it for every node (``value`` is a scalar's text)."""
    if kind is ScalarNode:
        if implicit[0]:
            for tag, regexp in _PLAIN_RESOLVERS.get(value[:1], _WILDCARD):
                if regexp.match(value):
                    return tag
        return _STR
    return _DEFAULT_TAGS.get(kind)


def _libyaml_loader() -> type[Any] | None:
    """libyaml's composer with the strict loader's resolvers (for text without ``_COMPOSER_MARKS``)."""
    base = getattr(yaml, "CSafeLoader", None)
    if base is None:
        return None
    namespace: dict[str, Any] = {"yaml_implicit_resolvers": _StrictLoader.yaml_implicit_resolvers}
    if not base.yaml_path_resolvers:  # else PyYAML's own resolve, which follows them
        namespace["resolve"] = _resolve
    return type("_FastStrictLoader", (base,), namespace)


_FastStrictLoader = _libyaml_loader()


#: Anchors (``&``), aliases (``*``) and tags (``!``) start with these: text with none of them
#: needs none of the refusals made while composing, so libyaml may compose it. The others mark
#: where libyaml accepts what PyYAML's scanner refuses (``key: 3<TAB>``, a block scalar header
#: ``>#``), or may: directives and reserved indicators.
_COMPOSER_MARKS = ("&", "*", "!", "\t", "|", ">", "%", "@", "`")


def load_front_matter(text: str) -> Any:
    """Parse YAML front matter strictly; line numbers count the opening ``---`` as line 1.

    Raises ``ParseError`` for what is refused, ``yaml.YAMLError`` for what is not YAML, and
    lets ``RecursionError`` through.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FRONT_MATTER:
        raise ParseError(f"front matter of {size} bytes is larger than {MAX_FRONT_MATTER}; not parsed")
    if _FastStrictLoader is not None and fast_paths_enabled() and not any(m in text for m in _COMPOSER_MARKS):
        try:
            return _load(_FastStrictLoader(text), plain=True)
        except (yaml.YAMLError, ParseError, RecursionError, UnicodeEncodeError):
            # PyYAML's own parser decides, and words the reason the same way every time (a
            # lone surrogate, which libyaml cannot even be given, is one of its refusals).
            pass
    return _load(_StrictLoader(text))


def _load(loader: Any, *, plain: bool = False) -> Any:
    """The document ``loader`` reads; ``plain``: try ``_plain_data`` on it first."""
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if plain:
            try:
                return _plain_data(node, loader, 0)
            except _Doubt:
                pass  # PyYAML's constructor and the refusal walks decide, as for any other text
        _refuse_repeated_keys(node)
        try:
            data = loader.construct_document(node)
        except (ValueError, IndexError, AttributeError, TypeError) as exc:
            # PyYAML's constructors raise these for an explicit tag with a value it cannot
            # take (`!!int abc`, `!!timestamp x`): a refused value, never a crash.
            raise ParseError(f"a tagged value cannot be read as its tag says ({type(exc).__name__}: {exc})") from exc
    finally:
        loader.dispose()
    _refuse_non_json(data)
    return data


class _Doubt(Exception):
    """A node ``_plain_data`` does not positively recognise: PyYAML's constructor decides."""


_BOOL_VALUES = yaml.constructor.SafeConstructor.bool_values
#: Deeper documents are left to PyYAML's constructor (and refused by discovery's depth bound).
_PLAIN_DEPTH = 64


def _plain_data(node: Node, loader: Any, depth: int) -> Any:
    """The data PyYAML's strict constructor makes of ``node``, for nodes of JSON's own types only.

    Tags are the strict loader's (``_resolve``); string-keyed mappings without a repeated key,
    sequences, strings, nulls, booleans, integers and finite floats are made here, the numbers
    by PyYAML's own constructors. Anything else (another tag, a merge key ``<<``, a key that is
    not a string or is repeated, a number Python refuses or that is not finite, deep nesting)
    raises ``_Doubt``, and the caller lets PyYAML construct and refuse it.
    """
    tag, kind = node.tag, type(node)
    if kind is ScalarNode:
        if tag == _STR:
            return node.value
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return _BOOL_VALUES[node.value.lower()]
        if tag in (_INT, _FLOAT):
            try:
                number = loader.construct_yaml_int(node) if tag == _INT else loader.construct_yaml_float(node)
            except ValueError as exc:  # an integer of more digits than Python converts
                raise _Doubt from exc
            if tag == _INT or math.isfinite(number):
                return number
        raise _Doubt
    if depth >= _PLAIN_DEPTH:
        raise _Doubt
    if kind is MappingNode and tag == _MAP:
        data: dict[str, Any] = {}
        for key, value in node.value:
            if type(key) is not ScalarNode or key.tag != _STR:
                raise _Doubt
            data[key.value] = _plain_data(value, loader, depth + 1)
        if len(data) != len(node.value):
            raise _Doubt  # a repeated key, which the refusal walk names
        return data
    if kind is SequenceNode and tag == _SEQ:
        return [_plain_data(child, loader, depth + 1) for child in node.value]
    raise _Doubt


def _refuse_repeated_keys(root: Node) -> None:
    """Refuse a key written twice in one mapping, naming where; the walk that finds the place
    builds JSON Pointers, so it runs only when a plain walk has seen a repeat."""
    if _repeats_a_key(root):
        _refuse_repeated_keys_at(root)


def _repeats_a_key(root: Node) -> bool:
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, MappingNode):
            keys = [(key.tag, key.value) for key, _ in node.value if isinstance(key, ScalarNode)]
            if len(set(keys)) != len(keys):
                return True
            stack.extend(value for _, value in node.value)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return False


def _refuse_repeated_keys_at(root: Node) -> None:
    stack: list[tuple[Node, str]] = [(root, "")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, MappingNode):
            seen: set[tuple[str, str]] = set()
            for key, value in node.value:
                name = key.value if isinstance(key, ScalarNode) else ""
                if isinstance(key, ScalarNode):
                    if (key.tag, name) in seen:
                        line = key.start_mark.line + 2
                        raise ParseError(f"duplicate key {json.dumps(name)} at {where}{pointer(name)} (line {line})")
                    seen.add((key.tag, name))
                stack.append((value, where + pointer(name)))
        elif isinstance(node, SequenceNode):
            stack.extend((child, f"{where}/{i}") for i, child in enumerate(node.value))


def _refuse_non_json(data: Any) -> None:
    """Refuse what JSON cannot hold, naming where (the naming walk runs only when needed)."""
    if not _is_json_data(data):
        _refuse_non_json_at(data)


def _is_json_data(data: Any) -> bool:
    stack: list[Any] = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if not all(isinstance(key, str) for key in value):
                return False
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, float):
            if not math.isfinite(value):
                return False
        elif value is not None and not isinstance(value, str | int | bool):
            return False
    return True


def _refuse_non_json_at(data: Any) -> None:
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            for key, child in value.items():
                if not isinstance(key, str):
                    raise ParseError(f"the key {key!r} at {where or '/'} is not a string")
                stack.append((child, where + pointer(key)))
        elif isinstance(value, list):
            stack.extend((child, f"{where}/{i}") for i, child in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            raise ParseError(f"{value} at {where or '/'} is not a JSON number")
        elif value is not None and not isinstance(value, str | int | float | bool):
            raise ParseError(f"a value of type {type(value).__name__} at {where or '/'} is not JSON data")
