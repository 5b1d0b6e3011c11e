"""Client of the llm-stream lab: OpenAI-style chat completions, mostly streamed, over keep-alive
HTTP/1.1 connections (one per worker thread). Writes one JSON line per request with its own
clock (request sent, first byte, first content, last byte) to OUT.

usage: client.py HOST PORT REQUESTS SEED WORKERS OUT
"""

import http.client
import json
import random
import sys
import threading
import time


def now_us() -> float:
    return time.time_ns() / 1000.0


def plan(n: int, seed: int) -> list:
    rnd = random.Random(seed)
    reqs = []
    for i in range(n):
        model = "lab-llm-large" if rnd.random() < 0.35 else "lab-llm-small"
        stream = True
        if i % 7 == 5:
            stream = False
        if i == n // 2:
            model = "lab-llm-missing"  # a 404
        msgs = [
            {"role": "system", "content": "You are a terse assistant."},
            {"role": "user", "content": "Tell me about packet captures. " * rnd.randint(1, 40)},
        ]
        body = {"model": model, "messages": msgs, "stream": stream,
                "max_tokens": rnd.randint(16, 48)}
        if stream and rnd.random() < 0.5:
            body["stream_options"] = {"include_usage": True}
        reqs.append({"request_id": f"req-{seed}-{i:04d}", "body": body})
    return reqs


def worker(host, port, jobs, out, lock):
    conn = http.client.HTTPConnection(host, port, timeout=20)
    conn.connect()  # before the first stamp: t_sent_us is the request, not the handshake
    while True:
        with lock:
            if not jobs:
                break
            job = jobs.pop(0)
        data = json.dumps(job["body"]).encode()
        rec = {"request_id": job["request_id"], "model": job["body"]["model"],
               "stream": job["body"]["stream"]}
        try:
            rec["t_sent_us"] = now_us()
            conn.request("POST", "/v1/chat/completions", body=data,
                         headers={"content-type": "application/json",
                                  "x-request-id": job["request_id"],
                                  "accept": "text/event-stream"})
            # The request left between these two stamps (http.client writes it synchronously).
            rec["t_sent_after_us"] = now_us()
            resp = conn.getresponse()
            rec["status"] = resp.status
            t_first = None
            t_content = None
            n = 0
            while True:
                b = resp.read1(65536)
                if not b:
                    break
                t = now_us()
                t_first = t_first or t
                if t_content is None and b'"content":"' in b and b'"content":""' not in b:
                    t_content = t
                n += len(b)
            resp.read()  # read1 leaves a finished chunked response open; read() closes it
            rec.update(t_first_byte_us=t_first, t_first_content_us=t_content,
                       t_last_us=now_us(), bytes=n)
        except Exception as e:  # noqa: BLE001 - recorded, the run goes on
            rec["error"] = repr(e)
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=20)
            conn.connect()
        with lock:
            out.write(json.dumps(rec) + "\n")
            out.flush()
    conn.close()


def main():
    host, port, n, seed, workers, out_path = sys.argv[1:7]
    jobs = plan(int(n), int(seed))
    lock = threading.Lock()
    with open(out_path, "w", encoding="utf-8") as out:
        ts = [threading.Thread(target=worker, args=(host, int(port), jobs, out, lock))
              for _ in range(int(workers))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()


if __name__ == "__main__":
    main()
