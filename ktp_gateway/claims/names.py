"""Indonesian name normalisation for comparing a claimed name with the registry's.

What carries no meaning is folded away: case, spacing, punctuation, honorifics before the name
(H., Hj., K.H., Dr., Drs., Ir., Prof., Bpk/Ibu, Sdr/Sdri, Alm.), academic degrees after it
(S.H., S.Kom, M.M., Ph.D ...), "FNU"/"LNU" placeholders, and a single name doubled to satisfy a
two-part form (SUKARNO SUKARNO). `bin`/`binti` and the father's name after it are optional: a
name matches with or without them. Old spelling (ejaan lama: OE, DJ, TJ, CH) is folded too.
"""

from __future__ import annotations

import re
import unicodedata

# Before the name; compared without dots. "H" only with a dot or before another word.
HONORIFICS = frozenset(
    {
        "H", "HJ", "HAJI", "HAJAH", "HAJJAH", "KH", "KIAI", "KYAI", "USTADZ", "UST", "DR", "DRS",
        "DRA", "IR", "PROF", "BPK", "BAPAK", "PAK", "IBU", "BU", "SDR", "SDRI", "SAUDARA",
        "SAUDARI", "TN", "TUAN", "NY", "NYONYA", "NN", "NONA", "ALM", "ALMH", "ALMARHUM",
        "ALMARHUMAH", "AN", "RA",
    }
)  # fmt: skip
# After the name; compared without dots and spaces (S. Kom -> SKOM).
DEGREES = frozenset(
    {
        "SH", "SE", "SKOM", "SPD", "SPDI", "ST", "SSOS", "SIP", "SAG", "SKED", "SSI", "SKM",
        "SFARM", "SPSI", "SHI", "SSTP", "SAB", "SHUT", "SPT", "SKEP", "SSN", "SDS", "SIKOM",
        "STP", "SPSIKOLOG", "STR", "SSTR", "MM", "MH", "MKN", "MSI", "MKOM", "MPD",
        "MT", "MA", "MBA", "MSC", "MAG", "MKES", "MAP", "MHUM", "MPH", "PHD", "AMD", "AMKEP",
        "AMDKEB", "AMKEB", "SPOG", "SPA", "SPB", "SPPD", "SPJP", "SPM", "SPKK", "LLM", "BSC",
        "BA", "DR", "IR", "DRS", "DRA", "PROF", "CPA", "AK", "MSTAT",
    }
)  # fmt: skip
PLACEHOLDERS = frozenset({"FNU", "LNU"})
PATRONYMIC = frozenset({"BIN", "BINTI", "BT", "BTE"})
_OLD_SPELLING = (("OE", "U"), ("DJ", "J"), ("TJ", "C"), ("CH", "KH"), ("SJ", "SY"), ("NJ", "NY"))
_DOTTED_SPLIT = re.compile(r"\b([SMD])\.\s+(?=[A-Z]{1,6}\b)")  # "S. Kom" -> "S.Kom"
_SEPARATORS = re.compile(r"[\s,;]+")
_PUNCT = re.compile(r"[.\-/`\"()]+")
_APOSTROPHES = re.compile("['\u2018\u2019]")  # ' and the typographic quotes


def fold_text(text: str) -> str:
    """Upper case, no accents, no apostrophes; other punctuation and runs of space folded."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).upper()
    plain = _APOSTROPHES.sub("", plain)
    return " ".join(_PUNCT.sub(" ", plain).split())


def _key(token: str) -> str:
    return token.replace(".", "")


def _strip_honorifics(tokens: list[str]) -> list[str]:
    while len(tokens) > 1:
        key = _key(tokens[0])
        bare_h = key == "H" and not tokens[0].endswith(".") and len(tokens) < 3  # an initial?
        if key not in HONORIFICS or bare_h:
            break
        tokens = tokens[1:]
    return tokens


def _strip_degrees(tokens: list[str]) -> list[str]:
    while len(tokens) > 1 and _key(tokens[-1]) in DEGREES:
        tokens = tokens[:-1]
    return tokens


MAX_NORMALISE_PASSES = 8


def name_tokens(name: str) -> list[str]:
    """The name's words with honorifics, degrees and placeholders removed.

    Applied until nothing changes: removing one title or a doubled name can expose another
    ("H. H A A"), and a normalised name must normalise to itself.
    """
    words = _tokens_once(name)
    for _ in range(MAX_NORMALISE_PASSES):  # each pass only removes or folds: it settles fast
        again = _tokens_once(" ".join(words))
        if again == words or not again:
            break
        words = again
    return words


def _tokens_once(name: str) -> list[str]:
    text = unicodedata.normalize("NFKC", name).upper()
    text = _APOSTROPHES.sub("", _DOTTED_SPLIT.sub(r"\1.", text))
    head, _, tail = text.partition(",")  # after a comma come degrees ("BUDI, S.H., M.Kn.")
    tokens = [t for t in _SEPARATORS.split(head) if t.strip(".")]
    if tail and not all(_key(t) in DEGREES for t in _SEPARATORS.split(tail) if t.strip(".")):
        tokens += [t for t in _SEPARATORS.split(tail) if t.strip(".")]
    tokens = _strip_degrees(_strip_honorifics(tokens))
    words = fold_text(" ".join(tokens)).split()
    words = [w for w in words if w not in PLACEHOLDERS] or words
    if len(words) > 1 and len(set(words)) == 1:
        words = words[:1]  # SUKARNO SUKARNO: a single name doubled for a form
    return words


def old_spelling(text: str) -> str:
    """Ejaan lama folded to today's spelling (SOEKARNO -> SUKARNO, DJOKO -> JOKO)."""
    for old, new in _OLD_SPELLING:
        text = text.replace(old, new)
    return text


def name_variants(name: str) -> set[str]:
    """Every reading of a name worth comparing: as written, without bin/binti, old spelling."""
    words = name_tokens(name)
    variants = {" ".join(words)}
    for index, word in enumerate(words):
        if word in PATRONYMIC and index > 0:
            variants.add(" ".join(words[:index]))
            variants.add(" ".join(words[:index] + words[index + 1 :]))
    return variants | {old_spelling(v) for v in variants}
