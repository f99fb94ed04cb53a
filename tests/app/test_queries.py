"""List pages run the same number of SQL statements whatever the number of notes."""

import pytest


@pytest.mark.parametrize("list_path", ["/", "/pads/{pad}/", "/?order=name", "/pads/{pad}/?order=-updated_at"])
def test_list_pages_run_a_constant_number_of_queries(
    client, auth, make_pad, make_note, count_queries, list_path
):
    auth.signup_and_signin()
    pad = make_pad("P")
    other = make_pad("Other")
    make_note("first", pad=pad)
    path = list_path.format(pad=pad)

    counter = count_queries()
    assert client.get(path).status_code == 200
    with_one = counter.count

    for number in range(49):
        make_note(f"n{number}", pad=pad if number % 2 else other)
    make_note("loose")
    counter = count_queries()
    page = client.get(path)
    assert page.status_code == 200
    assert page.data.count(b"<tr>") > 25
    assert counter.count == with_one
    assert with_one <= 3, counter.statements  # the user, their pads, one page of notes
