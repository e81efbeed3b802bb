"""What a flag's values may be: one ``Domain`` per value, checked where the value enters.

A domain turns one command-line token into a value, or raises a one-line ``CommandLineError`` that names
the flag, the token and what is accepted (``-lambda: expected a number > 0 (Angstrom), got '0'``). NaN and
the infinities are refused everywhere, as are fractions and numbers beyond the C's ``int`` for integer
flags. A value nanoBragg accepts outside the domain and gives a meaning of its own (``-N 0`` is one unit
cell, a negative ``-osc`` means "not given") is *reinterpreted*: the domain returns the value nanoBragg
uses, with a note for stderr. docs/nanobrag_cli.md has the table of every flag's domain and why.

Example:
    >>> real("Angstrom", above=0).convert("-lambda", "1.5")
    (1.5, None)
    >>> whole(at_least=1, reinterpret=(Reinterpret(lambda n: n < 1, lambda n: 1, "uses N = 1 below 1"),)
    ...       ).convert("-N", "-3")
    (1, '-N -3: nanoBragg uses N = 1 below 1')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

# nanoBragg reads integers with atoi() into a C int.
from .._c_numbers import INT_MAX as C_INT_MAX
from .._c_numbers import INT_MIN as C_INT_MIN

__all__ = ["C_INT_MAX", "C_INT_MIN", "CommandLineError", "Domain", "Reinterpret", "TEXT", "real", "whole"]


class CommandLineError(ValueError):
    """A bad command line: the message names the flag and what was wrong."""


@dataclass(frozen=True)
class Reinterpret:
    """Values outside a domain that nanoBragg takes and means something by.

    ``applies(value)`` selects them, ``used(value)`` is what nanoBragg uses instead (``None``: "as if the
    flag were not given"), and ``meaning`` completes the note ``"{flag} {token}: nanoBragg {meaning}"``;
    it may name ``{used}``.
    """

    applies: Callable[[float], bool]
    used: Callable[[float], object]
    meaning: str


@dataclass(frozen=True)
class Domain:
    """The values one token of a flag may take.

    ``kind`` is ``"number"`` (a finite float), ``"integer"`` (a whole number within the C's int) or
    ``"text"`` (any token: a file name, a word). Bounds are inclusive unless ``*_open``. A token containing
    one of ``words`` (nanoBragg tests them with ``strstr``) is returned as is, for the handler to read.
    ``name`` says which value of a several-valued flag this is (``alpha`` of ``-cell``).
    """

    kind: str = "number"
    unit: str = ""
    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    high_open: bool = False
    reinterpret: Tuple[Reinterpret, ...] = ()
    words: Tuple[str, ...] = ()
    name: str = ""

    @property
    def numeric(self) -> bool:
        return self.kind != "text"

    def summary(self) -> str:
        """The accepted values in words, e.g. ``a number > 0 (Angstrom)``."""
        if not self.numeric:
            return "any text"
        noun = "an integer" if self.kind == "integer" else "a number"
        low = None if self.low is None else ("> " if self.low_open else ">= ") + _show(self.low)
        high = None if self.high is None else ("< " if self.high_open else "<= ") + _show(self.high)
        if low and high:
            text = f"{noun} {low} and {high}"
        else:
            text = " ".join(filter(None, (noun, low or high)))
        if self.words:
            text += " or " + " or ".join(repr(word) for word in self.words)
        return text + (f" ({self.unit})" if self.unit else "")

    def convert(self, flag: str, token: str) -> Tuple[object, Optional[str]]:
        """``(value, note)`` for ``token``: the value nanoBragg uses and, when it reinterprets the token, a
        note saying how; a ``CommandLineError`` when the token is outside the domain."""
        if not self.numeric or any(word in token for word in self.words):
            return token, None
        where = f"{flag} {self.name}" if self.name else flag
        value = _parse_number(token)
        if value is None or not math.isfinite(value):
            raise self._error(where, token)
        if self.kind == "integer":
            if value != int(value):
                raise self._error(where, token)
            if not C_INT_MIN <= value <= C_INT_MAX:
                raise CommandLineError(f"{where}: expected {self.summary()}, got {token!r} "
                                       f"(beyond the C's int, {C_INT_MIN} to {C_INT_MAX})")
            value = int(value)
        if self.contains(value):
            return value, None
        for rule in self.reinterpret:
            if rule.applies(value):
                used = rule.used(value)
                return used, f"{where} {token}: nanoBragg {rule.meaning.format(used=used)}"
        raise self._error(where, token)

    def contains(self, value: float) -> bool:
        """Whether ``value`` (a finite number) is within the bounds."""
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            return False
        return True

    def _error(self, where: str, token: str) -> CommandLineError:
        return CommandLineError(f"{where}: expected {self.summary()}, got {token!r}")


def real(unit: str = "", *, above=None, at_least=None, below=None, at_most=None,
         reinterpret: Tuple[Reinterpret, ...] = (), words: Tuple[str, ...] = (), name: str = "") -> Domain:
    """A finite number, optionally bounded (``above``/``below`` exclusive, ``at_least``/``at_most`` not)."""
    return Domain("number", unit, *_bounds(above, at_least, below, at_most), reinterpret=reinterpret,
                  words=words, name=name)


def whole(unit: str = "", *, at_least=None, at_most=None, reinterpret: Tuple[Reinterpret, ...] = (),
          name: str = "") -> Domain:
    """An integer within the C's int, optionally bounded (inclusive)."""
    return Domain("integer", unit, at_least, at_most, reinterpret=reinterpret, name=name)


TEXT = Domain("text")
"""Any token (file names, words such as -pivot's and -dtype's): checked by the flag's handler."""


def _bounds(above, at_least, below, at_most):
    if above is not None and at_least is not None or below is not None and at_most is not None:
        raise ValueError("give one lower and one upper bound at most")
    low, low_open = (above, True) if above is not None else (at_least, False)
    high, high_open = (below, True) if below is not None else (at_most, False)
    return low, high, low_open, high_open


def _parse_number(token: str) -> Optional[float]:
    """The token as a float, or None. Python's float() also reads '1_000'; the C's atof does not."""
    if "_" in token:
        return None
    try:
        return float(token)
    except ValueError:
        return None


def _show(bound: float) -> str:
    return f"{bound:g}"
