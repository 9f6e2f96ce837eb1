#!/usr/bin/env python3
"""Runs a debriefctl command in a pseudo-terminal, answering its questions as a person would.

    adapters_pty.py ANSWERS_JSON -- DEBRIEFCTL ARGS...

ANSWERS_JSON maps a setting's path to what to type at its question (missing: Enter, so the
setting stays unset). Prints everything the terminal showed, then exits with debriefctl's code.
A question that does not come within 20 s fails the run (exit 124).
"""
import json
import os
import pty
import re
import select
import sys
import time


def main():
    answers = json.loads(sys.argv[1])
    cmd = sys.argv[sys.argv.index("--") + 1:]
    env = dict(os.environ, NO_COLOR="1", TERM="xterm")
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(cmd[0], cmd, env)
    seen = b""
    asked = 0
    deadline = time.time() + 20
    while True:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            deadline = time.time() + 20
        text = seen.decode("utf-8", "replace")
        # A question: a setting's "path (type)" line, its help, then "  value...: ".
        prompts = re.findall(r"^(\S+) \(\w+\)\r?$", text, re.M)
        if re.search(r"  value[^\r\n]*: $", text) and len(prompts) > asked:
            path = prompts[-1]
            os.write(fd, (answers.get(path, "") + "\n").encode())
            asked = len(prompts)
        if time.time() > deadline:
            sys.stdout.write(text)
            sys.exit(124)
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(seen.decode("utf-8", "replace"))
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
