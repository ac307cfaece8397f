"""Starts the Streamlit server on the app's entrypoint (the README's command execs this).

Streamlit still treats a `pages/` folder beside the entrypoint as an app of the old kind
(pages found in the folder) until the entrypoint first calls `st.navigation`. A fresh server
whose first visitor typed a page's address (`/training`, a bookmark, a link in the chat after
the teacher restarted the server) therefore ran that page's file alone: no workspace, no
shared sidebar, and the folder's file names as the navigation, for that whole session. Our
entrypoint always calls `st.navigation`, so the old kind is switched off before serving.
"""

from __future__ import annotations

import sys
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

ENTRYPOINT = Path(__file__).resolve().parent.parent / "streamlit_app.py"


def main() -> None:
    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", "run", str(ENTRYPOINT), *sys.argv[1:]]
    cli.main()


if __name__ == "__main__":
    main()
