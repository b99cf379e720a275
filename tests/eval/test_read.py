"""Reading and bad input: one-line errors naming the file, exit code 2, nothing lost."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from mtdrift.eval.cli import main
from mtdrift.eval.errors import InputError
from mtdrift.eval.read import decode_text, read_text
from mtdrift.eval.segment import split_lines, split_sentences
from tests.support.paths import HYP, REF


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"Hello.\n", "Hello.\n"),  # plain LF
        (b"Hello.\r\nBye.\r\n", "Hello.\nBye.\n"),  # CRLF becomes LF
        (b"Hello.\rBye.", "Hello.\nBye."),  # lone CR (old Mac) becomes LF
        (codecs.BOM_UTF8 + b"Hello.", "Hello."),  # BOM stripped
        ("Cafe\u0301".encode(), "Caf\u00e9"),  # NFD input is NFC-normalised
        (b"a\n\nb\n", "a\n\nb\n"),  # empty lines are data: kept
    ],
)
def test_decode_text(data: bytes, expected: str) -> None:
    result = decode_text(data, source="x.txt")
    assert result == expected


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", r"^x\.txt: the file is empty"),
        (b" \n\n\t\n", r"^x\.txt: the file holds only whitespace"),
        (b"caf\xe9 au lait\n", r"^x\.txt: not valid UTF-8 \(byte 0xe9 at offset 3, line 1\)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", r"^x\.txt: looks like a binary file"),
    ],
)
def test_decode_text_rejects(data: bytes, match: str) -> None:
    with pytest.raises(InputError, match=match):
        decode_text(data, source="x.txt")


DECODE_CASES = [
    b"Hello.\n",
    b"Hello.\r\nBye.\r\n",  # CRLF ends a line
    b"Hello.\rBye.\r",  # lone CRs end lines, the last one the file
    b"a\r\r\nb",  # CR then CRLF: two line ends
    codecs.BOM_UTF8 + b"Hello.\n\xef\xbb\xbfagain",  # only the first BOM is dropped
    "Cafe\u0301\n".encode(),  # NFC per line
    b"\n\n \na\n\n",  # leading blank lines are held until a line with text, then given
    b"",  # empty
    b" \n\t\n",  # only whitespace
    "\u3000\n".encode(),  # only a Unicode space
    codecs.BOM_UTF8,  # only a BOM
    b"ok\r\ncaf\xe9\n",  # bad UTF-8 on line 2: offset counted from the start
    codecs.BOM_UTF8 + b"ok\ncaf\xe9",  # ... after the BOM, as decode_text counts it
    b"ok\rstill line 1 for the offsets\n\x00",  # NUL: lines counted by \n only
]


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("data", DECODE_CASES)
def test_iter_lines_streams_what_decode_text_gives(tmp_path: Path, data: bytes, gz: bool) -> None:
    """The streamed reader of corpus files gives decode_text's lines (less the empty one after
    a final line end) and its messages, plain or gzipped."""
    import gzip

    from mtdrift.eval.read import gunzip, iter_lines

    path = tmp_path / ("x.txt.gz" if gz else "x.txt")
    path.write_bytes(gzip.compress(data) if gz else data)
    try:
        lines = decode_text(gunzip(path.read_bytes(), path), source=str(path)).split("\n")
        expected: object = list(enumerate(lines[:-1] if lines[-1] == "" else lines, start=1))
    except InputError as err:
        expected = str(err)
    try:
        result: object = list(iter_lines(path, "a text file"))
    except InputError as err:
        result = str(err)
    assert result == expected


def test_read_text_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.txt: no such file"):
        read_text(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="is a directory"):
        read_text(tmp_path)


def test_sentences_keep_offsets_and_every_character() -> None:
    text = read_text(REF)
    sents = split_sentences(text)
    assert len(sents) == 32
    assert all(text[s.start : s.end] == s.text for s in sents)
    covered = "".join(s.text for s in sents)
    assert covered.replace(" ", "") == "".join(text.split())  # no non-space character lost


def test_split_lines_keeps_empty_lines() -> None:
    result = [s.text for s in split_lines("a\n\n  b \n")]
    assert result == ["a", "", "b"]


def _bad_inputs(tmp: Path) -> dict[str, tuple[list[str], str]]:
    (tmp / "empty.txt").write_bytes(b"")
    (tmp / "latin1.txt").write_bytes("Déjà vu.\n".encode("latin-1"))
    (tmp / "binary.bin").write_bytes(bytes(range(256)))
    (tmp / "three.txt").write_text("One.\nTwo.\nThree.\n", encoding="utf-8")
    (tmp / "two.txt").write_text("Uno.\nDos.\n", encoding="utf-8")
    return {
        "missing": (
            ["--ref", str(tmp / "missing.txt"), "--hyp", str(HYP)],
            "missing.txt: no such file",
        ),
        "empty": (
            ["--ref", str(REF), "--hyp", str(tmp / "empty.txt")],
            "empty.txt: the file is empty",
        ),
        "undecodable": (
            ["--ref", str(tmp / "latin1.txt"), "--hyp", str(HYP)],
            "latin1.txt: not valid UTF-8",
        ),
        "binary": (
            ["--ref", str(REF), "--hyp", str(tmp / "binary.bin")],
            "binary.bin: looks like a binary file",
        ),
        "line counts": (
            ["--aligned", "--ref", str(tmp / "three.txt"), "--hyp", str(tmp / "two.txt")],
            "two.txt: --aligned needs line-parallel files, got 3 lines in",
        ),
        "names": (
            ["--ref", str(REF), "--hyp", str(HYP), "--name", "a", "--name", "b"],
            "got 1 --hyp but 2 --name",
        ),
    }


@pytest.mark.parametrize("case", ["missing", "empty", "undecodable", "binary", "line counts", "names"])
def test_cli_bad_input_one_line_exit_2(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args, expected = _bad_inputs(tmp_path)[case]
    code = main(["evaluate", *args, "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("mtdrift: error: ")
    assert expected in err
    assert "Traceback" not in err
