"""The report of a benchmark run: the README section, a text table and a plot.

>>> _fmt_ratio(116.4), _fmt_ratio(0.83)
('116×', '0.83×')
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from cam_edu.exercises.safe_io import atomic_write

START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"
COMMAND = ".venv/bin/python benchmarks/run_benchmarks.py"


def _fmt_ratio(ratio: float) -> str:
    if ratio >= 100:
        return f"{ratio:,.0f}×"
    if ratio >= 10:
        return f"{ratio:.1f}×"
    return f"{ratio:.2f}×"


def _fmt_ms(ms: float) -> str:
    return f"{ms:.3g}" if ms < 100 else f"{ms:,.0f}"


def markdown(results: dict) -> str:
    """The README section: the table of ratios, the redraw latency, notes and the command."""
    m = results["machine"]
    lines = [
        "## Benchmarks",
        "",
        f"Measured in one run of `make benchmark` (`{COMMAND}`) on {m['cpu_count']} CPU "
        f"cores ({m['processor']}, {m['platform']}), TensorFlow {m['tensorflow']}, "
        f"Keras {m['keras']}, {m['date'][:10]}; the run took {results['seconds']:.0f} s. "
        "Each ratio compares the medians of two functions timed alternately in the same run, "
        "after warm-up; the milliseconds are supporting detail and depend on the machine. "
        "Raw numbers: `benchmarks/results.json`; plot: `benchmarks/results.png`.",
        "",
        "| comparison | workload | ratio | ms (baseline / candidate) | check |",
        "|---|---|---|---|---|",
    ]
    for r in results["rows"]:
        cells = [
            r["label"],
            r["workload"],
            f"**{_fmt_ratio(r['ratio'])}** {r['meaning']}",
            f"{_fmt_ms(r['baseline_ms'])} / {_fmt_ms(r['candidate_ms'])}",
            r["check"],
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    d = results["redraw"]
    verdict = "meets" if d["meets_target"] else "misses"
    lines += [
        "",
        f"Explorer redraw on the MNIST GAP CNN with cached features ({d['images']} images, "
        f"features {'×'.join(map(str, d['features'][1:]))}), {d['samples']} control changes: "
        f"median **{d['median_ms']:.1f} ms**, 90th percentile **{d['p90_ms']:.1f} ms** "
        f"({verdict} the target: median at most {d['target_ms']:.0f} ms).",
        "",
        *_browser_lines(results.get("browser_latency_ms")),
        *_explorer_gradcam_lines(results.get("explorer_gradcam")),
        f"MNIST model: {results['mnist_model']}. "
        + (f"ResNet50: {results['resnet50_weights']}." if "resnet50_weights" in results else ""),
    ]
    for note in results["notes"]:
        lines += ["", f"Note: {note}"]
    lines += ["", "Reproduce (about 4–6 minutes on 2 cores):", "", "```bash", "make benchmark"]
    lines += [f"{COMMAND} --update-readme   # also rewrites this section", "```"]
    return "\n".join(lines)


def _browser_lines(latency: dict | None) -> list[str]:
    """The explorer end to end in the browser (``browser_latency.py``), if it was measured."""
    if not latency:
        return []
    from browser_latency import markdown as browser_markdown

    return [browser_markdown(latency), ""]


def _explorer_gradcam_lines(e: dict | None) -> list[str]:
    if not e:
        return []
    return [
        f"Explorer in Grad-CAM mode on {e['model']} ({e['images']} images): built in "
        f"{e['construction_ms']:,.0f} ms (= {e['construction_forward_passes']:.1f} compiled "
        f"forward passes of one image); a change of class, first view of that map: median "
        f"{e['class_change_ms']:,.0f} ms (= {e['class_change_forward_passes']:.1f} forward "
        f"passes) over {e['class_changes']} changes.",
        "",
    ]


def text_table(results: dict) -> str:
    """The table for the terminal."""
    out = []
    for r in results["rows"]:
        out.append(
            f"{_fmt_ratio(r['ratio']):>9}  {r['label']}  [{r['workload']}]  "
            f"({_fmt_ms(r['baseline_ms'])} ms / {_fmt_ms(r['candidate_ms'])} ms)\n"
            f"{'':11}{_fmt_ratio(r['ratio'])} {r['meaning']}; {r['check']}"
        )
    d = results["redraw"]
    out.append(
        f"explorer redraw: median {d['median_ms']:.1f} ms, p90 {d['p90_ms']:.1f} ms, "
        f"target {d['target_ms']:.0f} ms: {'met' if d['meets_target'] else 'MISSED'}"
    )
    if results.get("browser_latency_ms"):
        from browser_latency import table

        out.append("explorer in the browser (ms):\n" + table(results["browser_latency_ms"]))
    out += [f"NOTE: {n}" for n in results["notes"]]
    return "\n".join(out)


def plot(results: dict, path: Path) -> None:
    """Two panels: the ratios (log scale) and the explorer's redraw latencies.

    The PNG is rendered in memory and written atomically: a reader never sees half a file.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["rows"]
    fig, (ax, ax2) = plt.subplots(
        1, 2, figsize=(14, 0.42 * len(rows) + 2.2), width_ratios=[2.3, 1], layout="constrained"
    )
    groups = sorted({r["group"] for r in rows}, key=[r["group"] for r in rows].index)
    colors = dict(zip(groups, plt.get_cmap("tab10").colors, strict=False))
    y = np.arange(len(rows))[::-1]
    ax.barh(y, [r["ratio"] for r in rows], color=[colors[r["group"]] for r in rows], log=True)
    ax.set_yticks(y, [r["label"] for r in rows], fontsize=8)
    ax.axvline(1.0, color="black", lw=1)
    for yi, r in zip(y, rows, strict=True):
        ax.text(r["ratio"], yi, f" {_fmt_ratio(r['ratio'])}", va="center", fontsize=8)
    ax.set_xlabel("ratio of median times, baseline ÷ candidate (log scale; 1 = equal)")
    ax.set_title("Ratios measured in one run")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[g]) for g in groups]
    ax.legend(handles, groups, fontsize=7, loc="lower right")
    d = results["redraw"]
    ax2.hist(d["all_ms"], bins=20, color="tab:blue")
    for value, style, label in (
        (d["median_ms"], "-", f"median {d['median_ms']:.1f} ms"),
        (d["p90_ms"], "--", f"p90 {d['p90_ms']:.1f} ms"),
        (d["target_ms"], ":", f"target {d['target_ms']:.0f} ms"),
    ):
        ax2.axvline(value, color="black", ls=style, label=label)
    ax2.set_xlabel("control change to new picture (ms)")
    ax2.set_ylabel("number of control changes")
    ax2.set_title(f"Explorer redraw, {d['samples']} changes")
    ax2.legend(fontsize=8)
    m = results["machine"]
    fig.suptitle(
        f"cam_edu benchmarks, {m['cpu_count']} CPU cores, TF {m['tensorflow']}, {m['date'][:10]}"
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    atomic_write(path, buffer.getvalue())


def update_readme(readme: Path, section: str) -> None:
    """Replace the text between the benchmark markers of ``readme`` by ``section``.

    Raises:
        ValueError: if the markers are missing, repeated or out of order.
    """
    text = readme.read_text(encoding="utf-8")
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(
            f"{readme} must contain {START} and then {END}, once each; add them where the "
            "benchmark section belongs."
        )
    head, rest = text.split(START)
    _, tail = rest.split(END)
    atomic_write(readme, f"{head}{START}\n{section.strip()}\n{END}{tail}")
