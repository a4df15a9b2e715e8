#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Workload and checker for the power-cut tests that aim at the windows.

DEV and DISK may name several devices, DEV[@OFFSET],DEV[@OFFSET]... (the
offset in bytes): B blocks of each, numbered on from one to the next, one
address space (a consistency group's members, or the halves of a disk).

  cutcheck.py run DEV HISTORY --blocks B [--hot H] [--discards] [--runs]
      Until killed: write random 4 KiB blocks with O_DIRECT, rewrite one of
      the H hot blocks (0..H-1 of each device) every few operations, fsync
      (a random device), with --discards also discard short runs of
      blocks, and with --runs also write runs of 2 to 16 blocks with one
      pwritev (half of them from the last hot blocks on into cold ones, so
      that one bio spans cached and uncached blocks). Each block written is
      stamped with (sequence number, block). Each operation is logged to
      HISTORY before it is issued ("w SEQ BLOCK", "d SEQ BLOCK COUNT",
      "f SEQ"), and its outcome after it ends ("ok SEQ", "err SEQ"). A run
      is one operation per block, with consecutive sequence numbers, each
      line naming the sequence number of the run's first ("w SEQ BLOCK
      FIRST"): a cut may land any subset of one bio's blocks.

  cutcheck.py check-ordered DISK HISTORY --blocks B
      Ordered mode: the disk after the cut holds the state after the first
      j operations, except for blocks that hold their state after some later
      operation j' (the same j' for all of them): a prefix of epochs plus
      part of the next epoch. Epochs close at moments the workload does not
      see (rounds close them too), so any j <= j' is a candidate. The blocks
      of a run may reach their epochs in any order (map() keeps the blocks
      it can take at once and dm sends the rest back, or the first goes to
      the workqueue while the rest are taken; a round may close the epoch
      in between), so a run's operations count in any order.

  cutcheck.py check-writeback DISK HISTORY --blocks B
      Writeback mode: every write acknowledged before the last fsync that
      returned 0 is on the disk, or a later write or discard of its block
      (each block of a run on its own: a run that failed may have written
      any of its blocks).

  cutcheck.py selftest
      Check that both checkers accept good disks and reject broken ones.

