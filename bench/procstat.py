"""CPU time and RSS of a server's process tree, read from /proc (Linux only)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import TracebackType

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # Field 2 (comm) may hold spaces and parentheses; everything after the last ')' is regular.
    return text[text.rindex(")") + 2 :].split()


def process_tree(root: int) -> list[int]:
    """root and all its descendants (a supervisor and its forked workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, frontier = [root], [root]
    while frontier:
        frontier = [child for pid in frontier for child in children.get(pid, [])]
        tree.extend(frontier)
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of each process (all its threads), summed."""
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            # After comm: state=0, ppid=1, ... utime=11, stime=12 (proc(5) fields 14 and 15).
            ticks += int(fields[11]) + int(fields[12])
    return ticks / _CLOCK_TICKS


def tree_cpu_seconds(root: int) -> float:
    """CPU of root's process tree including the children it has reaped: utime + stime +
    cutime + cstime of every live member. For a server that starts and reaps processes while
    it runs (PostgreSQL: a backend per connection, autovacuum workers), where the sum over a
    fixed list of pids would miss the newcomers and lose the ones that exited."""
    ticks = 0
    for pid in process_tree(root):
        fields = _stat_fields(pid)
        if fields is not None:
            # utime=11, stime=12, cutime=13, cstime=14 (proc(5) fields 14-17).
            ticks += sum(int(f) for f in fields[11:15])
    return ticks / _CLOCK_TICKS


def preemptions(pids: list[int]) -> int:
    """Involuntary context switches of each process (all its threads), summed: how often the
    scheduler took the CPU away from a server that still had work to do."""
    total = 0
    for pid in pids:
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except (FileNotFoundError, ProcessLookupError):
            continue
        for task in tasks:
            try:
                status = (task / "status").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            for line in status.splitlines():
                if line.startswith("nonvoluntary_ctxt_switches:"):
                    total += int(line.split()[1])
    return total


def machine_busy_seconds() -> float:
    """CPU time all cores spent on anything but idle and iowait since boot (/proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _CLOCK_TICKS


def busy_cores(interval_s: float) -> float:
    """How many cores the whole machine kept busy over the next interval_s seconds."""
    before = machine_busy_seconds()
    time.sleep(interval_s)
    return (machine_busy_seconds() - before) / interval_s


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            resident = Path(f"/proc/{pid}/statm").read_text().split()[1]
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(resident) * _PAGE_SIZE
    return total


def private_and_proportional_bytes(pid: int) -> tuple[int, int]:
    """A process's private memory (USS: the pages no other process maps; what it frees when it
    exits) and its proportional share (PSS: each shared page divided among those that map it),
    from /proc/PID/smaps_rollup. A forked worker's RSS counts the pages it shares with the
    supervisor and the other workers in full; these do not. (0, 0) once it has gone."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0, 0
    kib = {line.split(":")[0]: int(line.split()[1]) for line in text.splitlines()[1:]}
    return (kib["Private_Clean"] + kib["Private_Dirty"]) * 1024, kib["Pss"] * 1024


class RssPeak:
    """Samples the tree's summed RSS in a background thread while a load run is going."""

    def __init__(self, pids: list[int], interval_s: float = 0.5) -> None:
        self._pids = pids
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak = rss_bytes(pids)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.peak = max(self.peak, rss_bytes(self._pids))

    def __enter__(self) -> RssPeak:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes(self._pids))
