"""Indonesian name normalisation and similarity: fixed cases and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ktp_gateway.claims.names import name_tokens, name_variants
from ktp_gateway.claims.similarity import best_score, score


def _score(claimed: str, held: str) -> int:
    return best_score(name_variants(claimed), name_variants(held))


@pytest.mark.parametrize(
    ("claimed", "held"),
    [
        ("budi  contoh", "BUDI CONTOH"),  # case and spacing
        ("Budi-Contoh.", "BUDI CONTOH"),  # punctuation
        ("Dr. H. Budi Contoh, S.H., M.Kn.", "BUDI CONTOH"),  # honorifics and degrees
        ("Ir. Joko Fiktif S. Kom", "JOKO FIKTIF"),  # a degree written with a space
        ("Hj. Siti Sampel", "SITI SAMPEL"),
        ("Bpk. Agus Percobaan", "AGUS PERCOBAAN"),
        ("Ibu Rina Ujicoba", "RINA UJICOBA"),
        ("Siti Sampel binti Ahmad Contoh", "SITI SAMPEL"),  # bin/binti part optional
        ("Siti Sampel", "SITI SAMPEL BINTI AHMAD CONTOH"),
        ("Sukarno Sukarno", "SUKARNO"),  # a single name doubled on a form
        ("FNU Sukarno", "SUKARNO"),
        ("Soekarno", "SUKARNO"),  # ejaan lama
        ("Djoko Contoh", "JOKO CONTOH"),
        ("Ma'ruf Contoh", "MARUF CONTOH"),
        ("Contoh Budi", "BUDI CONTOH"),  # order
    ],
)
def test_meaningless_differences_score_100(claimed: str, held: str) -> None:
    assert _score(claimed, held) == 100


@pytest.mark.parametrize(
    ("claimed", "held", "low", "high"),
    [
        ("Dewi Sampel Lestari", "DEWI SAMPEL LESTARY", 90, 99),  # one letter
        ("M. Yusuf Contoh", "MUHAMMAD YUSUF CONTOH", 90, 99),  # an initial
        ("Andi Contoh", "BUDI CONTOH", 50, 89),  # another person
        ("Budi", "BUDI CONTOH", 40, 70),  # half the name
        ("Siti Contoh", "AGUS PERCOBAAN", 0, 40),
    ],
)
def test_real_differences_lower_the_score(claimed: str, held: str, low: int, high: int) -> None:
    assert low <= _score(claimed, held) <= high


def test_an_initial_h_is_kept_when_it_may_be_a_name() -> None:
    assert name_tokens("H Ahmad") == ["H", "AHMAD"]
    assert name_tokens("H. Ahmad") == ["AHMAD"]
    assert name_tokens("H Ahmad Contoh") == ["AHMAD", "CONTOH"]


NAMES = st.text(alphabet=st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ abc.,'-"), max_size=40)


@given(NAMES, NAMES)
def test_scores_are_bounded_and_symmetric(a: str, b: str) -> None:
    assert 0 <= score(a, b) <= 100
    assert score(a, b) == score(b, a)


@given(NAMES)
def test_normalising_is_idempotent_and_case_blind(name: str) -> None:
    once = " ".join(name_tokens(name))
    assert " ".join(name_tokens(once)) == once
    assert name_variants(name.lower()) == name_variants(name.upper())
