"""The one guard for YAML that comes from outside: values, repository indexes, Chart.yaml, kubeconfigs, manifests.

YAML aliases make a few bytes mean a huge tree ("billion laughs": ten nested lists of ten aliases are 10**10
nodes), and nesting makes parsers recurse. Every YAML text a caller or a remote server hands the service is
therefore streamed once, event by event, before anything is built (:func:`scan`), and refused at the first event
that breaks its :class:`Budget`:

* more than ``max_nodes`` nodes (scalars, keys and collections), every alias counted at the size of what it
  refers to;
* more than ``max_alias_nodes`` of those nodes coming from aliases (a document without aliases never hits it);
* nesting deeper than ``max_depth``;
* more than ``max_documents`` documents (``---``);
* an alias to an anchor that is undefined or still open (a recursive structure).

A refusal is an :class:`~chalicelib.errors.InvalidInput` (or the ``too_large`` subclass the caller names, such as
:class:`~chalicelib.errors.PayloadTooLarge` for request bodies) whose message says what was refused and why; it
costs a few events, never the expansion. Syntax errors stay PyYAML's :class:`yaml.YAMLError`, which callers turn
into their own messages.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from chalicelib.errors import InvalidInput

try:  # libyaml: large documents (repository indexes) parse in a fraction of the pure-Python time
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader  # type: ignore[assignment]

__all__ = ["CHART_YAML", "INDEX", "KUBECONFIG", "MANIFEST", "Budget", "SafeLoader", "load", "load_leading", "scan"]


@dataclass(frozen=True)
class Budget:
    """What one YAML text may cost. ``None`` leaves a count unbounded (the text's byte size still bounds it)."""

    max_depth: int = 64
    max_nodes: int | None = None
    max_alias_nodes: int | None = 10_000
    max_documents: int | None = 1


# Real indexes, charts, kubeconfigs and manifests are written by tools that never emit aliases; these budgets leave
# a hand-written file room for a few anchors while an alias bomb stops after a handful of events.
INDEX = Budget(max_depth=32, max_alias_nodes=100_000)
CHART_YAML = Budget(max_depth=32, max_nodes=100_000)
KUBECONFIG = Budget(max_depth=32, max_nodes=100_000)
MANIFEST = Budget(max_depth=64, max_alias_nodes=100_000, max_documents=None)

NodeCheck = Callable[[yaml.NodeEvent], None]


def scan(
    text: str | bytes,
    field: str,
    budget: Budget,
    *,
    what: str = "",
    too_large: type[InvalidInput] = InvalidInput,
    loader: type[Any] = SafeLoader,
    check: NodeCheck | None = None,
    complete: list[int] | None = None,
) -> None:
    """Stream ``text``'s events and refuse it (see the module docstring) before anything is built.

    ``what`` prefixes every message (``"the repository's index.yaml was refused: "``); ``check`` sees every
    scalar and collection-start event (to refuse a tag, say). Raises ``too_large`` for a size or depth over the
    budget, :class:`InvalidInput` for extra documents and bad aliases, :class:`yaml.YAMLError` for syntax.
    ``complete[0]``, when given, counts the documents scanned to their end (those before a refusal).
    """
    complete = [0] if complete is None else complete
    # One frame per open collection: [expanded size, height, anchor]. A scalar has height 0, a collection
    # 1 + the height of its tallest child.
    stack: list[list[Any]] = []
    anchors: dict[str, tuple[int, int]] = {}  # anchor -> (expanded size, height)
    total = aliased = documents = 0

    def count(size: int, height: int, from_alias: bool) -> None:
        nonlocal total, aliased
        total += size
        if budget.max_nodes is not None and total > budget.max_nodes:
            raise too_large(
                field, f"{what}more than {budget.max_nodes} values and keys (aliases count at their expanded size)"
            )
        if from_alias:
            aliased += size
            if budget.max_alias_nodes is not None and aliased > budget.max_alias_nodes:
                raise too_large(
                    field, f"{what}its aliases expand to more than {budget.max_alias_nodes} values and keys"
                )
        if len(stack) + height > budget.max_depth:
            raise too_large(field, f"{what}nested deeper than {budget.max_depth} levels")

    def attach(size: int, height: int) -> None:
        if stack:
            stack[-1][0] += size
            stack[-1][1] = max(stack[-1][1], height + 1)

    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.DocumentEndEvent):
            complete[0] += 1
        elif isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if budget.max_documents is not None and documents > budget.max_documents:
                if budget.max_documents == 1:
                    raise InvalidInput(field, f"{what}must be a single YAML document (found a second '---')")
                raise InvalidInput(field, f"{what}more than {budget.max_documents} YAML documents")
        elif isinstance(event, yaml.ScalarEvent):
            if check is not None:
                check(event)
            count(1, 0, False)
            attach(1, 0)
            if event.anchor is not None:
                anchors[event.anchor] = (1, 0)
        elif isinstance(event, yaml.AliasEvent):
            anchor = event.anchor or ""
            if anchor not in anchors:
                raise InvalidInput(field, f"{what}alias *{_snip(anchor)} is undefined or recursive")
            size, height = anchors[anchor]
            count(size, height, True)
            attach(size, height)
        elif isinstance(event, yaml.CollectionStartEvent):
            if check is not None:
                check(event)
            stack.append([1, 1, event.anchor])
            count(1, 0, False)
        elif isinstance(event, yaml.CollectionEndEvent):
            size, height, anchor = stack.pop()
            if anchor is not None:
                anchors[anchor] = (size, height)
            attach(size, height)


def load(text: str | bytes, field: str, budget: Budget, *, what: str = "") -> Any:
    """One document, safely typed (PyYAML's safe loader), after :func:`scan` accepted it."""
    scan(text, field, budget, what=what)
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - a safe loader


def load_leading(text: str | bytes, field: str, budget: Budget) -> list[Any]:
    """The documents before the first one that does not parse or breaks the budget (counted over the whole
    text), safely typed: what a reader that lists what it can (a rendered manifest) may trust."""
    complete = [0]
    try:
        scan(text, field, budget, complete=complete)
    except (InvalidInput, yaml.YAMLError):
        pass
    return list(itertools.islice(yaml.load_all(text, Loader=SafeLoader), complete[0]))  # noqa: S506 - safe loader


def _snip(anchor: str) -> str:
    """An anchor name short and printable enough for a message."""
    shown = anchor[:40].encode("unicode_escape").decode("ascii")
    return shown + ("..." if len(anchor) > 40 else "")
