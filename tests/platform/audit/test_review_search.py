"""Searching the log by actor, subject, action, outcome, time and IP, with keyset pages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from audit.selectors import AuditFilter, audit_event_page

pytestmark = pytest.mark.django_db


def _seqs(filters: AuditFilter, **kwargs) -> list[int]:
    return [e.seq for e in audit_event_page(filters=filters, **kwargs).events]


def _at(review_log, *positions: int) -> list[int]:
    """Seqs of the fixture's events at `positions` (the personas' set-up events come first)."""
    return [review_log[p].seq for p in positions]


def _window(review_log, **fields) -> AuditFilter:
    """A filter limited to the fixture's events (the personas' set-up events come first)."""
    return AuditFilter(since=review_log[0].created_at, **fields)


def test_it_filters_by_each_field(review_log, requester, owner):
    assert _seqs(_window(review_log, actor=requester.username)) == _at(review_log, 4, 3, 2, 1)
    assert _seqs(_window(review_log, actor=str(owner.pk))) == _at(review_log, 5, 0)
    assert _seqs(_window(review_log, action="consent.")) == _at(review_log, 5, 0)
    assert _seqs(_window(review_log, action="policy.decided", outcome="denied")) == _at(
        review_log, 2, 1
    )
    assert _seqs(_window(review_log, subject_type="grant", subject_id="1")) == _at(review_log, 5, 0)
    assert _seqs(_window(review_log, client_ip="10.0.0.9")) == _at(review_log, 7, 6)


def test_it_filters_by_time_range(review_log):
    middle = review_log[3].created_at
    assert _seqs(AuditFilter(since=middle)) == _at(review_log, 7, 6, 5, 4, 3)
    assert _seqs(_window(review_log, until=middle)) == _at(review_log, 3, 2, 1, 0)
    assert _seqs(AuditFilter(since=middle + timedelta(days=1))) == []


def test_keyset_pages_cover_every_event_once_in_both_directions(review_log):
    filters = _window(review_log)
    first = audit_event_page(filters=filters, page_size=3)
    second = audit_event_page(filters=filters, before=first.older_than, page_size=3)
    third = audit_event_page(filters=filters, before=second.older_than, page_size=3)
    seen = [e.seq for page in (first, second, third) for e in page.events]
    assert seen == _at(review_log, 7, 6, 5, 4, 3, 2, 1, 0)
    assert third.older_than is None
    back = audit_event_page(filters=filters, after=second.newer_than, page_size=3)
    assert [e.seq for e in back.events] == [e.seq for e in first.events]
