"""Formula surfaces: a whitelist parser for expressions in x and y, and an evaluator of its trees.

A scenario is data, never code (docs/scenario-format.md), so the formula is never handed to Python's
``eval`` or ``compile``: a small recursive-descent parser accepts numbers, ``x``, ``y``, the
constants ``pi`` and ``e``, ``+ - * / **``, unary signs, parentheses and calls of the functions
in FUNCTIONS, and nothing else. Precedence and associativity are Python's: ``-x**2`` is
−(x²), ``2**-x`` is 2^(−x) and ``x**y**2`` is x^(y²).

The tree is plain tuples, so this module stays torch-free (the catalogue layer); the evaluator
takes the operations as arguments, and `sandbox.landscape.analytic` evaluates on torch tensors.
The limits keep a hostile file cheap: the length is checked before anything else, and the
nesting limit keeps the parser's recursion far below Python's stack limit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

FORMULA = "formula"  # the surface name whose function is the scenario's `formula`
MAX_CHARS = 500
MAX_NODES = 200  # numbers, names, operations and calls
MAX_DEPTH = 50  # nested parentheses, calls, signs and powers

# name -> what it is, for the docs; the torch functions are sandbox.landscape.analytic's.
FUNCTIONS = {
    "sin": "sine",
    "cos": "cosine",
    "exp": "exponential",
    "log": "natural logarithm",
    "sqrt": "square root",
    "tanh": "hyperbolic tangent",
    "abs": "absolute value",
}
VARIABLES = ("x", "y")
CONSTANTS = {"pi": math.pi, "e": math.e}

# A tree is ("num", value) | ("var", name) | ("neg", a) | (op, a, b) for op in + - * / ** |
# ("call", function, a).
Tree = tuple

_TOKEN = re.compile(
    r"[ \t\r\n]*+(?:"  # ASCII white space only: the panel draws the text as written
    r"(?P<number>(?:[0-9]++(?:\.[0-9]*+)?|\.[0-9]++)(?:[eE][+-]?+[0-9]++)?+)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*+)"
    r"|(?P<op>\*\*|[-+*/()])"
    r"|(?P<other>.)"
    r"|(?P<end>\Z))",
    re.DOTALL,
)
_KNOWN_NAMES = {*FUNCTIONS, *VARIABLES, *CONSTANTS}
_HINTS = {"^": " (write powers as **)", ",": " (functions take one argument)"}


class FormulaError(ValueError):
    """A formula that is not a valid expression; the message says why and at which column."""

    def __init__(self, reason: str, column: int | None = None):
        self.column = column
        super().__init__(reason if column is None else f"{reason} at column {column}")


def parse(text: str) -> Tree:
    """The tree of a formula; raise FormulaError naming the first problem and its column
    (1-based, in the formula's text)."""
    if len(text) > MAX_CHARS:
        raise FormulaError(f"is {len(text):,} characters long; the limit is {MAX_CHARS}")
    if not text.strip():
        raise FormulaError('is empty; write an expression in x and y, e.g. "x**2 - y**2"')
    return _Parser(text).formula()


class _Parser:
    """Recursive descent over the grammar (lowest precedence first):

    sum     := product (("+" | "-") product)*
    product := signed (("*" | "/") signed)*
    signed  := ("-" | "+") signed | power
    power   := atom ("**" signed)?          right-associative; binds tighter than a sign
    atom    := number | name | function "(" sum ")" | "(" sum ")"
    """

    def __init__(self, text: str):
        self.text = text
        self.tokens = list(_tokens(text))
        self.at = 0
        self.nodes = 0
        self.depth = 0

    def formula(self) -> Tree:
        tree = self.sum()
        kind, value, column = self.tokens[self.at]
        if kind != "end":
            # "2x" or "x(y + 1)": an operand right after a complete expression
            operand = kind == "number" or value == "(" or value in _KNOWN_NAMES
            hint = " (write '*' to multiply)" if operand else ""
            raise FormulaError(f"unexpected {_shown(kind, value)}{hint}", column)
        return tree

    def sum(self) -> Tree:
        tree = self.product()
        while self.peek() in ("+", "-"):
            op = self.take()[1]
            tree = self.node(op, tree, self.product())
        return tree

    def product(self) -> Tree:
        tree = self.signed()
        while self.peek() in ("*", "/"):
            op = self.take()[1]
            tree = self.node(op, tree, self.signed())
        return tree

    def signed(self) -> Tree:
        # Every nesting (parentheses, calls, signs, exponents) passes through here once.
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaError(f"is nested more than {MAX_DEPTH} deep (the limit)", self.column())
        if self.peek() in ("-", "+"):
            sign = self.take()[1]
            operand = self.signed()
            tree = self.node("neg", operand) if sign == "-" else operand
        else:
            tree = self.power()
        self.depth -= 1
        return tree

    def power(self) -> Tree:
        base = self.atom()
        if self.peek() == "**":
            self.take()
            return self.node("**", base, self.signed())
        return base

    def atom(self) -> Tree:
        kind, value, column = self.take()
        if kind == "number":
            return self.node("num", float(value))
        if kind == "name":
            return self.name(value, column)
        if value == "(":
            tree = self.sum()
            self.expect_close("'('", column)
            return tree
        expected = "expected a number, a name or '('"
        raise FormulaError(f"unexpected {_shown(kind, value)} ({expected})", column)

    def name(self, name: str, column: int) -> Tree:
        called = self.peek() == "("
        if name in FUNCTIONS:
            if not called:
                raise FormulaError(f"function '{name}' needs an argument in parentheses", column)
            self.take()
            argument = self.sum()
            self.expect_close(f"the call of '{name}'", column)
            return self.node("call", name, argument)
        if called:
            if name in VARIABLES or name in CONSTANTS:
                raise FormulaError(f"'{name}' is not a function (write '*' to multiply)", column)
            allowed = ", ".join(FUNCTIONS)
            raise FormulaError(f"unknown function '{name}' (allowed: {allowed})", column)
        if name in VARIABLES:
            return self.node("var", name)
        if name in CONSTANTS:
            return self.node("num", CONSTANTS[name])
        allowed = ", ".join((*VARIABLES, *CONSTANTS))
        raise FormulaError(f"unknown name '{_clip(name)}' (allowed: {allowed})", column)

    def node(self, *parts: Any) -> Tree:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            limit = f"has more than {MAX_NODES} terms and operations (the limit)"
            raise FormulaError(limit, self.column())
        return parts

    def peek(self) -> str | None:
        kind, value, _ = self.tokens[self.at]
        return value if kind == "op" else None

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.at]
        if token[0] == "other":
            raise FormulaError(f"unexpected {_shown(*token[:2])}", token[2])
        self.at += token[0] != "end"
        return token

    def expect_close(self, opened: str, column: int) -> None:
        """The ')' that closes `opened` (at `column`)."""
        kind, value, at = self.tokens[self.at]
        if kind == "end":
            raise FormulaError(f"{opened} is never closed with ')'", column)
        if (kind, value) != ("op", ")"):
            raise FormulaError(f"unexpected {_shown(kind, value)} (expected ')')", at)
        self.at += 1

    def column(self) -> int:
        return self.tokens[self.at][2]


