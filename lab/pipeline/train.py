#!/usr/bin/python3
"""One run of a small nightly retraining job (scikit-learn on generated data).

Writes JSON structured logs (one object per line) to --log and MLflow-style tracking files under
--mlruns/<experiment>/<run_id>/ (metrics/<name> as "timestamp value step" lines, params/, tags/,
meta.yaml). Stages: load -> features -> train -> evaluate -> register.

Timestamps follow a simulated schedule: the run starts at --start-ms (epoch ms, e.g. one run per
hour) and every later timestamp adds the real elapsed time measured with a monotonic clock, so
stage durations are real while runs can be laid out on an hourly timeline.

Faults (--fault): none | slow (an extra sleep in `features`) | degraded (a feature-join bug misaligns
18 of 20 training columns: a worse model that still "succeeds") | silent (the process SIGKILLs itself in `evaluate`
after logging the stage start: no end event, no run completion, MLflow status left RUNNING).
"""
import argparse
import json
import os
import random
import signal
import sys
import time

import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, f1_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

ap = argparse.ArgumentParser()
ap.add_argument("--run-id", required=True)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--start-ms", type=int, required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--mlruns", required=True)
ap.add_argument("--artifacts", required=True)
ap.add_argument("--fault", default="none", choices=["none", "slow", "degraded", "silent"])
ap.add_argument("--slow-s", type=float, default=3.0)
ap.add_argument("--epochs", type=int, default=8)
args = ap.parse_args()

T0 = time.monotonic()
rng = random.Random(args.seed)


def now_ms():
    return args.start_ms + (time.monotonic() - T0) * 1000.0


def iso(ms):
    sec = int(ms // 1000)
    frac = int(ms % 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + ".%03dZ" % frac


LOG = open(args.log, "a", buffering=1)


def log(level, msg, **fields):
    rec = {"ts": iso(now_ms()), "level": level, "job": "trainer", "pipeline": "nightly-retrain",
           "run_id": args.run_id, "msg": msg}
    rec.update(fields)
    LOG.write(json.dumps(rec, separators=(",", ":")) + "\n")
    LOG.flush()


RUN_DIR = os.path.join(args.mlruns, "0", args.run_id)
for d in ("metrics", "params", "tags"):
    os.makedirs(os.path.join(RUN_DIR, d), exist_ok=True)


def write_meta(status, end_ms=None):
    # MLflow RunStatus: 1 RUNNING, 3 FINISHED, 4 FAILED.
    with open(os.path.join(RUN_DIR, "meta.yaml"), "w") as f:
        f.write("artifact_uri: file:artifacts\n")
        f.write("end_time: %s\n" % (int(end_ms) if end_ms is not None else "null"))
        f.write("entry_point_name: ''\nexperiment_id: '0'\nlifecycle_stage: active\n")
        f.write("run_id: %s\nrun_name: nightly-%s\nrun_uuid: %s\nsource_name: ''\nsource_type: 4\n"
                % (args.run_id, args.run_id, args.run_id))
        f.write("start_time: %d\nstatus: %d\ntags: []\nuser_id: lab\n" % (args.start_ms, status))


def mlflow_metric(name, value, step):
    with open(os.path.join(RUN_DIR, "metrics", name), "a") as f:
        f.write("%d %r %d\n" % (int(now_ms()), float(value), step))


def mlflow_param(name, value):
    with open(os.path.join(RUN_DIR, "params", name), "w") as f:
        f.write(str(value))


def work(base_s):
    # Simulated I/O with a little jitter: real time passes.
    time.sleep(base_s * (0.85 + 0.3 * rng.random()))


write_meta(1)
with open(os.path.join(RUN_DIR, "tags", "mlflow.runName"), "w") as f:
    f.write("nightly-%s" % args.run_id)
mlflow_param("epochs", args.epochs)
mlflow_param("alpha", 1e-4)
log("info", "run started", event="run_started")

stage_t = {}


def start(stage):
    stage_t[stage] = time.monotonic()
    log("info", "stage %s started" % stage, stage=stage, event="stage_started")


def done(stage, **fields):
    dur = (time.monotonic() - stage_t[stage]) * 1000.0
    log("info", "stage %s completed" % stage, stage=stage, event="stage_completed",
        duration_ms=round(dur, 3), **fields)


# load: the same source table every night, a fresh sample of it.
start("load")
X, y = make_classification(n_samples=6000, n_features=20, n_informative=8, n_redundant=4,
                           class_sep=2.0, flip_y=0.01, random_state=42)
idx = np.random.RandomState(args.seed).permutation(len(y))[:5000]
X, y = X[idx], y[idx]
work(0.25)
done("load", rows=int(len(y)))

start("features")
X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.25, random_state=args.seed)
scaler = StandardScaler().fit(X_tr)
X_tr, X_va = scaler.transform(X_tr), scaler.transform(X_va)
work(0.15)
if args.fault == "slow":
    time.sleep(args.slow_s)
done("features", rows=int(len(y_tr)))

start("train")
if args.fault == "degraded":
    # A feature-join bug: 18 of the 20 feature columns are misaligned with their rows.
    rs = np.random.RandomState(args.seed + 1)
    X_tr = X_tr.copy()
    for j in range(18):
        X_tr[:, j] = X_tr[rs.permutation(len(X_tr)), j]
clf = SGDClassifier(loss="log_loss", alpha=1e-4, learning_rate="constant", eta0=0.005,
                    random_state=args.seed)
for epoch in range(1, args.epochs + 1):
    clf.partial_fit(X_tr, y_tr, classes=np.array([0, 1]))
    loss = log_loss(y_tr, clf.predict_proba(X_tr))
    log("info", "epoch %d" % epoch, stage="train", event="metric", metric="training_loss",
        value=round(float(loss), 6), step=epoch)
    mlflow_metric("training_loss", loss, epoch)
    work(0.03)
done("train", rows=int(len(y_tr)))

start("evaluate")
if args.fault == "silent":
    # The OOM killer's way out: no exception, no end event, nothing.
    time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGKILL)
pred = clf.predict(X_va)
acc = accuracy_score(y_va, pred)
f1 = f1_score(y_va, pred)
work(0.1)
mlflow_metric("validation_accuracy", acc, args.epochs)
mlflow_metric("validation_f1", f1, args.epochs)
done("evaluate", rows=int(len(y_va)), validation_accuracy=round(float(acc), 6),
     validation_f1=round(float(f1), 6))

start("register")
os.makedirs(args.artifacts, exist_ok=True)
path = os.path.join(args.artifacts, "model-%s.json" % args.run_id)
with open(path, "w") as f:
    json.dump({"coef": clf.coef_.tolist(), "intercept": clf.intercept_.tolist()}, f)
work(0.05)
done("register", artifact="artifacts/model-%s.json" % args.run_id)
end = now_ms()
log("info", "run completed", event="run_completed", status="succeeded")
write_meta(3, end)
sys.exit(0)
