"""The teaching copy identifies no one: the leak corpus, the over-scrub corpus, images, every surface of the PDF."""

import io
import re
from datetime import date, datetime, timedelta

import pikepdf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cases import models as m
from cases.printing.teaching import render_teaching_set
from cases.services import coding, imaging
from cases.services import teaching as t
from cases.teaching import fields as teaching_fields
from cases.teaching.scrubber import fold, scrub
from tests import factories as f
from tests import teaching_corpus as corpus
from tests.conftest import pdf_pages_text


@pytest.fixture
def reviewer(chair):
    m.BoardMembership.objects.filter(user=chair).update(reviews_teaching=True)
    chair.__dict__.pop("_tb_memberships", None)
    return chair


def fill_every_text(case, text: str, *, users) -> None:
    """Every free-text field of the case and its records holds `text` (cut to the field's length)."""
    radiologist, pathologist, chair = users
    case.referring_clinician = (
        corpus.CLINICIAN if case.patient.family_name == corpus.FAMILY else case.referring_clinician
    )
    for name in ("clinical_question", "history", "key_labs", "no_pathology_reason"):
        setattr(case, name, text)
    case.save()
    case.patient.comorbidities = text
    case.patient.save()
    study = f.ImagingStudyFactory(case=case, radiologist=radiologist, body_site=text[:200], findings=text,
                                  impression=text, accession_number=corpus.ACCESSION,
                                  performed_on=timezone.localdate() + timedelta(days=3))  # fmt: skip
    # A legacy "ICD-O-3" value that never parsed as a code: free text nobody reviewed, flagged.
    first = f.PathologyReportFactory(case=case, pathologist=pathologist, specimen=text[:300], procedure=text[:300],
                                     diagnosis=text, collected_on=timezone.localdate() + timedelta(days=5),
                                     icdo3_code=LEGACY_ICDO3, icdo3_needs_review=True, morphology="9180/3",
                                     topography="C40.2", laterality="left")  # fmt: skip
    f.PathologyReportFactory(case=case, pathologist=pathologist, specimen=text[:300], procedure=text[:300],
                             diagnosis=text + " Amended.", status="amended", supersedes=first,
                             amendment_reason=text, discrepancy="major")  # fmt: skip
    f.OpinionFactory(case=case, author=radiologist, assessment=text, recommendation=text)
    decision = f.DecisionFactory(case=case, recorded_by=chair, consensus_diagnosis=text, rationale=text,
                                 dissent=text, plan=[{"category": "surveillance", "detail": text}])  # fmt: skip
    m.FollowUp.objects.create(case=case, decision=decision, kind="action", category="surveillance",
                              description=text[:500], due_on=timezone.localdate() + timedelta(days=40))  # fmt: skip
    code(case, text, by=chair)
    return study


# The coded data every leak-corpus case carries: codes that must print, free text beside them that must not.
LEGACY_ICDO3 = "Nguyen 0048213"
CODED = {
    "primary": {"icd10_code": "C40.22", "topography": "C40.2", "morphology": "9180/3", "laterality": "left"},
    "comorbidity": "N18.6",
    "stagings": [
        {"kind": "clinical", "t": "T2", "n": "N0", "m": "M0", "stage_group": "IIB", "edition": "ajcc-8"},
        {"kind": "pathological", "after_therapy": True, "t": "T1", "n": "N0", "m": "M0", "stage_group": "IIA",
         "edition": "ajcc-8"},
    ],
}  # fmt: skip


def code(case, text: str, *, by) -> None:
    """The case's coded diagnoses and TNM staging, each with `text` in its free-text words or note."""
    coding.diagnosis_set_primary(case=case, by=by, **CODED["primary"], text=text[:500])
    coding.comorbidity_add(case=case, by=by, icd10_code=CODED["comorbidity"], text=text[:500])
    for day, staging in enumerate(CODED["stagings"], start=10):
        coding.staging_record(case=case, by=by, **staging, note=text,
                              staged_on=timezone.localdate() + timedelta(days=day))  # fmt: skip


