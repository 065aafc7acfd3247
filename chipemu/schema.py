"""One validator for every TOML and JSON input: typed fields, nested tables, one error style.

A reader describes its file as a :class:`Table` of :class:`Field` s (type, range, choices,
unit, documentation, default) and calls :func:`validate`; the result is a plain dict of
normalised values (ints as ``int``, numbers as ``float``, lists as tuples, nested tables as
dicts) with every default filled in.  The chip, host, sweep and mapping readers all use
it, so every input error reads the same way -- one line naming the file, the dotted key,
the bad value and what is allowed::

    chip file my.toml: key 'mesh.columns' = 0 is out of range (allowed: int >= 1)
    host file h.toml: unknown key 'cpu.turbo' (allowed: clock_hz, ipc, ...)
    sweep file s.toml: missing key 'name' (required: a non-empty string; sweep name)

Checks that involve several keys (a barrier table's two lists of equal length, cache
levels that grow) stay with the reader; they raise :class:`Invalid` with the same phrasing
so that :func:`validate` wraps them the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .errors import ChipemuError

__all__ = ["Field", "Table", "Invalid", "REQUIRED", "validate", "parse_toml", "show", "type_name", "fmt_number",
           "integer", "number", "string", "boolean", "choice", "int_list", "float_list", "table", "anything"]


class Invalid(Exception):
    """A validation failure; ``str(self)`` is the message without the file (see :func:`validate`)."""


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: marks a field without a default: the key must be present
REQUIRED: Any = _Required()

_KINDS = ("int", "float", "str", "bool", "choice", "int_list", "float_list", "table", "any")


#: largest integer any key accepts: a 64-bit signed integer (what numpy casts to)
_INT_MAX = 2**63 - 1


def show(value: Any) -> str:
    """A short rendering of a value for an error message (tables as ``{...}``, <= 60 chars;
    a huge integer with its digit count)."""
    from .bounded import show as short
    return "{...}" if isinstance(value, dict) else short(value, 60)


def type_name(value: Any) -> str:
    """The TOML/JSON name of a value's type (``int``, ``float``, ``string``, ``table``, ...)."""
    if value is None:
        return "null"
    return {bool: "bool", int: "int", float: "float", str: "string", list: "list",
            tuple: "list", dict: "table"}.get(type(value), type(value).__name__)


