"""The throughput chart's sparklines: a lone sample is no spike."""
from __future__ import annotations

from textual.app import App

from console.widgets.throughput_chart import ThroughputChart


class ChartApp(App):
    def compose(self):
        yield ThroughputChart(id="chart")


def line(app, spark: str) -> str:
    widget = app.query_one(f"#{spark}")
    return "".join(widget.render_line(y).text for y in range(widget.size.height))


async def test_one_sample_draws_the_empty_line_not_a_full_bar_and_two_draw_the_line():
    app = ChartApp()
    async with app.run_test(size=(40, 8)) as pilot:
        chart = app.query_one(ThroughputChart)
        chart.push(12.0, 0.7, 1.1)  # the first refresh of a run; or the last of one seen on opening
        await pilot.pause()
        assert "█" not in line(app, "ops-spark") + line(app, "latency-spark")
        assert set(line(app, "latency-spark").strip()) == {"▁"}
        chart.push(24.0, 1.4, 2.0)
        await pilot.pause()
        assert "█" in line(app, "ops-spark") and "█" in line(app, "latency-spark")  # the higher sample is the top
