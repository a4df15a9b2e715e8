#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Where the time of a write-then-fsync loop goes, from an ftrace text dump.

  fsync_timeline.py MAJ,MIN LABEL TRACE

TRACE holds block:block_rq_issue, block:block_rq_complete and
syscalls:sys_exit_fsync events of a fio job that writes one block and
fsyncs it, in a loop. MAJ,MIN is the disk under everything (as ftrace
prints it). Every iteration, from one fsync's return to the next, is cut
at four points of that disk: a write issued and completed, a flush issued
and completed. The same five phases hold on the raw disk, on dm-linear
and on a cache that writes the block only at the fsync, so their times
compare directly; the two disk phases are the device's, the three others
the CPU's and the wake-ups'. Prints one line per phase (mean and median,
us). Tracing itself slows every CPU phase: compare systems traced alike.
"""
import re
import statistics
import sys

EVENT = re.compile(r"^\s*\S+-\d+\s+\[\d+\]\s+\S+\s+([\d.]+): (\w+)[:(]? ?(.*)$")
PHASES = ["to the write", "write on the disk", "to the flush",
          "flush on the disk", "to fsync's return"]


def events(path):
    for line in open(path, errors="replace"):
        m = EVENT.match(line)
        if m:
            yield float(m.group(1)) * 1e6, m.group(2), m.group(3)


def iterations(path, disk):
    write = re.compile(r"^%s W[A-Z]* " % re.escape(disk))
    flush = re.compile(r"^%s FF " % re.escape(disk))
    marks = None
    for t, name, rest in events(path):
        if name == "sys_fsync" and rest.startswith("->"):
            if marks is not None and len(marks) == 5:
                yield [b - a for a, b in zip(marks, marks[1:] + [t])]
            marks = [t]
            continue
        if marks is None:
            continue
        want = len(marks)
        if want == 1 and name == "block_rq_issue" and write.match(rest):
            marks.append(t)
        elif want == 2 and name == "block_rq_complete" and write.match(rest):
            marks.append(t)
        elif want == 3 and name == "block_rq_issue" and flush.match(rest):
            marks.append(t)
        elif want == 4 and name == "block_rq_complete" and flush.match(rest):
            marks.append(t)


def main():
    disk, label, path = sys.argv[1:4]
    its = list(iterations(path, disk))
    if len(its) < 10:
        print(f"{label}: {len(its)} whole iterations in the trace")
        return 1
    total = [sum(i) for i in its]
    cpu = [i[0] + i[2] + i[4] for i in its]
    print(f"{label}: {len(its)} iterations, mean {statistics.mean(total):.0f} us "
          f"(median {statistics.median(total):.0f}); off the disk "
          f"{statistics.mean(cpu):.0f} us, on it {statistics.mean(total) - statistics.mean(cpu):.0f}")
    for k, phase in enumerate(PHASES):
        v = [i[k] for i in its]
        print(f"    {phase:<20} mean {statistics.mean(v):6.1f}  median {statistics.median(v):6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
