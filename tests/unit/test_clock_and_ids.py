import datetime as dt

from services.common.clock import OffsetFileClock, SystemClock, TestClock, isoformat
from services.common.ids import new_id, new_secret_token


def test_test_clock_moves_only_when_told():
    clock = TestClock(dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC))
    assert clock.now() == clock.now()
    clock.advance(minutes=31)
    assert clock.now() == dt.datetime(2026, 11, 21, 10, 31, tzinfo=dt.UTC)
    assert clock.today() == dt.date(2026, 11, 21)


def test_offset_file_clock_shifts_real_time(tmp_path):
    path = tmp_path / "offset"
    clock = OffsetFileClock(str(path))
    assert abs((clock.now() - SystemClock().now()).total_seconds()) < 1
    path.write_text("3600")
    assert 3599 < (clock.now() - SystemClock().now()).total_seconds() < 3601


def test_isoformat_is_utc_with_z():
    when = dt.datetime(2026, 11, 21, 11, 0, 5, 123, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert isoformat(when) == "2026-11-21T10:00:05Z"


def test_ids_are_prefixed_and_random():
    ids = {new_id("cus") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("cus_") and len(i) == 28 for i in ids)
    assert len(new_secret_token()) >= 43  # 256 bits, base64url