Discards count as zeroing their blocks (the test disks punch holes).
"""
import fcntl
import mmap
import os
import random
import struct
import sys

BLOCK = 4096
BLKDISCARD = 0x1277
RUN_MAX = 16	# blocks of one write with --runs
INF = 1 << 62


def stamp(seq, block):
    return struct.pack("<QQ", seq, block) * (BLOCK // 16)


def parse_devs(spec):
    """[(path, byte offset)] of DEV[@OFFSET],..."""
    out = []
    for part in spec.split(","):
        path, _, off = part.partition("@")
        out.append((path, int(off or 0)))
    return out


def run(spec, history, blocks, hot, discards, runs):
    buf = mmap.mmap(-1, RUN_MAX * BLOCK)
    view = memoryview(buf)
    devs = [(os.open(path, os.O_RDWR | os.O_DIRECT), off) for path, off in parse_devs(spec)]
    log = open(history, "w", buffering=1)
    seq = 0
    while True:
        first = seq = seq + 1
        r = random.random()
        i = random.randrange(len(devs))
        fd, off = devs[i]
        try:
            if r < 0.1:
                log.write(f"f {seq}\n")
                os.fsync(fd)
            elif discards and r < 0.2:
                b = random.randrange(blocks)
                n = min(random.randint(1, 16), blocks - b)
                log.write(f"d {seq} {i * blocks + b} {n}\n")
                fcntl.ioctl(fd, BLKDISCARD, struct.pack("QQ", off + b * BLOCK, n * BLOCK))
            elif runs and 0.45 <= r < 0.55:
                n = random.randint(2, RUN_MAX)
                if hot and random.random() < 0.5:
                    # From the last hot blocks, which are cached, on
                    # into cold ones, which mostly are not.
                    b = hot - random.randint(1, min(hot, n - 1))
                else:
                    b = random.randrange(blocks - n + 1)
                seq += n - 1
                log.write("".join(f"w {first + k} {i * blocks + b + k} {first}\n"
                                  for k in range(n)))
                for k in range(n):
                    view[k * BLOCK:(k + 1) * BLOCK] = stamp(first + k, i * blocks + b + k)
                if os.pwritev(fd, [view[:n * BLOCK]], off + b * BLOCK) != n * BLOCK:
                    raise OSError("short write")
            else:
                b = random.randrange(hot) if r < 0.45 else random.randrange(hot, blocks)
                log.write(f"w {seq} {i * blocks + b}\n")
                view[:BLOCK] = stamp(seq, i * blocks + b)
                if os.pwritev(fd, [view[:BLOCK]], off + b * BLOCK) != BLOCK:
                    raise OSError("short write")
            outcome = "ok"
        except OSError:
            outcome = "err"
        log.write("".join(f"{outcome} {s}\n" for s in range(first, seq + 1)))


def read_history(history):
    """Operations [(seq, kind, block, count, first)] in order, first the
    sequence number of the first operation of the run it is part of (its
    own if none), and their outcomes."""
    ops, outcome = [], {}
    with open(history) as f:
        for line in f:
            w = line.split()
            if len(w) < 2 or not line.endswith("\n"):
                continue	# the line being written when the workload died
            seq = int(w[1])
            if w[0] in ("ok", "err"):
                outcome[seq] = w[0]
            elif w[0] == "w":
                first = int(w[3]) if len(w) > 3 else seq
                if first != seq and (not ops or ops[-1][4] != first):
                    sys.exit(f"history: operation {seq} continues a run it does not follow")
                ops.append((seq, "w", int(w[2]), 1, first))
            elif w[0] == "d":
                ops.append((seq, "d", int(w[2]), int(w[3]), seq))
            else:
                ops.append((seq, "f", 0, 0, seq))
    for i, op in enumerate(ops):
        if op[0] != i + 1:
            sys.exit(f"history: operation {i + 1} has sequence number {op[0]}")
    return ops, outcome


def read_disk(spec, blocks):
    """Per block of every device: the stamp's sequence number, 0 for zeros;
    None if torn."""
    values = []
    for path, off in parse_devs(spec):
        with open(path, "rb") as f:
            f.seek(off)
            for _ in range(blocks):
                b = len(values)
                data = f.read(BLOCK)
                if data == bytes(BLOCK):
                    values.append(0)
                    continue
                seq, block = struct.unpack("<QQ", data[:16])
                values.append(seq if block == b and data == stamp(seq, b) else None)
    return values


def block_histories(ops, blocks):
    """Per block: [(seq, value)] from (0, 0), value the seq of a write or 0."""
    hist = [[(0, 0)] for _ in range(blocks)]
    for seq, kind, b, n, _ in ops:
        if kind == "w":
            hist[b].append((seq, seq))
        elif kind == "d":
            for x in range(b, b + n):
                hist[x].append((seq, 0))
    return hist


def run_spans(ops):
    """Per operation of a run of several blocks: (first, last) of the run."""
    last = {}
    for seq, _, _, _, first in ops:
        last[first] = seq
    return {seq: (first, last[first]) for seq, _, _, _, first in ops if last[first] > first}


def times_holding(hist, value, spans):
    """The intervals [lo, hi) of j during which the block may hold @value
    after the first j operations. An operation of a run may come anywhere
    in its run (@spans), so the block may hold its value from the run's
    first operation on and the value before it until the run's last."""
    out = []
    for i, (seq, v) in enumerate(hist):
        if v == value:
            lo = spans.get(seq, (seq, seq))[0]
            hi = INF
            if i + 1 < len(hist):
                after = hist[i + 1][0]
                hi = spans.get(after, (after, after))[1]
            if out and out[-1][1] >= lo:
                out[-1] = (out[-1][0], max(out[-1][1], hi))
            else:
                out.append((lo, hi))
    return out


