"""Judging manifests offline, with the same engine as admission (shift left).

No cluster, no registry: rules that need registry or evidence facts cannot be
checked offline and are reported as such rather than failing the check.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import msgspec

from imagegate._yaml_files import YamlFileError, load_yaml_documents
from imagegate.admission._decide import AdmissionContext, evaluation_of, target_of
from imagegate.errors import InvalidInputError
from imagegate.policy import CompiledPolicy, Excepted, Mode, Violation, matching
from imagegate.workloads import InvalidObjectError, extract_workload, handles

_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class ManifestError(InvalidInputError):
    """A manifest file that cannot be read or parsed; the message names file and place."""


@dataclass(frozen=True, slots=True)
class ObjectVerdict:
    """What the policies say of one object of a manifest."""

    source: str
    """``file`` and the document's position in it."""
    kind: str
    name: str
    namespace: str
    violations: tuple[Violation, ...] = ()
    excepted: tuple[Excepted, ...] = ()
    skipped: tuple[str, ...] = field(default=())
    """``policy/rule`` that need facts an offline check cannot look up."""

    @property
    def denied(self) -> bool:
        """Whether admission would deny this object."""
        return any(v.mode is Mode.ENFORCE for v in self.violations)


def manifest_objects(path: Path) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(source, object) of every Kubernetes object in a file or directory tree.

    Multi-document YAML and ``kind: List`` are unfolded; empty documents skipped.
    """
    files = (
        sorted(p for p in path.rglob("*") if p.suffix in _MANIFEST_SUFFIXES and p.is_file())
        if path.is_dir()
        else [path]
    )
    for file in files:
        try:
            documents = load_yaml_documents(file, holding="a manifest")
        except YamlFileError as error:
            raise ManifestError(f"{file}: {error}") from None
        for index, document in enumerate(documents, start=1):
            yield from _objects(f"{file}#{index}", document)


def check_objects(
    objects: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    context: AdmissionContext,
    default_namespace: str = "default",
) -> list[ObjectVerdict]:
    """The verdict on every workload object; other kinds are passed over."""
    verdicts = []
    for source, document in objects:
        group, kind = _group_kind(document)
        if not handles(group, kind):
            continue
        metadata = document.get("metadata") or {}
        namespace = str(metadata.get("namespace") or default_namespace)
        name = str(metadata.get("name") or metadata.get("generateName") or "")
        try:
            workload = extract_workload(
                group=group,
                kind=kind,
                raw=msgspec.json.encode(document),
                request_name=name,
                namespace=namespace,
                default_platform=context.default_platform,
            )
        except InvalidObjectError as error:
            raise ManifestError(f"{source}: {kind} {name}: {error}") from None
        target_context = replace(context, policies=_offline_rules(context.policies))
        evaluation = evaluation_of(workload, target_context)
        skipped = tuple(
            f"{policy.name}/{rule.name}"
            for policy in matching(context.policies, target_of(workload, context))
            for rule in policy.rules
            if rule.needs and not rule.mutates
        )
        verdicts.append(
            ObjectVerdict(
                source=source,
                kind=kind,
                name=name,
                namespace=namespace,
                violations=evaluation.violations,
                excepted=evaluation.excepted,
                skipped=skipped,
            )
        )
    return verdicts


def _offline_rules(policies: tuple[CompiledPolicy, ...]) -> tuple[CompiledPolicy, ...]:
    # Rules that need registry or evidence facts cannot be judged here.
    return tuple(
        replace(policy, rules=tuple(rule for rule in policy.rules if not rule.needs))
        for policy in policies
    )


def _objects(source: str, document: object) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if document is None:
        return
    if not isinstance(document, dict):
        kind = type(document).__name__
        raise ManifestError(f"{source}: a manifest document is a mapping, not {kind}")
    if document.get("kind") == "List" or str(document.get("kind", "")).endswith("List"):
        for index, item in enumerate(document.get("items") or []):
            yield from _objects(f"{source} items[{index}]", item)
        return
    yield source, document


def _group_kind(document: Mapping[str, Any]) -> tuple[str, str]:
    api_version = str(document.get("apiVersion", ""))
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    return group, str(document.get("kind", ""))