def upload(name: str, data: bytes, content_type: str):
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture
def leak_set(board, coordinator, radiologist, pathologist, chair, reviewer):
    identity = f"{corpus.GIVEN} {corpus.FAMILY} {corpus.MRN} 04/03/1980"
    patient = f.PatientFactory(given_name=corpus.GIVEN, family_name=corpus.FAMILY, mrn=corpus.MRN,
                               birth_date=date(*corpus.BIRTH), registered_board=board)  # fmt: skip
    case = f.CaseFactory(board=board, patient=patient, created_by=coordinator, referring_email=corpus.EMAIL)
    study = fill_every_text(case, corpus.leak_text(), users=(radiologist, pathologist, chair))
    images = [
        imaging.key_image_add(study=study, by=radiologist, caption=corpus.leak_text()[:300],
                              upload=upload(f"{corpus.FAMILY}.jpg", corpus.jpeg_with_exif_comment_and_xmp(identity),
                                            "image/jpeg")),
        imaging.key_image_add(study=study, by=radiologist, caption=corpus.leak_text()[:300],
                              upload=upload(f"{corpus.MRN}.png", corpus.png_with_text_chunks(identity), "image/png")),
    ]  # fmt: skip
    # One stored before re-encoding at upload existed: its file still holds everything.
    raw = upload("legacy.jpg", corpus.jpeg_with_exif_comment_and_xmp(identity), "image/jpeg")
    images.append(m.KeyImage.objects.create(study=study, image=raw, caption="Legacy", order=3))
    assert b"0048213" in images[-1].image.open("rb").read()
    jp_patient = f.PatientFactory(given_name=corpus.JP_GIVEN, family_name=corpus.JP_FAMILY, mrn=corpus.JP_MRN,
                                  birth_date=date(*corpus.JP_BIRTH), registered_board=board, sex="female")  # fmt: skip
    jp_case = f.CaseFactory(board=board, patient=jp_patient, created_by=coordinator, referring_clinician="Dr. 佐藤")
    fill_every_text(jp_case, corpus.leak_text(corpus.JP_LEAKS), users=(radiologist, pathologist, chair))
    cases = [case, jp_case]
    rows = teaching_fields.case_rows(m.Case.objects.filter(pk__in=[c.pk for c in cases]))
    every_field = [field.key for row in rows for field in teaching_fields.fields_of(row)]
    teaching_set = t.teaching_set_create(
        by=radiologist, cases=cases, include=every_field, other_identifiers={case.pk: corpus.LISTED_RELATIVE}
    )
    for image in images:
        teaching_set = t.teaching_image_include(teaching_set=teaching_set, by=radiologist, key_image=image,
                                                no_burned_in_identifiers=True)  # fmt: skip
    teaching_set = t.teaching_set_approve(teaching_set=teaching_set, by=reviewer, expected_version=teaching_set.version)
    return teaching_set, every_field, images


def squeezed(text: str) -> str:
    return re.sub(r"[\W_]+", "", fold(text))


def leaks_in(text: str, needles, *, squeeze: bool = True) -> list[str]:
    """Needles found in `text`. With `squeeze`, a number also matches with its separators gone ("4.3.80" as
    "4380"), as laid-out text splits them; never over a PDF's raw bytes, whose thousands of coordinates, with
    every separator gone, hold any short run of digits by chance (it failed once in a few hundred runs)."""
    folded, flat = re.sub(r"\s+", " ", fold(text)), squeezed(text) if squeeze else ""
    found = []
    for needle in needles:
        needle = fold(needle)
        if len(needle) < 5:
            if re.search(rf"(?<![0-9a-z]){re.escape(needle)}(?![0-9a-z])", folded):
                found.append(needle)
        elif needle in folded or (
            squeeze and squeezed(needle) and squeezed(needle) in flat and not squeezed(needle).isalpha()
        ):
            found.append(needle)
    return found


NEEDLES = corpus.needles() | corpus.needles(corpus.JP_LEAKS) | {"zoe", "nguyen", "0048213", "7730019"}


def pdf_surfaces(content: bytes) -> dict[str, str]:
    """Every place of a PDF where text can hide besides the pages."""
    surfaces = {}
    with pikepdf.open(io.BytesIO(content)) as pdf:
        surfaces["metadata"] = " ".join(str(v) for v in pdf.docinfo.values())
        surfaces["xmp"] = str(pdf.open_metadata())
        with pdf.open_outline() as outline:
            titles, stack = [], list(outline.root)
            while stack:
                item = stack.pop()
                titles.append(item.title)
                stack.extend(item.children)
        surfaces["bookmarks"] = " | ".join(titles)
        names = []
        if "/Names" in pdf.Root and "/Dests" in pdf.Root.Names:
            names = list(pikepdf.NameTree(pdf.Root.Names.Dests).keys())
        if "/Dests" in pdf.Root:
            names += [str(k) for k in pdf.Root.Dests]
        surfaces["named destinations"] = " ".join(names)
        out = io.BytesIO()
        pdf.save(out, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.generalized)
        surfaces["raw bytes"] = out.getvalue().decode("latin-1")
    return surfaces


