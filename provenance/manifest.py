"""Signing and reading the C2PA manifest of a published MP4.

Measured pitfalls of this c2pa-python version, and what we do about them:
- `Reader.json()` renders numeric arrays in custom assertions wrongly, so every value in the
  platform assertion is a string.
- A `Builder` signs once: `sign_mp4` builds a fresh one (and a fresh `Signer`) per call.
- Remuxing drops the manifest, so signing is the very last step before the file is published.
- Data-less ingredients lose a `hash` field; the SHA-256 goes into the ingredient's metadata
  (and its instance id) instead.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Literal

import c2pa

from provenance.c2pa_ca import SigningIdentity
from provenance.errors import MediaError, SigningError
from provenance.media import probe, sniff_kind

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
PLATFORM_ASSERTION = "org.consented-talking-faces.platform"
INGREDIENT_HASH_KEY = "org.consented-talking-faces.sha256"
SOFT_BINDING_ASSERTION = "c2pa.soft-binding"
_MP4 = "video/mp4"
# Failure codes that only say "we do not trust who signed": the content itself is intact.
_TRUST_CODE_PREFIX = "signingCredential."


@dataclass(frozen=True)
class Ingredient:
    """An input of the generated video (the portrait, the speech clip), named by its hash only."""

    title: str
    sha256: str
    format: str  # MIME type, e.g. image/png, audio/wav
    relationship: str = "inputTo"


@dataclass(frozen=True)
class ManifestInfo:
    """What the platform states about one generated video."""

    title: str
    record_id: int
    consent_receipt_id: str
    decision_id: str
    generator_version: str
    ingredients: tuple[Ingredient, ...] = ()
    claim_generator: str = "consented-talking-faces/0.1"


@dataclass(frozen=True)
class ManifestReport:
    """What a reader concluded. Only state == "trusted" counts as verified."""

    state: Literal["trusted", "untrusted", "tampered", "missing"]
    codes: tuple[str, ...]  # failing validation codes
    manifest_id: str | None
    actions: tuple[str, ...]
    digital_source_type: str | None
    soft_binding: dict | None  # {"alg": ..., "value": ...}
    platform: dict | None  # record_id, consent_receipt_id, decision_id, generator_version


def _manifest_definition(info: ManifestInfo, soft_binding: tuple[str, str]) -> dict[str, Any]:
    name, _, version = info.claim_generator.partition("/")
    alg, value = soft_binding
    return {
        "claim_generator_info": [{"name": name, "version": version or "0"}],
        "title": info.title,
        "format": _MP4,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": DIGITAL_SOURCE_TYPE,
                            "softwareAgent": {"name": name, "version": info.generator_version},
                        },
                        {"action": "c2pa.watermarked"},
                    ]
                },
            },
            {
                "label": SOFT_BINDING_ASSERTION,
                "data": {"alg": alg, "blocks": [{"scope": {}, "value": value}]},
            },
            {
                "label": PLATFORM_ASSERTION,
                # Strings only: Reader.json() mangles numbers in custom assertions.
                "data": {
                    "record_id": str(info.record_id),
                    "consent_receipt_id": str(info.consent_receipt_id),
                    "decision_id": str(info.decision_id),
                    "generator_version": str(info.generator_version),
                },
            },
        ],
        # No thumbnails: a portrait of a person is shown only where their consent allows it, and
        # the platform, not the manifest, decides that.
        "ingredients": [
            {
                "title": ingredient.title,
                "format": ingredient.format,
                "relationship": ingredient.relationship,
                "instance_id": f"sha256:{ingredient.sha256}",
                "metadata": {INGREDIENT_HASH_KEY: ingredient.sha256},
            }
            for ingredient in info.ingredients
        ],
    }


def sign_mp4(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    info: ManifestInfo,
    identity: SigningIdentity,
    soft_binding: tuple[str, str],
) -> str:
    """Embed a signed manifest into a copy of the MP4 `src` at `dst`; return the manifest id.

    The signed copy is read back against the platform's own root before returning, so a manifest
    that would not verify as trusted is never handed on (SigningError, `dst` removed).
    """
    try:
        signer = c2pa.Signer.from_info(
            c2pa.C2paSignerInfo(
                c2pa.C2paSigningAlg.ES256, identity.cert_chain_pem, identity.private_key_pem, None
            )
        )
        try:
            builder = c2pa.Builder(_manifest_definition(info, soft_binding))
            with open(src, "rb") as source, open(dst, "w+b") as dest:
                builder.sign(signer, _MP4, source, dest)
        finally:
            signer.close()
    except (c2pa.C2paError, OSError, ValueError) as exc:
        _remove_quietly(dst)
        raise SigningError(f"C2PA signing failed: {exc}") from exc
    report = read_manifest(dst, identity.root_pem)
    if report.state != "trusted" or report.manifest_id is None:
        _remove_quietly(dst)
        raise SigningError(
            f"the signed file does not verify ({report.state}: {', '.join(report.codes)})"
        )
    return report.manifest_id


def _active_manifest(store: dict) -> dict | None:
    label = store.get("active_manifest")
    manifests = store.get("manifests") or {}
    return manifests.get(label) if label else None


def _assertion(manifest: dict, label: str) -> dict | None:
    for assertion in manifest.get("assertions", []):
        # Labels may carry a version suffix (c2pa.actions.v2).
        if assertion.get("label") == label or assertion.get("label", "").startswith(label + ".v"):
            return assertion.get("data")
    return None


def read_manifest(path: str | os.PathLike[str], trust_anchor_pem: bytes) -> ManifestReport:
    """Read and validate the C2PA manifest of `path` against one trust anchor (the platform root).

    - trusted: signature, hashes and chain all check out up to `trust_anchor_pem`.
    - untrusted: intact, but signed by a certificate that does not chain to the anchor.
    - tampered: a hash or signature check failed (e.g. assertion.bmffHash.mismatch), or the
      manifest store itself is unreadable.
    - missing: no manifest at all.
    MediaError for an empty or non-media file.
    """
    sniff_kind(path)  # empty / non-media files are a MediaError, not a "missing" manifest
    context = c2pa.Context.from_dict({"trust": {"user_anchors": trust_anchor_pem.decode("ascii")}})
    try:
        try:
            reader = c2pa.Reader.try_create(os.fspath(path), context=context)
        except c2pa.C2paError as exc:
            # Either the media itself is broken (MediaError from probe) or the media is fine and
            # the manifest store in it cannot be parsed: damaged after signing.
            probe(path)
            code = f"manifest.unreadable: {exc}"
            return ManifestReport("tampered", (code,), None, (), None, None, None)
        if reader is None:
            return ManifestReport("missing", (), None, (), None, None, None)
        with reader:
            store = json.loads(reader.json())
    except (c2pa.C2paError, OSError, ValueError) as exc:
        raise MediaError(f"cannot read the manifest: {exc}") from exc
    finally:
        context.close()

    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    codes = tuple(item["code"] for item in results.get("failure", []))
    if not results:  # older-style status list
        codes = tuple(item["code"] for item in store.get("validation_status") or [])
    validation_state = store.get("validation_state")
    if validation_state == "Trusted" and not codes:
        state: Literal["trusted", "untrusted", "tampered", "missing"] = "trusted"
    elif codes and all(code.startswith(_TRUST_CODE_PREFIX) for code in codes):
        state = "untrusted"
    else:
        state = "tampered"

    manifest = _active_manifest(store) or {}
    actions_data = _assertion(manifest, "c2pa.actions") or {}
    actions = tuple(action.get("action", "") for action in actions_data.get("actions", []))
    source_type = next(
        (
            action["digitalSourceType"]
            for action in actions_data.get("actions", [])
            if action.get("action") == "c2pa.created" and "digitalSourceType" in action
        ),
        None,
    )
    binding = _assertion(manifest, SOFT_BINDING_ASSERTION)
    soft_binding = None
    if binding and binding.get("blocks"):
        soft_binding = {"alg": binding.get("alg"), "value": binding["blocks"][0].get("value")}
    platform = _assertion(manifest, PLATFORM_ASSERTION)
    return ManifestReport(
        state=state,
        codes=codes,
        manifest_id=store.get("active_manifest"),
        actions=actions,
        digital_source_type=source_type,
        soft_binding=soft_binding,
        platform={key: str(value) for key, value in platform.items()} if platform else None,
    )


def _remove_quietly(path: str | os.PathLike[str]) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
