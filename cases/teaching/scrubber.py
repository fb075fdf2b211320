"""What identifies a patient in free text, and the text with it replaced.

Two kinds of evidence (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)):
- what the system knows about this patient: every part of their names and of the referring
  clinician's, names the preparer adds (relatives, other scripts), the record number with or without
  its prefix and separators, the birth date in compact forms. Matched after Unicode folding (NFKC,
  case-folded, accents stripped), so "NGUYEN", "Nguyễn" typed decomposed and "Nguyen's" all match;
  a name in a script without spaces (CJK) is matched without word boundaries.
- patterns for the identifiers that turn up in clinical text: dates (all but a lone year), ages over
  89, phone and fax numbers, e-mail, URLs, IP addresses, national and health-service numbers, record,
  account and device numbers, postal addresses and codes, names after a title or a kinship word,
  places after "lives in", "works at".

A name part that is also an ordinary (or clinical) word, such as "Mass", "Rose" or "Grant", is
matched only where it stands as a name: capitalised, and beside another name part, after a title, or
inside a sentence (where an ordinary word would be written in lower case: "call Brown on…").

This is the preview's suggestion and the approval's safety net, not a guarantee: a person reviews
every text that goes into a teaching copy. No Django here.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

LABELS = {
    "name": "[name]",
    "record": "[record number]",
    "date": "[date]",
    "age": "[age 90+]",
    "phone": "[phone]",
    "email": "[e-mail]",
    "url": "[URL]",
    "ip": "[IP address]",
    "id": "[ID number]",
    "address": "[address]",
    "postcode": "[postcode]",
    "place": "[place]",
    "other": "[identifier]",
}

LABEL_PATTERN = re.compile("|".join(re.escape(label) for label in LABELS.values()))

# Words that are also names: as a name part they are matched only where they stand as a name.
ORDINARY_WORDS = frozenset(
    """
    mass rose grant bone hand head heart foot lung cell node lobe core gray grey white black brown green
    young long short small little hill wood woods stone field fields marsh bath cross case frank mark bill
    will may june april august hope joy faith grace patience rich dean hunt page price rush sage swift wise
    strong sharp best love bliss lamb fox wolf bird bell chance cook baker king mason moon park pierce reed
    summer summers wall ward wells west north south east dale glen heath holly ivy iris lily daisy dawn eve
    amber ruby pearl crystal sky river rivers rock clay cliff sandy penny major minor chase drew gene pat
    sue rob don jack nick ray guy sterling noble hardy moody bright golden gold silver banks bush burns cole
    cotton crane dove drake finch hart hawk jay knight lord miles mills moss nash nurse oak pink pope power
    pride read rice salmon sands shepherd snow spring stark steel street sweet tanner thorn tower vale wade
    walker waters webb wing winter worth wren doctor child early late new north lee lane low bass bishop
    cash church dunn fair fisher hale hall hood hope house keen lake land lowe mann marsh moore mund
    """.split()  # noqa: SIM905 (a list of 200 quoted words would be harder to read)
)
TITLES = (
    r"mr|mrs|ms|miss|mx|dr|doctor|prof|professor|sir|dame|madam|mme|mlle|herr|frau|sr|sra|srta|"
    r"senor|senora|sig|sigra|mevr|dhr"
)
TITLE_BEFORE = re.compile(rf"(?:^|[^\w])(?:{TITLES}|patient|pt)\.?\s*$", re.IGNORECASE)
HONORIFIC_AFTER = re.compile(r"^\s*(?:さん|様|さま|氏|君|くん|ちゃん|先生|殿)")
# Where a capitalised word starts a sentence, a heading or a list item, and so says nothing of being a name.
SENTENCE_START = re.compile(r"(?:^|[.!?:;•\n\r(\[\"“‘'-])\s*$")
NAME_JOIN = re.compile(r"^(?:\s+|\s*,\s*|\s*[-‐]\s*|\s+(?:[^\W\d_]\.?\s+)+|\s*・\s*)$")
CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\u1100-\u11ff\uf900-\ufaff\u0e00-\u0e7f]")

MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|janv(?:ier)?|f[ée]v(?:rier)?|mars|avr(?:il)?|mai|juin|"
    r"juil(?:let)?|ao[uû]t|d[ée]c(?:embre)?|januar|februar|m[äa]rz|juni|juli|oktober|dezember|enero|febrero|"
    r"marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre"
)
# Months that are also words ("grade 2 may progress") count as a date without a year only when capitalised.
WORD_MONTHS = {"mar(?:ch)?", "may", "mars", "mai"}
SAFE_MONTHS = "|".join(m for m in MONTHS.split("|") if m not in WORD_MONTHS)
CAPITAL_MONTHS = r"Mar(?:ch)?|May|Mars|Mai|MAR(?:CH)?|MAY|MARS|MAI"
KIN = (
    r"mother|mum|mom|father|dad|husband|wife|spouse|partner|son|daughter|brother|sister|sibling|aunt|uncle|"
    r"niece|nephew|cousin|grandmother|grandfather|grandson|granddaughter|grandchild|fianc[ée]e?|girlfriend|"
    r"boyfriend|guardian|carer|caregiver|next of kin|emergency contact|contact person|neighbou?r|friend|"
    r"child|children|parents?|stepmother|stepfather|mother-in-law|father-in-law"
)
PLACE_TRIGGER = (
    r"lives|living|lived|resides|residing|resident|moved|relocated|born|works|working|worked|employed|"
    r"employer|attends|school|address|home"
)
CAPITAL_WORD = re.compile(r"[^\W\d_][\w'’.-]*")
STOP_WORDS = frozenset(re.findall(r"\w+", "the a an and or of in at on for with to from is was has had who which that"))

# (kind, pattern), in order of precedence: an earlier kind wins where two overlap.
PATTERNS: list[tuple[str, re.Pattern]] = [
    ("email", re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)),
    ("url", re.compile(r"\b(?:https?|ftp)://[^\s<>\"]+|\bwww\.[^\s<>\"]+", re.IGNORECASE)),
    ("ip", re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]|\.\d)")),
    ("ip", re.compile(r"(?<![\w:])(?:[0-9a-f]{1,4}:){3,7}[0-9a-f]{1,4}(?![\w:])|[0-9a-f]{0,4}::[0-9a-f:]{2,}", re.I)),
    ("id", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),  # US social security number
    ("id", re.compile(r"\b[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b")),  # UK National Insurance
    ("date", re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?[\s.,/-]*(?:of\s+)?(?:{MONTHS})\b\.?[\s.,/-]*\d{{2,4}}\b", re.I)),
    ("date", re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?[\s.,/-]*(?:of\s+)?(?:{SAFE_MONTHS})\b", re.I)),
    ("date", re.compile(rf"\b(?:{MONTHS})\b\.?[\s.,/-]*\d{{1,2}}(?:st|nd|rd|th)?\b[\s,.-]*\d{{2,4}}\b", re.I)),
    ("date", re.compile(rf"\b(?:{SAFE_MONTHS})\b\.?[\s.,/-]*\d{{1,2}}(?:st|nd|rd|th)?\b", re.I)),
    # Only a space, slash or hyphen between: "ECOG 1. May benefit" is a sentence break, not 1 May.
    ("date", re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?(?:\s+|[/-])(?:of\s+)?(?:{CAPITAL_MONTHS})\b")),
    ("date", re.compile(rf"\b(?:{CAPITAL_MONTHS})\b\.?(?:\s+|[/-])\d{{1,2}}(?:st|nd|rd|th)?\b")),
    ("date", re.compile(rf"\b(?:{MONTHS})\b\.?[\s,/-]*\d{{4}}\b", re.I)),
    ("date", re.compile(r"\b\d{4}[./-]\d{1,2}[./-]\d{1,2}\b|\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b")),
    ("date", re.compile(r"\b\d{1,2}[./-]\d{4}\b")),
    ("date", re.compile(r"\d{2,4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?|\d{1,2}\s*月\s*\d{1,2}\s*日")),
    (
        "age",
        re.compile(
            r"\b(?:9\d|1[0-4]\d)\s*-?\s*(?:(?:-?years?-old|year old|years?|yrs?|y/?o)\b|y\.\s?o\.)"
            r"|\b(?:aged?|age:)\s*(?:9\d|1[0-4]\d)\b",
            re.I,
        ),
    ),
    ("postcode", re.compile(r"〒\s?\d{3}-?\d{4}")),
    # Whatever stands right before a Japanese honorific is a name (or a role: over-scrubbing that is harmless).
    # 様 is also the "-like" of reports (すりガラス様陰影, 骨肉腫様の, 肉腫様成分): there a kanji or の follows it.
    (
        "name",
        re.compile(
            r"[\u30a0-\u30ff\u4e00-\u9fff々・]{1,12}"
            r"(?=\s?(?:さん|さま|氏|君|くん|ちゃん|先生|殿)|\s?様(?![\u4e00-\u9fffの]))"
        ),
    ),
    (
        "record",
        re.compile(
            r"(?:\b(?:mrn|medical record|record|hospital|patient|nhs|chi|ssn|social security|insurance|policy|"
            r"member|beneficiary|health plan|medicare|medicaid|account|acct|licen[cs]e|certificate|passport|"
            r"device|serial|implant|lot|batch|udi|plate|vin|registration|accession|ident\w*|id)"
            r"\s*(?:no\.?|number|num|nr\.?|code)?\s*[:#]?\s*)"
            r"(?P<value>(?=[\w/-]*\d)[A-Z0-9][\w/-]{3,}(?:\s\d{3,}){0,3})",
            re.I,
        ),
    ),
    ("id", re.compile(r"\b[A-Za-z]{1,6}[-/]?\d{4,}[A-Za-z0-9/-]*\b")),
    ("phone", re.compile(r"(?<![\w.,])(?:\+|00)?\(?\d{1,4}\)?(?:[\s.-]?\(?\d{2,5}\)?){2,5}(?![\w]|[.,]\d)")),
    (
        "address",
        re.compile(
            r"\b\d{1,5}[a-z]?,?\s+(?:[A-Z][\w'’.-]*\s+){1,4}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|"
            r"Boulevard|Blvd|Way|Court|Ct|Place|Pl|Terrace|Close|Crescent|Gardens|Square|Sq|Parade|Row|Mews|"
            r"Highway|Hwy)\b\.?"
        ),
    ),
    (
        "address",
        re.compile(
            r"\b[\w'’-]*(?:stra(?:ß|ss)e|str\.|weg|gasse|platz|allee|laan|straat|gatan|v[äa]gen|veien)\s+\d{1,5}[a-z]?\b",
            re.I,
        ),
    ),
    (
        "address",
        re.compile(r"\b(?:rue|avenue|boulevard|via|calle|avenida|rua|piazza|plaza)\s+(?:[\w'’-]+\s+){0,4}\d{1,5}\b"),
    ),
    ("address", re.compile(r"\b(?:p\.?\s?o\.?\s?box|apt|apartment|flat|suite|unit)\.?\s*#?\s*\d+[a-z]?\b", re.I)),
    (
        "address",
        re.compile(
            r"(?:東京都|北海道|(?:京都|大阪)府|[\u4e00-\u9fff]{2,3}県)[\u4e00-\u9fff\u3040-\u30ff0-9０-９ー−-]+"
        ),
    ),
    ("postcode", re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b")),  # UK
    ("postcode", re.compile(r"\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b|\b\d{5}-\d{4}\b")),  # US state and ZIP
    ("postcode", re.compile(r"\b\d{5}\s+[A-Z][a-zäöüßéèàç]+")),  # 10115 Berlin
    ("postcode", re.compile(r"\b(?:zip|post\s?code|postal code|plz)\s*[:#]?\s*[A-Z0-9][A-Z0-9 -]{2,8}\b", re.I)),
]
KIN_TRIGGER = re.compile(rf"\b(?:{KIN})\b[\s,:(]*(?:(?:is|was|named|called)\s+)?", re.I)
# Case-sensitive: "Miss Lind" is a name, "did not miss Christmas" is not.
TITLE_TRIGGER = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Doctor|Prof|Professor|Sir|Dame|Madam|Mme|Mlle|Herr|Frau|Sr|Sra|Srta|MR|MRS|MS|DR)"
    r"\b\.?\s+"
)
PLACE = re.compile(rf"\b(?:{PLACE_TRIGGER})\s+(?:(?:in|at|of|to|by|for|near)\s+)(?:the\s+)?", re.I)


@dataclass(frozen=True)
class Known:
    """Everything the system knows that identifies one patient."""

    names: tuple[str, ...] = ()  # the patient's names, the referring clinician's, names the preparer adds
    record_numbers: tuple[str, ...] = ()
    birth_date: date | None = None
    phrases: tuple[str, ...] = ()  # anything else the preparer lists, matched as typed (folded)


@dataclass(frozen=True)
class Finding:
    start: int
    end: int
    kind: str

    @property
    def label(self) -> str:
        return LABELS[self.kind]


@dataclass
class _Folded:
    text: str
    index: list[int] = field(default_factory=list)  # folded position -> original position


def fold_char(char: str) -> str:
    folded = unicodedata.normalize("NFKC", char).casefold()
    return "".join(c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c))


def fold(text: str) -> str:
    return "".join(fold_char(c) for c in text)


def _folded(text: str) -> _Folded:
    out, index = [], []
    for position, char in enumerate(text):
        for c in fold_char(char):
            out.append(c)
            index.append(position)
    return _Folded("".join(out), index)


def _original_span(text: str, folded: _Folded, start: int, end: int) -> tuple[int, int]:
    begin, finish = folded.index[start], folded.index[end - 1] + 1
    while finish < len(text) and unicodedata.combining(text[finish]):
        finish += 1  # a decomposed accent belongs to the letter before it
    return begin, finish


def _bounded(pattern: str, part: str) -> str:
    if CJK.search(part):
        return pattern
    return rf"(?<![^\W_]){pattern}(?![^\W_])"


def _name_parts(names) -> dict[str, bool]:
    """Folded name part -> whether it is ambiguous (an ordinary word, or too short to stand alone)."""
    parts: dict[str, bool] = {}
    for name in names:
        folded = fold(name)
        pieces = [p for p in re.split(r"[\s\-‐,.・'’]+", folded) if p]
        whole_cjk = "".join(pieces) if pieces and all(CJK.search(p) for p in pieces) else ""
        for piece in [*pieces, whole_cjk]:
            if not piece or (len(piece) == 1 and not CJK.search(piece)) or re.fullmatch(TITLES, piece):
                continue
            short = len(piece) <= (1 if CJK.search(piece) else 2)
            parts[piece] = parts.get(piece, True) and (short or piece in ORDINARY_WORDS)
    return parts


def _name_candidates(text: str, folded: _Folded, known: Known) -> list[tuple[int, int, bool]]:
    found = []
    for part, ambiguous in _name_parts(known.names).items():
        for match in re.finditer(_bounded(re.escape(part), part), folded.text):
            start, end = _original_span(text, folded, match.start(), match.end())
            found.append((start, end, ambiguous))
    return sorted(found)


def _confirmed_names(text: str, candidates) -> list[Finding]:
    """Unambiguous parts always; an ambiguous one where it stands as a name (capitalised, beside another
    part or after a title, or before a Japanese honorific)."""
    kept = []
    for n, (start, end, ambiguous) in enumerate(candidates):
        if ambiguous:
            if not CJK.search(text[start:end]) and not text[start].isupper():
                continue
            neighbours = [c for i, c in enumerate(candidates) if i != n and _adjacent(text, (start, end), c)]
            titled = TITLE_BEFORE.search(text[:start]) or HONORIFIC_AFTER.match(text[end:])
            inside = not CJK.search(text[start:end]) and not SENTENCE_START.search(text[:start])
            named = any(not c[2] or text[c[0]].isupper() or CJK.search(text[c[0]]) for c in neighbours)
            if not titled and not inside and not named:
                continue
        kept.append(Finding(start, end, "name"))
    return kept


def _adjacent(text: str, a: tuple[int, int], b: tuple) -> bool:
    first, second = (a, b) if a[0] <= b[0] else (b, a)
    if second[0] < first[1]:
        return False
    return bool(NAME_JOIN.match(text[first[1] : second[0]])) or (
        bool(CJK.search(text[first[0] : first[1]])) and second[0] == first[1]
    )


def _record_patterns(known: Known) -> list[str]:
    patterns = []
    for number in known.record_numbers:
        chars = re.sub(r"[\W_]", "", fold(number))
        if len(chars) < 3:
            continue
        prefix = re.match(r"[^\W\d_]*", chars).group()
        core = chars[len(prefix) :] or chars
        variants = {core, core.lstrip("0")} if len(core.lstrip("0")) >= 4 else {core}
        sep = r"[\s./\-‐]*"
        for variant in variants:
            body = sep.join(re.escape(c) for c in variant)
            lead = sep.join(re.escape(c) for c in prefix)
            patterns.append(rf"(?<![0-9a-z])(?:{lead}{sep})?{body}(?![0-9a-z])" if prefix else body)
    return patterns


def _birth_date_patterns(known: Known) -> list[str]:
    born = known.birth_date
    if born is None:
        return []
    forms = {born.strftime(f) for f in ("%Y%m%d", "%d%m%Y", "%m%d%Y", "%d%m%y", "%m%d%y", "%y%m%d")}
    return [rf"(?<!\d){form}(?!\d)" for form in forms]


def _known_findings(text: str, folded: _Folded, known: Known) -> list[Finding]:
    found = _confirmed_names(text, _name_candidates(text, folded, known))
    searches = [("record", p) for p in _record_patterns(known)] + [("date", p) for p in _birth_date_patterns(known)]
    searches += [("other", _bounded(re.escape(fold(p).strip()), fold(p))) for p in known.phrases if fold(p).strip()]
    for kind, pattern in searches:
        for match in re.finditer(pattern, folded.text):
            found.append(Finding(*_original_span(text, folded, match.start(), match.end()), kind))
    return found


def _words_after(text: str, position: int, *, limit: int = 3) -> int:
    """The end of up to `limit` capitalised words from `position` (position itself if there is none)."""
    end, cursor = position, position
    for _ in range(limit):
        match = CAPITAL_WORD.match(text, cursor)
        if not match or not match.group()[0].isupper() or match.group().lower() in STOP_WORDS:
            break
        end = match.end()
        while end > match.start() and text[end - 1] in ".'’-":
            end -= 1
        gap = re.match(r"[ \t]+", text[match.end() :])
        if not gap:
            break
        cursor = match.end() + gap.end()
    return end


def _pattern_findings(text: str) -> list[Finding]:
    found = []
    for kind, pattern in PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span("value") if "value" in pattern.groupindex else match.span()
            value = text[start:end].rstrip(".,;:)")
            if kind == "phone" and not 8 <= sum(c.isdigit() for c in value) <= 15:
                continue
            end = start + len(value)
            if kind == "address":  # the town after the street: "12 Elm Road, Leeds"
                after = end + len(re.match(r",?[ \t]*", text[end:]).group())
                end = max(end, _words_after(text, after, limit=3)) if _words_after(text, after) > after else end
            found.append(Finding(start, max(end, start + len(value)), kind))
    for trigger, kind in ((KIN_TRIGGER, "name"), (TITLE_TRIGGER, "name"), (PLACE, "place")):
        for match in trigger.finditer(text):
            end = _words_after(text, match.end(), limit=4 if kind == "place" else 3)
            if end > match.end():
                found.append(Finding(match.end(), end, kind))
    return found


def _joined(text: str, end: int, start: int) -> bool:
    return start == end or bool(NAME_JOIN.match(text[end:start]))


def findings(text: str, known: Known) -> list[Finding]:
    """Every identifier found in `text`, as non-overlapping spans in order (adjacent name parts joined)."""
    if not text:
        return []
    folded = _folded(text)
    # The labels of an earlier scrub are not identifiers: scrubbing twice changes nothing.
    placed = [match.span() for match in LABEL_PATTERN.finditer(text)]
    found = [
        span
        for span in _known_findings(text, folded, known) + _pattern_findings(text)
        if not any(start < span.end and span.start < end for start, end in placed)
    ]
    spans = sorted(found, key=lambda f: (f.start, -f.end))
    merged: list[Finding] = []
    for span in spans:
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = Finding(last.start, max(last.end, span.end), last.kind)
        elif merged and span.kind == merged[-1].kind == "name" and _joined(text, merged[-1].end, span.start):
            merged[-1] = Finding(merged[-1].start, span.end, "name")
        else:
            merged.append(span)
    return merged


def scrub(text: str, known: Known) -> str:
    """`text` with each identifier replaced by its label, e.g. "[name]", "[date]"."""
    out, cursor = [], 0
    for finding in findings(text, known):
        out.append(text[cursor : finding.start])
        out.append(finding.label)
        cursor = finding.end
    out.append(text[cursor:])
    return "".join(out)


def clinician_name(text: str) -> str:
    """The name in a free-text referrer such as "Dr. Ines Varga, Orthopaedics (St Mary's)": before the first
    comma, bracket or slash, so the department's words are not taken for a name."""
    return re.split(r"[,;(/\n]", text or "", maxsplit=1)[0].strip()


def is_clean(text: str, known: Known) -> bool:
    return not findings(text, known)
