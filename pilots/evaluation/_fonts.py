"""A Hangul-capable font for matplotlib reports, offline.

The NanumGothic font (SIL Open Font License) ships inside the ``koreanize-matplotlib`` wheel, a core dependency;
we register the file with matplotlib ourselves (no network, no font cache download). Fonts installed on the
system (Noto Sans CJK, Malgun Gothic ...) are used when the bundled one is missing.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

__all__ = ["korean_font", "use_korean_font"]

_KNOWN = ("NanumGothic", "Noto Sans CJK", "Noto Sans KR", "Malgun", "UnDotum", "Baekmuk")


@cache
def korean_font() -> str | None:
    """The family name of a font with Hangul, registering the bundled NanumGothic first; ``None`` if none."""
    from matplotlib import font_manager

    # find_spec locates the package without importing it (its __init__ changes global rcParams and warns)
    spec = importlib.util.find_spec("koreanize_matplotlib")
    locations = list(spec.submodule_search_locations or []) if spec else []
    bundled = Path(locations[0]) / "fonts" / "NanumGothic.ttf" if locations else None
    if bundled is not None and bundled.exists():
        font_manager.fontManager.addfont(str(bundled))
        return str(font_manager.FontProperties(fname=str(bundled)).get_name())
    names = sorted({f.name for f in font_manager.fontManager.ttflist})
    return next((n for n in names if any(k in n for k in _KNOWN)), None)


def use_korean_font() -> bool:
    """Make matplotlib draw Hangul (keeping DejaVu Sans for other glyphs). False when no font has Hangul."""
    import matplotlib

    family = korean_font()
    if family is None:
        return False
    matplotlib.rcParams["font.family"] = [family, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False
    return True
