import random

import pytest

from landbench.core.errors import ConfigError
from landbench.datasets.splits import SplitManifest, assign_splits, split_counts

FRACTIONS = {"train": 0.7, "val": 0.1, "test": 0.2}


def test_split_counts_exact_bijie():
    assert split_counts(770, FRACTIONS) == {"train": 539, "val": 77, "test": 154}
    assert split_counts(2003, FRACTIONS) == {"train": 1402, "val": 200, "test": 401}
    for n in range(0, 50):
        assert sum(split_counts(n, FRACTIONS).values()) == n


def test_split_counts_rejects_bad_fractions():
    with pytest.raises(ConfigError, match="sum to 1"):
        split_counts(10, {"train": 0.7, "val": 0.2})


def test_assignment_is_independent_of_order():
    ids = [f"hz{i:03d}" for i in range(1, 120)]
    neg = [f"dnypl{i:05d}" for i in range(300)]
    a = assign_splits("bijie", "v1", {"landslide": ids, "non-landslide": neg}, FRACTIONS)
    random.Random(1).shuffle(ids)
    random.Random(2).shuffle(neg)
    b = assign_splits("bijie", "v1", {"non-landslide": neg, "landslide": ids}, FRACTIONS)
    assert a == b
    assert sum(x in a["train"] for x in ids) == split_counts(len(ids), FRACTIONS)["train"]


def test_manifest_hash_is_stable_and_sensitive():
    m = SplitManifest("x", "v1", {"train": ["b", "a"], "val": ["c"], "test": []})
    assert m.ids("train") == ("a", "b")
    same = SplitManifest("x", "v1", {"train": ["a", "b"], "val": ["c"]})
    assert m.sha256 == same.sha256
    # pinned: the canonical serialisation must never change silently
    assert (
        m.to_json()
        == '{"dataset":"x","splits":{"test":[],"train":["a","b"],"val":["c"]},"version":"v1"}'
    )
    other = SplitManifest("x", "v1", {"train": ["a"], "val": ["b", "c"]})
    assert other.sha256 != m.sha256
    assert SplitManifest.from_dict(m.to_dict()) == m


def test_manifest_rejects_duplicates_and_unknown_split():
    with pytest.raises(ConfigError, match="more than one split"):
        SplitManifest("x", "v1", {"train": ["a"], "test": ["a"]})
    with pytest.raises(ConfigError, match="Unknown split"):
        SplitManifest("x", "v1", {"training": ["a"]})
    with pytest.raises(ConfigError, match="valid splits"):
        SplitManifest("x", "v1", {}).ids("dev")
