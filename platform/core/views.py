"""The home page (a dashboard per role) and a health check."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from accounts.models import Role
from accounts.selectors import requester_is_approved, requester_latest_application


def home(request):
    context = {}
    user = request.user
    if user.is_authenticated and user.role == Role.REQUESTER:
        context["approved"] = requester_is_approved(user=user)
        context["application"] = requester_latest_application(requester=user)
    return render(request, "core/home.html", context)


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
