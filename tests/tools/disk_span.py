#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""How long a burst of writes and its flush keep a disk busy, from ftrace.

  disk_span.py TOP DISK TRACE

TRACE holds block:block_bio_queue, block:block_rq_issue and
block:block_rq_complete events (ftrace text). TOP is the device the
writes enter (MAJ,MIN as ftrace prints it, e.g. a dm-delay device) and
DISK the disk under it. The span runs from the first write queued to TOP
to the last request completed on DISK (the flush): the work of the disk
stack alone, without the writer's start-up, whoever sends the writes.
Prints one JSON object: span_ms, the disk's write requests and their mean
KiB, the mean and peak requests in flight on DISK.
"""
import json
import re
import sys

# block_rq_complete prints no byte count: "252,0 WS () 8 + 8 [0]".
EVENT = re.compile(r"\s([\d.]+): "
                   r"(block_bio_queue|block_rq_issue|block_rq_complete): "
                   r"(\S+) (\S+) (\d+)?")


def main():
    top, disk, path = sys.argv[1:4]
    start = end = None
    issued, nbytes, in_flight, peak = 0, 0, [], 0
    for line in open(path, errors="replace"):
        m = EVENT.search(line)
        if not m:
            continue
        t, name, dev, rwbs, size = float(m[1]) * 1e3, m[2], m[3], m[4], int(m[5] or 0)
        if name == "block_bio_queue":
            if dev == top and "W" in rwbs and start is None:
                start = t
            continue
        if dev != disk or start is None:
            continue
        write = "W" in rwbs and size > 0
        if name == "block_rq_issue":
            if write:
                issued += 1
                nbytes += size  # requests print bytes, bios sectors
            in_flight.append((t, 1))
        else:
            in_flight.append((t, -1))
            end = t
    if start is None or end is None or not issued:
        print(json.dumps({"error": "no writes traced"}))
        return 1
    depth = area = 0
    last = in_flight[0][0]
    for t, d in in_flight:
        area += depth * (t - last)
        last = t
        depth = max(depth + d, 0)
        peak = max(peak, depth)
    busy = in_flight[-1][0] - in_flight[0][0]
    print(json.dumps({"span_ms": round(end - start, 1), "requests": issued,
                      "mean_kib": round(nbytes / 1024 / issued, 1),
                      "mean_in_flight": round(area / busy, 1) if busy else 0,
                      "peak_in_flight": peak}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