def image_streams(content: bytes) -> list[tuple[str, bytes]]:
    streams = []
    with pikepdf.open(io.BytesIO(content)) as pdf:
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Image":
                streams.append((str(obj.get("/Filter")), obj.read_raw_bytes()))
    return streams


# The leak corpus ------------------------------------------------------------------------------------


def test_the_leak_corpus_is_large_enough_to_mean_something():
    assert len(corpus.LEAKS) + len(corpus.JP_LEAKS) >= 30
    assert len(corpus.CLINICAL) >= 20


def test_the_scrubber_removes_every_form_of_the_leak_corpus():
    known = teaching_fields.Known(
        names=(corpus.GIVEN, corpus.FAMILY, "Ines Varga", corpus.LISTED_RELATIVE),
        record_numbers=(corpus.MRN, corpus.ACCESSION),
        birth_date=date(*corpus.BIRTH),
    )
    left = {form: leaks_in(scrub(form, known), found) for form, found in corpus.LEAKS}
    assert {form: found for form, found in left.items() if found} == {}
    jp = teaching_fields.Known(names=(corpus.JP_GIVEN, corpus.JP_FAMILY), record_numbers=(corpus.JP_MRN,))
    left = {form: leaks_in(scrub(form, jp), found) for form, found in corpus.JP_LEAKS}
    assert {form: found for form, found in left.items() if found} == {}


def test_the_approved_copy_of_the_leak_corpus_identifies_no_one_on_any_surface(leak_set):
    teaching_set, every_field, _ = leak_set
    assert len(every_field) >= 30  # every free-text field was included
    pdf = render_teaching_set(user=teaching_set.prepared_by, teaching_set_id=teaching_set.pk)
    pages = pdf_pages_text(pdf.content)
    surfaces = {"pages": "\n".join(pages), "file name": pdf.filename, **pdf_surfaces(pdf.content)}
    found = {name: leaks_in(text, NEEDLES, squeeze=name != "raw bytes") for name, text in surfaces.items()}
    assert {name: hits for name, hits in found.items() if hits} == {}
    # Nor any internal number: case ids, database ids, initials, the record number's tail.
    case_ids = [c.case_id for c in teaching_set.cases.all()]
    for name, text in surfaces.items():
        if name != "raw bytes":
            assert not re.search(rf"\b(?:case[ -]?)({'|'.join(map(str, case_ids))})\b", text, re.I), name
    assert "ZN" not in surfaces["pages"] and "213" not in surfaces["pages"]
    assert pdf.filename == f"teaching-{teaching_set.board.name.lower().replace(' ', '-')}.pdf"


def test_the_copy_prints_the_coded_diagnoses_and_the_tnm_stage_never_the_free_text_beside_them(leak_set):
    teaching_set, _, _ = leak_set
    pages = pdf_pages_text(render_teaching_set(user=teaching_set.prepared_by, teaching_set_id=teaching_set.pk).content)
    text = re.sub(r"\s+", " ", "\n".join(pages))
    for coded in (
        "ICD-10-CM C40.22 Malignant neoplasm of long bones of left lower limb",
        "ICD-O-3 topography C40.2",
        "ICD-O-3 morphology 9180/3, behaviour: malignant, primary site",
        "Laterality Left",
        "N18.6 End stage renal disease",
        "Clinical stage IIB",
        "cT2 cN0 cM0, stage IIB, AJCC 8th edition",
        "ypT1 ypN0 ypM0, stage IIA, AJCC 8th edition",
    ):
        assert text.casefold().count(coded.casefold()) >= 2, coded  # in both cases (table headings print in capitals)
    assert "day +10" in text and "day +11" in text  # when each staging was recorded, as days from the referral
    # The legacy free-text ICD-O-3 value was never reviewed: it is not a code and stays out.
    assert LEGACY_ICDO3 not in text and "0048213" not in text
    # "Stage" is the TNM stage group, not where the case stands in the board's workflow.
    workflow = {c.case.get_stage_display() for c in teaching_set.cases.select_related("case")}
    assert not any(re.search(rf"\bStage {label}\b", text, re.I) for label in workflow)


