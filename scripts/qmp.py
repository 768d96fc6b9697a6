#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""QMP for the migration tests (scripts/migrate-tests.sh).

usage: qmp.py SOCKET COMMAND [ARGUMENTS-JSON]
       qmp.py SOCKET --wait-up SECONDS
       qmp.py SOCKET --migrate URI [--cancel-after SECONDS]
              [--bandwidth BYTES-PER-SECOND] [--timeout SECONDS]

The first form sends one command and prints its answer as JSON.  Events
that arrive before the answer are skipped.  Exit status 1 on a connection
failure, 2 if QEMU answered with an error.

--wait-up waits until QEMU answers on SOCKET (its socket exists and
query-status answers), at most SECONDS; prints the status.

--migrate starts a migration to URI and follows it with query-migrate
(every 0.2 s) until it ends, then prints the last answer; exit status 0
if it completed, 1 if it failed or was cancelled, 3 on timeout (then
it is cancelled).
--cancel-after sends migrate_cancel half-way: once the vGPU's data flows
(query-migrate's "vfio" figures; after 120 s at the latest), the
bandwidth is held down to 1 MiB/s and the migration cancelled SECONDS
later; the state it had then is printed as "at-cancel", and the exit
status is 0 if it ended "cancelled".  --bandwidth sets max-bandwidth
first; the value it had is put back afterwards.
"""
import json
import socket
import sys
import time


class QMP:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.f = self.sock.makefile("rw")
        self.greeting = json.loads(self.f.readline())
        self.cmd("qmp_capabilities")

    def cmd(self, name, args=None):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.f.write(json.dumps(msg) + "\n")
        self.f.flush()
        while True:
            line = self.f.readline()
            if not line:
                raise OSError("QEMU closed the QMP connection")
            reply = json.loads(line)
            if "return" in reply or "error" in reply:
                return reply


def fail(err):
    print(json.dumps({"error": {"desc": str(err)}}))
    return 1


def wait_up(path, secs):
    end = time.time() + secs
    err = None
    while time.time() < end:
        try:
            q = QMP(path)
            print(json.dumps(q.cmd("query-status")))
            return 0
        except (OSError, ValueError) as e:
            err = e
            time.sleep(0.2)
    return fail(err)


def migrate(path, uri, cancel_after, bandwidth, timeout):
    q = QMP(path)
    old_bw = None
    if bandwidth is not None:
        params = q.cmd("query-migrate-parameters").get("return", {})
        old_bw = params.get("max-bandwidth")
        q.cmd("migrate-set-parameters", {"max-bandwidth": bandwidth})
    reply = q.cmd("migrate", {"uri": uri})
    if "error" in reply:
        print(json.dumps(reply))
        return 1
    t0 = time.time()
    active_since = None
    at_cancel = None
    status = None
    while time.time() - t0 < timeout:
        info = q.cmd("query-migrate").get("return", {})
        status = info.get("status")
        if status in ("completed", "failed", "cancelled"):
            break
        if cancel_after is not None and at_cancel is None:
            # Half-way: once the device's data flows (QEMU sends the
            # vGPU's pre-copy data after a first pass over RAM), the
            # rest held back to 1 MiB/s, then cancelled.
            vfio = info.get("vfio", {}).get("transferred", 0)
            if status == "active" and active_since is None and (
                    vfio > 0 or time.time() - t0 > 120):
                active_since = time.time()
                q.cmd("migrate-set-parameters", {"max-bandwidth": 1 << 20})
            if (active_since is not None and
                    time.time() - active_since >= cancel_after):
                at_cancel = info
                q.cmd("migrate_cancel")
        time.sleep(0.1 if cancel_after is not None else 0.2)
    timed_out = status not in ("completed", "failed", "cancelled")
    if timed_out:
        # Not left running behind the tests' back.
        q.cmd("migrate_cancel")
    if old_bw is not None:
        q.cmd("migrate-set-parameters", {"max-bandwidth": old_bw})
    out = {"query-migrate": info, "seconds": round(time.time() - t0, 2)}
    if at_cancel is not None:
        out["at-cancel"] = at_cancel
    print(json.dumps(out))
    if timed_out:
        return 3
    if cancel_after is not None:
        return 0 if status == "cancelled" and at_cancel is not None else 1
    return 0 if status == "completed" else 1


def main():
    argv = sys.argv[1:]
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = argv[0]
    if argv[1] == "--wait-up":
        return wait_up(path, float(argv[2]))
    if argv[1] == "--migrate":
        uri = argv[2]
        opts = dict(zip(argv[3::2], argv[4::2]))
        cancel = opts.get("--cancel-after")
        bw = opts.get("--bandwidth")
        try:
            return migrate(path, uri,
                           float(cancel) if cancel is not None else None,
                           int(bw) if bw is not None else None,
                           float(opts.get("--timeout", 600)))
        except (OSError, ValueError) as e:
            return fail(e)
    try:
        q = QMP(path)
        args = json.loads(argv[2]) if len(argv) > 2 else None
        reply = q.cmd(argv[1], args)
    except (OSError, ValueError) as e:
        return fail(e)
    print(json.dumps(reply))
    return 2 if "error" in reply else 0


if __name__ == "__main__":
    sys.exit(main())
