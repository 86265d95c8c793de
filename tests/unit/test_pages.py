"""The one list shape and cursor scheme (services/common/pages.py)."""

import datetime as dt

import pytest
from sqlalchemy import Integer, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from services.common import errors, pages
from services.common.sqltypes import UtcDateTime

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "rows"
    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    seq: Mapped[int] = mapped_column(Integer)


NEWEST = pages.Order((Row.created_at, Row.id))
OLDEST = pages.Order((Row.seq,), descending=False)


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        # two rows share each timestamp: the id breaks the tie
        s.add_all(Row(id=f"r{n:02d}", created_at=T0 + dt.timedelta(minutes=n // 2), seq=n)
                  for n in range(11))
        s.commit()
        yield s


def walk(session, order, limit):
    seen, cursor, pages_read = [], None, 0
    while True:
        page = pages.keyset(session, select(Row), order, limit, cursor, dump=lambda r: r.id)
        pages_read += 1
        seen += page["data"]
        assert len(page["data"]) <= limit
        if not page["has_more"]:
            assert page["next_cursor"] is None
            return seen, pages_read
        cursor = page["next_cursor"]


@pytest.mark.parametrize("limit", [1, 2, 3, 10, 11, 100])
def test_every_row_once_in_order_whatever_the_page_size(session, limit):
    seen, read = walk(session, NEWEST, limit)
    assert seen == [f"r{n:02d}" for n in reversed(range(11))]
    assert read == -(-11 // limit)  # the last page says has_more false itself


def test_ascending_order_and_integer_keys(session):
    seen, _ = walk(session, OLDEST, 4)
    assert seen == [f"r{n:02d}" for n in range(11)]


def test_has_more_is_true_exactly_when_rows_were_left_out(session):
    full = pages.keyset(session, select(Row), NEWEST, 11, None, dump=lambda r: r.id)
    assert len(full["data"]) == 11 and full["has_more"] is False
    cut = pages.keyset(session, select(Row), NEWEST, 10, None, dump=lambda r: r.id)
    assert len(cut["data"]) == 10 and cut["has_more"] is True


def test_rows_added_while_paging_do_not_shift_the_next_page(session):
    first = pages.keyset(session, select(Row), NEWEST, 4, None, dump=lambda r: r.id)
    session.add(Row(id="new", created_at=T0 + dt.timedelta(hours=1), seq=99))
    session.commit()
    second = pages.keyset(session, select(Row), NEWEST, 4, first["next_cursor"],
                          dump=lambda r: r.id)
    assert second["data"] == ["r06", "r05", "r04", "r03"]


def test_the_cursor_is_url_safe_and_opaque(session):
    page = pages.keyset(session, select(Row), NEWEST, 3, None, dump=lambda r: r.id)
    cursor = page["next_cursor"]
    assert cursor and set(cursor) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert pages.decode(cursor, NEWEST) == [T0 + dt.timedelta(minutes=4), "r08"]


@pytest.mark.parametrize("cursor", [
    "%%%", "", "x" * 400, 17, pages.encode(["r01"]), pages.encode([1, "r01"]),
    pages.encode(["2026-01-01T00:00:00", "r01"]), pages.encode(["yesterday", "r01"]),
    pages.encode([T0, 5]), "bm90IGpzb24"])
def test_a_bad_cursor_is_invalid_argument(session, cursor):
    with pytest.raises(errors.InvalidArgument) as refused:
        pages.keyset(session, select(Row), NEWEST, 5, cursor)
    assert refused.value.fields == {"cursor": ["is not a valid cursor"]}


@pytest.mark.parametrize("limit", [0, 101, -1, "5", 2.0, True, None])
def test_a_bad_limit_is_invalid_argument(session, limit):
    with pytest.raises(errors.InvalidArgument) as refused:
        pages.keyset(session, select(Row), NEWEST, limit, None)
    assert "limit" in refused.value.fields


def test_a_whole_list_says_nothing_was_left_out():
    assert pages.whole(iter([1, 2])) == {"data": [1, 2], "has_more": False,
                                         "next_cursor": None}
