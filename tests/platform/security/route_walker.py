"""Walks every URL pattern of the project (portal and API) and fills the project's tables with
objects owned by "victim" users, so a test can try every object route as other users.

Nothing here names an app's routes or models: new routes and models are picked up as other
apps add them. Values for route parameters come from the rows of the app whose view serves
the route (a jobs route gets job ids, a detection route detection UUIDs).
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

# Apps whose models hold people's objects (the rest are Django's or third-party plumbing).
PROJECT_APPS = ("accounts", "consent", "jobs", "detection", "audit")


@dataclass(frozen=True)
class Route:
    pattern: str  # "jobs/<int:pk>/status.json"
    name: str  # "jobs:status"
    app: str  # the app whose view serves it ("jobs"), from the view's module
    converters: dict[str, str]  # parameter name -> converter ("int", "uuid", "str", "path")

    @property
    def has_object(self) -> bool:
        return bool(self.converters)


def _converter_name(converter) -> str:
    return type(converter).__name__.replace("Converter", "").lower()


def _view_app(callback) -> str:
    target = getattr(callback, "cls", None) or getattr(callback, "view_class", None) or callback
    return (getattr(target, "__module__", "") or "").split(".")[0]


def project_routes() -> list[Route]:
    """Every named route, with the namespace path reverse() needs, skipping Django's admin site
    (staff only, its own permission system, checked separately)."""
    found: list[Route] = []

    def walk(patterns, prefix: str, namespace: str, converters: dict):
        for entry in patterns:
            pattern = entry.pattern
            here = {**converters, **getattr(pattern, "converters", {})}
            if isinstance(entry, URLResolver):
                ns = namespace
                if entry.namespace:
                    ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                walk(entry.url_patterns, prefix + str(pattern), ns, here)
            elif isinstance(entry, URLPattern) and entry.name:
                name = f"{namespace}:{entry.name}" if namespace else entry.name
                if name.startswith("admin:"):
                    continue
                found.append(
                    Route(
                        pattern=prefix + str(pattern),
                        name=name,
                        app=_view_app(entry.callback),
                        converters={k: _converter_name(v) for k, v in here.items()},
                    )
                )

    walk(get_resolver().url_patterns, "", "", {})
    return found


# --- a world of victims' objects ---------------------------------------------------------------


@dataclass
class World:
    """Rows made for the victims, by app, and why some models could not be filled."""

    rows: dict[str, list[models.Model]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def values_for(self, app: str, converter: str) -> list[str]:
        """Candidate parameter values for a route of `app` with that converter."""
        values: list[str] = []
        for row in self.rows.get(app, []):
            for f in row._meta.concrete_fields:
                value = getattr(row, f.attname)
                if converter == "int" and f.primary_key and isinstance(value, int):
                    values.append(str(value))
                elif converter == "uuid" and isinstance(f, models.UUIDField):
                    values.append(str(value))
                elif converter in ("str", "slug", "path") and (
                    f.primary_key or isinstance(f, models.CharField | models.UUIDField)
                ):
                    if value not in (None, "") and not getattr(f, "choices", None):
                        values.append(str(value))
        return list(dict.fromkeys(values))

    def snapshot(self) -> dict[tuple[str, object], dict]:
        """Every victim row as stored now (to prove the walk changed nothing)."""
        state = {}
        for app_rows in self.rows.values():
            for row in app_rows:
                stored = type(row).objects.filter(pk=row.pk).values().first()
                state[(row._meta.label, row.pk)] = stored
        return state


def _victim_for(field_name: str, victims: dict[str, object]):
    for role, user in victims.items():
        if role in field_name:
            return user
    if any(word in field_name for word in ("review", "verif", "decid")):
        return victims["verifier"]
    return victims["owner"]


def _value_for(f: models.Field, row_index: int):
    if f.has_default():
        return f.get_default()
    if f.choices:
        return f.choices[0][0]
    if isinstance(f, models.UUIDField):
        return uuid.uuid4()
    if isinstance(f, models.BooleanField):
        return False
    if isinstance(f, models.DateTimeField):
        return timezone.now() + dt.timedelta(days=30)
    if isinstance(f, models.DateField):
        return timezone.now().date()
    if isinstance(f, models.DurationField):
        return dt.timedelta(seconds=1)
    if isinstance(f, models.DecimalField):
        return decimal.Decimal(1)
    if isinstance(f, models.IntegerField | models.FloatField):
        return 1
    if isinstance(f, models.GenericIPAddressField):
        return "192.0.2.1"
    if isinstance(f, models.EmailField):
        return f"victim{row_index}@example.com"
    if isinstance(f, models.FileField):
        return f"walker/victim-{uuid.uuid4().hex}.bin"
    if isinstance(f, models.JSONField):
        return {}
    if isinstance(f, models.BinaryField):
        return b""
    if isinstance(f, models.CharField | models.TextField):
        text = f"victim-{uuid.uuid4().hex}"
        return text[: f.max_length] if f.max_length else text
    raise TypeError(f"no value for {type(f).__name__}")


def build_world(victims: dict[str, object], per_model: int = 2) -> World:
    """Make `per_model` rows of every model of the project's apps, owned by the victims."""
    world = World()
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    made: dict[type, list[models.Model]] = {}

    def make(model, depth: int = 0) -> list[models.Model]:
        if model in made:
            return made[model]
        made[model] = []
        if depth > 6 or model is user_model:
            return made[model]
        for index in range(per_model):
            kwargs = {}
            try:
                for f in model._meta.concrete_fields:
                    if f.primary_key and (f.auto_created or isinstance(f, models.AutoField)):
                        continue
                    if f.is_relation:
                        if f.related_model is user_model:
                            kwargs[f.name] = _victim_for(f.name, victims)
                        elif f.null and f.related_model._meta.app_label not in PROJECT_APPS:
                            continue
                        else:
                            targets = make(f.related_model, depth + 1) or list(
                                f.related_model.objects.all()[:per_model]
                            )
                            if not targets:
                                if f.null:
                                    continue
                                raise LookupError(f"no {f.related_model.__name__} to point at")
                            if isinstance(f, models.OneToOneField):
                                used = {getattr(r, f.attname) for r in model.objects.all()}
                                targets = [t for t in targets if t.pk not in used] or []
                                if not targets:
                                    raise LookupError("one-to-one targets used up")
                            kwargs[f.name] = targets[index % len(targets)]
                        continue
                    if f.null and not f.has_default() and not f.primary_key:
                        continue
                    kwargs[f.name] = _value_for(f, index)
                with transaction.atomic():
                    made[model].append(model.objects.create(**kwargs))
            except (IntegrityError, LookupError, TypeError, ValueError) as error:
                world.skipped[model._meta.label] = str(error)[:200]
                break
        return made[model]

    for app_label in PROJECT_APPS:
        try:
            config = apps.get_app_config(app_label)
        except LookupError:
            continue
        for model in config.get_models():
            if model._meta.app_label == "audit":
                continue  # the audit log is filled by audit_record, never by hand
            make(model)
    for model, rows in made.items():
        if rows:
            world.rows.setdefault(model._meta.app_label, []).extend(rows)
    audit_event = apps.get_model("audit", "AuditEvent")
    world.rows["audit"] = list(audit_event.objects.order_by("seq")[:per_model])
    return world
