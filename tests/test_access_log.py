"""Identifiers searched for never reach an access log (issue 11): the portal searches by POST, and the app's
access log (tumorboard.access) records paths without their query strings."""

import logging

from django.urls import reverse

from cases import models as m


def logged(caplog) -> str:
    return "\n".join(record.getMessage() for record in caplog.records)


def test_an_api_search_logs_the_path_but_not_the_mrn(api, coordinator, case, caplog):
    mrn = case.patient.mrn
    with caplog.at_level(logging.INFO):
        response = api(coordinator).get(f"/api/v1/cases/?search={mrn}")
    assert response.status_code == 200 and response.json()["count"] == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "tumorboard.access"]
    assert len(lines) == 1 and lines[0].startswith("GET /api/v1/cases/ 200 ")
    assert mrn not in logged(caplog) and "search" not in logged(caplog)
    # The audit trail, not the log, keeps what was searched.
    assert m.AuditEvent.objects.get(action="case.list").changes["query"] == {"search": mrn}


def test_the_portal_searches_by_post_and_no_url_carries_the_mrn(signed_in, coordinator, case, caplog):
    client = signed_in(coordinator)
    mrn = case.patient.mrn
    with caplog.at_level(logging.INFO):
        posted = client.post(reverse("case-list"), {"q": mrn, "stage": case.stage})
        assert posted.status_code == 302 and mrn not in posted["Location"]
        assert posted["Location"] == f"/cases/?stage={case.stage}"
        page = client.get(posted["Location"])
        again = client.get("/cases/")  # the search stays until cleared
    assert page.status_code == 200 and mrn in page.content.decode()
    assert f'value="{mrn}"' in page.content.decode()  # the form shows what is searched
    assert page.context["page"].paginator.count == 1 == again.context["page"].paginator.count
    assert mrn not in logged(caplog)
    access = [r.getMessage() for r in caplog.records if r.name == "tumorboard.access"]
    assert [line.split(" ")[:3] for line in access] == [["POST", "/cases/", "302"], ["GET", "/cases/", "200"]] + [
        ["GET", "/cases/", "200"]
    ]
    assert m.AuditEvent.objects.filter(action="case.list").first().changes["query"]["q"] == mrn
    assert client.get("/cases/?clear=1").status_code == 302
    assert client.get("/cases/").context["form"]["q"].value() == ""


def test_the_search_form_posts_with_a_csrf_token(signed_in, coordinator):
    html = signed_in(coordinator).get(reverse("case-list")).content.decode()
    assert '<form method="post" class="card filters" role="search"' in html and "csrfmiddlewaretoken" in html
