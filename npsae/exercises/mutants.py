"""Mutants of an instructor solution: the results of one small, typical change to its code.

A student's wrong result that nobody catalogued is often the solution with one thing changed: a
log in base 10, a sum for a mean, the wrong axis, a term left out, a fraction upside down, the
square of a sum for the sum of squares, tanh for the sigmoid, a bias added outside the
activation... ``mutants`` applies each operator of ``OPERATORS`` at each place of the solution's
function where it fits, one change per mutant. The grader evaluates the mutants on the failing
case, in its own process (the solutions are trusted code), and when the student's result
equals a mutant's it says what that change is, in words that name the change and the inputs it
touches, never the solution's line.

An operator is a function ``node -> [(replacement, description), ...]`` over the nodes of the
solution's syntax tree; a description completes "your result equals the expected computation
with one change: ...".
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import functools
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from importlib import resources

import numpy as np

#: Seconds the grader spends at most evaluating the mutants of one exercise on one case.
BUDGET = 2.0
#: What a mutant of the solution, and of a debugging stub's buggy code, is a change of.
RIGHT = "the right computation"
STUB = "the stub's buggy code"

_ACTIVATIONS = ("sigmoid",)


@dataclasses.dataclass(frozen=True)
class Mutant:
    """The solution's function with one change: ``description`` says which, ``function``
    computes it."""

    description: str
    function: Callable


# --------------------------------------------------------------------------- the operators


def _np(attr: str) -> ast.expr:
    return ast.Attribute(ast.Name("np", ast.Load()), attr, ast.Load())


def _call(fn: ast.expr, *args: ast.expr) -> ast.Call:
    return ast.Call(fn, list(args), [])


class Context:
    """What the operators know of the solution's function: its parameters, the parameters each
    of its local names is computed from, and each node's parent."""

    def __init__(self, fn: ast.FunctionDef) -> None:
        self.params = frozenset(a.arg for a in fn.args.args)
        # The functions the module has (those of earlier exercises): set by ``mutants``.
        self.functions: frozenset = frozenset()
        self.depends: dict[str, frozenset] = {p: frozenset([p]) for p in self.params}
        self.parents: dict[int, ast.AST] = {}
        for node in ast.walk(fn):
            for child in ast.iter_child_nodes(node):
                self.parents[id(child)] = node
            if isinstance(node, ast.Assign):
                inputs = self.inputs(node.value)
                for target in node.targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            self.depends[name.id] = inputs

    def inputs(self, node: ast.AST) -> frozenset:
        """The parameters ``node`` is computed from."""
        found: frozenset = frozenset()
        for n in ast.walk(node):
            if isinstance(n, ast.Name):
                found |= self.depends.get(n.id, frozenset())
        return found

    def what(self, node: ast.expr) -> str:
        """A sub-expression for the student: itself when it is a number, the size of a
        parameter (X.shape[0]) or a short expression in parameters only (beta, wd * p), else
        the inputs it is computed from."""
        text = ast.unparse(node)
        names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        if (
            isinstance(node, ast.Constant)
            or text.startswith(tuple(f"{p}.shape[" for p in self.params))
            # A short product or sum of parameters, as the stub writes them (wd * p).
            or (len(text) <= 16 and names <= self.params and "(" not in text)
        ):
            return text
        names = sorted(self.inputs(node))
        return f"a quantity computed from {', '.join(names)}" if names else "a quantity"

    def sketch(self, node: ast.expr) -> str:
        """A sum as its terms, each a number, a parameter or "...": "... + eps"; any other
        expression as ``what`` describes it."""
        if not _is_sum(node):
            return self.what(node)
        parts = []
        for term, op in _signed_terms(node):
            text = self.what(term)
            shown = text if not text.startswith("a quantity") else "..."
            parts.append(f"{op} {shown}" if parts or op == "-" else shown)
        return " ".join(parts)

    def where(self, node: ast.AST) -> str:
        """Which term of the nearest enclosing sum holds ``node`` ("" if none)."""
        child, parent = node, self.parents.get(id(node))
        while parent is not None and not _is_sum(parent):
            child, parent = parent, self.parents.get(id(parent))
        if parent is None:
            return ""
        while _is_sum(above := self.parents.get(id(parent))) and above.left is parent:
            parent = above
        terms = _terms(parent)
        i = next(i for i, t in enumerate(terms) if any(n is child for n in ast.walk(t)))
        ordinal = _ORDINALS[i] if i < len(_ORDINALS) else f"{i + 1}th"
        return f", in the {ordinal} of the {len(terms)} terms of a sum"


