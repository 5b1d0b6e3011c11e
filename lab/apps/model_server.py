"""A fake ML model server (FastAPI) for mlscope's lab scenarios.

One module serves every upstream of a scenario; environment variables choose its behaviour:

  LAB_SERVER       name written in each log record (e.g. "app-8000")
  LAB_APP_LOG      path of the JSON-lines application log (one record per request)
  LAB_LEDGER       path of the fault ledger (what was injected, for the truth; not in the bundle)
  LAB_MODE         "async"    model time is awaited (GPU work offloaded; requests overlap)
                   "blocking" model time blocks the event loop (one busy worker: requests queue)
  LAB_BASE_MS      "lo,hi"    base model time range in ms (default 10,50)
  LAB_PER_INPUT_MS model ms per input beyond 16 inputs (default 1.0)
  LAB_FAULTS       JSON {"p_oom":…, "p_crash":…, "p_hang":…, "oom_inputs":…, "hang_s":…}
  LAB_SEED         seed for model-time and fault draws

Draws are a hash of (seed, request body), so the same client plan and seed give the same model
times and the same faults on the same requests, whichever worker serves them.

The model is a sleep whose length grows with the input size plus a tiny real matrix product, so
`inference_ms` is what a real server would measure around its forward pass.
"""

import asyncio
import hashlib
import json
import os
import signal
import threading
import time
import traceback
from datetime import datetime, timezone

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class OutOfMemoryError(RuntimeError):
    """Stands in for torch.cuda.OutOfMemoryError (torch is not installed in the lab)."""


OutOfMemoryError.__module__ = "torch.cuda"

SERVER = os.environ.get("LAB_SERVER", "app")
APP_LOG = os.environ.get("LAB_APP_LOG", "/dev/null")
LEDGER = os.environ.get("LAB_LEDGER", "/dev/null")
MODE = os.environ.get("LAB_MODE", "async")
BASE_LO, BASE_HI = (float(x) for x in os.environ.get("LAB_BASE_MS", "10,50").split(","))
PER_INPUT_MS = float(os.environ.get("LAB_PER_INPUT_MS", "1.0"))
FAULTS = json.loads(os.environ.get("LAB_FAULTS", "{}") or "{}")
SEED = int(os.environ.get("LAB_SEED", "7"))
MODEL = "fake-linear-v1"

_lock = threading.Lock()


def draw(raw: bytes, salt: str) -> float:
    """A uniform number in [0, 1) fixed by the seed, the salt and the request body."""
    h = hashlib.sha256(f"{SEED}:{salt}:".encode() + raw).digest()
    return int.from_bytes(h[:8], "big") / 2.0**64


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write(path: str, rec: dict) -> None:
    line = json.dumps(rec) + "\n"
    with _lock:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()


def log(level: str, event: str, **fields) -> None:
    rec = {"ts": now_iso(), "level": level, "logger": "model_server", "event": event}
    rec.update(fields)
    rec["pid"] = os.getpid()
    rec["server"] = SERVER
    write(APP_LOG, rec)


def model_ms_for(raw: bytes, n_inputs: int) -> float:
    return BASE_LO + draw(raw, "model") * (BASE_HI - BASE_LO) + PER_INPUT_MS * max(0, n_inputs - 16)


def forward(inputs: list) -> list:
    # A small real computation so the process does some work besides sleeping.
    w = [0.5, -0.25, 0.125, 1.0]
    acc = 0.0
    for i, x in enumerate(inputs[:256]):
        acc += float(x) * w[i % 4]
    return [round(acc, 4), round(1.0 / (1.0 + abs(acc)), 4)]


app = FastAPI(title=f"lab model server {SERVER}")


@app.get("/healthz")
async def healthz():
    return {"ok": True, "server": SERVER}


@app.post("/predict")
async def predict(request: Request):
    rid = request.headers.get("x-request-id", "")
    peer = f"{request.client.host}:{request.client.port}" if request.client else None
    raw = await request.body()
    body = json.loads(raw)
    inputs = body.get("inputs") or []
    n = len(inputs)
    model = body.get("model") or MODEL

    fault = None
    if FAULTS:
        u = draw(raw, "fault")
        p_oom, p_crash = float(FAULTS.get("p_oom", 0)), float(FAULTS.get("p_crash", 0))
        p_hang = float(FAULTS.get("p_hang", 0))
        if n >= int(FAULTS.get("oom_inputs", 10**9)) or u < p_oom:
            fault = "oom"
        elif u < p_oom + p_crash:
            fault = "crash"
        elif u < p_oom + p_crash + p_hang:
            fault = "hang"
    if fault:
        write(LEDGER, {"ts": now_iso(), "request_id": rid, "fault": fault, "server": SERVER,
                       "pid": os.getpid()})

    model_ms = model_ms_for(raw, n)
    t0 = time.perf_counter()
    try:
        if fault == "crash":
            # The worker dies mid-request, as when the kernel OOM killer picks it: no log line,
            # gunicorn reports the signal and forks a new worker; nginx sees the connection close.
            await asyncio.sleep(model_ms / 2000.0)
            os.kill(os.getpid(), signal.SIGKILL)
        if fault == "hang":
            # A stuck CUDA stream: far longer than nginx's proxy_read_timeout.
            await asyncio.sleep(float(FAULTS.get("hang_s", 3.0)))
        if MODE == "blocking":
            time.sleep(model_ms / 1000.0)
        else:
            await asyncio.sleep(model_ms / 1000.0)
        if fault == "oom":
            need = 0.002 * n + 0.5
            raise OutOfMemoryError(
                f"CUDA out of memory. Tried to allocate {need:.2f} GiB (GPU 0; 15.78 GiB total "
                "capacity; 13.91 GiB already allocated; 412.19 MiB free; 14.02 GiB reserved in "
                "total by PyTorch) If reserved memory is >> allocated memory try setting "
                "max_split_size_mb to avoid fragmentation."
            )
        out = forward(inputs)
    except OutOfMemoryError:
        took = (time.perf_counter() - t0) * 1000.0
        log("ERROR", "prediction_failed", request_id=rid, model=model, n_inputs=n,
            inference_ms=round(took, 2), status=500, peer=peer,
            error="torch.cuda.OutOfMemoryError: CUDA out of memory",
            traceback=traceback.format_exc())
        raise
    took = (time.perf_counter() - t0) * 1000.0
    log("INFO", "prediction", request_id=rid, model=model, n_inputs=n,
        inference_ms=round(took, 2), status=200, peer=peer)
    return JSONResponse({"model": model, "outputs": out, "n_inputs": n,
                         "inference_ms": round(took, 2)})
