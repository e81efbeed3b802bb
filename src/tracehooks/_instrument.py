"""An instrumented copy of a traced function: its own source compiled again, with capture calls.

Observing a frame from outside (``sys.settrace``, ``sys.monitoring``) costs a callback per line
and a dict of every local per read.  The fast path instead runs a copy of the function made once
per trace: the source of the function, compiled again exactly as Python compiled it, in which

- each ``return value`` returns ``(value, (a, c))`` -- the values of the locals a trace prints, when
  every path to that return binds them all -- or else ``(value, locals())`` (when the locals at return
  are wanted), and
- each statement that binds a watched name is followed by a check that it is bound to another
  object than before, and if so by ``_tracehooks_seen(i, name, count)``, a call of the trace (a
  new keyword-only parameter holds it as its default; two hidden locals per watched name keep the
  object last seen and the count of assignments).

The file on disk is never edited and the function object is not changed; the copy shares the
original's globals, defaults and closure cells, and keeps its file name and line numbers, so
tracebacks, coverage and debuggers see the original lines.  A copy is made only when it is safe:
the uninstrumented recompile must equal the running code object (``==`` compares the bytecode,
constants, names and positions, nested functions included), so a source file edited since
import, a function built at run time or rewritten by an import hook (pytest's assertion
rewriting), a lambda, a generator or a construct the rewriting does not cover (a watched name
bound by ``:=``, ``del``, ``except ... as``, ``match``, or rebound by a nested function; a
``return`` whose ``finally`` runs after the locals would be read) keeps the frame observer.
"""

from __future__ import annotations

import __future__
import ast
import copy
import functools
import linecache
import types
from collections.abc import Callable, Sequence
from typing import Any

from ._capture import NOT_FUNCTIONS, store_sites

__all__ = ["LOCALS", "SEEN", "Instrumented", "instrumented_copy"]

# Names of the copy's own (one leading underscore: a class body would mangle two).
_PREFIX = "_tracehooks_"
#: The copy's keyword-only parameter holding the trace's capture call.
SEEN = _PREFIX + "seen"
_FUTURE_FLAGS = functools.reduce(
    int.__or__, (getattr(__future__, name).compiler_flag for name in __future__.all_feature_names))
LOCALS = "locals()"  # Instrumented.returned: the copy returns every local
_TYPE_PARAMS = "type_params" in ast.FunctionDef._fields  # Python 3.12+


class Instrumented:
    """A copy of a function that reports what a trace reads from inside its frame.

    ``function`` takes the original's arguments and calls ``seen(i, value, count)`` after each
    statement binding ``watch[i]`` to another object than before (the parameters' values at entry
    are no assignment); ``seen`` returns ``count + 1``.  ``returned``: None, it returns the result;
    ``LOCALS``, it returns ``(result, locals())`` (``hidden``: the copy's own names among them); a
    tuple of names, it returns ``(result, (their values))``.
    """

    __slots__ = ("function", "watch", "returned", "hidden")

    def __init__(self, function: types.FunctionType, watch: tuple[str, ...],
                 returned: str | tuple[str, ...] | None) -> None:
        self.function, self.watch, self.returned = function, watch, returned
        self.hidden = (SEEN,) + tuple(name for i in range(len(watch)) for name in _state_names(i)) if watch else ()


class _Unsupported(Exception):
    """The function uses a construct the copy would not observe exactly like the frame."""


def instrumented_copy(function: Any, watch: Sequence[str], at_return: bool, names: Sequence[str] = (),
                      seen: Callable[[int, Any, int], int] | None = None) -> Instrumented | None:
    """The instrumented copy of the plain function ``function``, or None where none can be made.

    ``watch``: the locals whose assignments it reports to ``seen``; ``at_return``: it hands over its
    locals when it returns, as the values of ``names`` when every return of it has them all bound (no
    dict of every local to build), else as ``locals()``.

    Example:
        >>> def scaled(x):
        ...     y = x * 2
        ...     return y
        >>> def seen(i, value, count):
        ...     print("assigned", value)
        ...     return count + 1
        >>> made = instrumented_copy(scaled, ("y",), True, ("y",), seen)
        >>> made.function(3)
        assigned 6
        (6, (6,))
    """
    if type(function) is not types.FunctionType:
        return None
    code = function.__code__
    # By identity: equal code objects (==) may come from different files.
    key = (id(code), tuple(watch), at_return, tuple(names))
    entry = _COPIES.get(key)
    if entry is None or entry[0] is not code:
        if len(_COPIES) >= 256:  # traces of many functions: forget the oldest
            del _COPIES[next(iter(_COPIES))]
        entry = _COPIES[key] = (code, _instrumented_code(function, code, *key[1:]))
    made = entry[1]
    if made is None:
        return None
    made_code, returned = made
    copied = types.FunctionType(made_code, function.__globals__, function.__name__, function.__defaults__,
                                function.__closure__)
    copied.__kwdefaults__ = {**(function.__kwdefaults__ or {}), SEEN: seen} if watch else function.__kwdefaults__
    copied.__qualname__ = function.__qualname__
    return Instrumented(copied, tuple(watch), returned)


