"""What the README shows is what the code accepts."""

from __future__ import annotations

import re
from pathlib import Path

from agentyield.processors import PriceBook

README = Path(__file__).parent.parent / "README.md"


def test_the_readme_price_file_is_accepted(tmp_path: Path) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    assert blocks, "the README shows a price file"
    for block in blocks:
        path = tmp_path / "prices.yaml"
        path.write_text(block)
        book = PriceBook(path)
        rates = book.rates("openai", "my-finetune", 1000)
        assert rates is not None and float(rates.output) * 1e6 == 12.0 and float(rates.cache_read) * 1e6 == 1.5
