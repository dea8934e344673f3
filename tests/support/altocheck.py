"""ALTO 4 checked against the rules of its published schema (alto-4-2.xsd).

No registry package ships the XSD and tests may not download it, so the rules this
project's output can touch are written down here from the schema: the namespace, each
element's children in their order with their counts, the attributes each element may
carry, which are required, and their types (xsd:ID unique and an NCName, xsd:float,
WC a float in 0..1, MeasurementUnit one of pixel/mm10/inch1200). `alto_problems`
returns every violation found (empty: valid as far as these rules go).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from lxml import etree

ALTO = "http://www.loc.gov/standards/alto/ns-v4#"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_NCNAME = re.compile(r"^[A-Za-z_][\w.\-]*$")
_FLOAT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

Child = tuple[str, int, int | None]
"""(element name, min occurs, max occurs or None for unbounded), in schema order."""

_BLOCK_ATTRS = frozenset({
    "ID", "HPOS", "VPOS", "WIDTH", "HEIGHT", "ROTATION", "IDNEXT", "CS", "STYLEREFS",
    "TAGREFS", "PROCESSINGREFS", "LANG",
})
_POSITION = ("HPOS", "VPOS", "WIDTH", "HEIGHT")


@dataclass(frozen=True)
class Rule:
    children: tuple[Child, ...] = ()
    """Sequence content; for a choice group see `choice`."""
    choice: frozenset[str] = frozenset()
    """Any number of these, in any order (a repeated xsd:choice)."""
    attributes: frozenset[str] = frozenset()
    required: tuple[str, ...] = ()
    floats: tuple[str, ...] = ()
    text: bool = False


RULES: dict[str, Rule] = {
    "alto": Rule(children=(("Description", 0, 1), ("Styles", 0, 1), ("Tags", 0, 1),
                           ("Layout", 1, 1)),
                 attributes=frozenset({"SCHEMAVERSION"})),
    "Description": Rule(children=(("MeasurementUnit", 1, 1), ("sourceImageInformation", 0, 1),
                                  ("OCRProcessing", 0, None), ("Processing", 0, None))),
    "MeasurementUnit": Rule(text=True),
    "sourceImageInformation": Rule(children=(("fileName", 0, 1), ("fileIdentifier", 0, None),
                                             ("documentIdentifier", 0, None))),
    "fileName": Rule(text=True),
    "Processing": Rule(children=(("processingDateTime", 0, 1), ("processingAgency", 0, 1),
                                 ("processingStepDescription", 0, None),
                                 ("processingStepSettings", 0, 1),
                                 ("processingSoftware", 0, 1)),
                       attributes=frozenset({"ID"}), required=("ID",)),
    "processingSoftware": Rule(children=(("softwareCreator", 0, 1), ("softwareName", 0, 1),
                                         ("softwareVersion", 0, 1),
                                         ("applicationDescription", 0, 1))),
    "softwareName": Rule(text=True),
    "softwareVersion": Rule(text=True),
    "Layout": Rule(children=(("Page", 1, None),), attributes=frozenset({"STYLEREFS"})),
    "Page": Rule(
        children=(("TopMargin", 0, 1), ("LeftMargin", 0, 1), ("RightMargin", 0, 1),
                  ("BottomMargin", 0, 1), ("PrintSpace", 0, 1)),
        attributes=frozenset({"ID", "PAGECLASS", "STYLEREFS", "PROCESSINGREFS", "HEIGHT",
                              "WIDTH", "PHYSICAL_IMG_NR", "PRINTED_IMG_NR", "QUALITY",
                              "QUALITY_DETAIL", "POSITION", "PROCESSING", "ACCURACY", "PC"}),
        required=("ID", "PHYSICAL_IMG_NR"), floats=("HEIGHT", "WIDTH", "PHYSICAL_IMG_NR")),
    "PrintSpace": Rule(
        choice=frozenset({"TextBlock", "Illustration", "GraphicalElement", "ComposedBlock"}),
        attributes=frozenset({"ID", "STYLEREFS", "PROCESSINGREFS", *_POSITION, "PC"}),
        required=_POSITION, floats=_POSITION),
    "TextBlock": Rule(children=(("Shape", 0, 1), ("TextLine", 0, None)),
                      attributes=_BLOCK_ATTRS, required=_POSITION, floats=_POSITION),
    "Illustration": Rule(children=(("Shape", 0, 1),),
                         attributes=_BLOCK_ATTRS | {"TYPE", "FILEID"},
                         required=_POSITION, floats=_POSITION),
    "TextLine": Rule(
        attributes=frozenset({"ID", "STYLEREFS", "TAGREFS", "PROCESSINGREFS", *_POSITION,
                              "BASELINE", "LANG", "CS"}),
        required=("WIDTH", "HEIGHT", "HPOS", "VPOS"), floats=_POSITION),
    "String": Rule(
        attributes=frozenset({"ID", "STYLEREFS", "TAGREFS", "PROCESSINGREFS", *_POSITION,
                              "STYLE", "SUBS_TYPE", "SUBS_CONTENT", "WC", "CC", "CS", "LANG",
                              "CONTENT"}),
        required=("CONTENT",), floats=(*_POSITION, "WC")),
    "SP": Rule(attributes=frozenset({"ID", "HPOS", "VPOS", "WIDTH"}),
               floats=("HPOS", "VPOS", "WIDTH")),
    "HYP": Rule(attributes=frozenset({"HPOS", "VPOS", "WIDTH", "CONTENT"}),
                required=("CONTENT",)),
}


def _local(node: etree._Element) -> str | None:
    qname = etree.QName(node)
    return qname.localname if qname.namespace == ALTO else None


def _sequence(names: list[str], rule: tuple[Child, ...]) -> str | None:
    """None if `names` match the sequence `rule`, else what is wrong."""
    position = 0
    for name, low, high in rule:
        count = 0
        while position < len(names) and names[position] == name:
            position += 1
            count += 1
        if count < low or (high is not None and count > high):
            return f"{name} occurs {count} times (allowed {low}..{high or 'unbounded'})"
    if position < len(names):
        return f"{names[position]} not allowed here (after {names[:position][-1:]})"
    return None


def _text_line(names: list[str]) -> str | None:
    """TextLine: Shape?, (String, (SP | HYP)?)+ with HYP only last."""
    rest = names[1:] if names[:1] == ["Shape"] else names
    if not rest or rest[0] != "String":
        return "a TextLine needs a String first"
    for before, after in pairwise(rest):
        if before in ("SP", "HYP") and after != "String":
            return f"{before} followed by {after}"
        if before == "HYP":
            return "HYP only at the end of a line"
    return None


def alto_problems(data: bytes) -> list[str]:
    problems: list[str] = []
    root = etree.fromstring(data)
    if root.tag != f"{{{ALTO}}}alto":
        return [f"root is {root.tag}, not ALTO 4's alto"]
    seen_ids: set[str] = set()
    for node in root.iter(etree.Element):
        name = _local(node)
        where = f"{name} (line {node.sourceline})"
        if name is None:
            problems.append(f"{node.tag} outside the ALTO namespace")
            continue
        rule = RULES.get(name)
        if rule is None:
            problems.append(f"{where}: element this check does not know")
            continue
        names = [str(_local(child)) for child in node if isinstance(child.tag, str)]
        if name == "TextLine":
            wrong = _text_line(names)
        elif rule.choice:
            extra = [n for n in names if n not in rule.choice]
            wrong = f"{extra[0]} not allowed" if extra else None
        else:
            wrong = _sequence(names, rule.children)
        if wrong:
            problems.append(f"{where}: {wrong}")
        if (node.text or "").strip() and not rule.text:
            problems.append(f"{where}: text content not allowed")
        attributes = {k: v for k, v in node.attrib.items() if not k.startswith(f"{{{XSI}}}")}
        for key in attributes:
            if key not in rule.attributes:
                problems.append(f"{where}: attribute {key} not allowed")
        for key in rule.required:
            if key not in attributes:
                problems.append(f"{where}: required attribute {key} missing")
        for key in rule.floats:
            if key in attributes and not _FLOAT.match(attributes[key]):
                problems.append(f"{where}: {key}={attributes[key]!r} is not an xsd:float")
        if "WC" in attributes and _FLOAT.match(attributes["WC"]) and not (
            0 <= float(attributes["WC"]) <= 1
        ):
            problems.append(f"{where}: WC={attributes['WC']} outside 0..1")
        if "ID" in attributes:
            ident = attributes["ID"]
            if not _NCNAME.match(ident):
                problems.append(f"{where}: ID {ident!r} is not an NCName")
            if ident in seen_ids:
                problems.append(f"{where}: ID {ident!r} used twice")
            seen_ids.add(ident)
        if name == "MeasurementUnit" and node.text not in ("pixel", "mm10", "inch1200"):
            problems.append(f"{where}: MeasurementUnit {node.text!r}")
    return problems
