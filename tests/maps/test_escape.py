"""coverage.maps.escape: script-safe JSON never leaves its <script> element, never opens a Jinja
delimiter, and reads back unchanged."""

from __future__ import annotations

import json
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from coverage.maps import (
    to_script_json,
)


def _script_text_as_parsed(text: str) -> list[str]:
    """The text of each <script> element an HTML parser finds in a page holding ``text``."""

    class Scripts(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=False)
            self.inside, self.found = False, []

        def handle_starttag(self, tag, attrs):
            if tag == "script":
                self.inside = True
                self.found.append("")

        def handle_endtag(self, tag):
            if tag == "script":
                self.inside = False

        def handle_data(self, data):
            if self.inside:
                self.found[-1] += data

    parser = Scripts()
    parser.feed(f"<p>before</p><script>var D = {text};</script><p>after</p>")
    parser.close()
    return parser.found


def test_script_json_cannot_close_the_script():
    obj = {"a": "</script><script>alert(1)</script>", "b": "'&\u2028", "c": "<!--<script>", "d": "\\</SCRIPT >"}
    text = to_script_json(obj)
    assert "</" not in text and "<!" not in text and "\u2028" not in text
    assert json.loads(text) == obj
    assert _script_text_as_parsed(text) == [f"var D = {text};"]


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.text(alphabet="<>/!-scriptSCRIPT \\\"'&{}%#\u2028\u2029x", max_size=40),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
                    max_leaves=12))
def test_script_json_never_leaves_its_script(obj):
    """Any strings: one script element whose text is the JSON, which decodes to the same object."""
    text = to_script_json(obj)
    assert "</" not in text and "<!" not in text
    assert "{{" not in text and "{%" not in text and "{#" not in text
    assert json.loads(text) == obj
    assert _script_text_as_parsed(text) == [f"var D = {text};"]


def test_script_json_breaks_template_delimiters():
    obj = {"a": "{{7*7}}{%x%}{#c#}{{{", "b": [{"c": {}}], "d": "}}"}
    text = to_script_json(obj)
    assert "{{" not in text and "{%" not in text and "{#" not in text
    assert json.loads(text) == obj