#: The copies made, by (id of the code, watch, at_return, names), with the code they copy (which
#: keeps that id from being reused): the closures of one ``def`` share its code, and a trace
#: started again (each trace of an attribute reinstalls the others) finds its copy here.
_COPIES: dict[tuple, tuple[types.CodeType, tuple[types.CodeType, str | tuple[str, ...] | None] | None]] = {}


def _instrumented_code(function: types.FunctionType, code: types.CodeType, watch: tuple[str, ...], at_return: bool,
                       names: tuple[str, ...]) -> tuple[types.CodeType, str | tuple[str, ...] | None] | None:
    """The code of the copy and what it returns, or None."""
    if code.co_flags & NOT_FUNCTIONS or code.co_name == "<lambda>" \
            or any(name.startswith(_PREFIX) for name in _all_names(code)) \
            or at_return and ("locals" in code.co_varnames or "locals" in function.__globals__):
        return None
    found = _definition(code, function.__globals__)
    if found is None:
        return None
    node, imports = found
    wrap = _scaffold(function.__qualname__, code, imports)
    if wrap is None or _compiled(wrap(node), code) != code:
        return None
    returned = None
    if at_return:
        returned = names if names and _always_bound(node, code, names) else LOCALS
    try:
        changed = _Rewriter(watch, returned, code).function(copy.deepcopy(node))
    except _Unsupported:
        return None
    made = _compiled(wrap(changed), code)
    return None if made is None else (made, returned)


def _all_names(code: types.CodeType) -> frozenset[str]:
    names = set(code.co_names + code.co_varnames + code.co_cellvars + code.co_freevars)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _all_names(const)
    return frozenset(names)


@functools.lru_cache(maxsize=32)
def _module_tree(filename: str, lines: tuple[str, ...]) -> ast.Module | None:
    try:
        return ast.parse("".join(lines), filename)
    except (SyntaxError, ValueError):
        return None


def _definition(code: types.CodeType,
                module_globals: dict[str, Any]) -> tuple[ast.FunctionDef, list[ast.stmt]] | None:
    """The ``def`` statement that compiled to ``code``, from the source linecache finds, and the
    module's imports: a call of a method of an imported module compiles differently (3.11)."""
    try:
        lines = linecache.getlines(code.co_filename, module_globals)
    except Exception:  # a loader's or a patched linecache's own failure (doctest's, for one)
        return None
    tree = _module_tree(code.co_filename, tuple(lines)) if lines else None
    if tree is None:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == code.co_name and not getattr(
                node, "type_params", None):
            first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            if first == code.co_firstlineno:
                return node, _module_imports(tree.body)
    return None


def _module_imports(statements: list[ast.stmt]) -> list[ast.stmt]:
    """The import statements of module scope, in compound statements too (not in defs, classes)."""
    found: list[ast.stmt] = []
    for statement in statements:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            found.append(statement)
        elif not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for block in _blocks(statement):
                found.extend(_module_imports(block))
    return found


