"""Fingerprints of a student's code by winnowing (Schleimer, Wilkerson and Aiken, SIGMOD 2003).

The normalised tokens of each unit (a function or method, or the statements between them in a
cell) are cut into k-grams, k tokens long, and each k-gram is hashed. Of every window of ``w``
consecutive k-gram hashes the smallest is kept (the rightmost of equal ones), once. Then any
match of at least ``k + w - 1`` tokens shares a fingerprint, and no match shorter than ``k``
does. A unit is its own because order must not matter: functions and methods moved around,
cells reordered or split keep every fingerprint that does not straddle a boundary. (One unit
per statement would lose what a run of statements says: scratch lines are common one by one,
a run of them is someone's own.)

A unit shorter than k tokens but at least ``k // 2`` long gets one fingerprint of the whole of
it, so a short helper of one's own still counts (how much is for rarity to say).
"""
import hashlib
from dataclasses import dataclass

from autograder.integrations.similarity.tokens import normalised

K = 12  # tokens in a k-gram: shorter matches are noise (one call, one assignment)
WINDOW = 4  # any shared run of K + WINDOW - 1 = 15 tokens (about one line) is found


@dataclass(frozen=True)
class Span:
    """Where a fingerprint's tokens stand: cell ``cell`` (index in the student's written cells),
    from token ``start`` to token ``stop`` (exclusive) of that cell's tokens."""

    cell: int
    start: int
    stop: int


def units(tokens, own):
    """The indices ``own`` of ``tokens``, cut into units: a new unit begins at every ``def``,
    ``class`` or decorator that starts a statement (given code included, so a method whose
    signature is the release's is a unit of its own too)."""
    cut, current, at_start = [], [], True
    for i, token in enumerate(tokens):
        if at_start and current and token.text in ("def", "class", "@"):
            cut.append(current)
            current = []
        if i in own:
            current.append(i)
        at_start = token.kind == "end"
    if current:
        cut.append(current)
    return cut


_IDS = {}


def _token_id(text):
    """A stable 64-bit number for a normalised token (Python's str hash changes between runs)."""
    found = _IDS.get(text)
    if found is None:
        found = _IDS[text] = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
    return found


def winnowed(texts, k=K, window=WINDOW):
    """(hash, first k-gram index) of the fingerprints of one unit's normalised ``texts``; a hash
    of a tuple of ints is the same in every run."""
    ids = [_token_id(t) for t in texts]
    if len(ids) < k:
        return [(hash(tuple(ids)), 0)] if len(ids) >= k // 2 else []
    hashes = [hash(tuple(ids[i:i + k])) for i in range(len(ids) - k + 1)]
    if len(hashes) <= window:
        best = min(range(len(hashes)), key=lambda i: (hashes[i], -i))
        return [(hashes[best], best)]
    chosen, last = [], -1
    for start in range(len(hashes) - window + 1):
        best = min(range(start, start + window), key=lambda i: (hashes[i], -i))
        if best != last:
            chosen.append((hashes[best], best))
            last = best
    return chosen


def fingerprints(cells_texts, cells_units, k=K, window=WINDOW):
    """{hash: [Span, ...]} of one student: ``cells_texts[c]`` are cell c's normalised token texts,
    ``cells_units[c]`` its units as lists of token indices (``units``)."""
    found = {}
    for c, (texts, cell_units) in enumerate(zip(cells_texts, cells_units)):
        for unit in cell_units:
            width = min(k, len(unit))
            for value, first in winnowed([texts[i] for i in unit], k, window):
                found.setdefault(value, []).append(Span(c, unit[first], unit[first + width - 1] + 1))
    return found


def student_fingerprints(cells, release, k=K, window=WINDOW):
    """{hash: [Span, ...]} of one student's WrittenCells, normalised against ``release``."""
    names = frozenset().union(*(c.bindings.names for c in cells))
    attributes = frozenset().union(*(c.bindings.attributes for c in cells)) - release.attributes
    texts = [normalised(c.tokens, names, attributes, c.bindings.parsed, release.names, c.bindings.keywords)
             for c in cells]
    kept = [{i for i in c.own if t[i]} for c, t in zip(cells, texts)]  # without the dropped parentheses
    return fingerprints(texts, [units(c.tokens, own) for c, own in zip(cells, kept)], k, window)
