"""A code cell as normalised tokens: what stays when a copier renames, rewords and reformats.

Each token keeps where it stands in the cell (line, column), so a match can be shown there.
Normalised:

- a name the student binds (assigned, a parameter, a loop variable, a function or class they
  define, an import alias, an attribute they store that the release never stores) becomes
  ``V``; every other name stays as written (``np``, ``sum``, ``logistic``, ``.T``), and so does
  a call's keyword (``axis=``), because a copier renames their own variables, never the
  library's;
- a number becomes ``N``, a string ``S``; a string standing alone as a statement (a
  docstring), a comment, blank lines and indentation are dropped, and so are parentheses that
  only group or make a tuple (``(a @ b) * c``, ``return (w, b)``): a call's stay;
- the end of a statement stays, as ``;``.

A cell that Python cannot read (a stray ``%magic``, half-written code) is read by a plain
regular expression instead, and every name in it that is not a builtin or a name of the
release counts as the student's.
"""
import ast
import builtins
import io
import keyword
import re
import tokenize
from dataclasses import dataclass

_BUILTINS = frozenset(dir(builtins))
_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING,
            tokenize.ENDMARKER}
_STARTS = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
# Fallback tokens: names, numbers, one-line strings, then any other visible character.
_PLAIN = re.compile(r"""(?P<name>[^\W\d]\w*)|(?P<number>\d[\w.]*)|(?P<string>'[^'\n]*'?|"[^"\n]*"?)|(?P<op>\S)""")


@dataclass(frozen=True)
class Token:
    """One token of a cell: ``text`` as written, ``kind`` (name, number, string, op, end),
    and its span: lines counted from 1, columns from 0, ``end`` exclusive."""

    kind: str
    text: str
    start: tuple
    end: tuple

    @property
    def line(self):
        return self.start[0]


def raw_tokens(source):
    """The tokens of ``source`` with comments, blank lines and indentation left out; docstrings
    (a string alone as a statement) too. Python's tokenizer, or the plain fallback."""
    try:
        found = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError, ValueError):
        return _plain_tokens(source)
    tokens, previous = [], tokenize.NEWLINE
    for i, tok in enumerate(found):
        if tok.type in _SKIPPED:
            previous = tok.type if tok.type in _STARTS else previous
            continue
        if tok.type == tokenize.STRING and previous in _STARTS and _alone(found, i):
            previous = tokenize.STRING
            continue
        if tok.type == tokenize.NEWLINE:
            if previous != tokenize.STRING:
                tokens.append(Token("end", ";", tok.start, tok.start))
        else:
            tokens.append(Token(_kind(tok), tok.string, tok.start, tok.end))
        previous = tok.type
    return tokens


def _alone(found, i):
    """Whether the string at ``found[i]`` is a whole statement (strings joined, then a newline)."""
    for tok in found[i + 1:]:
        if tok.type in (tokenize.STRING, tokenize.COMMENT, tokenize.NL):
            continue
        return tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER)
    return True


def _kind(tok):
    if tok.type == tokenize.NAME:
        return "name"
    if tok.type == tokenize.NUMBER:
        return "number"
    if tok.type == tokenize.STRING:
        return "string"
    return "op"


def _plain_tokens(source):
    tokens = []
    for number, line in enumerate(source.splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        for match in _PLAIN.finditer(line.split(" #")[0]):
            kind = match.lastgroup if match.lastgroup != "op" else "op"
            tokens.append(Token(kind, match.group(), (number, match.start()), (number, match.end())))
        if tokens and tokens[-1].line == number:
            tokens.append(Token("end", ";", (number, len(line)), (number, len(line))))
    return tokens


@dataclass(frozen=True)
class Bindings:
    """What a piece of code binds: plain names, and attributes it stores (``self.cache = ...``);
    ``keywords`` are the (line, column) of its calls' keyword names (``axis=``), which name the
    callee's parameter, not a variable."""

    names: frozenset
    attributes: frozenset
    keywords: frozenset = frozenset()
    parsed: bool = True


def bindings(source):
    """What ``source`` binds, read with ``ast``; ``parsed`` False when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return Bindings(frozenset(), frozenset(), parsed=False)
    names, attributes, keywords = set(), set(), set()
    lines = source.splitlines()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            attributes.add(node.attr)
        elif isinstance(node, ast.keyword) and node.arg is not None:
            line = lines[node.lineno - 1].encode()  # ast counts columns in UTF-8 bytes
            keywords.add((node.lineno, len(line[:node.col_offset].decode(errors="ignore"))))
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
    return Bindings(frozenset(names), frozenset(attributes), frozenset(keywords))


def normalised(tokens, own_names, own_attributes, parsed=True, given_names=frozenset(), keywords=frozenset()):
    """The normalised text of each token (see the module docstring), in order; "" for a token
    that is dropped.

    ``own_names``: the names the student binds; ``own_attributes``: attributes they store that
    the release does not; ``keywords``: where the keyword names of calls stand (they stay). In a
    cell that did not parse (``parsed`` False), every name but the builtins, keywords and
    ``given_names`` (the release's) counts as the student's.
    """
    out, after_dot, opened, previous = [], False, [], None
    for token in tokens:
        text = token.text
        if token.kind == "name" and token.start not in keywords:
            if after_dot:
                own = text in own_attributes
            elif keyword.iskeyword(text):
                own = False
            else:
                own = text in own_names or (not parsed and text not in _BUILTINS and text not in given_names)
            text = "V" if own else text
        elif token.kind == "number":
            text = "N"
        elif token.kind == "string":
            text = "S"
        elif text == "(":
            opened.append(_calls(previous))
            text = text if opened[-1] else ""
        elif text == ")":
            text = text if not opened or opened.pop() else ""
        out.append(text)
        after_dot, previous = token.text == ".", token
    return out


def _calls(previous):
    """Whether a ``(`` after the token ``previous`` opens a call (or a def's parameters), not a
    grouping or a tuple, whose parentheses a copier may add or drop at will."""
    if previous is None:
        return False
    if previous.kind == "name":
        return not keyword.iskeyword(previous.text)
    return previous.kind == "string" or previous.text in (")", "]")
