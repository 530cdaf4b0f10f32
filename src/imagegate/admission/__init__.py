"""The admission webhook: AdmissionReview in, decision out, admitted workloads recorded.

The decision (``decide``) is pure; ``AdmissionService`` adds the IO around it and
``add_admission_routes`` the HTTP endpoints.
"""

from imagegate.admission._callers import WebhookCallers, caller_refusal
from imagegate.admission._decide import (
    AdmissionContext,
    ContainerFacts,
    Decision,
    JsonPatch,
    decide,
    deployment_keys,
    evaluation_of,
    pin_patch,
    target_of,
    workload_of,
)
from imagegate.admission._environments import (
    DEFAULT_ENVIRONMENT_LABEL,
    EnvironmentMapping,
    EnvironmentSource,
)
from imagegate.admission._errors import MalformedReviewError
from imagegate.admission._facts import (
    CredentialedRegistry,
    EvidenceLookup,
    FactsGatherer,
    RegistryFacts,
)
from imagegate.admission._http import (
    ADMISSION,
    add_admission_routes,
)
from imagegate.admission._naming import DEFAULT_TEMPLATE, DeploymentNameTemplate, TemplateError
from imagegate.admission._offline import (
    ManifestError,
    ObjectVerdict,
    check_objects,
    manifest_objects,
)
from imagegate.admission._records import (
    RecordTarget,
    Unrecorded,
    decommissioned,
    deployed_records,
    record_keys,
)
from imagegate.admission._review import (
    AdmissionRequest,
    AdmissionReview,
    decode_review,
    encode_response,
)
from imagegate.admission._service import AdmissionService, NamespaceLabels, PolicySet, RecordSink
from imagegate.admission._settings import AdmissionSettings

__all__ = [
    "ADMISSION",
    "DEFAULT_ENVIRONMENT_LABEL",
    "DEFAULT_TEMPLATE",
    "AdmissionContext",
    "AdmissionRequest",
    "AdmissionReview",
    "AdmissionService",
    "AdmissionSettings",
    "ContainerFacts",
    "CredentialedRegistry",
    "Decision",
    "DeploymentNameTemplate",
    "EnvironmentMapping",
    "EnvironmentSource",
    "EvidenceLookup",
    "FactsGatherer",
    "JsonPatch",
    "MalformedReviewError",
    "ManifestError",
    "NamespaceLabels",
    "ObjectVerdict",
    "PolicySet",
    "RecordSink",
    "RecordTarget",
    "RegistryFacts",
    "TemplateError",
    "Unrecorded",
    "WebhookCallers",
    "add_admission_routes",
    "caller_refusal",
    "check_objects",
    "decide",
    "decode_review",
    "decommissioned",
    "deployed_records",
    "deployment_keys",
    "encode_response",
    "evaluation_of",
    "manifest_objects",
    "pin_patch",
    "record_keys",
    "target_of",
    "workload_of",
]
