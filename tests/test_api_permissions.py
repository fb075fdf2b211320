"""The permission matrix over the API: role × endpoint × own board or another board.

On its own board a persona is allowed (anything but 403/404: the service may still refuse the
state with 400/409) or forbidden (403). Every object of a board the persona does not belong to is
not found (404), whatever the role.
"""

import pytest
from django.utils import timezone

from cases import models as m
from tests import factories as f

ANY = {"coordinator", "chair", "radiologist", "pathologist", "orthopaedic"}
CLINICIANS = {"chair", "radiologist", "pathologist", "orthopaedic"}
MANAGERS = {"coordinator", "chair"}

# name: (method, path, body, personas allowed on their own board)
ENDPOINTS = {
    "case detail": ("get", "/api/v1/cases/{case}/", None, ANY),
    "case timeline": ("get", "/api/v1/cases/{case}/timeline/", None, ANY),
    "case create": (
        "post",
        "/api/v1/cases/",
        lambda o: {"patient": o["patient"], "board": o["board"]},
        {"coordinator"},
    ),
    "case edit": ("patch", "/api/v1/cases/{case}/", {"priority": "urgent"}, {"coordinator"}),
    "case transition": ("post", "/api/v1/cases/{case}/transition/", {"to": "imaging"}, MANAGERS),
    "patient detail": ("get", "/api/v1/patients/{patient}/", None, ANY),
    "imaging add": (
        "post",
        "/api/v1/imaging-studies/",
        lambda o: {"case": o["case"], "modality": "XR", "body_site": "Knee", "performed_on": "2026-01-02"},
        {"radiologist"},
    ),
    "pathology add": (
        "post",
        "/api/v1/pathology-reports/",
        lambda o: {
            "case": o["case"],
            "specimen": "s",
            "procedure": "p",
            "collected_on": "2026-01-02",
            "diagnosis": "d",
        },
        {"pathologist"},
    ),
    "pathology amend": (
        "post",
        "/api/v1/pathology-reports/{report}/amend/",
        {"diagnosis": "d", "amendment_reason": "r", "discrepancy": "minor"},
        {"pathologist"},
    ),
    "opinion add": ("post", "/api/v1/opinions/", lambda o: {"case": o["case"], "assessment": "a"}, CLINICIANS),
    "meeting schedule": (
        "post",
        "/api/v1/meetings/",
        lambda o: {"board": o["board"], "starts_at": "2030-01-01T10:00:00Z", "location": "Room"},
        MANAGERS,
    ),
    "agenda add": ("post", "/api/v1/meetings/{meeting}/agenda/", lambda o: {"case": o["case"]}, MANAGERS),
    "attendance": ("post", "/api/v1/meetings/{meeting}/attendance/", lambda o: {"user": o["member"]}, MANAGERS),
    "decision record": (
        "post",
        "/api/v1/decisions/",
        lambda o: {"case": o["case"], "consensus_diagnosis": "c", "plan": [{"category": "surveillance"}]},
        MANAGERS,
    ),
    "decision sign": ("post", "/api/v1/decisions/{decision}/sign/", None, {"chair"}),
    "follow-up done": ("post", "/api/v1/follow-ups/{follow_up}/complete/", None, MANAGERS),
}


def objects_on(board, member):
    case = f.CaseFactory(board=board)
    report = f.PathologyReportFactory(case=case)
    decision = f.DecisionFactory(case=f.CaseFactory(board=board))
    follow_up = m.FollowUp.objects.create(case=case, kind="action", description="x", due_on=timezone.localdate())
    return {
        "board": board.pk,
        "case": case.pk,
        "patient": case.patient_id,
        "report": report.pk,
        "meeting": f.MeetingFactory(board=board).pk,
        "decision": decision.pk,
        "follow_up": follow_up.pk,
        "member": member.pk,
    }


@pytest.mark.parametrize("persona", sorted(ANY))
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("where", ["own board", "other board"])
def test_permission_matrix(where, endpoint, persona, request, api, board, other_board, outsider):
    user = request.getfixturevalue(persona)
    target = board if where == "own board" else other_board
    objects = objects_on(target, user if where == "own board" else outsider)
    method, path, body, allowed = ENDPOINTS[endpoint]
    if callable(body):
        body = body(objects)
    url = path.format(**objects)
    headers = {"HTTP_IF_MATCH": f'"case-{objects["case"]}-v1"'} if method == "patch" else {}
    response = getattr(api(user), method)(url, body, **headers)
    if where == "other board":
        assert response.status_code == 404, response.content
    elif persona in allowed:
        assert response.status_code not in (403, 404), response.content
        assert response.status_code < 500
    else:
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(
    "path",
    [
        "cases",
        "patients",
        "imaging-studies",
        "pathology-reports",
        "opinions",
        "meetings",
        "decisions",
        "follow-ups",
        "boards",
    ],
)
def test_lists_hold_only_rows_of_the_users_boards(path, api, outsider, board, coordinator, specialists):
    objects_on(board, coordinator)
    f.ImagingStudyFactory(case=f.CaseFactory(board=board))
    f.OpinionFactory(case=f.CaseFactory(board=board))
    response = api(outsider).get(f"/api/v1/{path}/")
    assert response.status_code == 200
    rows = response.json()["results"]
    if path == "boards":
        assert [row["name"] for row in rows] == ["Breast board"]
    else:
        assert rows == []
