"""A report as a PNG bar chart: stacked bars, a title with the scope and period, axis
labels and a legend. matplotlib's object API on the Agg canvas, imported when a chart is
drawn: no pyplot, no global backend, safe in a worker thread."""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass

from school_bot.shared.i18n import N_
from school_bot.reports.labels import _t, shown_rows, subtitle, title
from school_bot.reports.spec import ReportTable


@dataclass
class Chart:
    categories: list[str]
    series: list[tuple[str, list[float]]]  # (label msgid, a value per category), stacked
    value_label: str  # msgid
    category_label: str  # msgid
    horizontal: bool = True


def chart_for(table: ReportTable, locale: str) -> Chart:
    return CHARTS[table.request.report](table, locale)


def _sum_by(table: ReportTable, key: str, values: list[str]) -> tuple[list[str], list[list[float]]]:
    """Rows summed per `key` (a class of one school, or a school of the city)."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(values))
    labels = table.column(key)
    columns = [table.column(v) for v in values]
    for i, label in enumerate(labels):
        for j, column in enumerate(columns):
            totals[label][j] += column[i]
    names = list(dict.fromkeys(labels))
    return names, [totals[name] for name in names]


def _coverage_chart(table: ReportTable, _locale: str) -> Chart:
    one_school = table.request.school_id is not None
    names, sums = _sum_by(table, "class" if one_school else "school", ["guardians", "not_linked"])
    return Chart(names, [(N_("Linked"), [g - n for g, n in sums]), (N_("Not linked"), [n for _, n in sums])],
                 N_("Parents"), N_("Class") if one_school else N_("School"))


def _diary_chart(table: ReportTable, _locale: str) -> Chart:
    if table.request.school_id:
        return Chart(table.column("teacher"), [(N_("Fill rate, %"), table.column("fill_rate"))],
                     N_("Fill rate, %"), N_("Teacher"))
    # A school's rate: lessons filled over lessons taught, from the teachers' rows.
    complete = [lessons * rate / 100 for lessons, rate in zip(table.column("lessons"), table.column("fill_rate"))]
    names: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for school, lessons, done in zip(table.column("school"), table.column("lessons"), complete):
        names[school][0] += lessons
        names[school][1] += done
    rates = [round(100 * done / lessons, 1) if lessons else 0.0 for lessons, done in names.values()]
    return Chart(list(names), [(N_("Fill rate, %"), rates)], N_("Fill rate, %"), N_("School"))


def _absences_chart(table: ReportTable, _locale: str) -> Chart:
    names, sums = _sum_by(table, "week", ["absent", "excused", "late"])
    return Chart(names, [(N_("Unexcused"), [s[0] for s in sums]), (N_("Excused"), [s[1] for s in sums]),
                         (N_("Late"), [s[2] for s in sums])], N_("Lesson marks"), N_("Week"),
                 horizontal=False)


def _delivery_chart(table: ReportTable, locale: str) -> Chart:
    kinds = [row[0] for row in shown_rows(table, locale)]
    sent, delivered, seen = table.column("sent"), table.column("delivered"), table.column("seen")
    not_shown = table.column("not_shown")
    return Chart(kinds, [
        (N_("Seen"), seen),
        (N_("Delivered"), [d - s for d, s in zip(delivered, seen)]),
        (N_("Sent"), [s - d - n for s, d, n in zip(sent, delivered, not_shown)]),
        (N_("Not shown on the phone"), not_shown),
        (N_("Queued"), table.column("queued")),
        (N_("Failed, will retry"), table.column("retry")),
        (N_("Blocked the bot"), table.column("blocked")),
        (N_("Gave up"), table.column("dead")),
    ], N_("Messages"), N_("Kind"))


CHARTS = {"coverage": _coverage_chart, "diary": _diary_chart, "absences": _absences_chart,
          "delivery": _delivery_chart}


def to_png(table: ReportTable, locale: str) -> bytes:
    """A stacked bar chart with a title, the period, axis labels and a legend (Agg, no display)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    chart = chart_for(table, locale)
    count = max(len(chart.categories), 1)
    if chart.horizontal:
        size = (10, min(max(3.5, 1.6 + 0.32 * count), 40))
    else:
        size = (min(max(8, 1.5 + 0.55 * count), 30), 6)
    figure = Figure(figsize=size, dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(chart.categories)))
    base = [0.0] * len(chart.categories)
    for label, values in chart.series:
        if chart.horizontal:
            axes.barh(positions, values, left=base, label=_t(locale, label))
        else:
            axes.bar(positions, values, bottom=base, label=_t(locale, label))
        base = [b + v for b, v in zip(base, values)]
    category_label = _t(locale, chart.category_label)
    value_label = _t(locale, chart.value_label)
    if chart.horizontal:
        axes.set_yticks(positions, chart.categories)
        axes.invert_yaxis()
        axes.set_xlabel(value_label)
        axes.set_ylabel(category_label)
    else:
        axes.set_xticks(positions, chart.categories, rotation=45, ha="right")
        axes.set_ylabel(value_label)
        axes.set_xlabel(category_label)
    (axes.xaxis if chart.horizontal else axes.yaxis).set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="x" if chart.horizontal else "y", alpha=0.3)
    if not chart.categories:
        axes.text(0.5, 0.5, _t(locale, "No data for this period"), ha="center", va="center",
                  transform=axes.transAxes)
    if len(chart.series) > 1:
        figure.legend(loc="outside lower center", ncols=min(len(chart.series), 4), fontsize="small")
    axes.set_title(f"{title(table, locale)}\n{subtitle(table, locale)}")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
