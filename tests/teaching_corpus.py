"""Synthetic patients for the teaching-copy tests: one whose identifiers are written every way a person
might write them (the leak corpus), one whose name is made of clinical words (the over-scrub corpus).
Invented names and numbers only."""

import io
import struct
import zlib

from PIL import Image
from PIL.PngImagePlugin import PngInfo

GIVEN, FAMILY, MRN = "Zoë Hằng", "Nguyễn", "TB-0048213"
BIRTH = (1980, 3, 4)
CLINICIAN = "Dr. Ines Varga, Orthopaedics (St Brigid's)"
EMAIL = "i.varga@stbrigid.example.org"
ACCESSION = "ACC-20240311-77"
LISTED_RELATIVE = "Tomas Berg"  # the preparer lists him under "other identifiers"
JP_GIVEN, JP_FAMILY, JP_MRN = "花子", "山田", "JP-7730019"
JP_BIRTH = (1931, 7, 15)  # 95 at referral: must print as 90+

# Each entry: (the form written into the text, the needles that must not survive anywhere in the copy).
LEAKS: list[tuple[str, tuple[str, ...]]] = [
    ("Zoë Hằng Nguyễn", ("nguyen", "zoe", "hang")),
    ("NGUYEN, ZOE", ("nguyen", "zoe")),
    ("Nguye\u0302\u0303n (typed decomposed)", ("nguyen",)),
    ("Ms Nguyen", ("nguyen",)),
    ("Nguyen's knee", ("nguyen",)),
    ("zoe hang nguyen", ("nguyen", "zoe", "hang")),
    ("ＮＧＵＹＥＮ (full width)", ("nguyen",)),
    ("Hằng, without her family name", ("hang",)),
    (f"MRN {MRN}", ("0048213",)),
    ("TB0048213", ("0048213",)),
    ("record 0048213", ("0048213",)),
    ("TB 004 8213", ("0048213", "0048213")),
    ("number 48213 without zeros", ("48213",)),
    ("born 4/3/1980", ("4/3/1980",)),
    ("DOB 04-Mar-1980", ("04-mar-1980", "mar-1980")),
    ("4.3.80", ("4.3.80",)),
    ("1980-03-04", ("1980-03-04",)),
    ("4 March 1980", ("4 march",)),
    ("March 4, 1980", ("march 4",)),
    ("seen 12 May, again on March 4", ("12 may", "march 4")),
    ("biopsy Mar 4, review on the 4th of March", ("mar 4", "4th of march")),
    ("a 95 y.o. woman", ("95 y",)),
    ("19800304", ("19800304",)),
    ("phone +44 20 7946 0958", ("79460958",)),
    ("fax (020) 7946-0959", ("79460959",)),
    ("e-mail zoe.nguyen@example.org", ("example.org", "nguyen")),
    ("lives at 12 Elm Grove Road, Leeds LS1 4AB", ("elm grove", "leeds", "ls14ab")),
    ("moved to Hauptstraße 12, 10115 Berlin", ("hauptstrasse", "10115")),
    ("lives in Springfield with her son", ("springfield",)),
    (f"her husband {LISTED_RELATIVE} (listed)", ("tomas", "berg")),
    ("her mother Mai Tran (not listed)", ("mai tran",)),
    ("NHS number 943 476 5919", ("9434765919",)),
    ("SSN 123-45-6789", ("123456789",)),
    ("National Insurance AB 12 34 56 C", ("ab123456c",)),
    ("portal https://portal.example.org/p/0048213", ("portal.example", "0048213")),
    ("from 192.168.10.24", ("192.168.10.24",)),
    (f"referred by {CLINICIAN.split(',')[0]}", ("varga", "ines")),
    (f"accession {ACCESSION}", ("20240311",)),
    ("implant serial SN-44X99217", ("44x99217",)),
]
JP_LEAKS: list[tuple[str, tuple[str, ...]]] = [
    ("山田花子さん", ("山田", "花子")),
    ("山田 花子", ("山田", "花子")),
    ("ヤマダ様ではなく山田様", ("山田", "ヤマダ")),
    ("佐藤さんの娘のユキちゃん", ("佐藤", "ユキ")),
    ("1931年7月15日生まれ", ("1931年7月15日", "7月15日")),
    ("〒150-0001 東京都渋谷区神宮前1-2-3", ("1500001", "渋谷区")),
    ("a 95-year-old woman, aged 95", ("95",)),
]


