"""The HTTP layer (FastAPI): schemas, thin routes, dependencies, auth, error mapping, middleware."""
