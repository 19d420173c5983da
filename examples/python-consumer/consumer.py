#!/usr/bin/env python3
"""A consumer of emnify events in Python, standard library only: the same
inventory as the Go reference consumer (examples/consumer), to show that
emnify-mock verify tests a consumer in any language.

It keeps one record per SIM (status, workspace), keyed by ICCID, and
applies each event once: events are keyed by (event id, organisation id),
because the two halves of a SIM migration share one event id in two
workspaces. An event older than what a SIM already shows does not undo
it, and deletion is final. It polls the event API on request, backing off
on 429 (emnify sends no Retry-After).

    python3 examples/python-consumer/consumer.py --port 9000
    emnify-mock verify --consumer http://127.0.0.1:9000

Routes (the contract verify uses):
    POST /webhook        emnify events: one object or a JSON array
    GET  /sims/{iccid}   {"iccid", "status", "workspace"}; 404 if unknown
    GET  /endpoints/{id} {"id", "name", "status", "sim"}; 404 if unknown
    GET  /stats          {"events": applied, "by_type": {"8": n, ...}}
    POST /admin/poll     {"api": URL, "application_token": T}: catch up
"""

import argparse
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The SIM status each event type leaves.
STATUS_OF = {8: "Activated", 9: "Suspended", 10: "Deleted", 45: "Factory Test", 48: "Issued"}
ENDPOINT_STATUS_OF = {42: "Enabled", 43: "Disabled"}
MIGRATION, RELEASED, ASSIGNED = 69, 50, 51


class Inventory:
    def __init__(self):
        self.lock = threading.Lock()
        self.seen = set()
        self.sims = {}  # iccid -> {"iccid", "status", "workspace", "status_at", "placed_at"}
        self.endpoints = {}  # id -> {"id", "name", "status", "sim", and when each was set}
        self.events = 0
        self.by_type = {}

    def sim(self, iccid):
        return self.sims.setdefault(iccid, {"iccid": iccid, "status": "", "workspace": 0, "status_at": 0, "placed_at": 0})

    @staticmethod
    def place(sim, workspace, event_id):
        if event_id >= sim["placed_at"]:
            sim["workspace"], sim["placed_at"] = workspace, event_id

    def apply(self, e):
        """Applies one event; call with the lock held."""
        key = (e["id"], e["organisation"]["id"])
        if key in self.seen:
            return
        self.seen.add(key)
        self.events += 1
        type_id = e["event_type"]["id"]
        self.by_type[str(type_id)] = self.by_type.get(str(type_id), 0) + 1
        detail = e.get("detail") or {}
        if type_id == MIGRATION:
            if detail.get("type") == "target":
                for s in detail.get("sims", []):
                    self.place(self.sim(s["iccid"]), detail["target_workspace"]["id"], e["id"])
            return
        if e.get("endpoint"):
            self.apply_endpoint(e, type_id)
        if not e.get("sim"):
            return
        sim = self.sim(e["sim"]["iccid"])
        self.place(sim, e["organisation"]["id"], e["id"])
        status = STATUS_OF.get(type_id)
        if status is None or sim["status"] == "Deleted" or e["id"] < sim["status_at"]:
            return  # deletion is final; an older event does not undo a newer one
        sim["status"], sim["status_at"] = status, e["id"]

    def apply_endpoint(self, e, type_id):
        """A device's name from any event, its status from 42/43, its SIM
        from 51 (assigned) and 50 (released); older events do not undo."""
        ref = e["endpoint"]
        ep = self.endpoints.setdefault(ref["id"], {"id": ref["id"], "name": "", "status": "", "sim": None,
                                                   "name_at": 0, "status_at": 0, "sim_at": 0})

        def newer(field):
            if e["id"] >= ep[field]:
                ep[field] = e["id"]
                return True
            return False

        if newer("name_at"):
            ep["name"] = ref.get("name", "")
        if type_id in ENDPOINT_STATUS_OF and newer("status_at"):
            ep["status"] = ENDPOINT_STATUS_OF[type_id]
        if type_id == ASSIGNED and e.get("sim") and newer("sim_at"):
            ep["sim"] = e["sim"]["iccid"]
        elif type_id == RELEASED and newer("sim_at"):
            ep["sim"] = None

    def poll(self, api, app_token):
        """Catches up from GET /api/v1/event, page by page in id order."""
        auth = post_json(api + "/api/v1/authenticate", {"application_token": app_token})
        token = auth["auth_token"]
        page = 1
        while True:
            events, headers = get_page(f"{api}/api/v1/event?sort=id&per_page=1000&page={page}", token)
            with self.lock:
                for e in events:
                    self.apply(e)
            if page >= int(headers.get("X-Total-Pages", "1")):
                return
            page += 1


def post_json(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.load(res)


def get_page(url, token):
    """One page; on 429 waits 200 ms, doubling, eight tries."""
    wait = 0.2
    for attempt in range(8):
        req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                return json.load(res), res.headers
        except urllib.error.HTTPError as err:
            if err.code != 429 or attempt == 7:
                raise
        time.sleep(wait)
        wait *= 2


class Handler(BaseHTTPRequestHandler):
    inventory = Inventory()

    def reply(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        return json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"null")

    def do_POST(self):
        try:
            payload = self.body()
        except ValueError as err:
            return self.reply(400, {"error": f"not JSON: {err}"})
        if self.path == "/webhook":
            events = payload if isinstance(payload, list) else [payload]
            if not all(isinstance(e, dict) and "id" in e and "organisation" in e and "event_type" in e for e in events):
                return self.reply(400, {"error": "not an emnify event"})
            with self.inventory.lock:
                for e in events:
                    self.inventory.apply(e)
            return self.reply(204)
        if self.path == "/admin/poll":
            if not isinstance(payload, dict) or not payload.get("api"):
                return self.reply(400, {"error": 'want {"api": URL, "application_token": T}'})
            try:
                self.inventory.poll(payload["api"].rstrip("/"), payload.get("application_token", ""))
            except (urllib.error.URLError, OSError, KeyError, ValueError) as err:
                return self.reply(502, {"error": str(err)})
            return self.reply(204)
        self.reply(404, {"error": "no such route"})

    def do_GET(self):
        if self.path == "/stats":
            with self.inventory.lock:
                return self.reply(200, {"events": self.inventory.events, "by_type": dict(self.inventory.by_type)})
        if self.path.startswith("/endpoints/"):
            with self.inventory.lock:
                ep = self.inventory.endpoints.get(int(self.path[len("/endpoints/"):]) if self.path[len("/endpoints/"):].isdigit() else None)
                view = None if ep is None else {k: ep[k] for k in ("id", "name", "status", "sim")}
            return self.reply(200, view) if view else self.reply(404, {"error": "unknown endpoint"})
        if self.path.startswith("/sims/"):
            with self.inventory.lock:
                sim = self.inventory.sims.get(self.path[len("/sims/"):])
                view = None if sim is None else {k: sim[k] for k in ("iccid", "status", "workspace")}
            return self.reply(200, view) if view else self.reply(404, {"error": "unknown SIM"})
        self.reply(404, {"error": "no such route"})

    def log_message(self, *args):
        pass  # quiet: verify sends thousands of requests


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000, help="0 picks a free one")
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    # The first line says where it listens (a test reads it).
    print(f"listening on http://{args.host}:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
