"""The line and column of a JSON pointer (jsonld.py's own scanner) agree with json-source-map.

json-source-map (a test dependency only) mapped findings to their places until it proved
the command's largest cost on files with findings (1.4 ms a 1.7 KB order, in Python);
the scanner does the same in one regular-expression pass. Both are held to each other on
every example order and on generated documents: any key (escapes, "~" and "/", non-ASCII),
any nesting, any layout json.dumps writes. (Where they differ, json-source-map was wrong: it
kept a key's escapes in the pointer, so a finding on such a key had no place.)
"""

from __future__ import annotations

import json

import json_source_map
from hypothesis import given, settings, strategies as st

from chemo_protovalidate.read.jsonld import JsonDocument
from conftest import EXAMPLES


def decoded(pointer: str) -> str:
    """json-source-map writes a key as it stands in the text, escapes and all ("/\\u001f"), and
    leaves "~" as it is; a pointer (RFC 6901), and every pointer the reader builds, holds the key
    itself with "~" as "~0" and "/" as "~1". (A key holding "/" cannot be told apart in its
    pointers: the generated keys hold none, and a test below places one.)"""
    return "/".join(json.loads(f'"{part}"').replace("~", "~0") for part in pointer.split("/"))


def expected(text: str) -> dict[str, tuple[int, int]]:
    entries = json_source_map.calculate(text)
    return {decoded(pointer): ((e.key_start or e.value_start).line + 1, (e.key_start or e.value_start).column + 1)
            for pointer, e in entries.items()}


def ours(text: str) -> dict[str, tuple[int, int]]:
    document = JsonDocument(text)
    return {pointer: document.position(pointer) for pointer in expected(text)}


def test_every_example_order_is_mapped_as_json_source_map_maps_it():
    checked = 0
    for path in sorted(EXAMPLES.rglob("*.jsonld")):
        text = path.read_text("utf-8", errors="replace")
        try:
            json.loads(text)
        except ValueError:
            continue            # not JSON: no place to find
        assert ours(text) == expected(text), path.name
        checked += 1
    assert checked > 100


scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(st.characters(blacklist_characters="/"), max_size=6), inner, max_size=4), max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(documents, st.sampled_from([None, 0, 1, 2, "\t"]), st.booleans())
def test_any_document_in_any_layout(data, indent, ascii_only):
    text = json.dumps(data, indent=indent, ensure_ascii=ascii_only)
    assert ours(text) == expected(text)


def test_a_key_with_a_slash_or_a_tilde_is_placed_by_its_escaped_pointer():
    document = JsonDocument('{"a/b": {"~": 1},\n "c": [2, {"d\\"e": 3}]}')
    assert document.position("/a~1b") == (1, 2)
    assert document.position("/a~1b/~0") == (1, 10)
    assert document.position("/c/1/d\"e") == (2, 12)


def test_a_pointer_the_document_lacks_has_no_place():
    assert JsonDocument('{"a": 1}').position("/b") is None
