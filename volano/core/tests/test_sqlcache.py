"""A compiled statement is reused with other ids, and gives what a fresh one gives."""

from django.db import connection

from volano.contacts.models import Contact
from volano.contacts.services import contact_create
from volano.core.sqlcache import statement_cached


def test_the_statement_is_built_once_and_bound_to_each_call_s_ids(officina, giulia):
    people = [
        contact_create(workspace=officina, actor=giulia, data={"email": f"p{i}@x.it"})
        for i in range(3)
    ]
    builds = []

    def build(slots):
        builds.append(slots)
        query = Contact.objects.for_workspace(officina).filter(pk__in=slots).values_list("email")
        return query.query.sql_with_params()

    found = []
    for person in people:
        statement = statement_cached(("test-emails", officina.pk), 1, build)
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, statement.bind([person.pk]))
            found += [row[0] for row in cursor.fetchall()]
    assert found == ["p0@x.it", "p1@x.it", "p2@x.it"]
    assert len(builds) == 1
    two = statement_cached(("test-emails", officina.pk), 2, build)
    with connection.cursor() as cursor:
        cursor.execute(two.sql, two.bind([people[0].pk, people[2].pk]))
        assert sorted(row[0] for row in cursor.fetchall()) == ["p0@x.it", "p2@x.it"]
    assert len(builds) == 2
