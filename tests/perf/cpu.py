"""CPU seconds spent by each process of a running stack, for "CPU ms per call" figures.

Throughput on this 2-core machine is bounded by the CPU every part spends on one call (the
client, the gateway, the services, the broker, the database), whatever else runs at the same
time; latency and req/s are not, when other work shares the cores. So the benchmarks print both:
the figures the issue names, and the CPU each process spent per call, from /proc (Linux), which
shows where the time goes and what the machine can do at best (2 cores ÷ total CPU per call).
"""

from __future__ import annotations

import os
import subprocess

TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:  # the process ended
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def _pids(pattern: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, check=False)
    return [int(p) for p in out.stdout.split()]


def stack_processes(runner_pid: int) -> dict[str, list[int]]:
    """The stack's processes by name (gateway, accounts, billing, …), the mail catcher, and,
    shared with anything else on the machine, PostgreSQL's and RabbitMQ's."""
    out = subprocess.run(["pgrep", "-a", "-P", str(runner_pid)], capture_output=True,
                         text=True, check=False).stdout
    procs: dict[str, list[int]] = {}
    for line in out.splitlines():
        pid, _, cmd = line.partition(" ")
        if "aiosmtpd" in cmd:
            name = "mail catcher"
        else:
            name = cmd.rsplit(" ", 1)[-1].split(".")[-2 if cmd.endswith(".service") else -1]
        procs.setdefault(name, []).append(int(pid))
    procs["postgres*"] = _pids("^postgres")
    procs["rabbitmq*"] = _pids("beam.smp")
    procs["bench client"] = [os.getpid()]
    return procs


class CpuMeter:
    """`start()` … `stop(calls)` → {process: CPU ms per call} and the total."""

    def __init__(self, procs: dict[str, list[int]]) -> None:
        self.procs = procs
        self.before: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        return {name: sum(_cpu_seconds(p) for p in pids) for name, pids in self.procs.items()}

    def start(self) -> None:
        self.before = self._read()

    def stop(self, calls: int) -> dict[str, float]:
        after = self._read()
        per_call = {name: 1000 * (after[name] - self.before[name]) / max(calls, 1)
                    for name in self.procs}
        per_call = {k: v for k, v in per_call.items() if v >= 0.05}
        per_call["total"] = sum(per_call.values())
        return per_call


def format_cpu(label: str, per_call: dict[str, float]) -> str:
    parts = ", ".join(f"{k} {v:.1f}" for k, v in sorted(per_call.items(), key=lambda kv: -kv[1])
                      if k != "total")
    ceiling = 2000 / per_call["total"] if per_call.get("total") else float("inf")
    return (f"  CPU ms per call, {label}: total {per_call.get('total', 0):.1f} "
            f"(2 cores ÷ total = {ceiling:.0f}/s at best): {parts}\n"
            f"  (* shared: PostgreSQL and RabbitMQ also serve anything else running)")
