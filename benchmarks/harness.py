"""What every workload shares: interleaved runs, statistics and the tables they print.

A workload measures *contenders* (asyncthreads, its peers, and a "floor": the bare
primitive with no library around it) and hands back :class:`Table` objects. Each table is
made of groups; a group starts with the asyncthreads row it is about, and every other row
of the group is compared with that row:

* ``vs asyncthreads`` is how many times better asyncthreads is than the row's contender,
  from the medians: peer / asyncthreads for costs (seconds, bytes, lateness),
  asyncthreads / peer for rates (firings per second). **Higher = asyncthreads better**;
  below 1.00x the peer is ahead.
* ``target`` is the issue's goal for that ratio (or, on an asyncthreads row, for its own
  value), with ``ok`` or ``MISSED``.

Runs are interleaved (A, B, A, B, ...) so that a slow spell of a noisy machine falls on
every contender alike; each table reports the median and the min-max over runs.
"""

from __future__ import annotations

import gc
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

__all__ = [
    "Group",
    "Matrix",
    "Role",
    "Row",
    "Table",
    "Target",
    "fmt",
    "interleave",
    "percentile",
]

T = TypeVar("T")

Role = Literal["asyncthreads", "peer", "floor"]


@dataclass(frozen=True)
class Target:
    """A goal from the issue.

    ``kind="ratio"``: the row's ``vs asyncthreads`` ratio must be at least ``value``.
    ``kind="at most"``: the row's own median must be at most ``value`` (in its unit).
    """

    value: float
    kind: Literal["ratio", "at most"] = "ratio"

    def met(self, ratio: float | None, median: float) -> bool:
        if self.kind == "ratio":
            return ratio is not None and ratio >= self.value
        return median <= self.value

    def describe(self, unit: str) -> str:
        if self.kind == "ratio":
            return f">= {self.value:g}x"
        return f"<= {self.value:g} {unit}"


@dataclass
class Row:
    """One contender's samples (one per run), already in the group's unit."""

    label: str
    samples: list[float]
    role: Role = "peer"
    target: Target | None = None
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


@dataclass
class Group:
    """Rows measured in one unit; the first ``asyncthreads`` row is the reference."""

    title: str
    unit: str
    rows: list[Row]
    higher_is_better: bool = False  # rates (firings/s); costs are lower-is-better

    @property
    def reference(self) -> Row | None:
        return next((row for row in self.rows if row.role == "asyncthreads"), None)

    def ratio(self, row: Row) -> float | None:
        """How many times better asyncthreads is than ``row`` (None for the reference)."""
        reference = self.reference
        if reference is None or row is reference:
            return None
        ours, theirs = reference.median, row.median
        if self.higher_is_better:
            ours, theirs = theirs, ours
        if ours <= 0:
            return math.inf if theirs > 0 else 1.0
        return theirs / ours


@dataclass
class Verdict:
    """One target, checked: for the summary at the end of a run."""

    workload: str
    what: str
    measured: str
    target: str
    met: bool


@dataclass
class Table:
    """What one workload prints: a title, groups of rows, and notes."""

    title: str
    groups: list[Group]
    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        header = ("", "median", "min-max", "vs asyncthreads", "target")
        lines: list[tuple[str, ...]] = []
        for group in self.groups:
            lines.append((f"{group.title} [{group.unit}]",))
            for row in group.rows:
                ratio = group.ratio(row)
                label = ("floor: " if row.role == "floor" else "") + row.label
                lines.append(
                    (
                        "  " + label,
                        fmt(row.median),
                        f"{fmt(min(row.samples))}-{fmt(max(row.samples))}",
                        "(reference)" if ratio is None else f"{ratio:.2f}x",
                        _target_text(row, ratio, group.unit),
                    )
                )
        return _render(self.title, header, lines, self.notes)

    def verdicts(self, workload: str) -> list[Verdict]:
        found = []
        for group in self.groups:
            reference = group.reference
            for row in group.rows:
                if row.target is None:
                    continue
                ratio = group.ratio(row)
                if row.target.kind == "ratio":
                    assert reference is not None
                    what = f"{reference.label} vs {row.label}"
                    measured = f"{ratio:.2f}x" if ratio is not None else "-"
                else:
                    what = f"{group.title}: {row.label}"
                    measured = f"{fmt(row.median)} {group.unit}"
                found.append(
                    Verdict(
                        workload,
                        what,
                        measured,
                        row.target.describe(group.unit),
                        row.target.met(ratio, row.median),
                    )
                )
        return found