def _scaffold(qualname: str, code: types.CodeType, imports: list[ast.stmt]) -> Any:
    """A function putting a ``def`` into the classes and functions its qualified name names.

    Enclosing classes give private names their mangling and ``super()`` its ``__class__`` cell;
    the innermost enclosing function binds the closure's names, so they compile to cell reads.
    """
    scopes: list[tuple[str, str]] = []
    parts = qualname.split(".")[:-1]
    while parts:
        name = parts.pop(0)
        if name.startswith("<"):
            return None
        if parts and parts[0] == "<locals>":
            parts.pop(0)
            scopes.append(("def", name))
        else:
            scopes.append(("class", name))
    free = [name for name in code.co_freevars if name != "__class__"]
    kinds = [kind for kind, _ in scopes]
    if free and "def" not in kinds or "__class__" in code.co_freevars and "class" not in kinds:
        return None
    innermost_def = len(kinds) - 1 - kinds[::-1].index("def") if "def" in kinds else -1

    def wrap(node: ast.FunctionDef) -> ast.Module:
        body: list[ast.stmt] = [node]
        for index in reversed(range(len(scopes))):
            kind, name = scopes[index]
            if kind == "def":
                cells = [ast.Assign(targets=[ast.Name(id=cell, ctx=ast.Store())], value=ast.Constant(None))
                         for cell in free] if index == innermost_def else []
                parent: ast.stmt = ast.FunctionDef(
                    name=name, args=_no_arguments(), body=cells + body, decorator_list=[], returns=None,
                    type_comment=None, **({"type_params": []} if _TYPE_PARAMS else {}))
            else:
                parent = ast.ClassDef(name=name, bases=[], keywords=[], body=body, decorator_list=[],
                                      **({"type_params": []} if _TYPE_PARAMS else {}))
            body = [_located(parent, node)]
        return _located(ast.Module(body=imports + body, type_ignores=[]), node)

    return wrap


def _no_arguments() -> ast.arguments:
    return ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                         kwarg=None, defaults=[])


def _located(new: Any, at: ast.AST) -> Any:
    """``new`` with every node that has no position placed at ``at``'s first line."""
    for child in ast.walk(new):
        if "lineno" in child._attributes and not hasattr(child, "lineno"):
            child.lineno = child.end_lineno = at.lineno
            child.col_offset = child.end_col_offset = 0
    return new


def _compiled(module: ast.Module, code: types.CodeType) -> types.CodeType | None:
    """The code object of ``code``'s function in ``module`` compiled as ``code`` was."""
    try:
        compiled = compile(module, code.co_filename, "exec", flags=code.co_flags & _FUTURE_FLAGS,
                           dont_inherit=True)
    except (SyntaxError, ValueError, TypeError):
        return None
    pending = [compiled]
    while pending:
        for const in pending.pop().co_consts:
            if isinstance(const, types.CodeType):
                if const.co_name == code.co_name and const.co_firstlineno == code.co_firstlineno \
                        and const.co_qualname == code.co_qualname:
                    return const
                pending.append(const)
    return None


def _always_bound(node: ast.FunctionDef, code: types.CodeType, names: tuple[str, ...]) -> bool:
    """True when each ``return`` of ``node`` (and its end, if reachable) comes after statements that
    bind every name of ``names`` on every path to it -- a conservative reading: only statements of
    the enclosing blocks that ran before count, and nothing may unbind one of the names."""
    wanted = set(names)
    if wanted & set(code.co_cellvars + code.co_freevars):  # a nested function may unbind it
        return False
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Del) and child.id in wanted \
                or isinstance(child, ast.ExceptHandler) and child.name in wanted:
            return False
    arguments = node.args
    bound = {a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs}
    bound |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
    ends_bound = _block_bound(node.body, bound, wanted)
    return ends_bound is not False and (isinstance(node.body[-1], (ast.Return, ast.Raise)) or ends_bound)


def _block_bound(statements: list[ast.stmt], bound: set[str], wanted: set[str]) -> bool:
    """Follow ``statements`` with the names ``bound`` before them: False if a return lacks a wanted
    name, else whether all are bound once the block ran."""
    bound = set(bound)
    for statement in statements:
        if isinstance(statement, ast.Return) and not wanted <= bound:
            return False
        if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            # A block of a compound statement may not run, or stop early: it adds no name after it.
            if any(_block_bound(block, bound, wanted) is False for block in _blocks(statement)):
                return False
        bound |= _bound_by(statement)
    return wanted <= bound


