"""A FastAPI model-serving stand-in for the differential capture corpus: JSON predictions with a
model time, an SSE token stream, and a large JSON answer. Run with uvicorn (scripts/make-diff-corpus.sh)."""

import asyncio
import json

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

app = FastAPI()


@app.post("/v1/predict")
async def predict(req: Request):
    body = await req.body()
    await asyncio.sleep(0.03)
    return JSONResponse({"ok": True, "bytes": len(body)}, headers={"X-Request-ID": req.headers.get("x-request-id", "none")})


@app.post("/v1/chat/completions")
async def chat(req: Request):
    await req.body()

    async def gen():
        for i in range(12):
            await asyncio.sleep(0.015)
            yield "data: " + json.dumps({"choices": [{"delta": {"content": f"tok{i} "}}], "model": "m1"}) + "\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(gen(), media_type="text/event-stream")


@app.get("/v1/big")
async def big():
    return Response(b"[" + b"1," * 400000 + b"1]", media_type="application/json")


@app.get("/v1/empty")
async def empty():
    return Response(status_code=204)


@app.get("/v1/error")
async def error():
    return JSONResponse({"error": "overloaded"}, status_code=503)