def leak_text(leaks=LEAKS) -> str:
    return " · ".join(form for form, _ in leaks) + "."


def needles(leaks=LEAKS) -> set[str]:
    return {needle for _, found in leaks for needle in found}


# Clinical sentences for a patient named Rose Mass (referred by Dr. Hope Young): approved as they are,
# they must print as they are.
ROSE_GIVEN, ROSE_FAMILY = "Rose", "Mass"
ROSE_CLINICIAN = "Dr. Hope Young"
CLINICAL: list[str] = [
    "The mass is 4 cm in size.",
    "Mass effect on the adjacent vastus lateralis.",
    "A soft-tissue mass rose in size over three months.",
    "Mass in the left thigh, unchanged since day 0.",
    "Rose-coloured serous fluid on aspiration.",
    "Grade 2 may progress without treatment.",
    "Calcium 2.61 mmol/L, phosphate 2.10 mmol/L, PTH 410 pg/mL.",
    "ICD-O-3 9180/3; stage IIB; T2 N0 M0.",
    "Grant funding is not needed for the trial.",
    "Young adults tolerate high-dose methotrexate well.",
    "Hope for limb salvage is realistic.",
    "Dose 60 Gy in 30 fractions.",
    "HER2 negative, Ki-67 about 20 percent.",
    "Heart and lung fields are clear.",
    "White cell count 11.2, platelets 250.",
    "Follow-up every 3 months for 2 years, then every 6 months to year 5.",
    "Tumoral calcinosis secondary to end-stage renal disease.",
    "CT of chest, abdomen and pelvis: no metastases.",
    "Bone marrow shows no infiltration.",
    "Loosened screws around the intramedullary nail.",
    "The rose-shaped calcification is lobular.",
    "A grant of compassionate use was obtained in 2019.",
]


# Images whose metadata holds the patient's identifiers ---------------------------------------------


def _pixels(size=(64, 48)) -> Image.Image:
    image = Image.new("RGB", size, (40, 40, 40))
    for x in range(size[0]):
        image.putpixel((x, size[1] // 2), (220, 220, 220))
    return image


def jpeg_with_exif_comment_and_xmp(identity: str) -> bytes:
    exif = Image.Exif()
    exif[0x010E] = f"ImageDescription {identity}"  # ImageDescription
    exif[0x013B] = f"Artist {identity}"  # Artist
    exif[0x9003] = "1980:03:04 10:00:00"  # DateTimeOriginal
    buffer = io.BytesIO()
    _pixels().save(buffer, format="JPEG", exif=exif.tobytes(), comment=f"comment {identity}".encode())
    data = buffer.getvalue()
    xmp = (
        b"http://ns.adobe.com/xap/1.0/\x00"
        + f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>{identity}</dc:creator></x:xmpmeta>'.encode()
    )
    segment = b"\xff\xe1" + struct.pack(">H", len(xmp) + 2) + xmp
    return data[:2] + segment + data[2:]  # right after SOI


def png_with_text_chunks(identity: str) -> bytes:
    info = PngInfo()
    info.add_text("Author", f"tEXt {identity}")
    info.add_itxt("Description", f"iTXt {identity}")
    info.add_text("Comment", f"zTXt {identity}", zip=True)
    buffer = io.BytesIO()
    _pixels().save(buffer, format="PNG", pnginfo=info)
    data = buffer.getvalue()
    # An eXIf chunk too, before IEND.
    exif = Image.Exif()
    exif[0x013B] = f"Artist {identity}"
    body = exif.tobytes()
    chunk = struct.pack(">I", len(body)) + b"eXIf" + body + struct.pack(">I", zlib.crc32(b"eXIf" + body) & 0xFFFFFFFF)
    return data[:-12] + chunk + data[-12:]