_ORDINALS = ("first", "second", "third", "fourth", "fifth")


def _is_sum(node: ast.AST | None) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub))


def _signed_terms(node: ast.AST, op: str = "+") -> list[tuple[ast.AST, str]]:
    """The terms of a chain of + and -, left to right, each with the sign it enters with."""
    if _is_sum(node):
        right = "-" if isinstance(node.op, ast.Sub) else "+"
        # A sum on the right is a parenthesised group: one term.
        return [*_signed_terms(node.left, op), (node.right, right)]
    return [(node, op)]


def _terms(node: ast.AST) -> list[ast.AST]:
    """The terms of a chain of + and -, left to right."""
    return [term for term, _ in _signed_terms(node)]


def _is_np(node: ast.expr, *attrs: str) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "np"
        and node.attr in attrs
    )


def _reduction(node: ast.expr) -> tuple[str, ast.expr] | None:
    """(kind, argument) of np.sum(x, ...) / x.sum(...) (or mean), else None."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return None
    kind = node.func.attr
    if kind not in ("sum", "mean"):
        return None
    if _is_np(node.func, node.func.attr):
        return (kind, node.args[0]) if node.args else None
    return kind, node.func.value


def _axis(node: ast.Call) -> int | None:
    for kw in node.keywords:
        if kw.arg == "axis" and isinstance(kw.value, ast.Constant):
            return kw.value.value
    return None


def log_base(node, ctx):
    if _is_np(node, "log"):
        yield _np("log10"), "a log in base 10 (np.log10) where the natural log belongs"
        yield _np("log2"), "a log in base 2 (np.log2) where the natural log belongs"


def reduction_kind(node, ctx):
    red = _reduction(node)
    if red is None:
        return
    kind, arg = red
    other = "mean" if kind == "sum" else "sum"
    new = copy.deepcopy(node)
    new.func.attr = other
    yield new, f"a {other} where a {kind} belongs"
    axis = _axis(node)
    if axis is not None:
        flat = copy.deepcopy(node)
        flat.keywords = [k for k in flat.keywords if k.arg != "axis"]
        yield flat, f"one {kind} over all the entries where a {kind} over axis {axis} belongs"
        for other_axis in (0, 1):
            if other_axis != axis:
                turned = copy.deepcopy(node)
                for k in turned.keywords:
                    if k.arg == "axis":
                        k.value = ast.Constant(other_axis)
                yield turned, f"the {kind} taken over axis {other_axis} instead of axis {axis}"
    where = f" over axis {axis}" if axis is not None else ""
    yield arg, f"the {kind}{where} is missing: each entry is used where their {kind} belongs"
    if isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Pow):
        outside = copy.deepcopy(node)
        if _is_np(outside.func, outside.func.attr):
            outside.args[0] = arg.left
        else:
            outside.func.value = arg.left
        yield (
            ast.BinOp(outside, ast.Pow(), arg.right),
            f"the square of the {kind} where the {kind} of the squares belongs (the power taken "
            f"after the {kind}, not before)",
        )


def drop_operand(node, ctx):
    """A term left out of a sum, a factor or a divisor left out of a product."""
    if not isinstance(node, ast.BinOp):
        return
    if isinstance(node.op, (ast.Add, ast.Sub)):
        for kept, dropped in ((node.left, node.right), (node.right, node.left)):
            if kept is node.right and isinstance(node.op, ast.Sub):
                kept = ast.UnaryOp(ast.USub(), kept)
            yield kept, f"a term ({ctx.what(dropped)}) left out of a sum"
    elif isinstance(node.op, ast.Mult):
        for kept, dropped in ((node.left, node.right), (node.right, node.left)):
            yield kept, f"a factor ({ctx.what(dropped)}) left out"
    elif isinstance(node.op, ast.Div):
        yield node.left, f"the division by {ctx.what(node.right)} left out"


# How each operator may be mistaken for another: (the other operator, whether the operands
# swap, what it means; {what} is the right operand).
_OPERATOR_SWAPS: dict[type, tuple[tuple[type, bool, str], ...]] = {
    ast.Add: ((ast.Sub, False, "{what} subtracted where it is added"),),
    ast.Sub: (
        (ast.Add, False, "{what} added where it is subtracted"),
        (ast.Sub, True, "a difference taken the wrong way round ({what} minus the rest)"),
    ),
    ast.Div: (
        (ast.Div, True, "a fraction upside down (its denominator, {what}, on top)"),
        (ast.Mult, False, "multiplied by {what} where it divides"),
    ),
    ast.Mult: (
        (ast.Div, False, "divided by {what} where it multiplies"),
        (ast.MatMult, False, "a matrix product (@) where an element-wise product (*) belongs"),
    ),
    ast.MatMult: (
        (ast.Mult, False, "an element-wise product (*) where the matrix product (@) belongs"),
    ),
}


def flip_operator(node, ctx):
    """A sign, a fraction upside down, a product for a quotient, * for @ and @ for *."""
    if isinstance(node, ast.BinOp):
        constant = any(isinstance(x, ast.Constant) for x in (node.left, node.right))
        for op, swap, text in _OPERATOR_SWAPS.get(type(node.op), ()):
            if isinstance(node.op, ast.Mult) and constant:
                continue  # 2 * x: a factor 2 is dropped or kept, never divided by
            left, right = (node.right, node.left) if swap else (node.left, node.right)
            yield ast.BinOp(left, op(), right), text.format(what=ctx.what(node.right))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield node.operand, f"a minus sign missing (on {ctx.what(node.operand)})"


def power(node, ctx):
    """Squares: a difference of squares, an absolute value, no square at all."""
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow)):
        return
    base = node.left
    if isinstance(base, ast.BinOp) and isinstance(base.op, (ast.Add, ast.Sub)):
        yield (
            ast.BinOp(
                ast.BinOp(base.left, ast.Pow(), node.right),
                base.op,
                ast.BinOp(base.right, ast.Pow(), node.right),
            ),
            "a difference of squares a^2 - b^2 where the square of the difference (a - b)^2 "
            "belongs",
        )
    if isinstance(node.right, ast.Constant):
        c = node.right.value
        yield ast.BinOp(base, ast.Mult(), node.right), f"times {c} where the power {c} belongs"
    yield _call(_np("abs"), base), "an absolute value where a square belongs"
    yield base, "the square (the power) left out"


def absolute(node, ctx):
    if isinstance(node, ast.Call) and _is_np(node.func, "abs") and node.args:
        yield node.args[0], "no absolute value where one belongs"
    if isinstance(node, ast.Name) and node.id in ctx.params and isinstance(node.ctx, ast.Load):
        yield _call(_np("abs"), node), f"|{node.id}| (its absolute value) used where {node.id} is"


def _sigmoid_argument(node) -> ast.expr | None:
    """z, for sigmoid(z) or 1 / (1 + np.exp(-z))."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id in _ACTIVATIONS and len(node.args) == 1:
            return node.args[0]
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Div)
        and isinstance(node.left, ast.Constant)
        and node.left.value == 1
        and isinstance(node.right, ast.BinOp)
        and isinstance(node.right.op, ast.Add)
        and isinstance(node.right.right, ast.Call)
        and _is_np(node.right.right.func, "exp")
        and isinstance(node.right.right.args[0], ast.UnaryOp)
        and isinstance(node.right.right.args[0].op, ast.USub)
    ):
        return node.right.right.args[0].operand
    return None


