"""Functions traced by test_instrument.py, kept out of test modules: pytest rewrites the assert
statements of those, and a rewritten function has no source that compiles to its code."""

from __future__ import annotations

import functools
import sys


class Base:
    def describe(self, x):
        return f"base {x}"


class Model(Base):
    def step(self, v, scale=2.0, *rest, offset=1.0, **options):
        """Doubles, shifts and sums."""
        a = v * scale
        b = a + offset
        c = float(b.sum())
        return c

    def uses_super(self, x):
        text = super().describe(x)
        size = len(text)
        return size

    def __private(self, x):
        y = x + 1
        return y

    def calls_private(self, x):
        z = self.__private(x)
        return z

    def where(self):
        depth = 0
        frame_code = sys._getframe(depth).f_code
        return frame_code

    def one_line(self, v):
        a = v; a = v * 2.0  # noqa: E702
        b = a + 1.0
        return b

    def same_object(self, v):
        a = v * 2.0
        b = a
        a = b
        return a

    def branches(self, flag):
        if flag:
            late = 1.5
            return late
        early = 0.5
        for i in range(2):
            early = early + i
        with open(__file__) as handle:
            first = handle.readline()
        return early, first

    def raises(self, v):
        a = v * 2.0
        bad = a[99]
        return bad


def outer(k):
    z = 3.0

    class Inner:
        def method(self, x):
            w = x + k
            w = w * z
            return w

    def inner(x):
        w = x + k
        for _ in range(2):
            w = w + z
        return w

    return inner, Inner


def recursive(n):
    m = n * 2
    if n > 0:
        m = m + recursive(n - 1)
    return m


def decorated_inside(x):
    y = x * 3
    return y


@functools.lru_cache(maxsize=None)
def cached(x):
    y = x * 3
    return y


# Constructs the copy does not cover: the trace observes the frame instead, printing the same.
def walrus(v):
    if (a := v * 2.0) is not None:
        b = a
    return b


def deletes(v):
    a = v * 2.0
    del a
    a = v * 3.0
    return a


def handler(v):
    try:
        raise ValueError(v)
    except ValueError as a:
        b = str(a)
    return b


def finally_return(v):
    a = v
    try:
        return a
    finally:
        a = v * 2.0


def cell(v):
    a = v

    def bump():
        nonlocal a
        a = a * 2.0

    bump()
    return a


def generator(v):
    a = v
    yield a


square = lambda v: v * v  # noqa: E731