def _blocks(statement: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists inside a compound statement (not those of nested scopes)."""
    blocks = [getattr(statement, field) for field in ("body", "orelse", "finalbody")
              if getattr(statement, field, None)]
    parts = list(getattr(statement, "handlers", ())) + list(getattr(statement, "cases", ()))
    return blocks + [part.body for part in parts]


def _bound_by(statement: ast.stmt) -> set[str]:
    """The names a simple statement (or a ``def``, ``class``) binds."""
    if isinstance(statement, ast.Assign):
        return set().union(*map(_stored_names, statement.targets))
    if isinstance(statement, (ast.AugAssign, ast.AnnAssign)):
        return _stored_names(statement.target) if statement.value is not None else set()
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in statement.names}
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    return set()


def _state_names(i: int) -> tuple[str, str]:
    """The copy's hidden locals for watched name ``i``: the object last seen, the assignments counted."""
    return f"{_PREFIX}last_{i}", f"{_PREFIX}count_{i}"


def _placed(source: str, at: ast.stmt) -> list[ast.stmt]:
    """The statements of ``source``, all placed on ``at``'s first line: run after (or before) a
    statement of that line, they add no line event a debugger or coverage would not expect."""
    statements = ast.parse(source).body
    for statement in statements:
        for child in ast.walk(statement):
            if "lineno" in child._attributes:
                child.lineno = child.end_lineno = at.lineno
                child.col_offset = child.end_col_offset = at.col_offset
    return statements


def _stored_names(target: ast.AST) -> set[str]:
    return {node.id for node in ast.walk(target) if isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Store)}


