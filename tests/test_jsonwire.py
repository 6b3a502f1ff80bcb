"""The JSON the server writes: strict JSON that any client's parser reads back."""

import json
import math

import pytest

from netra import jsonwire


def _strict(text: str) -> object:
    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def test_round_trip_is_compact_utf8_json() -> None:
    value = {"saving": "−$3,900/month", "n": [1, 2.5, None, True], "nested": {"a": "b"}}
    text = jsonwire.dumps(value)
    assert text == '{"saving":"−$3,900/month","n":[1,2.5,null,true],"nested":{"a":"b"}}'
    assert _strict(text) == value
    assert jsonwire.loads(text) == value
    assert jsonwire.loads(text.encode()) == value


def test_nan_and_infinity_become_null_not_invalid_json() -> None:
    text = jsonwire.dumps({"p95": math.nan, "ratio": math.inf})
    assert _strict(text) == {"p95": None, "ratio": None}


def test_what_cannot_be_encoded_raises_type_error() -> None:
    with pytest.raises(TypeError):
        jsonwire.dumps({"x": object()})


def test_malformed_text_raises_value_error() -> None:
    with pytest.raises(ValueError):
        jsonwire.loads('{"o": ')
