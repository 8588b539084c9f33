"""Exports of filtered events that verify offline, and the offline verifier itself.

An export carries, for every event, all the fields its Merkle leaf commits to plus its inclusion
proof, and the signed checkpoint they lead to. Anyone holding the platform's audit public key
can then check, without the database, that each exported event is exactly what the log holds
(`python manage.py verify_audit_export FILE [--public-key PEM]`). Two formats, one contract:
JSON Lines (a header line, then one event per line) and CSV (one event per row, the checkpoint
repeated in its columns so a single row still verifies).
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.actions import AuditAction
from core.keys import verify_signature

from . import merkle
from .models import AuditCheckpoint, AuditEvent, canonical_event_bytes, checkpoint_message
from .proofs import SubtreeRoots, inclusion_proof_for
from .selectors import AuditFilter, audit_event_queryset
from .services import audit_checkpoint_write, audit_record

FORMAT = "consented-talking-faces/audit-export/1"
MAX_EXPORT_EVENTS = 10_000  # bounded: an export is a request, not a backup
EVENT_FIELDS = [
    "seq",
    "created_at",
    "actor_id",
    "actor_label",
    "subject_type",
    "subject_id",
    "action",
    "outcome",
    "reason",
    "request_id",
    "client_ip",
    "details",
]
CHECKPOINT_FIELDS = ["tree_size", "root_hash", "created_at", "key_id", "signature"]
CSV_COLUMNS = (
    EVENT_FIELDS + ["leaf_hash", "proof"] + [f"checkpoint_{name}" for name in CHECKPOINT_FIELDS]
)
# Spreadsheets run cells starting with these as formulas (CSV injection); such cells, and cells
# that already start with the escape, get one leading apostrophe that the verifier removes.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


@dataclass
class AuditExport:
    content: bytes
    content_type: str
    filename: str
    count: int
    truncated: bool


@dataclass
class ExportVerification:
    events: int = 0
    tree_size: int = 0
    root_hash: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.tree_size > 0

    def summary(self) -> str:
        if self.ok:
            return (
                f"export OK: {self.events} events included in the signed checkpoint of size "
                f"{self.tree_size} (root {self.root_hash[:16]}…)"
            )
        return f"export FAILED: {self.problems[0] if self.problems else 'no checkpoint found'}"


def _event_fields(event: AuditEvent) -> dict:
    return json.loads(event.canonical_bytes())


def _checkpoint_fields(checkpoint: AuditCheckpoint) -> dict:
    return {
        "tree_size": checkpoint.tree_size,
        "root_hash": checkpoint.root_hash,
        "created_at": checkpoint.created_at.isoformat(timespec="microseconds"),
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
    }


def audit_export(*, filters: AuditFilter, fmt: str, actor) -> AuditExport:
    """Export up to MAX_EXPORT_EVENTS newest matching events with proofs (records who exported).

    The export is itself audited, then a checkpoint is signed so that every exported event,
    the export record included, is covered by it.
    """
    if fmt not in ("csv", "jsonl"):
        raise ValueError("format must be csv or jsonl")
    audit_record(
        action=AuditAction.AUDIT_EXPORTED,
        actor=actor,
        subject_type="audit_log",
        details={"format": fmt, "filters": filters.as_query()},
    )
    audit_checkpoint_write(force=True)
    checkpoint = AuditCheckpoint.objects.order_by("-tree_size").first()
    qs = audit_event_queryset(filters=filters).filter(seq__lt=checkpoint.tree_size)
    rows = list(qs.order_by("-seq")[: MAX_EXPORT_EVENTS + 1])
    truncated = len(rows) > MAX_EXPORT_EVENTS
    events = sorted(rows[:MAX_EXPORT_EVENTS], key=lambda e: e.seq)
    roots = SubtreeRoots()  # shared: neighbouring events share most of their path
    proofs = [inclusion_proof_for(event, checkpoint, roots) for event in events]
    stamp = checkpoint.created_at.strftime("%Y%m%dT%H%M%SZ")
    if fmt == "jsonl":
        content = _jsonl(events, proofs, checkpoint, filters, truncated)
        content_type = "application/jsonl; charset=utf-8"
    else:
        content = _csv(events, proofs, checkpoint)
        content_type = "text/csv; charset=utf-8"
    return AuditExport(content, content_type, f"audit-{stamp}.{fmt}", len(events), truncated)


def _jsonl(events, proofs, checkpoint, filters: AuditFilter, truncated: bool) -> bytes:
    header = {
        "format": FORMAT,
        "checkpoint": _checkpoint_fields(checkpoint),
        "filters": filters.as_query(),
        "count": len(events),
        "truncated": truncated,
    }
    lines = [json.dumps(header, sort_keys=True)]
    for event, proof in zip(events, proofs, strict=True):
        record = _event_fields(event)
        record["leaf_hash"] = proof.leaf_hash
        record["proof"] = proof.path
        lines.append(json.dumps(record, sort_keys=True, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode()


def _csv_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _csv(events, proofs, checkpoint) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    cp = _checkpoint_fields(checkpoint)
    for event, proof in zip(events, proofs, strict=True):
        fields = _event_fields(event)
        row = [
            json.dumps(fields[name], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            if name == "details"
            else fields[name]
            for name in EVENT_FIELDS
        ]
        row += [proof.leaf_hash, " ".join(proof.path)] + [cp[name] for name in CHECKPOINT_FIELDS]
        writer.writerow([_csv_cell(value) for value in row])
    return buffer.getvalue().encode()


# --- offline verification ---------------------------------------------------------------------


def _load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the public key is not an Ed25519 key")
    return key


def _signature_ok(checkpoint: dict, public_key: Ed25519PublicKey | None) -> bool:
    message = checkpoint_message(
        int(checkpoint["tree_size"]),
        checkpoint["root_hash"],
        datetime.fromisoformat(checkpoint["created_at"]),
        checkpoint["key_id"],
    )
    if public_key is None:
        return verify_signature("audit", checkpoint["key_id"], message, checkpoint["signature"])
    try:
        public_key.verify(base64.b64decode(checkpoint["signature"], validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _parse_jsonl(text: str) -> tuple[dict | None, list[dict]]:
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return None, []
    header = json.loads(lines[0])
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError("not an audit export (unknown header)")
    return header["checkpoint"], [json.loads(line) for line in lines[1:]]


def _uncell(text: str) -> str:
    return text[1:] if text.startswith("'") else text


def _parse_csv(text: str) -> tuple[dict | None, list[dict]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header != CSV_COLUMNS:
        raise ValueError("not an audit export (unexpected CSV columns)")
    checkpoint = None
    records = []
    for raw in reader:
        if len(raw) != len(CSV_COLUMNS):
            raise ValueError("a CSV row has the wrong number of cells")
        cells = dict(zip(CSV_COLUMNS, (_uncell(c) for c in raw), strict=True))
        row_checkpoint = {name: cells[f"checkpoint_{name}"] for name in CHECKPOINT_FIELDS}
        if checkpoint is None:
            checkpoint = row_checkpoint
        elif row_checkpoint != checkpoint:
            raise ValueError("rows refer to different checkpoints")
        records.append(
            {
                "seq": int(cells["seq"]),
                "created_at": cells["created_at"],
                "actor_id": int(cells["actor_id"]) if cells["actor_id"] else None,
                "actor_label": cells["actor_label"],
                "subject_type": cells["subject_type"],
                "subject_id": cells["subject_id"],
                "action": cells["action"],
                "outcome": cells["outcome"],
                "reason": cells["reason"],
                "request_id": cells["request_id"],
                "client_ip": cells["client_ip"] or None,
                "details": json.loads(cells["details"]),
                "leaf_hash": cells["leaf_hash"],
                "proof": cells["proof"].split(),
            }
        )
    return checkpoint, records


def verify_export_records(
    checkpoint: dict | None, records: Iterable[dict], public_key: Ed25519PublicKey | None = None
) -> ExportVerification:
    """Check the checkpoint signature, then that every record's recomputed leaf is in its tree."""
    result = ExportVerification()
    if checkpoint is None:
        result.problems.append("the export holds no signed checkpoint")
        return result
    result.tree_size = int(checkpoint["tree_size"])
    result.root_hash = checkpoint["root_hash"]
    if not _signature_ok(checkpoint, public_key):
        result.problems.append(
            f"the checkpoint signature is invalid (key {checkpoint['key_id']}): forged or altered"
        )
        return result
    root = bytes.fromhex(checkpoint["root_hash"])
    for record in records:
        result.events += 1
        fields = {name: record.get(name) for name in EVENT_FIELDS}
        leaf = merkle.leaf_hash(canonical_event_bytes(fields))
        proof = [bytes.fromhex(p) for p in record.get("proof", [])]
        if not merkle.verify_inclusion(leaf, int(record["seq"]), result.tree_size, proof, root):
            result.problems.append(
                f"event {record['seq']} does not verify: altered, or its proof is wrong"
            )
    return result


def verify_export_file(path: Path, public_key_path: Path | None = None) -> ExportVerification:
    """Verify an export file (JSON Lines or CSV, told apart by content) offline."""
    text = Path(path).read_text(encoding="utf-8")
    public_key = _load_public_key(public_key_path) if public_key_path else None
    try:
        if text.lstrip().startswith("{"):
            checkpoint, records = _parse_jsonl(text)
        else:
            checkpoint, records = _parse_csv(text)
    except (ValueError, KeyError, TypeError) as error:
        result = ExportVerification()
        result.problems.append(f"unreadable export: {error}")
        return result
    try:
        return verify_export_records(checkpoint, records, public_key)
    except (ValueError, KeyError, TypeError) as error:
        result = ExportVerification()
        result.problems.append(f"malformed export: {error}")
        return result
