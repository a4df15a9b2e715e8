#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Load a module with the n-th allocation of the load failing, n = 1, 2, ...

  fail_nth_load.py MODULE.ko [PARAM=VALUE...]

For n = 1, 2, ... this arms the n-th allocation of this task to fail
(fail_nth.py) and calls finit_module(2) directly, so that no other system
call comes between. A failed load must fail cleanly: ENOMEM, and no
module left behind; a load that survives its failed allocation is
unloaded and the next n tried. kmemleak and KASAN in the guest see the
rest. It stops when a load reaches its end without hitting the n-th
call, and unloads that one too. Prints how many failure points were
exercised.
"""
import ctypes
import os
import sys

from fail_nth import fail_each_nth, name

SYS_FINIT_MODULE = 313	# x86_64
SYS_DELETE_MODULE = 176
libc = ctypes.CDLL(None, use_errno=True)


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    path, params = argv[0], " ".join(argv[1:]).encode()
    module = os.path.basename(path).split(".")[0].replace("-", "_")
    fd = os.open(path, os.O_RDONLY)

    def load():
        if libc.syscall(SYS_FINIT_MODULE, fd, params, 0) == 0:
            return 0
        return ctypes.get_errno()

    def unload(err):
        loaded = os.path.exists(f"/sys/module/{module}")
        if err and loaded:
            print(f"FAIL: a load failed ({name(err)}) and left {module} behind")
            return True
        if not err and libc.syscall(SYS_DELETE_MODULE, module.encode(), os.O_NONBLOCK):
            print(f"FAIL: cannot unload {module}: {name(ctypes.get_errno())}")
            return True
        return False

    return fail_each_nth(load, "module load", 100000, unload)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
