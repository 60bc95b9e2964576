"""Every benchmark of issue 7 in one run, side by side with its floor, written to
bench/results/latest.md (a table) and bench/results/latest.json (the same numbers and every
raw sample). Run it through bench/run, which provides the D-Bus session, the unlocked
gnome-keyring and the Xvfb display (scripts/session.sh). Measures; changes nothing."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from bench import cli_token, service, window_startup
from bench.common import REPO, run_json

RESULTS = REPO / "bench" / "results"
SECTIONS = ("startup", "cli", "tick", "storm", "service", "idle")
X = "\N{MULTIPLICATION SIGN}"


@dataclass
class Row:
    measure: str
    value: str
    reference: str
    ratio: str
    target: str
    met: bool | None  # None: no target, for information
    numbers: dict[str, Any]


def ms(seconds: float, digits: int = 0) -> str:
    return f"{seconds * 1000:.{digits}f} ms"


def ratio_text(value: float) -> str:
    return f"{value:.2f} {X}"


def startup_rows(data: dict[str, Any]) -> list[Row]:
    rows = []
    bare = data["bare"]
    targets = {"0": 1.2, "2000": 1.3}  # issue 14: rows on screen against the bare window
    for key, how in (
        ("rows", "rows on screen (in-app marker: first paint with the accounts)"),
        ("painted", "first paint (in-app marker)"),
        ("mapped", "window mapped (X, from outside)"),
    ):
        floor = bare[f"{key}_median_s"]
        for count in ("0", "500", "2000"):
            value = data[count][f"{key}_median_s"]
            ratio = value / floor
            limit = targets.get(count) if key == "rows" else None
            rows.append(
                Row(
                    f"start-up to {how}, {int(count):,} accounts",
                    ms(value),
                    f"bare PySide6 window {ms(floor)}",
                    ratio_text(ratio),
                    f"≤ {limit} {X}" if limit else "—",
                    ratio <= limit if limit else None,
                    {"value_s": value, "reference_s": floor, "ratio": ratio},
                )
            )
    return rows


def memory_rows(data: dict[str, Any]) -> list[Row]:
    bare, zero, full = (data[v]["rss_median_kib"] for v in ("bare", "0", "2000"))
    return [
        Row(
            "resident memory (RSS), 0 accounts",
            f"{zero / 1024:.0f} MiB",
            f"bare PySide6 window {bare / 1024:.0f} MiB",
            ratio_text(zero / bare),
            f"≤ 1.4 {X}",
            zero / bare <= 1.4,
            {"value_kib": zero, "reference_kib": bare, "ratio": zero / bare},
        ),
        Row(
            "resident memory (RSS), 2,000 accounts",
            f"{full / 1024:.0f} MiB",
            f"0 accounts {zero / 1024:.0f} MiB",
            ratio_text(full / zero),
            f"≤ 1.5 {X}",
            full / zero <= 1.5,
            {"value_kib": full, "reference_kib": zero, "ratio": full / zero},
        ),
    ]


def cli_rows(data: dict[str, Any]) -> list[Row]:
    value, floor = data["token_median_s"], data["minimal_median_s"]
    return [
        Row(
            f"`token-vault token NAME` (item of {data['item_bytes']} bytes)",
            ms(value),
            f"minimal keyring read {ms(floor)}",
            ratio_text(value / floor),
            f"≤ 1.0 {X}",
            value / floor <= 1.0,
            {"value_s": value, "reference_s": floor, "ratio": value / floor},
        )
    ]


def service_rows(data: dict[str, Any]) -> list[Row]:
    token, proxy = data["token"], data["proxy"]
    served, floor, direct = (
        token["served_median_s"],
        token["minimal_median_s"],
        token["direct_median_s"],
    )
    added = proxy["added_median_s"]
    return [
        Row(
            "`token-vault token NAME` served by a running app (socket)",
            ms(served),
            f"minimal keyring read {ms(floor)}",
            ratio_text(served / floor),
            f"≤ 0.25 {X}",
            served / floor <= 0.25,
            {"value_s": served, "reference_s": floor, "ratio": served / floor},
        ),
        Row(
            "`token-vault token NAME` with no app running (same run)",
            ms(direct),
            f"minimal keyring read {ms(floor)}",
            ratio_text(direct / floor),
            "—",
            None,
            {"value_s": direct, "reference_s": floor, "ratio": direct / floor},
        ),
        Row(
            f"local proxy: time added per request (median of {proxy['requests']})",
            ms(added, 2),
            f"upstream asked directly {ms(proxy['direct_median_s'], 2)}, through the proxy "
            f"{ms(proxy['proxied_median_s'], 2)}",
            "—",
            "≤ 2 ms",
            added <= 0.002,
            {"value_s": added, "reference_s": proxy["direct_median_s"]},
        ),
    ]


def tick_rows(data: dict[str, Any]) -> list[Row]:
    n = f"{data['accounts']:,}"
    return [
        Row(
            f"countdown tick, {n} accounts (median)",
            ms(data["median_s"], 2),
            "—",
            "—",
            "≤ 2 ms",
            data["median_s"] <= 0.002,
            {"value_s": data["median_s"]},
        ),
        Row(
            f"countdown tick, {n} accounts (p95; handler alone {ms(data['handler_median_s'], 2)})",
            ms(data["p95_s"], 2),
            "—",
            "—",
            "—",
            None,
            {"value_s": data["p95_s"], "handler_median_s": data["handler_median_s"]},
        ),
    ]


def storm_rows(data: dict[str, Any], label: str) -> list[Row]:
    n = data["accounts"]
    ideal, elapsed = data["ideal_s"], data["elapsed_s"]
    if data["finished"]:
        value = f"{elapsed:.2f} s"
        ratio = ratio_text(elapsed / ideal)
    else:
        value = (
            f"> {elapsed:.0f} s (stopped: {data['refreshed']:,} of {n:,} fresh; "
            f"≈ {data['projected_s']:.0f} s projected)"
        )
        ratio = f"> {elapsed / ideal:.1f} {X} (≈ {data['projected_s'] / ideal:.0f} {X})"
    # On gnome-keyring the target is against the keyring's own floor (the row below).
    against_ideal = "keyring_floor_s" not in data
    rows = [
        Row(
            f"refresh storm, {n:,} accounts, {label}: time to all fresh",
            value,
            f"ideal {n:,} / 8 {X} {ms(data['latency_s'])} = {ideal:.3g} s",
            ratio,
            f"≤ 1.3 {X}" if against_ideal else "—",
            data["finished"] and elapsed / ideal <= 1.3 if against_ideal else None,
            {"value_s": elapsed, "reference_s": ideal, "ratio": elapsed / ideal},
        ),
        Row(
            f"refresh storm, {n:,} accounts, {label}: worst event-loop stall",
            ms(data["worst_stall_s"]),
            "10 ms heartbeat",
            "—",
            "≤ 50 ms",
            data["worst_stall_s"] <= 0.050,
            {"value_s": data["worst_stall_s"], "beats_over_50ms": data["beats_over_50ms"]},
        ),
    ]
    if "keyring_floor_s" in data:
        floor = data["keyring_floor_s"]
        rows.append(
            Row(
                f"refresh storm, {n:,} accounts, {label}: against the keyring's own cost",
                f"{elapsed:.2f} s",
                f"keyring floor {floor:.2f} s (write + delete per account, in a row, one "
                "kept connection)",
                ratio_text(elapsed / floor),
                f"≤ 1.3 {X}",
                data["finished"] and elapsed / floor <= 1.3,
                {"value_s": elapsed, "reference_s": floor, "ratio": elapsed / floor},
            )
        )
    return rows


def idle_rows(data: dict[str, Any]) -> list[Row]:
    app, bare = data["app"], data["bare"]
    seconds, n = data["seconds"], data["accounts"]
    limit = seconds / 5  # at most one wake-up every 5 s on average
    hidden = data["app_windows_on_screen"] == 0
    return [
        Row(
            f"idle in the tray, {n} accounts, none due: CPU time over {seconds:.0f} s",
            f"{app['cpu_s']:.2f} s",
            f"bare PySide6 tray app {bare['cpu_s']:.2f} s",
            "—",
            "≤ 0.1 s",
            hidden and app["cpu_s"] <= 0.1,
            {"value_s": app["cpu_s"], "reference_s": bare["cpu_s"]},
        ),
        Row(
            f"idle in the tray, {n} accounts, none due: wake-ups over {seconds:.0f} s "
            "(voluntary context switches, all threads)",
            f"{app['wakeups']} ({app['wakeups_per_5s']:.2f} per 5 s)",
            f"bare PySide6 tray app {bare['wakeups']}",
            "—",
            f"≤ {limit:.0f} (1 per 5 s)",
            hidden and app["wakeups"] <= limit,
            {"value": app["wakeups"], "reference": bare["wakeups"]},
        ),
    ]


def markdown(rows: list[Row], meta: dict[str, Any]) -> str:
    lines = [
        "| measure | Token Vault | reference | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        met = "—" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(
            f"| {row.measure} | {row.value} | {row.reference} | {row.ratio} | {row.target} "
            f"| {met} |"
        )
    sections = ", ".join(f"{k} {v:.0f} s" for k, v in meta["sections_s"].items())
    lines += [
        "",
        f"Run {meta['finished_at']} on {meta['machine']} ({meta['cpus']} CPUs), Python "
        f"{meta['python']}, PySide6 {meta['pyside6']}; load average "
        f"{meta['load_before'][0]:.2f} before, {meta['load_after'][0]:.2f} after. "
        f"`bench/run` took {meta['wall_s']:.0f} s ({sections}).",
        "Medians: start-up over "
        f"{meta['runs']['startup']} alternating launches of each, memory over "
        f"{meta['runs']['memory']}, CLI over {meta['runs']['cli']} alternating runs, the tick "
        f"over {meta['runs']['ticks']} ticks; each storm is one run, stopped after "
        f"{meta['runs']['storm_cap_s']:.0f} s; the served `token` over as many alternating "
        f"runs as the CLI's, the proxy over {meta['runs'].get('proxy_requests', 0)} "
        "alternating requests.",
    ]
    for note in meta["notes"]:
        lines.append(f"- {note}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help=f"comma-separated sections of {', '.join(SECTIONS)}")
    parser.add_argument("--startup-runs", type=int, default=7)
    parser.add_argument("--memory-runs", type=int, default=3)
    parser.add_argument("--cli-runs", type=int, default=15)
    parser.add_argument("--ticks", type=int, default=100)
    parser.add_argument("--storm-accounts", type=int, default=1000)
    parser.add_argument(
        "--keyring-storm-accounts",
        type=int,
        default=100,
        help="gnome-keyring rewrites its whole file on every change: 1,000 would not fit",
    )
    parser.add_argument("--storm-cap", type=float, default=60.0)
    parser.add_argument("--proxy-requests", type=int, default=500)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    args = parser.parse_args()
    chosen = set(args.only.split(",")) if args.only else set(SECTIONS)
    began = time.perf_counter()
    load_before = os.getloadavg()
    data: dict[str, Any] = {}
    timing: dict[str, float] = {}
    rows: list[Row] = []

    def section(name: str, started: float) -> None:
        timing[name] = time.perf_counter() - started
        print(f"== {name} done in {timing[name]:.0f} s", file=sys.stderr)

    if "startup" in chosen:
        print("== start-up and memory", file=sys.stderr)
        started = time.perf_counter()
        data["startup"] = window_startup.run(args.startup_runs, args.memory_runs)
        rows += startup_rows(data["startup"])
        section("startup", started)
    if "cli" in chosen:
        print("== token-vault token", file=sys.stderr)
        started = time.perf_counter()
        data["cli"] = cli_token.run(args.cli_runs)
        rows += cli_rows(data["cli"])
        section("cli", started)
    if "tick" in chosen:
        print("== countdown tick", file=sys.stderr)
        started = time.perf_counter()
        data["tick"] = run_json("bench.tick", "--accounts", "2000", "--ticks", str(args.ticks))
        rows += tick_rows(data["tick"])
        section("tick", started)
    if "storm" in chosen:
        for backend, count, label in (
            ("memory", args.storm_accounts, "MemoryBackend"),
            ("keyring", args.keyring_storm_accounts, "gnome-keyring"),
        ):
            print(f"== refresh storm ({backend})", file=sys.stderr)
            started = time.perf_counter()
            data[f"storm_{backend}"] = run_json(
                "bench.refresh_stall",
                "--accounts",
                str(count),
                "--backend",
                backend,
                "--cap",
                str(args.storm_cap),
            )
            rows += storm_rows(data[f"storm_{backend}"], label)
            section(f"storm ({backend})", started)
    if "service" in chosen:
        print("== the running app serves the CLI; the local proxy", file=sys.stderr)
        started = time.perf_counter()
        data["service"] = {
            "token": service.served_token(args.cli_runs),
            "proxy": service.proxy_overhead(args.proxy_requests),
        }
        rows += service_rows(data["service"])
        section("service", started)
    if "idle" in chosen:
        print("== idle in the tray", file=sys.stderr)
        started = time.perf_counter()
        data["idle"] = run_json(
            "bench.idle", "--seconds", str(args.idle_seconds), timeout=args.idle_seconds + 120
        )
        rows += idle_rows(data["idle"])
        section("idle", started)
    if "startup" in chosen:
        rows += memory_rows(data["startup"])

    import PySide6

    notes = [
        "Start-up: from a wall-clock stamp just before spawning to the markers the program "
        "writes ($TOKEN_VAULT_FIRST_PAINT: its first paint, and its first paint that shows "
        "the accounts, or with none the first-run page), and to the MapNotify of its window "
        "on the Xvfb display (one `xev -root`, from outside); memory is VmRSS 2 s after the "
        "paint with the accounts.",
        "Idle: `token-vault --minimized` on an Xvfb display of its own with `trayer` as the "
        "tray host (the window stays hidden in the tray; checked with xwininfo), next to "
        "bench/bare_tray.py at the same time; after 8 s of settling, CPU is utime + stime "
        "from /proc/PID/stat and wake-ups the growth of voluntary_ctxt_switches summed over "
        "/proc/PID/task/*/status (each time a sleeping thread is woken it switches out "
        "voluntarily once when it sleeps again).",
        "Storms: the keyring run uses fewer accounts because gnome-keyring rewrites its whole "
        "keyring file on every change (a write costs about 0.1 ms per stored item), so 1,000 "
        "accounts cannot be seeded and refreshed there within the 5-minute budget.",
    ]
    leaked = sorted({name for part in data.values() for name in part.get("pyside_leaks", [])})
    if leaked:
        notes.append(
            f"PySide6 {PySide6.__version__} drops references to {' and '.join(leaked)} (one "
            "per Python-side Signal.emit; one per Python override or callback returning "
            "None); the tick and storm processes hold a million extra references to each so "
            "that they finish instead of aborting with `bool_dealloc` / `none_dealloc` (the "
            "app itself has no such ballast, and dies of it: see BENCHMARKS.md)."
        )
    meta = {
        "finished_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": platform.machine() + " " + platform.system(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "pyside6": PySide6.__version__,
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "wall_s": time.perf_counter() - began,
        "sections_s": timing,
        "runs": {
            "startup": args.startup_runs,
            "memory": args.memory_runs,
            "cli": args.cli_runs,
            "ticks": args.ticks,
            "storm_cap_s": args.storm_cap,
            "proxy_requests": args.proxy_requests,
        },
        "notes": notes,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    table = markdown(rows, meta)
    (RESULTS / "latest.md").write_text(table, encoding="utf-8")
    (RESULTS / "latest.json").write_text(
        json.dumps({"meta": meta, "rows": [asdict(r) for r in rows], "raw": data}, indent=1) + "\n",
        encoding="utf-8",
    )
    print(table)
    print(f"wrote {RESULTS / 'latest.md'} and latest.json", file=sys.stderr)


if __name__ == "__main__":
    main()
