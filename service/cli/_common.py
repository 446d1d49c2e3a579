"""Shared CLI plumbing: the console, and the one place where errors become exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

import typer
from rich.console import Console

from service.errors import TriageError

console = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable)


def exit_code_for(exc: BaseException) -> int:
    if isinstance(exc, TriageError):
        return exc.exit_code
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, PermissionError)):
        return 2
    return 1


def handle_errors(func: F) -> F:
    """Turn expected errors into a one-line message and a non-zero exit; no tracebacks for users."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except (TriageError, OSError) as exc:
            code = getattr(exc, "code", type(exc).__name__)
            console.print(f"[red]error[/red] ({code}): {getattr(exc, 'message', None) or exc}")
            raise typer.Exit(exit_code_for(exc)) from None
        except KeyboardInterrupt:
            console.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def stdout_write(text: str) -> None:
    sys.stdout.write(text)
