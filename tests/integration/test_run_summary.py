"""`frt-stress run`: the progress line's last rate is the summary's throughput, and the summary's
latency percentiles are interpolated figures, not histogram bucket edges."""
from __future__ import annotations

import json
import re

import pytest

from console import run_command
from console.cli import main
from engine.stats import _BUCKETS, _FACTOR, _FIRST_MS

SCENARIO = """
[run]
duration_s = 1.5
seed = 11
[run.engine]
pacing_min_ms = 0
pacing_max_ms = 0

[[pools]]
name = "p"
token_a_decimals = 6
token_b_decimals = 6
ratio_whole_number = 2
ratio_direction = "a_to_b"
  [[pools.deposit]]
  token_type = "A"
  initial_amount = 1_000_000_000_000
  auto_refill = true
  [[pools.withdrawal]]
  token_type = "A"
  [[pools.swap]]
  direction = "a_to_b"
  initial_amount = 100_000_000_000
"""

PROGRESS = re.compile(r"^\[\s*[\d.]+/[\d.]+ s\] (done: )?ops ([\d,]+) \(([\d,.]+)/s\)")
THROUGHPUT = re.compile(r"^Throughput: ([\d,.]+) ops/s \(([\d,]+) operations in ")


pytestmark = pytest.mark.usefixtures("isolated_cli")


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(SCENARIO)
    return path


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def test_the_last_progress_line_gives_the_summary_s_throughput(scenario, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(run_command, "PLAIN_INTERVAL_S", 0.3)  # a few progress lines in 1.5 s
    monkeypatch.setattr(run_command, "TTY_INTERVAL_S", 0.3)
    report_path = tmp_path / "report.json"
    assert main(["run", str(scenario), "--report", str(report_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    progress = [match for line in lines if (match := PROGRESS.match(line))]
    assert len(progress) >= 2, lines
    *running, last = progress
    assert last.group(1) == "done: " and not any(match.group(1) for match in running)
    # Running lines: the rate over the run so far, and the recent one labelled as such.
    assert all(re.search(r"\)  last [\d.]+ s [\d,.]+/s  failed ", match.string) for match in running)

    summary = next(match for line in lines if (match := THROUGHPUT.match(line)))
    assert last.group(3) == summary.group(1)  # the same figure, printed the same way
    assert last.group(2) == summary.group(2)
    report = json.loads(report_path.read_text())
    assert _number(last.group(3)) == report["throughput"]["ops_per_second"] > 0
    assert _number(last.group(2)) == report["operations"]["total"]
    assert lines.index(last.string) < lines.index(summary.string)


def test_quiet_prints_no_progress_line(scenario, capsys):
    assert main(["run", str(scenario), "--quiet", "--duration", "0.5"]) == 0
    out = capsys.readouterr().out
    assert not any(PROGRESS.match(line) for line in out.splitlines())
    assert any(THROUGHPUT.match(line) for line in out.splitlines())


def test_the_summary_s_percentiles_are_not_bucket_edges(scenario, tmp_path, capsys):
    report_path = tmp_path / "report.json"
    assert main(["run", str(scenario), "--quiet", "--report", str(report_path)]) == 0
    latency = json.loads(report_path.read_text())["latency_ms"]
    edges = {round(_FIRST_MS * _FACTOR ** index, 3) for index in range(_BUCKETS)}
    figures = [latency[op][key] for op in latency for key in ("p50_ms", "p95_ms", "p99_ms")
               if latency[op][key] != latency[op]["max_ms"]]  # the max is a real sample
    assert figures and not set(figures) <= edges
    assert latency["all"]["p50_ms"] <= latency["all"]["p95_ms"] <= latency["all"]["p99_ms"] <= latency["all"]["max_ms"]
    out = capsys.readouterr().out
    assert f"{latency['all']['p50_ms']:.3f}" in out.split("Latency per operation", 1)[1]
