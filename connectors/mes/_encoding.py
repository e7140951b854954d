"""Text encoding detection for exports: BOM, strict UTF-8, then charset-normalizer (CP949 is the usual answer)."""

from __future__ import annotations

import codecs

from factorypilot.errors import DataError

_HEAD = 256 * 1024


def normalise(name: str) -> str:
    """Canonical codec name; EUC-KR is read as CP949 (its superset, what Korean Windows writes)."""
    try:
        codec = codecs.lookup(name).name
    except LookupError as exc:
        raise DataError(f"unknown text encoding {name!r}",
                        hint="use a Python codec name such as utf-8, utf-8-sig, cp949, euc-kr") from exc
    return "cp949" if codec in ("euc_kr", "cp949", "uhc", "ks_c_5601_1987") else codec


def sniff_binary(head: bytes, file: str) -> None:
    if b"\x00" in head[:8192] and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DataError("file looks binary (NUL bytes), not a text export", file=file,
                        hint="export as CSV/TSV text, XLSX, JSON or B2MML XML")


def broken_utf8(sample: bytes, exc: UnicodeDecodeError, file: str) -> None:
    """UTF-8 text with a few bytes that are not (a file cut or spliced inside a character): say where, instead of
    guessing another encoding that would turn the whole file into the wrong characters."""
    text = sample.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    multibyte = sum(1 for b in sample if b >= 0xC2 and b <= 0xF4)
    if bad > 3 or multibyte < 2 * bad + 2:
        return
    line = sample.count(b"\n", 0, exc.start) + 1
    raise DataError(f"not valid UTF-8 at byte offset {exc.start:,} (line {line}; {bad} broken character(s)): "
                    "the file looks like UTF-8 cut or spliced inside a character / UTF-8 문자가 깨졌습니다",
                    file=file, row=line, hint="export the file again; or set `encoding` in the mapping if it "
                    "really is another encoding")


def detect(head: bytes, file: str) -> str:
    """Encoding of a text file from its first bytes."""
    sniff_binary(head, file)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:_HEAD]
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"  # a multi-byte character cut at the sample end (or a truncated file)
        broken_utf8(sample, exc, file)
    try:
        sample.decode("cp949")
        return "cp949"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 1:
            return "cp949"  # a double-byte character cut at the sample end (or a truncated file)
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None:
        raise DataError("cannot detect the text encoding", file=file,
                        hint="set `encoding` in the mapping (e.g. cp949) or pass --encoding")
    return normalise(best.encoding)
