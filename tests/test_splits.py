import random
from fractions import Fraction

import pytest

from landbench.core.errors import ConfigError
from landbench.datasets.splits import (
    SplitManifest,
    assign_by_hash,
    assign_splits,
    check_fractions,
    id_fraction,
    split_counts,
    split_of_id,
)

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


IDS = [f"hz{i:03d}" for i in range(1, 21)]
NEG = [f"dnypl{i:05d}" for i in range(30)]


def test_ranked_assignment_is_pinned():
    # Split v1's rule (rank by SHA-256, cut exact counts), pinned so dropping the hash ranking
    # (e.g. cutting in sorted id order) fails.
    got = assign_splits("bijie", "v1", {"landslide": IDS, "non-landslide": NEG}, FRACTIONS)
    assert got["val"] == ["dnypl00002", "dnypl00009", "dnypl00027", "hz004", "hz015"]
    assert got["test"][:4] == ["dnypl00003", "dnypl00010", "dnypl00013", "dnypl00019"]
    manifest = SplitManifest("bijie", "v1", got)
    assert manifest.sha256 == "540f5f0e384be3d864ec0055ad1fdc93fb8493c8b05a6fc35600892813b2b8d7"


def test_hash_assignment_is_pinned():
    got = assign_by_hash("bijie", "v2", {"landslide": IDS, "non-landslide": NEG}, FRACTIONS)
    assert got["val"] == ["dnypl00023", "hz003", "hz013"]
    assert got["test"] == [
        "dnypl00002", "dnypl00022", "dnypl00027", "dnypl00029", "hz011", "hz012", "hz014",
    ]  # fmt: skip
    manifest = SplitManifest("bijie", "v2", got)
    assert manifest.sha256 == "1ec6402df4969edc79ac27d0e3f4a5746768d94bb04bdd1896c62c76223905b8"
    assert id_fraction("bijie", "v2", "hz001") == Fraction(4620672149633865775, 2**63)


def test_hash_assignment_never_moves_an_id_when_others_change():
    full = assign_by_hash("bijie", "v2", {"landslide": IDS, "non-landslide": NEG}, FRACTIONS)
    rng = random.Random(0)
    for _ in range(5):
        keep = set(rng.sample(IDS + NEG, 25)) | {f"new{i}" for i in range(10)}
        part = assign_by_hash(
            "bijie",
            "v2",
            {"landslide": [i for i in IDS if i in keep], "non-landslide": sorted(keep - set(IDS))},
            FRACTIONS,
        )
        for split, ids in part.items():
            for sample_id in ids:
                assert not sample_id.startswith("hz") or sample_id in full[split]
                assert not sample_id.startswith("dn") or sample_id in full[split]


def test_hash_assignment_thresholds_per_class():
    per_class = {
        "landslide": {"train": 0.0, "val": 0.0, "test": 1.0},
        "non-landslide": {"train": 1.0, "val": 0.0, "test": 0.0},
    }
    got = assign_by_hash("x", "v2", {"landslide": IDS, "non-landslide": NEG}, per_class)
    assert got["test"] == sorted(IDS) and got["train"] == sorted(NEG) and got["val"] == []
    with pytest.raises(ConfigError, match="No split fractions for class 'landslide'"):
        assign_by_hash("x", "v2", {"landslide": IDS}, {"other": FRACTIONS})
    with pytest.raises(ConfigError, match="more than one class"):
        assign_by_hash("x", "v2", {"a": ["1"], "b": ["1"]}, FRACTIONS)
    # Shares follow the fractions in expectation.
    many = [f"id{i}" for i in range(20000)]
    counts = {s: len(v) for s, v in assign_by_hash("x", "v2", {"c": many}, FRACTIONS).items()}
    assert abs(counts["val"] / 20000 - 0.1) < 0.01 and abs(counts["test"] / 20000 - 0.2) < 0.01


@pytest.mark.parametrize(
    ("fractions", "match"),
    [
        ({"train": 0.7, "val": 0.2}, "sum to 1"),
        ({"train": 1.2, "val": -0.2}, ">= 0"),
        ({"train": 1.0, "dev": 0.0}, "Unknown split names"),
        ({"train": "a lot"}, "must be numbers"),
    ],
)
def test_check_fractions(fractions, match):
    with pytest.raises(ConfigError, match=match):
        check_fractions(fractions)


# -- edges pinned by mutation testing (issue 14 item 13) ---------------------------------------


def test_split_counts_gives_leftovers_by_largest_remainder_then_listed_order():
    # n = 1: remainders 0.7, 0.1, 0.2 -> the one item goes to train (not the first name A-Z).
    assert split_counts(1, FRACTIONS) == {"train": 1, "val": 0, "test": 0}
    # n = 4: 2.8, 0.4, 0.8 -> floors 2, 0, 0; two left: train (0.8, listed first), then test.
    assert split_counts(4, FRACTIONS) == {"train": 3, "val": 0, "test": 1}
    # Equal remainders: the split listed first wins, whatever its name.
    assert split_counts(1, {"val": 0.5, "train": 0.5}) == {"val": 1, "train": 0}
    with pytest.raises(ConfigError, match=r"got \{'train': 0.7, 'val': 0.2\}"):
        split_counts(10, {"train": 0.7, "val": 0.2})


def test_ranked_assignment_refuses_an_id_in_two_classes():
    with pytest.raises(ConfigError, match=r"Sample ids in more than one class: \['2'\]"):
        assign_splits("x", "v1", {"a": ["1", "2"], "b": ["2", "3"]}, FRACTIONS)


def test_split_of_id_and_manifest_lookup_agree_with_the_assignment():
    got = assign_by_hash("bijie", "v2", {"landslide": IDS, "non-landslide": NEG}, FRACTIONS)
    manifest = SplitManifest("bijie", "v2", got)
    for split, ids in got.items():
        for sample_id in ids:
            assert split_of_id("bijie", "v2", sample_id, FRACTIONS) == split
            assert manifest.split_of(sample_id) == split
    assert split_of_id("bijie", "v2", "hz003", FRACTIONS) == "val"
    assert split_of_id("bijie", "v2", "hz011", FRACTIONS) == "test"
    assert split_of_id("bijie", "v2", "hz001", FRACTIONS) == "train"
    # Another dataset or version hashes the id anew.
    assert id_fraction("other", "v2", "hz001") != id_fraction("bijie", "v2", "hz001")
    assert id_fraction("bijie", "v3", "hz001") != id_fraction("bijie", "v2", "hz001")
    with pytest.raises(KeyError, match="nowhere"):
        manifest.split_of("nowhere")
