"""The one CSV writer: formula guard, delimiter and BOM, ISO dates with offset, codes as text,
the suppression marker, one content type; and every export goes through it."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from consult import csvout
from tests.factories import RoleGrantFactory, UserFactory
from tests.retex_factories import make_sheet


def _text(chunks) -> str:
    return b"".join(chunks).decode("utf-8")


@pytest.mark.parametrize(
    "value", ["=1+1", "+33 1", "-2+3", "@SUM(A1)", "\t=cmd", "\r=cmd", '=HYPERLINK("x")']
)
def test_formula_cells_get_an_apostrophe(value) -> None:
    assert csvout.cell(value) == "'" + value


def test_plain_values_are_untouched() -> None:
    assert csvout.cell("Poitiers") == "Poitiers"
    assert csvout.cell(-3) == -3  # a number is not a formula
    assert csvout.cell(None) == ""
    assert csvout.cell(True) == 1
    assert csvout.cell(["a", None, "b"]) == "a, , b"
    assert csvout.cell(["=x", "y"]) == "'=x, y"


def test_dates_are_iso_8601_with_utc_offset() -> None:
    naive = dt.datetime(2020, 11, 2, 9, 30, 5, 123456)
    assert csvout.iso(naive) == "2020-11-02T09:30:05+00:00"
    paris = dt.datetime(2020, 11, 2, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert csvout.iso(paris) == "2020-11-02T09:30:00+00:00"
    assert csvout.iso(dt.date(2020, 11, 2)) == "2020-11-02"
    assert csvout.cell(naive) == "2020-11-02T09:30:05+00:00"


def test_semicolon_and_bom_by_default_comma_on_request() -> None:
    rows = [["01", 3, "=danger", None, csvout.SUPPRESSED_TEXT]]
    default = _text(csvout.stream(["code", "n", "t", "e", "s"], rows))
    assert default.startswith("\ufeffcode;n;t;e;s\r\n")
    assert default.endswith("01;3;'=danger;;secret statistique\r\n")
    comma = _text(csvout.stream(["code", "n"], [["01", 3]], csvout.COMMA))
    assert comma == "code,n\r\n01,3\r\n"
    assert csvout.separator({"sep": "comma"}) == ","
    assert csvout.separator({"sep": "x"}) == ";"
    assert csvout.separator({}) == ";"


def test_stream_is_chunked() -> None:
    chunks = list(csvout.stream(["n"], ([i] for i in range(2 * csvout.FLUSH_ROWS + 1))))
    assert len(chunks) >= 4  # BOM, two full chunks, the rest: never one big string


def test_retex_public_export_is_guarded(client, session) -> None:
    author = UserFactory(academie_code="16")
    coordinator = UserFactory(academie_code="16")
    RoleGrantFactory(user=coordinator, role="coordinator", scope_kind="academie", scope_code="16")
    make_sheet(author, "published", reviewer=coordinator, title='=HYPERLINK("http://evil")')
    response = client.get("/retex/export.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert rows[0]["title"] == '\'=HYPERLINK("http://evil")'
    assert rows[0]["published_at"].endswith("+00:00")
    assert rows[0]["territory_code"] == "16"
    comma = client.get("/retex/export.csv?sep=comma").get_data(as_text=True)
    assert not comma.startswith("\ufeff")
    assert next(iter(csv.DictReader(io.StringIO(comma))))["title"].startswith("'=")


def test_restream_changes_the_delimiter_without_guarding_twice(tmp_path) -> None:
    path = tmp_path / "table.csv"
    rows = [["=cmd|' /C calc'!A0", -3, "a;b, c", "01"], ["ok", 2.5, 'say "hi"', ""]]
    path.write_bytes(b"".join(csvout.stream(["t", "n", "s", "code"], rows)))
    comma = b"".join(csvout.restream(path, csvout.COMMA)).decode()
    assert not comma.startswith("\ufeff")
    read = list(csv.reader(io.StringIO(comma)))
    assert read[0] == ["t", "n", "s", "code"]
    assert read[1] == ["'=cmd|' /C calc'!A0", "-3", "a;b, c", "01"]
    assert read[2] == ["ok", "2.5", 'say "hi"', ""]


def test_columnar_writer_gives_the_row_writers_bytes() -> None:
    """``stream_blocks`` + ``text_column``/``number_column``/``iso_column`` (bulk exports) write
    exactly what ``stream`` writes, hostile text included, with either separator."""
    import random

    import pyarrow as pa

    rng = random.Random(3)
    texts = ["x", None, "", "a;b", 'q"q', "l\nl", "=1+1", "+33", "-3", "@a", "\tt", "\rr", "'x"]
    texts += ["a,b", "é;ü", "  sp", "x\r\ny", '"', ";", "-", "a=b", "'=x", "ok"]
    texts += [
        "".join(rng.choice("ab;,\"'\r\n\t=+-@ é") for _ in range(rng.randint(0, 6)))
        for _ in range(500)
    ]
    numbers = [rng.choice([None, -3, 0, 12, 100000]) for _ in texts]
    moments = [
        dt.datetime(2020, 11, 2, 9, 30, 5, rng.randrange(1_000_000)) + dt.timedelta(hours=i)
        for i in range(len(texts))
    ]
    for sep in (csvout.SEMICOLON, csvout.COMMA):
        rows = [[t, n, csvout.iso(m)] for t, n, m in zip(texts, numbers, moments, strict=True)]
        expected = b"".join(csvout.stream(["t", "n", "m"], rows, sep))
        block = csvout.block(
            [
                csvout.text_column(pa.array(texts, pa.string()), sep),
                csvout.number_column(pa.array(numbers, pa.int64())),
                csvout.iso_column(pa.array(moments, pa.timestamp("us"))),
            ],
            sep,
        )
        assert b"".join(csvout.stream_blocks(["t", "n", "m"], [block], sep)) == expected
    safe = pa.array(["01", "eleve", None])
    assert csvout.text_column(safe).to_pylist() == ["01", "eleve", None]
    assert csvout.block([], ";") == b""
