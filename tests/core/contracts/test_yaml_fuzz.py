"""Property-based fuzzing of the one YAML loader with its limits.

Any text either reads or is refused with a located Finding (``ValueError(Finding)``) -
never another exception - and nothing over a limit (aliases, depth, nodes, size) is read.
"""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utfall.core.contracts.yamlio import (
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
    YamlDocument,
    read_yaml,
)
from utfall.errors import Finding

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CODES = {"yaml-syntax", "yaml-alias", "yaml-too-deep", "yaml-too-many-nodes", "yaml-too-large"}

_SYNTAX = "a b: [ ] { } , : &x *x *y <<: !!str !!python/object:os.system !tag ' \" # | > ~"
_SCALARS = "0.5 1e9 .nan -.inf 2016-02-30 2016-02-15 0x1F 0o7 1:30 190:20:30.15 null yes é"
PIECES = st.sampled_from(
    [
        *_SYNTAX.split(),
        *_SCALARS.split(),
        *[" ", "\n", "  ", "- ", "&y ", "? ", "---\n", "...\n", "\t", "%YAML 1.1\n", "\\u0000"],
        "9" * 50,
    ]
)
PIECE_TEXT = st.lists(PIECES, max_size=60).map("".join)


def _read_or_refuse(text: str) -> YamlDocument | Finding:
    try:
        return read_yaml(text, source="fuzz.yaml")
    except ValueError as error:
        (finding,) = error.args
        assert isinstance(finding, Finding)
        assert finding.code in CODES and finding.file == "fuzz.yaml"
        return finding


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


@FUZZ
@given(st.text(max_size=300))
def test_any_text_reads_or_is_refused_with_a_finding(text):
    _read_or_refuse(text)


@FUZZ
@given(PIECE_TEXT)
def test_any_yaml_like_text_reads_or_is_refused_with_a_finding(text):
    result = _read_or_refuse(text)
    if isinstance(result, YamlDocument):
        assert "&" not in text or "*" not in text or _no_alias_used(text)
        assert _depth(result.data) <= MAX_YAML_DEPTH


def _no_alias_used(text: str) -> bool:
    """True when PyYAML itself sees no anchor or alias in ``text`` (e.g. '&' in a string)."""
    try:
        events = list(yaml.parse(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return True
    return not any(isinstance(e, yaml.AliasEvent) or getattr(e, "anchor", None) for e in events)


# PyYAML's own dumper does not round-trip control and line-break characters (NEL, LS).
CHARACTERS = st.characters(
    exclude_categories=("Cs", "Cc", "Zl", "Zp"), exclude_characters="\x85\ufeff"
)
PLAIN = st.recursive(
    st.one_of(
        st.integers(-(10**12), 10**12),
        st.booleans(),
        st.text(CHARACTERS, max_size=10),
        st.none(),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(CHARACTERS, min_size=1, max_size=5), inner, max_size=4),
    ),
    max_leaves=40,
)


@FUZZ
@given(PLAIN)
def test_plain_documents_within_the_limits_read_back_unchanged(value):
    text = yaml.safe_dump({"v": value}, allow_unicode=True)
    document = read_yaml(text, source="plain.yaml")
    assert document.data == {"v": value}


@settings(max_examples=30, deadline=None)
@given(st.integers(MAX_YAML_DEPTH + 1, 20_000), st.sampled_from(["[", "{a: "]))
def test_nesting_deeper_than_the_limit_is_refused(depth, opener):
    closer = "]" if opener == "[" else "}"
    text = opener * depth + "1" * (opener == "[") + "1" * (opener != "[") + closer * depth
    result = _read_or_refuse(text)
    assert isinstance(result, Finding) and result.code == "yaml-too-deep"
    assert "MAX_YAML_DEPTH" in result.message and result.line == 1


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12))
def test_any_alias_is_refused(levels, width):
    lines = ["l0: &l0 lol"]
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    result = _read_or_refuse("\n".join(lines) + "\n")
    assert isinstance(result, Finding) and result.code == "yaml-alias"
    assert result.line == 1 and result.column == 5


def test_exactly_the_limits_still_read():
    nested = "[" * MAX_YAML_DEPTH + "]" * MAX_YAML_DEPTH
    assert isinstance(_read_or_refuse(nested), YamlDocument)
    many = "[" + ", ".join(["1"] * (MAX_YAML_NODES - 1)) + "]"
    assert isinstance(_read_or_refuse(many), YamlDocument)
