#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Stamp workload and dm-log-writes log reader for the flush-contract tests.

  logwrites.py stamp DEV HISTORY --rounds N --writes K --blocks B --lw NAME [--hot H]
      Write K random 4 KiB blocks per round with O_DIRECT (with --hot, a
      third of them to blocks 0..H-1, rewritten every round), each stamped with
      (sequence number, block), fsync DEV, then put the mark "round-<i>" into
      the log-writes device NAME. The model (what each round wrote) goes to
      HISTORY as JSON. With --lw "" no marks (the ordered check needs none,
      and a mark per round slows short rounds down). The mark is the
      message "mark round-<i>" sent with the DM_TARGET_MSG ioctl, as
      dmsetup message sends it, without a dmsetup process per round.

  logwrites.py check LOGDEV HISTORY
      Replay the log entry by entry. At each mark "round-<i>", every block
      written in rounds 1..i must hold its latest stamp of those rounds: a
      write acknowledged before a completed fsync is in the log before the
      flush that the mark follows (log-writes logs plain writes only when a
      later flush completes, and logs marks at once).

  logwrites.py check-ordered LOGDEV HISTORY
      For the ordered mode: at every flush entry of the log, the replayed
      state must be exactly the state after the first k writes of the
      workload, for some k that never decreases from one flush to the next
      (the workload waits for each write, so every prefix is a possible
      epoch boundary). A FUA write is durable at once (small stages go to
      a disk with FUA as FUA writes, with no flush): after each, the state
      is either such a boundary, or every write of the rounds before the
      newest round it holds writes of plus some of that round's (a round's
      fsync closes its epoch), with no block older than at the last
      boundary. At least two boundaries must be seen.

  Both checks end with how many entries of each kind the log held.

  logwrites.py dump LOGDEV
      Print the log's entries, one per line.

  logwrites.py selftest
      Build small logs in memory and check that the checker accepts a good
      one and rejects a write logged after its mark (run by make check).

The log format is dm-log-writes' own (drivers/md/dm-log-writes.c): a super
block at offset 0, then entries, each a header in one logical block followed
by nr_sectors logical blocks of data (none for discards and marks).
"""
import bisect
import fcntl
import json
import mmap
import os
import random
import struct
import sys

BLOCK = 4096
MAGIC = 0x6A736677736872
FLUSH, FUA, DISCARD, MARK = 1, 2, 4, 8


# struct dm_ioctl (include/uapi/linux/dm-ioctl.h), version 4.0.0, and
# DM_TARGET_MSG = _IOWR(0xfd, 14, struct dm_ioctl): the data after the
# header is struct dm_target_msg, a u64 sector and the message string.
DM_IOCTL = struct.Struct("<3I7IQ128s129s7s")
DM_TARGET_MSG = 0xC138FD0E


def dm_message(control, name, message, sector=0):
    """dmsetup message NAME SECTOR MESSAGE, on /dev/mapper/control's fd."""
    body = struct.pack("<Q", sector) + message.encode() + b"\0"
    body += b"\0" * (-len(body) % 8)
    size = DM_IOCTL.size + len(body)
    head = DM_IOCTL.pack(4, 0, 0, size, DM_IOCTL.size, 0, 0, 0, 0, 0, 0,
                         name.encode(), b"", b"")
    fcntl.ioctl(control, DM_TARGET_MSG, bytearray(head + body))


KINDS = ((FLUSH, "flush"), (FUA, "fua"), (DISCARD, "discard"), (MARK, "mark"))


def kind(flags):
    return ",".join(n for bit, n in KINDS if flags & bit) or "write"


def entries(path, counts=None):
    """Yield (sector, nr_sectors, flags, payload) for every logged entry,
    counting each kind of entry in counts if given."""
    with open(path, "rb") as f:
        magic, version, nr_entries, sectorsize = struct.unpack("<QQQI", f.read(28))
        if magic != MAGIC or version != 1:
            sys.exit(f"{path}: not a log-writes log (magic {magic:#x})")
        pos = sectorsize
        for _ in range(nr_entries):
            f.seek(pos)
            head = f.read(sectorsize)
            sector, nr, flags, data_len = struct.unpack("<QQQQ", head[:32])
            pos += sectorsize
            if counts is not None:
                counts[kind(flags)] = counts.get(kind(flags), 0) + 1
            if flags & MARK:
                payload = head[32:32 + data_len].rstrip(b"\0").decode()
            elif flags & DISCARD:
                payload = None
            else:
                f.seek(pos)
                payload = f.read(nr * sectorsize)
                pos += nr * sectorsize
            yield sector * sectorsize, nr * sectorsize, flags, payload


