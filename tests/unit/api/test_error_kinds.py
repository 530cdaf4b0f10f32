"""One error tree: every error imagegate raises on purpose is one of five kinds, and
each front door maps the kinds in one place (HTTP status, CLI exit code)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from http import HTTPStatus

import msgspec
import pytest

import imagegate
from imagegate.api import response_for
from imagegate.cli import exit_code_of
from imagegate.cli._backend import CliError
from imagegate.errors import (
    ConflictError,
    FailedError,
    ImagegateError,
    InternalError,
    InvalidInputError,
    NotFoundError,
    RefusedError,
    UnavailableError,
)
from imagegate.evidence import ScanNotFoundError
from imagegate.registry import RegistryError
from imagegate.tracking import (
    EnvironmentExistsError,
    InvalidReferenceError,
    StoreError,
    StoreUnavailableError,
)

# Not errors to report: control flow (a command whose findings are its output, a watch
# that must list again), and a private error a loader turns into a reported problem.
NOT_REPORTED = {
    "imagegate.cli._backend.CommandFailed",
    "imagegate.kube._list_watch._RelistNeededError",
    "imagegate.policy._loading._DocumentError",
}


def imagegate_exceptions() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(imagegate.__path__, "imagegate."):
        if module_info.name.endswith("__main__"):
            continue  # running it is running the CLI
        module = importlib.import_module(module_info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__.startswith("imagegate."):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return [value for name, value in sorted(found.items()) if name not in NOT_REPORTED]


def test_every_error_of_imagegate_is_in_the_tree() -> None:
    exceptions = imagegate_exceptions()
    assert len(exceptions) > 40
    outside = [e.__qualname__ for e in exceptions if not issubclass(e, ImagegateError)]
    assert outside == []


def test_every_error_is_of_exactly_one_side() -> None:
    for error in imagegate_exceptions():
        if error in (ImagegateError, RegistryError) or issubclass(error, CliError):
            # The root; a package's base, whose every subclass picks its kind; the
            # CLI's own errors, which carry their exit code.
            continue
        sides = [side for side in (RefusedError, FailedError) if issubclass(error, side)]
        assert len(sides) == 1, f"{error.__qualname__} is {sides}"


@pytest.mark.parametrize(
    ("error", "status", "exit_code"),
    [
        (InvalidReferenceError("x", "no"), HTTPStatus.UNPROCESSABLE_ENTITY, 1),
        (ScanNotFoundError("sha256:" + "a" * 64, 7), HTTPStatus.NOT_FOUND, 1),
        (EnvironmentExistsError("prod"), HTTPStatus.CONFLICT, 1),
        (StoreUnavailableError("down"), HTTPStatus.SERVICE_UNAVAILABLE, 3),
        (StoreError("broken"), HTTPStatus.INTERNAL_SERVER_ERROR, 3),
        (InvalidInputError("bad"), HTTPStatus.UNPROCESSABLE_ENTITY, 1),
        (NotFoundError("gone"), HTTPStatus.NOT_FOUND, 1),
        (ConflictError("taken"), HTTPStatus.CONFLICT, 1),
        (UnavailableError("later"), HTTPStatus.SERVICE_UNAVAILABLE, 3),
        (InternalError("bug"), HTTPStatus.INTERNAL_SERVER_ERROR, 3),
    ],
)
def test_each_kind_has_one_status_and_one_exit_code(
    error: ImagegateError, status: HTTPStatus, exit_code: int
) -> None:
    response = response_for(error)
    assert response is not None
    assert response.status == status
    assert exit_code_of(error) == exit_code


def test_a_failure_tells_the_client_no_internals() -> None:
    response = response_for(StoreError("PostgreSQL store db:5432 failed: password=hunter2"))
    assert response is not None
    assert isinstance(response.body, bytes)
    body = msgspec.json.decode(response.body)
    assert body == {"error": {"code": "store_error", "message": "the record store failed"}}


def test_an_error_moved_to_another_field_is_a_copy() -> None:
    raised = InvalidReferenceError("x", "no", field="reference")
    located = raised.at("image.url")
    assert (located.field, raised.field) == ("image.url", "reference")
    assert type(located) is InvalidReferenceError
    assert located.message == raised.message


def test_a_foreign_exception_is_a_bug_not_a_response() -> None:
    assert response_for(KeyError("x")) is None
