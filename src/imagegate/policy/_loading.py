"""Loading policy documents from files, and keeping the last good set while they change.

A directory is read the way a ConfigMap mount presents it: every ``*.yaml`` /
``*.yml`` file (symlinks followed, dot-files skipped), each possibly holding
several YAML documents.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec
import structlog

from imagegate._decoding_errors import locate
from imagegate._yaml_files import YamlFileError, load_yaml_documents
from imagegate.errors import InvalidInputError
from imagegate.policy import _documents as doc
from imagegate.policy._model import Mode
from imagegate.policy._patterns import PatternError, Patterns
from imagegate.policy._policy import CompiledException, CompiledPolicy
from imagegate.policy.rules import CompiledRule, DigestPinned, RuleConfigError, compile_rule

log = structlog.get_logger("imagegate.policy")

BASELINE_NAME = "default"
"""Name of the built-in policy; documents may not use it."""
_NAME = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?")


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """What is wrong with one policy document: where and why."""

    file: str
    document: int
    """1-based position of the document in its file."""
    path: str
    """Field at fault, e.g. ``spec.rules[1].patterns``; empty for the whole document."""
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}: document {self.document}"
        return f"{where}: {self.path}: {self.reason}" if self.path else f"{where}: {self.reason}"


class PolicyLoadError(InvalidInputError):
    """Policy documents that cannot be loaded; ``problems`` lists every one."""

    def __init__(self, problems: Sequence[PolicyProblem]) -> None:
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = tuple(problems)


def baseline_policy(require_digest: Mode) -> CompiledPolicy | None:
    """The built-in policy ``default``: images pinned by digest (unless ``off``)."""
    if require_digest is Mode.OFF:
        return None
    return CompiledPolicy(
        name=BASELINE_NAME, mode=require_digest, rules=(compile_rule(DigestPinned()),)
    )


def load_policies(path: Path) -> tuple[CompiledPolicy, ...]:
    """Every policy in the file or directory ``path``; PolicyLoadError lists all problems."""
    files = _policy_files(path)
    policies: list[CompiledPolicy] = []
    problems: list[PolicyProblem] = []
    for file in files:
        loaded, found = load_file(file)
        policies.extend(loaded)
        problems.extend(found)
    seen: dict[str, str] = {}
    for policy in policies:
        if policy.name in seen:
            problems.append(
                PolicyProblem(
                    policy.source,
                    policy.document,
                    "metadata.name",
                    f"policy {policy.name!r} is also defined in {seen[policy.name]}",
                )
            )
        seen[policy.name] = f"{policy.source} (document {policy.document})"
    if problems:
        raise PolicyLoadError(problems)
    return tuple(policies)


def load_file(file: Path) -> tuple[list[CompiledPolicy], list[PolicyProblem]]:
    """The policies of one file, and the problems of its other documents."""
    name = str(file)
    try:
        documents = load_yaml_documents(file, holding="a policy")
    except YamlFileError as error:
        return [], [PolicyProblem(name, 1, "", str(error))]
    policies: list[CompiledPolicy] = []
    problems: list[PolicyProblem] = []
    for index, document in enumerate(documents, start=1):
        if document is None:
            continue  # an empty document between "---" separators
        try:
            policies.append(compile_document(document, source=name, document_number=index))
        except _DocumentError as error:
            problems.append(PolicyProblem(name, index, error.path, error.reason))
        except (RecursionError, OverflowError, ValueError, TypeError) as error:
            # What no check above foresaw must still be a problem with a place, never an
            # exception that ends the policy watch.
            reason = "is nested too deeply" if isinstance(error, RecursionError) else str(error)
            problems.append(PolicyProblem(name, index, "", f"cannot be compiled: {reason}"))
    return policies, problems


def compile_document(document: object, *, source: str, document_number: int = 1) -> CompiledPolicy:
    """Validate one decoded YAML document and compile it."""
    if not isinstance(document, dict):
        raise _DocumentError("", f"a policy is a mapping, not {type(document).__name__}")
    if document.get("apiVersion") != doc.API_VERSION or document.get("kind") != doc.KIND:
        raise _DocumentError(
            "",
            f"expected apiVersion {doc.API_VERSION} and kind {doc.KIND}, got "
            f"{document.get('apiVersion')!r} and {document.get('kind')!r}",
        )
    try:
        policy = msgspec.convert(document, doc.DeploymentPolicy)
    except msgspec.ValidationError as error:
        message, field, _ = locate(error)
        raise _DocumentError(field or "", message) from None
    if not _NAME.fullmatch(policy.metadata.name):
        raise _DocumentError(
            "metadata.name", "must be lower-case letters, digits, '-' or '.' (a DNS name)"
        )
    if policy.metadata.name == BASELINE_NAME:
        raise _DocumentError(
            "metadata.name", f"{BASELINE_NAME!r} is the built-in policy (--require-digest)"
        )
    spec = policy.spec
    rules = _compile_rules(spec)
    exceptions = _compile_exceptions(spec)
    try:
        namespaces = Patterns.compile(spec.match.namespaces)
    except PatternError as error:
        raise _DocumentError("spec.match.namespaces", str(error)) from None
    return CompiledPolicy(
        name=policy.metadata.name,
        mode=Mode(spec.mode),
        rules=tuple(rules),
        logical_environments=frozenset(spec.match.logical_environments),
        environments=frozenset(spec.match.environments),
        namespaces=namespaces,
        namespace_labels=dict(spec.match.namespace_labels),
        exceptions=tuple(exceptions),
        facts_unavailable=spec.facts_unavailable,
        source=source,
        document=document_number,
    )


def _compile_rules(spec: doc.Spec) -> list[CompiledRule]:
    if not spec.rules:
        raise _DocumentError("spec.rules", "a policy needs at least one rule")
    rules = []
    for index, rule in enumerate(spec.rules):
        try:
            rules.append(compile_rule(rule))
        except RuleConfigError as error:
            path = f"spec.rules[{index}]" + (f".{error.field}" if error.field else "")
            raise _DocumentError(path, str(error)) from None
        except PatternError as error:
            raise _DocumentError(f"spec.rules[{index}]", str(error)) from None
    return rules


def _compile_exceptions(spec: doc.Spec) -> list[CompiledException]:
    exceptions = []
    for index, exception in enumerate(spec.exceptions):
        if not exception.images and not exception.namespaces:
            raise _DocumentError(
                f"spec.exceptions[{index}]", "an exception names images, namespaces or both"
            )
        try:
            exceptions.append(
                CompiledException(
                    reason=exception.reason,
                    images=Patterns.compile(exception.images),
                    namespaces=Patterns.compile(exception.namespaces),
                    expires=exception.expires,
                )
            )
        except PatternError as error:
            raise _DocumentError(f"spec.exceptions[{index}]", str(error)) from None
    return exceptions


class PolicySource:
    """The policies in force: the baseline plus the documents at ``path``, reloaded when
    the files change. A set that fails to load is reported and the last good one stays."""

    def __init__(self, path: Path | None, *, baseline: CompiledPolicy | None) -> None:
        self._path = path
        self._baseline = baseline
        self._documents: tuple[CompiledPolicy, ...] = ()
        self._fingerprint: tuple[tuple[str, int, int, int], ...] | None = None
        self.reloads = 0
        self.failures = 0
        if path is not None:
            self._documents = load_policies(path)  # a bad set at start is fatal
            self._fingerprint = _fingerprint(path)

    @property
    def policies(self) -> tuple[CompiledPolicy, ...]:
        """The policies in force, baseline first."""
        baseline = (self._baseline,) if self._baseline is not None else ()
        return baseline + self._documents

    def reload(self) -> bool:
        """Load the files again if they changed; False if they changed and are invalid."""
        if self._path is None:
            return True
        fingerprint = _fingerprint(self._path)
        if fingerprint == self._fingerprint:
            return True
        self._fingerprint = fingerprint
        try:
            documents = load_policies(self._path)
        except PolicyLoadError as error:
            problems = error.problems
        else:
            self._documents = documents
            self.reloads += 1
            log.info("policies_loaded", policies=[p.name for p in documents])
            return True
        self.failures += 1
        for problem in problems:
            log.error(
                "policy_invalid",
                file=problem.file,
                document=problem.document,
                path=problem.path,
                reason=problem.reason,
            )
        log.warning("policies_kept", policies=[p.name for p in self._documents])
        return False

    async def watch(self, interval_s: float) -> None:
        """Reload on change, every ``interval_s``, until cancelled."""
        while True:
            # File changes give no event to await portably (ConfigMap updates swap symlinks).
            await asyncio.sleep(interval_s)
            self.reload()


class _DocumentError(Exception):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


def _policy_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(
            file
            for file in path.iterdir()
            if file.suffix in (".yaml", ".yml") and not file.name.startswith(".") and file.is_file()
        )
    if path.exists():
        return [path]
    raise PolicyLoadError([PolicyProblem(str(path), 1, "", "no such file or directory")])


def _fingerprint(path: Path) -> tuple[tuple[str, int, int, int], ...]:
    try:
        files: Iterable[Path] = _policy_files(path)
    except PolicyLoadError:
        return ()
    stats = []
    for file in files:
        try:
            stat = file.stat()  # follows the symlinks a ConfigMap mount is made of
        except OSError:
            continue
        # The inode too: a rewrite of the same size within one mtime tick still shows.
        stats.append((str(file), stat.st_ino, stat.st_mtime_ns, stat.st_size))
    return tuple(stats)
