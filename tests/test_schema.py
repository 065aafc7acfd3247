"""chipemu.schema: the one validator every TOML/JSON reader uses, and its one error style."""

import pytest

from chipemu.errors import ChipemuError, ChipSpecError
from chipemu.schema import (
    Table,
    boolean,
    choice,
    float_list,
    int_list,
    integer,
    number,
    parse_toml,
    string,
    table,
    validate,
)

SCHEMA = Table({
    "name": string("a label", nonempty=True),
    "n": integer("a count", lo=1, hi=10),
    "rate": number("a rate", lo=0, lo_open=True, default=1.0),
    "on": boolean(default=False),
    "mode": choice(("a", "b"), default="a"),
    "sub": table({"xs": int_list(lo=1, increasing=True, default=(1,)), "ys": float_list(lo=0, default=(0.0,))},
                 default={}),
})
SCHEMA_NESTED_REQUIRED = Table({"sub": table({"k": integer(lo=0)})})


def test_valid_input_is_normalised_and_defaults_filled():
    v = validate(SCHEMA, {"name": "x", "n": 3, "rate": 2}, "f")
    assert v == {"name": "x", "n": 3, "rate": 2.0, "on": False, "mode": "a", "sub": {"xs": (1,), "ys": (0.0,)}}
    assert isinstance(v["rate"], float)
    v = validate(SCHEMA, {"name": "x", "n": 3, "sub": {"xs": [1, 2], "ys": [0, 1]}}, "f")
    assert v["sub"] == {"xs": (1, 2), "ys": (0.0, 1.0)}


@pytest.mark.parametrize("data, message", [
    ({"name": "x", "n": 3, "bogus": 1}, "f: unknown key 'bogus' (allowed: name, n, rate, on, mode, sub)"),
    ({"n": 3}, "f: missing key 'name' (required: a non-empty string; a label)"),
    ({"name": " ", "n": 3}, "f: key 'name' = ' ' is empty (allowed: a non-empty string)"),
    ({"name": "x", "n": 0}, "f: key 'n' = 0 is out of range (allowed: int 1..10)"),
    ({"name": "x", "n": 2.5}, "f: key 'n' = 2.5 has the wrong type float (allowed: int 1..10)"),
    ({"name": "x", "n": True}, "f: key 'n' = True has the wrong type bool (allowed: int 1..10)"),
    ({"name": "x", "n": 1, "rate": 0}, "f: key 'rate' = 0 is out of range (allowed: finite number > 0)"),
    ({"name": "x", "n": 1, "rate": float("inf")}, "f: key 'rate' = inf is out of range (allowed: finite number > 0)"),
    ({"name": "x", "n": 1, "on": 1}, "f: key 'on' = 1 has the wrong type int (allowed: true or false)"),
    ({"name": "x", "n": 1, "mode": "c"}, "f: key 'mode' = 'c' is not allowed (allowed: one of 'a', 'b')"),
    ({"name": "x", "n": 1, "sub": 3}, "f: key 'sub' = 3 has the wrong type int (allowed: a table [sub])"),
    ({"name": "x", "n": 1, "sub": {"zz": 1}}, "f: unknown key 'sub.zz' (allowed: xs, ys)"),
    ({"name": "x", "n": 1, "sub": {"xs": [2, 1], "ys": [0]}},
     "f: key 'sub.xs' = [2, 1] is not strictly increasing (allowed: non-empty list of int, each >= 1, strictly increasing)"),
    ({"name": "x", "n": 1, "sub": {"xs": [1], "ys": [0, -1]}},
     "f: key 'sub.ys' = [0, -1] has a bad entry [1] = -1 (allowed: non-empty list of finite numbers, each >= 0)"),
    ({"name": "x", "n": 1, "sub": {"xs": [], "ys": [0]}}, "f: key 'sub.xs' = [] is empty"),
    ([1], "f: top level is list (allowed: a table of keys name, n, rate, on, mode, sub)"),
])
def test_every_error_is_one_line_naming_file_key_value_and_allowed(data, message):
    with pytest.raises(ChipSpecError) as exc:
        validate(SCHEMA, data, "f", ChipSpecError)
    assert str(exc.value).startswith(message)
    assert "\n" not in str(exc.value)


def test_missing_nested_table_and_key():
    with pytest.raises(ChipemuError, match=r"missing key 'sub' \(required: a table \[sub\]\)"):
        validate(SCHEMA_NESTED_REQUIRED, {}, "f")
    with pytest.raises(ChipemuError, match=r"missing key 'sub.k' \(required: int >= 0\)"):
        validate(SCHEMA_NESTED_REQUIRED, {"sub": {}}, "f")


def test_parse_toml_errors_name_the_file():
    assert parse_toml(b"a = 1", "f") == {"a": 1}
    with pytest.raises(ChipemuError, match="^f: malformed TOML"):
        parse_toml("a = [", "f")
    with pytest.raises(ChipemuError, match="^f: not UTF-8 text"):
        parse_toml(b"a = '\xff'", "f")
