"""Detection fixtures: a real platform output (published through provenance.publish), its
attacked copies, unrelated media, and the registry rows that make it a platform output.

Media is made once per session under the session's MEDIA_ROOT / key store (tests/conftest.py
points every test there), so the platform's own watermark key and C2PA root sign and check it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from django.test import override_settings
from django.utils import timezone
from skimage.data import astronaut, chelsea, coffee

from provenance.attacks import decode_video, encode_h264
from provenance.c2pa_ca import SigningIdentity, ensure_platform_ca
from provenance.manifest import ManifestInfo
from provenance.media import Mp4Writer
from provenance.payload import payload_for_record
from provenance.publish import PublishedRecord, publish
from provenance.watermark import mark_appearance
from tests.toy_renderer import head_motion

RECORD_ID = 4242  # the job id, hence the watermark's record id
FPS = 25
SECONDS = 4
SIDE = 512


@dataclass(frozen=True)
class PlatformOutput:
    record_id: int
    path: Path
    relative_path: str  # to MEDIA_ROOT, as OutputRecord.file_path stores it
    published: PublishedRecord


def _session_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.getbasetemp()
    return base / "keys", base / "media"


def astronaut_square(side: int = SIDE) -> np.ndarray:
    return cv2.resize(astronaut(), (side, side), interpolation=cv2.INTER_AREA)


def write_frames(path: Path, frames, fps: int = FPS, crf: int = 23) -> Path:
    frames = list(frames)
    path.write_bytes(encode_h264(frames, fps, crf))
    return path


@pytest.fixture(autouse=True)
def _fast_and_fresh(settings):
    """Cheap password hashing for the personas (the root conftest empties the rate-limit cache
    for every database test)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def watermark_key(tmp_path_factory) -> bytes:
    keys, media = _session_dirs(tmp_path_factory)
    with override_settings(PLATFORM_KEYS_DIR=keys, MEDIA_ROOT=media):
        from core.keys import secret_bytes

        return secret_bytes("watermark")  # pinned for the session by tests/conftest.py


@pytest.fixture(scope="session")
def c2pa_identity(tmp_path_factory) -> SigningIdentity:
    keys, _ = _session_dirs(tmp_path_factory)
    return ensure_platform_ca(keys / "c2pa")


def _publish_output(
    media: Path, record_id: int, watermark_key: bytes, signer: SigningIdentity, phase: float = 0.0
) -> PlatformOutput:
    """4 s of 512x512 frames warped from the astronaut marked for `record_id`, published and
    signed as the platform publishes a job's output."""
    folder = media / "outputs"
    folder.mkdir(parents=True, exist_ok=True)
    payload = payload_for_record(record_id, watermark_key)
    marked = mark_appearance(astronaut_square(), payload)
    info = ManifestInfo(
        title="Detection fixture",
        record_id=record_id,
        consent_receipt_id="receipt-fixture",
        decision_id="decision-fixture",
        generator_version="test",
    )
    path = folder / f"{record_id}.mp4"
    published = publish(
        head_motion(marked.for_frame, SECONDS * FPS, phase=phase),
        None,
        payload,
        info,
        path,
        signer=signer,
        watermark_key=watermark_key,
        fps=FPS,
    )
    return PlatformOutput(record_id, path, f"outputs/{record_id}.mp4", published)


@pytest.fixture(scope="session")
def platform_output(tmp_path_factory, watermark_key, c2pa_identity) -> PlatformOutput:
    """4 s of 512x512 frames warped from a marked astronaut, published and signed."""
    _, media = _session_dirs(tmp_path_factory)
    return _publish_output(media, RECORD_ID, watermark_key, c2pa_identity)


@pytest.fixture(scope="session")
def sibling_outputs(tmp_path_factory, watermark_key, c2pa_identity) -> list[PlatformOutput]:
    """Two more clips of the same person from the same portrait, with other motion: what a
    registry holds for anyone with several clips."""
    _, media = _session_dirs(tmp_path_factory)
    return [
        _publish_output(media, record_id, watermark_key, c2pa_identity, phase=phase)
        for record_id, phase in ((RECORD_ID + 1, 1.3), (RECORD_ID + 2, 2.6))
    ]


