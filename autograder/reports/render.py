"""The two Jinja2 environments every report is rendered with, over ``templates/`` beside this module.

- ``HTML``: autoescape on, and every printed value escaped as ``html.escape(value, quote=True)``
  writes it (``&lt; &gt; &amp; &quot; &#x27;``), unless it is already ``Markup`` (an inline SVG
  the report drew itself). So a student's name or a check's message can never become markup.
- ``MARKDOWN``: no HTML escaping (Markdown is read as text); the feedback's Markdown filters
  (``md_text``, ``md_cell``, ``md_code``) are registered by ``autograder.reports.feedback``.

Both trim the newline after a block tag and the indentation before it, and keep a template's
final newline, so a template reads like the page it writes.
"""
import html
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


def _environment(**options):
    environment = Environment(loader=FileSystemLoader(TEMPLATES), trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True, **options)
    environment.filters["num"] = number
    return environment


HTML = _environment(autoescape=True, finalize=escaped)
MARKDOWN = _environment(autoescape=False)
