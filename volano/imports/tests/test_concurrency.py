"""Imports running side by side create each company once (PostgreSQL: real concurrent
transactions, one connection per thread)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from volano.contacts.models import Company, Contact
from volano.imports.services import import_file

pytestmark = pytest.mark.django_db(transaction=True)

NAMES = [f"Officina Meccanica {n} S.r.l." for n in range(300)]


def _in_threads(works):
    """Run each work in a thread of its own, released together."""
    barrier = threading.Barrier(len(works))
    errors = []

    def run(work):
        try:
            barrier.wait()
            work()
        except Exception as error:  # reported by the test
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def _needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions on separate connections need PostgreSQL")


def test_three_contact_imports_naming_the_same_companies_create_each_once(officina, write_csv):
    _needs_postgres()
    paths = [
        write_csv(
            "email;azienda\n"
            + "".join(f"c{n}.{i}@example.it;{name}\n" for i, name in enumerate(NAMES)),
            name=f"clienti-{n}.csv",
        )
        for n in range(3)
    ]
    _in_threads(
        [
            lambda path=path: import_file(
                workspace=officina, actor=None, kind="contacts", path=path
            )
            for path in paths
        ]
    )
    assert Company.objects.for_workspace(officina).count() == 300
    contacts = Contact.objects.for_workspace(officina)
    assert contacts.count() == 900
    assert contacts.filter(company__isnull=True).count() == 0


def test_three_company_imports_of_the_same_names_create_each_once(officina, write_csv):
    _needs_postgres()
    paths = [
        write_csv(
            "ragione sociale;città\n" + "".join(f"{name};Milano\n" for name in NAMES),
            name=f"aziende-{n}.csv",
        )
        for n in range(3)
    ]
    reports = []
    _in_threads(
        [
            lambda path=path: reports.append(
                import_file(workspace=officina, actor=None, kind="companies", path=path)
            )
            for path in paths
        ]
    )
    assert Company.objects.for_workspace(officina).count() == 300
    assert sorted(r.created for r in reports) == [0, 0, 300]
