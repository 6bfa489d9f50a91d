"""The records of an offline W&B run file (`run-<id>.wandb`, what `wandb sync` uploads), parsed with W&B's
own protobuf classes.

No public wandb API reads an offline run (`wandb.Api` needs a server), so the file's framing is read here:
a LevelDB-style log of 32 KiB blocks. Its header and every record's checksum are checked, so a wandb that
writes another format fails with a message naming its version (tests/test_wandb_format.py pins the format
against the installed wandb and W&B's own `wandb leet inspect`).
"""

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from flik_lab.utils.errors import InputError

HEADER = b":W&B" + struct.pack("<HB", 0xBEE1, 0)  # identifier, magic number, format version 0
BLOCK = 32768
RECORD_HEADER = struct.Struct("<IHB")  # crc32 of the type byte and the data, data length, type
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4  # a whole record, or the parts of one that spans blocks


def unreadable(path: Path, problem: str) -> InputError:
    import wandb

    return InputError(
        f"{path}: not an offline W&B run file that flik-lab can read ({problem}; wandb {wandb.__version__} "
        "is installed); compare the run's csv/ or tensorboard/ logs, or upload it with `wandb sync`"
    )


def wandb_records(path: Path) -> Iterator:
    """Each record of `path` as a `wandb.proto.wandb_internal_pb2.Record`, in order; a record cut off at the
    end (a run still writing, or killed) ends the file."""
    from wandb.proto.wandb_internal_pb2 import Record

    data = path.read_bytes()
    if data[: len(HEADER)] != HEADER:
        raise unreadable(path, f"header {data[: len(HEADER)]!r}, expected {HEADER!r}")
    pos, parts = len(HEADER), []
    while pos + RECORD_HEADER.size <= len(data):
        left = BLOCK - pos % BLOCK
        if left < RECORD_HEADER.size or RECORD_HEADER.unpack_from(data, pos) == (0, 0, 0):
            pos += left  # zero padding up to the block's end
            continue
        checksum, length, kind = RECORD_HEADER.unpack_from(data, pos)
        start, pos = pos + RECORD_HEADER.size, pos + RECORD_HEADER.size + length
        if pos > len(data):
            return
        chunk = data[start:pos]
        if zlib.crc32(chunk, zlib.crc32(bytes([kind]))) != checksum:
            raise unreadable(path, f"checksum mismatch in the record at byte {start - RECORD_HEADER.size}")
        if kind in (FIRST, MIDDLE):
            parts = [chunk] if kind == FIRST else [*parts, chunk]
            continue
        if kind not in (FULL, LAST):
            raise unreadable(path, f"record type {kind} at byte {start - RECORD_HEADER.size}")
        record = Record()
        try:
            record.ParseFromString(chunk if kind == FULL else b"".join([*parts, chunk]))
        except Exception as exc:  # protobuf's DecodeError
            raise unreadable(path, f"a record W&B's protobuf classes cannot parse: {exc}") from None
        parts = []
        yield record
