"""Store and duplicate detection, the same tests on SQLite and on the local PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from service.core.policy import Policy
from service.core.redact import redact
from service.core.triage import Triage, TriageRequest

CARD = "4539 1488 0343 6467"


def triage_for(classifier, store) -> Triage:
    return Triage(classifier, Policy.load(), store)


def test_store_card_number_never_reaches_the_database(classifier, store):
    t = triage_for(classifier, store)
    res = t.run(TriageRequest(text=f"You charged my card {CARD} twice, refund it! mail me at jo@example.com", customer_id="c1"), "t1")
    assert res.stored
    with store.engine.connect() as conn:
        dump = " ".join(str(v) for row in conn.execute(text("SELECT * FROM messages")).all() for v in row)
    assert CARD not in dump and CARD.replace(" ", "") not in dump and "jo@example.com" not in dump
    assert "[CARD]" in dump


def test_store_paraphrased_resend_names_the_first(classifier, store):
    t = triage_for(classifier, store)
    first = t.run(TriageRequest(text="My internet connection drops every evening around 8pm since Monday. Router lights blink red.",
                                customer_id="c1", ticket_id="T-1"), "t1")
    second = t.run(TriageRequest(text="Hello,\nagain: my internet conection keeps dropping every evening at about 8pm since monday, router light blinks red.\nRegards, Ann",
                                 customer_id="c1"), "t1")
    assert second.duplicate_of and second.duplicate_of["id"] == first.id and second.duplicate_of["ticket_id"] == "T-1"
    assert "duplicate" in second.prediction.labels
    assert "merge_into_open" in second.handling.actions


def test_store_duplicate_found_by_evidence_explains_what_it_shares(classifier, store):
    t = triage_for(classifier, store)
    first = "The export button in the reports tab does nothing since Tuesday, no file gets downloaded."
    t.run(TriageRequest(text=first, customer_id="c5"), "t1")
    again = "reports tab: the export button still does nothing, nothing gets downloaded since tuesday"
    res = t.run(TriageRequest(text=again, customer_id="c5"), "t1")
    assert res.duplicate_of and "duplicate" in res.prediction.labels
    spans = res.prediction.explanation["duplicate"]
    assert spans and all(again[s.start:s.end] == s.text for s in spans)
    assert {s.text.lower() for s in spans} <= set(first.lower().replace(",", " ").replace(".", " ").split()) | {"tuesday"}


def test_store_quoted_copy_counts_as_repeat(classifier, store):
    t = triage_for(classifier, store)
    original = "The invoice for October charges me for two licences but we only have one user."
    first = t.run(TriageRequest(text=original, customer_id="c9"), "t1")
    again = t.run(TriageRequest(text=f"Any news?\n\nOn Tue, Ann wrote:\n> {original}", customer_id="c9"), "t1")
    assert again.duplicate_of and again.duplicate_of["id"] == first.id


def test_store_other_customer_or_tenant_never_matches(classifier, store):
    t = triage_for(classifier, store)
    msg = "The mobile app crashes whenever I open the payments tab on my phone."
    t.run(TriageRequest(text=msg, customer_id="c1"), "tenant-a")
    assert t.run(TriageRequest(text=msg, customer_id="c2"), "tenant-a").duplicate_of is None
    assert t.run(TriageRequest(text=msg, customer_id="c1"), "tenant-b").duplicate_of is None


def test_store_different_problem_from_same_customer_is_not_a_duplicate(classifier, store):
    t = triage_for(classifier, store)
    t.run(TriageRequest(text="My internet connection drops every evening since Monday.", customer_id="c1"), "t1")
    other = t.run(TriageRequest(text="Could you send me a copy of last year's invoices for my accountant?", customer_id="c1"), "t1")
    assert other.duplicate_of is None


def test_store_closed_ticket_stops_matching(classifier, store):
    t = triage_for(classifier, store)
    msg = "Netflix keeps buffering on your fibre line every night, speed tests show 3 Mbps instead of 300."
    t.run(TriageRequest(text=msg, customer_id="c1", ticket_id="T-7"), "t1")
    assert store.close_ticket("t1", ticket_id="T-7") == 1
    assert t.run(TriageRequest(text=msg, customer_id="c1"), "t1").duplicate_of is None


def test_store_repeats_raise_priority(classifier, store):
    t = triage_for(classifier, store)
    msg = "Our web shop is down, customers get error 502 on checkout."
    priorities = [t.run(TriageRequest(text=msg, customer_id="c5"), "t1").handling.priority for _ in range(4)]
    policy = Policy.load()
    ranks = [policy.priorities.index(p) for p in priorities]
    assert ranks[-1] > ranks[0] or priorities[0] == policy.priorities[-1]


def test_store_outage_wave_links_an_incident(classifier, store):
    t = triage_for(classifier, store)
    texts = ["Internet is down in Tartu since 9am, no connection at all", "no internet connection here in tartu since this morning",
             "Our office in Tartu has had no internet since 9 am", "tartu: internet down since 9am?? nothing works"]
    results = [t.run(TriageRequest(text=x, customer_id=f"cust-{i}", language="en"), "t1") for i, x in enumerate(texts)]
    linked = [r.incident for r in results if r.incident]
    assert linked, [r.prediction.labels for r in results]
    assert linked[-1]["size"] >= 3 and any("tartu" in term for term in linked[-1]["top_terms"])


def test_store_down_still_classifies(classifier, tmp_path):
    from service.store.repo import Store

    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    store.engine.dispose()
    (tmp_path / "x.db").unlink()
    (tmp_path / "x.db").mkdir()  # the file is now a folder: every query fails
    res = Triage(classifier, Policy.load(), store).run(TriageRequest(text="the app is down", customer_id="c1"), "t1")
    assert res.degraded == ["store"] and res.prediction.scores


def test_store_prune_removes_old_messages(classifier, store):
    old = datetime.now(UTC) - timedelta(days=200)
    t = triage_for(classifier, store)
    t.run(TriageRequest(text="old message about an invoice", customer_id="c1", received_at=old), "t1")
    t.run(TriageRequest(text="new message about an invoice", customer_id="c1"), "t1")
    assert store.prune(90) == 1


def test_store_keys_are_hashed_and_revocable(store):
    key_id, key = store.create_key("t1", ["classify"])
    with store.engine.connect() as conn:
        assert key not in " ".join(str(v) for row in conn.execute(text("SELECT * FROM api_keys")).all() for v in row)
    assert store.verify_key(key).tenant == "t1"
    assert store.revoke_key(key_id) == 1 and store.verify_key(key) is None


def test_redact_luhn_iban_phone_secret():
    out = redact("card 4111 1111 1111 1111, not a card 1234 5678 9012 3456, IBAN EE38 2200 2210 2014 5685, +372 5551 2345, password: hunter2")
    assert "[CARD]" in out and "1234 5678 9012 3456" in out and "[IBAN]" in out and "[PHONE]" in out and "hunter2" not in out