def fmt_number(x: float) -> str:
    """``3`` for whole numbers, ``repr`` otherwise (for ranges in messages)."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e16 else repr(x)


@dataclass(frozen=True)
class Field:
    """One key: its kind, its allowed values, its unit and meaning, and its default.

    ``kind``: ``int``, ``float`` (any finite number, returned as float), ``str``, ``bool``,
    ``choice`` (one of ``choices``), ``int_list`` / ``float_list`` (non-empty lists whose
    entries obey the range; ``increasing`` asks for strictly increasing entries),
    ``table`` (a nested :class:`Table` in ``schema``) or ``any`` (checked by the reader).
    ``lo``/``hi``: inclusive bounds (``lo_open``: ``> lo``); ``cap``: an upper bound that
    only keeps numbers sane (shown as "at most").  ``nullable``: JSON ``null``
    is allowed and kept as None.  ``default``: the value used when the key is absent
    (:data:`REQUIRED`: the key must be present).
    """

    kind: str
    doc: str = ""
    unit: str = ""
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    choices: tuple = ()
    nonempty: bool = False
    increasing: bool = False
    nullable: bool = False
    cap: float | None = None
    default: Any = REQUIRED
    schema: "Table | None" = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"Field kind {self.kind!r} (allowed: {', '.join(_KINDS)})")
        if (self.kind == "table") != (self.schema is not None):
            raise ValueError("a table field needs a schema, and only a table field has one")

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def allowed(self) -> str:
        """What the key accepts, in words (``int >= 1``, ``one of 'a', 'b'``, ...)."""
        text = self._allowed()
        return f"{text}, or null" if self.nullable else text

    def _allowed(self) -> str:
        if self.kind == "str":
            return "a non-empty string" if self.nonempty else "a string"
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "table":
            return "a table"
        if self.kind == "any":
            return self.doc or "a value"
        base = {"int": "int", "float": "finite number", "int_list": "list of int",
                "float_list": "list of finite numbers"}[self.kind]
        if self.lo is not None and self.hi is not None:
            rng = f"{fmt_number(self.lo)}..{fmt_number(self.hi)}"
        elif self.lo is not None:
            rng = (">" if self.lo_open else ">=") + f" {fmt_number(self.lo)}"
        elif self.hi is not None:
            rng = f"<= {fmt_number(self.hi)}"
        else:
            rng = ""
        if self.cap is not None:
            rng += f", at most {fmt_number(self.cap)}"
        if self.kind.endswith("_list"):
            text = f"non-empty {base}" + (f", each {rng}" if rng else "")
            return text + (", strictly increasing" if self.increasing else "")
        return f"{base} {rng}".strip()

    def check(self, path: str, value: Any) -> Any:
        """``value`` normalised, or :class:`Invalid` naming ``path``."""
        if value is None and self.nullable:
            return None
        kind = self.kind
        if kind == "any":
            return value
        if kind == "table":
            return self.schema.check(value, path)
        if kind == "bool":
            if not isinstance(value, bool):
                raise self._wrong_type(path, value)
            return value
        if kind == "str":
            if not isinstance(value, str):
                raise self._wrong_type(path, value)
            if self.nonempty and not value.strip():
                raise Invalid(f"key '{path}' = {value!r} is empty (allowed: {self.allowed()})")
            return value
        if kind == "choice":
            if not isinstance(value, str):
                raise self._wrong_type(path, value)
            if value not in self.choices:
                raise Invalid(f"key '{path}' = {value!r} is not allowed (allowed: {self.allowed()})")
            return value
        if kind in ("int", "float"):
            return self._scalar(path, value, kind)
        return self._list(path, value)

    def _list(self, path: str, value: Any) -> tuple:
        if not isinstance(value, (list, tuple)):
            raise self._wrong_type(path, value)
        if len(value) == 0:
            raise Invalid(f"key '{path}' = [] is empty (allowed: {self.allowed()})")
        elem = "int" if self.kind == "int_list" else "float"
        out = []
        for i, v in enumerate(value):
            try:
                out.append(self._scalar(path, v, elem))
            except Invalid:
                raise Invalid(f"key '{path}' = {show(value)} has a bad entry [{i}] = {show(v)} "
                              f"(allowed: {self.allowed()})") from None
        if self.increasing and any(b <= a for a, b in zip(out, out[1:])):
            raise Invalid(f"key '{path}' = {show(value)} is not strictly increasing (allowed: {self.allowed()})")
        return tuple(out)

    def _scalar(self, path: str, value: Any, kind: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind == "int" and not isinstance(value, int)):
            raise self._wrong_type(path, value)
        upper = self._upper()
        hi = upper if upper is not None else (_INT_MAX if kind == "int" else None)
        if isinstance(value, int) and hi is not None and value > hi:  # compared exactly, before any cast
            raise Invalid(f"key '{path}' = {show(value)} is too large (allowed: {self.allowed()})")
        if kind == "int" and value < -_INT_MAX:
            raise Invalid(f"key '{path}' = {show(value)} is out of range (allowed: {self.allowed()})")
        try:
            v: Any = value if kind == "int" else float(value)
        except OverflowError:  # an integer beyond any float
            raise Invalid(f"key '{path}' = {show(value)} is too large (allowed: {self.allowed()})") from None
        if kind == "float" and not math.isfinite(v):
            raise Invalid(f"key '{path}' = {show(value)} is out of range (allowed: {self.allowed()})")
        if upper is not None and v > upper:
            raise Invalid(f"key '{path}' = {show(value)} is too large (allowed: {self.allowed()})")
        if self.lo is not None and (v < self.lo or (self.lo_open and v == self.lo)):
            raise Invalid(f"key '{path}' = {show(value)} is out of range (allowed: {self.allowed()})")
        return v

    def _upper(self) -> float | None:
        """The largest value allowed: ``hi`` or ``cap``, whichever is smaller (None: no bound)."""
        bounds = [x for x in (self.hi, self.cap) if x is not None]
        return min(bounds) if bounds else None

    def _wrong_type(self, path: str, value: Any) -> Invalid:
        return Invalid(f"key '{path}' = {show(value)} has the wrong type {type_name(value)} "
                       f"(allowed: {self.allowed()})")


@dataclass(frozen=True)
class Table:
    """A table of named fields.  Keys not listed are rejected unless ``open`` is true
    (then they are kept as they are, unchecked).  ``doc`` names the table in messages."""

    fields: Mapping[str, Field]
    doc: str = ""
    open: bool = False
    extra: Callable[[dict, str], None] | None = field(default=None, compare=False)

    def keys(self) -> list[str]:
        return list(self.fields)

    def check(self, value: Any, path: str = "") -> dict:
        """The validated, normalised dict of ``value`` (a mapping) at dotted ``path``."""
        prefix = f"{path}." if path else ""
        if not isinstance(value, Mapping):
            if not path:
                raise Invalid(f"top level is {type_name(value)} (allowed: a table of keys {', '.join(self.fields)})")
            raise Invalid(f"key '{path}' = {show(value)} has the wrong type {type_name(value)} "
                          f"(allowed: a table [{path}])")
        if not self.open:
            for key in value:
                if key not in self.fields:
                    raise Invalid(f"unknown key '{prefix}{key}' (allowed: {', '.join(self.fields) or 'none'})")
        out: dict[str, Any] = {k: v for k, v in value.items() if k not in self.fields}
        for key, f in self.fields.items():
            sub = f"{prefix}{key}"
            if key not in value:
                if f.required:
                    what = f"a table [{sub}]" if f.kind == "table" else f.allowed()
                    raise Invalid(f"missing key '{sub}' (required: {what}" + (f"; {f.doc}" if f.doc else "") + ")")
                out[key] = f.schema.check({}, sub) if f.kind == "table" and f.default == {} else f.default
                continue
            out[key] = f.check(sub, value[key])
        if self.extra is not None:
            self.extra(out, path)
        return out

    def paths(self, prefix: str = "") -> list[str]:
        """Every dotted leaf path of the table (nested tables expanded)."""
        out = []
        for key, f in self.fields.items():
            p = f"{prefix}{key}"
            out += f.schema.paths(p + ".") if f.kind == "table" else [p]
        return out


def parse_toml(data: bytes | str, where: str, error: type[ChipemuError] = ChipemuError) -> dict:
    """The TOML document in ``data`` (bytes must be UTF-8); a bad file raises ``error``
    (``"{where}: not UTF-8 text ..."``, ``"{where}: malformed TOML: ..."`` or
    ``"{where}: nested deeper than 64 levels"``, one line).  Read a user's file with
    :func:`chipemu.bounded.read_bytes` first (regular file, size cap)."""
    from . import bounded

    if isinstance(data, bytes):
        data = bounded.decode_utf8(data, where, error)
    return bounded.parse_toml(data, where, error)


def validate(schema: Table, data: Any, where: str, error: type[ChipemuError] = ChipemuError) -> dict:
    """``schema.check(data)``; a failure raises ``error(f"{where}: {message}")`` (one line)."""
    try:
        return schema.check(data)
    except Invalid as exc:
        raise error(f"{where}: {exc}") from None


# ---- short constructors, so that a schema reads like a table of keys ---------------------

def integer(doc: str = "", *, lo: int | None = None, hi: int | None = None, unit: str = "",
            default: Any = REQUIRED, nullable: bool = False) -> Field:
    return Field("int", doc, unit, lo=lo, hi=hi, default=default, nullable=nullable)


def number(doc: str = "", *, lo: float | None = None, hi: float | None = None, lo_open: bool = False,
           unit: str = "", default: Any = REQUIRED) -> Field:
    return Field("float", doc, unit, lo=lo, hi=hi, lo_open=lo_open, default=default)


def string(doc: str = "", *, nonempty: bool = False, default: Any = REQUIRED) -> Field:
    return Field("str", doc, nonempty=nonempty, default=default)


def boolean(doc: str = "", *, default: Any = REQUIRED) -> Field:
    return Field("bool", doc, default=default)


def choice(choices, doc: str = "", *, default: Any = REQUIRED) -> Field:
    return Field("choice", doc, choices=tuple(choices), default=default)


def int_list(doc: str = "", *, lo: int | None = None, hi: int | None = None, increasing: bool = False,
             unit: str = "", default: Any = REQUIRED) -> Field:
    return Field("int_list", doc, unit, lo=lo, hi=hi, increasing=increasing, default=default)


def float_list(doc: str = "", *, lo: float | None = None, hi: float | None = None, unit: str = "",
               default: Any = REQUIRED) -> Field:
    return Field("float_list", doc, unit, lo=lo, hi=hi, default=default)


def table(fields: Mapping[str, Field], doc: str = "", *, open: bool = False, default: Any = REQUIRED,
          nullable: bool = False, extra: Callable[[dict, str], None] | None = None) -> Field:
    return Field("table", doc, schema=Table(dict(fields), doc, open=open, extra=extra), default=default,
                 nullable=nullable)


def anything(doc: str = "", *, default: Any = REQUIRED) -> Field:
    return Field("any", doc, default=default)
