#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Load a dm table with the n-th allocation of the load failing, n = 1, 2, ...

  dm_fail_nth.py NAME "START LEN TARGET ARGS..."

The device NAME must exist (dmsetup create NAME --notable). For n = 1, 2, ...
this writes n to /proc/thread-self/fail-nth (the kernel's per-task fault
injection: the n-th should_fail() call of this task fails, here an
allocation through failslab) and issues DM_TABLE_LOAD directly, so that no
other system call comes between. A failed load must fail cleanly (an errno,
no table); kmemleak and KASAN in the guest see the rest. It stops when a
load reaches its end without hitting the n-th call, and leaves that table
loaded (inactive). Prints how many failure points were exercised.
"""
import errno
import fcntl
import os
import struct
import sys

DM_TABLE_LOAD = 0xC138FD09	# _IOWR(0xfd, 9, struct dm_ioctl), sizeof 312
DM_IOCTL_SIZE = 312
SPEC = struct.Struct("<QQiI16s")


def load_ioctl(name, start, length, target, params):
    body = SPEC.pack(start, length, 0, 0, target.encode()) + params.encode() + b"\0"
    body += b"\0" * (-len(body) % 8)
    size = DM_IOCTL_SIZE + len(body)
    head = struct.pack("<3I7IQ128s129s7s", 4, 0, 0, size, DM_IOCTL_SIZE, 1, 0, 0, 0, 0, 0,
                       name.encode(), b"", b"")
    assert len(head) == DM_IOCTL_SIZE
    return bytearray(head + body)


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    name, line = argv
    words = line.split(None, 3)
    start, length, target = int(words[0]), int(words[1]), words[2]
    params = words[3] if len(words) > 3 else ""
    control = os.open("/dev/mapper/control", os.O_RDWR)
    nth = os.open("/proc/thread-self/fail-nth", os.O_RDWR)
    failures = {}
    n = 0
    while True:
        n += 1
        buf = load_ioctl(name, start, length, target, params)
        os.write(nth, b"%d" % n)
        try:
            fcntl.ioctl(control, DM_TABLE_LOAD, buf)
            err = 0
        except OSError as e:
            err = e.errno
        left = int(os.pread(nth, 32, 0) or b"0")
        os.write(nth, b"0")
        if err == 0 and left:
            break
        if err:
            failures[err] = failures.get(err, 0) + 1
        if n > 10000:
            print("FAIL: more than 10000 allocations in one table load")
            return 1
    summary = ", ".join(f"{errno.errorcode.get(e, e)} x{c}" for e, c in sorted(failures.items()))
    print(f"{n - 1} failure points exercised ({summary}); load {n} succeeded")
    unexpected = set(failures) - {errno.ENOMEM}
    if unexpected:
        print(f"FAIL: a failed allocation gave {[errno.errorcode.get(e, e) for e in unexpected]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