@dataclass
class Matrix:
    """Values by size: one row per contender and operation, one column per size.

    ``growth`` is the largest size's median over the smallest's: 1.00x is perfectly flat.
    """

    title: str
    unit: str
    sizes: list[int]
    size_label: str
    rows: list[tuple[str, dict[int, list[float]]]]
    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        header = (
            f"{self.size_label} [{self.unit}, median]",
            *(f"{size:,}" for size in self.sizes),
            "growth",
        )
        lines: list[tuple[str, ...]] = []
        for label, by_size in self.rows:
            medians = [statistics.median(by_size[size]) for size in self.sizes]
            growth = medians[-1] / medians[0] if medians[0] > 0 else math.inf
            lines.append(("  " + label, *(fmt(m) for m in medians), f"{growth:.2f}x"))
        return _render(self.title, header, lines, self.notes)

    def verdicts(self, workload: str) -> list[Verdict]:
        return []


def _target_text(row: Row, ratio: float | None, unit: str) -> str:
    if row.target is None:
        return ""
    verdict = "ok" if row.target.met(ratio, row.median) else "MISSED"
    return f"{row.target.describe(unit)} {verdict}"


def _render(
    title: str, header: tuple[str, ...], lines: list[tuple[str, ...]], notes: list[str]
) -> str:
    """Columns: the first left-aligned, the rest right-aligned; one-cell lines span."""
    columns = len(header)
    widths = [len(cell) for cell in header]
    for line in lines:
        if len(line) == columns:
            widths = [max(w, len(cell)) for w, cell in zip(widths, line, strict=True)]

    def format_line(cells: Sequence[str]) -> str:
        first, *rest = cells
        parts = [first.ljust(widths[0])]
        parts += [cell.rjust(width) for cell, width in zip(rest, widths[1:], strict=True)]
        return "  ".join(parts).rstrip()

    out = [title, "-" * min(len(title), 100), format_line(header)]
    for line in lines:
        out.append(line[0] if len(line) == 1 else format_line(line))
    out += [f"  * {note}" for note in notes]
    return "\n".join(out)


def fmt(value: float) -> str:
    """Three significant figures, thousands separated: 0.0123, 4.56, 78.9, 1,230, 45,600."""
    if value == 0:
        return "0"
    if not math.isfinite(value):
        return str(value)
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude >= 2:
        return f"{round(value, 2 - magnitude):,.0f}"
    return f"{value:.{2 - magnitude}f}"


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0 < q <= 1) of ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def interleave(
    contenders: Sequence[tuple[str, Callable[[], T]]],
    runs: int,
    *,
    warmup: Sequence[Callable[[], object]] = (),
) -> dict[str, list[T]]:
    """Run each contender ``runs`` times in turn (A, B, A, B, ...); its samples by label.

    Each callable does its own setup, times only what it measures, cleans up and returns
    the measurement. A full collection runs before each, so that one contender's garbage
    is not collected on another's time. The ``warmup`` callables (say, each contender at
    a small size) run first, unrecorded.
    """
    samples: dict[str, list[T]] = {label: [] for label, _ in contenders}
    for run in warmup:
        gc.collect()
        run()
    for _ in range(runs):
        for label, run in contenders:
            gc.collect()
            samples[label].append(run())
    return samples
