import pytest
from django.test import Client

from cases import models as m
from tests import factories as f

CLINICAL = [
    m.Patient,
    m.Case,
    m.CaseEvent,
    m.ImagingStudy,
    m.PathologyReport,
    m.Opinion,
    m.Meeting,
    m.Attendance,
    m.Decision,
    m.FollowUp,
    m.AuditEvent,
]


@pytest.fixture
def admin_client_(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def test_every_model_is_in_the_admin_with_its_list_page(admin_client_, make_case):
    make_case("consensus")
    for model in [*CLINICAL, m.Board, m.BoardMembership, m.FollowUpTemplate]:
        url = f"/admin/cases/{model._meta.model_name}/"
        assert admin_client_.get(url).status_code == 200, url


@pytest.mark.parametrize("model", CLINICAL, ids=lambda model: model.__name__)
def test_clinical_records_are_read_only_in_the_admin(model, admin_client_, make_case):
    make_case("pathology")
    obj = model.objects.first()
    name = model._meta.model_name
    assert admin_client_.get(f"/admin/cases/{name}/add/").status_code == 403
    if obj is not None:
        page = admin_client_.get(f"/admin/cases/{name}/{obj.pk}/change/")
        assert page.status_code == 200 and b'name="_save"' not in page.content
        assert admin_client_.post(f"/admin/cases/{name}/{obj.pk}/change/", {}).status_code == 403
        assert admin_client_.post(f"/admin/cases/{name}/{obj.pk}/delete/", {"post": "yes"}).status_code == 403
        assert model.objects.filter(pk=obj.pk).exists()


def test_changing_a_board_in_the_admin_is_audited(admin_client_, admin_user):
    board = f.BoardFactory(name="Neuro board")
    response = admin_client_.post(
        f"/admin/cases/board/{board.pk}/change/",
        {
            "name": "Neuro-oncology board",
            "tumour_site": "CNS",
            "required_specialties": '["radiology"]',
            "quorum_specialties": '["radiology"]',
            "is_active": "on",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    event = m.AuditEvent.objects.get(action="admin.update")
    assert event.actor == admin_user and "name" in event.changes


def test_the_admin_refuses_unknown_specialty_codes(admin_client_):
    response = admin_client_.post(
        "/admin/cases/board/add/",
        {
            "name": "X",
            "tumour_site": "Y",
            "required_specialties": '["astrology"]',
            "quorum_specialties": "[]",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200 and b"Unknown specialty codes: astrology" in response.content
    assert not m.Board.objects.filter(name="X").exists()
