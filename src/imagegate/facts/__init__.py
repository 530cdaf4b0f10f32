"""Facts about images: registry metadata (tags, platforms, labels, provenance) and
evidence CI posts (vulnerability scans, provenance)."""

from imagegate.facts._auth import Credentials
from imagegate.facts._cache import FactsCache
from imagegate.facts._dockerconfig import DockerConfigError, credentials_from_docker_config
from imagegate.facts._evidence_cache import CachedEvidence
from imagegate.facts._evidence_provenance import (
    ProvenanceEvidenceError,
    parse_provenance_evidence,
)
from imagegate.facts._evidence_store import EvidenceStore
from imagegate.facts._model import (
    Evidence,
    ImageFacts,
    Provenance,
    ScanReport,
    ScanRetirement,
    Severity,
    StoredScan,
    Vulnerability,
)
from imagegate.facts._registry_client import RegistryClient
from imagegate.facts._registry_errors import (
    ImageNotFoundError,
    RegistryAuthError,
    RegistryError,
    RegistryProtocolError,
    RegistryUnavailableError,
)
from imagegate.facts._registry_settings import LOOPBACK_REGISTRIES, RegistrySettings
from imagegate.facts._scan_codec import decode_vulnerabilities, encode_vulnerabilities
from imagegate.facts._scan_errors import (
    ScanDigestMismatchError,
    ScanNotFoundError,
    ScanReportError,
    ScanRetiredError,
)
from imagegate.facts._scan_format import ScanFormat
from imagegate.facts._scan_history import (
    MAX_RETIREMENT_REASON,
    counting_scan,
    ranked_scans,
    retirement_reason,
)
from imagegate.facts._scan_parse import CLOCK_SKEW, parse_scan_report, scan_rank

__all__ = [
    "CLOCK_SKEW",
    "LOOPBACK_REGISTRIES",
    "MAX_RETIREMENT_REASON",
    "CachedEvidence",
    "Credentials",
    "DockerConfigError",
    "Evidence",
    "EvidenceStore",
    "FactsCache",
    "ImageFacts",
    "ImageNotFoundError",
    "Provenance",
    "ProvenanceEvidenceError",
    "RegistryAuthError",
    "RegistryClient",
    "RegistryError",
    "RegistryProtocolError",
    "RegistrySettings",
    "RegistryUnavailableError",
    "ScanDigestMismatchError",
    "ScanFormat",
    "ScanNotFoundError",
    "ScanReport",
    "ScanReportError",
    "ScanRetiredError",
    "ScanRetirement",
    "Severity",
    "StoredScan",
    "Vulnerability",
    "counting_scan",
    "credentials_from_docker_config",
    "decode_vulnerabilities",
    "encode_vulnerabilities",
    "parse_provenance_evidence",
    "parse_scan_report",
    "ranked_scans",
    "retirement_reason",
    "scan_rank",
]
