"""The seed case's whole journey through the API alone, as an integration would drive it.

A dialysis patient treated for osteosarcoma years ago returns with calcifications; the first
pathology reads residual tumour, the board's review amends it to tumoral calcinosis, the chair
signs the consensus and the case closes. (The summary PDF arrives with the printing work.)
"""

from datetime import timedelta

from django.utils import timezone

from cases import models as m
from tests import factories as f


def step(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def test_the_seed_case_journey_through_the_api(api, board, coordinator, chair, specialists):
    office, radiology, pathology = api(coordinator), api(specialists["radiology"]), api(specialists["pathology"])
    patient = step(
        office.post(
            "/api/v1/patients/",
            {
                "board": board.pk,
                "mrn": "SYN-000042",
                "given_name": "Maren",
                "family_name": "Ostby",
                "birth_date": "1996-02-14",
                "sex": "female",
                "comorbidities": "End-stage renal disease on haemodialysis.",
            },
        ),
        201,
    )
    case = step(
        office.post(
            "/api/v1/cases/",
            {
                "patient": patient["id"],
                "board": board.pk,
                "referring_clinician": "Dr. Synthetic Referrer",
                "clinical_question": "Relapse of osteosarcoma, or something benign?",
                "history": "Distal femur osteosarcoma treated 12 years ago; arthrodesis with nail.",
                "key_labs": "Calcium and phosphate high; PTH raised.",
                "priority": "urgent",
            },
        ),
        201,
    )
    url = f"/api/v1/cases/{case['id']}/"
    step(office.post(url + "transition/", {"to": "imaging"}))

    study = step(
        radiology.post(
            "/api/v1/imaging-studies/",
            {
                "case": case["id"],
                "modality": "XR",
                "body_site": "Left knee",
                "performed_on": "2026-01-05",
                "findings": "Lobular soft-tissue calcifications; loosened screws.",
                "impression": "Relapse versus tumoral calcinosis.",
            },
        ),
        201,
    )
    step(
        radiology.post(
            f"/api/v1/imaging-studies/{study['id']}/key-images/",
            {"image": f.png_upload(), "caption": "Calcified lobules beside the nail"},
            format="multipart",
        ),
        201,
    )
    step(office.post(url + "transition/", {"to": "pathology"}))

    first = step(
        pathology.post(
            "/api/v1/pathology-reports/",
            {
                "case": case["id"],
                "specimen": "Soft tissue at hardware revision",
                "procedure": "Open biopsy",
                "collected_on": "2026-01-10",
                "diagnosis": "Residual osteosarcoma.",
                "status": "final",
            },
        ),
        201,
    )
    amended = step(
        pathology.post(
            f"/api/v1/pathology-reports/{first['id']}/amend/",
            {
                "diagnosis": "Devitalised bone, giant-cell reaction, mineral and metal debris; no tumour.",
                "amendment_reason": "Re-reviewed at the interdisciplinary meeting.",
                "discrepancy": "major",
            },
        ),
        201,
    )
    assert step(pathology.get(f"/api/v1/pathology-reports/{first['id']}/"))["superseded_by"] == amended["id"]
    assert step(office.get(url))["stage"] == "revised_pathology"

    for specialty, user in specialists.items():
        step(api(user).post("/api/v1/opinions/", {"case": case["id"], "assessment": f"{specialty}: calcinosis."}), 201)
    step(office.post(url + "transition/", {"to": "consensus"}))

    soon = (timezone.now() + timedelta(minutes=30)).isoformat()
    meeting = step(office.post("/api/v1/meetings/", {"board": board.pk, "starts_at": soon, "location": "4B"}), 201)
    # The meeting's hour arrives: a decision is signed only at a meeting that has started (issue 10).
    m.Meeting.objects.filter(pk=meeting["id"]).update(starts_at=timezone.now() - timedelta(minutes=5))
    step(office.post(f"/api/v1/meetings/{meeting['id']}/agenda/", {"case": case["id"]}), 201)
    for user in [chair, *specialists.values()]:
        step(office.post(f"/api/v1/meetings/{meeting['id']}/attendance/", {"user": user.pk}))
    assert step(office.get(f"/api/v1/meetings/{meeting['id']}/"))["quorum"]["is_met"] is True

    step(office.post(f"/api/v1/meetings/{meeting['id']}/status/", {"status": "in_progress"}))
    decision = step(
        api(chair).post(
            "/api/v1/decisions/",
            {
                "case": case["id"],
                "meeting": meeting["id"],
                "consensus_diagnosis": "Callus and tumoral calcinosis secondary to renal disease.",
                "plan": [{"category": "surveillance", "detail": "Treated-osteosarcoma schedule."}],
                "participants": [chair.pk, *(u.pk for u in specialists.values())],
            },
        ),
        201,
    )
    signed = step(api(chair).post(f"/api/v1/decisions/{decision['id']}/sign/"))
    assert signed["status"] == "signed" and signed["pathology_report"] == amended["id"]

    closed = step(office.post(url + "transition/", {"to": "closed", "note": "Consensus signed."}))
    assert closed["stage"] == "closed"
    assert [r["status"] for r in closed["pathology_reports"]] == ["final", "amended"]
    assert closed["follow_ups"][0]["category"] == "surveillance"
    timeline = step(office.get(url + "timeline/?page_size=200"))["results"]
    assert [e["to_stage"] for e in timeline if e["kind"] == "transition"][0] == "closed"
    assert m.AuditEvent.objects.filter(case_id=case["id"], action="case.view").exists()
