"""Validation rules shared by the chip and system descriptions (TOML files).

A description is a set of frozen dataclasses (*sections*), one per TOML table; each
field carries a :class:`Rule` (its kind and allowed range) and a one-line documentation
with its unit.  :class:`Section` checks every field on construction and builds itself
from a TOML table with dotted key paths in its messages.  Failures inside the rules raise
:class:`Bad` (a message without location); the loaders add the file name and raise
:class:`~chipemu.errors.ChipSpecError`.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Mapping

from chipemu.errors import ChipSpecError

__all__ = ["Bad", "Rule", "Section", "rule_field", "show", "type_name", "fmt_number", "dict_digest",
           "INT_POS", "NONNEG", "check_table_keys"]


# --------------------------------------------------------------------------------------
# Value rules


class _Bad(Exception):
    """Internal: a validation failure; ``str(self)`` is the message without location."""


@dataclass(frozen=True)
class _Rule:
    """How one key is checked: its kind and its allowed range."""

    kind: str  # "int", "float", "str", "choice", "int_list", "float_list"
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False  # True: value must be > lo rather than >= lo
    choices: tuple[str, ...] = ()
    nonempty: bool = False  # for "str"
    cap: float | None = None  # an upper bound that only keeps numbers sane (shown as "at most")

    def allowed(self) -> str:
        if self.kind == "str":
            return "a non-empty string" if self.nonempty else "a string"
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        base = {"int": "int", "float": "finite number", "int_list": "list of int",
                "float_list": "list of finite numbers"}[self.kind]
        if self.lo is not None and self.hi is not None:
            rng = f"{_fmt(self.lo)}..{_fmt(self.hi)}"
        elif self.lo is not None:
            rng = (">" if self.lo_open else ">=") + f" {_fmt(self.lo)}"
        else:
            rng = ""
        if self.cap is not None:
            rng += f", at most {_fmt(self.cap)}"
        if self.kind.endswith("_list"):
            text = f"non-empty {base}"
            if rng:
                text += f", each {rng}"
            if self.kind == "int_list":
                text += ", strictly increasing"
            return text
        return f"{base} {rng}".strip()

    def check(self, path: str, value: Any) -> Any:
        """Return ``value`` normalised (ints as int, floats as float, lists as tuples)."""
        if self.kind == "str":
            if not isinstance(value, str):
                raise self._wrong_type(path, value)
            if self.nonempty and not value.strip():
                raise _Bad(f"key '{path}' = {value!r} is empty (allowed: {self.allowed()})")
            return value
        if self.kind == "choice":
            if not isinstance(value, str):
                raise self._wrong_type(path, value)
            if value not in self.choices:
                raise _Bad(f"key '{path}' = {value!r} is not allowed (allowed: {self.allowed()})")
            return value
        if self.kind in ("int", "float"):
            return self._scalar(path, value, self.kind)
        # lists
        if not isinstance(value, (list, tuple)):
            raise self._wrong_type(path, value)
        if len(value) == 0:
            raise _Bad(f"key '{path}' = [] is empty (allowed: {self.allowed()})")
        elem = "int" if self.kind == "int_list" else "float"
        out = []
        for i, v in enumerate(value):
            try:
                out.append(self._scalar(path, v, elem))
            except _Bad:
                raise _Bad(
                    f"key '{path}' = {_show(value)} has a bad entry [{i}] = {_show(v)} "
                    f"(allowed: {self.allowed()})"
                ) from None
        if self.kind == "int_list":
            for i in range(1, len(out)):
                if out[i] <= out[i - 1]:
                    raise _Bad(
                        f"key '{path}' = {_show(value)} is not strictly increasing "
                        f"(allowed: {self.allowed()})"
                    )
        return tuple(out)

    def _scalar(self, path: str, value: Any, kind: str) -> Any:
        if isinstance(value, bool):
            raise self._wrong_type(path, value)
        if kind == "int":
            if not isinstance(value, int):
                raise self._wrong_type(path, value)
            v: Any = value
        else:
            if not isinstance(value, (int, float)):
                raise self._wrong_type(path, value)
            if isinstance(value, int) and value > self._upper():  # before float(): no overflow
                raise _Bad(f"key '{path}' = {_show(value)} is too large (allowed: {self.allowed()})")
            v = float(value)
            if not math.isfinite(v):
                raise _Bad(f"key '{path}' = {_show(value)} is out of range (allowed: {self.allowed()})")
        if self.lo is not None and (v < self.lo or (self.lo_open and v == self.lo)):
            raise _Bad(f"key '{path}' = {_show(value)} is out of range (allowed: {self.allowed()})")
        if self.hi is not None and v > self.hi:
            raise _Bad(f"key '{path}' = {_show(value)} is out of range (allowed: {self.allowed()})")
        if v > self._upper():
            raise _Bad(f"key '{path}' = {_show(value)} is too large (allowed: {self.allowed()})")
        return v

    def _upper(self) -> float:
        return min(x for x in (self.hi, self.cap, math.inf) if x is not None)

    def _wrong_type(self, path: str, value: Any) -> _Bad:
        return _Bad(
            f"key '{path}' = {_show(value)} has the wrong type {_type_name(value)} "
            f"(allowed: {self.allowed()})"
        )


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, dict) else "{...}"
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(value: Any) -> str:
    return {bool: "bool", int: "int", float: "float", str: "string", list: "list",
            tuple: "list", dict: "table"}.get(type(value), type(value).__name__)


def _f(rule: _Rule, doc: str, default: Any = None) -> Any:
    """A dataclass field carrying its validation rule and its documentation (with unit).

    ``default``: an *optional* key (added after chip files existed) that may be left out
    of a TOML table; None: the key is required."""
    if default is None:
        return field(metadata={"rule": rule, "doc": doc})
    return field(default=default, metadata={"rule": rule, "doc": doc, "optional": True})


#: Upper bounds (project assumption, far beyond any real chip) that keep every count an
#: int32 and every energy, time and power total finite and drawable: counts <= 2**31 - 1,
#: joules / seconds per event and watts <= 1e6.
_INT_POS = _Rule("int", lo=1, cap=2**31 - 1)
_NONNEG = _Rule("float", lo=0, cap=1e6)


class _Section:
    """Mixin: field-by-field validation in ``__post_init__`` plus table parsing."""

    _section: ClassVar[str]

    def __post_init__(self) -> None:
        try:
            values = {}
            for f in fields(self):  # type: ignore[arg-type]
                v = f.metadata["rule"].check(f"{self._section}.{f.name}", getattr(self, f.name))
                object.__setattr__(self, f.name, v)
                values[f.name] = v
            self._cross_check(self._section, values)
        except _Bad as e:
            raise ChipSpecError(f"chip spec: {e}") from None

    @classmethod
    def _cross_check(cls, section: str, values: Mapping[str, Any]) -> None:
        """Checks that involve several keys; raise :class:`_Bad`."""

    @classmethod
    def _keys(cls) -> list[str]:
        return [f.name for f in fields(cls)]  # type: ignore[arg-type]

    @classmethod
    def _from_table(cls, table: Any, section: str) -> Any:
        """Build from a TOML table, checking keys with dotted paths under ``section``."""
        if not isinstance(table, dict):
            raise _Bad(f"key '{section}' = {_show(table)} has the wrong type "
                       f"{_type_name(table)} (allowed: a table [{section}])")
        allowed = cls._keys()
        for key in table:
            if key not in allowed:
                raise _Bad(f"unknown key '{section}.{key}' (allowed: {', '.join(allowed)})")
        values = {}
        for f in fields(cls):  # type: ignore[arg-type]
            path = f"{section}.{f.name}"
            if f.name not in table and f.metadata.get("optional"):
                values[f.name] = f.default
                continue
            if f.name not in table:
                raise _Bad(f"missing key '{path}' (required: {f.metadata['rule'].allowed()}; "
                           f"{f.metadata['doc']})")
            values[f.name] = f.metadata["rule"].check(path, table[f.name])
        cls._cross_check(section, values)
        return cls(**values)

    def _to_table(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out



def _dict_digest(d: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the canonical JSON of a description dict."""
    text = json.dumps(d, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_table_keys(d: Any, top_keys: list[str], what: dict[str, str]) -> None:
    """Check a top-level table: a mapping, no unknown key, every key of ``top_keys``
    present (``what[key]`` says what is required).  Raises :class:`Bad`."""
    if not isinstance(d, Mapping):
        raise Bad(f"top level is {type_name(d)} (allowed: a table of keys {', '.join(top_keys)})")
    for key in d:
        if key not in top_keys:
            raise Bad(f"unknown key '{key}' (allowed: {', '.join(top_keys)})")
    for key in top_keys:
        if key not in d:
            raise Bad(f"missing key '{key}' (required: {what.get(key, f'a table [{key}]')})")


# public names
Bad = _Bad
Rule = _Rule
Section = _Section
rule_field = _f
show = _show
type_name = _type_name
fmt_number = _fmt
dict_digest = _dict_digest
INT_POS = _INT_POS
NONNEG = _NONNEG
