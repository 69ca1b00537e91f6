"""The results of a run as a Markdown page: ``python -m benchmarks --markdown PATH``.

The manual includes the page (``docs/benchmarks/results.md``), so the published tables
are always the output of one run, never numbers copied by hand. Each workload's tables
become Markdown tables with the columns the text output prints; the page opens with what
a reader needs to weigh them: the kind of run, the machine and its load, the peers'
versions, the commit and the command.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .harness import Matrix, Table, Verdict, fmt

__all__ = ["Rendered", "Run", "render_page"]


class Rendered(Protocol):
    """A workload's report: a :class:`Table` or :class:`Matrix`, or anything that renders."""

    def render(self) -> str: ...


@dataclass
class Run:
    """What a page says about the run beside its tables."""

    command: str
    quick: bool
    machine: str
    load: str
    peers: str
    commit: str | None
    seconds: float


def render_page(run: Run, reports: Sequence[Rendered], verdicts: Sequence[Verdict]) -> str:
    """The whole page: a header, a section per table, the targets; ends with a newline."""
    lines = [
        f"<!-- Written by `{run.command}`. Do not edit: run it again. -->",
        "",
    ]
    if run.quick:
        lines += [
            "```{warning}",
            "These tables come from a `--quick` run: each workload ran once, at a small size,",
            "as a smoke test. **Their numbers are not measurements.** A full run",
            "(`python -m benchmarks --markdown docs/benchmarks/results.md`) replaces them.",
            "```",
            "",
        ]
    kind = "quick smoke run (not a measurement)" if run.quick else "full run"
    at = f" at commit `{run.commit}`" if run.commit else ""
    lines += [
        f"- **Run**: {kind}{at}, {run.seconds:.0f} s in all: `{run.command}`",
        f"- **Machine**: {run.machine}{run.load}",
        f"- **Optional peers**: {run.peers}",
        "- **Ratios** (`vs asyncthreads`): how many times better asyncthreads is than the row's"
        " contender; higher = asyncthreads better, below 1.00x the peer is ahead.",
        "",
    ]
    for report in reports:
        lines += _section(report)
    if verdicts:
        met = sum(v.met for v in verdicts)
        lines += [
            f"### Targets: {met} of {len(verdicts)} met",
            "",
            "| workload | comparison | measured | target | |",
            "| --- | --- | ---: | --- | --- |",
        ]
        for v in verdicts:
            verdict = "ok" if v.met else "**missed**"
            lines.append(
                f"| {v.workload} | {_cell(v.what)} | {v.measured} | {_cell(v.target)} | {verdict} |"
            )
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _section(report: Rendered) -> list[str]:
    if not isinstance(report, (Table, Matrix)):  # a report of another kind: as printed
        title, _, body = report.render().partition("\n")
        lines = [line.rstrip() for line in body.strip("\n").splitlines()]
        return [f"### {_cell(title)}", "", "```text", *lines, "```", ""]
    lines = [f"### {_cell(report.title)}", ""]
    if isinstance(report, Table):
        lines += [
            "| | median | min-max | vs asyncthreads | target |",
            "| --- | ---: | ---: | ---: | --- |",
        ]
        for group in report.groups:
            lines.append(f"| **{_cell(group.title)} [{_cell(group.unit)}]** | | | | |")
            for row in group.rows:
                ratio = group.ratio(row)
                label = ("floor: " if row.role == "floor" else "") + row.label
                target = ""
                if row.target is not None:
                    met = row.target.met(ratio, row.median)
                    target = f"{row.target.describe(group.unit)} {'ok' if met else 'MISSED'}"
                lines.append(
                    f"| {_cell(label)} | {fmt(row.median)} "
                    f"| {fmt(min(row.samples))}-{fmt(max(row.samples))} "
                    f"| {'(reference)' if ratio is None else f'{ratio:.2f}x'} | {_cell(target)} |"
                )
    else:
        sizes = " | ".join(f"{size:,}" for size in report.sizes)
        lines += [
            f"| {_cell(report.size_label)} [{_cell(report.unit)}, median] | {sizes} | growth |",
            "| --- |" + " ---: |" * (len(report.sizes) + 1),
        ]
        for label, by_size in report.rows:
            medians = [statistics.median(by_size[size]) for size in report.sizes]
            growth = f"{medians[-1] / medians[0]:.2f}x" if medians[0] > 0 else "-"
            cells = " | ".join(fmt(m) for m in medians)
            lines.append(f"| {_cell(label)} | {cells} | {growth} |")
    lines.append("")
    lines += [f"- {_cell(note)}" for note in report.notes]
    if report.notes:
        lines.append("")
    return lines


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|")