def activation(node, ctx):
    """Another activation for the sigmoid, or for the ReLU; the sigmoid applied twice; a term
    added outside the activation instead of inside."""
    z = _sigmoid_argument(node)
    if z is not None:
        yield _call(_np("tanh"), z), "tanh where the sigmoid belongs"
        yield _call(_np("maximum"), z, ast.Constant(0)), "a ReLU where the sigmoid belongs"
        yield z, "the sigmoid left out (a linear unit)"
        yield _sigmoid(node), "the sigmoid applied twice"
        if isinstance(z, ast.BinOp) and isinstance(z.op, ast.Add):
            inner = copy.deepcopy(node)
            _replace_in(inner, z, z.left)
            yield (
                ast.BinOp(inner, ast.Add(), z.right),
                f"{ctx.what(z.right)} added after the sigmoid instead of inside it",
            )
    if (
        isinstance(node, ast.Call)
        and _is_np(node.func, "maximum")
        and len(node.args) == 2
        and isinstance(node.args[1], ast.Constant)
    ):
        z = node.args[0]
        yield _sigmoid(z), "a sigmoid where the ReLU belongs"
        yield z, "the ReLU left out (a linear unit)"


def _sigmoid(z: ast.expr) -> ast.expr:
    """1 / (1 + np.exp(-z))."""
    exp = _call(_np("exp"), ast.UnaryOp(ast.USub(), z))
    return ast.BinOp(ast.Constant(1), ast.Div(), ast.BinOp(ast.Constant(1), ast.Add(), exp))


