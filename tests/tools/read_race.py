#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Reads that race writes over a small range of a block device, every
sector of every read checked against a reference (tests/integration/
read-race.sh).

  read_race.py init DEV BLOCKS
      stamp the first BLOCKS 4 KiB blocks of DEV with version 0
  read_race.py race DEV BLOCKS SECONDS FINAL
      race for SECONDS, check the whole range, write the image it must
      hold to the file FINAL

Every 512-byte sector of the range holds a stamp repeated 16 times:
(magic, block, sector in block, version). Writes to a block are
serialised (a lock per block, taken in address order), so each block's
versions count up 1, 2, 3... and a write of part of a block gives only
its sectors the new version. Per sector the reference keeps every
version written to it, the last one whose write returned (acked) and
the last one started.

Writers (O_DIRECT, runs of 1 to 16 blocks, a quarter of them starting
and ending inside a block): one that never flushes, one that fsyncs
after every write (in writeback mode the write after such a flush goes
around the cache), one with O_DSYNC (FUA: goes around in writeback
mode). Readers: a stream of 1 MiB reads over the range (past
sequential_cutoff: around the cache), random reads of 1 to 16 blocks,
some at 512-byte offsets (a block's first miss goes around with
read_admit 2), and a chaser that reads what a writer is writing right
now (a second read of a block in flight loads it), or what one wrote
last when none is (the version cached must be the new one). A sector
read must hold a version written to it, no older than the one acked
before the read began and no newer than the last started before it
ended. Sectors of one read may differ in version (tearing
between sectors); a sector may be torn inside only while a write to it
was in flight, and then every byte of it must come from one of the
versions allowed. When the race ends every sector must read as its last
version, through 1 MiB reads and through 4 KiB reads in random order,
and FINAL must then equal the disk under the device once it is removed.
"""
import bisect
import mmap
import os
import random
import struct
import sys
import threading
import time

BLOCK = 4096
SECTOR = 512
SPB = BLOCK // SECTOR
MAGIC = 0x5243524441455221
STAMP = struct.Struct("<QQQQ")
REPEAT = SECTOR // STAMP.size
MAX_RUN = 16
STREAM_BYTES = 1 << 20


def stamp(sector, version):
    return STAMP.pack(MAGIC, sector // SPB, sector % SPB, version) * REPEAT


class Race:
    def __init__(self, dev, blocks):
        self.dev = dev
        self.blocks = blocks
        self.sectors = blocks * SPB
        self.locks = [threading.Lock() for _ in range(blocks)]
        self.version = [0] * blocks
        self.written = [[0] for _ in range(self.sectors)]
        self.acked = [0] * self.sectors
        self.started = [0] * self.sectors
        self.inflight = {}
        self.recent = {}
        self.stop = threading.Event()
        self.errors = []
        self.count_lock = threading.Lock()
        self.counts = {}
        self.t0 = time.monotonic()

    def count(self, **kw):
        with self.count_lock:
            for k, v in kw.items():
                self.counts[k] = self.counts.get(k, 0) + v

    def error(self, msg):
        self.errors.append("%.3fs: %s" % (time.monotonic() - self.t0, msg))
        self.stop.set()

    # Checking.
    def check(self, data, first, lo, hi, what, fd=None):
        """Sectors first.. of data against [lo, hi]; (raced, torn) or None."""
        raced = torn = 0
        for i in range(len(lo)):
            sec = data[i * SECTOR:(i + 1) * SECTOR]
            gs = first + i
            head = sec[:STAMP.size]
            if sec == head * REPEAT:
                magic, b, s, v = STAMP.unpack(head)
                if magic != MAGIC or b * SPB + s != gs:
                    self.error("%s: sector %d (block %d) holds a stamp of "
                               "block %d sector %d (magic %#x): never written there"
                               % (what, gs, gs // SPB, b, s, magic))
                    return None
                if v == lo[i]:
                    continue
                if lo[i] <= v <= hi[i] and self.was_written(gs, v):
                    raced += 1
                    continue
                self.stale(what, gs, v, lo[i], hi[i], fd)
                return None
            # Torn inside the sector: only by a write in flight.
            valid = self.versions(gs, lo[i], hi[i])
            if len(valid) < 2:
                self.error("%s: sector %d (block %d) torn inside with no write "
                           "in flight (acked %d at the start, %d started by the "
                           "end): %s" % (what, gs, gs // SPB, lo[i], hi[i],
                                         sec[:64].hex()))
                return None
            images = [stamp(gs, v) for v in valid]
            for p in range(SECTOR):
                if all(sec[p] != img[p] for img in images):
                    self.error("%s: sector %d (block %d) torn: byte %d is %#x, "
                               "in no version from %d to %d"
                               % (what, gs, gs // SPB, p, sec[p], lo[i], hi[i]))
                    return None
            torn += 1
        return raced, torn

    def was_written(self, gs, v):
        w = self.written[gs]
        i = bisect.bisect_left(w, v)
        return i < len(w) and w[i] == v

    def versions(self, gs, lo, hi):
        w = self.written[gs]
        return w[bisect.bisect_left(w, lo):bisect.bisect_right(w, hi)]

    def stale(self, what, gs, v, lo, hi, fd):
        """Report a version out of bounds, with what the sector reads now."""
        msg = ("%s: sector %d (block %d) reads version %d, allowed %d (acked "
               "before the read) to %d (started before its end); written: %s"
               % (what, gs, gs // SPB, v, lo, hi, self.written[gs][-8:]))
        if fd is not None:
            buf = mmap.mmap(-1, BLOCK)
            again = []
            for _ in range(3):
                os.preadv(fd, [buf], gs // SPB * BLOCK)
                s = gs % SPB * SECTOR
                again.append(STAMP.unpack(buf[s:s + STAMP.size])[3])
            msg += "; read again at once: %s, acked now %d" % (again, self.acked[gs])
        self.error(msg)

    def read_check(self, fd, view, first, nsec, what):
        lo = self.acked[first:first + nsec]
        n = os.preadv(fd, [view[:nsec * SECTOR]], first * SECTOR)
        hi = self.started[first:first + nsec]
        if n != nsec * SECTOR:
            self.error("%s: short read of %d bytes at sector %d" % (what, n, first))
            return
        r = self.check(bytes(view[:nsec * SECTOR]), first, lo, hi,
                       "%s read of sectors %d+%d" % (what, first, nsec), fd)
        if r:
            self.count(**{"reads_" + what: 1, "sectors_read": nsec,
                          "sectors_raced": r[0], "sectors_torn": r[1]})

    # Threads.
    def thread(self, fn, *args):
        def run():
            try:
                fn(*args)
            except Exception as e:  # any failure ends the race
                self.error("%s%s: %r" % (fn.__name__, args, e))
        t = threading.Thread(target=run)
        t.start()
        return t

    def pick_run(self, rnd, partial):
        """A random run: (first sector, sectors) of 1 to 16 blocks."""
        nb = min(rnd.choice((1, 1, 1, 2, 3, 4, 8, 16)), self.blocks)
        b0 = rnd.randrange(0, self.blocks - nb + 1)
        first, nsec = b0 * SPB, nb * SPB
        if rnd.random() < partial:
            front = rnd.randrange(0, SPB)
            back = rnd.randrange(0, SPB)
            if nsec - front - back < 1:
                back = 0
            first += front
            nsec -= front + back
        return first, nsec

    def writer(self, wid, kind, seed):
        rnd = random.Random(seed)
        flags = os.O_WRONLY | os.O_DIRECT | (os.O_DSYNC if kind == "fua" else 0)
        fd = os.open(self.dev, flags)
        buf = mmap.mmap(-1, MAX_RUN * BLOCK)
        view = memoryview(buf)
        while not self.stop.is_set():
            first, nsec = self.pick_run(rnd, 0.25)
            b0, b1 = first // SPB, (first + nsec - 1) // SPB
            for b in range(b0, b1 + 1):
                self.locks[b].acquire()
            try:
                for b in range(b0, b1 + 1):
                    self.version[b] += 1
                parts = []
                for gs in range(first, first + nsec):
                    v = self.version[gs // SPB]
                    parts.append(stamp(gs, v))
                    self.written[gs].append(v)
                    self.started[gs] = v
                view[:nsec * SECTOR] = b"".join(parts)
                self.inflight[wid] = self.recent[wid] = (first, nsec)
                n = os.pwritev(fd, [view[:nsec * SECTOR]], first * SECTOR)
                if n != nsec * SECTOR:
                    self.error("writer %d: short write of %d bytes" % (wid, n))
                    return
                for gs in range(first, first + nsec):
                    self.acked[gs] = self.version[gs // SPB]
                del self.inflight[wid]
            finally:
                for b in range(b0, b1 + 1):
                    self.locks[b].release()
            self.count(**{"writes_" + kind: 1, "sectors_written": nsec})
            if kind == "fsync":
                os.fsync(fd)
        os.close(fd)

    def reader(self, kind, seed):
        rnd = random.Random(seed)
        fd = os.open(self.dev, os.O_RDONLY | os.O_DIRECT)
        buf = mmap.mmap(-1, STREAM_BYTES)
        view = memoryview(buf)
        pos = 0
        while not self.stop.is_set():
            if kind == "stream":
                # 1 MiB reads from 0, or from a few sectors in.
                if pos >= self.sectors:
                    pos = rnd.choice((0, 0, rnd.randrange(1, 4 * SPB)))
                nsec = min(STREAM_BYTES // SECTOR, self.sectors - pos)
                self.read_check(fd, view, pos, nsec, kind)
                pos += nsec
            elif kind == "random":
                first, nsec = self.pick_run(rnd, 0.3)
                self.read_check(fd, view, first, nsec, kind)
            else:
                # What a writer is writing now: its blocks' loads and
                # reads around race it; or, if none is, what one wrote
                # last: is its new version what is cached?
                runs = list(self.inflight.values()) or list(self.recent.values())
                if not runs:
                    time.sleep(0.001)
                    continue
                first, nsec = rnd.choice(runs)
                self.read_check(fd, view, first, nsec, kind)
        os.close(fd)

    def race(self, seconds):
        threads = [self.thread(self.writer, 0, "absorb", 1),
                   self.thread(self.writer, 1, "fsync", 2),
                   self.thread(self.writer, 2, "fua", 3),
                   self.thread(self.reader, "stream", 4),
                   self.thread(self.reader, "random", 5),
                   self.thread(self.reader, "chase", 6)]
        self.stop.wait(seconds)
        self.stop.set()
        for t in threads:
            t.join()

    def final(self):
        """Every sector reads as its last version, in 1 MiB and 4 KiB reads."""
        if self.acked != self.started:
            self.error("a write did not complete")
            return
        fd = os.open(self.dev, os.O_RDONLY | os.O_DIRECT)
        buf = mmap.mmap(-1, STREAM_BYTES)
        view = memoryview(buf)
        step = STREAM_BYTES // SECTOR
        for first in range(0, self.sectors, step):
            nsec = min(step, self.sectors - first)
            self.read_check(fd, view, first, nsec, "final_stream")
            if self.errors:
                return
        order = list(range(self.blocks))
        random.Random(7).shuffle(order)
        for b in order:
            self.read_check(fd, view, b * SPB, SPB, "final_block")
            if self.errors:
                return
        os.close(fd)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "init":
        dev, blocks = sys.argv[2], int(sys.argv[3])
        fd = os.open(dev, os.O_WRONLY | os.O_DIRECT)
        buf = mmap.mmap(-1, BLOCK)
        for b in range(blocks):
            buf[:] = b"".join(stamp(b * SPB + s, 0) for s in range(SPB))
            os.pwritev(fd, [buf], b * BLOCK)
        os.fsync(fd)
        os.close(fd)
        return 0
    if len(sys.argv) != 6 or sys.argv[1] != "race":
        sys.exit(__doc__)
    dev, blocks, seconds, final = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
    race = Race(dev, blocks)
    race.race(seconds)
    print("race: %.1f s" % (time.monotonic() - race.t0))
    if not race.errors:
        race.final()
    print(" ".join("%s=%d" % kv for kv in sorted(race.counts.items())))
    if race.errors:
        for e in race.errors[:10]:
            print("ERROR " + e)
        return 1
    with open(final, "wb") as f:
        for gs in range(race.sectors):
            f.write(stamp(gs, race.acked[gs]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
