"""What a hidden check may say: comparisons that fail with a sentence for the student.

A failed check raises CheckFailed with what was checked, what came back and what was
expected, in shapes and a few numbers, and where it can, the likely mistake.
"""
from dataclasses import dataclass

import numpy as np

RTOL, ATOL = 1e-6, 1e-8


@dataclass(frozen=True)
class Mistake:
    """One entry of an item's catalogue of mistakes. ``id`` is stable across gradings
    ("sum-not-mean"); ``text`` is what the student reads, "<what is wrong>: <what to do>";
    ``label`` names it in the class report (default: ``text`` up to its first colon)."""

    id: str
    text: str
    label: str = ""

    def __post_init__(self):
        if not self.label:
            object.__setattr__(self, "label", self.text.split(":")[0])

    def __str__(self):
        return self.text


class CheckFailed(AssertionError):
    """A failed check; its message is shown to the student as is, and ``mistake`` is the
    Mistake it names, if any."""

    def __init__(self, message="", mistake=None):
        super().__init__(message)
        self.mistake = mistake


class NotImplementedYet(CheckFailed):
    """The graded name is still the release stub."""


def describe(value, limit=4):
    """Short description: 'array (1, 2) [0.12, -0.5]' or '0.693' or 'a str'."""
    if isinstance(value, np.ndarray):
        flat = value.ravel()[:limit]
        numbers = ", ".join(f"{v:.4g}" for v in flat.astype(float))
        more = ", ..." if value.size > limit else ""
        return f"array of shape {value.shape} [{numbers}{more}]"
    if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
        return f"{float(value):.6g}"
    return f"a {type(value).__name__}"


def expect_array(value, what):
    """``value`` must be a NumPy array of numbers (a plain float is accepted as 0-d)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return np.asarray(value, dtype=float)
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        raise CheckFailed(f"{what} should be a NumPy array of numbers, but it is {describe(value)}.")
    return value


def expect_shape(value, shape, what, hint=""):
    array = expect_array(value, what)
    if array.shape != tuple(shape):
        raise CheckFailed(f"{what} has shape {array.shape}; expected {tuple(shape)}.{' ' + hint if hint else ''}")
    return array




def expect_finite(value, what, when=""):
    array = np.asarray(expect_array(value, what), dtype=float)
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise CheckFailed(f"{what} contains {bad} nan or inf value(s){' ' + when if when else ''}: "
                          f"{describe(array)}.")


def is_close(got, want, rtol=RTOL, atol=ATOL):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    return got.shape == want.shape and np.allclose(got, want, rtol=rtol, atol=atol)


def likely_mistake(got, mistakes, rtol=RTOL, atol=ATOL):
    """The first Mistake of ``mistakes`` {Mistake: wrong answer} whose answer ``got`` matches."""
    for name, wrong in mistakes.items():
        try:
            if wrong is not None and is_close(got, wrong, rtol, atol):
                return name
        except (ValueError, TypeError):
            continue
    return None


def expect_close(got, want, what, mistakes=None, rtol=RTOL, atol=ATOL, inputs=""):
    """``got`` must equal ``want`` to rtol/atol; otherwise name the likely mistake."""
    got = np.asarray(expect_array(got, what), dtype=float)
    want = np.asarray(want, dtype=float)
    if is_close(got, want, rtol, atol):
        return
    message = f"{what}{' ' + inputs if inputs else ''} is {describe(got)}; expected {describe(want)}"
    if got.shape == want.shape:
        worst = np.unravel_index(np.argmax(np.abs(got - want)), got.shape) if got.ndim else ()
        message += f" (largest difference at index {tuple(int(i) for i in worst)}: " \
                   f"{float(got[worst]):.6g} instead of {float(want[worst]):.6g})"
    mistake = likely_mistake(got, mistakes or {}, rtol, atol)
    raise CheckFailed(message + "." + (f" Likely mistake: {mistake}." if mistake else ""), mistake)


def scale_mistakes(n, noun="examples"):
    """The mistakes every gradient shares, with the factor of each: summing instead of
    averaging (×N), averaging twice (÷N), and the sign (×-1)."""
    return {
        Mistake("sum-not-mean", f"your result is {n} times too large: average over the {n} {noun} (divide by N) "
                "instead of summing", "sums over the examples instead of averaging"): n,
        Mistake("mean-twice", f"your result is {n} times too small: divide by N once only (it is already a mean)",
                "divides by N twice"): 1.0 / n,
        Mistake("negated", "your result has the wrong sign (negated): it should be prediction minus target, or use +",
                "the wrong sign"): -1.0,
    }
