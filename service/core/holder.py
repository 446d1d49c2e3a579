"""Holds the served Classifier and swaps it atomically on reload.

A request takes a reference to the current Classifier once and keeps it to the end, so in-flight
requests finish on the old model while new ones get the new model. A reload that fails (tampered,
incompatible, half-written artifact) leaves the old model serving and records the error.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from service.core.artifacts import CURRENT_FILE, current_version
from service.core.classifier import Classifier
from service.core.langid import LanguageIdentifier
from service.errors import ModelError, TriageError

log = logging.getLogger("triage.model")


class ModelHolder:
    def __init__(self, models_dir: Path, pinned_version: str | None = None, warm: bool = True) -> None:
        self.models_dir = Path(models_dir)
        self.pinned = pinned_version
        self.warm = warm
        self._classifier: Classifier | None = None
        self._lock = threading.Lock()
        self.last_error: str | None = None
        self._pointer_state: tuple | None = None
        self._langid = LanguageIdentifier()  # shared across reloads: building lingua's models again costs seconds of CPU

    @property
    def classifier(self) -> Classifier:
        clf = self._classifier
        if clf is None:
            raise ModelError(self.last_error or "no model loaded")
        return clf

    @property
    def ready(self) -> bool:
        return self._classifier is not None

    def _pointer(self) -> tuple:
        p = self.models_dir / CURRENT_FILE
        try:
            st = p.stat()
            return (st.st_mtime_ns, st.st_size, p.read_text().strip())
        except OSError:
            return (None, None, current_version(self.models_dir))

    def load(self) -> tuple[bool, str]:
        """(Re)load the pinned or current version; returns (changed, version). Raises on failure, keeping the old model."""
        with self._lock:
            self._pointer_state = self._pointer()
            target = self.pinned or current_version(self.models_dir)
            if target is None:
                self.last_error = f"no trained model in {self.models_dir}"
                raise ModelError(self.last_error)
            if self._classifier is not None and self._classifier.version == target:
                return False, target
            try:
                clf = Classifier.load(self.models_dir, target, self._langid)
                if self.warm:
                    clf.warm()
            except TriageError as exc:
                self.last_error = exc.message
                log.error("model load refused", extra={"event": "model_load_failed", "error": exc.message})
                raise
            old = self._classifier.version if self._classifier else None
            self._classifier = clf
            self.last_error = None
            log.info("model loaded", extra={"event": "model_loaded", "model_version": clf.version})
            return old != clf.version, clf.version

    def changed_on_disk(self) -> bool:
        return self._pointer() != self._pointer_state
