"""The one reader of line-based text files a user hands flik-lab (sentences, TSV corpora)."""

from collections.abc import Iterator
from pathlib import Path

from flik_lab.utils.errors import InputError


def utf8_lines(path: Path, key: str, data: bytes | None = None) -> Iterator[tuple[int, str]]:
    """`(line number, text)` of each line of a UTF-8 file (or of `data` read elsewhere, e.g. stdin, named
    `path`): LF, CRLF or CR-only endings, a leading byte-order mark dropped; a byte that is not UTF-8 is an
    `InputError` naming `key`, the file, line and column."""
    data = path.read_bytes() if data is None else data
    for number, raw in enumerate(data.splitlines(), start=1):  # bytes: only \n, \r, \r\n
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{key}={path}, line {number}: not UTF-8 (byte {raw[exc.start]:#04x} at column "
                f"{exc.start + 1}); convert the file to UTF-8"
            ) from None
        yield number, line.removeprefix("\ufeff") if number == 1 else line
