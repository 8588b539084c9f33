"""One error vocabulary: every error class has the shape (message, *, code), and library errors
become ApplicationError in one place (core.errors.as_application_error)."""

from __future__ import annotations

import pytest
from rest_framework import status

from core.errors import ApplicationError, api_exception_handler, as_application_error
from generator.errors import GeneratorError
from jobs.errors import JobRefusedError
from policy.errors import PolicyError
from provenance.errors import ProvenanceError


@pytest.mark.parametrize(
    "error_type", [ApplicationError, GeneratorError, ProvenanceError, PolicyError, JobRefusedError]
)
def test_every_error_class_takes_the_message_first_and_the_code_by_name(error_type):
    error = error_type("The file is empty.", code="empty_media")
    assert (error.message, error.code, str(error)) == (
        "The file is empty.",
        "empty_media",
        "The file is empty.",
    )
    with pytest.raises(TypeError):
        error_type("The file is empty.", "empty_media")  # the code is keyword-only


@pytest.mark.parametrize("error_type", [GeneratorError, ProvenanceError, PolicyError])
def test_a_library_error_becomes_an_application_error_with_its_code_and_a_400(error_type):
    converted = as_application_error(error_type("No face in the portrait.", code="no_face"))
    assert isinstance(converted, ApplicationError)
    assert (converted.code, converted.message) == ("no_face", "No face in the portrait.")
    assert converted.status_code == status.HTTP_400_BAD_REQUEST


def test_an_application_error_keeps_its_own_status():
    error = ApplicationError("Too many checks.", code="detection_busy", status_code=503)
    assert as_application_error(error) is error
    response = api_exception_handler(error, {})
    assert response.status_code == 503
    assert response.data == {"error": {"code": "detection_busy", "message": "Too many checks."}}


def test_any_other_exception_is_not_an_application_error():
    assert as_application_error(KeyError("code")) is None
