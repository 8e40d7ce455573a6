"""Showing model-written text (interpretations) as markdown that cannot reach out.

An LLM reply is untrusted input: a markdown image (``![](http://...)``) would make every
reviewer's browser fetch a URL the reply chose, and a link could point at ``javascript:``
or a phishing page. Streamlit already keeps raw HTML off; here the characters that start
links, images, reference definitions and autolinks (``[ ] < >``, and ``\\`` so they cannot
be un-escaped) are escaped, so such constructs show as the literal text the model wrote.
Emphasis and lists still render.
"""

from __future__ import annotations

import re

_LINK_SYNTAX = re.compile(r"([\\\[\]<>])")


def inert_markdown(text: str) -> str:
    """``text`` as markdown with no live link, image or HTML, line breaks kept."""
    return _LINK_SYNTAX.sub(r"\\\1", text).replace("\n", "  \n")
