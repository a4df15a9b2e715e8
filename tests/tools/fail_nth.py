# SPDX-License-Identifier: GPL-2.0
"""The loop of dm_fail_nth.py and fail_nth_load.py: one system call made
again and again with its n-th fault injection point failing, n = 1, 2, ...

Writing n to /proc/thread-self/fail-nth makes the n-th should_fail() call
of this task fail (here an allocation, through failslab); reading it back
gives 0 once that call was reached. The loop stops at the first call
that succeeds without reaching it. Every failure must be ENOMEM.
"""
import errno
import os


def name(err):
    return errno.errorcode.get(err, err)


def fail_each_nth(call, what, limit, after=None):
    """call() makes the system call and returns its errno (0: success);
    after(err), if given, runs once the injection is off. Returns the exit
    status: 0 when every failure was clean, else 1."""
    nth = os.open("/proc/thread-self/fail-nth", os.O_RDWR)
    failures = {}
    for n in range(1, limit + 1):
        os.write(nth, b"%d" % n)
        err = call()
        left = int(os.pread(nth, 32, 0) or b"0")
        os.write(nth, b"0")
        if after and after(err):
            return 1
        if err == 0 and left:
            break
        if err:
            failures[err] = failures.get(err, 0) + 1
    else:
        print(f"FAIL: more than {limit} allocations in one {what}")
        return 1
    summary = ", ".join(f"{name(e)} x{c}" for e, c in sorted(failures.items()))
    print(f"{n - 1} failure points exercised ({summary}); {what} {n} succeeded")
    if n == 1:
        print(f"FAIL: no allocation of the {what} failed: the walk tested nothing")
        return 1
    unexpected = set(failures) - {errno.ENOMEM}
    if unexpected:
        print(f"FAIL: a failed allocation gave {[name(e) for e in unexpected]}")
        return 1
    return 0
