"""One rule serves output media: the player needs a fresh signed link and an active consent;
downloading also needs the consent to allow it. Every route that serves the file follows it."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from jobs.run import job_run

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _published(submit) -> int:
    job = submit()
    assert job_run(job_id=job.pk).status == "done"
    return job.pk


def _player_url(client, job_id: int) -> str:
    page = client.get(f"/jobs/{job_id}/result/")
    assert page["Cache-Control"] == "private, no-store"
    html = page.content.decode()
    start = html.index('id="result-video"')
    src = html[html.index('src="', start) + 5 :]
    return src[: src.index('"')].replace("&amp;", "&")


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_without_a_download_right_the_player_serves_only_through_a_fresh_signed_link(
    grant, submit, client, requester, other_requester, settings
):
    grant.allow_download = False
    grant.save(update_fields=["allow_download"])
    job_id = _published(submit)
    client.force_login(requester)

    # A bare player route handing out the whole file would be the download in disguise.
    assert client.get(f"/jobs/{job_id}/video.mp4").status_code == 403
    assert client.get(f"/jobs/{job_id}/download/").status_code == 403
    api = _api(requester)
    assert api.get(f"/api/v1/jobs/{job_id}").json()["download_url"] is None
    refused = api.get(f"/api/v1/jobs/{job_id}/download")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "download_not_allowed"

    url = _player_url(client, job_id)
    assert urlparse(url).path == f"/jobs/{job_id}/video.mp4" and parse_qs(urlparse(url).query)["t"]
    played = client.get(url)
    assert played.status_code == 200
    assert played["Cache-Control"] == "private, no-store"
    assert "attachment" not in played.get("Content-Disposition", "")
    assert b"".join(played.streaming_content)[4:8] == b"ftyp"

    assert client.get(url + "x").status_code == 403  # tampered
    settings.JOBS_VIEW_LINK_SECONDS = -1
    assert client.get(url).status_code == 403  # expired
    settings.JOBS_VIEW_LINK_SECONDS = 600
    # Signed for the requester: useless to anyone else, even one who somehow reached the route.
    client.force_login(other_requester)
    assert client.get(url).status_code == 404


def test_once_the_consent_expired_neither_the_player_nor_a_download_serves_the_file(
    grant, submit, client, requester
):
    job_id = _published(submit)
    client.force_login(requester)
    url = _player_url(client, job_id)  # a link handed out while the consent was active
    assert client.get(f"/jobs/{job_id}/download/").status_code == 200

    grant.expires_at = timezone.now() - timedelta(seconds=1)
    grant.save(update_fields=["expires_at"])

    assert client.get(url).status_code == 403
    assert client.get(f"/jobs/{job_id}/download/").status_code == 403
    api = _api(requester)
    assert api.get(f"/api/v1/jobs/{job_id}").json()["download_url"] is None
    assert api.get(f"/api/v1/jobs/{job_id}/download").status_code == 403
    page = client.get(f"/jobs/{job_id}/result/").content.decode()
    assert 'id="result-video"' not in page
    assert "no longer active" in page
    assert 'id="provenance"' in page  # the provenance stays visible
