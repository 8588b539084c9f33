"""Prepare a throwaway database for the load test (run by run_load.sh, not by pytest).

Makes an approved requester with an API token and one job to poll, a sign-in account with the
production password hasher, and a test portrait PNG. Prints shell variables for run_load.sh.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "platform"), str(ROOT / "tests" / "platform" / "security")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from PIL import Image  # noqa: E402
from route_walker import build_world  # noqa: E402
from skimage import data  # noqa: E402

from accounts.api_tokens import api_token_issue  # noqa: E402
from accounts.models import User  # noqa: E402
from accounts.services import (  # noqa: E402
    requester_application_review,
    requester_application_submit,
)


def main(out_dir: Path) -> None:
    call_command("migrate", verbosity=0)
    password = "correct horse battery staple"
    verifier = User.objects.create_user("load-verifier", password=password, role="verifier")
    owner = User.objects.create_user("load-owner", password=password, role="owner")
    requester = User.objects.create_user("load-requester", password=password, role="requester")
    world = build_world({"owner": owner, "requester": requester, "verifier": verifier}, 1)
    job = next(row for row in world.rows["jobs"] if type(row).__name__ == "GenerationJob")
    # Only the job is wanted: the generic rows made for outputs and detections hold no real
    # payloads, and the detector would rightly choke on them.
    for label in ("detection", "jobs", "accounts"):
        for row in reversed(world.rows.get(label, [])):
            if type(row).__name__ in (
                "OutputRecord",
                "Detection",
                "LikenessAlert",
                "RequesterApplication",
            ):
                type(row).objects.filter(pk=row.pk).delete()
    # Approved after the world is built: its generic pending application is gone (above).
    application = requester_application_submit(
        requester=requester,
        organisation_name="Load Newsroom",
        intended_use="Load testing the platform on loopback only.",
        accept_use_policy=True,
    )
    requester_application_review(
        application=application, verifier=verifier, approve=True, reason="load test"
    )
    _, token = api_token_issue(user=requester)
    User.objects.create_user("load-signin", password=password, role="owner")
    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, format="PNG")  # 512x512 real photo
    (out_dir / "astronaut.png").write_bytes(buffer.getvalue())
    print(f"JOB_ID={job.pk}\nTOKEN={token}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
