"""Provenance from a BuildKit SLSA attestation: an in-toto statement.

BuildKit (``docker buildx build --provenance=…``) writes SLSA provenance v0.2 by
default and v1 with ``--provenance=version=v1``. What is read, in order of trust:

- builder id: v0.2 ``predicate.builder.id``, v1 ``predicate.runDetails.builder.id``
  (the build's URL, e.g. a GitHub Actions run, when the builder knows one);
- source repository and commit: ``configSource`` (v0.2 ``predicate.invocation``, v1
  ``predicate.buildDefinition.externalParameters``) ``uri`` and ``digest.sha1``, which
  BuildKit fills and checks itself for builds from a Git context; otherwise the
  ``vcs`` metadata ``source`` and ``revision`` (v0.2
  ``predicate.metadata["https://mobyproject.org/buildkit@v1#metadata"]``, v1
  ``predicate.runDetails.metadata.buildkit_metadata``), which buildx sends for
  builds from a local checkout and BuildKit records unverified.

``resolvedDependencies`` (v1) and ``materials`` (v0.2) are not read: they list every
input (base images, Git repositories added with ``ADD``) and do not say which one is
the source. A repository URL is given without ``#ref`` fragment, ``git+`` prefix or
``.git`` suffix, e.g. ``https://github.com/acme/web``.
"""

from __future__ import annotations

import msgspec

from imagegate.facts import Provenance
from imagegate.registry._errors import RegistryProtocolError

SLSA_PROVENANCE_V02 = "https://slsa.dev/provenance/v0.2"
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
PROVENANCE_PREDICATE_TYPES = (SLSA_PROVENANCE_V1, SLSA_PROVENANCE_V02)
"""Predicate types read, in order of preference."""

_BUILDKIT_METADATA_V02 = "https://mobyproject.org/buildkit@v1#metadata"


class _Builder(msgspec.Struct):
    id: str | None = None


class _ConfigSource(msgspec.Struct):
    uri: str | None = None
    digest: dict[str, str] | None = None


class _Vcs(msgspec.Struct):
    source: str | None = None
    revision: str | None = None


class _BuildKitMetadata(msgspec.Struct):
    vcs: _Vcs | None = None


class _InvocationV02(msgspec.Struct, rename="camel"):
    config_source: _ConfigSource | None = None


class _MetadataV02(msgspec.Struct):
    buildkit: _BuildKitMetadata | None = msgspec.field(default=None, name=_BUILDKIT_METADATA_V02)


class _PredicateV02(msgspec.Struct):
    builder: _Builder | None = None
    invocation: _InvocationV02 | None = None
    metadata: _MetadataV02 | None = None


class _ExternalParametersV1(msgspec.Struct, rename="camel"):
    config_source: _ConfigSource | None = None


class _BuildDefinitionV1(msgspec.Struct, rename="camel"):
    external_parameters: _ExternalParametersV1 | None = None


class _RunMetadataV1(msgspec.Struct):
    buildkit_metadata: _BuildKitMetadata | None = None


class _RunDetailsV1(msgspec.Struct):
    builder: _Builder | None = None
    metadata: _RunMetadataV1 | None = None


class _PredicateV1(msgspec.Struct, rename="camel"):
    build_definition: _BuildDefinitionV1 | None = None
    run_details: _RunDetailsV1 | None = None


class _Statement(msgspec.Struct, rename={"predicate_type": "predicateType"}):
    predicate_type: str
    predicate: msgspec.Raw


def provenance_from_statement(content: bytes) -> Provenance:
    """Builder, source repository and commit of an in-toto SLSA provenance statement.

    Raises RegistryProtocolError when ``content`` is not such a statement.
    """
    try:
        statement = msgspec.json.decode(content, type=_Statement)
        if statement.predicate_type == SLSA_PROVENANCE_V02:
            return _from_v02(msgspec.json.decode(statement.predicate, type=_PredicateV02))
        if statement.predicate_type == SLSA_PROVENANCE_V1:
            return _from_v1(msgspec.json.decode(statement.predicate, type=_PredicateV1))
    except msgspec.DecodeError as e:
        raise RegistryProtocolError(f"unreadable provenance statement: {e}") from e
    raise RegistryProtocolError(f"not SLSA provenance: predicate type {statement.predicate_type!r}")


def _from_v02(predicate: _PredicateV02) -> Provenance:
    builder = predicate.builder.id if predicate.builder else None
    config = predicate.invocation.config_source if predicate.invocation else None
    metadata = predicate.metadata.buildkit if predicate.metadata else None
    return _provenance(builder, config, metadata.vcs if metadata else None)


def _from_v1(predicate: _PredicateV1) -> Provenance:
    run = predicate.run_details
    builder = run.builder.id if run and run.builder else None
    definition = predicate.build_definition
    parameters = definition.external_parameters if definition else None
    config = parameters.config_source if parameters else None
    metadata = run.metadata.buildkit_metadata if run and run.metadata else None
    return _provenance(builder, config, metadata.vcs if metadata else None)


def _provenance(builder: str | None, config: _ConfigSource | None, vcs: _Vcs | None) -> Provenance:
    repository = commit = None
    if config is not None and config.uri:
        # Checked by BuildKit itself, so preferred over the client-supplied vcs hint.
        repository = config.uri
        commit = (config.digest or {}).get("sha1") or (config.digest or {}).get("gitCommit")
    elif vcs is not None:
        repository, commit = vcs.source, vcs.revision
    return Provenance(
        builder_id=builder or None,
        source_repository=normalised_repository_url(repository) if repository else None,
        commit=commit or None,
    )


def normalised_repository_url(url: str) -> str:
    """``git+https://github.com/acme/web.git#refs/heads/main`` → ``https://github.com/acme/web``."""
    text = url.strip().removeprefix("git+").partition("#")[0]
    return text.removesuffix("/").removesuffix(".git")
