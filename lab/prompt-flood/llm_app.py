"""Fake OpenAI-compatible LLM server for the mlscope `prompt-flood` lab.

POST /v1/chat/completions. Model time grows with prompt tokens and with the load in flight; a
simulated GPU memory budget (KV cache tokens in flight) makes long prompts under load fail the way
real servers do: a `torch.OutOfMemoryError: CUDA out of memory` line in the log and HTTP 500.
Prompts over the context window get 400. One JSON log line per request (LAB_APP_LOG).
"""

import asyncio
import hashlib
import json
import math
import os
import random
import time
from datetime import datetime, timezone

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

CONTEXT_TOKENS = 8192
KV_BUDGET_TOKENS = int(os.environ.get("LAB_KV_BUDGET", "30000"))
LOG_PATH = os.environ.get("LAB_APP_LOG", "/dev/null")
SEED = os.environ.get("LAB_SEED", "7")

app = FastAPI()
_inflight = 0
_log = open(LOG_PATH, "a", buffering=1)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _log_line(**kw) -> None:
    _log.write(json.dumps({"ts": _now(), **kw}) + "\n")


def _rnd(rid: str) -> random.Random:
    h = hashlib.sha256(f"{SEED}:{rid}".encode()).digest()
    return random.Random(int.from_bytes(h[:8], "big"))


def _prompt(data) -> str:
    parts = []
    if isinstance(data, dict):
        for m in data.get("messages") or []:
            if isinstance(m, dict) and isinstance(m.get("content"), str):
                parts.append(m["content"])
        if isinstance(data.get("prompt"), str):
            parts.append(data["prompt"])
    return "\n".join(parts)


@app.post("/v1/chat/completions")
async def chat(request: Request):
    global _inflight
    t0 = time.monotonic()
    body = await request.body()
    rid = request.headers.get("x-request-id") or f"srv-{time.time_ns()}"
    auth = request.headers.get("authorization", "")
    key = auth.split(" ", 1)[1] if auth.lower().startswith("bearer ") else None
    base = dict(
        level="INFO",
        logger="llm_app",
        msg="chat completion",
        request_id=rid,
        client=request.client.host if request.client else None,
        x_forwarded_for=request.headers.get("x-forwarded-for"),
        api_key=key,
    )
    try:
        data = json.loads(body)
    except ValueError:
        _log_line(**{**base, "level": "WARNING", "status": 400, "latency_ms": 0, "msg": "bad json"})
        return JSONResponse({"error": "bad json"}, status_code=400)
    prompt = _prompt(data)
    chars = len(prompt)
    tokens = math.ceil(chars / 4)
    max_tokens = int(data.get("max_tokens") or 128)
    rnd = _rnd(rid)
    info = dict(model=data.get("model"), prompt_chars=chars, prompt_tokens=tokens, max_tokens=max_tokens)

    def done(status: int, level: str = "INFO") -> None:
        ms = round((time.monotonic() - t0) * 1000, 1)
        _log_line(**{**base, **info, "level": level, "status": status, "latency_ms": ms})

    if tokens + max_tokens > CONTEXT_TOKENS:
        done(400, "WARNING")
        return JSONResponse({"error": {"code": "context_length_exceeded"}}, status_code=400)
    need = tokens + max_tokens
    # prefill is slow for long prompts and slows everything in flight
    load = 1 + 3 * _inflight / KV_BUDGET_TOKENS
    if _inflight + need > KV_BUDGET_TOKENS or (tokens > 5000 and rnd.random() < 0.2):
        await asyncio.sleep(0.05 + tokens * 0.00002)
        gib = need * 0.00022
        free = max(0.0, (KV_BUDGET_TOKENS - _inflight) * 0.00022)
        _log_line(
            level="ERROR",
            logger="llm_app.engine",
            msg=(
                f"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate {gib:.2f} GiB. "
                f"GPU 0 has a total capacity of 23.65 GiB of which {free:.2f} GiB is free."
            ),
            request_id=rid,
        )
        done(500, "ERROR")
        return JSONResponse({"error": {"message": "CUDA out of memory", "type": "server_error"}}, status_code=500)
    _inflight += need
    try:
        model_s = (0.04 + tokens * 0.00006 + max_tokens * 0.0008) * load * (0.85 + 0.3 * rnd.random())
        await asyncio.sleep(model_s)
    finally:
        _inflight -= need
    done(200)
    return {
        "id": f"chatcmpl-{rid}",
        "object": "chat.completion",
        "model": data.get("model"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok " * min(max_tokens, 32)}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": tokens, "completion_tokens": min(max_tokens, 32), "total_tokens": tokens + min(max_tokens, 32)},
    }


@app.get("/healthz")
async def healthz():
    return {"ok": True}
