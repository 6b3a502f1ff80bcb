"""The JSON depth check: exact at the limit, blind to brackets inside strings, no
recursion however deep."""

from __future__ import annotations

import json

from netra.request_limits import MAX_JSON_DEPTH, too_deep


def test_the_limit_is_exact() -> None:
    assert not too_deep("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    assert too_deep("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))
    objects = '{"a": ' * MAX_JSON_DEPTH + "1" + "}" * MAX_JSON_DEPTH
    assert not too_deep(objects) and too_deep("[" + objects + "]")
    assert not too_deep(json.dumps([[{"k": 1}]] * 500))  # wide is fine


def test_brackets_inside_strings_do_not_count() -> None:
    assert not too_deep(json.dumps({"feature": "[" * 500, "other": '{"a": [[[' * 100}))
    assert not too_deep(json.dumps(["\\" * 3 + "[" * 200]))  # escapes before the brackets
    assert too_deep('["\\\\"' + ", [" * 70)  # an escaped backslash ends no string early


def test_far_too_deep_is_answered_without_recursion() -> None:
    assert too_deep("[" * 1_000_000)
    assert too_deep(b"{" + b'"a":{' * 200_000)
