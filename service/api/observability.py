"""Prometheus metrics and JSON logs. No message text is ever logged unless TRIAGE_LOG_TEXT is set.

With several worker processes each worker counts on its own, so `triage serve --workers N` (N > 1) sets
PROMETHEUS_MULTIPROC_DIR: every worker writes its samples there and /metrics, whichever worker answers, adds
them up (counters, histograms) or lists them per worker (``pid`` label: model version, recent-label gauges).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections import deque
from threading import Lock

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

from service.core.labels import LABELS

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("triage_requests_total", "HTTP requests", ["route", "method", "status"], registry=REGISTRY)
LATENCY = Histogram("triage_request_seconds", "HTTP request latency", ["route"], registry=REGISTRY,
                    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
LABEL_COUNT = Counter("triage_labels_total", "Predicted labels", ["label"], registry=REGISTRY)
SCORES = Histogram("triage_label_score", "Score per label", ["label"], registry=REGISTRY, buckets=[i / 10 for i in range(1, 11)])
MODEL_INFO = Gauge("triage_model_info", "Loaded model (value 1)", ["version"], registry=REGISTRY, multiprocess_mode="liveall")
STORE_DEGRADED = Counter("triage_store_degraded_total", "Classifications answered without the store", registry=REGISTRY)
RELOADS = Counter("triage_model_reloads_total", "Model reload attempts", ["result"], registry=REGISTRY)
RECENT_RATE = Gauge("triage_recent_label_rate", "Share of the last N classified messages carrying the label", ["label"],
                    registry=REGISTRY, multiprocess_mode="liveall")
RECENT_MEAN = Gauge("triage_recent_mean_score", "Mean score of the label over the last N messages", ["label"],
                    registry=REGISTRY, multiprocess_mode="liveall")


class RecentWindow:
    """Rolling window of the last N predictions, for drift gauges."""

    def __init__(self, size: int = 1000, publish_every_s: float = 1.0) -> None:
        self.items: deque[tuple[frozenset[str], tuple[float, ...]]] = deque(maxlen=size)
        self.lock = Lock()
        self.publish_every_s = publish_every_s
        self._published = 0.0

    def add(self, labels: list[str], scores: dict[str, float]) -> None:
        with self.lock:
            self.items.append((frozenset(labels), tuple(scores.get(lab, 0.0) for lab in LABELS)))
        now = time.monotonic()
        if now - self._published >= self.publish_every_s:  # a worker that never answers /metrics still shows its window
            self._published = now
            self.publish()

    def publish(self) -> None:
        with self.lock:
            items = list(self.items)
        n = len(items) or 1
        for k, lab in enumerate(LABELS):
            RECENT_RATE.labels(lab).set(sum(lab in labs for labs, _ in items) / n)
            RECENT_MEAN.labels(lab).set(sum(s[k] for _, s in items) / n)


RECENT = RecentWindow()


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render_metrics() -> bytes:
    """The exposition text: this process's registry, or every worker's samples in multiprocess mode."""
    RECENT.publish()
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def worker_exit() -> None:
    """Drop this worker's live gauges from the shared directory."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(os.getpid())


_CHILDREN: dict[tuple, object] = {}


def child(metric, *values: str):
    """``metric.labels(*values)``, kept: the lookup takes a lock and builds a key on every call, and every request
    makes several (prometheus_client's advice for hot paths). Label values here come from small fixed sets."""
    key = (metric, values)
    found = _CHILDREN.get(key)
    if found is None:
        found = _CHILDREN[key] = metric.labels(*values)
    return found


def record_prediction(labels: list[str], scores: dict[str, float]) -> None:
    for lab in labels:
        child(LABEL_COUNT, lab).inc()
    for lab, p in scores.items():
        child(SCORES, lab).observe(p)
    RECENT.add(labels, scores)


class JsonFormatter(logging.Formatter):
    FIELDS = ("request_id", "method", "path", "status", "duration_ms", "model_version", "event", "error")

    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)), "level": record.levelname,
               "logger": record.name, "msg": record.getMessage()}
        for f in self.FIELDS:
            if hasattr(record, f):
                out[f] = getattr(record, f)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger("triage")
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
