"""open_engine's check for state left by the other way of running (in-process vs shards)."""
from __future__ import annotations

from engine.open import unused_state


def test_state_of_the_other_mode_is_reported(tmp_path):
    assert unused_state(tmp_path, 0) is None and unused_state(tmp_path, 2) is None
    (tmp_path / "threads.json").write_text("{}")
    assert "engine.shards = 0" in unused_state(tmp_path, 1)
    assert unused_state(tmp_path, 0) is None  # its own state
    (tmp_path / "threads.json").unlink()
    (tmp_path / "shards" / "0").mkdir(parents=True)
    (tmp_path / "shards" / "0" / "threads.json").write_text("{}")
    assert "unset engine.shards" in unused_state(tmp_path, 0)
    assert unused_state(tmp_path, 1) is None
