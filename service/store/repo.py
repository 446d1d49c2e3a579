"""The Store: every read and write the service makes, each scoped by tenant.

Only redacted text ever reaches the database (the caller passes text through ``redact`` first and
this class checks nothing else is written). Methods raise StoreError when the database cannot be
reached, so callers can degrade instead of failing.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from service.errors import NotFoundError, StoreError
from service.store import db
from service.store.tables import api_keys, feedback, incidents, messages

SCOPES = ("classify", "feedback", "admin")


@dataclass(frozen=True)
class Principal:
    tenant: str
    scopes: frozenset[str]
    key_id: str | None = None


@dataclass
class StoredMessage:
    id: str
    ticket_id: str | None
    received_at: datetime
    signature: str
    repeat_count: int
    scores: dict[str, float] = field(default_factory=dict)  # the classifier's scores when it was stored (the pair scorer reads them)


@contextmanager
def _guarded(open_connection) -> Iterator:
    """Opens a connection with ``open_connection()``; database failures, including failing to connect, become
    StoreError (constraint violations stay as they are: callers handle them)."""
    try:
        with open_connection() as conn:
            yield conn
    except IntegrityError:
        raise
    except SQLAlchemyError as exc:
        raise StoreError(f"message store unavailable: {exc.__class__.__name__}") from None


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Store:
    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine: Engine = db.make_engine(url)
        # Reads run without BEGIN/COMMIT round trips (each is one statement, so autocommit changes nothing else).
        self._reader: Engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        if migrate:
            db.upgrade(self.engine)

    def _tx(self):
        """A transaction for writes."""
        return _guarded(self.engine.begin)

    def _read(self):
        """A connection for one-statement reads."""
        return _guarded(self._reader.connect)

    def ping(self) -> bool:
        return db.ping(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # --- API keys ---------------------------------------------------------------------------
    def create_key(self, tenant: str, scopes: list[str], name: str = "") -> tuple[str, str]:
        bad = [s for s in scopes if s not in SCOPES]
        if bad or not scopes:
            raise StoreError(f"unknown scopes {bad}; choose from {list(SCOPES)}")
        key = "trk_" + secrets.token_urlsafe(30)
        key_id = str(uuid.uuid4())
        with self._tx() as conn:
            conn.execute(insert(api_keys).values(id=key_id, tenant=tenant, name=name, prefix=key[:10], key_hash=hash_key(key),
                                                 scopes=",".join(sorted(set(scopes))), created_at=utcnow()))
        return key_id, key

    def list_keys(self) -> list[dict]:
        with self._read() as conn:
            rows = conn.execute(select(api_keys).order_by(api_keys.c.created_at)).mappings().all()
        return [{k: v for k, v in r.items() if k != "key_hash"} for r in rows]

    def revoke_key(self, key_id_or_prefix: str) -> int:
        with self._tx() as conn:
            res = conn.execute(update(api_keys).where((api_keys.c.id == key_id_or_prefix) | (api_keys.c.prefix == key_id_or_prefix))
                               .where(api_keys.c.revoked_at.is_(None)).values(revoked_at=utcnow()))
        return res.rowcount

    def active_key_count(self) -> int:
        with self._read() as conn:
            return conn.execute(select(func.count()).select_from(api_keys).where(api_keys.c.revoked_at.is_(None))).scalar_one()

    def verify_key(self, key: str) -> Principal | None:
        with self._read() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_hash == hash_key(key))).mappings().first()
        if row is None or row["revoked_at"] is not None:
            return None
        return Principal(row["tenant"], frozenset(row["scopes"].split(",")), row["id"])

    # --- messages ---------------------------------------------------------------------------
    def add_message(self, *, tenant: str, customer_id: str | None, ticket_id: str | None, received_at: datetime, language: str,
                    labels: list[str], scores: dict[str, float], text_redacted: str, signature: str, uncertainty: float,
                    duplicate_of: str | None = None, message_id: str | None = None) -> str:
        mid = message_id or str(uuid.uuid4())
        with self._tx() as conn:
            conn.execute(insert(messages).values(
                id=mid, tenant=tenant, customer_id=customer_id, ticket_id=ticket_id, received_at=_aware(received_at), language=language,
                labels=json.dumps(labels), scores=json.dumps(scores), status="open", text_redacted=text_redacted, signature=signature,
                duplicate_of=duplicate_of, repeat_count=0, incident_id=None, uncertainty=uncertainty))
        return mid

    def open_messages(self, tenant: str, customer_id: str, since: datetime, limit: int = 200) -> list[StoredMessage]:
        q = (select(messages.c.id, messages.c.ticket_id, messages.c.received_at, messages.c.signature, messages.c.repeat_count,
                    messages.c.scores)
             .where(and_(messages.c.tenant == tenant, messages.c.customer_id == customer_id, messages.c.status == "open",
                         messages.c.received_at >= since))
             .order_by(messages.c.received_at.desc()).limit(limit))
        with self._read() as conn:
            rows = conn.execute(q).all()
        return [StoredMessage(r[0], r[1], _aware(r[2]), r[3], r[4], json.loads(r[5] or "{}")) for r in rows]

    def bump_repeat(self, tenant: str, message_id: str) -> int:
        with self._tx() as conn:
            conn.execute(update(messages).where(and_(messages.c.tenant == tenant, messages.c.id == message_id))
                         .values(repeat_count=messages.c.repeat_count + 1))
            return conn.execute(select(messages.c.repeat_count).where(messages.c.id == message_id)).scalar_one()

    def get_message(self, tenant: str, message_id: str) -> dict:
        with self._read() as conn:
            row = conn.execute(select(messages).where(and_(messages.c.tenant == tenant, messages.c.id == message_id))).mappings().first()
        if row is None:
            raise NotFoundError(f"no message {message_id!r} for this tenant")
        return dict(row)

    def close_ticket(self, tenant: str, *, ticket_id: str | None = None, message_id: str | None = None) -> int:
        cond = messages.c.ticket_id == ticket_id if ticket_id is not None else messages.c.id == message_id
        with self._tx() as conn:
            res = conn.execute(update(messages).where(and_(messages.c.tenant == tenant, cond, messages.c.status == "open")).values(status="closed"))
        return res.rowcount

    def set_incident(self, tenant: str, message_ids: list[str], incident_id: str) -> None:
        with self._tx() as conn:
            conn.execute(update(messages).where(and_(messages.c.tenant == tenant, messages.c.id.in_(message_ids))).values(incident_id=incident_id))

    def recent_messages(self, tenant: str, since: datetime, label: str | None = None, limit: int = 500) -> list[dict]:
        q = select(messages.c.id, messages.c.customer_id, messages.c.received_at, messages.c.signature, messages.c.labels,
                   messages.c.text_redacted, messages.c.incident_id, messages.c.scores, messages.c.language,
                   messages.c.uncertainty)
        q = q.where(and_(messages.c.tenant == tenant, messages.c.received_at >= since))
        if label:
            q = q.where(messages.c.labels.like(f'%"{label}"%'))
        with self._read() as conn:
            return [dict(r) for r in conn.execute(q.order_by(messages.c.received_at.desc()).limit(limit)).mappings().all()]

    def prune(self, older_than_days: int) -> int:
        cutoff = utcnow() - timedelta(days=older_than_days)
        with self._tx() as conn:
            return conn.execute(delete(messages).where(messages.c.received_at < cutoff)).rowcount

    # --- incidents --------------------------------------------------------------------------
    def active_incidents(self, tenant: str, since: datetime) -> list[dict]:
        with self._read() as conn:
            rows = conn.execute(select(incidents).where(and_(incidents.c.tenant == tenant, incidents.c.last_seen >= since))
                                .order_by(incidents.c.last_seen.desc())).mappings().all()
        return [dict(r) for r in rows]

    def upsert_incident(self, tenant: str, incident: dict) -> None:
        values = {**incident, "customers": json.dumps(incident["customers"]), "top_terms": json.dumps(incident["top_terms"])}
        with self._tx() as conn:
            done = conn.execute(update(incidents).where(and_(incidents.c.tenant == tenant, incidents.c.id == incident["id"]))
                                .values(**{k: v for k, v in values.items() if k != "id"})).rowcount
            if not done:
                conn.execute(insert(incidents).values(tenant=tenant, **values))

    # --- feedback ---------------------------------------------------------------------------
    def add_feedback(self, tenant: str, message_id: str, labels: list[str], agent_id: str = "", note: str | None = None) -> tuple[str, bool]:
        self.get_message(tenant, message_id)
        with self._tx() as conn:
            existing = conn.execute(select(feedback.c.id).where(and_(feedback.c.tenant == tenant, feedback.c.message_id == message_id,
                                                                     feedback.c.agent_id == agent_id))).scalar()
            if existing:
                conn.execute(update(feedback).where(feedback.c.id == existing).values(labels=json.dumps(labels), note=note, created_at=utcnow()))
                return existing, False
            fid = str(uuid.uuid4())
            conn.execute(insert(feedback).values(id=fid, tenant=tenant, message_id=message_id, agent_id=agent_id, labels=json.dumps(labels),
                                                 note=note, created_at=utcnow()))
            return fid, True

    def feedback_labels(self, tenant: str, message_ids: list[str]) -> dict[str, list[list[str]]]:
        """Every agent's labels per message, for the messages given."""
        out: dict[str, list[list[str]]] = {}
        with self._read() as conn:
            for start in range(0, len(message_ids), 500):
                q = select(feedback.c.message_id, feedback.c.labels).where(
                    and_(feedback.c.tenant == tenant, feedback.c.message_id.in_(message_ids[start : start + 500])))
                for mid, labels in conn.execute(q):
                    out.setdefault(mid, []).append(json.loads(labels))
        return out

    def export_feedback(self, tenant: str | None = None) -> list[dict]:
        q = (select(feedback.c.id, feedback.c.tenant, feedback.c.message_id, feedback.c.labels, messages.c.text_redacted, messages.c.language)
             .join(messages, messages.c.id == feedback.c.message_id).order_by(feedback.c.created_at))
        if tenant:
            q = q.where(feedback.c.tenant == tenant)
        with self._read() as conn:
            return [dict(r) for r in conn.execute(q).mappings().all()]
