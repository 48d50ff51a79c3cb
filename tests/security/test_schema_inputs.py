"""Hostile ``submission.json`` files: each refused with one clear message, exit 2, nothing written.

Covers issue 16 items 3 (bounds), 5 (schema_version), 6 (deep nesting) and 7 (unwritable text),
through ``landbench leaderboard validate`` and through the schema functions directly, plus
hypothesis runs over arbitrary JSON values and texts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from landbench.core.errors import InvalidDataError
from landbench.leaderboard.schema import (
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    parse_document,
    schema_problems,
    text_problems,
)
from tests.security.conftest import assert_refused, edit_metadata, v1_metadata


def validate(folder: Path) -> list[str]:
    return ["leaderboard", "validate", str(folder)]


def set_field(path: list, value):
    def change(meta):
        obj = meta
        for part in path[:-1]:
            obj = obj[part]
        obj[path[-1]] = value

    return change


def test_the_clean_submission_is_valid(capsys, submission):
    from landbench.cli import main

    assert main(validate(submission)) == 0, capsys.readouterr().err


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        (1.0, "not 1.0 (float)"),
        ("1", "not '1' (str)"),
        (True, "not True (bool)"),
        (None, "not None (NoneType)"),
        ([1], "not [1] (list)"),
        (3, "unknown schema_version 3"),
        (-1, "unknown schema_version -1"),
    ],
)
def test_schema_version_of_any_type_is_a_clear_error(capsys, submission, value, needle):
    edit_metadata(submission, set_field(["schema_version"], value))
    assert_refused(capsys, validate(submission), "schema_version", needle, watch=[submission])


def test_schema_version_out_of_float_range(capsys, submission):
    path = submission / "submission.json"
    path.write_text(path.read_text().replace('"schema_version": 1', '"schema_version": 1e400'))
    assert_refused(capsys, validate(submission), "submission.json", "1e400", watch=[submission])


def test_deeply_nested_json_is_one_clear_error(capsys, submission):
    n = 100_000
    (submission / "submission.json").write_text('{"a": ' + "[" * n + "]" * n + "}")
    err = assert_refused(capsys, validate(submission), "submission.json", "nested too deeply")
    assert "RecursionError" not in err


def test_nesting_just_over_the_bound_is_refused_with_the_bound():
    doc = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    with pytest.raises(InvalidDataError, match=f"more than the bound of {MAX_DEPTH}"):
        parse_document(doc, "x.json")
    assert parse_document("[" * MAX_DEPTH + "]" * MAX_DEPTH, "x.json") is not None


def test_oversized_document_is_refused_before_reading(capsys, submission):
    pad = "x" * (MAX_DOCUMENT_BYTES + 10)
    (submission / "submission.json").write_text(json.dumps({"schema_version": 1, "pad": pad}))
    assert_refused(
        capsys, validate(submission), "submission.json", f"bound of {MAX_DOCUMENT_BYTES}"
    )


@pytest.mark.parametrize(
    ("token", "needle"),
    [("NaN", "NaN is not a JSON number"), ("Infinity", "Infinity"), ("1e999", "out of range")],
)
def test_non_finite_numbers_are_refused(capsys, submission, token, needle):
    path = submission / "submission.json"
    path.write_text(
        path.read_text().replace('"parameter_count": 1234', f'"parameter_count": {token}')
    )
    assert_refused(capsys, validate(submission), "submission.json", needle)


def test_integer_of_5000_digits_is_refused(capsys, submission):
    path = submission / "submission.json"
    path.write_text(path.read_text().replace("1234", "9" * 5000))
    assert_refused(capsys, validate(submission), "submission.json", "not valid JSON")


def test_not_utf8_is_refused(capsys, submission):
    (submission / "submission.json").write_bytes(b'{"team": "\xff\xfe"}')
    assert_refused(capsys, validate(submission), "submission.json", "not UTF-8")


@pytest.mark.parametrize(
    ("old", "new", "needles"),
    [
        ('"team": "Team"', '"team": "\\ud800"', ["team", "lone surrogate"]),
        ('"name": "Model"', '"name": "ok \\udfff"', ["model.name", "lone surrogate"]),
        ('"team": "Team"', '"team": "Team", "\\ud800x": 1', ["a key", "lone surrogate"]),
        ('"team": "Team"', '"team": "a\\u001b[2Jb"', ["team", "control character"]),
        ('"training_data": "synth', '"training_data": "\\ud83d synth', ["training_data"]),
    ],
)
def test_unwritable_text_is_refused_naming_the_field(capsys, submission, old, new, needles):
    path = submission / "submission.json"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    err = assert_refused(capsys, validate(submission), *needles, watch=[submission])
    err.encode("utf-8")  # the message itself is writable


@pytest.mark.parametrize(
    ("path", "value", "needles"),
    [
        (
            ["model", "parameter_count"],
            10**400,
            ["model.parameter_count", "at most 10000000000000"],
        ),
        (["datasets", "synth", "dataset_kwargs", "n"], 10**30, ["dataset_kwargs.n", "100000"]),
        (["datasets", "synth", "dataset_kwargs", "n"], 10**8, ["dataset_kwargs.n", "100000"]),
        (["datasets", "synth", "dataset_kwargs", "size"], 10**6, ["dataset_kwargs.size", "2048"]),
        (
            ["datasets", "synth", "dataset_kwargs", "seed"],
            2**80,
            ["dataset_kwargs.seed", "2147483648"],
        ),
        (["datasets", "synth", "dataset_kwargs", "preset"], "b" * 500, ["dataset_kwargs.preset"]),
        (["team"], "t" * 10_000, ["team", "at most 200 characters"]),
        (["contact"], "a@b." + "c" * 300, ["contact", "at most 254"]),
    ],
)
def test_every_number_and_text_has_a_bound_in_the_message(capsys, submission, path, value, needles):
    edit_metadata(submission, set_field(path, value))
    err = assert_refused(capsys, validate(submission), *needles, watch=[submission])
    assert str(10**400) not in err  # a huge value is not echoed in full
    assert len(err) < 2000


@pytest.mark.parametrize(
    "url",
    [
        'https://example.org/"><script>alert(1)</script>',
        "https://example.org/a|b|c",
        "https://example.org/<img src=x>",
        "javascript:alert(1)",
        "https://example.org/a b",
    ],
)
def test_urls_are_checked_as_urls(capsys, submission, url):
    edit_metadata(submission, set_field(["paper_url"], url))
    assert_refused(capsys, validate(submission), "paper_url", watch=[submission])
    edit_metadata(submission, set_field(["paper_url"], None))
    edit_metadata(submission, set_field(["code", "url"], url))
    assert_refused(capsys, validate(submission), "code.url", watch=[submission])


def test_honest_urls_pass(synth_test):
    meta = v1_metadata(synth_test)
    meta["paper_url"] = "https://arxiv.org/abs/2401.00001v2?x=1&y=%7C#sec-3"
    assert schema_problems(meta, "submission") == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=json_values, key=st.sampled_from(["", "schema_version", "model", "datasets", "team"]))
def test_schema_check_never_raises_on_any_json_value(synth_test, doc, key):
    meta = v1_metadata(synth_test)
    if key:
        meta[key] = doc
    else:
        meta = doc
    problems = schema_problems(meta, "submission", "submission.json")
    assert isinstance(problems, list) and all(isinstance(p, str) for p in problems)
    for problem in problems:
        problem.encode("utf-8")  # every message can be printed


@settings(max_examples=50, deadline=None)
@given(text=st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_parsing_any_text_gives_a_document_or_a_clear_error(text):
    try:
        doc = parse_document(text, "x.json")
    except InvalidDataError as err:
        assert "x.json" in str(err)
    else:
        assert doc is None or isinstance(doc, dict | list | str | int | float | bool)


@settings(max_examples=50, deadline=None)
@given(text=st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1))
def test_any_surrogate_anywhere_is_named(text):
    problems = list(text_problems({"a": [{"b": f"x{text}"}]}))
    assert problems and problems[0].startswith("a[0].b:")
