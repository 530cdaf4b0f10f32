"""The binary form stores keep a report's vulnerabilities in."""

from __future__ import annotations

from pathlib import Path

import msgspec

from imagegate.evidence import decode_vulnerabilities, encode_vulnerabilities
from imagegate.facts import Severity, Vulnerability

SCANS = Path(__file__).parents[2] / "fixtures" / "scans"


def test_vulnerabilities_read_back_as_written_in_order() -> None:
    written = (
        Vulnerability("CVE-2024-45490", "libexpat1", "2.5.0-1", Severity.CRITICAL),
        Vulnerability("CVE-2023-5363", "libssl3", "3.0.11-1~deb12u1", Severity.HIGH, "3.0.11-1"),
        Vulnerability("CVE-0000-0000", "", "", Severity.UNKNOWN, ""),
        *(Vulnerability(f"CVE-{n}", "pkg", "1", severity) for n, severity in enumerate(Severity)),
    )
    assert decode_vulnerabilities(encode_vulnerabilities(written)) == written
    assert decode_vulnerabilities(encode_vulnerabilities(())) == ()


def test_severities_are_kept_as_words_in_arrays() -> None:
    blob = encode_vulnerabilities([Vulnerability("CVE-1", "zlib", "1.3", Severity.MEDIUM, "1.3.1")])
    # Arrays without field names keep large reports small; words keep them stable.
    assert msgspec.msgpack.decode(blob) == [["CVE-1", "zlib", "1.3", "medium", "1.3.1"]]


def test_a_large_report_stays_compact() -> None:
    many = [
        Vulnerability(f"CVE-2024-{n:05d}", f"package-{n % 97}", "1.2.3-4", Severity.HIGH, "1.2.4")
        for n in range(5000)
    ]
    blob = encode_vulnerabilities(many)
    assert len(blob) < 60 * len(many)
    assert decode_vulnerabilities(blob) == tuple(many)
