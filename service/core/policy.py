"""Suggested handling: a policy file maps labels and label combinations to what the agent should do.

The file (YAML or TOML) has ``languages``, ``priorities`` and ``rules``; each rule names the labels it
applies to (``when``), a queue, a priority, actions, and guidance and a reply template per language.
For a message, the rule whose ``when`` is the largest subset of its labels wins (ties: file order).
Repeats raise the priority; an open incident adds ``check_incident``. The policy is validated when
loaded: an unknown label, a missing language or an unknown priority stops start-up with a clear error.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import yaml

from service.core.labels import LABELS
from service.errors import PolicyError

DEFAULT_POLICY = Path(__file__).with_name("handling.yaml")
FALLBACK_LANGUAGE = "en"


@dataclass(frozen=True)
class Rule:
    when: frozenset[str]
    queue: str
    priority: str
    actions: tuple[str, ...]
    guidance: dict[str, str]
    reply_template: dict[str, str]


@dataclass(frozen=True)
class Handling:
    queue: str
    priority: str
    actions: list[str]
    guidance: str
    reply_template: str
    language: str
    rule: list[str]


class Policy:
    def __init__(self, languages: list[str], priorities: list[str], rules: list[Rule], source: str) -> None:
        self.languages = languages
        self.priorities = priorities
        self.rules = rules
        self.source = source

    @classmethod
    def load(cls, path: Path | None = None) -> Policy:
        path = Path(path) if path else DEFAULT_POLICY
        if not path.is_file():
            raise PolicyError(f"policy file {path} does not exist")
        try:
            raw = tomllib.loads(path.read_text()) if path.suffix == ".toml" else yaml.safe_load(path.read_text())
        except (yaml.YAMLError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise PolicyError(f"policy file {path} cannot be parsed: {exc}") from None
        return cls.from_dict(raw, str(path))

    @classmethod
    def from_dict(cls, raw: object, source: str = "<dict>") -> Policy:
        if not isinstance(raw, dict):
            raise PolicyError(f"{source}: the policy must be a mapping with languages, priorities and rules")
        languages = raw.get("languages")
        priorities = raw.get("priorities")
        rules_raw = raw.get("rules")
        if not isinstance(languages, list) or FALLBACK_LANGUAGE not in languages:
            raise PolicyError(f"{source}: 'languages' must be a list that includes {FALLBACK_LANGUAGE!r}")
        if not isinstance(priorities, list) or not priorities:
            raise PolicyError(f"{source}: 'priorities' must be a non-empty list, lowest first")
        if not isinstance(rules_raw, list) or not rules_raw:
            raise PolicyError(f"{source}: 'rules' must be a non-empty list")
        rules = []
        for i, r in enumerate(rules_raw):
            where = f"{source}: rule {i + 1}"
            if not isinstance(r, dict):
                raise PolicyError(f"{where}: must be a mapping")
            when = r.get("when", [])
            unknown = [x for x in when if x not in LABELS]
            if unknown:
                raise PolicyError(f"{where}: unknown label(s) {unknown}; known: {list(LABELS)}")
            if r.get("priority") not in priorities:
                raise PolicyError(f"{where}: priority {r.get('priority')!r} is not one of {priorities}")
            for key in ("guidance", "reply_template"):
                texts = r.get(key)
                if not isinstance(texts, dict):
                    raise PolicyError(f"{where}: '{key}' must map each language to a text")
                missing = [lang for lang in languages if not str(texts.get(lang, "")).strip()]
                if missing:
                    raise PolicyError(f"{where} (when={when}): '{key}' is missing language(s) {missing}")
            if not r.get("queue"):
                raise PolicyError(f"{where}: 'queue' is required")
            rules.append(Rule(frozenset(when), str(r["queue"]), str(r["priority"]), tuple(r.get("actions", [])),
                              {k: str(v) for k, v in r["guidance"].items()}, {k: str(v) for k, v in r["reply_template"].items()}))
        if not any(not rule.when for rule in rules):
            raise PolicyError(f"{source}: a default rule with 'when: []' is required")
        return cls(languages, priorities, rules, source)

    def handle(self, labels: list[str], language: str, *, repeats: int = 0, incident: bool = False) -> Handling:
        present = set(labels)
        best = max((r for r in self.rules if r.when <= present), key=lambda r: len(r.when))
        lang = language if language in self.languages else FALLBACK_LANGUAGE
        rank = self.priorities.index(best.priority)
        actions = list(best.actions)
        if repeats >= 1:
            rank = min(rank + (1 if repeats < 3 else 2), len(self.priorities) - 1)
            if "raise_original_priority" not in actions:
                actions.append("raise_original_priority")
        if incident and "check_incident" not in actions:
            actions.append("check_incident")
        return Handling(best.queue, self.priorities[rank], actions, best.guidance[lang], best.reply_template[lang], lang, sorted(best.when))

    def describe(self) -> list[dict]:
        return [{"when": sorted(r.when), "queue": r.queue, "priority": r.priority, "actions": list(r.actions),
                 "guidance": r.guidance, "reply_template": r.reply_template} for r in self.rules]
