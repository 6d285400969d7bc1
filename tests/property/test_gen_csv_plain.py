"""The CSV reader's shortcut for plain text (no quotes, no whitespace in cells) gives the same table
and the same problems as the general reader, line numbers included."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from microseg.errors import Collector
from microseg.io.csvfile import _general_table, _plain, read_table

PROFILE = settings.get_profile("microseg-generator")
KNOWN = ("name", "bandwidth_mbps", "hosts")
cell = st.sampled_from(["", "a", "wl-1", "10", "NAME", "hosts", "x/24", "bandwidth_mbps", "\u00e9t\u00e9"])
# Blank lines and lines of empty separators are skipped; they are drawn often on purpose.
row = st.one_of(st.sampled_from(["", ",", ",,"]), st.lists(cell, min_size=0, max_size=4).map(",".join))
line_end = st.sampled_from(["\n", "\r\n", "\r"])
plain_text = st.lists(st.tuples(row, line_end), max_size=8).map(lambda rows: "".join(r + e for r, e in rows))


def _both(text: str, raw: bool) -> tuple[object, object]:
    fast, general = Collector(), Collector()
    got = read_table(text, "in.csv", KNOWN, fast, raw=raw)
    want = _general_table(text.removeprefix("\ufeff"), "in.csv", KNOWN, general, raw=raw)
    return (got, fast.errors, fast.warnings), (want, general.errors, general.warnings)


@PROFILE
@given(plain_text, st.booleans(), st.booleans())
def test_plain_text_reads_as_the_general_reader_reads_it(text: str, bom: bool, raw: bool) -> None:
    text = ("\ufeff" if bom else "") + text
    assert _plain(text.removeprefix("\ufeff"))  # the shortcut is what is under test
    got, want = _both(text, raw)
    assert got == want


@PROFILE
@given(plain_text, st.sampled_from([" ", "\t", "\u00a0", "\x1f", '"']), st.integers(0, 200))
def test_text_with_quotes_or_cell_whitespace_is_not_plain(text: str, odd: str, at: int) -> None:
    text = text[:at] + odd + text[at:]
    assert not _plain(text)
    got, want = _both(text, raw=True)
    assert got == want


def test_a_csv_error_in_plain_text_is_reported_as_the_general_reader_does() -> None:
    text = "name,hosts\n" + "a,1\n" + "b,2,3\n" + "c," + "x" * 200_000 + "\n"  # over csv's field limit
    assert _plain(text)
    got, want = _both(text, raw=False)
    assert got == want
    assert [p.message for p in got[1]][-1].startswith("malformed CSV")
