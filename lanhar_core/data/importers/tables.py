"""Bytes of a CSV export -> a table, whatever app or spreadsheet wrote it.

Shared by the generic importer and the phone-app importers, so a file that one accepts the
other accepts too: comma, semicolon or tab separated, decimal point or (with ``;`` or tab)
decimal comma as European spreadsheets write it, UTF-8 with or without BOM, or UTF-16 as
Excel's "Unicode text" export writes it.
"""

from __future__ import annotations

import codecs
import io

import pandas as pd

from lanhar_core.errors import DataFormatError, InvalidSignalError


def sniff_separator(first_line: str) -> str:
    """The most frequent of comma, semicolon and tab in the header line."""
    return max((",", ";", "\t"), key=first_line.count)


def _encoding(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = data[:4096]
    if head and head.count(0) > len(head) // 4:
        return "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"
    return "utf-8-sig"


def decode_text(data: bytes, where: str) -> str:
    """The text of a CSV in UTF-8 or UTF-16, or a ``DataFormatError`` saying how to re-save it."""
    encoding = _encoding(data)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataFormatError(
            f"{where}: not UTF-8 or UTF-16 text ({encoding} fails at byte {exc.start}: {exc.reason}); "
            "save the file as 'CSV UTF-8' and import it again"
        ) from exc


def header_line(data: bytes) -> str:
    """The first line of a CSV's bytes in its own encoding, without decoding the whole file."""
    head = data[:65536]
    return head.decode(_encoding(head), errors="replace").lstrip("\ufeff").splitlines()[0] if head.strip() else ""


def parse_csv(data: bytes, where: str) -> pd.DataFrame:
    """A CSV as apps and spreadsheets write it (see the module docstring)."""
    text = decode_text(data, where)
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise InvalidSignalError(f"{where}: the file is empty (0 rows)")
    sep = sniff_separator(lines[0])
    decimal = "," if sep != "," and len(lines) > 1 and "," in lines[1] else "."
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, decimal=decimal)
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataFormatError(f"{where}: cannot be parsed as CSV: {exc}") from exc
