"""PNG charts of a signal over its threshold, made headless with matplotlib's Agg backend.

One chart per strong signal: the carrying series (up to three, the worst first), the warning and
critical thresholds as dashed lines, the onset as a vertical line with its time, large type so the
chart reads at Slack's preview size (about 360 px wide). matplotlib is imported on first use only.
"""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime

from clusterdoc.workers.triage.signals import Breach, Judgement, fmt

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.0, 100
_LOCK = threading.Lock()
"""pyplot's state machine is not thread-safe; the triage step charts from several threads."""
COLOURS = ("#d62728", "#1f77b4", "#2ca02c")


def _scale(judgement: Judgement) -> tuple[float, str]:
    unit = judgement.preset.unit
    if unit == "seconds":
        peak = max((b.value for b in judgement.breaches), default=judgement.preset.critical)
        return (1000.0, "ms") if peak < 2 else (1.0, "s")
    if unit == "ratio":
        return 100.0, "%"
    return 1.0, ""


def chart_png(judgement: Judgement, title: str = "") -> bytes:
    """The chart of ``judgement``'s breaches as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    preset = judgement.preset
    factor, label = _scale(judgement)
    with _LOCK:
        fig, ax = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
        try:
            breaches: list[Breach] = judgement.breaches[:3]
            for colour, breach in zip(COLOURS, breaches, strict=False):
                points = breach.series.finite()
                times = [mdates.date2num(datetime.fromtimestamp(t, UTC)) for t, _ in points]
                ax.plot(times, [v * factor for _, v in points], color=colour, linewidth=2.2,
                        label=(breach.carrier or preset.title)[:48])
            for threshold, name, style in ((preset.critical, "critical", "--"), (preset.warning, "warning", ":")):
                if preset.direction == "below" or threshold > 0:
                    ax.axhline(threshold * factor, color="#444444" if name == "critical" else "#999999",
                               linestyle=style, linewidth=1.6)
                    ax.annotate(f"{name} {fmt(threshold, preset.unit)}", xy=(0.005, threshold * factor),
                                xycoords=("axes fraction", "data"), fontsize=11, color="#444444",
                                va="bottom", ha="left")
            top = breaches[0] if breaches else None
            if top is not None and top.onset is not None:
                onset = datetime.fromtimestamp(top.onset, UTC)
                at = float(mdates.date2num(onset))
                ax.axvline(at, color="#ff7f0e", linewidth=2)
                ax.annotate(f"onset {onset:%H:%M} UTC", xy=(at, 0.97), xycoords=("data", "axes fraction"),
                            fontsize=12, color="#ff7f0e", ha="right", va="top", fontweight="bold",
                            xytext=(-4, 0), textcoords="offset points")
            heading = title or preset.title
            if top is not None and top.before is not None:
                heading += f": {fmt(top.before, preset.unit)} → {fmt(top.value, preset.unit)}"
            elif top is not None:
                heading += f": now {fmt(top.value, preset.unit)}"
            ax.set_title(heading, fontsize=15, loc="left", fontweight="bold")
            ax.set_ylabel(label, fontsize=12)
            span = (breaches[0].series.finite()[-1][0] - breaches[0].series.finite()[0][0]) if breaches else 3600.0
            if span <= 2 * 3600:
                ax.xaxis.set_major_locator(mdates.MinuteLocator(byminute=range(0, 60, 10 if span > 1800 else 5),
                                                                tz=UTC))
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=UTC))
            ax.set_xlabel("UTC", fontsize=11, loc="right")
            ax.tick_params(labelsize=12)
            ax.grid(True, alpha=0.3)
            ax.set_ylim(bottom=0)
            if len(breaches) > 1 or (breaches and breaches[0].carrier):
                ax.legend(fontsize=10, loc="upper left", bbox_to_anchor=(0.0, 0.9), frameon=False)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
            fig.tight_layout()
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=DPI)
            return buffer.getvalue()
        finally:
            plt.close(fig)
