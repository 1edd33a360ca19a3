"""Reading the JSON description of an antiphon folder (a corpus, a model), with errors that name the file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from antiphon.errors import AntiphonError


def read_description(
    folder: Path,
    description: str,
    companions: Sequence[str],
    expected_format: str,
    error: type[AntiphonError],
    kind: str,
    how: str,
) -> tuple[Path, dict[str, Any]]:
    """Check that ``folder`` holds ``description`` (JSON, ``format`` = ``expected_format``) and ``companions``.

    ``kind`` names the folder for messages ("corpus", "model") and ``how`` says how one is made.
    Returns the description's path and content.

    Raises:
        error: not a folder, a file missing, the description corrupt or of another format.
    """
    if not folder.is_dir():
        raise error(f"{folder}: not a {kind} folder ({how})")
    path = folder / description
    for required in (path, *(folder / c for c in companions)):
        if not required.exists():
            raise error(f"{required}: missing; {folder} is not a finished {kind} folder ({how})")
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path}: corrupt ({exc})") from exc
    if not isinstance(content, dict) or content.get("format") != expected_format:
        raise error(f"{path}: not an antiphon {kind} description")
    return path, content
