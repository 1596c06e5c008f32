"""The two Jinja2 environments every report is rendered with, over ``templates/`` beside this module.

- ``HTML``: autoescape on, and every printed value escaped as ``html.escape(value, quote=True)``
  writes it (``&lt; &gt; &amp; &quot; &#x27;``), unless it is already ``Markup`` (an inline SVG
  the report drew itself). So a student's name or a check's message can never become markup.
- ``MARKDOWN``: no HTML escaping (Markdown is read as text); text from a result goes through
  the filters ``md_text`` (prose), ``md_cell`` (a table cell) and ``md_code`` (verbatim).

Both trim the newline after a block tag and the indentation before it, and keep a template's
final newline, so a template reads like the page it writes.
"""
import html
import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates"


def escaped(value):
    """``value`` as HTML text: Markup stays as it is, anything else is escaped."""
    return value if hasattr(value, "__html__") else Markup(html.escape(str(value), quote=True))


def number(x):
    """A score as people write it: 7, 2.1, 0.75 (never 7.0)."""
    return f"{x:g}"


def md_text(text, cont="", starts_line=False):
    """``text`` for a Markdown heading, paragraph or list item, shown as written.

    Only a character that would start Markdown markup gets a backslash (CommonMark's escape,
    never an HTML entity): ``\\ ` * [ ] ~``, a "_" not between two letters or digits, a "<"
    that would open an HTML tag or an autolink, an "&" that would read as an entity, and a
    line's leading "#", ">", "+", "-", "=", "|", ":" or "1." that would start a block or a
    table's delimiter row (the first line's only when ``starts_line``). A "|" elsewhere stays
    (``md_cell`` escapes it in a table cell). Line breaks stay line breaks; ``cont`` begins
    each further line ("> " in a block quote, "  " in a list item).
    """
    lines = []
    for n, line in enumerate(str(text).strip().splitlines() or [""]):
        line = re.sub(r"[\\`*\[\]~]", r"\\\g<0>", line.strip())
        line = re.sub(r"(?<![^\W_])_|_(?![^\W_])", r"\\_", line)  # "delta_w" stays as it is
        line = re.sub(r"<(?=[A-Za-z/!?])", r"\\<", line)  # "a < b" stays as it is
        line = re.sub(r"&(?=#?\w+;)", r"\\&", line)  # "a & b" stays as it is
        if n or starts_line:
            line = re.sub(r"^([#>+=|:-])", r"\\\1", line)
            line = re.sub(r"^(\d+)([.)])", r"\1\\\2", line)
        lines.append(line)
    return f"  \n{cont}".join(lines)


def md_cell(text):
    """``text`` for one Markdown table cell: on one line, its "|" as "\\|"."""
    return md_text(" ".join(str(text).splitlines())).replace("|", "\\|")


def md_code(text, indent="  "):
    """``text`` verbatim: a code span, or a fenced code block (each line after the first
    begins with ``indent``) when it has several lines; fenced by more backticks than it holds."""
    text = str(text).rstrip().lstrip("\n")
    ticks = "`" * (max(map(len, re.findall(r"`+", text)), default=0) + 1)
    lines = text.splitlines()
    if len(lines) <= 1:
        pad = " " if text[:1] in ("`", " ") or text[-1:] in ("`", " ") else ""  # CommonMark strips one space each side
        return f"{ticks}{pad}{text}{pad}{ticks}"
    fence = "`" * max(3, len(ticks))
    body = [f"{indent}{line}" if line.strip() else "" for line in lines]
    return "\n".join([f"{fence}text", *body, f"{indent}{fence}"])


def _environment(**options):
    environment = Environment(loader=FileSystemLoader(TEMPLATES), trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True, **options)
    environment.filters["num"] = number
    return environment


HTML = _environment(autoescape=True, finalize=escaped)
MARKDOWN = _environment(autoescape=False)
MARKDOWN.filters.update(md_text=md_text, md_cell=md_cell, md_code=md_code)