def test_a_meeting_set_names_the_meeting_by_its_board_and_year_only(board, coordinator, radiologist, chair, reviewer):
    starts = timezone.make_aware(datetime(2026, 3, 17, 14, 30))  # a Tuesday
    meeting = f.MeetingFactory(board=board, created_by=coordinator, starts_at=starts, status="held")
    cases = [f.CaseFactory(board=board, created_by=coordinator) for _ in range(2)]
    for position, case in enumerate(cases, start=1):
        m.AgendaItem.objects.create(meeting=meeting, case=case, position=position)
        f.DecisionFactory(case=case, meeting=meeting, recorded_by=chair)
    teaching_set = t.teaching_set_create(by=radiologist, cases=cases, meeting=meeting)
    t.teaching_set_approve(teaching_set=teaching_set, by=reviewer, expected_version=teaching_set.version)
    pdf = render_teaching_set(user=radiologist, teaching_set_id=teaching_set.pk)
    named = f"{board.name}, 2026"
    pages = pdf_pages_text(pdf.content)
    with pikepdf.open(io.BytesIO(pdf.content)) as opened:
        title, xmp = str(opened.docinfo["/Title"]), str(opened.open_metadata())
        # The creation date is when the copy was printed, not the meeting: the docinfo else, in full.
        metadata = " ".join(f"{key} {value}" for key, value in opened.docinfo.items() if key != "/CreationDate")
    assert title == f"Teaching set — {named}"
    assert pdf.filename == f"teaching-{board.name.lower().replace(' ', '-')}-2026.pdf"
    assert all(f"Teaching set · {named}" in page for page in pages)
    surfaces = {"metadata": metadata, "xmp": xmp, "file name": pdf.filename, "pages": "\n".join(pages)}
    meeting_day = re.compile(
        r"\b(?:March|Mar|Tuesday|Tue)\b|2026-03-17|17[./-]0?3|0?3[./-]17|\b17 Mar|\b14[:.]30\b", re.I
    )
    assert {name: meeting_day.findall(text) for name, text in surfaces.items() if meeting_day.search(text)} == {}


def test_the_bookmarks_are_the_teaching_codes_and_there_are_no_named_destinations(leak_set):
    teaching_set, _, _ = leak_set
    pdf = render_teaching_set(user=teaching_set.prepared_by, teaching_set_id=teaching_set.pk)
    surfaces = pdf_surfaces(pdf.content)
    codes = [c.code for c in teaching_set.cases.all()]
    assert sorted(surfaces["bookmarks"].split(" | ")) == sorted(codes)
    assert surfaces["named destinations"] == ""


def test_every_page_says_it_is_a_teaching_copy_and_not_confidential_patient_information(leak_set):
    teaching_set, _, _ = leak_set
    pages = pdf_pages_text(render_teaching_set(user=teaching_set.prepared_by, teaching_set_id=teaching_set.pk).content)
    assert len(pages) >= 2
    for page in pages:
        assert "DE-IDENTIFIED TEACHING COPY: not for clinical use" in page
        assert "Confidential" not in page


def test_ages_are_bands_with_90_plus_and_dates_are_days_from_the_referral(leak_set):
    teaching_set, _, _ = leak_set
    text = "\n".join(
        pdf_pages_text(render_teaching_set(user=teaching_set.prepared_by, teaching_set_id=teaching_set.pk).content)
    )
    today = timezone.localdate()
    age = today.year - corpus.BIRTH[0] - ((today.month, today.day) < corpus.BIRTH[1:])
    low = age - age % 5
    assert f"{low}–{low + 4} years" in text and "90+ years" in text
    assert "day +3" in text and "day +5" in text and "day +40" in text
    assert not re.search(
        r"\b20\d\d-\d\d-\d\d\b|\b\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\w* 20", text
    )


def test_no_image_metadata_reaches_the_teaching_pdf(leak_set):
    teaching_set, _, images = leak_set
    pdf = render_teaching_set(user=teaching_set.prepared_by, teaching_set_id=teaching_set.pk)
    streams = image_streams(pdf.content)
    assert len(streams) >= len(images)
    for kind, raw in streams:
        text = raw.decode("latin-1")
        assert not leaks_in(text, NEEDLES, squeeze=False), kind  # pixels: exact text only
        for marker in (b"Exif", b"http://ns.adobe.com/xap", b"tEXt", b"iTXt", b"zTXt", b"eXIf", b"ICC_PROFILE"):
            assert marker not in raw, (kind, marker)
        if "DCT" in kind:
            assert b"\xff\xfe" not in raw.split(b"\xff\xda")[0]  # no COM segment before the scan


