#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""One QMP command to a QEMU, its answer as JSON on stdout.

usage: qmp.py SOCKET COMMAND [ARGUMENTS-JSON]
Events that arrive before the answer are skipped.  Exit status 1 on a
connection failure, 2 if QEMU answered with an error.
"""
import json
import socket
import sys


def main():
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.connect(sys.argv[1])
    except OSError as err:
        print(json.dumps({"error": {"desc": str(err)}}))
        return 1
    f = sock.makefile("rw")
    json.loads(f.readline())

    def cmd(name, args=None):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        f.write(json.dumps(msg) + "\n")
        f.flush()
        while True:
            reply = json.loads(f.readline())
            if "return" in reply or "error" in reply:
                return reply

    cmd("qmp_capabilities")
    args = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
    reply = cmd(sys.argv[2], args)
    print(json.dumps(reply))
    return 2 if "error" in reply else 0


if __name__ == "__main__":
    sys.exit(main())
