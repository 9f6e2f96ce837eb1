#!/usr/bin/env python3
"""A helpdesk's note endpoint that can be made to fail, for the admin console's browser test:
the generic helpdesk's write-back posts each ticket's cause here.

    notes_peer.py PORT_FILE

Listens on a free port on 127.0.0.1 (written to PORT_FILE). Starts refusing: POST
/notes/<ticket> answers 401 (a revoked credential, which Debrief does not retry) until
POST /mode/up; POST /mode/down makes it refuse again. GET /stats answers
{"mode": ..., "refused": N, "notes": {"<ticket>": count written}} so a test sees each note
was written once. HEAD (Debrief's check) answers as POST would.
"""
import http.server
import json
import sys
import threading

state = {"mode": "down", "refused": 0, "notes": {}}
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def _answer(self, status, body=None):
        data = json.dumps(body if body is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self):
        with lock:
            self._answer(401 if state["mode"] == "down" else 200)

    def do_GET(self):
        if self.path == "/stats":
            with lock:
                self._answer(200, state)
        else:
            self._answer(404)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        with lock:
            if self.path in ("/mode/up", "/mode/down"):
                state["mode"] = self.path.rsplit("/", 1)[1]
                self._answer(200, {"mode": state["mode"]})
            elif self.path.startswith("/notes/"):
                if state["mode"] == "down":
                    state["refused"] += 1
                    self._answer(401, {"error": "credential revoked"})
                else:
                    ticket = self.path[len("/notes/"):]
                    state["notes"][ticket] = state["notes"].get(ticket, 0) + 1
                    self._answer(200, {"ok": True})
            else:
                self._answer(404)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