def _replace_in(tree: ast.AST, old: ast.AST, new: ast.AST) -> None:
    """Replace the node equal to ``old`` (by its source) in ``tree``, once."""
    target = ast.dump(old)
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if isinstance(value, ast.AST) and ast.dump(value) == target:
                setattr(parent, field, new)
                return
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, ast.AST) and ast.dump(item) == target:
                        value[i] = new
                        return


def derivative(node, ctx):
    """Another activation's derivative for the sigmoid's a (1 - a), or for the ReLU's."""
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Mult)
        and isinstance(node.right, ast.BinOp)
        and isinstance(node.right.op, ast.Sub)
        and isinstance(node.right.left, ast.Constant)
        and node.right.left.value == 1
        and ast.dump(node.left) == ast.dump(node.right.right)
    ):
        a = node.left
        square = ast.BinOp(a, ast.Pow(), ast.Constant(2))
        yield (
            ast.BinOp(ast.Constant(1), ast.Sub(), square),
            "tanh's derivative 1 - a^2 where the sigmoid's derivative belongs",
        )
        yield (
            ast.Compare(a, [ast.Gt()], [ast.Constant(0)]),
            "the ReLU's derivative (a > 0) where the sigmoid's derivative belongs",
        )
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        flipped = {ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Lt: ast.LtE, ast.LtE: ast.Lt}
        kind = type(node.ops[0])
        if kind in flipped:
            new = ast.Compare(node.left, [flipped[kind]()], node.comparators)
            yield new, f"the comparison {ast.unparse(new)} where {ast.unparse(node)} belongs"


def parentheses(node, ctx):
    """A pair of grouping parentheses left out of a line: a / (b + c) read as a / b + c,
    p - (a + b) as p - a + b."""
    if not isinstance(node, (ast.Assign, ast.AugAssign, ast.Return)) or node.value is None:
        return
    text = ast.unparse(node.value)
    for start, end in _groups(text):
        try:
            new = ast.parse(text[:start] + text[start + 1 : end] + text[end + 1 :], mode="eval")
            inner = ast.parse(text[start + 1 : end], mode="eval")
        except SyntaxError:
            continue
        if ast.dump(new.body) != ast.dump(node.value):
            stmt = copy.deepcopy(node)
            stmt.value = new.body
            yield (
                stmt,
                f"a pair of parentheses left out (around {ctx.sketch(inner.body)}): the "
                "operators beside them now apply to a part of what they grouped",
            )