def test_key_images_are_stored_as_pixels_only_and_at_most_2400_pixels_long(radiologist, board):
    case = f.CaseFactory(board=board)
    study = f.ImagingStudyFactory(case=case, radiologist=radiologist)
    identity = f"{corpus.FAMILY} {corpus.MRN}"
    big = io.BytesIO()
    m_image = corpus._pixels((3000, 1000))
    m_image.save(big, format="JPEG", comment=identity.encode())
    stored = [
        imaging.key_image_add(study=study, by=radiologist, caption="a", upload=upload("a.jpg",
                              corpus.jpeg_with_exif_comment_and_xmp(identity), "image/jpeg")),
        imaging.key_image_add(study=study, by=radiologist, caption="b", upload=upload("b.png",
                              corpus.png_with_text_chunks(identity), "image/png")),
        imaging.key_image_add(study=study, by=radiologist, caption="c", upload=upload("c.jpg", big.getvalue(),
                              "image/jpeg")),
    ]  # fmt: skip
    from PIL import Image

    for image in stored:
        data = image.image.open("rb").read()
        assert not leaks_in(data.decode("latin-1"), ["nguyen", "0048213", "1980:03:04"], squeeze=False)
        for marker in (b"Exif", b"http://ns.adobe.com/xap", b"tEXt", b"iTXt", b"zTXt", b"eXIf", b"ICC_PROFILE"):
            assert marker not in data
        with Image.open(io.BytesIO(data)) as opened:
            assert not {"exif", "comment", "xmp", "icc_profile"} & set(opened.info)
            assert max(opened.size) <= 2400
    assert (stored[2].width, stored[2].height) == (2400, 800)


def test_no_image_metadata_reaches_the_clinical_summary_either(board, coordinator, radiologist):
    from cases.printing.documents import render_case_summary

    case = f.CaseFactory(board=board, created_by=coordinator)
    study = f.ImagingStudyFactory(case=case, radiologist=radiologist)
    identity = f"{corpus.FAMILY} {corpus.MRN}"
    data = corpus.jpeg_with_exif_comment_and_xmp(identity)
    imaging.key_image_add(study=study, by=radiologist, caption="Axial", upload=upload("a.jpg", data, "image/jpeg"))
    pdf = render_case_summary(user=coordinator, case_id=case.pk)
    streams = image_streams(pdf.content)
    assert streams
    for _kind, raw in streams:
        assert b"Nguy" not in raw and b"0048213" not in raw and b"\xff\xfe" not in raw.split(b"\xff\xda")[0]


# The over-scrub corpus -------------------------------------------------------------------------------


def test_clinical_sentences_about_rose_mass_survive_the_scrubber():
    known = teaching_fields.Known(names=(corpus.ROSE_GIVEN, corpus.ROSE_FAMILY, "Hope Young"),
                                  record_numbers=("RM-5512090",), birth_date=date(1961, 6, 1))  # fmt: skip
    changed = {sentence: scrub(sentence, known) for sentence in corpus.CLINICAL}
    assert {s: out for s, out in changed.items() if out != s} == {}
    assert scrub("Rose Mass and Mrs Mass were seen by Dr. Hope Young.", known) == (
        "[name] and Mrs [name] were seen by Dr. [name]."
    )


def test_approved_clinical_text_prints_unchanged(board, coordinator, radiologist, pathologist, chair, reviewer):
    patient = f.PatientFactory(given_name=corpus.ROSE_GIVEN, family_name=corpus.ROSE_FAMILY, registered_board=board)
    case = f.CaseFactory(board=board, patient=patient, created_by=coordinator,
                         referring_clinician=corpus.ROSE_CLINICIAN, history="\n".join(corpus.CLINICAL))  # fmt: skip
    f.PathologyReportFactory(case=case, pathologist=pathologist, diagnosis="Mass lesion: tumoral calcinosis.")
    teaching_set = t.teaching_set_create(by=radiologist, cases=[case], include=[f"case.{case.pk}.history"])
    stored = m.TeachingText.objects.get(key=f"case.{case.pk}.history").text
    assert stored == "\n".join(corpus.CLINICAL)
    t.teaching_set_approve(teaching_set=teaching_set, by=reviewer, expected_version=teaching_set.version)
    text = squeezed(
        " ".join(pdf_pages_text(render_teaching_set(user=radiologist, teaching_set_id=teaching_set.pk).content))
    )
    missing = [sentence for sentence in corpus.CLINICAL if squeezed(sentence) not in text]
    assert missing == []
    assert squeezed("Mass lesion: tumoral calcinosis.") in text