def _attack(frames: list[np.ndarray], name: str) -> list[np.ndarray]:
    if name == "half":
        return [cv2.resize(f, (f.shape[1] // 2, f.shape[0] // 2), cv2.INTER_AREA) for f in frames]
    if name == "crop90":
        h, w = frames[0].shape[:2]
        top, left = round(0.05 * h), round(0.05 * w)
        return [f[top : top + round(0.9 * h), left : left + round(0.9 * w)] for f in frames]
    if name == "bright20":
        return [np.clip(f.astype(np.int16) + 20, 0, 255).astype(np.uint8) for f in frames]
    return frames


@pytest.fixture(scope="session")
def attacked_copies(tmp_path_factory, platform_output) -> dict[str, Path]:
    """The published output re-encoded at CRF 30, halved, cropped to 90%, brightened by 20,
    re-timed to 15 fps, and remuxed without its manifest (a stripped copy: same pixels, no
    C2PA)."""
    folder = tmp_path_factory.mktemp("attacked")
    frames, fps = decode_video(platform_output.path.read_bytes())
    copies = {
        "crf30": write_frames(folder / "crf30.mp4", frames, crf=30),
        "half": write_frames(folder / "half.mp4", _attack(frames, "half")),
        "crop90": write_frames(folder / "crop90.mp4", _attack(frames, "crop90")),
        "bright20": write_frames(folder / "bright20.mp4", _attack(frames, "bright20")),
        # 25 -> 15 fps by nearest earlier frame: the sampler maps it back by its frame rate
        "fps15": write_frames(
            folder / "fps15.mp4",
            [frames[int(j * fps / 15)] for j in range(int(len(frames) * 15 / fps))],
            fps=15,
        ),
    }
    stripped = folder / "stripped.mp4"
    with av.open(str(platform_output.path)) as source, av.open(str(stripped), "w") as target:
        stream = target.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                target.mux(packet)
    copies["stripped"] = stripped
    return copies


@pytest.fixture(scope="session")
def unrelated_clip(tmp_path_factory) -> Path:
    """3 s of a cat photo panning: nothing the platform made (a +faststart MP4, so a cut copy
    still promises every frame in its index)."""
    cat = cv2.resize(chelsea(), (384, 256), interpolation=cv2.INTER_AREA)
    path = tmp_path_factory.mktemp("unrelated") / "cat.mp4"
    with Mp4Writer(path, width=384, height=256, fps=FPS, audio=None) as writer:
        for index in range(3 * FPS):
            writer.write(np.ascontiguousarray(np.roll(cat, 3 * index, axis=1)))
    return path


@pytest.fixture(scope="session")
def unrelated_image(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("unrelated") / "coffee.png"
    cv2.imwrite(str(path), cv2.cvtColor(coffee(), cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture(scope="session")
def astronaut_photo(tmp_path_factory) -> Path:
    """The astronaut as a plain JPEG: the protected person's face, with no platform mark."""
    path = tmp_path_factory.mktemp("likeness") / "astronaut.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(astronaut(), cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory) -> Path:
    """20 s of a tiny clip: longer than the synchronous limit, decodes in milliseconds."""
    side, seconds = 64, 20
    frames = [np.full((side, side, 3), (i * 3) % 255, np.uint8) for i in range(seconds * 5)]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(5))
        stream.width = stream.height = side
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    path = tmp_path_factory.mktemp("long") / "long.mp4"
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture
def protected_identity(db, owner, astronaut_descriptor):
    """The astronaut as a verified identity of `owner`, likeness protection on."""
    from consent.models import Identity

    return Identity.objects.create(
        owner=owner,
        display_name="Eileen Collins",
        status="verified",
        verified_at=timezone.now(),
        reference_descriptor=astronaut_descriptor,
        likeness_protection=True,
    )


def _register(output: PlatformOutput, requester, identity, grant):
    """Register a published output as its job's OutputRecord, as jobs.services does."""
    from audit.services import audit_record
    from jobs.models import GenerationJob, OutputRecord

    job = GenerationJob.objects.create(
        pk=output.record_id,
        requester=requester,
        identity=identity,
        grant=grant,
        purpose="news_explainer",
        status="done",
        stage="done",
        audio_file="inputs/a.wav",
        audio_sha256="0" * 64,
        portrait_file="inputs/p.png",
        portrait_sha256="1" * 64,
        decision_id="decision-fixture",
    )
    published = output.published
    record = OutputRecord.objects.create(
        job=job,
        file_path=output.relative_path,
        file_sha256=published.file_sha256,
        payload_hex=published.payload_hex,
        manifest_id=published.manifest_id,
        fingerprints=list(published.fingerprints),
        frames=published.frames,
        duration_s=published.duration_s,
        identity=identity,
        requester=requester,
        grant=grant,
        consent_version=grant.version,
        decision_id="decision-fixture",
        published_at=timezone.now(),
    )
    # What jobs.services writes when it publishes, so the record has a decision trail.
    audit_record(
        action="job.published",
        actor=requester,
        subject_type="job",
        subject_id=output.record_id,
        details={
            "record_id": output.record_id,
            "identity_id": identity.pk,
            "requester_id": requester.pk,
            "grant_id": grant.pk,
        },
    )
    return record


@pytest.fixture
def output_grant(db, requester, protected_identity):
    from consent.models import ConsentGrant

    grant = ConsentGrant.objects.create(
        identity=protected_identity,
        purposes=["news_explainer"],
        expires_at=timezone.now() + timedelta(days=30),
    )
    grant.requesters.add(requester)
    return grant


@pytest.fixture
def registered_output(db, requester, protected_identity, platform_output, output_grant):
    """The platform output registered as OutputRecord RECORD_ID, under an active grant."""
    return _register(platform_output, requester, protected_identity, output_grant)


@pytest.fixture
def registered_siblings(db, requester, protected_identity, sibling_outputs, output_grant):
    """The same person's other clips, registered beside `registered_output`."""
    return [_register(o, requester, protected_identity, output_grant) for o in sibling_outputs]
