"""Validation rules shared by the chip and system descriptions (TOML files).

A description is a set of frozen dataclasses (*sections*), one per TOML table; each
field carries a :class:`~chipemu.schema.Field` (its kind, allowed range and unit, made by
:func:`Rule`) and a one-line documentation.  :class:`Section` checks every field on
construction and builds itself from a TOML table with dotted key paths in its messages.
The checks themselves are :mod:`chipemu.schema`'s, the one validator of every input file,
so a chip file's errors read like a host, sweep or mapping file's.  Failures raise
:class:`Bad` (a message without location); the loaders add the file name and raise
:class:`~chipemu.errors.ChipSpecError`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import field, fields
from typing import Any, ClassVar

from chipemu.errors import ChipSpecError
from chipemu.schema import Field, Invalid, fmt_number, show, type_name

__all__ = ["Bad", "Rule", "Section", "rule_field", "show", "type_name", "fmt_number", "dict_digest",
           "INT_POS", "NONNEG", "check_table_keys", "optional_rule_field"]

#: a validation failure; ``str(self)`` is the message without location
Bad = Invalid


def Rule(kind: str, lo: float | None = None, hi: float | None = None, lo_open: bool = False,  # noqa: N802
         choices: tuple[str, ...] = (), nonempty: bool = False, cap: float | None = None) -> Field:
    """How one key is checked: a :class:`chipemu.schema.Field` of ``kind`` (``int``,
    ``float``, ``str``, ``choice``, ``int_list`` (strictly increasing) or ``float_list``);
    ``cap``: an upper bound that only keeps numbers sane (shown as "at most")."""
    return Field(kind, lo=lo, hi=hi, lo_open=lo_open, choices=tuple(choices), nonempty=nonempty,
                 increasing=kind == "int_list", cap=cap)


def rule_field(rule: Field, doc: str, default: Any = None) -> Any:
    """A dataclass field carrying its validation rule and its documentation (with unit).

    ``default``: an *optional* key (added after chip files existed) that may be left out
    of a TOML table; None: the key is required."""
    if default is None:
        return field(metadata={"rule": rule, "doc": doc})
    return field(default=default, metadata={"rule": rule, "doc": doc, "optional": True})


def optional_rule_field(rule: Field, doc: str) -> Any:
    """An optional field that is None unless the table gives it (and left out of the
    table when None): its absence means something else, e.g. "the same as another key"."""
    return field(default=None, metadata={"rule": rule, "doc": doc, "optional": True})


#: Upper bounds (project assumption, far beyond any real chip) that keep every count an
#: int32 and every energy, time and power total finite and drawable: counts <= 2**31 - 1,
#: joules / seconds per event and watts <= 1e6.
INT_POS = Rule("int", lo=1, cap=2**31 - 1)
NONNEG = Rule("float", lo=0, cap=1e6)


class Section:
    """Mixin: field-by-field validation in ``__post_init__`` plus table parsing."""

    _section: ClassVar[str]

    def __post_init__(self) -> None:
        try:
            values = {}
            for f in fields(self):  # type: ignore[arg-type]
                if f.metadata.get("optional") and getattr(self, f.name) is None:
                    values[f.name] = None
                    continue
                v = f.metadata["rule"].check(f"{self._section}.{f.name}", getattr(self, f.name))
                object.__setattr__(self, f.name, v)
                values[f.name] = v
            self._cross_check(self._section, values)
        except Bad as e:
            raise ChipSpecError(f"chip spec: {e}") from None

    @classmethod
    def _cross_check(cls, section: str, values: Mapping[str, Any]) -> None:
        """Checks that involve several keys; raise :class:`Bad`."""

    @classmethod
    def _keys(cls) -> list[str]:
        return [f.name for f in fields(cls)]  # type: ignore[arg-type]

    @classmethod
    def _from_table(cls, table: Any, section: str) -> Any:
        """Build from a TOML table, checking keys with dotted paths under ``section``."""
        if not isinstance(table, dict):
            raise Bad(f"key '{section}' = {show(table)} has the wrong type "
                      f"{type_name(table)} (allowed: a table [{section}])")
        allowed = cls._keys()
        for key in table:
            if key not in allowed:
                raise Bad(f"unknown key '{section}.{key}' (allowed: {', '.join(allowed)})")
        values = {}
        for f in fields(cls):  # type: ignore[arg-type]
            path = f"{section}.{f.name}"
            if f.name not in table and f.metadata.get("optional"):
                values[f.name] = f.default
                continue
            if f.name not in table:
                raise Bad(f"missing key '{path}' (required: {f.metadata['rule'].allowed()}; "
                          f"{f.metadata['doc']})")
            values[f.name] = f.metadata["rule"].check(path, table[f.name])
        cls._cross_check(section, values)
        return cls(**values)

    def _to_table(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if v is None and f.metadata.get("optional"):
                continue
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out


def dict_digest(d: Mapping[str, Any]) -> str:
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