def stamp_of(data):
    seq, block = struct.unpack("<QQ", data[:16])
    return seq, block


def apply_write(state, offset, length, payload):
    """Replay one logged write into state (block -> (seq, block))."""
    for o in range(0, length, BLOCK):
        if (offset + o) % BLOCK == 0 and o + BLOCK <= length:
            seq, b = stamp_of(payload[o:o + BLOCK])
            if b != (offset + o) // BLOCK:
                print(f"FAIL: block {(offset + o) // BLOCK} holds the stamp of block {b}")
                return False
            state[b] = (seq, b)
    return True


def stamp(dev, history, rounds, writes, blocks, lw, hot=0):
    """With failures injected a write or fsync may fail: a failed write
    leaves its block undefined (its seq is kept negated), a failed fsync is
    retried twice, and a round whose fsyncs all failed gets no mark; a
    later mark covers it."""
    buf = mmap.mmap(-1, BLOCK)
    fd = os.open(dev, os.O_RDWR | os.O_DIRECT)
    control = os.open("/dev/mapper/control", os.O_RDWR) if lw else None
    seq = 0
    model = []
    order = []
    marked = []
    for r in range(1, rounds + 1):
        wrote = {}
        for _ in range(writes):
            seq += 1
            b = random.randrange(hot if hot and random.random() < 1 / 3 else blocks)
            buf.seek(0)
            buf.write(struct.pack("<QQ", seq, b) * (BLOCK // 16))
            try:
                if os.pwritev(fd, [buf], b * BLOCK) != BLOCK:
                    sys.exit("short write")
                wrote[b] = seq
            except OSError:
                wrote[b] = -seq
            order.append(b)
        # An application retries a failed fsync with nothing new to write:
        # a 0 then must still mean a flush that succeeded.
        for _ in range(3):
            try:
                os.fsync(fd)
                break
            except OSError:
                pass
        else:
            model.append(wrote)
            continue
        if lw:
            dm_message(control, lw, f"mark round-{r}")
        marked.append(r)
        model.append(wrote)
    os.close(fd)
    if control is not None:
        os.close(control)
    with open(history, "w") as f:
        json.dump({"rounds": model, "order": order, "marked": marked}, f)
    failed = sum(1 for w in model for s in w.values() if s < 0)
    print(f"stamp: {seq} writes ({failed} failed), {len(marked)} of {rounds} fsyncs returned 0")


def print_counts(counts):
    """The log's entries by kind, as flush-contract.sh printed from dump."""
    for name in sorted(counts):
        print(f"  {name} {counts[name]}")


def check(logdev, history, counts=None):
    with open(history) as f:
        saved = json.load(f)
    model = [{int(b): s for b, s in wrote.items()} for wrote in saved["rounds"]]
    marked = saved.get("marked", range(1, len(model) + 1))
    if not marked:
        print("FAIL: no fsync returned 0, so nothing was checked")
        return 1
    last_mark = marked[-1]
    state = {}
    expect = {}
    rounds_seen = 0
    for offset, length, flags, payload in entries(logdev, counts):
        if flags & MARK:
            if not payload.startswith("round-"):
                continue
            r = int(payload[6:])
            for i in range(rounds_seen, r):
                expect.update(model[i])
            rounds_seen = r
            bad = [(b, s, state.get(b)) for b, s in expect.items()
                   if s > 0 and state.get(b, (0,))[0] != s]
            if bad:
                b, s, got = bad[0]
                print(f"FAIL at mark {payload}: {len(bad)} acknowledged and flushed "
                      f"blocks missing; block {b} should have seq {s}, log has {got}")
                return 1
        elif flags & DISCARD:
            continue
        elif not apply_write(state, offset, length, payload):
            return 1
    if rounds_seen != last_mark:
        print(f"FAIL: the log has marks up to round {rounds_seen} of {len(model)}")
        return 1
    print(f"ok: {rounds_seen} rounds, {sum(len(w) for w in model)} writes checked")
    return 0


def round_ends(saved):
    """The last seq of every round: a round's dict holds its last write."""
    return [max((abs(s) for s in wrote.values()), default=0) for wrote in saved["rounds"]]


def check_ordered(logdev, history, counts=None):
    with open(history) as f:
        saved = json.load(f)
    order = saved["order"]	# order[i]: the block of seq i + 1
    ends = round_ends(saved)
    state = {}
    prefix = {}	# the state after the first k writes
    k = 0
    base, kb = {}, 0	# the last epoch boundary seen in the log, and its k
    before = [{}]	# before[r]: the state after the first r rounds
    boundaries = 0
    for n, (offset, length, flags, payload) in enumerate(entries(logdev, counts), 1):
        if flags & FLUSH and state:
            newest = max(s for s, _ in state.values())
            if newest < k:
                print(f"FAIL at flush entry {n}: went back from write {k} to {newest}")
                return 1
            while k < newest:
                k += 1
                prefix[order[k - 1]] = k
            got = {b: s for b, (s, _) in state.items()}
            if got != prefix:
                diff = sorted(b for b in set(got) | set(prefix) if got.get(b) != prefix.get(b))
                b = diff[0]
                print(f"FAIL at flush entry {n}: not the state after write {k}: "
                      f"{len(diff)} blocks differ; block {b} has {got.get(b)}, "
                      f"expected {prefix.get(b)}")
                return 1
            base, kb = dict(prefix), k
            boundaries += 1
        if flags & (MARK | DISCARD) or not length:
            continue
        if not apply_write(state, offset, length, payload):
            return 1
        if not flags & FUA:
            continue
        # A FUA write is durable at once. Epochs never span a round (each
        # round's fsync closes one), so the disk must hold every write of
        # the rounds before the newest round R it has writes of, plus some
        # of R's, and nothing older than at the last boundary.
        got = {b: s for b, (s, _) in state.items()}
        newest = max(got.values())
        while k < newest:
            k += 1
            prefix[order[k - 1]] = k
        if got == prefix:
            base, kb = dict(prefix), k
            boundaries += 1
            continue
        r = bisect.bisect_left(ends, newest)
        while len(before) <= r:
            j = len(before) - 1	# before[j + 1]: before[j] and round j's writes
            after = dict(before[j])
            for q in range(ends[j - 1] if j else 0, ends[j]):
                after[order[q]] = q + 1
            before.append(after)
        pre = before[r]
        bad = [b for b in set(got) | set(pre) | set(base)
               if got.get(b, 0) < base.get(b, 0) or
               (got.get(b) != pre.get(b) and bisect.bisect_left(ends, got.get(b, 0)) != r)]
        if bad:
            b = bad[0]
            print(f"FAIL at FUA entry {n}: not every write of the rounds before round "
                  f"{r + 1} plus some of it: block {b} has {got.get(b)}, expected "
                  f"{pre.get(b)} or a write of round {r + 1} (last boundary: write {kb})")
            return 1
    if boundaries < 2:
        print(f"FAIL: only {boundaries} epoch boundaries in the log")
        return 1
    print(f"ok: {boundaries} epoch boundaries (flushes, or FUA writes that completed a "
          f"stage) in order (last after write {k} of {len(order)})")
    return 0


def dump(logdev):
    for offset, length, flags, payload in entries(logdev):
        extra = payload if flags & MARK else ""
        print(f"{offset:>12} {length:>8} {kind(flags)} {extra}")


def make_log(path, items, sectorsize=512):
    """Write a log of items: ("w" or "fua", block, seq), ("flush",), ("mark", name)."""
    body = b""
    for item in items:
        if item[0] in ("w", "fua"):
            data = struct.pack("<QQ", item[2], item[1]) * (BLOCK // 16)
            head = struct.pack("<QQQQ", item[1] * BLOCK // sectorsize, BLOCK // sectorsize,
                               FUA if item[0] == "fua" else 0, 0)
        elif item[0] == "flush":
            data, head = b"", struct.pack("<QQQQ", 0, 0, FLUSH, 0)
        else:
            name = item[1].encode()
            data, head = b"", struct.pack("<QQQQ", 0, 0, MARK, len(name)) + name
        body += head.ljust(sectorsize, b"\0") + data
    with open(path, "wb") as f:
        f.write(struct.pack("<QQQI", MAGIC, 1, len(items), sectorsize).ljust(sectorsize, b"\0"))
        f.write(body)


def expect(checker, log, hist, cases):
    """Each case (name, log items, result) must give its result."""
    for name, items, want in cases:
        make_log(log, items)
        got = checker(log, hist)
        if got != want:
            print(f"selftest: {name} log: {checker.__name__} returned {got}, expected {want}")
            return False
    return True


def selftest():
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        hist, log = os.path.join(tmp, "h"), os.path.join(tmp, "log")
        # A failed write leaves its block undefined; the failed fsync of
        # round 1 got no mark, round 2's covers both.
        with open(hist, "w") as f:
            json.dump({"rounds": [{"3": -1, "7": 2}, {"5": 3}], "order": [3, 7, 5],
                       "marked": [2]}, f)
        for name, items, want in (("failed", [("w", 7, 2), ("w", 5, 3), ("flush",),
                                              ("mark", "round-2")], 0),
                                  ("unflushed", [("w", 7, 2), ("mark", "round-2"),
                                                 ("w", 5, 3), ("flush",)], 1)):
            make_log(log, items)
            if check(log, hist) != want:
                print(f"selftest: {name} log: check did not return {want}")
                return 1
        with open(hist, "w") as f:
            json.dump({"rounds": [{"3": 1, "7": 2}, {"3": 3}], "order": [3, 7, 3]}, f)
        good = [("w", 7, 2), ("w", 3, 1), ("flush",), ("mark", "round-1"),
                ("w", 3, 3), ("flush",), ("mark", "round-2")]
        late = [("w", 7, 2), ("flush",), ("mark", "round-1"), ("w", 3, 1),
                ("w", 3, 3), ("flush",), ("mark", "round-2")]
        stale = good[:4] + [("flush",), ("mark", "round-2")]
        if not expect(check, log, hist, (("good", good, 0), ("late", late, 1),
                                         ("stale", stale, 1))):
            return 1
        # Ordered: flush states must be prefixes of the write order 3, 7, 3.
        prefixes = [("w", 3, 1), ("flush",), ("w", 7, 2), ("flush",), ("w", 3, 3), ("flush",)]
        skipped = [("w", 7, 2), ("flush",), ("w", 3, 1), ("flush",)]
        backwards = [("w", 3, 1), ("w", 7, 2), ("w", 3, 3), ("flush",), ("w", 3, 1), ("flush",)]
        if not expect(check_ordered, log, hist, (("prefixes", prefixes, 0),
                                                 ("skipped", skipped, 1),
                                                 ("backwards", backwards, 1))):
            return 1
        # Ordered with FUA stages: rounds 1 (3, 7) and 2 (5), no flushes.
        with open(hist, "w") as f:
            json.dump({"rounds": [{"3": 1, "7": 2}, {"5": 3}], "order": [3, 7, 5]}, f)
        stages = [("fua", 7, 2), ("fua", 3, 1), ("fua", 5, 3)]
        mixed = [("fua", 5, 3), ("fua", 7, 2), ("fua", 3, 1)]
        stale = [("fua", 3, 1), ("fua", 7, 2), ("fua", 7, 1), ("fua", 5, 3)]
        if not expect(check_ordered, log, hist, (("fua-stages", stages, 0),
                                                 ("fua-mixed", mixed, 1),
                                                 ("fua-stale", stale, 1))):
            return 1
    print("selftest ok")
    return 0


def main(argv):
    if argv == ["selftest"]:
        return selftest()
    if len(argv) >= 3 and argv[0] == "stamp":
        opts = dict(zip(argv[3::2], argv[4::2]))
        stamp(argv[1], argv[2], int(opts["--rounds"]), int(opts["--writes"]),
              int(opts["--blocks"]), opts["--lw"], int(opts.get("--hot", 0)))
        return 0
    if len(argv) == 3 and argv[0] in ("check", "check-ordered"):
        counts = {}
        try:
            return (check if argv[0] == "check" else check_ordered)(argv[1], argv[2], counts)
        finally:
            print_counts(counts)
    if len(argv) == 2 and argv[0] == "dump":
        dump(argv[1])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
