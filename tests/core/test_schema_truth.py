"""The OpenAPI schema says what the API answers (issue 17 item 5); the live fuzz is
tests/fuzz/run_schemathesis.py in .ci/run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def component(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return schema["components"]["schemas"][name]


def refs(prop: dict[str, Any]) -> list[str]:
    return [x["$ref"].rsplit("/", 1)[1] for x in prop.get("oneOf", prop.get("allOf", []))]


def test_a_blank_attack_vector_is_in_the_read_schema(schema: dict[str, Any]) -> None:
    assert "BlankEnum" in refs(component(schema, "Incident")["properties"]["attack_vector"])


def test_no_commander_and_undecided_obligations_are_nullable(schema: dict[str, Any]) -> None:
    assert component(schema, "Incident")["properties"]["commander"].get("nullable") is True
    assert component(schema, "Obligation")["properties"]["decided_by"].get("nullable") is True


def test_the_verification_answer_is_documented_wrapped(schema: dict[str, Any]) -> None:
    for method in ("get", "post"):
        operation = schema["paths"]["/api/record/verification/"][method]
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        wrapper = component(schema, ref.rsplit("/", 1)[1])
        assert set(wrapper["properties"]) == {"latest"}
        assert wrapper["properties"]["latest"].get("nullable") is True


def test_created_answers_are_documented_as_201(schema: dict[str, Any]) -> None:
    assert "201" in schema["paths"]["/api/me/telegram-link/"]["post"]["responses"]
    put = schema["paths"]["/api/me/subscriptions/{reference}/"]["put"]["responses"]
    assert {"200", "201"} <= set(put)


def test_every_operation_documents_its_common_errors(schema: dict[str, Any]) -> None:
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "403", "503"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if "requestBody" in operation:
                assert "400" in codes, (method, path)
    transition = schema["paths"]["/api/incidents/{reference}/transitions/{name}/"]["post"]
    assert {"409", "412"} <= set(transition["responses"])
    assert "detail" in component(schema, "Error")["required"]


@pytest.mark.django_db
def test_a_nul_in_search_is_a_400_with_detail(api: Callable[[str], APIClient]) -> None:
    response = api("legal").get("/api/incidents/", {"search": "a\x00b"})
    assert response.status_code == 400
    body = response.json()
    assert isinstance(body, dict) and body["detail"] and "search" in body