def _tokens(text: str):
    """(kind, text, 1-based column) of each token, then ("end", "", column past the end)."""
    at = 0
    while True:
        match = _TOKEN.match(text, at)
        kind = match.lastgroup
        column = match.start(kind) + 1
        yield kind, match.group(kind), column
        if kind in ("end", "other"):
            return  # the parser stops at the first character it does not know
        at = match.end()


def _shown(kind: str, value: str) -> str:
    if kind == "end":
        return "end of the formula"
    if kind == "other":
        return f"character {value!r}{_HINTS.get(value, '')}"
    return f"'{_clip(value)}'"


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def evaluate(
    tree: Tree,
    variables: Mapping[str, Any],
    number: Callable[[float], Any],
    functions: Mapping[str, Callable[[Any], Any]],
) -> Any:
    """The tree's value: `variables` holds x and y, `number` makes a constant (its type decides
    the arithmetic: a 0-d tensor makes 1/0 inf where a Python float raises), `functions` holds
    one callable per name of FUNCTIONS. Recursion is bounded by MAX_NODES."""
    kind = tree[0]
    if kind == "num":
        return number(tree[1])
    if kind == "var":
        return variables[tree[1]]
    if kind == "call":
        return functions[tree[1]](evaluate(tree[2], variables, number, functions))
    operands = [evaluate(child, variables, number, functions) for child in tree[1:]]
    return _OPERATIONS[kind](*operands)


_OPERATIONS: dict[str, Callable[..., Any]] = {
    "neg": lambda a: -a,
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
}


def fold_constants(tree: Tree, value_of: Callable[[Tree], float]) -> Tree:
    """The tree with each largest subtree free of x and y replaced by its number, `value_of`
    it: evaluated once, not at every point, and what remains always has a variable on one
    side of each operation (so plain numbers in it follow the variables' arithmetic)."""
    if not uses_variables(tree):
        return ("num", value_of(tree))
    if tree[0] == "var":
        return tree
    if tree[0] == "call":
        return ("call", tree[1], fold_constants(tree[2], value_of))
    return (tree[0], *(fold_constants(child, value_of) for child in tree[1:]))


def uses_variables(tree: Tree) -> bool:
    """Whether the formula depends on x or y at all."""
    if tree[0] == "var":
        return True
    return any(isinstance(child, tuple) and uses_variables(child) for child in tree[1:])
