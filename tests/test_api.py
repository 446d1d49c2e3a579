"""Contract tests through TestClient: schemas, every error status, auth scopes, tenants, policy validation."""

from __future__ import annotations

import pytest

from service.core.labels import LABELS


def test_api_classify_answers_the_contract(client):
    r = client.post("/v1/classify", json={"text": "You charged me twice and your app keeps crashing!!!", "store": False})
    assert r.status_code == 200
    body = r.json()
    assert set(body) >= {"id", "labels", "scores", "uncertain", "language", "explanation", "handling", "duplicate_of", "model_version"}
    assert set(body["scores"]) == set(LABELS)
    assert body["language"]["code"] == "en"
    assert {"queue", "priority", "actions", "guidance", "reply_template"} <= set(body["handling"])
    assert r.headers["x-request-id"]


def test_api_request_id_is_echoed(client):
    r = client.post("/v1/classify", json={"text": "hello"}, headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"


def test_api_batch_keeps_order_and_reports_bad_items(client):
    r = client.post("/v1/classify/batch", json={"messages": [{"text": "merci"}, {"nope": 1}, {"text": "ログインできません"}, {"text": "   "}]})
    assert r.status_code == 200
    res = r.json()["results"]
    assert [x["index"] for x in res] == [0, 1, 2, 3]
    assert res[0]["result"] and res[2]["result"]["language"]["code"] == "ja"
    assert res[1]["error"]["code"] == "validation_failed" and res[3]["error"]["code"] == "validation_failed"


def test_api_batch_limit(app_factory):
    c = app_factory(max_batch=2)
    r = c.post("/v1/classify/batch", json={"messages": [{"text": "a"}] * 3})
    assert r.status_code == 422 and "limit is 2" in r.json()["error"]["message"]


@pytest.mark.parametrize("kwargs,status,code", [
    ({"content": b"text=hi", "headers": {"content-type": "application/x-www-form-urlencoded"}}, 415, "unsupported_media_type"),
    ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 422, "validation_failed"),
    ({"json": {"text": ""}}, 422, "validation_failed"),
    ({"json": {"txt": "hello"}}, 422, "validation_failed"),
])
def test_api_bad_input_gets_one_error_shape(client, kwargs, status, code):
    r = client.post("/v1/classify", **kwargs)
    assert r.status_code == status
    err = r.json()["error"]
    assert err["code"] == code and err["message"] and err["request_id"]
    assert "Traceback" not in r.text


def test_api_text_length_limit_names_the_limit(app_factory):
    c = app_factory(max_text_chars=100)
    r = c.post("/v1/classify", json={"text": "x" * 101})
    assert r.status_code == 422 and "100" in r.json()["error"]["message"]


def test_api_body_limit(app_factory):
    c = app_factory(max_body_bytes=1000)
    r = c.post("/v1/classify", json={"text": "y" * 2000})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


def test_api_unknown_route_is_404_in_error_shape(client):
    r = client.get("/v1/nothing")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_api_labels_and_model(client):
    labels = client.get("/v1/labels").json()
    assert [x["name"] for x in labels["labels"]] == list(LABELS)
    assert labels["policy"]["rules"]
    model = client.get("/v1/model").json()
    assert set(model["thresholds"]) == set(LABELS) and model["version"] == "test-v1"


