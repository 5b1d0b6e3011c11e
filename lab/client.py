"""Keep-alive HTTP/1.1 load client for mlscope's lab scenarios.

usage: client.py PLAN.json RESULTS.jsonl

PLAN: {"host": "10.10.1.10", "port": 8080, "timeout_s": 10, "user_agent": "…",
       "phases": [{"conc": 6, "requests": [{"i": 0, "route": "/predict", "n_inputs": 8,
                                             "send_rid": true, "think_ms": 5}, …]}, …]}
Phases run one after another; in a phase `conc` threads each hold one persistent connection and
take the next request from the phase's list. One JSON line per request goes to RESULTS with the
wall-clock send time, the client-measured latency, the status and the X-Request-ID the client saw.
"""

import http.client
import json
import random
import sys
import threading
import time
import uuid
from datetime import datetime, timezone

PLAN = json.load(open(sys.argv[1], encoding="utf-8"))
OUT = open(sys.argv[2], "w", buffering=1, encoding="utf-8")
HOST, PORT = PLAN["host"], int(PLAN["port"])
TIMEOUT = float(PLAN.get("timeout_s", 10))
UA = PLAN.get("user_agent", "ml-gateway-client/1.4")
out_lock = threading.Lock()


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def body_for(req: dict) -> bytes:
    r = random.Random(int(PLAN.get("seed", 7)) * 7919 + int(req["i"]))
    inputs = [round(r.uniform(-1, 1), 4) for _ in range(int(req["n_inputs"]))]
    return json.dumps({"model": "fake-linear-v1", "inputs": inputs}).encode()


def worker(phase_no: int, conc: int, queue: list, qlock: threading.Lock) -> None:
    conn = None
    while True:
        with qlock:
            if not queue:
                break
            req = queue.pop(0)
        if req.get("think_ms"):
            time.sleep(float(req["think_ms"]) / 1000.0)
        body = body_for(req)
        sent_rid = f"cli-{uuid.uuid4()}" if req.get("send_rid") else None
        headers = {"Content-Type": "application/json", "User-Agent": UA,
                   "Accept": "application/json"}
        if sent_rid:
            headers["X-Request-ID"] = sent_rid
        rec = {"i": req["i"], "route": req["route"], "phase": phase_no, "conc": conc,
               "n_inputs": req["n_inputs"], "req_bytes": len(body),
               "client_sent_request_id": sent_rid is not None, "sent_request_id": sent_rid}
        if conn is None:
            conn = http.client.HTTPConnection(HOST, PORT, timeout=TIMEOUT)
        t_wall = time.time()
        t0 = time.perf_counter()
        status, rid, err, client_port, resp_bytes = 0, None, None, None, 0
        try:
            if conn.sock is None:
                conn.connect()
            client_port = conn.sock.getsockname()[1]
            conn.request("POST", req["route"], body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            status, resp_bytes = resp.status, len(data)
            rid = resp.getheader("X-Request-ID")
            if (resp.getheader("Connection") or "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as e:
            err = f"{type(e).__name__}: {e}"
            try:
                conn.close()
            except Exception:
                pass
            conn = None
        t1 = time.perf_counter()
        rec.update({"ts": iso(t_wall), "t_send": t_wall, "t_end": t_wall + (t1 - t0),
                    "client_ms": round((t1 - t0) * 1000.0, 3), "status": status,
                    "request_id": rid, "client_port": client_port, "resp_bytes": resp_bytes,
                    "error": err})
        with out_lock:
            OUT.write(json.dumps(rec) + "\n")
    if conn is not None:
        conn.close()


def main() -> None:
    for phase_no, phase in enumerate(PLAN["phases"]):
        queue = list(phase["requests"])
        qlock = threading.Lock()
        conc = int(phase["conc"])
        threads = [threading.Thread(target=worker, args=(phase_no, conc, queue, qlock))
                   for _ in range(conc)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    OUT.close()


if __name__ == "__main__":
    main()
