"""A small, strict reader of PowerShell data files (.psd1, .psrc, .pssc): the subset JEA's files use.

PowerShell reads these files as a restricted language (about_Data_Sections: literals, hashtables, arrays,
``$true``/``$false``/``$null``, no commands, no variables). The project's JEA files (jea/) use only:

- a top-level hashtable ``@{ Key = value ... }``, entries separated by new lines or ``;``; keys bare words or
  quoted strings, unique regardless of case (PowerShell's hashtables are case-insensitive);
- single-quoted strings (``''`` is a quote) and double-quoted strings without ``$`` or backtick (no
  expansion: a ``$`` or a backtick in one is refused rather than guessed);
- integers, ``$true``, ``$false``, ``$null``;
- arrays ``@( ... )``, elements separated by commas or new lines, and comma lists ``'a', 'b'`` as a value;
- script blocks ``{ ... }`` (a role capability's FunctionDefinitions), returned as ``ScriptBlock`` with their
  text between the braces, unparsed;
- comments ``# ...`` and ``<# ... #>``.

Anything else (a command, a variable, a cast, an unterminated string) is a ``Psd1Error`` naming the line:
the reader never guesses. No PyPI package reads PowerShell data files as PowerShell does; this is the one the
twin (emulators/winrm/jea.py) and the role test (tests/unit/test_jea_role.py) share, so both read what ships.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Psd1Error", "ScriptBlock", "get", "load", "parse"]


class Psd1Error(ValueError):
    """The text is not in the supported subset (or not a valid data file)."""


@dataclass(frozen=True)
class ScriptBlock:
    """A ``{ ... }`` literal: its text between the braces, as written."""

    text: str


_BARE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text.lstrip("\ufeff")
        self.pos = 0

    # -- positions and errors ---------------------------------------------------------------------------
    def fail(self, what: str) -> Psd1Error:
        line = self.text.count("\n", 0, self.pos) + 1
        return Psd1Error(f"line {line}: {what}")

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def skip(self, newlines: bool = True) -> None:
        """Blanks and comments (and new lines when ``newlines``)."""
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c in " \t\r" or (newlines and c == "\n"):
                self.pos += 1
            elif self.text.startswith("<#", self.pos):
                end = self.text.find("#>", self.pos + 2)
                if end < 0:
                    raise self.fail("unterminated <# comment")
                self.pos = end + 2
            elif c == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def expect(self, token: str) -> None:
        if not self.text.startswith(token, self.pos):
            raise self.fail(f"expected {token!r}, found {self.peek(20)!r}")
        self.pos += len(token)

    # -- values -----------------------------------------------------------------------------------------
    def value(self) -> Any:
        """One value, or a comma list of values (an array)."""
        first = self.single()
        self.skip(newlines=False)
        if self.peek() != ",":
            return first
        items = [first]
        while self.peek() == ",":
            self.pos += 1
            self.skip()
            items.append(self.single())
            self.skip(newlines=False)
        return items

    def single(self) -> Any:
        self.skip()
        c = self.peek()
        if self.text.startswith("@{", self.pos):
            return self.hashtable()
        if self.text.startswith("@(", self.pos):
            return self.array()
        if c == "'":
            return self.single_quoted()
        if c == '"':
            return self.double_quoted()
        if c == "{":
            return self.script_block()
        if c == "$":
            for word, result in (("$true", True), ("$false", False), ("$null", None)):
                end = self.pos + len(word)
                if self.text[self.pos : end].lower() == word and not self.text[end : end + 1].isalnum():
                    self.pos = end
                    return result
            raise self.fail("variables are not allowed in a data file")
        if c.isdigit() or (c == "-" and self.text[self.pos + 1 : self.pos + 2].isdigit()):
            start = self.pos
            self.pos += 1
            while self.peek().isdigit():
                self.pos += 1
            if self.peek() in _BARE and self.peek():
                raise self.fail(f"unsupported number {self.text[start : self.pos + 1]!r}")
            return int(self.text[start : self.pos])
        raise self.fail(f"unsupported value starting {self.peek(20)!r}")

    def single_quoted(self) -> str:
        self.expect("'")
        out: list[str] = []
        while True:
            end = self.text.find("'", self.pos)
            if end < 0:
                raise self.fail("unterminated string")
            out.append(self.text[self.pos : end])
            self.pos = end + 1
            if self.peek() == "'":  # '' is one quote
                out.append("'")
                self.pos += 1
                continue
            return "".join(out)

    def double_quoted(self) -> str:
        self.expect('"')
        end = self.text.find('"', self.pos)
        if end < 0:
            raise self.fail("unterminated string")
        body = self.text[self.pos : end]
        if "$" in body or "`" in body:
            raise self.fail("a double-quoted string with $ or a backtick (expansion) is not supported")
        self.pos = end + 1
        return body

    def script_block(self) -> ScriptBlock:
        """The text of ``{ ... }``: braces matched outside strings and comments."""
        self.expect("{")
        start, depth = self.pos, 1
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c == "'":
                self.single_quoted()
                continue
            if c == '"':
                end = self.text.find('"', self.pos + 1)
                if end < 0:
                    raise self.fail("unterminated string in a script block")
                self.pos = end + 1
                continue
            if self.text.startswith("<#", self.pos) or c == "#":
                self.skip(newlines=False)
                if self.pos < len(self.text) and self.text[self.pos] == "\n":
                    self.pos += 1
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    text = self.text[start : self.pos]
                    self.pos += 1
                    return ScriptBlock(text)
            self.pos += 1
        raise self.fail("unterminated script block")

    def array(self) -> list[Any]:
        self.expect("@(")
        items: list[Any] = []
        while True:
            self.skip()
            if self.peek() == ")":
                self.pos += 1
                return items
            item = self.value()
            items.extend(item if isinstance(item, list) else [item])
            self.skip(newlines=False)
            if self.peek() in (",", ";"):
                self.pos += 1
            elif self.peek() not in ("\n", ")"):
                raise self.fail(f"expected a new line, ',' or ')' in an array, found {self.peek(20)!r}")

    def key(self) -> str:
        c = self.peek()
        if c == "'":
            return self.single_quoted()
        if c == '"':
            return self.double_quoted()
        start = self.pos
        while self.peek() and self.peek() in _BARE:
            self.pos += 1
        if start == self.pos:
            raise self.fail(f"expected a key, found {self.peek(20)!r}")
        return self.text[start : self.pos]

    def hashtable(self) -> dict[str, Any]:
        self.expect("@{")
        table: dict[str, Any] = {}
        seen: set[str] = set()
        while True:
            self.skip()
            if self.peek() == "}":
                self.pos += 1
                return table
            key = self.key()
            if key.lower() in seen:
                raise self.fail(f"duplicate key {key!r}")
            seen.add(key.lower())
            self.skip(newlines=False)
            self.expect("=")
            self.skip()
            table[key] = self.value()
            self.skip(newlines=False)
            if self.peek() == ";":
                self.pos += 1
            elif self.peek() not in ("\n", "}"):
                raise self.fail(f"expected a new line, ';' or '}}' after {key!r}, found {self.peek(20)!r}")


def parse(text: str) -> dict[str, Any]:
    """The top-level hashtable of a data file's text."""
    reader = _Reader(text)
    reader.skip()
    table = reader.hashtable()
    reader.skip()
    if reader.pos != len(reader.text):
        raise reader.fail(f"unexpected text after the hashtable: {reader.peek(20)!r}")
    return table


def load(path: Path | str) -> dict[str, Any]:
    """``parse`` of a file; the error names the file."""
    try:
        return parse(Path(path).read_text(encoding="utf-8-sig"))
    except Psd1Error as exc:
        raise Psd1Error(f"{path}: {exc}") from None


def get(table: dict[str, Any], key: str, default: Any = None) -> Any:
    """A hashtable's value by key, regardless of case (as PowerShell looks keys up)."""
    for k, v in table.items():
        if k.lower() == key.lower():
            return v
    return default
