"""Java ``.properties`` syntax, as ``java.util.Properties`` reads and writes it.

CloudStack keeps its settings (``db.properties``) in this format; operators edit it by
hand, so cumulo reads and writes exactly what Java does: comments, ``=``/``:``/space
separators, backslash escapes, ``\\uXXXX`` and continuation lines.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path


class PropertiesSyntaxError(ValueError):
    """The text is not valid Java-properties syntax; the message never holds a value."""


_WHITESPACE = " \t\f"
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
_NEEDS_BACKSLASH = {char: "\\" + char for char in "\\=:#!"} | {
    "\t": "\\t",
    "\n": "\\n",
    "\r": "\\r",
    "\f": "\\f",
}


def _logical_lines(text: str) -> Iterator[str]:
    """Join continued lines (odd number of trailing backslashes) and drop comments and
    blank lines, as ``java.util.Properties.load`` does."""
    natural = re.split(r"\r\n|\r|\n", text)
    index = 0
    while index < len(natural):
        line = natural[index].lstrip(_WHITESPACE)
        index += 1
        if not line or line[0] in "#!":
            continue  # a comment never continues, even if it ends with a backslash
        parts = []
        while (len(line) - len(line.rstrip("\\"))) % 2 == 1:
            parts.append(line[:-1])
            if index >= len(natural):
                line = ""
                break
            line = natural[index].lstrip(_WHITESPACE)
            index += 1
        parts.append(line)
        yield "".join(parts)


def _unescape(text: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        index += 1
        if char != "\\" or index >= len(text):
            out.append(char)
            continue
        char = text[index]
        index += 1
        if char == "u":
            digits = text[index : index + 4]
            if not re.fullmatch(r"[0-9a-fA-F]{4}", digits):
                raise PropertiesSyntaxError("malformed \\uxxxx escape")
            out.append(chr(int(digits, 16)))
            index += 4
        else:
            out.append(_ESCAPES.get(char, char))
    # Java reads \uXXXX pairs as UTF-16; rejoin surrogate pairs into one character.
    try:
        return "".join(out).encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeDecodeError:
        raise PropertiesSyntaxError("unpaired UTF-16 surrogate escape") from None


def parse_properties(text: str) -> dict[str, str]:
    """Parse Java-properties text: ``#``/``!`` comments, ``=``, ``:`` or whitespace
    separators, backslash escapes (``\\t``, ``\\uXXXX``, ``\\=`` ...) and continuation
    lines. A repeated key keeps its last value, as in Java.

    :raises PropertiesSyntaxError: on a malformed ``\\uXXXX`` escape.
    """
    result: dict[str, str] = {}
    for line in _logical_lines(text):
        end, escaped = 0, False
        while end < len(line):
            char = line[end]
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char in "=:" or char in _WHITESPACE:
                break
            end += 1
        rest = line[end:].lstrip(_WHITESPACE)
        if rest[:1] in ("=", ":") and rest:
            rest = rest[1:].lstrip(_WHITESPACE)
        key = _unescape(line[:end])
        try:
            result[key] = _unescape(rest)
        except PropertiesSyntaxError as error:
            # Name the key, never the value: it may be a plain password.
            raise PropertiesSyntaxError(f"{error} in the value of {key}") from None
    return result


def _escape(text: str, *, is_key: bool) -> str:
    out: list[str] = []
    for position, char in enumerate(text):
        if char == " ":
            # Java escapes every space of a key but only a value's leading one.
            out.append("\\ " if is_key or position == 0 else " ")
        elif char in "=:#!" and not is_key:
            # Java's store() escapes these in values too, but its load() only needs it
            # in keys. Leaving them bare keeps ENC(...==) values copyable by hand and
            # readable by the shell scripts operators grep db.properties with.
            out.append(char)
        elif char in _NEEDS_BACKSLASH:
            out.append(_NEEDS_BACKSLASH[char])
        elif " " <= char <= "~":
            out.append(char)
        else:
            # Non-ASCII as \uXXXX (UTF-16 units): Java's Properties.load(InputStream)
            # reads ISO-8859-1, so escaping is the only spelling both sides agree on.
            units = char.encode("utf-16-be", "surrogatepass")
            for offset in range(0, len(units), 2):
                out.append(f"\\u{int.from_bytes(units[offset : offset + 2]):04x}")
    return "".join(out)


def format_properties(
    values: Mapping[str, str],
    header: str = "",
    layout: Sequence[tuple[str, Sequence[str]]] = (),
) -> str:
    """Render ``values`` as Java-properties text that :func:`parse_properties` (and Java)
    read back unchanged: the keys of each ``layout`` group under its title, then the rest
    sorted; no timestamp, so equal input gives byte-equal output."""
    lines = [f"# {row}".rstrip() for row in header.splitlines()]
    placed: set[str] = set()

    def group(title: str, keys: list[str]) -> None:
        if not keys:
            return
        if lines:
            lines.append("")
        lines.append(f"# {title}")
        for key in keys:
            lines.append(f"{_escape(key, is_key=True)}={_escape(values[key], is_key=False)}")
            placed.add(key)

    for title, keys in layout:
        group(title, [key for key in keys if key in values])
    group("other settings", sorted(key for key in values if key not in placed))
    return "\n".join(lines) + "\n"


def read_text(path: Path) -> str:
    """The text of a properties file, UTF-8 or (as Java's ``store`` writes) Latin-1."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # A file written by Java's Properties.store is ISO-8859-1.
        return data.decode("latin-1")


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically, the file mode 0600 from the start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file 0600 from the start: the secrets are never world-readable,
    # not even for the instant before a chmod.
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="ascii", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