def runs_note(ops, values):
    """How many runs of several blocks there are, and how many of them the
    disk holds in part: some blocks at the run's data, some at what they
    held before it."""
    spans = run_spans(ops)
    state = [0] * len(values)
    runs = in_part = 0
    for seq, kind, b, n, first in ops:
        if seq in spans and seq == first:
            run = [(s, ops[s - 1][2]) for s in range(first, spans[seq][1] + 1)]
            runs += 1
            in_part += (any(values[x] == s for s, x in run) and
                        any(values[x] == state[x] for _, x in run))
        for x in range(b, b + n) if kind != "f" else ():
            state[x] = seq if kind == "w" else 0
    if not runs:
        return ""
    return f"; {runs} runs of several blocks, {in_part} of them in part on the disk"


def intersect(a, b):
    out, i, k = [], 0, 0
    while i < len(a) and k < len(b):
        lo, hi = max(a[i][0], b[k][0]), min(a[i][1], b[k][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[k][1]:
            i += 1
        else:
            k += 1
    return out


def check_ordered(disk, history, blocks):
    ops, _ = read_history(history)
    values = read_disk(disk, blocks)
    blocks = len(values)
    torn = [b for b, v in enumerate(values) if v is None]
    if torn:
        print(f"FAIL: block {torn[0]} holds neither zeros nor its own stamp")
        return 1
    hist = block_histories(ops, blocks)
    spans = run_spans(ops)
    holding = [times_holding(hist[b], values[b], spans) for b in range(blocks)]
    for b in range(blocks):
        if not holding[b]:
            print(f"FAIL: block {b} holds {values[b]}, never written there")
            return 1
    # Each fsync closes an epoch: ops on both sides of one after a data
    # op are never in the same epoch, so j' stays before the first such.
    fsync_after, data_after = [INF] * (len(ops) + 1), [INF] * (len(ops) + 1)
    for j in range(len(ops) - 1, -1, -1):
        kind = ops[j][1]	# operation j + 1
        fsync_after[j] = j + 1 if kind == "f" else fsync_after[j + 1]
        data_after[j] = j + 1 if kind != "f" else data_after[j + 1]
    bound = [fsync_after[d] if d < len(ops) else INF for d in data_after]
    # behind: the blocks that cannot hold their state after the first j
    # operations (inside a run, any of its operations may be done). A
    # block leaves it where an interval of its holding begins and joins
    # it where one ends; a block's intervals neither touch nor overlap.
    leave, join = {}, {}
    for x in range(blocks):
        for lo, hi in holding[x]:
            leave.setdefault(lo, []).append(x)
            join.setdefault(hi, []).append(x)
    behind = set(range(blocks))
    for j in range(len(ops) + 1):
        behind.update(join.get(j, ()))
        behind.difference_update(leave.get(j, ()))
        # Blocks not at their state after j must all be at j'.
        later = [(j, bound[j])]
        for x in behind:
            later = intersect(later, holding[x])
            if not later:
                break
        if later:
            print(f"ok: prefix of {j} of {len(ops)} operations, {len(behind)} blocks "
                  f"of a later epoch (up to operation {later[0][0]}){runs_note(ops, values)}")
            return 0
    print(f"FAIL: the disk is no prefix of the {len(ops)} operations plus part of one epoch")
    return 1


def check_writeback(disk, history, blocks):
    ops, outcome = read_history(history)
    values = read_disk(disk, blocks)
    blocks = len(values)
    torn = [b for b, v in enumerate(values) if v is None]
    if torn:
        print(f"FAIL: block {torn[0]} holds neither zeros nor its own stamp")
        return 1
    synced = [s for s, kind, _, _, _ in ops if kind == "f" and outcome.get(s) == "ok"]
    last = synced[-1] if synced else 0
    hist = block_histories(ops, blocks)
    checked = 0
    for b in range(blocks):
        # The last operation on @b acknowledged before that fsync, and
        # every operation after it: acknowledged, failed or in flight.
        before = [(s, v) for s, v in hist[b] if s < last or s == 0]
        acked = [(s, v) for s, v in before if s == 0 or outcome.get(s) == "ok"][-1]
        if any(s > acked[0] and outcome.get(s) != "ok" for s, _ in before):
            continue	# a failed write or discard left the block undefined
        if acked[1] == 0 and acked[0]:
            continue	# discarded data is undefined, zeros or not
        allowed = {acked[1]} | {v for s, v in hist[b] if s > acked[0]}
        if values[b] not in allowed:
            print(f"FAIL: block {b} holds {values[b]}; the fsync at {last} acknowledged "
                  f"{acked[1]} (allowed {sorted(allowed)[:6]})")
            return 1
        checked += 1
    print(f"ok: {checked} blocks hold what the fsync at {last} of {len(ops)} acknowledged "
          f"({len(synced)} fsyncs returned 0){runs_note(ops, values)}")
    return 0


def selftest():
    import tempfile
    cases = [
        # (history, disk values, checker, expected exit code)
        ("w 1 0\nok 1\nw 2 1\nok 2\nf 3\nok 3\nw 4 0\nok 4\n", [1, 2], check_ordered, 0),
        ("w 1 0\nok 1\nw 2 1\nok 2\nf 3\nok 3\nw 4 0\nok 4\n", [1, 0], check_ordered, 0),
        # block 1 of the first epoch is missing while block 0 is at the second
        ("w 1 0\nok 1\nw 2 1\nok 2\nf 3\nok 3\nw 4 0\nok 4\n", [4, 0], check_ordered, 1),
        ("w 1 0\nw 2 1\nw 3 0\nw 4 2\n", [3, 0, 4], check_ordered, 0),
        ("w 1 0\nw 2 1\nf 3\nw 4 0\nw 5 2\n", [4, 0, 5], check_ordered, 1),
        # X rewritten in two later epochs: its middle version lost (defect 1)
        ("w 1 0\nf 2\nw 3 0\nw 4 1\nf 5\nw 6 0\nw 7 2\n", [1, 4, 7], check_ordered, 1),
        ("w 1 0\nf 2\nw 3 0\nw 4 1\nf 5\nw 6 0\nw 7 2\n", [3, 4, 7], check_ordered, 0),
        ("w 1 0\nf 2\nw 3 0\nw 4 1\nf 5\nw 6 0\nw 7 2\n", [6, 0, 0], check_ordered, 1),
        ("w 1 0\nd 2 0 2\nw 3 1\n", [0, 3], check_ordered, 0),
        # a discard of an older epoch lost under a later write
        ("w 1 0\nf 2\nd 3 0 2\nf 4\nw 5 1\n", [1, 5], check_ordered, 1),
        ("w 1 0\nw 2 1\n", [1, None], check_ordered, 1),
        ("w 1 0\nok 1\nf 2\nok 2\nw 3 0\nok 3\n", [1], check_writeback, 0),
        ("w 1 0\nok 1\nf 2\nok 2\nw 3 0\nok 3\n", [3], check_writeback, 0),
        ("w 1 0\nok 1\nf 2\nok 2\nw 3 0\nok 3\n", [0], check_writeback, 1),
        ("w 1 0\nok 1\nf 2\nerr 2\n", [0], check_writeback, 0),
        ("w 1 0\nok 1\nf 2\nerr 2\nf 3\nok 3\n", [0], check_writeback, 1),
        # Runs: one write of blocks 0..2, an operation per block.
        ("w 1 0 1\nw 2 1 1\nw 3 2 1\n", [1, 0, 3], check_ordered, 0),
        # part of the run is missing, yet the next epoch is on the disk
        ("w 1 0 1\nw 2 1 1\nw 3 2 1\nf 4\nw 5 3\n", [1, 0, 3, 5], check_ordered, 1),
        # the run's second block in an epoch before its first (a round
        # closed the epoch between them), that epoch on the disk
        ("w 1 0 1\nw 2 1 1\nw 3 1\nw 4 2\n", [0, 2, 4], check_ordered, 0),
        ("w 1 0 1\nw 2 1 1\nf 3\nw 4 1\nw 5 2\n", [0, 2, 5], check_ordered, 1),
        # single writes keep their order
        ("w 1 0\nw 2 1\nw 3 1\nw 4 2\n", [0, 2, 4], check_ordered, 1),
        ("w 1 0 1\nw 2 1 1\nw 3 2 1\nok 1\nok 2\nok 3\nf 4\nok 4\n", [1, 2, 3],
         check_writeback, 0),
        # an acknowledged run with a block missing after the fsync
        ("w 1 0 1\nw 2 1 1\nw 3 2 1\nok 1\nok 2\nok 3\nf 4\nok 4\n", [1, 0, 3],
         check_writeback, 1),
        ("w 1 0 1\nw 2 1 1\nw 3 2 1\nerr 1\nerr 2\nerr 3\nf 4\nok 4\n", [1, 0, 3],
         check_writeback, 0),
        ("w 1 0\nok 1\nf 2\nok 2\nw 3 0 3\nw 4 1 3\n", [3, 0], check_writeback, 0),
        ("w 1 0\nok 1\nf 2\nok 2\nw 3 0 3\nw 4 1 3\n", [0, 4], check_writeback, 1),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        hist, disk = os.path.join(tmp, "h"), os.path.join(tmp, "d")
        for i, (text, values, checker, want) in enumerate(cases):
            with open(hist, "w") as f:
                f.write(text)
            with open(disk, "wb") as f:
                for b, v in enumerate(values):
                    f.write(b"\x55" * BLOCK if v is None else stamp(v, b) if v else bytes(BLOCK))
            got = checker(disk, hist, len(values))
            if got != want:
                print(f"selftest case {i}: {checker.__name__} returned {got}, expected {want}")
                return 1
        # Two devices of two blocks, the second at 2 blocks into the file:
        # one address space. A fsync on either closes the epoch of both.
        text = "w 1 0\nok 1\nw 2 2\nok 2\nf 3\nok 3\nw 4 3\nok 4\nf 5\nok 5\nw 6 1\nok 6\n"
        for values, want in (([1, 0, 2, 4], 0), ([1, 6, 2, 0], 1), ([1, 0, 0, 0], 0)):
            with open(hist, "w") as f:
                f.write(text)
            with open(disk, "wb") as f:
                for b, v in enumerate(values):
                    f.write(stamp(v, b) if v else bytes(BLOCK))
            got = check_ordered(f"{disk}@0,{disk}@{2 * BLOCK}", hist, 2)
            if got != want:
                print(f"selftest, two devices {values}: returned {got}, expected {want}")
                return 1
    print("selftest ok")
    return 0


def main(argv):
    if argv == ["selftest"]:
        return selftest()
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    flags = {"--discards", "--runs"}
    rest = [a for a in argv[3:] if a not in flags]
    opts = dict(zip(rest[::2], rest[1::2]))
    blocks = int(opts.get("--blocks", 0))
    if argv[0] == "run":
        run(argv[1], argv[2], blocks, int(opts.get("--hot", 4)), "--discards" in argv,
            "--runs" in argv)
    elif argv[0] == "check-ordered":
        return check_ordered(argv[1], argv[2], blocks)
    elif argv[0] == "check-writeback":
        return check_writeback(argv[1], argv[2], blocks)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