def _groups(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each pair of grouping parentheses of ``text`` (not a call's)."""
    opened: list[tuple[int, bool]] = []
    for i, ch in enumerate(text):
        if ch == "(":
            before = text[:i].rstrip()[-1:]
            opened.append((i, before.isalnum() or before in "_)]"))
        elif ch == ")" and opened:
            start, call = opened.pop()
            if not call:
                yield start, i


def unwrap(node, ctx):
    """An element-wise function, or one of an earlier exercise, left out: its argument used as
    it is."""
    if not isinstance(node, ast.Call) or len(node.args) != 1 or node.keywords:
        return
    elementwise = _is_np(node.func, "sqrt", "exp", "log", "tanh", "square")
    imported = isinstance(node.func, ast.Name) and node.func.id in ctx.functions
    if elementwise or imported:
        what = ast.unparse(node.func)
        yield node.args[0], f"{what} left out (its argument used as it is)"


def off_by_one(node, ctx):
    """A count one too many or too few: in an exponent, a slice or a range."""
    if not (isinstance(node, ast.Name) and node.id in ctx.params):
        return
    parent = ctx.parents.get(id(node))
    counted = (
        (isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Pow) and parent.right is node)
        or isinstance(parent, ast.Slice)
        or (isinstance(parent, ast.Call) and ast.unparse(parent.func) == "range")
    )
    if counted:
        for op, word in ((ast.Add(), "+"), (ast.Sub(), "-")):
            yield (
                ast.BinOp(node, op, ast.Constant(1)),
                f"{node.id} {word} 1 where {node.id} belongs (off by one)",
            )


def names(node, ctx):
    """One name where another of the same line belongs (a typo: X for X_hat)."""
    if not isinstance(node, (ast.Assign, ast.AugAssign, ast.Return)):
        return
    loaded = [
        n
        for n in ast.walk(node)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in ctx.depends
    ]
    for n in loaded:
        for other in sorted({m.id for m in loaded} - {n.id}):
            new = copy.deepcopy(node)
            target = next(
                m
                for m in ast.walk(new)
                if isinstance(m, ast.Name) and m.col_offset == n.col_offset and m.lineno == n.lineno
            )
            target.id = other
            yield new, f"{other} where {n.id} belongs, once (a typo?)"


def transpose(node, ctx):
    if isinstance(node, ast.Attribute) and node.attr == "T":
        yield node.value, f"the transpose of {ctx.what(node.value)} left out"


def sizes(node, ctx):
    """m for n and n for m: the rows and the columns of an input."""
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "shape"
        and isinstance(node.slice, ast.Constant)
        and node.slice.value in (0, 1)
    ):
        arr = ast.unparse(node.value.value)
        i = node.slice.value
        new = copy.deepcopy(node)
        new.slice = ast.Constant(1 - i)
        yield new, f"{arr}.shape[{1 - i}] where {arr}.shape[{i}] belongs (columns for rows?)"
    if (
        isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Tuple)
        and len(node.targets[0].elts) == 2
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "shape"
    ):
        a, b = (ast.unparse(e) for e in node.targets[0].elts)
        new = copy.deepcopy(node)
        new.targets[0].elts.reverse()
        yield new, f"{a} and {b} swapped (the numbers of rows and columns)"


#: The mutation operators, in the order their matches are reported.
OPERATORS: tuple[Callable[[ast.AST, Context], Iterable[tuple[ast.AST, str]]], ...] = (
    log_base,
    activation,
    derivative,
    power,
    reduction_kind,
    sizes,
    absolute,
    transpose,
    parentheses,
    flip_operator,
    drop_operand,
    unwrap,
    off_by_one,
    names,
)

# --------------------------------------------------------------------------- making mutants


class _Numbered(ast.NodeTransformer):
    """Visits nodes in pre-order, numbering them; replaces node i by ``changes[i]``."""

    def __init__(self, changes: dict[int, ast.AST] | None = None) -> None:
        self.count, self.changes, self.nodes = 0, changes or {}, []

    def visit(self, node: ast.AST) -> ast.AST:
        i = self.count
        self.count += 1
        self.nodes.append(node)
        if i in self.changes:
            # The nodes under a replaced one keep their numbers: later changes still find theirs.
            self.count += sum(1 for _ in ast.walk(node)) - 1
            return self.changes[i]
        return self.generic_visit(node)


def _function(tree: ast.Module, name: str) -> ast.FunctionDef:
    return next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)


def _sites(fn: ast.FunctionDef) -> Iterator[tuple[int, ast.AST]]:
    """The numbered nodes of the function's body (not its signature or docstring)."""
    skip = {id(n) for arg in (fn.args, fn.returns) if arg for n in ast.walk(arg)}
    inside = {id(n) for stmt in fn.body for n in ast.walk(stmt)}
    original = _Numbered()
    original.visit(fn)
    for i, node in enumerate(original.nodes):
        if id(node) in inside and id(node) not in skip:
            yield i, node


def _namespace(tree: ast.Module, load: Callable[[str], str | None]) -> dict:
    """The globals the solution's module needs: its own imports, and each import from another
    exercise's file (a module named after the exercise: ``load`` gives its solution's source)
    resolved to that exercise's solution (run here, not imported)."""
    namespace: dict = {"__name__": "_npsae_mutant"}
    for node in tree.body:
        is_from = isinstance(node, ast.ImportFrom) and node.module
        sibling_source = load(node.module) if is_from else None
        if sibling_source is not None:
            sibling = _module(sibling_source, load)
            for alias in node.names:
                namespace[alias.asname or alias.name] = sibling[alias.name]
        elif isinstance(node, (ast.Import, ast.ImportFrom, ast.Assign)):
            exec(compile(ast.Module([node], []), "<solution>", "exec"), namespace)
    return namespace


