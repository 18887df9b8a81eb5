"""Safe XML reading shared by the autoconfig and Autodiscover readers: size-limited input, no
DTDs, no entities, no external references (defusedxml), and namespace-blind element lookup."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from mailaudit.errors import MailauditError

# Real documents are a few kilobytes; 128 KiB is generous and bounds what a hostile server can
# make us parse.
MAX_DOCUMENT_BYTES = 131_072


class ConfigError(MailauditError, ValueError):
    """The document is not a usable config or response; the message says why."""


def parse_document(data: bytes) -> ET.Element:
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ConfigError(f"document larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        root: ET.Element = SafeET.fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise ConfigError(f"refused unsafe XML: {type(exc).__name__}") from None
    except ET.ParseError as exc:
        raise ConfigError(f"not well-formed XML: {exc}") from None
    return root


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def child(element: ET.Element, name: str) -> ET.Element | None:
    for item in element:
        if local_name(item.tag) == name:
            return item
    return None


def children(element: ET.Element, name: str) -> list[ET.Element]:
    return [item for item in element if local_name(item.tag) == name]


def child_text(element: ET.Element, name: str) -> str | None:
    item = child(element, name)
    if item is None or item.text is None:
        return None
    return item.text.strip() or None
