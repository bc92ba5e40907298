"""Every function and class on the API page (book/api.md) has a runnable example.

The page says so ("Every function and class has an example, and the examples are run as
tests"); this test reads the page's autodoc directives and checks each object they put on
it. The objects are collected as Sphinx's autodoc collects them:

- ``autofunction``, ``autoclass``: the named object;
- ``automodule`` with ``:members:``: the names listed there or, with no list, the module's
  public functions and classes (those in ``__all__`` if it has one, else those defined in
  the module, without a leading underscore);
- not counted, since the page's claim is about functions and classes: ``autodata`` (a
  value), and the methods and properties shown under a class (those an ``autoclass``
  lists under ``:members:``, and those autodoc adds under a class of an ``automodule``).

An object passes when its docstring has a numpy-style ``Examples`` section holding at
least one doctest line (``>>>``); the doctests themselves run under
``pytest --doctest-modules``.
"""

from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass

import pytest
from helpers import ROOT

API_PAGE = ROOT / "book" / "api.md"

DIRECTIVE = re.compile(r"^\.\. (autofunction|autoclass|automodule|autodata):: +(\S+)\s*$")
OPTION = re.compile(r"^\s+:(\w[\w-]*):\s*(.*)$")


@dataclass(frozen=True)
class Directive:
    kind: str
    target: str
    members: tuple[str, ...] | None  # None: no :members: option; (): all members


def eval_rst_blocks(text: str) -> list[str]:
    """The bodies of the page's ```{eval-rst} fences, where its directives live."""
    return re.findall(r"^```\{eval-rst\}\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def parse_directives(text: str) -> list[Directive]:
    """Every autodoc directive of the page, with its ``:members:`` option."""
    found: list[Directive] = []
    for block in eval_rst_blocks(text):
        kind = target = None
        members: tuple[str, ...] | None = None
        for line in [*block.splitlines(), ".. end:: here"]:
            match = DIRECTIVE.match(line)
            option = OPTION.match(line)
            if option and kind is not None:
                if option.group(1) == "members":
                    names = option.group(2).split(",")
                    members = tuple(name.strip() for name in names if name.strip())
                continue
            if kind is not None:
                found.append(Directive(kind, target, members))
                kind = target = None
                members = None
            if match:
                kind, target = match.groups()
            elif line.strip().startswith(".. ") and line.strip() != ".. end:: here":
                raise AssertionError(f"unknown directive on {API_PAGE.name}: {line!r}")
    return found


def resolve(dotted: str) -> object:
    """Import ``a.b.c`` as module ``a.b`` attribute ``c`` (or deeper), as autodoc does."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for name in parts[split:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(dotted)


def public_members(module) -> list[str]:
    """The functions and classes ``automodule`` with a bare ``:members:`` documents."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            name
            for name, obj in vars(module).items()
            if not name.startswith("_") and getattr(obj, "__module__", None) == module.__name__
        ]
    return [
        name
        for name in names
        if inspect.isfunction(getattr(module, name)) or inspect.isclass(getattr(module, name))
    ]


def documented_objects() -> list[str]:
    """Dotted names of every function and class the API page documents."""
    names: list[str] = []
    for directive in parse_directives(API_PAGE.read_text()):
        if directive.kind in ("autofunction", "autoclass"):
            names.append(directive.target)
        elif directive.kind == "automodule" and directive.members is not None:
            module = importlib.import_module(directive.target)
            listed = directive.members or tuple(public_members(module))
            names += [f"{directive.target}.{m}" for m in listed]
    return names


def examples_section(doc: str) -> str | None:
    """The text of the numpy-style ``Examples`` section of ``doc``, or None."""
    match = re.search(r"^Examples\n-{8,}\n(.*?)(?=^\S[^\n]*\n-{3,}\n|\Z)", doc, re.M | re.S)
    return match.group(1) if match else None


DOCUMENTED = documented_objects()


def test_the_page_is_parsed():
    # A parser that found nothing would let every object pass: the page documents the
    # core functions by name and at least one lab module by automodule.
    assert "dropmini.dropout" in DOCUMENTED and "dropmini.TorchComparison" in DOCUMENTED
    assert any(name.startswith("dropmini.lab.plots.") for name in DOCUMENTED)
    assert "dropmini.lab.gpt.TinyGPT" in DOCUMENTED  # a listed member of an automodule
    assert "dropmini.lab.gpt.Block" not in DOCUMENTED  # in __all__, but not listed there
    assert "dropmini.SELU_LAMBDA_ALPHA" not in DOCUMENTED  # autodata: a value
    assert "dropmini.GeneratorState.position" not in DOCUMENTED  # a property


def test_the_section_finder_finds_only_a_real_examples_section():
    doc = "Summary.\n\nReturns\n-------\nint\n    Examples of use are elsewhere.\n"
    assert examples_section(doc) is None
    doc = "Summary.\n\nExamples\n--------\n>>> 1 + 1\n2\n\nNotes\n-----\nA note.\n"
    assert examples_section(doc) == ">>> 1 + 1\n2\n\n"


@pytest.mark.parametrize("dotted", DOCUMENTED)
def test_every_documented_function_and_class_has_an_example(dotted):
    obj = resolve(dotted)
    doc = inspect.getdoc(obj)
    assert doc, f"{dotted} has no docstring, so the API page shows nothing for it"
    section = examples_section(doc)
    assert section is not None, f"{dotted} has no Examples section"
    assert ">>>" in section, f"{dotted}: its Examples section holds no doctest"
