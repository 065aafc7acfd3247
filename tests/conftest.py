from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
GOLDEN = ["edge_mix", "chain", "ei_1k", "ff"]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA
