"""Teaching sets in the portal: prepare, preview (original beside the scrubbed text), edit, approve, print."""

import re

import pytest
from django.urls import reverse

from cases import models as m
from tests import factories as f
from tests.conftest import audit_actions, pdf_pages_text


@pytest.fixture
def reviewer(chair):
    m.BoardMembership.objects.filter(user=chair).update(reviews_teaching=True)
    chair.__dict__.pop("_tb_memberships", None)
    return chair


@pytest.fixture
def named_case(board, coordinator):
    patient = f.PatientFactory(given_name="Rose", family_name="Mass", mrn="TB-7712004", registered_board=board)
    return f.CaseFactory(board=board, patient=patient, created_by=coordinator,
                         history="Rose Mass, seen with her husband Aldo. The mass is 4 cm in size.")  # fmt: skip


def prepare(client, case, **data):
    response = client.post(reverse("teaching-new-case", args=[case.pk]), data)
    assert response.status_code == 302, response.content[:500]
    return m.TeachingSet.objects.latest("id")


def test_a_member_prepares_from_the_case_page_and_sees_original_beside_scrubbed(signed_in, radiologist, named_case):
    client = signed_in(radiologist)
    assert client.get(reverse("teaching-new-case", args=[named_case.pk])).status_code == 200
    teaching_set = prepare(client, named_case, other_identifiers="Aldo")
    client.post(reverse("teaching-text", args=[teaching_set.pk]),
                {"field": f"case.{named_case.pk}.history", "action": "include", "version": "1"})  # fmt: skip
    page = client.get(reverse("teaching-detail", args=[teaching_set.pk])).content.decode()
    assert "Rose Mass, seen with her husband Aldo. The mass is 4 cm in size." in page  # the original
    assert "[name], seen with her husband [name]. The mass is 4 cm in size." in page  # scrubbed, and what prints
    assert "Approve this version" not in page  # the preparer never approves
    assert audit_actions(action__startswith="teaching_set") == [
        "teaching_set.create",
        "teaching_set.text_include",
        "teaching_set.view",
    ]


def test_the_reviewer_approves_and_anyone_on_the_board_prints(signed_in, client, radiologist, reviewer, named_case):
    teaching_set = prepare(signed_in(radiologist), named_case)
    client.post(reverse("teaching-text", args=[teaching_set.pk]),
                {"field": f"case.{named_case.pk}.history", "action": "save", "text": "Seen on day 0.",
                 "version": "1"})  # fmt: skip
    refused = client.get(reverse("teaching-pdf", args=[teaching_set.pk]))
    assert refused.status_code == 409 and b"not approved" in refused.content
    client.force_login(reviewer)
    page = client.get(reverse("teaching-detail", args=[teaching_set.pk])).content.decode()
    assert "Approve this version for teaching" in page
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    assert client.post(reverse("teaching-approve", args=[teaching_set.pk]), {"version": version}).status_code == 302
    client.force_login(radiologist)
    pdf = client.get(reverse("teaching-pdf", args=[teaching_set.pk]))
    assert pdf.status_code == 200
    text = "\n".join(pdf_pages_text(pdf.content))
    assert "Seen on day 0." in text and "Mass" not in text.replace("mass", "")


def test_an_approval_of_an_old_version_is_refused_with_the_reason(signed_in, radiologist, reviewer, named_case):
    teaching_set = prepare(signed_in(radiologist), named_case)
    client = signed_in(reviewer)
    response = client.post(reverse("teaching-approve", args=[teaching_set.pk]), {"version": "7"})
    assert response.status_code == 400 and b"saved by someone else" in response.content
    assert m.TeachingSet.objects.get().status == "draft"


def test_an_outsider_gets_not_found(signed_in, radiologist, outsider, named_case):
    teaching_set = prepare(signed_in(radiologist), named_case)
    client = signed_in(outsider)
    for name in ("teaching-detail", "teaching-pdf"):
        assert client.get(reverse(name, args=[teaching_set.pk])).status_code == 404
    assert client.get(reverse("teaching-new-case", args=[named_case.pk])).status_code == 404
    assert client.post(reverse("teaching-approve", args=[teaching_set.pk]), {"version": "1"}).status_code == 404
    assert b"Set " not in client.get(reverse("teaching-list")).content


def test_the_meeting_page_prepares_a_set_from_its_agenda(signed_in, radiologist, board, quorate_meeting):
    cases = [f.CaseFactory(board=board) for _ in range(2)]
    for n, case in enumerate(cases, start=1):
        m.AgendaItem.objects.create(meeting=quorate_meeting, case=case, position=n)
    client = signed_in(radiologist)
    url = reverse("teaching-new-meeting", args=[quorate_meeting.pk])
    assert client.post(url, {"cases": [str(c.pk) for c in cases]}).status_code == 302
    teaching_set = m.TeachingSet.objects.get()
    assert teaching_set.meeting == quorate_meeting and teaching_set.cases.count() == 2
    assert client.post(url, {"cases": ["999999"]}).status_code == 400


@pytest.mark.parametrize("sets", [1, 6])
def test_the_list_page_pins_its_query_count(signed_in, radiologist, board, django_assert_num_queries, sets):
    from cases.services import teaching as services

    for _ in range(sets):
        services.teaching_set_create(by=radiologist, cases=[f.CaseFactory(board=board)])
    client = signed_in(radiologist)
    with django_assert_num_queries(9):  # +1 since issue 11: the page read is audited
        page = client.get(reverse("teaching-list"))
    assert len(re.findall(r'href="/teaching/\d+/"', page.content.decode())) == sets