def _module(source: str, load: Callable[[str], str | None]) -> dict:
    tree = ast.parse(source)
    namespace = _namespace(tree, load)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            exec(compile(ast.Module([node], []), "<solution>", "exec"), namespace)
    return namespace


def mutants(
    source: str, name: str, load: Callable[[str], str | None], of: str = RIGHT
) -> list[Mutant]:
    """Every first-order mutant of function ``name`` in the solution ``source``, in the order
        of ``OPERATORS``; ``load(module)`` gives the source of a sibling solution it imports (None
    for a module that is no exercise). A
        change that fits several places (the natural log, the sigmoid) is also made at all of them
        at once, as a student who learnt it wrong would. Each description reads "``of`` with one
        change: ..."."""
    tree = ast.parse(source)
    namespace = _namespace(tree, load)
    fn = _function(tree, name)
    ctx = Context(fn)
    ctx.functions = frozenset(k for k, v in namespace.items() if callable(v) and k != "np")
    found = []

    def make(changes: dict[int, ast.AST], description: str) -> None:
        mutated = _Numbered(changes).visit(copy.deepcopy(fn))
        module = ast.fix_missing_locations(ast.Module([mutated], []))
        local = dict(namespace)
        try:
            exec(compile(module, f"<mutant of {name}>", "exec"), local)
        except (SyntaxError, TypeError, ValueError):  # a node that fits no context
            return
        found.append(Mutant(f"{of} with one change: {description}", local[name]))

    sites = list(_sites(fn))
    for operator in OPERATORS:
        by_description: dict[str, dict[int, ast.AST]] = {}
        for i, node in sites:
            for new, description in operator(node, ctx):
                by_description.setdefault(description, {})[i] = new
                where = "" if _is_sum(node) else ctx.where(node)
                make({i: new}, description + where)
        for description, changes in by_description.items():
            if len(changes) > 1:
                make(changes, f"{description}, at every place it fits")
    return found


def built_in_solution(module: str) -> str | None:
    """The source of npsae's solution of the exercise ``module`` (None: no such exercise)."""
    path = resources.files(__package__) / "solutions" / f"{module}.py"
    return path.read_text("utf-8") if module.isidentifier() and path.is_file() else None


@functools.cache
def solution_mutants(
    filename: str,
    name: str,
    stub: str = "",
    load: Callable[[str], str | None] = built_in_solution,
) -> tuple[Mutant, ...]:
    """The mutants of the instructor's solution ``filename`` (``NAME.py``; ``load(NAME)`` gives
    the solution of each exercise, npsae's by default), then, for a debugging exercise, those
    of its ``stub``'s buggy code: a student whose result is one of those changed something,
    but not the bug (cached)."""
    found = mutants(load(filename.removesuffix(".py")), name, load)
    if stub:
        found += mutants(stub, name, load, of=STUB)
    return tuple(found)


#: One case a mutant is tried on: its arguments, whether an output is the ``same`` as the
#: student's, and whether it ``differs`` from the expected one (None: need not).
Trial = tuple[tuple, Callable[[object], bool], Callable[[object], bool] | None]


def matching(
    candidates: Iterable[Mutant], trials: Sequence[Trial], budget: float = BUDGET
) -> list[str]:
    """The descriptions (without repeats, in order) of the mutants whose output is the ``same``
    as the student's on every trial, and ``differs`` from the expected where asked (on the
    case that failed, the first trial), by ``evaluate``; one that raises is no match, and
    evaluation stops after ``budget`` seconds."""
    start = time.perf_counter()
    found: list[str] = []
    for mutant in candidates:
        if time.perf_counter() - start > budget:
            break
        if mutant.description not in found and all(_agrees(mutant, t) for t in trials):
            found.append(mutant.description)
    return found


def evaluate(mutant: Mutant, args: tuple) -> object:
    """The mutant's output on a deep copy of ``args`` (a mutant may write into them), its
    warnings and floating-point errors silenced."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mutant.function(*copy.deepcopy(args))


def _agrees(mutant: Mutant, trial: Trial) -> bool:
    args, same, differs = trial
    try:
        out = evaluate(mutant, args)
        return (differs is None or differs(out)) and same(out)
    except Exception:  # a mutant that fails on this case is not the student's function
        return False
