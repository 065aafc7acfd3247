"""Typed records: small frozen dataclasses that flow between layers and to/from JSON.

A record subclasses :class:`Record` and is declared with ``@record`` (a frozen,
keyword-only dataclass).  Its field annotations are its schema:

* construction validates every field against its annotation (``int`` rejects ``bool``,
  ``float`` accepts an int and stores a float, ``X | None``, ``list[T]``,
  ``dict[str, T]``, nested records, ``Any``) and raises
  :class:`~chipemu.errors.FileFormatError` naming the dotted key;
* :meth:`Record.to_dict` gives the JSON form: fields in declaration order, nested records
  as dicts, then any keys the record does not know (``extra``);
* :meth:`Record.from_dict` is its inverse: ``R.from_dict(r.to_dict()) == r`` and
  ``R.from_dict(d).to_dict() == d`` for every valid ``d``.  Keys the record does not
  declare are kept in ``extra`` (a file written by a newer version reads and rewrites
  unchanged); a missing field without a default is an error naming the key.

A field whose default is ``None`` and whose value is ``None`` is left out of the JSON
form (an optional section); declare ``field(metadata={"keep_none": True})`` to write
``null`` instead.  Adding a field to a record is one line: its annotation (and a
default, if older files lack it).
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any, ClassVar, TypeVar, Union

from .errors import FileFormatError

R = TypeVar("R", bound="Record")

_MISSING = dataclasses.MISSING


def record(cls=None, /):
    """Decorator: make ``cls`` (a :class:`Record` subclass) a frozen keyword-only dataclass."""
    def wrap(c):
        return dataclasses.dataclass(frozen=True, kw_only=True)(c)
    return wrap if cls is None else wrap(cls)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Record:
    """Base of every typed record (see the module docstring)."""

    #: keys of the JSON form this record does not declare, kept for a lossless round trip
    extra: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=True)

    #: what an error message calls this record (e.g. "report file x.json")
    where: ClassVar[str] = ""

    def __post_init__(self) -> None:
        hints = _hints(type(self))
        for f in _fields(type(self)):
            value = getattr(self, f.name)
            checked = _check(value, hints[f.name], f"'{_key(self, f)}'")
            if checked is not value:
                object.__setattr__(self, f.name, checked)
        if not isinstance(self.extra, dict):
            raise FileFormatError(f"{type(self).__name__}: extra must be a dict")

    # ------------------------------------------------------------------ JSON form
    def to_dict(self) -> dict[str, Any]:
        """The JSON-able dict: declared fields in order (omitted optional sections left out),
        then ``extra``."""
        out: dict[str, Any] = {}
        for f in _fields(type(self)):
            value = getattr(self, f.name)
            if value is None and f.default is None and not f.metadata.get("keep_none"):
                continue
            out[_key(self, f)] = _plain(value)
        for k, v in self.extra.items():
            out.setdefault(k, v)
        return out

    @classmethod
    def from_dict(cls: type[R], d: Any, where: str = "") -> R:
        """Build and validate a record from its JSON form; errors name ``where`` and the key."""
        where = where or cls.where or cls.__name__
        try:
            return _from(cls, d, "")
        except FileFormatError as exc:
            raise FileFormatError(f"{where}: {exc}") from None

    @classmethod
    def field_names(cls) -> list[str]:
        """JSON keys of the declared fields, in order."""
        return [_key(cls, f) for f in _fields(cls)]

    @classmethod
    def field_record(cls, name: str) -> type[Record] | None:
        """The record class of field ``name`` (``R`` or ``R | None``), or None."""
        return _record_type(_hints(cls)[name])

    @classmethod
    def required_keys(cls, prefix: str = "") -> list[str]:
        """Dotted JSON keys every valid dict has: fields without a default, recursively
        into nested records, plus nested records that are marked ``required`` in metadata."""
        hints = _hints(cls)
        out = []
        for f in _fields(cls):
            has_default = f.default is not _MISSING or f.default_factory is not _MISSING
            if has_default and not f.metadata.get("required"):
                continue
            key = prefix + _key(cls, f)
            sub = _record_type(hints[f.name])
            if sub is not None:
                inner = sub.required_keys(key + ".")
                out.extend(inner or [key])
            else:
                out.append(key)
        return out


class ItemAccess:
    """Dict-style reading of a record's fields, ``r["name"]`` and ``r.get("name", default)``,
    for code written when the record was a plain dict."""

    def __getitem__(self, name: str):
        if name not in _field_names(type(self)):
            raise KeyError(name)
        return getattr(self, name)

    def get(self, name: str, default=None):
        return getattr(self, name) if name in _field_names(type(self)) else default


@functools.cache
def _field_names(cls) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls) if f.name != "extra")


# ---------------------------------------------------------------------- helpers
@functools.cache
def _hints(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@functools.cache
def _fields(cls) -> tuple[dataclasses.Field, ...]:
    return tuple(f for f in dataclasses.fields(cls) if f.name != "extra")


def _key(rec, f: dataclasses.Field) -> str:
    """The JSON key of field ``f`` (``metadata={"key": ...}`` when not a Python name)."""
    return f.metadata.get("key", f.name)


def _record_type(tp) -> type[Record] | None:
    """The record class inside ``tp`` (``R`` or ``R | None``), else None."""
    if isinstance(tp, type) and issubclass(tp, Record):
        return tp
    if _is_union(tp):
        for a in typing.get_args(tp):
            r = _record_type(a)
            if r is not None:
                return r
    return None


def _is_union(tp) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def _plain(value):
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value] if value and isinstance(value[0], (Record, list, dict)) else value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _from(cls: type[R], d: Any, prefix: str) -> R:
    if isinstance(d, cls):
        return d
    if not isinstance(d, dict):
        raise FileFormatError(f"key '{prefix.rstrip('.') or '(top level)'}' must be a JSON object, "
                              f"got {type(d).__name__}")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    known = set()
    for f in _fields(cls):
        key = _key(cls, f)
        known.add(key)
        if key not in d:
            if f.default is _MISSING and f.default_factory is _MISSING:
                raise FileFormatError(f"key '{prefix}{key}' is missing")
            continue
        kwargs[f.name] = _convert(d[key], hints[f.name], f"{prefix}{key}")
    extra = {k: v for k, v in d.items() if k not in known}
    try:
        return cls(extra=extra, **kwargs)
    except FileFormatError as exc:
        msg = str(exc)
        raise FileFormatError(msg.replace("key '", f"key '{prefix}", 1) if prefix else msg) from None


def _convert(value, tp, key: str):
    """``value`` from JSON turned into ``tp`` where ``tp`` holds records (others are checked
    by the record's construction)."""
    sub = _record_type(tp)
    if sub is not None and value is not None and not isinstance(value, sub):
        if not isinstance(value, dict):
            raise FileFormatError(f"key '{key}' must be a JSON object, got {type(value).__name__}")
        return _from(sub, value, key + ".")
    origin = typing.get_origin(tp)
    if _is_union(tp):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(value, args[0], key) if len(args) == 1 else value
    if origin is list and isinstance(value, list):
        (arg,) = typing.get_args(tp) or (Any,)
        if _record_type(arg) is not None:
            return [_convert(v, arg, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict and isinstance(value, dict):
        args = typing.get_args(tp)
        if args and _record_type(args[1]) is not None:
            return {k: _convert(v, args[1], f"{key}.{k}") for k, v in value.items()}
    return value


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


#: element types whose exact instances :func:`_check` returns unchanged (a bool is not an int here)
_EXACT = (int, float, str, bool)


def _check(value, tp, key: str):
    """``value`` checked against annotation ``tp`` (returned, possibly normalised: an int
    for a float field becomes a float); a mismatch raises naming ``key``."""
    if tp is Any:
        return value
    if _is_union(tp):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _check(value, a, key)
            except FileFormatError as exc:
                errors.append(exc)
        raise errors[0] if len(errors) == 1 else FileFormatError(
            f"key {key} = {_short(value)} must be {' or '.join(_type_name(a) for a in args)}")
    origin = typing.get_origin(tp)
    if origin is list:
        if not isinstance(value, list):
            if isinstance(value, tuple):
                value = list(value)
            else:
                raise FileFormatError(f"key {key} must be a list, got {type(value).__name__}")
        (arg,) = typing.get_args(tp) or (Any,)
        if arg is Any:
            return value
        if arg in _EXACT and all(type(v) is arg for v in value):  # the common case, in one pass
            return value
        out = [_check(v, arg, f"{key[:-1]}[{i}]'") for i, v in enumerate(value)]
        return value if all(a is b for a, b in zip(out, value)) else out
    if origin is dict:
        if not isinstance(value, dict):
            raise FileFormatError(f"key {key} must be an object, got {type(value).__name__}")
        args = typing.get_args(tp)
        if not args or args[1] is Any:
            return value
        out = {}
        changed = False
        for k, v in value.items():
            if not isinstance(k, str):
                raise FileFormatError(f"key {key} has a non-string key {k!r}")
            c = _check(v, args[1], f"{key[:-1]}.{k}'")
            changed |= c is not v
            out[k] = c
        return out if changed else value
    if isinstance(tp, type) and issubclass(tp, Record):
        if not isinstance(value, tp):
            raise FileFormatError(f"key {key} must be a {tp.__name__} record, got {type(value).__name__}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise FileFormatError(f"key {key} = {_short(value)} must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if hasattr(value, "dtype") and value.dtype.kind in "iu" and getattr(value, "ndim", 1) == 0:
                return int(value)
            raise FileFormatError(f"key {key} = {_short(value)} must be an integer")
        return value
    if tp is float:
        if isinstance(value, bool):
            raise FileFormatError(f"key {key} = {_short(value)} must be a number")
        if isinstance(value, float):
            return value
        if isinstance(value, int) or (hasattr(value, "dtype") and value.dtype.kind in "iuf"
                                      and getattr(value, "ndim", 1) == 0):
            return float(value)
        raise FileFormatError(f"key {key} = {_short(value)} must be a number")
    if tp is str:
        if not isinstance(value, str):
            raise FileFormatError(f"key {key} = {_short(value)} must be a string")
        return value
    raise TypeError(f"record field {key}: unsupported annotation {tp!r}")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


__all__ = ["Record", "record", "ItemAccess"]
