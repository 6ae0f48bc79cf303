"""The one project-file writer: what it writes reads back as the same tables."""

from __future__ import annotations

import math
import tomllib

import pytest

from voxprospect.io.toml_text import COMMENT, toml_text, toml_value


def test_tables_round_trip_through_tomllib():
    tables = {"title": "a 'quoted' \"name\" \\ with ünïcode\n", "n": 3,
              "project": {"seed": 7, "ratio": 0.1, "flag": False, "names": ["a", "b"], "empty": []},
              "inputs": {"geology": {"path": "d/geo.vti"}, "two words": {"path": "x"}},
              "evidence": [{"name": "a", "kind": "buffer"}, {"name": "b", "max_distance_m": 1.5e3}]}
    text = toml_text(tables, header="first line\nsecond line")
    assert tomllib.loads(text) == tables
    assert text.startswith("# first line\n# second line\n")
    assert "[inputs]" not in text  # a table of tables only gets no header of its own
    assert '\n[inputs."two words"]\n' in text and text.count("[[evidence]]") == 2


def test_comments_go_above_their_table_and_are_not_keys():
    text = toml_text({"evidence": [{COMMENT: "the buffers ...", "name": "a"}, {"name": "b"}]})
    assert "# the buffers ...\n[[evidence]]\nname = \"a\"" in text
    assert tomllib.loads(text) == {"evidence": [{"name": "a"}, {"name": "b"}]}


def test_values_keep_their_type():
    assert toml_value(True) == "true" and toml_value(2000) == "2000" and toml_value(1.0) == "1.0"
    assert math.isinf(tomllib.loads(f"x = {toml_value(-math.inf)}")["x"])
    with pytest.raises(TypeError):
        toml_value(None)
