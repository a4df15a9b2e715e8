#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Load a dm table with the n-th allocation of the load failing, n = 1, 2, ...

  dm_fail_nth.py NAME "START LEN TARGET ARGS..."

The device NAME must exist (dmsetup create NAME --notable). For n = 1, 2, ...
this arms the n-th allocation of this task to fail (fail_nth.py) and issues
DM_TABLE_LOAD directly, so that no other system call comes between. A failed load must fail cleanly (an errno,
no table); kmemleak and KASAN in the guest see the rest. It stops when a
load reaches its end without hitting the n-th call, and leaves that table
loaded (inactive). Prints how many failure points were exercised.
"""
import fcntl
import os
import struct
import sys

from fail_nth import fail_each_nth

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

    def load():
        buf = load_ioctl(name, start, length, target, params)
        try:
            fcntl.ioctl(control, DM_TABLE_LOAD, buf)
        except OSError as e:
            return e.errno
        return 0

    return fail_each_nth(load, "table load", 10000)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
