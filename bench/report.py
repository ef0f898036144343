"""What a run leaves behind: machine info, a JSON of every median and ratio, a markdown
table with each target's PASS/MISS, and a PNG chart of the ratios per workload."""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import socket
import statistics
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import torch

import gpugrad as gg

from .harness import Case, Timing, quartiles, round_ratios

BUSY = 0.15  # cores used by other processes above which a case is flagged
ALLOCATOR_ENV = (
    "LD_PRELOAD",
    "MALLOC_ARENA_MAX",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "MALLOC_MMAP_MAX_",
    "GLIBC_TUNABLES",
    "PYTORCH_CUDA_ALLOC_CONF",
    "PYTORCH_NO_CUDA_MEMORY_CACHING",
    "CUPY_GPU_MEMORY_LIMIT",
    "NUMPY_MADVISE_HUGEPAGE",
)


# --- machine ----------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpu_name() -> str | None:
    if not gg.cuda.is_available():
        return None
    import cupy

    name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def _git(*args: str) -> str:
    root = Path(gg.__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def _blas_threads() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keys = ("user_api", "internal_api", "num_threads", "version")
    return [{k: info.get(k) for k in keys} for info in threadpool_info()]


def allocator_note() -> tuple[str, dict[str, str]]:
    """How memory is allocated in this run (the defaults, unless the environment says
    otherwise): large temporaries cost page faults, so every claim states this."""
    overrides = {k: os.environ[k] for k in ALLOCATOR_ENV if k in os.environ}
    libc = " ".join(platform.libc_ver()) or "unknown libc"
    try:
        from numpy._core.multiarray import _get_madvise_hugepage

        hugepage = "on" if _get_madvise_hugepage() else "off"
    except ImportError:
        hugepage = "unknown"
    from gpugrad.backends import heap

    tuned = heap.applies()
    malloc = (
        f"{libc} malloc, which gpugrad's processes tune as a user's would be (mmap threshold "
        f"{heap.MMAP_THRESHOLD >> 20} MiB, trim threshold {heap.TRIM_THRESHOLD >> 20} MiB: "
        f"backends/heap.py, off with {heap.VARIABLE}=0) and PyTorch's leave at glibc's "
        "defaults"
        if tuned
        else f"{libc} malloc untuned"
    )
    text = (
        f"Default allocator settings for every library: {malloc}, no allocator "
        f"preloaded; NumPy's default (hugepage madvise {hugepage}); PyTorch's default CPU "
        "allocator"
    )
    if gg.cuda.is_available():
        text += "; CuPy's default memory pool; PyTorch's default CUDA caching allocator"
    text += "."
    if overrides:
        text += " NOT default here, set in the environment: " + ", ".join(
            f"{k}={v}" for k, v in overrides.items()
        )
    return text, overrides


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "gpu": _gpu_name(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "gpugrad": gg.__version__,
        # GPUGRAD_SOURCE_COMMIT: the commit of a tree copied without its git history
        "gpugrad_commit": os.environ.get("GPUGRAD_SOURCE_COMMIT") or _git("rev-parse", "HEAD"),
        "gpugrad_source_modified": not os.environ.get("GPUGRAD_SOURCE_COMMIT")
        and bool(_git("status", "--porcelain", "--", "gpugrad", "backends")),
        "blas_threadpools": _blas_threads(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    if info["gpu"] is not None:
        import cupy

        info["cupy"] = cupy.__version__
        info["torch_cuda"] = torch.cuda.is_available()
    for package in ("sklearn", "autograd", "mygrad"):
        try:
            module = __import__(package)
            info[package] = getattr(module, "__version__", "installed")
        except ImportError:
            info[package] = None
    return info


def result_name(info: dict[str, Any]) -> str:
    """The results' file stem: the GPU's name when there is one, else the hostname."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", info["gpu"] or info["hostname"]).strip("-")


# --- one case ---------------------------------------------------------------------------
def ratio_summary(subject: Timing, reference: Timing) -> dict[str, Any]:
    """The per-round ratios ``subject ÷ reference``: median (the claim), range, quartiles."""
    ratios = round_ratios(subject, reference)
    q1, q3 = quartiles(ratios)
    return {
        "ratio": statistics.median(ratios),
        "min": min(ratios),
        "max": max(ratios),
        "q1": q1,
        "q3": q3,
        "rounds": ratios,
    }


def case_result(
    case: Case,
    variants: list[Any],
    skipped: dict[str, str],
    timings: dict[str, Timing],
    problems: list[str],
) -> dict[str, Any]:
    """One case's entry in the report. ``variants`` have a label, role, note and info
    (``bench.worker.RemoteVariant``); ``timings`` holds their rounds."""
    ref = timings.get(case.reference)
    floor = timings.get(case.floor) if case.floor else None
    rows = []
    for v in variants:
        t = timings[v.label]
        q1, q3 = t.quartiles()
        to_ref = ratio_summary(t, ref) if ref else None
        to_floor = ratio_summary(t, floor) if floor else None
        rows.append(
            {
                "label": v.label,
                "role": v.role,
                "note": v.note,
                "median_s": t.median,
                "per_unit_s": t.median / case.per,
                "q1_s": q1,
                "q3_s": q3,
                "min_s": min(t.samples),
                "rounds": len(t.samples),
                "samples_s": t.samples,
                "ratio_to_reference": to_ref and to_ref["ratio"],
                "ratio_to_reference_range": to_ref and [to_ref["min"], to_ref["max"]],
                "ratio_to_reference_iqr": to_ref and [to_ref["q1"], to_ref["q3"]],
                "ratio_to_floor": to_floor and to_floor["ratio"],
                "processes": [
                    {"pid": pid, "libraries": list(libraries)}
                    for pid, libraries in sorted(t.processes)
                ],
                "info": v.info,
            }
        )
    notes = {v.label: v.note for v in variants}

    def compared(subject: str, reference: str, text: str, max_ratio: float | None):
        entry: dict[str, Any] = {
            "case": case.id,
            "text": text,
            "subject": subject,
            "reference": reference,
            "max_ratio": max_ratio,
            "ratio": None,
            "range": None,
            "iqr": None,
            "status": "n/a",
            "subject_note": notes.get(subject, ""),
        }
        if subject in timings and reference in timings:
            summary = ratio_summary(timings[subject], timings[reference])
            entry.update(
                ratio=summary["ratio"],
                range=[summary["min"], summary["max"]],
                iqr=[summary["q1"], summary["q3"]],
            )
            if max_ratio is not None:
                entry["status"] = "PASS" if summary["ratio"] <= max_ratio else "MISS"
            elif summary["max"] < 1:
                entry["status"] = "faster in every round"
            elif summary["min"] > 1:
                entry["status"] = "slower in every round"
            else:
                entry["status"] = "no change beyond the rounds' spread"
        return entry

    targets = [compared(t.subject, t.reference, t.text, t.max_ratio) for t in case.targets]
    side = None
    if case.compiled is not None:
        side = side_by_side(case, timings, {v.label: v.info for v in variants}, skipped, targets)
    before_after = [
        compared(label, older, f"{case.id}: {label} ÷ {older}", None)
        for label in timings
        for older in timings
        if older.startswith(label + " @")
    ]
    return {
        "id": case.id,
        "workload": case.workload,
        "name": case.name,
        "title": case.title,
        "device": case.device,
        "per": case.per,
        "unit": case.unit,
        "rounds": case.rounds,
        "inner": case.inner,
        "reference": case.reference,
        "floor": case.floor,
        "variants": rows,
        "skipped": skipped,
        "check": {"ok": not problems, "problems": problems, "steps": case.check_steps},
        "targets": targets,
        "compiled": side,
        "baseline": before_after,
    }


def side_by_side(
    case: Case,
    timings: dict[str, Timing],
    infos: dict[str, dict[str, Any]],
    skipped: dict[str, str],
    targets: list[dict[str, Any]],
) -> dict[str, Any]:
    """Issue 18's comparison for one case: gpugrad eager, gpugrad compiled and
    ``torch.compile``, each as a per-round ratio to PyTorch eager (``case.compiled``'s
    reference), with the compiled variants' first-call (compile) times apart, and the
    targets ``gpugrad compiled`` has."""
    c = case.compiled
    reference = timings.get(c.reference)
    entry: dict[str, Any] = {"case": case.id, "reference": c.reference}
    for key, label in (
        ("eager", c.eager),
        ("compiled", c.compiled),
        ("torch_compiled", c.torch_compiled),
    ):
        column: dict[str, Any] = {"label": label, "ratio": None, "range": None}
        if label in timings and reference is not None:
            summary = ratio_summary(timings[label], reference)
            column.update(ratio=summary["ratio"], range=[summary["min"], summary["max"]])
        if label in timings:
            column["median_s"] = timings[label].median / case.per
        info = infos.get(label, {})
        if "compile_s" in info:
            column["compile_s"] = info["compile_s"]
            column["second_call_s"] = info.get("second_call_s")
            column["third_call_s"] = info.get("third_call_s")
        if info.get("warnings"):
            column["warnings"] = info["warnings"]
        if label in skipped:
            column["skipped"] = skipped[label]
        entry[key] = column
    entry["targets"] = [t for t in targets if t["subject"] == c.compiled]
    return entry


# --- writers ----------------------------------------------------------------------------
def _time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.2f} µs"


def _ratio(value: float | None, spread: list[float] | None = None) -> str:
    if value is None:
        return "—"
    if not spread:
        return f"{value:.2f}×"
    return f"{value:.2f}× ({spread[0]:.2f}–{spread[1]:.2f})"


def write_markdown(path: Path, run: dict[str, Any]) -> None:
    m = run["machine"]
    lines = [
        f"# gpugrad benchmarks on {run['name']}",
        "",
        f"{m['date']} · {m['cpu_model']} ({m['cpu_count']} cores)"
        + (f" · {m['gpu']}" if m["gpu"] else " · no GPU")
        + f" · Python {m['python']} · NumPy {m['numpy']} · PyTorch {m['torch']} "
        f"({m['torch_threads']} threads) · gpugrad {m['gpugrad']} "
        f"(commit {m['gpugrad_commit'][:10] or '?'}"
        + (", with uncommitted changes" if m["gpugrad_source_modified"] else "")
        + ")",
        "",
        f"Allocator: {run['allocator']}",
        "",
        "Each variant runs in a Python process of its own (two libraries in one process "
        "slow each other down: their worker threads spin after each call and starve the "
        "other's). The processes take turns round by round, so all of them see the same "
        "machine; a ratio is taken in each round, and the claim is the median of those "
        "ratios, with their range (min–max) in parentheses. Absolute times are medians and "
        f"drift between runs. Command: `{run['command']}` ({run['elapsed_s']:.0f} s).",
        "",
    ]
    if run["settings"]["quick"]:
        lines += [
            "**Quick mode**: tiny sizes, every benchmark run once; the ratios below mean nothing.",
            "",
        ]
    base = run["settings"].get("baseline")
    if base:
        lines += [
            f"## Before and after: the current tree against `{base['rev']}` "
            f"(commit {base['commit'][:10]})",
            "",
            "| case | variant | time ÷ its time at the baseline | |",
            "|---|---|---:|---|",
        ]
        for t in run["baseline"]:
            lines.append(
                f"| {t['case']} | {t['subject']} | {_ratio(t['ratio'], t['range'])} | "
                f"{t['status']} |"
            )
        lines.append("")
    lines += [
        "## Targets",
        "",
        "| workload | case | ratio (range over rounds) | target | result | gpugrad ran |",
        "|---|---|---:|---:|---|---|",
    ]
    for t in run["targets"]:
        lines.append(
            f"| {t['text']} | {t['case']} | {_ratio(t['ratio'], t['range'])} vs "
            f"{t['reference']} | "
            f"≤ {t['max_ratio']}× | {t['status']} | {t['subject_note'] or '—'} |"
        )
    lines += _compiled_table(run)
    busy = [c for c in run["cases"] if (c.get("load", {}).get("others_cores") or 0) > BUSY]
    if busy:
        lines += [
            "",
            f"**Warning**: other processes kept the CPU busy during {len(busy)} case(s) "
            "(see each case); their ratios are unreliable, PyTorch's multithreaded kernels "
            "most of all.",
        ]
    failed = [p for c in run["cases"] for p in c["check"]["problems"]]
    lines += ["", "Cross-library checks: " + ("all agree." if not failed else "FAILED")]
    lines += [f"- {p}" for p in failed]
    for case in run["cases"]:
        per = f" per {case['unit']}" if case["per"] > 1 else f" per {case['unit']}"
        lines += [
            "",
            f"## {case['id']}: {case['title']}",
            "",
            f"{case['rounds']} rounds × {case['inner']} iterations; ratios to "
            f"**{case['reference']}** and to the floor **{case['floor']}**."
            + (f" Times are per op ({case['per']} ops per iteration)." if case["per"] > 1 else "")
            + (
                f" Results checked equal after {case['check']['steps']} steps."
                if case["check"]["steps"] > 1
                else ""
            )
            + _load_text(case.get("load", {})),
            "",
            f"| variant | median{per} | × {case['reference']} | × floor | note |",
            "|---|---:|---:|---:|---|",
        ]
        for row in case["variants"]:
            lines.append(
                f"| {row['label']} | {_time(row['per_unit_s'])} | "
                f"{_ratio(row['ratio_to_reference'], row['ratio_to_reference_range'])} | "
                f"{_ratio(row['ratio_to_floor'])} | "
                f"{row['note']} |"
            )
        for label, reason in case["skipped"].items():
            lines.append(f"| {label} | — | — | — | not run: {reason} |")
    path.write_text("\n".join(lines) + "\n")


def _compiled_table(run: dict[str, Any]) -> list[str]:
    """The markdown table of eager and compiled side by side (issue 18), or nothing."""
    entries = [c["compiled"] for c in run["cases"] if c.get("compiled")]
    if not entries:
        return []
    lines = [
        "",
        "## Eager and compiled",
        "",
        "Each column is a time ÷ PyTorch eager's (the reference named; the same code unless "
        "the target names another), median over rounds with the range. A compiled step's "
        "first calls (tracing and compiling; a second trace once the leaves hold gradients) "
        "are timed once, apart, and are not in its ratio; the rounds come after a warm-up.",
        "",
        "| case | ÷ reference | gpugrad eager | gpugrad compiled | torch.compile | "
        "target (compiled) | result | first, second call: gg.compile / torch.compile |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]

    def cell(column: dict[str, Any]) -> str:
        if column.get("ratio") is not None:
            return _ratio(column["ratio"], column["range"])
        return "not run" if column.get("skipped") else "—"

    def first_call(column: dict[str, Any]) -> str:
        if column.get("compile_s") is None:
            return "—"
        return f"{_time(column['compile_s'])}, {_time(column['second_call_s'])}"

    for e in entries:
        targets = e["targets"]
        limits = "; ".join(f"≤ {t['max_ratio']}× {t['reference']}" for t in targets) or "—"
        results = "; ".join(
            f"{t['status']}" + (f" ({t['ratio']:.2f}×)" if t["ratio"] is not None else "")
            for t in targets
        )
        lines.append(
            f"| {e['case']} | {e['reference']} | {cell(e['eager'])} | {cell(e['compiled'])} | "
            f"{cell(e['torch_compiled'])} | {limits} | {results or '—'} | "
            f"{first_call(e['compiled'])} / {first_call(e['torch_compiled'])} |"
        )
    reasons = {
        f"{e[key]['label']}: {e[key]['skipped']}"
        for e in entries
        for key in ("eager", "compiled", "torch_compiled")
        if e[key].get("skipped")
    }
    warned = {
        f"{e['case']} {e[key]['label']}: {w}"
        for e in entries
        for key in ("compiled", "torch_compiled")
        for w in e[key].get("warnings", ())
    }
    lines += [""] if reasons or warned else []
    lines += [f"- not run, {r}" for r in sorted(reasons)]
    lines += [f"- warned while compiling, {w}" for w in sorted(warned)]
    return lines


def _load_text(load: dict[str, Any]) -> str:
    cores = load.get("others_cores")
    if cores is None:
        return ""
    flag = " **(busy: unreliable)**" if cores > BUSY else ""
    redone = load.get("rounds_redone") or 0
    redo = f" ({redone} disturbed rounds were redone)" if redone else ""
    return f" Other processes used {cores:.2f} cores during the rounds kept{flag}{redo}."


ROLE_COLOURS = {
    "subject": "tab:red",
    "reference": "tab:blue",
    "torch": "tab:cyan",
    "floor": "tab:green",
    "memory": "tab:olive",
    "peer": "tab:gray",
    "other": "tab:purple",
}


def write_chart(path: Path, run: dict[str, Any]) -> bool:
    try:
        import matplotlib
    except ImportError:
        print("no chart: matplotlib is not installed (pip install matplotlib)")
        return False

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

    cases = [c for c in run["cases"] if c["variants"]]
    if not cases:
        return False
    cols = 2
    rows = (len(cases) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(13, 2.2 + 0.32 * 9 * rows), squeeze=False)
    for ax, case in zip(axes.flat, cases):
        variants = case["variants"]
        labels = [v["label"] for v in variants]
        ratios = [v["ratio_to_reference"] or np.nan for v in variants]
        colours = [
            ROLE_COLOURS["reference" if v["label"] == case["reference"] else v["role"]]
            for v in variants
        ]
        y = np.arange(len(variants))
        spread = np.array(
            [
                [r - v["ratio_to_reference_range"][0], v["ratio_to_reference_range"][1] - r]
                if v["ratio_to_reference_range"] and np.isfinite(r)
                else [0.0, 0.0]
                for r, v in zip(ratios, variants)
            ]
        ).T
        ax.barh(y, ratios, color=colours, xerr=spread, error_kw={"elinewidth": 0.8})
        ax.set_yticks(y, labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.axvline(1.0, color="black", linewidth=0.8)
        for t in case["targets"]:
            ax.axvline(t["max_ratio"], color="tab:red", linestyle="--", linewidth=1)
        for yi, r in zip(y, ratios):
            if np.isfinite(r):
                ax.text(r, yi, f" {r:.2f}", va="center", fontsize=7)
        ax.set_title(case["id"], fontsize=9)
        ax.set_xlabel(
            f"time ÷ {case['reference']}, median over rounds, whiskers min–max "
            "(log; dashed: target)",
            fontsize=8,
        )
    for ax in list(axes.flat)[len(cases) :]:
        ax.axis("off")
    fig.suptitle(f"gpugrad benchmarks on {run['name']} — ratio to PyTorch (lower is faster)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_all(out_dir: Path, run: dict[str, Any]) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / run["name"]
    paths = [stem.with_suffix(".json"), stem.with_suffix(".md"), stem.with_suffix(".png")]
    paths[0].write_text(json.dumps(run, indent=1, default=str) + "\n")
    write_markdown(paths[1], run)
    if not write_chart(paths[2], run):
        paths.pop()
    return paths