def test_api_health_ready_metrics(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    client.post("/v1/classify", json={"text": "the internet is down"})
    text = client.get("/metrics").text
    assert "triage_requests_total" in text and "triage_label_score_bucket" in text and "triage_model_info" in text


def _keyed_client(app_factory, tmp_path):
    from service.settings import Settings
    from service.store.repo import Store

    store = Store(Settings(data_dir=tmp_path).db_url)
    _, classify_key = store.create_key("tenant-a", ["classify"])
    _, admin_key = store.create_key("tenant-a", ["classify", "feedback", "admin"])
    _, other_key = store.create_key("tenant-b", ["classify"])
    store.close()
    return app_factory(), classify_key, admin_key, other_key


def test_api_auth_required_once_keys_exist(app_factory, tmp_path):
    c, key, admin, _ = _keyed_client(app_factory, tmp_path)
    assert c.post("/v1/classify", json={"text": "hi"}).status_code == 401
    assert c.post("/v1/classify", json={"text": "hi"}, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert c.post("/v1/classify", json={"text": "hi"}, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    r = c.post("/v1/admin/reload", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert c.post("/v1/admin/reload", headers={"Authorization": f"Bearer {admin}"}).status_code == 200


def test_api_tenant_comes_from_the_key(app_factory, tmp_path):
    c, key, _, other = _keyed_client(app_factory, tmp_path)
    text = "My invoice INV-2291 shows a charge I never made, please check it."
    first = c.post("/v1/classify", json={"text": text, "customer_id": "cust-1"}, headers={"Authorization": f"Bearer {key}"}).json()
    same_tenant = c.post("/v1/classify", json={"text": text, "customer_id": "cust-1"}, headers={"Authorization": f"Bearer {key}"}).json()
    other_tenant = c.post("/v1/classify", json={"text": text, "customer_id": "cust-1"}, headers={"Authorization": f"Bearer {other}"}).json()
    assert same_tenant["duplicate_of"]["id"] == first["id"]
    assert other_tenant["duplicate_of"] is None


def test_api_rate_limit_gives_429_with_retry_after(app_factory):
    c = app_factory(rate_limit_per_minute=3)
    codes = [c.post("/v1/classify", json={"text": "hello", "store": False}).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[-1] == 429
    r = c.post("/v1/classify", json={"text": "hello"})
    assert int(r.headers["retry-after"]) >= 1 and r.json()["error"]["code"] == "rate_limited"


def test_api_overload_is_shed_with_503_and_retry_after(app_factory):
    """When the queued classification would keep a request waiting longer than TRIAGE_CLASSIFY_MAX_WAIT_MS, it is
    refused at once in the error shape, with Retry-After; the queue here is simulated: 3 calls of ~2 s each waiting."""
    c = app_factory(classify_max_wait_ms=1000)
    batcher = c.app.state.classify_batcher
    assert batcher.max_wait_s == 1.0
    assert c.post("/v1/classify", json={"text": "hello", "store": False}).status_code == 200
    batcher.per_call_s = 2.0
    batcher._queue.extend([None] * 3)
    try:
        r = c.post("/v1/classify", json={"text": "hello", "store": False})
    finally:
        batcher._queue.clear()
    assert r.status_code == 503 and r.json()["error"]["code"] == "overloaded"
    assert int(r.headers["retry-after"]) >= 6 and "retry" in r.json()["error"]["message"]


@pytest.mark.parametrize("language,expected", [("fr", "fr"), ("ja", "ja"), ("pt", "en")])
def test_api_handling_is_localised_with_english_fallback(client, language, expected):
    r = client.post("/v1/classify", json={"text": "the app is broken", "language": language, "store": False}).json()
    assert r["handling"]["language"] == expected if expected in client.get("/v1/labels").json()["policy"]["languages"] else "en"


def test_api_policy_is_validated_at_start_up(tmp_path, models_dir):
    from fastapi.testclient import TestClient

    from service.errors import PolicyError
    from service.main import create_app
    from tests.conftest import make_settings

    bad = tmp_path / "policy.yaml"
    bad.write_text("languages: [en]\npriorities: [low, high]\nrules:\n  - when: [spam]\n    queue: q\n    priority: high\n    guidance: {en: g}\n    reply_template: {en: r}\n")
    with pytest.raises(PolicyError, match="unknown label"), TestClient(create_app(make_settings(models_dir, tmp_path, policy_file=bad))):
        pass


def test_api_public_bind_without_keys_is_refused(tmp_path, models_dir):
    from service.errors import ConfigError
    from service.main import check_exposure
    from tests.conftest import make_settings

    with pytest.raises(ConfigError, match="no API keys"):
        check_exposure(make_settings(models_dir, tmp_path, host="0.0.0.0"))
    check_exposure(make_settings(models_dir, tmp_path, host="0.0.0.0", allow_public_without_keys=True))


def test_api_no_message_text_in_logs(client, caplog):
    secret = "my-very-private-sentence-about-cats"
    with caplog.at_level("INFO", logger="triage"):
        client.post("/v1/classify", json={"text": secret})
    assert secret not in caplog.text


def test_api_feedback_is_idempotent_per_agent_and_feeds_the_review_queue(client):
    msg = client.post("/v1/classify", json={"text": "the invoice shows a fee I do not understand", "customer_id": "c-fb"}).json()
    first = client.post("/v1/feedback", json={"message_id": msg["id"], "labels": ["billing"], "agent_id": "a1"})
    again = client.post("/v1/feedback", json={"message_id": msg["id"], "labels": ["billing", "fault"], "agent_id": "a1"})
    assert first.status_code == 200 and first.json()["created"] is True
    assert again.json() == {"id": first.json()["id"], "created": False}
    assert msg["id"] not in [x["id"] for x in client.get("/v1/review-queue").json()["items"]]  # labelled: it has its answer
    client.post("/v1/feedback", json={"message_id": msg["id"], "labels": ["out_of_scope"], "agent_id": "a2"})
    item = next(x for x in client.get("/v1/review-queue").json()["items"] if x["id"] == msg["id"])
    assert item["reasons"][0] == "agents_disagree" and sorted(map(tuple, item["agent_labels"])) == [("billing", "fault"), ("out_of_scope",)]


@pytest.mark.parametrize("body,status", [({"message_id": "nope", "labels": ["billing"]}, 404), ({"message_id": "x", "labels": ["spam"]}, 422)])
def test_api_feedback_errors(client, body, status):
    assert client.post("/v1/feedback", json=body).status_code == status


def test_api_classify_answer_matches_the_documented_schema(client):
    """The route builds its answer without a second validation pass, so the contract is checked here: every field of
    ClassifyResponse is present with its type, nothing more, for a plain answer and for one naming a duplicate."""
    from service.api.schemas import ClassifyResponse

    text = "You charged my card twice for the March invoice, refund one of them please!!!"
    first = client.post("/v1/classify", json={"text": text, "customer_id": "c-schema"}).json()
    second = client.post("/v1/classify", json={"text": "Hello again: " + text, "customer_id": "c-schema"}).json()
    assert second["duplicate_of"]["id"] == first["id"]
    assert 0.0 < second["duplicate_of"]["probability"] <= 1.0  # the shared test model carries a pair scorer
    for body in (first, second):
        assert ClassifyResponse.model_validate(body).model_dump(mode="json") == body


def test_api_openapi_documents_the_classify_body_and_answer(client):
    """POST /v1/classify parses its body by hand (the hot path skips FastAPI's resolution), so the OpenAPI document
    must still carry the request schema and the answer model for integrators generating clients."""
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/v1/classify"]["post"]
    body = op["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["text"] and {"text", "customer_id", "store", "language"} <= set(body["properties"])
    assert body["additionalProperties"] is False
    assert op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/ClassifyResponse")
    assert "422" in op["responses"] and "401" in op["responses"]


@pytest.mark.parametrize("payload,fragment", [(b"[1, 2]", "body"), (b'{"text": 5}', "text"), (b'{"text": "hi", "store": "maybe"}', "store")])
def test_api_classify_body_errors_name_the_field(client, payload, fragment):
    r = client.post("/v1/classify", content=payload, headers={"content-type": "application/json"})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "validation_failed" and fragment in err["message"] and err["request_id"]
