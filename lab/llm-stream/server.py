"""An OpenAI-compatible streaming chat server (FastAPI under uvicorn) for mlscope's llm-stream lab.

POST /v1/chat/completions with {"model", "messages", "stream": true, "max_tokens"} streams
`chat.completion.chunk` deltas as Server-Sent Events (`data: {...}\\n\\n`), then a usage chunk and
`data: [DONE]`. stream=false returns one chat.completion JSON; an unknown model is a 404 error.

Delays are injected and deterministic: a hash of (LAB_SEED, X-Request-ID) draws the time to the
first token, the per-token gaps and, for some requests, one stall. The server records its own
clock for each request (when uvicorn hands it over) and for each token chunk, right after uvicorn
wrote it to the socket, in LAB_TRUTH (JSON lines): this is the record the capture is checked against.

  LAB_TRUTH   path of the per-request JSON-lines record
  LAB_SEED    seed of the delay draws
"""

import asyncio
import hashlib
import json
import os
import threading
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

TRUTH = os.environ.get("LAB_TRUTH", "/dev/null")
SEED = int(os.environ.get("LAB_SEED", "7"))
MODELS = {"lab-llm-small", "lab-llm-large"}
WORDS = (
    "the quick brown fox jumps over a lazy dog while packets cross the bridge and tokens "
    "stream back one by one to the waiting client"
).split()

_lock = threading.Lock()
api = FastAPI()


async def app(scope, receive, send):
    """The ASGI app uvicorn runs: stamps the request's arrival before FastAPI sees it (FastAPI
    builds its middleware stack on the first call, which would otherwise count as TTFT)."""
    if scope["type"] == "http":
        scope["lab_t_request_us"] = now_us()
    await api(scope, receive, send)


def now_us() -> float:
    return time.time_ns() / 1000.0


def draw(rid: str, salt: str) -> float:
    h = hashlib.sha256(f"{SEED}:{salt}:{rid}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2.0**64


def plan(rid: str, model: str, max_tokens: int) -> dict:
    """Injected delays (ms) for one request: ttft, one gap per later token, and a stall."""
    large = model == "lab-llm-large"
    n = max(4, min(max_tokens, 12 + int(draw(rid, "n") * 28)))
    ttft = (180 if large else 60) + draw(rid, "ttft") * 220
    base = (35 if large else 12) + draw(rid, "base") * 20
    gaps = [base + draw(rid, f"gap{i}") * 25 for i in range(n - 1)]
    stall_at = None
    if draw(rid, "stall") < 0.4 and n > 6:
        stall_at = 3 + int(draw(rid, "stall_at") * (n - 5))
        gaps[stall_at - 1] = 600 + draw(rid, "stall_ms") * 400
    return {"tokens": n, "ttft_ms": ttft, "gaps_ms": gaps, "stall_token": stall_at}


def record(rec: dict) -> None:
    line = json.dumps(rec, separators=(",", ":")) + "\n"
    with _lock:
        with open(TRUTH, "a", encoding="utf-8") as f:
            f.write(line)


def chunk(cid: str, model: str, created: int, delta: dict, finish=None) -> bytes:
    body = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


@api.post("/v1/chat/completions")
async def chat(request: Request):
    raw = await request.body()
    t_body = now_us()
    # The request is complete when uvicorn hands it over (its body came with the head): the
    # server's own "request received", the origin of its TTFT.
    t_req = request.scope.get("lab_t_request_us", t_body)
    rid = request.headers.get("x-request-id", "")
    try:
        body = json.loads(raw)
    except ValueError:
        return JSONResponse({"error": {"message": "invalid JSON", "type": "invalid_request_error"}}, 400)
    model = str(body.get("model", ""))
    stream = body.get("stream") is True
    max_tokens = int(body.get("max_tokens") or 64)
    prompt_chars = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
    if model not in MODELS:
        record({"request_id": rid, "model": model, "stream": stream, "status": 404, "t_request_us": t_req})
        return JSONResponse(
            {"error": {"message": f"The model '{model}' does not exist", "type": "invalid_request_error",
                       "code": "model_not_found"}},
            status_code=404,
            headers={"x-request-id": rid},
        )
    p = plan(rid, model, max_tokens)
    cid = "chatcmpl-" + hashlib.sha1(rid.encode()).hexdigest()[:12]
    created = int(time.time())
    words = [WORDS[(i * 7 + len(rid)) % len(WORDS)] for i in range(p["tokens"])]
    prompt_tokens = (prompt_chars + 3) // 4

    if not stream:
        await asyncio.sleep((p["ttft_ms"] + sum(p["gaps_ms"])) / 1000)
        t_done = now_us()
        record({"request_id": rid, "model": model, "stream": False, "status": 200,
                "t_request_us": t_req, "t_done_us": t_done, "tokens": p["tokens"]})
        return JSONResponse(
            {"id": cid, "object": "chat.completion", "created": created, "model": model,
             "choices": [{"index": 0, "message": {"role": "assistant", "content": " ".join(words)},
                          "finish_reason": "stop"}],
             "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": p["tokens"],
                       "total_tokens": prompt_tokens + p["tokens"]}},
            headers={"x-request-id": rid},
        )

    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

    async def gen():
        sent = []
        before = []
        # Like vLLM: the role chunk goes out at once, content follows after the prefill.
        yield chunk(cid, model, created, {"role": "assistant", "content": ""})
        delays = [p["ttft_ms"]] + p["gaps_ms"]
        # Sleep to an absolute schedule from t_req so sleep overshoot does not accumulate.
        due = t_req
        for i, w in enumerate(words):
            due += delays[i] * 1000
            wait = (due - now_us()) / 1e6
            if wait > 0:
                await asyncio.sleep(wait)
            before.append(now_us())
            yield chunk(cid, model, created, {"content": (" " if i else "") + w})
            # Starlette resumes the generator once uvicorn has written the chunk to the socket:
            # this is when the token left the server (a stamp before the yield would also count
            # any event-loop delay between the stamp and the write).
            sent.append(now_us())
        yield chunk(cid, model, created, {}, "stop")
        if include_usage:
            u = {"prompt_tokens": prompt_tokens, "completion_tokens": len(words),
                 "total_tokens": prompt_tokens + len(words)}
            yield b"data: " + json.dumps({"id": cid, "object": "chat.completion.chunk",
                                          "created": created, "model": model, "choices": [],
                                          "usage": u}, separators=(",", ":")).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"
        t_done = now_us()
        record({
            "request_id": rid, "model": model, "stream": True, "status": 200,
            "t_request_us": t_req, "t_tokens_us": sent, "t_done_us": t_done,
            # Each token left between these two stamps (user-space stamps bracket the write).
            "t_tokens_before_us": before, "t_tokens_after_us": sent,
            "tokens": len(words), "injected": p,
            "ttft_ms": (sent[0] - t_req) / 1000,
            "gaps_ms": [(b - a) / 1000 for a, b in zip(sent, sent[1:])],
        })

    return StreamingResponse(gen(), media_type="text/event-stream",
                             headers={"x-request-id": rid, "cache-control": "no-cache"})
