"""services/common/db.py's unit_of_work: the one way an entrypoint ends its transaction."""

import pytest
from sqlalchemy import Integer, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from services.common import errors
from services.common.db import Refused, unit_of_work


class Base(DeclarativeBase):
    pass


class Mark(Base):
    __tablename__ = "marks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)


@pytest.fixture
def engine():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    return engine


def marks(engine) -> list[int]:
    with Session(engine) as other:  # what another connection sees: only what was committed
        return list(other.scalars(select(Mark.id).order_by(Mark.id)))


def test_the_block_s_work_is_committed_when_it_ends(engine):
    with Session(engine) as session:
        with unit_of_work(session):
            session.add(Mark(id=1))
            session.flush()
        assert marks(engine) == [1]


def test_an_error_rolls_everything_back(engine):
    with Session(engine) as session:
        with pytest.raises(errors.Conflict), unit_of_work(session):
            session.add(Mark(id=1))
            session.flush()
            raise errors.Conflict("no")
        assert marks(engine) == []


def test_a_refusal_keeps_what_it_wrote_and_raises_its_error(engine):
    with Session(engine) as session:
        with pytest.raises(errors.NotAuthenticated) as raised, unit_of_work(session):
            session.add(Mark(id=7))  # a failure counted
            session.flush()
            raise Refused(errors.NotAuthenticated("wrong password"))
        assert marks(engine) == [7]
        assert raised.value.__cause__ is None  # the caller sees the refusal, not the wrapper


def test_a_kept_kind_of_error_commits_before_it_goes_on_and_others_do_not(engine):
    with Session(engine) as session:
        with pytest.raises(errors.Conflict), unit_of_work(session, keep=(errors.ServiceError,)):
            session.add(Mark(id=3))  # a wrong guess counted
            session.flush()
            raise errors.Conflict("wrong code")
        assert marks(engine) == [3]
        with pytest.raises(ValueError), unit_of_work(session, keep=(errors.ServiceError,)):
            session.add(Mark(id=4))
            session.flush()
            raise ValueError("a bug")
        assert marks(engine) == [3]