class _Rewriter:
    """Rewrites a copy of one ``def``: capture calls after bindings, locals at each return."""

    def __init__(self, watch: tuple[str, ...], returned: str | tuple[str, ...] | None,
                 code: types.CodeType) -> None:
        self.index = {name: i for i, name in enumerate(watch)}
        self.returned = returned
        self.code = code
        #: The watched names the statement just rewritten binds (checked by ``block``).
        self.bound_here: set[str] = set()
        #: Lines of the statements followed by a capture call: every store of a watched name must
        #: be on one of them, or the copy would miss an assignment the frame observer reports.
        self.covered: set[int] = set()

    def function(self, node: ast.FunctionDef) -> ast.FunctionDef:
        watched = set(self.index)
        if watched & set(self.code.co_cellvars):  # nested functions may rebind it anywhere
            raise _Unsupported
        if any(isinstance(n, ast.NamedExpr) and n.target.id in watched for n in ast.walk(node)):
            raise _Unsupported
        first = node.body[0]
        docstring = [first] if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str) else []
        statements = node.body[len(docstring):] or node.body
        entry = self.entry_baseline(node, statements[0])
        body = self.block(node.body[len(docstring):], in_finally=False)
        last = node.body[-1]
        if self.returned is not None and not isinstance(last, (ast.Return, ast.Raise)):
            # Falling off the end.  On the last statement's first line: for a compound statement
            # a line that ran already, so coverage sees no line the original did not run.
            body.append(self.capturing_return(None, last))
        node.body = docstring + entry + body
        if self.index:
            # Keyword-only: the first positional parameter stays the one super() reads.
            node.args.kwonlyargs.append(ast.arg(arg=SEEN))
            node.args.kw_defaults.append(None)
            sites = store_sites(self.code, list(self.index))
            if sites.every_line or set(sites.lines) - self.covered:
                raise _Unsupported
        return node

    def entry_baseline(self, node: ast.FunctionDef, at: ast.stmt) -> list[ast.stmt]:
        """The hidden locals at entry: nothing seen (the hook itself stands for that; no value of the
        traced code is it) or, for a parameter, its value at entry, which is no assignment."""
        arguments = node.args
        parameters = {a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs}
        parameters |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
        source = "".join(f"{_state_names(i)[0]} = {name if name in parameters else SEEN}\n{_state_names(i)[1]} = 0\n"
                         for name, i in self.index.items())
        return _placed(source, at)

    def seen_call(self, name: str, at: ast.stmt) -> list[ast.stmt]:
        i = self.index[name]
        last, count = _state_names(i)
        return _placed(f"if {name} is not {last}:\n    {last} = {name}\n"
                       f"    {count} = {SEEN}({i}, {name}, {count})\n", at)

    def capturing_return(self, value: ast.expr | None, at: ast.stmt) -> ast.stmt:
        if self.returned == LOCALS:
            final: ast.expr = ast.Call(func=ast.Name(id="locals", ctx=ast.Load()), args=[], keywords=[])
        else:
            final = ast.Tuple(elts=[ast.Name(id=name, ctx=ast.Load()) for name in self.returned], ctx=ast.Load())
        pair = ast.Tuple(elts=[value if value is not None else ast.Constant(None), final], ctx=ast.Load())
        new = ast.Return(value=pair)
        for child in ast.walk(new):
            if not hasattr(child, "lineno"):
                child.lineno, child.col_offset = at.lineno, at.col_offset
                child.end_lineno, child.end_col_offset = at.lineno, at.col_offset
        return new

    def block(self, statements: list[ast.stmt], in_finally: bool) -> list[ast.stmt]:
        result: list[ast.stmt] = []
        pending: set[str] = set()
        for position, statement in enumerate(statements):
            result.extend(self.statement(statement, in_finally))
            pending |= self.bound_here
            self.bound_here = set()
            following = statements[position + 1] if position + 1 < len(statements) else None
            # Checked once the line is over, as the frame observer reads them: ``a = 1; a = 2``
            # is one assignment of 2.
            if pending and (following is None or following.lineno != statement.end_lineno):
                for name in sorted(pending, key=self.index.__getitem__):
                    result.extend(self.seen_call(name, statement))
                pending = set()
        return result

    def after(self, statement: ast.stmt, names: set[str]) -> list[ast.stmt]:
        """``statement``, whose watched names among ``names`` are checked once its line is over."""
        watched = names & set(self.index)
        if watched:
            start = min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", ())])
            self.covered.update(range(start, (statement.end_lineno or statement.lineno) + 1))
            self.bound_here = watched
        return [statement]

    def at_start(self, statement: ast.stmt, names: set[str], body: list[ast.stmt]) -> list[ast.stmt]:
        """``body`` led by capture calls for the names ``statement``'s header binds."""
        watched = sorted(names & set(self.index), key=self.index.__getitem__)
        if watched:
            self.covered.update(range(statement.lineno, body[0].lineno))
            self.covered.add(statement.lineno)
        return [call for name in watched for call in self.seen_call(name, statement)] + body

    def statement(self, node: ast.stmt, in_finally: bool) -> list[ast.stmt]:
        watched = set(self.index)
        if isinstance(node, ast.Return):
            if self.returned is not None:
                if in_finally:  # the locals must be read after the finally block ran
                    raise _Unsupported
                return [ast.copy_location(self.capturing_return(node.value, node), node)]
            return [node]
        if isinstance(node, (ast.Import, ast.ImportFrom)) and watched \
                and any(alias.name == "*" for alias in node.names):
            raise _Unsupported
        bound = _bound_by(node)
        if bound:  # a nested def or class is one binding: its body is not ours
            return self.after(node, bound)
        if isinstance(node, ast.Delete):
            if watched & {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Del)}:
                raise _Unsupported
            return [node]
        if isinstance(node, (ast.For, ast.AsyncFor)):
            node.body = self.at_start(node, _stored_names(node.target), self.block(node.body, in_finally))
            node.orelse = self.block(node.orelse, in_finally)
            return [node]
        if isinstance(node, (ast.With, ast.AsyncWith)):
            bound = set().union(*(_stored_names(item.optional_vars) for item in node.items
                                  if item.optional_vars is not None))
            node.body = self.at_start(node, bound, self.block(node.body, in_finally))
            return [node]
        if isinstance(node, (ast.If, ast.While)):
            node.body = self.block(node.body, in_finally)
            node.orelse = self.block(node.orelse, in_finally)
            return [node]
        if isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            guarded = in_finally or bool(node.finalbody)
            node.body = self.block(node.body, guarded)
            for handler in node.handlers:
                if handler.name in watched:
                    raise _Unsupported
                handler.body = self.block(handler.body, guarded)
            node.orelse = self.block(node.orelse, guarded)
            node.finalbody = self.block(node.finalbody, in_finally)
            return [node]
        if type(node).__name__ == "Match":
            for case in node.cases:
                if watched & ({getattr(n, "name", None) for n in ast.walk(case.pattern)}
                              | {getattr(n, "rest", None) for n in ast.walk(case.pattern)}):
                    raise _Unsupported
                case.body = self.block(case.body, in_finally)
            return [node]
        if isinstance(node, (ast.Global, ast.Nonlocal)) and watched & set(node.names) \
                or type(node).__name__ == "TypeAlias" and node.name.id in watched:
            raise _Unsupported
        return [node]
