"""A compact, stable binary form of a report's vulnerabilities, for stores to keep.

MessagePack arrays, not objects: a report of thousands of findings would otherwise
repeat every field name thousands of times. Severities are kept as words, so that
renumbering ``Severity`` can never change what a stored report says.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from imagegate.facts import Severity, Vulnerability


class _Stored(msgspec.Struct, array_like=True):
    id: str
    package: str
    version: str
    severity: str
    fixed_in: str | None = None


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(list[_Stored])


def encode_vulnerabilities(vulnerabilities: Sequence[Vulnerability]) -> bytes:
    """``vulnerabilities`` as bytes that ``decode_vulnerabilities`` reads back."""
    return _ENCODER.encode(
        [
            _Stored(
                id=found.id,
                package=found.package,
                version=found.version,
                severity=found.severity.word,
                fixed_in=found.fixed_in,
            )
            for found in vulnerabilities
        ]
    )


def decode_vulnerabilities(blob: bytes) -> tuple[Vulnerability, ...]:
    """The vulnerabilities ``encode_vulnerabilities`` wrote, in their order."""
    return tuple(
        Vulnerability(
            id=stored.id,
            package=stored.package,
            version=stored.version,
            severity=Severity.parse(stored.severity),
            fixed_in=stored.fixed_in,
        )
        for stored in _DECODER.decode(blob)
    )
