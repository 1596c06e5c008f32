"""Scores of pairs of students: shared fingerprints and mistakes, weighted by rarity.

The rarity of a fingerprint (or of a mistake) that ``df`` of the class's ``n`` students have is

    r = log((n + 1) / df) / log((n + 1) / 2), clipped to [0, 1]

1 when only two students have it, near 0 when all do, and it weighs ``r ** POWER``: what many
students write counts next to nothing (the textbook one-line σ, written by a fifth of a class,
weighs 0.15 in a class of 38, 0.03 in a class of 500), and what two write alone (an odd
helper, a scratch cell, a wrong answer) counts 1. A shared mistake (one failed check, with the
same diagnosis) weighs MISTAKE times a fingerprint. For a pair a, b, with ``shared`` the summed
weight of what they share and ``total(x)`` that of all student x has,

    score = min(1, shared / max(min(total(a), total(b)), FLOOR))

how much of the smaller submission the other holds, weighted: a copier who adds work of their
own still holds all of the original. FLOOR is the weight of a few lines of code of one's own
(about 22 rare fingerprints, some 4 to 5 lines): a submission with less than that is judged
as if it had that much, so two students who wrote only the textbook lines, which many
students write, stay low although their code is the same.

Only pairs that share something rare are scored: an inverted index maps each fingerprint (and
mistake) of rarity at least PRUNE to the students who have it, and only students found together
in one of its lists make a pair. Any other pair shares only common code: its score is near 0.
"""
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import combinations

POWER = 3
FLOOR = 22.0  # the least total weight a submission is judged by
MISTAKE = 3.0  # a shared rare mistake weighs as much as three shared rare fingerprints
PRUNE = 0.5  # rarity a fingerprint needs to put its students in pairs (weight 1/8)
FRAGMENT = 0.5  # rarity a match needs to count in shared_fragments


@dataclass
class Student:
    """One student's submission of one assignment, fingerprinted: ``prints`` {hash: [Span]},
    ``mistakes`` {key: check name} (empty without grading results, ``graded`` False then),
    ``cells`` their WrittenCells."""

    name: str
    prints: dict
    mistakes: dict = field(default_factory=dict)
    cells: list = field(default_factory=list)
    graded: bool = False


@dataclass
class Pair:
    """Two students (``a`` before ``b`` by name) of one class and what they share."""

    a: Student
    b: Student
    score: float
    shared: frozenset  # the fingerprints both have
    mistakes: list  # names of the failed checks both fail the same way
    rare: "Rarity"  # of their class
    fragments: int = 0

    @property
    def students(self):
        return self.rare.n

    def rarity(self, h):
        """The rarity of the shared fingerprint ``h`` in the class."""
        return self.rare.print_rarity[h]

    def holders(self, h):
        """How many students of the class have the fingerprint ``h``."""
        return self.rare.prints[h]


def rarity(df, n):
    """How rare a thing is that ``df`` of ``n`` students have: 1 for two of them, towards 0 for all."""
    if df <= 2:
        return 1.0
    return min(1.0, max(0.0, math.log((n + 1) / df) / math.log((n + 1) / 2)))


class Rarity:
    """How many students of one class have each fingerprint and mistake, and what each weighs."""

    def __init__(self, students):
        self.n = len(students)
        self.prints = Counter(h for s in students for h in s.prints)
        self.mistakes = Counter(m for s in students for m in s.mistakes)
        self.print_rarity = {h: rarity(df, self.n) for h, df in self.prints.items()}
        self.print_weight = {h: r ** POWER for h, r in self.print_rarity.items()}
        self.fragment_prints = frozenset(h for h, r in self.print_rarity.items() if r >= FRAGMENT)
        self.mistake_weight = {m: MISTAKE * rarity(df, self.n) ** POWER for m, df in self.mistakes.items()}

    def weight(self, prints, mistakes):
        """The summed weight of the fingerprints ``prints`` and the mistakes ``mistakes``."""
        return sum(map(self.print_weight.__getitem__, prints)) + sum(map(self.mistake_weight.__getitem__, mistakes))


def candidates(students, rare):
    """Index pairs (i, j), i < j, of students who share a fingerprint or mistake of rarity at
    least PRUNE: from an inverted index, never from all n² pairs."""
    most = max(2, int((rare.n + 1) / ((rare.n + 1) / 2) ** PRUNE))  # holders of a key of rarity PRUNE
    index = defaultdict(list)
    for i, student in enumerate(students):
        for key in [*student.prints, *(("mistake", m) for m in student.mistakes)]:
            index[key].append(i)
    found = set()
    for holders in index.values():
        if 1 < len(holders) <= most:
            found.update(combinations(holders, 2))
    return found


def score_pairs(students):
    """Pair of every two students who share something rare, highest score first."""
    rare = Rarity(students)
    totals = [rare.weight(s.prints, s.mistakes) for s in students]
    pairs = []
    for i, j in candidates(students, rare):
        a, b = sorted((students[i], students[j]), key=lambda s: s.name)
        shared = a.prints.keys() & b.prints.keys()
        mistakes = sorted(a.mistakes.keys() & b.mistakes.keys())
        score = min(1.0, rare.weight(shared, mistakes) / max(min(totals[i], totals[j]), FLOOR))
        pair = Pair(a, b, score, frozenset(shared), [a.mistakes[m] for m in mistakes], rare)
        pair.fragments = fragments(pair)
        pairs.append(pair)
    pairs.sort(key=lambda p: (-p.score, p.a.name, p.b.name))
    return pairs


def fragments(pair):
    """How many separate regions of student a's code hold a fingerprint shared with b of rarity
    at least FRAGMENT."""
    spans = sorted((s.cell, s.start, s.stop) for h in pair.shared & pair.rare.fragment_prints for s in pair.a.prints[h])
    return max(regions(spans), default=0)


def regions(spans):
    """The region number (from 1) of each span (cell, start, stop, ...) of a sorted list:
    overlapping or touching spans of one cell make one region."""
    numbers, count, end = [], 0, None
    for cell, start, stop, *_ in spans:
        if end is None or cell != end[0] or start > end[1]:
            count += 1
            end = (cell, stop)
        else:
            end = (cell, max(end[1], stop))
        numbers.append(count)
    return numbers
