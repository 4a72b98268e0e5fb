"""Charts of signals over their thresholds: the PNG itself, its upload into the thread, the terminal sparkline.

The PNG is decoded (Pillow, matplotlib's own dependency) and checked for its size and for what must
be on it: the signal's line (its red) and the critical threshold (a dark grey dashed row across the
plot). The report goes through the shipping Slack publisher to the fake Slack Web API, which runs
the files-upload v2 flow, and through the terminal and JSON renderers.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from PIL import Image
from slack_sdk import WebClient

from clusterdoc.queue import ThreadRef
from clusterdoc.render.json_report import render_json
from clusterdoc.render.terminal import render_terminal
from clusterdoc.report import Report, Severity, Target, Verdict
from clusterdoc.slack.publisher import SlackPublisher
from clusterdoc.workers.charts import DPI, HEIGHT_IN, WIDTH_IN, chart_png
from clusterdoc.workers.layers import CheckOptions, LayerCheck, metric_findings
from clusterdoc.workers.triage.presets import PRESET_BY_NAME
from clusterdoc.workers.triage.signals import Series, judge
from clusterdoc.workers.triage.verdict import LayerRow
from tests.harness.fake_slack import FakeSlackServer

END = datetime(2026, 3, 2, 13, 20, tzinfo=UTC).timestamp()
ONSET = END - 18 * 60


def fsync_series() -> list[Series]:
    points = tuple((END - 3600 + i * 60, 0.002 if END - 3600 + i * 60 < ONSET else 0.21) for i in range(61))
    calm = tuple((t, 0.0019) for t, _ in points)
    return [Series({"instance": "10.0.0.1:2379"}, points), Series({"instance": "10.0.0.2:2379"}, calm)]


def _close(pixel: tuple[int, ...], rgb: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], rgb, strict=True))


def test_chart_png_has_the_size_a_line_and_a_threshold() -> None:
    judgement = judge(PRESET_BY_NAME["etcd-fsync"], fsync_series(), END)
    png = chart_png(judgement)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (int(WIDTH_IN * DPI), int(HEIGHT_IN * DPI))
    width, height = image.size
    pixels = image.load()
    red = sum(1 for x in range(width) for y in range(height) if _close(pixels[x, y], (0xD6, 0x27, 0x28)))
    assert red > 300, "the signal's line is missing"
    dashed_rows = [y for y in range(height)
                   if sum(1 for x in range(width) if _close(pixels[x, y], (0x44, 0x44, 0x44), 30)) > width * 0.4]
    assert dashed_rows, "no threshold line across the plot"
    orange_columns = [x for x in range(width)
                      if sum(1 for y in range(height) if _close(pixels[x, y], (0xFF, 0x7F, 0x0E), 40)) > height * 0.5]
    assert orange_columns, "the onset is not marked"


def report_with_chart() -> Report:
    check = LayerCheck(LayerRow("etcd", "ok", ""))
    metric_findings("metrics", [judge(PRESET_BY_NAME["etcd-fsync"], fsync_series(), END)], CheckOptions(), END, check)
    return Report("metrics", Target("Cluster", "default"), Verdict("etcd", Severity.CRITICAL, "slow fsync"),
                  check.findings, attachments=check.attachments)


def test_finding_says_value_threshold_onset_and_member() -> None:
    report = report_with_chart()
    title = report.findings[0].title
    assert title == ("etcd WAL fsync p99 on instance=10.0.0.1:2379: 2.0 ms → 210 ms at 13:02 UTC, 18m ago "
                     "(critical > 100 ms)")
    assert [a.filename for a in report.attachments] == ["etcd-fsync-instance-10-0-0-1-2379.png"]


def test_chart_is_uploaded_into_the_thread(fake_slack: FakeSlackServer) -> None:
    report = report_with_chart()
    thread = ThreadRef("C0TRIAGE", "1700000000.000100")
    SlackPublisher(WebClient(token="xoxb-test-token", base_url=fake_slack.url)).publish(report, thread)
    uploads = fake_slack.files_in_thread(thread.ts)
    assert [u.filename for u in uploads] == ["etcd-fsync-instance-10-0-0-1-2379.png"]
    assert uploads[0].content.startswith(b"\x89PNG") and uploads[0].channel == "C0TRIAGE"
    assert "2.0 ms → 210 ms" in uploads[0].title


def test_terminal_shows_a_sparkline_and_json_lists_the_chart() -> None:
    report = report_with_chart()
    text = render_terminal(report, color=False)
    assert "▁▁▁" in text and "█" in text
    attachments = json.loads(render_json(report))["attachments"]
    assert attachments[0]["mime"] == "image/png" and attachments[0]["bytes"] > 10_000
