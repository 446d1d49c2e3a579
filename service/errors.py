"""Every error the project raises on purpose, with a stable code.

Hierarchy::

    TriageError                     code "triage_error"
    ├── InputError                  bad input from a caller or a file         -> HTTP 400 / exit 2
    │   ├── ValidationFailed        a field is missing, empty or too long     -> HTTP 422 / exit 2
    │   ├── PayloadTooLarge         the request body is over the limit        -> HTTP 413 / exit 2
    │   ├── UnsupportedMediaType    not JSON where JSON is expected           -> HTTP 415 / exit 2
    │   └── DatasetError            a dataset file breaks the format rules    -> exit 3
    ├── AuthError                   no or unknown API key                     -> HTTP 401 / exit 4
    │   └── ForbiddenError          the key lacks the scope                   -> HTTP 403 / exit 4
    ├── NotFoundError               an id that does not exist                 -> HTTP 404 / exit 5
    ├── RetryLater                  refused for now; carries Retry-After seconds
    │   ├── RateLimited             too many requests for this key            -> HTTP 429
    │   └── Overloaded              the classify queue holds too much work    -> HTTP 503
    ├── ModelError                  no usable model                           -> HTTP 503 / exit 6
    │   └── ArtifactError           metadata invalid or SHA-256 mismatch      -> HTTP 503 / exit 6
    ├── PolicyError                 the handling policy file is invalid       -> exit 7
    ├── StoreError                  the message store cannot be reached       -> HTTP 503 / exit 8
    └── ConfigError                 settings that cannot work together        -> exit 9

The HTTP mapping lives in service/api/errors.py, the exit-code mapping in service/cli/_common.py;
both read ``status``/``exit_code`` from these classes so there is one table.
"""

from __future__ import annotations


class TriageError(Exception):
    code = "triage_error"
    status = 500
    exit_code = 1

    def __init__(self, message: str, *, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InputError(TriageError):
    code = "bad_request"
    status = 400
    exit_code = 2


class ValidationFailed(InputError):
    code = "validation_failed"
    status = 422


class PayloadTooLarge(InputError):
    code = "payload_too_large"
    status = 413


class UnsupportedMediaType(InputError):
    code = "unsupported_media_type"
    status = 415


class DatasetError(InputError):
    code = "dataset_invalid"
    exit_code = 3


class AuthError(TriageError):
    code = "unauthorized"
    status = 401
    exit_code = 4


class ForbiddenError(AuthError):
    code = "forbidden"
    status = 403


class NotFoundError(TriageError):
    code = "not_found"
    status = 404
    exit_code = 5


class RetryLater(TriageError):
    """A refusal the caller may retry after ``retry_after`` seconds (sent as the Retry-After header)."""

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


class RateLimited(RetryLater):
    code = "rate_limited"
    status = 429


class Overloaded(RetryLater):
    """Shed at the door: answering would take longer than the configured wait, so the caller is told to retry."""

    code = "overloaded"
    status = 503


class ModelError(TriageError):
    code = "model_unavailable"
    status = 503
    exit_code = 6


class ArtifactError(ModelError):
    code = "artifact_invalid"


class PolicyError(TriageError):
    code = "policy_invalid"
    exit_code = 7


class StoreError(TriageError):
    code = "store_unavailable"
    status = 503
    exit_code = 8


class ConfigError(TriageError):
    code = "config_invalid"
    exit_code = 9