def test_an_approved_text_prints_exactly_as_approved_even_if_the_scrubber_changes(radiologist, reviewer, board):
    case = f.CaseFactory(board=board)
    teaching_set = t.teaching_set_create(by=radiologist, cases=[case])
    key = f"case.{case.pk}.history"
    t.teaching_text_edit(teaching_set=teaching_set, by=radiologist, key=key, text="Seen on day +40 with a mass.")
    teaching_set.refresh_from_db()
    t.teaching_set_approve(teaching_set=teaching_set, by=reviewer, expected_version=teaching_set.version)
    # The source changes afterwards: the copy still prints what was approved, not a new scrub of the source.
    m.Case.objects.filter(pk=case.pk).update(history=f"{case.patient.family_name} seen.")
    text = " ".join(pdf_pages_text(render_teaching_set(user=radiologist, teaching_set_id=teaching_set.pk).content))
    assert "Seen on day +40 with a mass." in text and case.patient.family_name not in text


def test_the_leak_detector_itself_finds_every_needle_in_the_unscrubbed_corpus():
    assert sorted(leaks_in(corpus.leak_text(), corpus.needles())) == sorted(fold(n) for n in corpus.needles())
    jp = corpus.needles(corpus.JP_LEAKS)
    assert sorted(leaks_in(corpus.leak_text(corpus.JP_LEAKS), jp)) == sorted(fold(n) for n in jp)


def test_the_leak_copy_prints_the_scrubbed_text_and_the_images(leak_set, tmp_path):
    from pathlib import Path

    teaching_set, _, images = leak_set
    pdf = render_teaching_set(user=teaching_set.prepared_by, teaching_set_id=teaching_set.pk)
    text = "\n".join(pdf_pages_text(pdf.content))
    for label in ("[name]", "[record number]", "[date]", "[phone]", "[e-mail]", "[address]", "[URL]", "[IP address]"):
        assert label in text, label
    assert len(image_streams(pdf.content)) == len(images)
    artifacts = Path(__file__).resolve().parent.parent / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "teaching-leak-corpus.pdf").write_bytes(pdf.content)


def test_the_migration_re_encodes_key_images_stored_before(board, radiologist):
    import importlib

    from django.apps import apps

    case = f.CaseFactory(board=board)
    study = f.ImagingStudyFactory(case=case, radiologist=radiologist)
    raw = upload("old.jpg", corpus.jpeg_with_exif_comment_and_xmp(f"{corpus.FAMILY} {corpus.MRN}"), "image/jpeg")
    legacy = m.KeyImage.objects.create(study=study, image=raw, caption="Old")
    old_name = legacy.image.name
    importlib.import_module("cases.migrations.0006_issue12_reencode_key_images").reencode(apps, None)
    legacy.refresh_from_db()
    data = legacy.image.open("rb").read()
    assert legacy.image.name != old_name and b"0048213" not in data and b"Exif" not in data
    assert not legacy.image.storage.exists(old_name)


def test_the_copy_reads_its_cases_and_their_codes_in_a_constant_number_of_queries(
    board, radiologist, pathologist, chair, django_assert_num_queries
):
    from cases import selectors
    from cases.teaching.export import teaching_context

    def coded_set(count: int):
        cases = []
        for _ in range(count):
            case = f.CaseFactory(board=board)
            f.PathologyReportFactory(case=case, pathologist=pathologist, morphology="9180/3", topography="C40.2")
            code(case, "Synthetic words.", by=chair)
            coding.comorbidity_add(case=case, by=chair, icd10_code="E10.22")
            cases.append(case)
        return t.teaching_set_create(by=radiologist, cases=cases)

    def read(teaching_set):
        rows = selectors.teaching_set_detail(user=radiologist, pk=teaching_set.pk, with_codes=True)
        context = teaching_context(*rows)
        return sum(len(case["primary_codes"]) + len(case["stagings"]) for case in context["cases"])

    few, many = coded_set(1), coded_set(6)
    with django_assert_num_queries(QUERIES_OF_A_COPY):
        assert read(few) == 6
    with django_assert_num_queries(QUERIES_OF_A_COPY):
        assert read(many) == 36


# The set, its cases, their texts and images (4); the cases with patient and board, imaging (key images
# only when a study exists, none here), pathology, opinions, decisions with meetings, follow-ups,
# diagnoses, stagings (8). The reader's memberships are already cached on the user.
QUERIES_OF_A_COPY = 12
